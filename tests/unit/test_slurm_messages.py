"""rlcli/slurm.py without a cluster: what squeue, sinfo and sbatch say, turned into one line."""

import subprocess

import pytest

from rlcli import slurm

SINFO = "debug*|infinite|24105|2\nshort|1:00|24105|2\n"
SETTINGS = {  # the launcher's, as hydra/launcher=slurm sets them
    **{"partition": None, "account": None, "qos": None, "mem_gb": 4, "timeout_min": 60},
    **{"nodes": 1, "cpus_per_task": 1, "gpus_per_node": None},
}


@pytest.fixture
def scheduler(monkeypatch):
    """Stand-in SLURM commands: ``scheduler[name] = (returncode, stdout, stderr)``."""
    answers = {"sinfo": (0, SINFO, ""), "squeue": (0, "", "")}

    def run(command):
        code, out, err = answers[command[0]]
        if "-p" in command:  # sinfo -p <partition>
            name = command[command.index("-p") + 1]
            out = "".join(line for line in out.splitlines(True) if line.startswith(name))
        return subprocess.CompletedProcess(command, code, out, err)

    monkeypatch.setattr(slurm, "_run", run)
    return answers


@pytest.mark.parametrize(
    "sbatch_says, key",
    [
        ("Memory specification can not be satisfied", "mem_gb"),
        ("No partition specified or system default partition", "partition"),
        ("invalid partition specified: gpu", "partition"),
        ("Requested time limit is invalid (missing or exceeds some limit)", "timeout_min"),
        ("Invalid account or account/partition combination specified", "account"),
        ("Invalid qos specification", "qos"),
        ("Invalid generic resource (gres) specification", "gpus_per_node"),
        ("Requested node configuration is not available", "cpus_per_task"),
    ],
)
def test_a_rejection_names_the_launcher_key_to_change(scheduler, sbatch_says, key):
    error = f"sbatch: error: {sbatch_says}\nsbatch: error: Batch job submission failed: x\n"
    message = slurm.rejection_message(error, SETTINGS)
    assert message.startswith(f"SLURM rejected the job array: sbatch: error: {sbatch_says}; ")
    assert f"; change hydra.launcher.{key} (now " in message
    assert "partitions: debug* (time limit infinite, 24105 MB and 2 CPUs per node)" in message
    assert "\n" not in message


def test_an_unknown_rejection_is_quoted_and_points_at_the_settings(scheduler):
    scheduler["sinfo"] = (1, "", "sinfo: command not found")
    message = slurm.rejection_message("sbatch: error: Something new", SETTINGS)
    assert message == (
        "SLURM rejected the job array: sbatch: error: Something new; check the hydra.launcher "
        "settings; partitions: none found by sinfo"
    )


def test_queued_reads_squeue_and_tells_gone_from_unknown(scheduler):
    scheduler["squeue"] = (0, "45_1|PENDING|Priority|debug\n45_0|RUNNING|None|debug\n", "")
    jobs = slurm.queued("45")
    assert jobs["45_1"] == slurm.QueuedJob("45_1", "PENDING", "Priority", "debug")
    assert jobs["45_0"].state == "RUNNING"
    scheduler["squeue"] = (1, "", "slurm_load_jobs error: Invalid job id specified")
    assert slurm.queued("45") == {}, "the array left the queue"
    scheduler["squeue"] = (1, "", "slurm_load_jobs error: Socket timed out")
    assert slurm.queued("45") is None, "squeue could not tell"


@pytest.mark.parametrize(
    "reason, key",
    [
        ("PartitionTimeLimit", "timeout_min"),
        ("PartitionNodeLimit", "nodes"),
        ("QOSMaxWallDurationPerJobLimit", "timeout_min"),
        ("AssocMaxCpuPerJobLimit", "cpus_per_task"),
        ("QOSMaxMemoryPerJob", "mem_gb"),
        ("InvalidAccount", "account"),
    ],
)
def test_a_reason_that_never_clears_stops_the_sweep(scheduler, reason, key):
    jobs = {
        "45_0": slurm.QueuedJob("45_0", "RUNNING", "None", "short"),
        "45_1": slurm.QueuedJob("45_1", "PENDING", reason, "short"),
    }
    blocked = slurm.never_starts(jobs)
    assert blocked == jobs["45_1"]
    assert slurm.never_starts_message(blocked, "45", SETTINGS) == (
        f"SLURM will never start job array 45: it pends with reason {reason} on partition short "
        "(time limit 1:00, 24105 MB and 2 CPUs per node); cancelled it; change "
        f"hydra.launcher.{key} (now {SETTINGS[key]}) or hydra.launcher.partition"
    )


@pytest.mark.parametrize(
    "reason", ["Resources", "Priority", "JobArrayTaskLimit", "PartitionConfig", "QOSGrpCpuLimit"]
)
def test_reasons_that_clear_by_waiting_do_not_stop_the_sweep(reason):
    assert slurm.never_starts({"7": slurm.QueuedJob("7", "PENDING", reason, "debug")}) is None


def test_the_status_line_counts_states_and_reasons():
    jobs = {
        "45_0": slurm.QueuedJob("45_0", "RUNNING", "None", "debug"),
        "45_1": slurm.QueuedJob("45_1", "PENDING", "Resources", "debug"),
        "45_2": slurm.QueuedJob("45_2", "PENDING", "Priority", "debug"),
        "45_3": slurm.QueuedJob("45_3", "PENDING", "Priority", "debug"),
    }
    assert slurm.status_line("45", jobs, finished=2) == (
        "SLURM job array 45: 3 pending (Priority: 2, Resources: 1), 1 running, 2 finished"
    )
