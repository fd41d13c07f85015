"""train() end to end into a temporary directory, and the console script."""

import dataclasses
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from rlcli.algos import ALGORITHMS
from rlcli.build import train
from rlcli.envs import make_vector_env
from rlcli.episodes import running_averages
from rlcli.errors import UserError
from rlcli.evaluate_command import restore_policy
from rlcli.metrics import METRIC_TAGS

SHORT = ["env.num_envs=2", "algo.num_steps=64", "total_timesteps=768", "eval.every_steps=256"]
# README's "What a run writes": every key of summary.json (test_packaging checks README names them).
# Learners trained on env rollouts; bc (a dataset) is trained end to end in test_rlhf.py.
ROLLOUT_LEARNERS = sorted(name for name, algo in ALGORITHMS.items() if algo.consumes == "rollouts")

SUMMARY_KEYS = {
    "algo",
    "env_id",
    "seed",
    "global_step",
    "iterations",
    "wall_seconds",
    "sps",
    "final_eval_mean_return",
    "final_eval_std_return",
    "final_eval_returns",
    "best_eval_mean_return",
    "first_solved_step",
    "first_solved_seconds",
    "reward_threshold",
    "exact_resume",
    "episodes",
    "running_return",
}
PPO_ONLY_TAGS = {"charts/clip_coef", "losses/approx_kl", "losses/clipfrac"}


def scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    events.Reload()
    return {
        tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]
    }


@pytest.mark.parametrize("algo", ROLLOUT_LEARNERS)
@pytest.mark.parametrize("env", ["CartPole-v1", "Pendulum-v1"])
def test_train_writes_events_checkpoints_and_summary(settings, tmp_path, algo, env):
    extra = ["algo.use_baseline=true"] if algo == "pg" else []
    config = settings(f"algo={algo}", f"env={env}", *SHORT, *extra)
    summary = train(config, tmp_path)

    assert set(summary.as_dict()) == SUMMARY_KEYS
    assert json.loads((tmp_path / "summary.json").read_text()) == summary.as_dict()
    assert (summary.algo, summary.env_id, summary.seed) == (algo, env, 0)
    assert (summary.global_step, summary.iterations) == (768, 6)
    assert summary.exact_resume is True

    logged = scalars(tmp_path)
    # Every documented tag (pg with a baseline logs all but PPO's clip range, KL and clip fraction).
    expected = set(METRIC_TAGS) if algo == "ppo" else set(METRIC_TAGS) - PPO_ONLY_TAGS
    assert set(logged) == expected
    assert [step for step, _ in logged["eval/mean_return"]] == [256, 512, 768]
    final_eval = {tag: logged[tag][-1][1] for tag in ("eval/mean_return", "eval/std_return")}
    assert final_eval == pytest.approx(
        {
            "eval/mean_return": summary.final_eval_mean_return,
            "eval/std_return": summary.final_eval_std_return,
        }
    )
    # CartPole pays 1 per step; Pendulum's episodes always last its 200-step time limit.
    length = summary.final_eval_mean_return if env == "CartPole-v1" else 200
    assert logged["eval/mean_length"][-1][1] == pytest.approx(length)
    if algo == "ppo":  # the clip range of each of the 6 iterations, annealed or constant
        clip, anneal = config.algo.clip_coef, config.algo.anneal_clip
        clips = [clip * (1 - i / 6) if anneal else clip for i in range(6)]
        assert logged["charts/clip_coef"] == [
            (128 * (i + 1), pytest.approx(value)) for i, value in enumerate(clips)
        ]

    envs = make_vector_env(env, 1)
    for name in ("best.pt", "final.pt"):
        checkpoint = torch.load(tmp_path / "checkpoints" / name, weights_only=True)
        restore_policy(config, checkpoint, envs)  # a strict load: every weight, no other
        assert checkpoint["config"] == dataclasses.asdict(config)
        assert {"python", "numpy", "torch"} <= set(checkpoint["rng"])
    envs.close()
    final = torch.load(tmp_path / "checkpoints" / "final.pt", weights_only=True)
    assert final["counters"]["global_step"] == 768


def test_readme_lists_every_summary_key():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    paragraph = readme.split("`summary.json` keys:", 1)[1].split("\n\n", 1)[0]
    assert set(re.findall(r"`(\w+)`", paragraph)) == SUMMARY_KEYS


def test_normalisation_statistics_are_checkpointed(settings, tmp_path):
    config = settings(
        "env=Pendulum-v1", *SHORT, "env.normalize_observation=true", "env.normalize_reward=true"
    )
    train(config, tmp_path)
    checkpoint = torch.load(tmp_path / "checkpoints" / "final.pt", weights_only=True)
    assert len(checkpoint["observation_normalizer"]["mean"]) == 3
    assert checkpoint["observation_normalizer"]["count"] > 700
    assert checkpoint["reward_normalizer"]["stats"]["count"] > 700


