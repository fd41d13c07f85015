"""hydra/launcher=slurm: hydra-submitit-launcher's SLURM launcher, as a cluster user expects.

Over the plugin's launcher it adds, in the launching process: finished jobs are skipped without
being queued; a submission sbatch refuses is one ``rlcli: error:`` line; while jobs pend their
state and reason are printed every ``status_every_s``, and an array that can never start is
cancelled; Ctrl-C cancels the array; a job that ended without a result (killed, timed out) is
recorded as failed; the scheduler is asked with squeue, never sacct (often without accounting).
In each job: a job that recorded a failure exits 1, so SLURM marks it FAILED.

No ``from __future__ import annotations``: Hydra's plugin scan runs this module before it is in
sys.modules, where dataclasses cannot resolve string annotations.
"""

import contextlib
import io
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobStatus, filter_overrides
from omegaconf import OmegaConf, open_dict

from rlcli.errors import EXIT_BY_SIGNAL, EXIT_JOBS_FAILED, EXIT_USER_ERROR

try:
    from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher as _Base
except ImportError:  # without the "sweep" extra this module defines no Hydra plugin
    _Base = object

log = logging.getLogger("rlcli")

EXIT_INTERRUPTED = EXIT_BY_SIGNAL["SIGINT"]  # as for a Ctrl-C'd training run
POLL_S = 1.0  # result files are looked for this often
QUEUE_EVERY_S = 10.0  # squeue is asked at most this often
RESULT_GRACE_S = 15.0  # a job that left the queue may take this long to show its result file
STOP_WAIT_S = 90.0  # after scancel: how long to wait for the jobs to save and stop


@dataclass
class _Job:
    """One job of a launch, and its return once known."""

    num: int
    overrides: list[str]
    submitted: Any = None  # submitit's SlurmJob
    result: JobReturn | None = None

    def returned(self, value: float | None) -> None:
        """Record the job's return (None: failed or pruned) as Hydra's JobReturn."""
        self.result = JobReturn(
            overrides=self.overrides, status=JobStatus.COMPLETED, _return_value=value
        )


