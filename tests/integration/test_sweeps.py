"""Sweeps that scale out: the launcher presets for real (joblib, submitit, Ray), failed jobs that do
not stop a sweep, re-runs that skip finished jobs, and Optuna searches with pruning and resume."""

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import yaml
from hydra import compose, initialize_config_module

from hydra_plugins.rlcli_optuna_sweeper.space import split_overrides, trial_outcome
from rlcli.build import settings_from_config
from rlcli.checkpoint import load_checkpoint
from rlcli.errors import RunPruned, UserError
from rlcli.optuna_trial import TrialRef
from rlcli.sweep import FAILED_FILE, JOB_FILE, PRUNED_FILE, run_sweep_job

# A job of a few seconds: 512 env steps, 2 evaluation episodes, no console output.
TINY = [
    "total_timesteps=512",
    "env.num_envs=2",
    "algo.num_steps=64",
    "eval.episodes=2",
    "eval.every_steps=128",
    "progress=none",
]
SEARCH = [
    "train",
    "-m",
    "search=ppo_cartpole",
    *TINY,
    "hydra.sweeper.n_trials=2",
    "hydra.sweeper.seeds=[0]",
    "hydra.sweep.dir=study",
]
CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def run_cli(*arguments: str, cwd: Path, env: dict[str, str] | None = None):
    """``rlcli <arguments>`` in a subprocess, from ``cwd``."""
    environment = {**os.environ, "SDL_VIDEODRIVER": "dummy", **(env or {})}
    command = [sys.executable, "-m", "rlcli.cli", *arguments]
    return subprocess.run(
        command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=300
    )


def finished_jobs(sweep: Path) -> dict[str, dict]:
    """Job directory name -> its summary.json."""
    return {path.parent.name: json.loads(path.read_text()) for path in sweep.glob("*/summary.json")}


def needs(module: str) -> None:
    """Skip unless the launcher or sweeper plugin's extra is installed."""
    pytest.importorskip(module, reason=f"{module} is not installed (see pyproject's extras)")


