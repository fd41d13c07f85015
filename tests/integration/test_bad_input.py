"""Bad input: one clear line naming the value and what is valid, exit code 2, nothing left behind.

This table is the README's troubleshooting section.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SHORT = ["env.num_envs=2", "algo.num_steps=64", "total_timesteps=256", "eval.episodes=2"]

TRAIN_CASES = [
    # overrides, text the error must contain (every one a single line)
    (["algo=sac"], "algo=sac is not an option of algo; options: bc, pg, ppo"),
    (["algo=ppo_schema"], "algo=ppo_schema is not an option of algo; options: bc, pg, ppo"),
    (["env=Pong"], "env=Pong is not an option of env; options: Acrobot-v1, Ant-v5"),
    (["env=cartpole"], "env=cartpole is not an option of env (did you mean env=CartPole-v1?)"),
    (["network=huge"], "network=huge is not an option of network; options: cnn, large, medium"),
    (
        ["algo.learning_rat=0.1"],
        "algo.learning_rat is not a key of rlcli's config; did you mean algo.learning_rate?",
    ),
    (["learning_rate=0.1"], "did you mean algo.learning_rate?"),
    (
        ["+algo.learning_rat=0.1"],
        "+algo.learning_rat=0.1: '+' cannot add keys to rlcli's schema, and algo.learning_rat is "
        "not one of its keys; did you mean algo.learning_rate?",
    ),
    (["+seed=3"], "+seed=3: seed is already in the config; set it without the '+'"),
    (["env.num_envs=four"], "env.num_envs=four: env.num_envs must be an integer"),
    (["seed=abc"], "seed=abc: seed must be an integer"),
    (["total_timesteps=1.2e2"], "total_timesteps=120 is less than one rollout"),  # 1e5 form
    (["total_timesteps=1.5"], "total_timesteps=1.5: total_timesteps must be an integer"),
    (["eval.deterministic=maybe"], "eval.deterministic=maybe: eval.deterministic must be true"),
    (["seed=1,2"], "seed=1,2 gives several values: sweep them with rlcli train -m seed=1,2"),
    (["env.kwargs.foo=1"], "env.kwargs.foo is not set; add a key to env.kwargs with +env.kwargs"),
    (["progress=fancy"], "progress='fancy' is not one of auto, bar, log, none"),
    (["track=mlflow"], "track='mlflow' is not one of none, wandb"),
    (["acting=jax"], "acting='jax' is not one of torch, numpy"),
    (["algo.learning_rate=-1"], "algo.learning_rate=-1.0 must be > 0"),
    (["algo.gamma=1.5"], "algo.gamma=1.5 must be in (0, 1]"),
    (["algo.clip_coef=0"], "algo.clip_coef=0.0 must be > 0"),
    (["algo.critic_warmup=1"], "algo.critic_warmup=1.0 must be in [0, 1) (a budget fraction)"),
    (["env.num_envs=0"], "env.num_envs=0 must be >= 1"),
    (["algo.num_minibatches=3"], "algo.num_minibatches=3 must be >= 1 and divide the batch"),
    (["network.hidden_sizes=[]"], "network.hidden_sizes=[] must be a non-empty list"),
    (["network.hidden_sizes=[64,-1]"], "network.hidden_sizes=[64, -1] must be"),
    (["network.activation=swish"], "network.activation='swish' is not one of"),
    (["network.architecture=transformer"], "network.architecture='transformer' is not one of"),
    (["network=cnn"], "network.architecture=cnn needs image observations"),
    (["total_timesteps=10"], "total_timesteps=10 is less than one rollout"),
    (["env.id=CartPol-v1"], "did you mean CartPole-v1"),
    (["env.id=no_such_module:Foo-v0"], "cannot import module 'no_such_module'"),
    (["env.id=Blackjack-v1"], "observation space Tuple("),
    (["env.id=Taxi-v4"], "observation space Discrete(500) is not supported"),
    (["device=tpu"], "device='tpu' is not one of auto, cpu, cuda"),
    (["env=CartPole-v1", "env.id=Acrobot-v1"], "use env=generic env.id=Acrobot-v1"),
    (["init_from=/no/such/run"], "is neither a checkpoint file nor a run directory"),
    (["rlhf.enabled=true", "rlhf.reward_scale=0"], "rlhf.reward_scale=0.0 must be > 0"),
]


def run_cli(*arguments: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy"}
    command = [sys.executable, "-m", "rlcli.cli", *arguments]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def assert_user_error(result: subprocess.CompletedProcess, expected: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert expected in result.stderr, result.stderr
    assert result.stderr.startswith("rlcli: error: "), result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file (its bytes) and directory (None) under ``folder``, by relative path."""
    return {
        str(path.relative_to(folder)): path.read_bytes() if path.is_file() else None
        for path in folder.rglob("*")
    }


