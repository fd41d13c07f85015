"""What a SLURM sweep asks the scheduler (squeue, scontrol, sinfo, scancel) and how rlcli words
its answers: one line for a rejected submission or a job array that can never start, and a
status line while jobs pend."""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# sbatch's complaint -> the launcher key that changes it (first match wins).
REJECTION_KEYS = (
    ("memory", "mem_gb"),
    ("account", "account"),  # "Invalid account or account/partition combination specified"
    ("qos", "qos"),
    ("partition", "partition"),
    ("time limit", "timeout_min"),
    ("gres", "gpus_per_node"),
    ("gpu", "gpus_per_node"),
    ("node configuration", "cpus_per_task"),
)
# Pending reasons no other job's end can clear: a limit of the partition, QOS or association on
# the size of one job, or a request the cluster cannot meet. The key is the setting to change.
NEVER_STARTS = {
    "PartitionTimeLimit": "timeout_min",
    "PartitionNodeLimit": "nodes",
    "InvalidAccount": "account",
    "InvalidQOS": "qos",
    "BadConstraints": "additional_parameters",
    "DependencyNeverSatisfied": "additional_parameters",
}
PER_JOB_LIMIT = re.compile(r"^(QOS|Assoc)Max(\w+)PerJob(Limit)?$")  # e.g. QOSMaxWallDurationPerJob


@dataclass(frozen=True)
class QueuedJob:
    """One job of an array as squeue shows it."""

    job_id: str  # "<array id>_<task id>"
    state: str  # PENDING, RUNNING, COMPLETING, ...
    reason: str  # why it pends (Resources, Priority, PartitionTimeLimit, ...); None when running
    partition: str


def _run(command: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """Run a SLURM command; a missing or hanging one is a failed run, not an exception."""
    try:
        return subprocess.run(list(command), capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        return subprocess.CompletedProcess(list(command), 1, "", str(error))


def queued(array_id: str) -> dict[str, QueuedJob] | None:
    """The array's jobs still in the queue, by job id; None when squeue could not tell."""
    result = _run(["squeue", "-h", "-r", "-j", array_id, "-o", "%i|%T|%r|%P"])
    if result.returncode != 0:
        return {} if "Invalid job id" in result.stderr else None
    jobs = [QueuedJob(*line.split("|", 3)) for line in result.stdout.splitlines() if line]
    return {job.job_id: job for job in jobs}


def final_state(job_id: str) -> str:
    """JobState and ExitCode of an ended job (``FAILED, exit code 1:0``), as scontrol recalls."""
    fields = dict(
        item.split("=", 1)
        for item in _run(["scontrol", "-o", "show", "job", job_id]).stdout.split()
        if "=" in item
    )
    state = fields.get("JobState", "state unknown")
    return f"{state}, exit code {fields['ExitCode']}" if "ExitCode" in fields else state


def cancel(array_id: str) -> None:
    """scancel the whole array."""
    _run(["scancel", array_id])


def partitions(name: str | None = None) -> str:
    """The partitions (or one) with their time limit and per-node memory and CPUs, for a message;
    the default partition is starred."""
    command = ["sinfo", "-h", "-o", "%P|%l|%m|%c"] + (["-p", name] if name else [])
    rows = {line for line in _run(command).stdout.splitlines() if line.count("|") == 3}
    described = []
    for row in sorted(rows)[:12]:
        partition, time_limit, memory_mb, cpus = row.split("|")
        described.append(
            f"{partition} (time limit {time_limit}, {memory_mb} MB and {cpus} CPUs per node)"
        )
    return ", ".join(described) or "none found by sinfo"


def rejection_message(error: str, settings: Mapping[str, object]) -> str:
    """One line for a submission sbatch refused: its own words, the key to change and what the
    cluster offers. ``settings`` are the launcher's (partition, mem_gb, ...)."""
    said = [line.strip() for line in error.splitlines() if line.strip()]
    quoted = "; ".join(said) or "sbatch failed without a message"
    key = next((key for word, key in REJECTION_KEYS if word in quoted.lower()), None)
    offer = partitions(None if key == "partition" else _str(settings.get("partition")))
    change = (
        f"change hydra.launcher.{key} (now {settings.get(key)})"
        if key
        else "check the hydra.launcher settings"
    )
    return f"SLURM rejected the job array: {quoted}; {change}; partitions: {offer}"


def never_starts(jobs: Mapping[str, QueuedJob]) -> QueuedJob | None:
    """A pending job whose reason can never clear by waiting, if any."""
    for job in jobs.values():
        hopeless = job.reason in NEVER_STARTS or PER_JOB_LIMIT.match(job.reason)
        if job.state == "PENDING" and hopeless:
            return job
    return None


def never_starts_message(job: QueuedJob, array_id: str, settings: Mapping[str, object]) -> str:
    """One line: the array was cancelled because ``job`` would pend forever, and what to change."""
    key = NEVER_STARTS.get(job.reason) or _per_job_key(job.reason)
    return (
        f"SLURM will never start job array {array_id}: it pends with reason {job.reason} on "
        f"partition {partitions(job.partition)}; cancelled it; change "
        f"hydra.launcher.{key} (now {settings.get(key)}) or hydra.launcher.partition"
    )


def _per_job_key(reason: str) -> str:
    match = PER_JOB_LIMIT.match(reason)
    limit = match.group(2) if match else ""
    for word, key in (("Wall", "timeout_min"), ("Mem", "mem_gb"), ("Node", "nodes")):
        if word in limit:
            return key
    return "cpus_per_task" if "Cpu" in limit else "gpus_per_node"


def status_line(array_id: str, jobs: Mapping[str, QueuedJob], finished: int) -> str:
    """``SLURM job array 45: 2 pending (Resources: 2), 1 running, 3 finished``."""
    states = Counter(job.state for job in jobs.values())
    reasons = Counter(job.reason for job in jobs.values() if job.state == "PENDING")
    parts = []
    if states["PENDING"]:
        why = ", ".join(f"{reason}: {count}" for reason, count in sorted(reasons.items()))
        parts.append(f"{states['PENDING']} pending ({why})")
    parts += [f"{n} {state.lower()}" for state, n in sorted(states.items()) if state != "PENDING"]
    return f"SLURM job array {array_id}: {', '.join([*parts, f'{finished} finished'])}"


def _str(value: object) -> str | None:
    return None if value is None else str(value)