class RlcliSlurmLauncher(_Base):  # type: ignore[misc, valid-type]
    """Runs a multirun's jobs as one SLURM job array and reports what the scheduler says."""

    def __init__(self, status_every_s: int = 60, **params: Any) -> None:
        super().__init__(**params)
        self.status_every_s = status_every_s

    def __call__(self, *arguments: Any) -> JobReturn:
        """In the job: run it; after recording a failure, exit 1 (result file written first)."""
        from rlcli.sweep import FAILED_FILE

        result = super().__call__(*arguments)
        run_dir = Path(result.hydra_cfg.hydra.runtime.output_dir)
        if result.status == JobStatus.FAILED or (run_dir / FAILED_FILE).is_file():
            _exit_after_storing(result)
        return result

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> list[JobReturn]:
        """Skip the finished jobs, submit the others as one array, wait for their returns."""
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        log.info("SLURM sweep output dir: %s", sweep_dir)
        jobs = [_Job(initial_job_idx + i, list(o)) for i, o in enumerate(job_overrides)]
        if any(sweep_dir.glob("*/summary.json")):  # a re-run: finished jobs are not queued again
            for job in jobs:
                self._skip_if_finished(job)
        waiting = [job for job in jobs if job.result is None]
        for job in waiting:
            log.info("\t#%d : %s", job.num, " ".join(filter_overrides(job.overrides)))
        if waiting:
            try:
                array_id = self._submit(waiting)
            except KeyboardInterrupt:
                _stop("interrupted while submitting; check squeue for jobs of this sweep")
            watch = _ArrayWatch(array_id, waiting, self.status_every_s, self.params, self.run_dir)
            watch.run(sweep_dir)
        return [job.result for job in jobs]

    def run_dir(self, job: _Job) -> Path:
        """The job's directory, composed as the job will compose it (about 0.2 s)."""
        config = self.hydra_context.config_loader.load_sweep_config(self.config, job.overrides)
        with open_dict(config.hydra.job):
            config.hydra.job.num = job.num
        return Path(str(config.hydra.sweep.dir)) / str(config.hydra.sweep.subdir)

    def _skip_if_finished(self, job: _Job) -> None:
        """Give a job that already finished its return, so it is not submitted (a directory of
        other overrides is left to the job, which records that failure)."""
        from rlcli.errors import UserError
        from rlcli.sweep import skip_if_finished

        run_dir = self.run_dir(job)
        try:
            finished = skip_if_finished(run_dir, job.overrides)
        except UserError:
            return
        if finished is not None:
            log.info("job %d already finished in %s: skipped", job.num, run_dir)
            job.returned(finished)

    def _submit(self, jobs: list[_Job]) -> str:
        """sbatch the jobs as one array; its id. A refusal is one line naming the key to change."""
        from submitit.core.utils import FailedJobError

        from rlcli import slurm

        state = Singleton.get_state()  # the arguments of __call__, one tuple per job
        calls = [(j.overrides, "hydra.sweep.dir", j.num, f"id_{j.num}", state) for j in jobs]
        printed = io.StringIO()  # submitit prints sbatch's refusal itself; the error has it too
        try:
            with contextlib.redirect_stderr(printed):
                submitted = self._executor().map_array(self, *zip(*calls, strict=True))
        except FailedJobError as error:
            _stop(f"error: {slurm.rejection_message(str(error), self.params)}", EXIT_USER_ERROR)
        except FileNotFoundError as error:
            _stop(
                f"error: {error.filename} not found: hydra/launcher=slurm submits from a SLURM "
                "login node; hydra/launcher=slurm_local runs the same jobs on this machine",
                EXIT_USER_ERROR,
            )
        for job, slurm_job in zip(jobs, submitted, strict=True):
            job.submitted = slurm_job
        array_id = str(submitted[0].job_id).split("_")[0]
        log.info("submitted %d job(s) to SLURM: job id %s", len(jobs), array_id)
        return array_id

    def _executor(self) -> Any:
        """submitit's executor with this launcher's settings, as the plugin's launch() builds it."""
        import submitit
        from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf

        params = dict(self.params)
        folder = params.pop("submitit_folder")
        max_num_timeout = params.pop("max_num_timeout")
        executor = submitit.AutoExecutor(
            cluster="slurm", folder=folder, slurm_max_num_timeout=max_num_timeout
        )
        shared = set(OmegaConf.structured(BaseQueueConf).keys())
        executor.update_parameters(
            **{key if key in shared else f"slurm_{key}": value for key, value in params.items()}
        )
        return executor