def assert_unchanged(folder: Path, before: dict[str, bytes | None]) -> None:
    after = snapshot(folder)
    assert sorted(set(after) - set(before)) == [], "a refused command left files behind"
    assert sorted(set(before) - set(after)) == [], "a refused command removed files"
    changed = [name for name in before if before[name] != after[name]]
    assert changed == [], "a refused command changed existing files"


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("finished")
    result = run_cli("train", *SHORT, "progress=none", "hydra.run.dir=run", cwd=root)
    assert result.returncode == 0, result.stderr
    return root / "run"


@pytest.fixture
def workspace(tmp_path, finished_run) -> Path:
    """A working directory that already holds a finished run in outputs/ and a file of the user."""
    shutil.copytree(finished_run, tmp_path / "outputs" / "runs" / "2020-01-01" / "finished")
    (tmp_path / "notes.txt").write_text("the user's own file\n")
    return tmp_path


@pytest.mark.parametrize("overrides, expected", TRAIN_CASES)
def test_bad_train_input(workspace, overrides, expected):
    before = snapshot(workspace)
    result = run_cli("train", *SHORT, *overrides, cwd=workspace)
    assert_user_error(result, expected)
    assert_unchanged(workspace, before)  # no run directory made, the existing run untouched


def test_a_bad_value_in_a_sweep_is_one_line_and_no_sweep_directory(workspace):
    before = snapshot(workspace)
    result = run_cli("train", "-m", *SHORT, "seed=0,a", cwd=workspace)
    assert_user_error(result, "seed=a: seed must be an integer")
    assert_unchanged(workspace, before)  # Hydra's multirun.yaml removed with its directory


# ``rlcli <arguments>`` in a process where the module given first cannot be imported, as when
# the optional extra that provides it is not installed.
WITHOUT_MODULE = (
    "import sys; sys.modules[sys.argv.pop(1)] = None; "
    "from rlcli.cli import main; sys.exit(main(sys.argv[1:]))"
)


@pytest.mark.parametrize(
    "module, overrides, expected",
    [
        (
            "mujoco",
            ["env=Hopper-v5"],
            "env.id='Hopper-v5' needs a package that is not installed: pip install -e '.[mujoco]'",
        ),
        (
            "ale_py",
            ["env=generic", "env.id=ALE/Pong-v5"],
            "Atari envs need ale-py: pip install -e '.[atari]'",
        ),
        (
            "wandb",
            ["track=wandb"],
            "track=wandb needs the wandb package: pip install -e '.[wandb]'",
        ),
    ],
)
def test_a_missing_extra_is_one_line_naming_it(workspace, module, overrides, expected):
    before = snapshot(workspace)
    command = [sys.executable, "-c", WITHOUT_MODULE, module, "train", *SHORT, *overrides]
    result = subprocess.run(command, cwd=workspace, capture_output=True, text=True, timeout=120)
    assert_user_error(result, expected)
    assert_unchanged(workspace, before)


def test_video_without_the_extra_names_the_command_that_installs_it(workspace):
    run_dir = workspace / "outputs" / "runs" / "2020-01-01" / "finished"
    before = snapshot(workspace)
    command = [sys.executable, "-c", WITHOUT_MODULE, "moviepy", "eval", str(run_dir), "video=true"]
    result = subprocess.run(command, cwd=workspace, capture_output=True, text=True, timeout=120)
    assert_user_error(result, "video=true needs moviepy: pip install -e '.[video]'")
    assert_unchanged(workspace, before)


