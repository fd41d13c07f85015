"""hydra/launcher=slurm against a real SLURM (.ci/start_slurm.sh: one node, partitions debug and
short, no accounting): a two-job array with a failing job and its re-run, rejected submissions,
an array that can never start, Ctrl-C, and an Optuna search. Outside CI these skip when no SLURM
runs here; in CI (CI=true) they fail instead."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from test_sweeps import SEARCH, TINY, finished_jobs, needs, run_cli, trials

from rlcli.sweep import FAILED_FILE

SLURM = [
    "hydra/launcher=slurm",
    "hydra.launcher.partition=debug",
    "hydra.launcher.mem_gb=1",
    "hydra.launcher.timeout_min=10",
    "hydra.launcher.status_every_s=1",
    "~hydra.callbacks.report",  # the seed report is tested elsewhere: 2-3 s less per sweep
]
NOISE = ("Bypassing sacct", "accounting storage is disabled", "Traceback")


def slurm_problem() -> str | None:
    """Why no SLURM can take jobs here, or None."""
    try:
        result = subprocess.run(
            ["sinfo", "-h", "-p", "debug", "-o", "%a %T"], capture_output=True, text=True
        )
    except OSError:
        return "sinfo is not installed"
    if result.returncode != 0 or not result.stdout.startswith("up "):
        return f"no partition debug is up: {result.stderr.strip() or result.stdout.strip()}"
    return None


@pytest.fixture(scope="module")
def slurm() -> None:
    """A running SLURM: skipped without one, except in CI, where its absence is a failure."""
    needs("hydra_plugins.hydra_submitit_launcher")
    problem = slurm_problem()
    if problem and os.environ.get("CI") == "true":
        pytest.fail(f"CI must run SLURM (.ci/start_slurm.sh): {problem}")
    if problem:
        pytest.skip(f"needs a running SLURM ({problem}); .ci/start_slurm.sh starts one as root")


def job_state(job_id: str) -> tuple[str, str]:
    """(JobState, ExitCode) of a job as scontrol remembers it (MinJobAge: 5 minutes)."""
    shown = subprocess.run(["scontrol", "-o", "show", "job", job_id], capture_output=True)
    fields = dict(item.split("=", 1) for item in shown.stdout.decode().split() if "=" in item)
    return fields.get("JobState", "?"), fields.get("ExitCode", "?")


def ended_state(job_id: str, wait_s: float = 30.0) -> tuple[str, str]:
    """``job_state`` once the job has left RUNNING: a sweep returns when it has read the jobs'
    results, while their processes may still be exiting."""
    deadline = time.monotonic() + wait_s
    state = job_state(job_id)
    while state[0] in ("RUNNING", "COMPLETING") and time.monotonic() < deadline:
        time.sleep(0.5)
        state = job_state(job_id)
    return state


def submitted_id(stdout: str) -> str:
    """The SLURM job id a sweep printed when it submitted."""
    match = re.search(r"to SLURM: job id (\d+)", stdout)
    assert match, stdout
    return match.group(1)


def queued(name: str) -> list[str]:
    """'<job id> <state>' of the queued jobs with this job name."""
    listed = subprocess.run(["squeue", "-h", "-n", name, "-o", "%i %T"], capture_output=True)
    return listed.stdout.decode().split("\n")[:-1]


@pytest.fixture(scope="module")
def mixed_sweep(slurm, tmp_path_factory):
    """One array of two jobs, run twice: job 0 trains, job 1 fails (a bad learning rate). One job
    at a time (array_parallelism=1), so job 1 pends while job 0 runs."""
    cwd = tmp_path_factory.mktemp("slurm_sweep")
    settings = [*SLURM, "hydra.launcher.array_parallelism=1", "hydra.launcher.account=rl-lab"]
    command = ["train", "-m", *settings, "algo.learning_rate=0.001,-1", *TINY, "hydra.sweep.dir=s"]
    first = run_cli(*command, cwd=cwd)
    summary = cwd / "s" / "0_ppo_CartPole-v1_seed0" / "summary.json"
    finished_at = summary.stat().st_mtime_ns if summary.exists() else None
    second = run_cli(*command, cwd=cwd)
    return cwd / "s", first, second, finished_at


def test_two_jobs_run_as_one_array_with_the_launchers_settings(mixed_sweep):
    sweep, first, _, _ = mixed_sweep
    array = submitted_id(first.stdout)
    script = (sweep / ".submitit" / array / f"{array}_submission.sh").read_text()
    for option in ("partition=debug", "account=rl-lab", "time=10", "mem=1GB", "cpus-per-task=1"):
        assert f"#SBATCH --{option}\n" in script
    assert "#SBATCH --array=0-1%1\n" in script
    assert job_state(f"{array}_0") == ("COMPLETED", "0:0")
    assert finished_jobs(sweep)["0_ppo_CartPole-v1_seed0"]["seed"] == 0
    # While job 1 waited for job 0, the scheduler's reason was printed (status_every_s=1).
    assert f"SLURM job array {array}: 1 pending (JobArrayTaskLimit: 1), 1 running" in first.stdout


def test_a_failed_job_is_one_line_its_failed_json_and_failed_in_slurm(mixed_sweep):
    sweep, first, _, _ = mixed_sweep
    assert first.returncode == 1
    assert first.stderr.strip().splitlines() == [
        f"rlcli: error: 1 job failed: #1 (algo.learning_rate=-1 {' '.join(TINY)}): "
        "algo.learning_rate=-1.0 must be > 0; "
        f"see s/*/{FAILED_FILE}"
    ]
    record = json.loads((sweep / "1_ppo_CartPole-v1_seed0" / FAILED_FILE).read_text())
    assert record["kind"] == "user error" and record["job"] == 1
    assert job_state(f"{submitted_id(first.stdout)}_1") == ("FAILED", "1:0")
    for noise in NOISE:
        assert noise not in first.stdout + first.stderr


def test_a_rerun_skips_the_finished_job_without_queueing_it(mixed_sweep):
    sweep, _, second, finished_at = mixed_sweep
    assert second.returncode == 1
    skipped = f"job 0 already finished in {sweep.name}/0_ppo_CartPole-v1_seed0: skipped"
    assert skipped in second.stdout
    assert "submitted 1 job(s) to SLURM" in second.stdout
    assert (sweep / "0_ppo_CartPole-v1_seed0" / "summary.json").stat().st_mtime_ns == finished_at
    assert job_state(submitted_id(second.stdout)) == ("FAILED", "1:0")


@pytest.mark.parametrize(
    "setting, sbatch_says, offered",
    [  # the partition asked for; all partitions when that is the mistake
        ("mem_gb=100000", "Memory specification can not be satisfied", ["debug*"]),
        ("partition=nope", "Invalid partition name specified", ["debug*", "short"]),
    ],
)
def test_a_rejected_submission_is_one_line_naming_the_key_exit_2(
    slurm, tmp_path, setting, sbatch_says, offered
):
    result = run_cli("train", "-m", *SLURM, f"hydra.launcher.{setting}", *TINY, cwd=tmp_path)
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    key, value = setting.split("=")
    assert line.startswith("rlcli: error: SLURM rejected the job array: sbatch: error: ")
    assert sbatch_says in line and f"change hydra.launcher.{key} (now {value})" in line
    partitions = line.split("; partitions: ", 1)[1]
    assert re.findall(r"(\S+) \(time limit", partitions) == offered
    assert re.search(r"\d+ MB and \d+ CPUs per node", partitions)


def test_an_array_that_can_never_start_is_cancelled_with_the_reason(slurm, tmp_path):
    too_long = ["hydra.launcher.partition=short", "hydra.launcher.timeout_min=5"]
    result = run_cli("train", "-m", *SLURM, *too_long, "seed=0,1", *TINY, cwd=tmp_path)
    assert result.returncode == 2
    array = submitted_id(result.stdout)
    [line] = result.stderr.splitlines()
    assert line.startswith(
        f"rlcli: error: SLURM will never start job array {array}: it pends with reason "
        "PartitionTimeLimit on partition short (time limit 1:00, "
    )
    assert line.endswith(
        "cancelled it; change hydra.launcher.timeout_min (now 5) or hydra.launcher.partition"
    )
    assert job_state(f"{array}_0")[0] == "CANCELLED"


def wait_for(condition, seconds: float = 120) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.5)
    return condition()


def as_from_a_terminal() -> None:
    """Ctrl-C reaches the child as it would from a shell: the default SIGINT disposition,
    unblocked. In the full suite the pytest process had come to ignore or block SIGINT (the
    sweep never saw it; slurmctld logged no cancel of the array), and children inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])