# --- launchers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "preset, plugin, expected",
    [
        ("local_parallel", "hydra_plugins.hydra_joblib_launcher", ["n_jobs: -1"]),
        (
            "slurm",
            "hydra_plugins.hydra_submitit_launcher",
            ["SlurmLauncher", "partition: null", "timeout_min: 60", "cpus_per_task: 1"],
        ),
        ("slurm_local", "hydra_plugins.hydra_submitit_launcher", ["LocalLauncher"]),
        ("ray_cluster", "hydra_plugins.hydra_ray_launcher", ["RayLauncher", "num_cpus: 1"]),
    ],
)
def test_launcher_presets_compose_with_rlcli_defaults(tmp_path, preset, plugin, expected):
    needs(plugin)
    result = run_cli("train", f"hydra/launcher={preset}", "--cfg", "hydra", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    launcher = result.stdout.split("  launcher:\n", 1)[1].split("\n  sweeper:", 1)[0]
    for text in expected:
        assert text in launcher


def test_plain_multirun_keeps_hydras_basic_launcher_and_sweeper(tmp_path):
    result = run_cli("train", "--cfg", "hydra", cwd=tmp_path)
    assert "basic_launcher.BasicLauncher" in result.stdout
    assert "basic_sweeper.BasicSweeper" in result.stdout


def test_local_parallel_runs_jobs_in_worker_processes(tmp_path):
    needs("hydra_plugins.hydra_joblib_launcher")
    arguments = ["hydra/launcher=local_parallel", "hydra.launcher.n_jobs=2", "seed=0,1"]
    result = run_cli("train", "-m", *arguments, *TINY, "hydra.sweep.dir=sweep", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Joblib.Parallel(n_jobs=2,backend=loky" in result.stdout
    jobs = finished_jobs(tmp_path / "sweep")
    assert sorted(jobs) == ["0_ppo_CartPole-v1_seed0", "1_ppo_CartPole-v1_seed1"]
    assert {job["seed"] for job in jobs.values()} == {0, 1}


def test_submitit_local_runs_two_jobs_in_subprocesses_and_collects_results(tmp_path):
    needs("hydra_plugins.hydra_submitit_launcher")
    arguments = ["hydra/launcher=slurm_local", "seed=0,1"]
    result = run_cli("train", "-m", *arguments, *TINY, "hydra.sweep.dir=sweep", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    jobs = finished_jobs(tmp_path / "sweep")
    assert len(jobs) == 2
    # What each subprocess sent back to the launching process: Hydra's JobReturn, whose value is
    # the job's final evaluation return.
    results = sorted((tmp_path / "sweep" / ".submitit").glob("*/*_result.pkl"))
    assert len(results) == 2
    returned = set()
    for path in results:
        with path.open("rb") as stream:
            status, job_return = pickle.load(stream)
        assert status == "success"
        returned.add(job_return.return_value)
    assert returned == {job["final_eval_mean_return"] for job in jobs.values()}


def test_ray_launcher_runs_two_jobs_on_a_local_ray(tmp_path_factory):
    needs("hydra_plugins.hydra_ray_launcher")
    cwd = tmp_path_factory.mktemp("ray_sweep")
    ray_dir = tmp_path_factory.mktemp("ray")  # short: Ray's socket paths must fit 107 bytes
    ray_init = [
        "+hydra.launcher.ray.init.include_dashboard=false",
        f"+hydra.launcher.ray.init._temp_dir={ray_dir}",
        "+hydra.launcher.ray.init.num_cpus=2",
    ]
    # Token authentication off (otherwise Ray writes a token into ~/.ray), no usage statistics.
    environment = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    arguments = ["hydra/launcher=ray_cluster", "seed=0,1", *ray_init, "hydra.sweep.dir=sweep"]
    result = run_cli("train", "-m", *arguments, *TINY, cwd=cwd, env=environment)
    assert result.returncode == 0, result.stderr
    assert "Started a local Ray instance" in result.stdout + result.stderr
    assert len(finished_jobs(cwd / "sweep")) == 2
    assert list(ray_dir.glob("session_*")), "Ray kept its files inside the test's directory"


# --- failed jobs, re-runs --------------------------------------------------------------------


def test_a_failed_job_is_recorded_and_a_rerun_skips_finished_jobs(tmp_path):
    sweep = tmp_path / "outputs" / "sweeps" / "lr"
    command = ["train", "-m", "algo.learning_rate=0.001,-1", *TINY, f"hydra.sweep.dir={sweep}"]
    first = run_cli(*command, cwd=tmp_path)

    assert first.returncode == 1
    last_line = first.stderr.strip().splitlines()[-1]
    assert last_line.startswith("rlcli: error: 1 job failed: #1 (algo.learning_rate=-1 ")
    assert "algo.learning_rate=-1.0 must be > 0" in last_line
    failed = json.loads((sweep / "1_ppo_CartPole-v1_seed0" / FAILED_FILE).read_text())
    assert failed["kind"] == "user error" and failed["job"] == 1
    assert failed["error"] == "algo.learning_rate=-1.0 must be > 0"
    assert "algo.learning_rate=-1" in failed["overrides"]
    finished = sweep / "0_ppo_CartPole-v1_seed0" / "summary.json"
    assert finished.is_file(), "the other job finished"
    before = finished.stat().st_mtime_ns

    second = run_cli(*command, cwd=tmp_path)
    assert second.returncode == 1
    assert "job 0 already finished" in second.stdout and "skipped" in second.stdout
    assert "job 1 failed: algo.learning_rate=-1.0 must be > 0" in second.stdout
    assert finished.stat().st_mtime_ns == before
    assert len(list((sweep / "0_ppo_CartPole-v1_seed0").glob("events.out.tfevents.*"))) == 1


def test_ctrl_c_in_a_multirun_leaves_every_job_resumable(tmp_path):
    # Jobs run one after another in this process: #0 finishes, #1 is interrupted, #2 never starts.
    sweep = tmp_path / "sweep"
    budgets = "total_timesteps=512,200000,256"
    untimed = [argument for argument in TINY if not argument.startswith("total_timesteps=")]
    command = ["train", "-m", budgets, *untimed, "stop_when_solved=false", "hydra.sweep.dir=sweep"]
    process = subprocess.Popen(
        [sys.executable, "-m", "rlcli.cli", *command],
        cwd=tmp_path,
        env={**os.environ, "SDL_VIDEODRIVER": "dummy"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a shell job
    )
    interrupted = sweep / "1_ppo_CartPole-v1_seed0"
    deadline = time.monotonic() + 120
    while not (interrupted / "checkpoints" / "best.pt").exists():  # mid-training
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline, "job 1 never evaluated"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C reaches the whole process group
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert f"resume with: rlcli train resume={interrupted.resolve()}" in stderr
    assert (sweep / "0_ppo_CartPole-v1_seed0" / "summary.json").is_file()
    assert not (interrupted / "summary.json").exists()
    assert not (sweep / "2_ppo_CartPole-v1_seed0").exists()

    # The interrupted job continues exactly (its budget shortened here to keep the test short)...
    checkpoint = load_checkpoint(interrupted / "checkpoints" / "latest.pt")
    stopped_at = checkpoint["counters"]["global_step"]
    checkpoint["config"]["total_timesteps"] = stopped_at + 128
    torch.save(checkpoint, interrupted / "checkpoints" / "latest.pt")
    resumed = run_cli("train", f"resume={interrupted}", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    # ... and the same command finishes the sweep: the finished jobs are skipped.
    again = run_cli(*command, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "job 0 already finished" in again.stdout and "job 1 already finished" in again.stdout
    assert {name: job["global_step"] for name, job in finished_jobs(sweep).items()} == {
        "0_ppo_CartPole-v1_seed0": 512,
        "1_ppo_CartPole-v1_seed0": stopped_at + 128,
        "2_ppo_CartPole-v1_seed0": 256,
    }


def test_sweep_job_records_a_bug_with_its_traceback_and_a_pruned_run(tmp_path):
    def bug() -> dict:
        raise KeyError("no such thing")

    assert run_sweep_job(bug, tmp_path, 4, ["seed=1"]) is None
    record = json.loads((tmp_path / FAILED_FILE).read_text())
    assert record["kind"] == "bug" and record["error"] == "KeyError: 'no such thing'"
    assert record["overrides"] == ["seed=1"] and "Traceback" in record["traceback"]

    def pruned() -> dict:
        raise RunPruned("trial 3 pruned at step 128")

    assert run_sweep_job(pruned, tmp_path, 4, ["seed=1"]) is None
    assert not (tmp_path / FAILED_FILE).exists(), "a new attempt clears the old failure"
    assert json.loads((tmp_path / PRUNED_FILE).read_text())["reason"].startswith("trial 3")

    (tmp_path / "summary.json").write_text(json.dumps({"final_eval_mean_return": 42.0}))
    (tmp_path / JOB_FILE).write_text(json.dumps({"overrides": ["seed=1"]}))
    assert run_sweep_job(bug, tmp_path, 4, ["seed=1"]) == 42.0, "finished: not run again"

    (tmp_path / JOB_FILE).write_text(json.dumps({"overrides": ["seed=2"]}))  # the sweep changed
    assert run_sweep_job(bug, tmp_path, 4, ["seed=1"]) is None
    error = json.loads((tmp_path / FAILED_FILE).read_text())["error"]
    assert "holds a finished job of other overrides (seed=2)" in error


def test_a_job_never_enters_a_directory_a_live_job_holds(tmp_path):
    code = "import sys, time\nfrom pathlib import Path\nfrom rlcli.sweep import holding\n"
    code += "with holding(Path(sys.argv[1])):\n    print('held', flush=True)\n    time.sleep(60)\n"
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    ran: list[int] = []

    def train() -> SimpleNamespace:  # stands in for a RunSummary
        ran.append(1)
        return SimpleNamespace(final_eval_mean_return=7.0)

    try:
        assert holder.stdout.readline() == "held\n"
        assert run_sweep_job(train, tmp_path, 2, ["seed=1"]) is None
    finally:
        holder.kill()  # SIGKILL: no clean-up runs, the lock goes with the process
        holder.wait()
    assert ran == [], "the job did not start"
    error = json.loads((tmp_path / FAILED_FILE).read_text())["error"]
    assert error.startswith(f"{tmp_path} is in use by a live job (pid {holder.pid} on ")
    assert error.endswith("wait until it ends (or scancel it), then run the sweep again")

    assert run_sweep_job(train, tmp_path, 2, ["seed=1"]) == 7.0
    assert ran == [1] and not (tmp_path / FAILED_FILE).exists()


def test_env_id_in_a_multirun_selects_the_generic_env_preset(tmp_path):
    # Regression (issue 17): env=generic went before -m, and Hydra refused the overrides after it.
    arguments = ["-m", "seed=0", "env.id=Acrobot-v1", *TINY, "hydra.sweep.dir=sweep"]
    result = run_cli("train", *arguments, "~hydra.callbacks.report", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    job = tmp_path / "sweep" / "0_ppo_Acrobot-v1_seed0"
    overrides = yaml.safe_load((job / ".hydra" / "overrides.yaml").read_text())
    assert overrides[:3] == ["seed=0", "env=generic", "env.id=Acrobot-v1"]
    assert json.loads((job / "summary.json").read_text())["env_id"] == "Acrobot-v1"


# --- Optuna search ---------------------------------------------------------------------------


def trials(study_dir: Path) -> list[dict[str, str]]:
    import csv

    with (study_dir / "trials.csv").open() as stream:
        return list(csv.DictReader(stream))


def test_a_study_runs_writes_its_outputs_and_resumes(tmp_path):
    needs("optuna")
    study = tmp_path / "study"
    first = run_cli(*SEARCH, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert (study / "optuna.db").is_file()
    rows = trials(study)
    assert [row["state"] for row in rows] == ["complete", "complete"]
    assert sorted(finished_jobs(study)) == ["trial0_seed0", "trial1_seed0"]
    for row in rows:  # the objective is the final evaluation return (one seed here)
        summary = json.loads((study / f"trial{row['trial']}_seed0" / "summary.json").read_text())
        assert float(row["value"]) == pytest.approx(summary["final_eval_mean_return"])

    best = yaml.safe_load((study / "preset" / "best.yaml").read_text())
    best_row = max(rows, key=lambda row: float(row["value"]))
    assert best["algo"]["learning_rate"] == pytest.approx(float(best_row["algo.learning_rate"]))
    preset = ["--config-dir", str(study), "preset=best", "algo=ppo"]
    shown = run_cli("train", *preset, "--cfg", "job", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    composed = yaml.safe_load(shown.stdout)["algo"]
    assert composed["learning_rate"] == pytest.approx(best["algo"]["learning_rate"])
    assert composed["num_minibatches"] == best["algo"]["num_minibatches"]

    again = run_cli(*SEARCH, cwd=tmp_path)  # the same command continues the same study
    assert again.returncode == 0, again.stderr
    assert "2 earlier trials" in again.stdout
    assert [row["trial"] for row in trials(study)] == ["0", "1", "2", "3"]


def test_the_pruner_stops_trials_at_an_evaluation(tmp_path):
    needs("optuna")
    always = ["hydra/sweeper/pruner=threshold", "hydra.sweeper.pruner.lower=1e9"]
    result = run_cli(*SEARCH, *always, "hydra.sweeper.warmup_steps=0", cwd=tmp_path)
    assert result.returncode == 0, result.stderr  # a pruned trial is not a failed job
    study = tmp_path / "study"
    assert [row["state"] for row in trials(study)] == ["pruned", "pruned"]
    assert {row["pruned_at_step"] for row in trials(study)} == {"128"}
    for job in ("trial0_seed0", "trial1_seed0"):
        assert (study / job / PRUNED_FILE).is_file()
        assert not (study / job / "summary.json").exists(), "stopped before the end"
    assert not (study / "preset" / "best.yaml").exists(), "no trial completed"


def test_a_mistake_in_a_search_is_one_line_exit_2(tmp_path):
    needs("optuna")
    result = run_cli("train", "-m", "search=ppo_cartpole", "seed=3", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        "rlcli: error: set the seeds of each trial with hydra.sweeper.seeds=[0,1,...], not seed="
    )
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "outputs").exists()


@pytest.mark.parametrize("preset", sorted(p.stem for p in (CONFIGS / "search").glob("*.yaml")))
def test_search_presets_compose_and_every_choice_is_valid(preset):
    needs("optuna")
    from optuna.distributions import CategoricalDistribution

    with initialize_config_module(config_module="rlcli.configs", version_base="1.3"):
        config = compose("train", [f"search={preset}"], return_hydra_config=True)
        sweeper = config.hydra.sweeper
        assert sweeper["_target_"].endswith("rlcli_optuna_sweeper.optuna_sweeper.OptunaSweeper")
        assert str(config.hydra.sweep.dir).startswith("outputs/search/")
        _, space = split_overrides(dict(sweeper.params), [])
        assert "algo.learning_rate" in space and space["algo.learning_rate"].log
        for key, distribution in space.items():
            if isinstance(distribution, CategoricalDistribution):
                for choice in distribution.choices:  # e.g. every num_minibatches divides the batch
                    settings_from_config(compose("train", [f"search={preset}", f"{key}={choice}"]))


def test_search_space_and_trial_outcomes():
    needs("optuna")
    from optuna.trial import TrialState

    fixed, space = split_overrides(
        {"algo.gae_lambda": "interval(0.8, 0.99)", "algo.update_epochs": "4"},
        ["algo.gae_lambda=interval(0.9,0.95)", "algo.num_minibatches=range(1,9,2)"],
    )
    assert fixed == ["algo.update_epochs=4"]
    assert (space["algo.gae_lambda"].low, space["algo.gae_lambda"].high) == (0.9, 0.95)
    assert (space["algo.num_minibatches"].low, space["algo.num_minibatches"].high) == (1, 7)
    with pytest.raises(UserError, match="hydra.sweeper.seeds"):
        split_overrides({}, ["seed=3"])

    assert trial_outcome([100.0, 200.0], pruned=False) == (TrialState.COMPLETE, 150.0)
    assert trial_outcome([100.0, None], pruned=True) == (TrialState.PRUNED, None)
    assert trial_outcome([100.0, None], pruned=False) == (TrialState.FAIL, None)

    ref = TrialRef("sqlite:////tmp/it's/optuna.db", "study", 7)
    assert "'" not in ref.to_override()[len("trial='") : -1]
    assert TrialRef.parse(ref.to_override()[len("trial='") : -1]) == ref