def test_a_refused_start_leaves_an_existing_run_byte_identical(tmp_path, finished_run):
    run_dir = tmp_path / "run"
    shutil.copytree(finished_run, run_dir)
    before = snapshot(tmp_path)
    result = run_cli("train", "algo=pg", "algo.gamma=2", f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert_user_error(result, f"hydra.run.dir='{run_dir}' already holds a run")
    assert_unchanged(tmp_path, before)
    # A valid command is refused too: a new run never writes into another run's directory.
    result = run_cli("train", *SHORT, f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert_user_error(result, "already holds a run (.hydra, checkpoints, summary.json)")
    assert_unchanged(tmp_path, before)


@pytest.mark.parametrize(
    "overrides, expected",
    [
        (["algo.gamma=2"], "algo.gamma=2.0 must be in (0, 1]"),
        (["env.id=CartPol-v1"], "did you mean CartPole-v1"),
        (["network=large", "init_from=finished"], "checkpoint network does not match"),
    ],
)
def test_a_refused_start_into_an_existing_folder_leaves_it_as_it_was(
    tmp_path, finished_run, overrides, expected
):
    shutil.copytree(finished_run, tmp_path / "finished")
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "data.csv").write_text("1,2,3\n")
    before = snapshot(tmp_path)
    result = run_cli("train", *SHORT, *overrides, "hydra.run.dir=mine", cwd=tmp_path)
    assert_user_error(result, expected)
    assert_unchanged(tmp_path, before)


def test_resume_of_a_directory_that_is_not_a_run(tmp_path):
    (tmp_path / "notes.txt").write_text("the user's own file\n")
    before = snapshot(tmp_path)
    assert_user_error(run_cli("train", f"resume={tmp_path}", cwd=tmp_path), "not an rlcli run")
    assert_unchanged(tmp_path, before)  # no train.log
    missing = tmp_path / "missing"
    assert_user_error(run_cli("train", f"resume={missing}", cwd=tmp_path), "is not a directory")
    assert_unchanged(tmp_path, before)


def test_resume_with_other_overrides_is_refused(workspace):
    run_dir = workspace / "outputs" / "runs" / "2020-01-01" / "finished"
    before = snapshot(workspace)
    result = run_cli("train", f"resume={run_dir}", "seed=3", cwd=workspace)
    assert_user_error(result, "resume takes no other arguments (got seed=3)")
    assert_unchanged(workspace, before)


def test_resume_of_a_finished_run(workspace):
    run_dir = workspace / "outputs" / "runs" / "2020-01-01" / "finished"
    before = snapshot(workspace)
    assert_user_error(run_cli("train", f"resume={run_dir}", cwd=workspace), "already finished")
    assert_unchanged(workspace, before)


def test_corrupt_and_truncated_checkpoints(tmp_path, finished_run):
    final = (finished_run / "checkpoints" / "final.pt").read_bytes()
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(final[:500])
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    interrupted = tmp_path / "interrupted"  # its latest.pt truncated (a full disk)
    (interrupted / "checkpoints").mkdir(parents=True)
    (interrupted / "checkpoints" / "latest.pt").write_bytes(final[:500])
    before = snapshot(tmp_path)
    assert_user_error(run_cli("eval", str(truncated), cwd=tmp_path), "corrupt, truncated")
    assert_user_error(run_cli("eval", str(garbage), cwd=tmp_path), "cannot be loaded safely")
    result = run_cli("train", f"resume={interrupted}", cwd=tmp_path)
    assert_user_error(result, "cannot be loaded safely")
    assert_unchanged(tmp_path, before)


def test_init_from_a_checkpoint_with_another_network(workspace):
    run_dir = workspace / "outputs" / "runs" / "2020-01-01" / "finished"
    before = snapshot(workspace)
    result = run_cli("train", *SHORT, "network=large", f"init_from={run_dir}", cwd=workspace)
    assert_user_error(result, "checkpoint network does not match")
    assert_unchanged(workspace, before)


class RunsCode:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_checkpoint_that_would_run_code_is_refused(tmp_path):
    evil = tmp_path / "evil.pt"
    torch.save({"agent": RunsCode(), "config": {}}, evil)
    before = snapshot(tmp_path)
    assert_user_error(run_cli("eval", str(evil), cwd=tmp_path), "cannot be loaded safely")
    assert_unchanged(tmp_path, before)  # no PWNED file: the code never ran


@pytest.mark.parametrize(
    "arguments, expected",
    [
        (["episodes=0"], "episodes=0 must be >= 1"),
        (["episodes=many"], "episodes='many' is not a valid int"),
        (["colour=red"], "unknown eval option 'colour'"),
        (["checkpoint=newest"], "checkpoint='newest' is not one of final, best, latest"),
    ],
)
def test_bad_eval_input(workspace, arguments, expected):
    run_dir = workspace / "outputs" / "runs" / "2020-01-01" / "finished"
    before = snapshot(workspace)
    assert_user_error(run_cli("eval", str(run_dir), *arguments, cwd=workspace), expected)
    assert_unchanged(workspace, before)


# A user's env that gymnasium can make, but whose step fails after a while.
CRASHING_ENV = """import gymnasium as gym
import numpy as np


class Cliff(gym.Env):
    observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.steps = 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.steps += 1
        if self.steps > 30:
            raise ValueError(f"fell off at step {self.steps}")
        return np.zeros(1, np.float32), 0.0, False, False, {}


gym.register("Cliff-v0", entry_point=Cliff, max_episode_steps=100)
"""


@pytest.mark.parametrize(
    "overrides, expected",
    [
        ([], "env.id='my_cliff:Cliff-v0' raised ValueError at my_cliff.py:17 in step: fell off"),
        (
            ["+env.kwargs.height=3"],
            "env.id='my_cliff:Cliff-v0' could not be made: TypeError: Cliff() takes no arguments",
        ),
    ],
)
def test_a_crash_inside_a_users_env_is_one_line_naming_the_env(tmp_path, overrides, expected):
    (tmp_path / "my_cliff.py").write_text(CRASHING_ENV)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    arguments = ["train", "env.id=my_cliff:Cliff-v0", *SHORT, "progress=none", *overrides]
    command = [sys.executable, "-m", "rlcli.cli", *arguments, "hydra.run.dir=run"]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert_user_error(result, expected)
