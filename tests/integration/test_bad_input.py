"""Bad input: one clear line naming the value and what is valid, exit code 2, nothing left behind.

This table is the README's troubleshooting section.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SHORT = ["env.num_envs=2", "algo.num_steps=64", "total_timesteps=256", "eval.episodes=2"]

# Composition errors are reported by Hydra itself (with the list of valid options).
HYDRA_REPORTED = ("algo=", "env=Pong", "network=", "algo.learning_rat=", "env.num_envs=four")

TRAIN_CASES = [
    # overrides, text the error must contain
    (["algo=sac"], "Could not find 'algo/sac'"),
    (["env=Pong"], "Could not find 'env/Pong'"),
    (["network=huge"], "Could not find 'network/huge'"),
    (["algo.learning_rat=0.1"], "learning_rat"),
    (["env.num_envs=four"], "num_envs"),
    (["algo.learning_rate=-1"], "algo.learning_rate=-1.0 must be > 0"),
    (["algo.gamma=1.5"], "algo.gamma=1.5 must be in (0, 1]"),
    (["algo.clip_coef=0"], "algo.clip_coef=0.0 must be > 0"),
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
]


def run_cli(*arguments: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy"}
    command = [sys.executable, "-m", "rlcli.cli", *arguments]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def assert_user_error(result: subprocess.CompletedProcess, expected: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert expected in result.stderr, result.stderr


@pytest.mark.parametrize("overrides, expected", TRAIN_CASES)
def test_bad_train_input(tmp_path, overrides, expected):
    result = run_cli("train", *SHORT, *overrides, cwd=tmp_path)
    assert_user_error(result, expected)
    if not overrides[0].startswith(HYDRA_REPORTED):  # Hydra's own messages span several lines
        errors = [line for line in result.stderr.splitlines() if line.startswith("rlcli: error:")]
        assert len(errors) == 1
    runs = list((tmp_path / "outputs").glob("runs/*/*")) if (tmp_path / "outputs").exists() else []
    assert runs == [], "a failed start leaves no run directory behind"


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("finished")
    result = run_cli("train", *SHORT, "progress=none", "hydra.run.dir=run", cwd=root)
    assert result.returncode == 0, result.stderr
    return root / "run"


def test_existing_runs_are_untouched_by_a_failed_start(finished_run):
    before = sorted(p.name for p in finished_run.rglob("*"))
    result = run_cli(
        "train", "algo.gamma=2", f"hydra.run.dir={finished_run}", cwd=finished_run.parent
    )
    assert_user_error(result, "algo.gamma=2.0 must be in (0, 1]")
    assert sorted(p.name for p in finished_run.rglob("*")) == before


def test_resume_of_a_directory_that_is_not_a_run(tmp_path):
    assert_user_error(run_cli("train", f"resume={tmp_path}", cwd=tmp_path), "not an rlcli run")
    missing = tmp_path / "missing"
    assert_user_error(run_cli("train", f"resume={missing}", cwd=tmp_path), "is not a directory")


def test_resume_with_other_overrides_is_refused(tmp_path, finished_run):
    result = run_cli("train", f"resume={finished_run}", "seed=3", cwd=tmp_path)
    assert_user_error(result, "resume takes no other arguments (got seed=3)")


def test_resume_of_a_finished_run(tmp_path, finished_run):
    assert_user_error(run_cli("train", f"resume={finished_run}", cwd=tmp_path), "already finished")


def test_corrupt_and_truncated_checkpoints(tmp_path, finished_run):
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes((finished_run / "checkpoints" / "final.pt").read_bytes()[:500])
    assert_user_error(run_cli("eval", str(truncated), cwd=tmp_path), "corrupt, truncated")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    assert_user_error(run_cli("eval", str(garbage), cwd=tmp_path), "cannot be loaded safely")


def test_init_from_a_checkpoint_with_another_network(tmp_path, finished_run):
    result = run_cli("train", *SHORT, "network=large", f"init_from={finished_run}", cwd=tmp_path)
    assert_user_error(result, "checkpoint network does not match")


class RunsCode:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_checkpoint_that_would_run_code_is_refused(tmp_path):
    evil = tmp_path / "evil.pt"
    torch.save({"agent": RunsCode(), "config": {}}, evil)
    assert_user_error(run_cli("eval", str(evil), cwd=tmp_path), "cannot be loaded safely")
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize(
    "arguments, expected",
    [
        (["episodes=0"], "episodes=0 must be >= 1"),
        (["episodes=many"], "episodes='many' is not a valid int"),
        (["colour=red"], "unknown eval option 'colour'"),
        (["checkpoint=newest"], "checkpoint='newest' is not one of final, best, latest"),
    ],
)
def test_bad_eval_input(tmp_path, finished_run, arguments, expected):
    assert_user_error(run_cli("eval", str(finished_run), *arguments, cwd=tmp_path), expected)