@pytest.mark.parametrize("algo", ROLLOUT_LEARNERS)
def test_same_seed_gives_identical_scalars_and_parameters(settings, tmp_path, algo):
    runs = []
    for name in ("a", "b"):
        config = settings(f"algo={algo}", "env=Pendulum-v1", *SHORT, "seed=7")
        train(config, tmp_path / name)
        runs.append(tmp_path / name)
    first, second = (scalars(run) for run in runs)
    for tag in first:
        if tag != "charts/SPS":
            assert first[tag] == second[tag], tag
    weights = [torch.load(r / "checkpoints" / "final.pt", weights_only=True)["agent"] for r in runs]
    for key in weights[0]:
        assert torch.equal(weights[0][key], weights[1][key]), key
    other = settings(f"algo={algo}", "env=Pendulum-v1", *SHORT, "seed=8")
    train(other, tmp_path / "c")
    assert scalars(tmp_path / "c")["losses/policy_loss"] != first["losses/policy_loss"]


def test_stop_when_solved_stops_at_the_threshold(settings, tmp_path):
    config = settings(*SHORT, "env.reward_threshold=1", "stop_when_solved=true")
    summary = train(config, tmp_path)
    assert summary.first_solved_step == 256 and summary.global_step == 256


WHOLE_EPISODES = ["env.num_envs=1", "algo.num_steps=600", "algo.episodes_per_update=1"]