def test_a_job_killed_by_slurm_is_recorded_and_ctrl_c_cancels_the_rest(slurm, tmp_path):
    name = f"rlcli-ctrl-c-{os.getpid()}"
    long_jobs = ["seed=0,1", "total_timesteps=1000000", "stop_when_solved=false", "progress=none"]
    command = ["train", "-m", *SLURM, f"hydra.launcher.name={name}", *long_jobs]
    environment = {**os.environ, "SDL_VIDEODRIVER": "dummy"}
    sweep = subprocess.Popen(
        [sys.executable, "-m", "rlcli.cli", *command, "hydra.sweep.dir=s"],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=as_from_a_terminal,
    )
    assert wait_for(
        lambda: (
            sum(job.endswith("RUNNING") for job in queued(name)) == 2
            and len(list((tmp_path / "s").glob("*/train.log"))) == 2
        )
    ), "both jobs started training"
    array = queued(name)[0].split("_")[0]
    # Cancelled from outside (as a time limit or the OOM killer would end it): no result comes.
    subprocess.run(["scancel", f"{array}_1"], check=True)
    failed = tmp_path / "s" / "1_ppo_CartPole-v1_seed1" / FAILED_FILE
    assert wait_for(failed.exists, 60), "recorded once it left the queue without a result"
    record = json.loads(failed.read_text())
    assert record["kind"] == "cluster"
    assert record["error"].startswith(f"SLURM job {array}_1: it ended CANCELLED, exit code ")
    sweep.send_signal(signal.SIGINT)
    stdout, stderr = sweep.communicate(timeout=180)

    assert sweep.returncode == 130, stderr
    assert stderr.strip().splitlines() == [
        f"rlcli: interrupted: cancelled SLURM job array {array} (1 of its 2 jobs unfinished); "
        "waiting for them to stop (Ctrl-C again: don't wait)",
        "rlcli: they stopped; resume with the same command and hydra.sweep.dir=s: finished jobs "
        "are skipped, the others start again",
    ]
    assert f"job 1 failed: SLURM job {array}_1: it ended CANCELLED" in stdout
    assert queued(name) == []
    assert job_state(f"{array}_0")[0] == "CANCELLED"
    log = tmp_path / "s" / ".submitit" / f"{array}_0" / f"{array}_0_0_log.err"
    assert "rlcli: SIGTERM: stopped at step " in log.read_text(), "scancel: it saved and stopped"


def test_an_optuna_search_runs_its_trials_through_slurm(slurm, tmp_path):
    needs("optuna")
    result = run_cli(*SEARCH, *SLURM, "hydra.sweeper.trials_per_batch=2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "submitted 2 job(s) to SLURM" in result.stdout, "both trials queued at once"
    study = tmp_path / "study"
    assert [row["state"] for row in trials(study)] == ["complete", "complete"]
    assert sorted(finished_jobs(study)) == ["trial0_seed0", "trial1_seed0"]
    assert ended_state(f"{submitted_id(result.stdout)}_1") == ("COMPLETED", "0:0")
