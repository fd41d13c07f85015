"""The Python API: rlcli.train composes as the CLI does; rlcli.load acts in a user's own loop."""

import json
import re
import subprocess
import sys

import gymnasium as gym
import pytest
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

import rlcli
from rlcli.errors import UserError
from rlcli.records import RunSummary

SHORT = ["env.num_envs=2", "algo.num_steps=64", "eval.episodes=3", "eval.every_steps=0"]


def test_import_rlcli_is_cheap():
    code = (
        "import sys, rlcli; print([m for m in ('torch', 'hydra', 'gymnasium') if m in sys.modules])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout == "[]\n", result.stderr


def test_train_composes_like_the_cli_and_writes_a_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    summary = rlcli.train("algo=ppo", "env=CartPole-v1", *SHORT, seed=1, total_timesteps=256)
    assert isinstance(summary, RunSummary)
    (run_dir,) = (tmp_path / "outputs" / "runs").glob("*/*_ppo_CartPole-v1_seed1")
    assert json.loads((run_dir / "summary.json").read_text()) == summary.as_dict()
    config = yaml.safe_load((run_dir / ".hydra" / "config.yaml").read_text())
    assert config["algo"]["update_epochs"] == 20  # the tuned ppo_CartPole-v1 preset applied
    assert config["seed"] == 1 and config["total_timesteps"] == 256
    overrides = yaml.safe_load((run_dir / ".hydra" / "overrides.yaml").read_text())
    assert overrides == ["algo=ppo", "env=CartPole-v1", *SHORT, "seed=1", "total_timesteps=256"]
    assert "] done: ppo on CartPole-v1 (seed 1)" in (run_dir / "train.log").read_text()
    # TensorBoard's HPARAMS row of the run is named by the run directory, without the date.
    events = EventAccumulator(str(run_dir))
    events.Reload()
    content = events.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    group = HParamsPluginData.FromString(content).session_start_info.group_name
    assert re.fullmatch(r"\d\d-\d\d-\d\d_ppo_CartPole-v1_seed1", group), group


def test_load_gives_a_policy_that_acts_in_a_users_own_loop(tmp_path):
    run_dir = tmp_path / "run"
    overrides = ["algo=ppo", "env=Pendulum-v1", *SHORT, "env.normalize_observation=true"]
    summary = rlcli.train(*overrides, total_timesteps=256, seed=3, run_dir=run_dir)
    policy = rlcli.load(run_dir)
    assert policy.env_id == "Pendulum-v1"
    returns = []
    for episode in range(3):  # the run's final evaluation: env copy i was seeded seed + 10000 + i
        env = gym.make("Pendulum-v1")
        observation, _ = env.reset(seed=3 + 10_000 + episode)
        total, done = 0.0, False
        while not done:
            action = policy.act(observation)  # normalised with the run's frozen statistics
            assert action.shape == (1,) and -2.0 <= action[0] <= 2.0
            observation, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    assert returns == pytest.approx(summary.final_eval_returns, rel=1e-4)
    batch = policy.act([observation, observation], deterministic=False)
    assert batch.shape == (2, 1)


def test_discrete_actions_are_ints(tmp_path):
    rlcli.train(*SHORT, total_timesteps=128, run_dir=tmp_path / "run")
    policy = rlcli.load(tmp_path / "run", checkpoint="best")
    env = policy.make_env()
    observation, _ = env.reset(seed=0)
    action = policy.act(observation)
    assert isinstance(action, int) and env.action_space.contains(action)


@pytest.mark.parametrize(
    "overrides, values, message",
    [
        (["algo.learning_rat=0.1"], {}, "did you mean algo.learning_rate?"),
        (["env=cartpole"], {}, "did you mean env=CartPole-v1?"),
        ([], {"seed": "abc"}, "seed=abc: seed must be an integer"),
        (["algo.gamma=2"], {}, "algo.gamma=2.0 must be in (0, 1]"),
        (["-m", "seed=0,1"], {}, "rlcli.train takes overrides only, not flags"),
    ],
)
def test_mistakes_raise_user_error_and_write_nothing(
    tmp_path, monkeypatch, overrides, values, message
):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError) as refused:
        rlcli.train(*overrides, **values)
    assert message in str(refused.value)
    assert list(tmp_path.iterdir()) == []


def test_a_used_run_dir_is_refused(tmp_path):
    rlcli.train(*SHORT, total_timesteps=128, run_dir=tmp_path / "run")
    with pytest.raises(UserError, match="already holds a run"):
        rlcli.train(*SHORT, total_timesteps=128, run_dir=tmp_path / "run")
