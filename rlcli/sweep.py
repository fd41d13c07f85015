"""Multirun jobs that survive each other: a failed job is recorded in its directory and the sweep
goes on; a re-run of the same sweep skips the jobs that already finished and never enters a job
directory another live job holds."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rlcli.errors import RunPruned, TrainingDiverged, TrainingInterrupted, UserError
from rlcli.metrics import write_json

log = logging.getLogger("rlcli")

FAILED_FILE = "failed.json"
PRUNED_FILE = "pruned.json"
JOB_FILE = "job.json"  # the overrides a finished job ran with: a re-run skips only that same job
LOCK_FILE = "job.lock"  # held (POSIX lock) by the process running the job; names that process


class JobEndedWithoutResult(Exception):
    """A cluster job that ended (killed, timed out, cancelled) before it could report."""


def finished_return(run_dir: Path, overrides: Sequence[str]) -> float | None:
    """final_eval_mean_return of a job that already finished in ``run_dir`` with these overrides;
    None when it has not finished (no summary.json, or one cut short by a crash)."""
    try:
        summary = json.loads((run_dir / "summary.json").read_text())
    except (OSError, ValueError):
        return None
    try:
        ran_with = json.loads((run_dir / JOB_FILE).read_text())["overrides"]
    except (OSError, ValueError, KeyError):
        ran_with = list(overrides)  # finished before job.json existed: trust the directory name
    if ran_with != list(overrides):
        raise UserError(
            f"{str(run_dir)!r} holds a finished job of other overrides ({' '.join(ran_with)}): "
            "the sweep changed since it ran; give the new sweep its own hydra.sweep.dir"
        )
    return summary["final_eval_mean_return"]


def skip_if_finished(run_dir: Path, overrides: Sequence[str]) -> float | None:
    """final_eval_mean_return of a job already finished in ``run_dir`` (its stale failed.json and
    pruned.json removed), or None when it has to run."""
    finished = finished_return(run_dir, overrides)
    for stale in (FAILED_FILE, PRUNED_FILE):
        (run_dir / stale).unlink(missing_ok=True)
    return finished


def _holder() -> str:
    """This process, as a message names it: pid, host and SLURM job when there is one."""
    slurm_job = os.environ.get("SLURM_ARRAY_JOB_ID")
    if slurm_job:
        slurm_job = f"{slurm_job}_{os.environ.get('SLURM_ARRAY_TASK_ID')}"
    slurm_job = slurm_job or os.environ.get("SLURM_JOB_ID")
    where = f"pid {os.getpid()} on {socket.gethostname()}"
    return f"{where}, SLURM job {slurm_job}" if slurm_job else where


@contextmanager
def holding(run_dir: Path) -> Iterator[None]:
    """Hold ``run_dir`` for this process (a POSIX lock, also honoured over NFS); UserError when a
    live process holds it. The lock goes with the process, so a killed job leaves none behind."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with (run_dir / LOCK_FILE).open("a+") as stream:
        try:
            fcntl.lockf(stream, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            stream.seek(0)
            holder = stream.read().strip() or "another process"
            raise UserError(
                f"{run_dir} is in use by a live job ({holder}); wait until it ends (or scancel "
                "it), then run the sweep again"
            ) from None
        stream.truncate(0)
        stream.write(_holder() + "\n")
        stream.flush()
        try:
            yield
        finally:
            fcntl.lockf(stream, fcntl.LOCK_UN)


def _describe(error: BaseException) -> tuple[str, str]:
    """(kind, one-line message) of a job's error."""
    if isinstance(error, UserError):
        return "user error", str(error)
    if isinstance(error, TrainingDiverged):
        return "diverged", str(error)
    if isinstance(error, JobEndedWithoutResult):
        return "cluster", str(error)
    first_line = (str(error).strip().splitlines() or [""])[0]
    return "bug", f"{type(error).__name__}: {first_line}"


def record_failure(
    run_dir: Path, job_num: int, overrides: Sequence[str], error: BaseException
) -> dict[str, Any]:
    """Write ``failed.json`` (overrides, one-line error; the traceback for a bug) and return it."""
    kind, message = _describe(error)
    record: dict[str, Any] = {
        "job": job_num,
        "overrides": list(overrides),
        "kind": kind,
        "error": message,
    }
    if kind == "bug":
        record["traceback"] = "".join(traceback.format_exception(error))
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / FAILED_FILE, record)
    return record


def run_sweep_job(
    train: Callable[[], dict[str, Any]], run_dir: Path, job_num: int, overrides: Sequence[str]
) -> float | None:
    """One multirun job: final_eval_mean_return, or None when it failed (recorded in failed.json)
    or was pruned (pruned.json). A job that already finished in ``run_dir`` is not run again, and
    one whose directory another live job holds is refused (a failure)."""
    try:
        with holding(run_dir):
            finished = skip_if_finished(run_dir, overrides)
            if finished is not None:
                log.info("job %d already finished in %s: skipped", job_num, run_dir)
                return finished
            final_return = train().final_eval_mean_return
            write_json(run_dir / JOB_FILE, {"job": job_num, "overrides": list(overrides)})
            (run_dir / FAILED_FILE).unlink(missing_ok=True)  # a refused re-run's, while this ran
            return final_return
    except TrainingInterrupted:
        raise  # Ctrl-C / SIGTERM stops the whole sweep; re-running it skips the finished jobs
    except RunPruned as pruned:
        log.info("job %d: %s", job_num, pruned)
        write_json(run_dir / PRUNED_FILE, {"job": job_num, "reason": str(pruned)})
        return None
    except Exception as error:
        record = record_failure(run_dir, job_num, overrides, error)
        if record["kind"] == "bug":
            log.error("job %d failed:\n%s", job_num, record["traceback"])
        else:
            log.error("job %d failed: %s", job_num, record["error"])
        return None


def failed_jobs(sweep_dir: Path) -> list[dict[str, Any]]:
    """The failed.json records under a sweep directory, in job order."""
    records = []
    for path in sweep_dir.glob(f"**/{FAILED_FILE}"):
        try:
            records.append({**json.loads(path.read_text()), "path": str(path)})
        except (OSError, ValueError):
            records.append({"job": -1, "overrides": [], "error": "unreadable", "path": str(path)})
    return sorted(records, key=lambda record: (record.get("job", -1), record["path"]))


def failure_summary(records: Sequence[dict[str, Any]], sweep_dir: Path) -> str:
    """One line naming each failed job, its overrides and its error."""
    jobs = "; ".join(
        f"#{r.get('job')} ({' '.join(r.get('overrides', []))}): {r.get('error')}" for r in records
    )
    noun = "job" if len(records) == 1 else "jobs"
    return f"{len(records)} {noun} failed: {jobs}; see {sweep_dir}/*/{FAILED_FILE}"


def discard_refused_sweep_dir() -> None:
    """Remove the sweep directory of a multirun refused before any job ran: Hydra writes its
    multirun.yaml before it checks the jobs' configs. A directory holding more is kept."""
    from rlcli.build import discard_unfinished_run_dir
    from rlcli.hydra_callbacks import started_sweep_dir

    sweep_dir = started_sweep_dir()
    if sweep_dir is None or not sweep_dir.is_dir():
        return
    if [p.name for p in sweep_dir.iterdir()] == ["multirun.yaml"]:
        (sweep_dir / "multirun.yaml").unlink()
        discard_unfinished_run_dir(sweep_dir)