class _ArrayWatch:
    """Waits for an array's jobs, collecting their returns, and tells the user why it waits."""

    def __init__(
        self,
        array_id: str,
        jobs: list[_Job],
        status_every_s: float,
        settings: dict[str, Any],
        run_dir: Callable[[_Job], Path],
    ) -> None:
        self.array_id = array_id
        self.jobs = jobs
        self.status_every_s = status_every_s
        self.settings = settings
        self.run_dir = run_dir
        self.next_status = time.monotonic() + status_every_s
        self.left_queue: dict[int, float] = {}  # job number -> when squeue stopped listing it

    def run(self, sweep_dir: Path) -> None:
        """Until every job returned; Ctrl-C cancels the array and exits 130."""
        try:
            next_queue = 0.0
            while self._collect():
                if time.monotonic() >= next_queue:
                    next_queue = time.monotonic() + min(QUEUE_EVERY_S, self.status_every_s)
                    self._ask_queue()
                time.sleep(POLL_S)
        except KeyboardInterrupt:
            self._cancel(sweep_dir)

    def _collect(self) -> list[_Job]:
        """Read the result files that appeared; the jobs still waiting."""
        from submitit.core.utils import FailedJobError, UncompletedJobError

        for job in self.jobs:
            if job.result is None and job.submitted.paths.result_pickle.exists():
                try:
                    job.result = job.submitted.results()[0]
                except (FailedJobError, UncompletedJobError) as error:  # before rlcli's task ran
                    self._failed(job, f"it failed before training: {_error_line(str(error))}")
        return [job for job in self.jobs if job.result is None]

    def _ask_queue(self) -> None:
        """squeue: stop an array that can never start, print the status while jobs pend, record
        the jobs that left the queue without a result."""
        from rlcli import slurm

        queue = slurm.queued(self.array_id)
        if queue is None:  # squeue did not answer this time
            return
        blocked = slurm.never_starts(queue)
        if blocked is not None:
            slurm.cancel(self.array_id)
            message = slurm.never_starts_message(blocked, self.array_id, self.settings)
            _stop(f"error: {message}", EXIT_USER_ERROR)
        now = time.monotonic()
        if any(job.state == "PENDING" for job in queue.values()) and now >= self.next_status:
            finished = sum(job.result is not None for job in self.jobs)
            log.info(slurm.status_line(self.array_id, queue, finished))
            self.next_status = now + self.status_every_s
        for job in self.jobs:
            if job.result is not None or job.submitted.job_id in queue:
                continue
            since = self.left_queue.setdefault(job.num, now)
            if now - since > RESULT_GRACE_S and not job.submitted.paths.result_pickle.exists():
                self._failed(job, f"it ended {slurm.final_state(job.submitted.job_id)}")

    def _failed(self, job: _Job, what: str) -> None:
        """Record a job that returned nothing in its failed.json, as rlcli records failures."""
        from rlcli.sweep import JobEndedWithoutResult, record_failure

        message = f"SLURM job {job.submitted.job_id}: {what}; log {job.submitted.paths.stderr}"
        record_failure(self.run_dir(job), job.num, job.overrides, JobEndedWithoutResult(message))
        log.error("job %d failed: %s", job.num, message)
        job.returned(None)

    def _cancel(self, sweep_dir: Path) -> None:
        """scancel the array, wait (bounded) for its jobs to stop, say how to resume, exit 130."""
        from rlcli import slurm

        slurm.cancel(self.array_id)
        unfinished = sum(job.result is None for job in self.jobs)
        sys.stderr.write(
            f"\nrlcli: interrupted: cancelled SLURM job array {self.array_id} ({unfinished} of "
            f"its {len(self.jobs)} jobs unfinished); waiting for them to stop (Ctrl-C again: "
            "don't wait)\n"
        )
        deadline = time.monotonic() + STOP_WAIT_S
        try:
            while slurm.queued(self.array_id) != {} and time.monotonic() < deadline:
                time.sleep(POLL_S)
        except KeyboardInterrupt:
            pass
        still = slurm.queued(self.array_id)
        stopped = "they stopped" if still == {} else f"{len(still or {})} still stopping"
        _stop(
            f"{stopped}; resume with the same command and hydra.sweep.dir={sweep_dir}: finished "
            "jobs are skipped, the others start again"
        )


def _error_line(text: str) -> str:
    """The exception line of a submitit failure message (the last line of its trace)."""
    trace = text.split("-" * 22)
    lines = [line for line in (trace[1] if len(trace) > 2 else text).splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no error message"


def _stop(message: str, code: int = EXIT_INTERRUPTED) -> NoReturn:
    """End the sweep with one ``rlcli:`` line (Hydra would add a hint about stack traces)."""
    sys.stderr.write(f"rlcli: {message}\n")
    raise SystemExit(code)


def _exit_after_storing(result: JobReturn) -> None:
    """Store the job's return where submitit's launching process reads it, then exit 1."""
    import submitit
    from submitit.core import utils

    paths = submitit.JobEnvironment().paths
    with utils.temporary_save_path(paths.result_pickle) as temporary:
        utils.cloudpickle_dump(("success", result), temporary)
    sys.stdout.flush()
    sys.stderr.flush()
    raise SystemExit(EXIT_JOBS_FAILED)  # SLURM marks the job FAILED