def test_whole_episode_batches_and_the_running_return_stop(settings, tmp_path, caplog):
    # A random CartPole policy lasts ~20 steps: a threshold of 30 is crossed after a few episodes.
    config = settings(
        "algo=pg",
        *WHOLE_EPISODES,
        "env.reward_threshold=30",
        "stop_when_running_return_solved=true",
        "running_return_weight=0.2",
        "log_every_episodes=2",
        "total_timesteps=20000",
    )
    with caplog.at_level(logging.INFO, logger="rlcli"):
        summary = train(config, tmp_path)
    returns = torch.load(tmp_path / "checkpoints" / "final.pt", weights_only=True)["counters"][
        "episode_returns"
    ]
    running = running_averages(returns, 0.2)
    assert summary.episodes == summary.iterations == len(returns), "one episode per update"
    assert summary.global_step == sum(returns) + len(returns) - 1  # + each autoreset step
    assert running[-1] > 30 >= running[:-1].max(), "stopped at the first episode above 30"
    assert summary.running_return == pytest.approx(running[-1])
    assert f"running return {running[-1]:.1f} > 30 after {len(returns)} episodes" in caplog.text
    assert "episode 2  step " in caplog.text
    logged = scalars(tmp_path)["charts/running_return"]
    assert [value for _, value in logged] == pytest.approx(running.tolist())
    assert (tmp_path / "rewards.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_running_return_stop_needs_a_threshold(settings):
    with pytest.raises(UserError, match="stop_when_running_return_solved=true needs a reward"):
        settings("env=generic", "env.id=Pendulum-v1", "stop_when_running_return_solved=true")


def run_cli(*arguments: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy"}
    command = [sys.executable, "-m", "rlcli.cli", *arguments]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_console_script_trains_into_outputs(tmp_path):
    result = run_cli("train", *SHORT, "progress=log", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (run_dir,) = (tmp_path / "outputs" / "runs").glob("*/*_ppo_CartPole-v1_seed0")
    assert (run_dir / ".hydra" / "config.yaml").is_file()
    assert json.loads((run_dir / "summary.json").read_text())["global_step"] == 768


def end_summary(summary: dict, shown_dir: str) -> list[str]:
    """The end-of-run lines the run's summary.json implies (the preset's 500 vs gymnasium's 475)."""
    final, best = summary["final_eval_mean_return"], summary["best_eval_mean_return"]
    std, steps = summary["final_eval_std_return"], summary["global_step"]
    if summary["first_solved_step"] is None:
        verdict = "not solved: no evaluation reached 500"
    else:
        verdict = f"solved at step {summary['first_solved_step']:,}"
    return [
        f"done: ppo on CartPole-v1 (seed 0) {verdict}",
        "threshold 500 set by the preset; gymnasium's is 475",
        f"  final eval {final:.1f} +- {std:.1f} over 2 episodes, best {best:.1f}; "
        f"{steps:,} of 768 steps in ",
        f"  run directory: {shown_dir}",
        f"  next: rlcli eval {shown_dir} video=true",
        f"        tensorboard --logdir {shown_dir}",
        f"        rlcli report {shown_dir}",
    ]


@pytest.mark.parametrize("progress", ["log", "bar", "none"])
def test_a_run_ends_with_a_summary_and_train_log_holds_the_whole_log(tmp_path, progress):
    arguments = [*SHORT, "eval.episodes=2", f"progress={progress}", "hydra.run.dir=run"]
    result = run_cli("train", *arguments, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    expected = end_summary(summary, "run")
    log = (tmp_path / "run" / "train.log").read_text()
    lines = log.splitlines()
    # train.log: the start line with the config, every evaluation, the last progress line, the end.
    assert (
        "] start: ppo on CartPole-v1, seed 0, 768 steps (2 envs x 64 steps an iteration)"
        in (lines[0])
    )
    assert "network 64x64 tanh" in lines[0] and "run directory run" in lines[0]
    evaluations = [line.split("] ", 1)[1].split(":")[0] for line in lines if "] eval at" in line]
    assert evaluations == ["eval at step 256", "eval at step 512", "eval at step 768"]
    recent = [line for line in lines if "step       768/768 (100.0%)" in line][-1]
    assert "return        -" not in recent  # the recent training return, not a dash
    end = log.split("] done: ", 1)[1].splitlines()
    assert end[0].startswith(expected[0].removeprefix("done: ")) and expected[1] in end[0]
    assert end[1].startswith(expected[2]) and end[2:] == expected[3:]
    # The console: the same end in log and bar mode; nothing at all with progress=none.
    console = result.stdout + result.stderr
    if progress == "none":
        assert console == ""
    else:
        assert expected[0] in console and "\n".join(expected[3:]) in console


def test_multirun_makes_one_directory_per_job(tmp_path):
    # Without the end-of-sweep report (test_sweep_report checks it is written by default).
    arguments = ["-m", "seed=0,1", *SHORT, "progress=none", "~hydra.callbacks.report"]
    result = run_cli("train", *arguments, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (sweep,) = (tmp_path / "outputs" / "multirun").glob("*/*")
    jobs = ["0_ppo_CartPole-v1_seed0", "1_ppo_CartPole-v1_seed1"]
    assert sorted(p.name for p in sweep.iterdir()) == [*jobs, "multirun.yaml"]  # no report
    for job in jobs:
        assert (sweep / job / "summary.json").is_file()


# A custom env in its own module, as a user would write one: rlcli imports the module named in
# gymnasium's ``module:Env-v0`` id, which registers the env.
CORRIDOR = """import gymnasium as gym
import numpy as np


class Corridor(gym.Env):
    \"\"\"Walk right to the goal five steps away.\"\"\"

    observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.position = 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.position = max(self.position + (1 if action == 1 else -1), -5)
        at_goal = self.position >= 5
        return np.array([self.position / 5], np.float32), float(at_goal), at_goal, False, {}


gym.register("Corridor-v0", entry_point=Corridor, max_episode_steps=20)
"""


def test_a_custom_env_in_module_form_trains_and_evaluates(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "my_corridor.py").write_text(CORRIDOR)
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "src")}
    rlcli = [sys.executable, "-m", "rlcli.cli"]
    train_command = [*rlcli, "train", "env.id=my_corridor:Corridor-v0", *SHORT, "progress=none"]
    trained = subprocess.run(
        [*train_command, "hydra.run.dir=run"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert trained.returncode == 0, trained.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert (summary["env_id"], summary["global_step"]) == ("my_corridor:Corridor-v0", 768)
    evaluated = subprocess.run(
        [*rlcli, "eval", "run", "episodes=2"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert evaluated.returncode == 0, evaluated.stderr
    assert evaluated.stdout.startswith("my_corridor:Corridor-v0: mean return")


def test_cli_help_version_and_unknown_command(tmp_path):
    assert "train" in run_cli("--help", cwd=tmp_path).stdout
    assert run_cli("--version", cwd=tmp_path).stdout.startswith("rlcli ")
    result = run_cli("trian", cwd=tmp_path)
    assert result.returncode == 2 and "unknown command 'trian'" in result.stderr
    assert "Traceback" not in result.stderr


def test_cfg_job_prints_composed_config_without_training(tmp_path):
    result = run_cli("train", "algo=pg", "env.id=Acrobot-v1", "--cfg", "job", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "id: Acrobot-v1" in result.stdout and "name: pg" in result.stdout
    assert not (tmp_path / "outputs").exists()


def test_user_error_is_one_line_exit_2(tmp_path):
    result = run_cli("train", "env.id=CartPol-v1", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "env.id='CartPol-v1' is not a registered gymnasium environment" in result.stderr
    assert "CartPole-v1" in result.stderr
