"""Hydra callbacks of ``rlcli train -m`` (configs/train.yaml, ``hydra.callbacks``): the Hydra-facing
shell around the sweep report and the failed-job records; the work is done in rlcli.report and
rlcli.sweep."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from rlcli.sweep import failed_jobs, failure_summary

log = logging.getLogger("rlcli")

_failed_jobs_summary: str | None = None  # what FailedJobs found; read with failed_jobs_summary()
_sweep_dir: Path | None = None  # the multirun started last; read with started_sweep_dir()


def started_sweep_dir() -> Path | None:
    """The sweep directory of the multirun started last in this process (None: none started)."""
    return _sweep_dir


def failed_jobs_summary() -> str | None:
    """One line naming the failed jobs of the multirun that last ended in this process, as the
    FailedJobs callback found them; None when none failed (or no multirun ran).

    Hydra builds its callbacks itself and returns nothing from a multirun, so this is how
    ``rlcli train`` learns the outcome after ``@hydra.main`` returns."""
    return _failed_jobs_summary


class ReportCallback(Callback):
    """Writes the report into the sweep directory when a multirun ends; never fails the sweep."""

    def __init__(self) -> None:
        """Nothing to configure; the sweep directory is read from Hydra's config."""
        self.sweep_dir: Path | None = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Resolve the sweep directory now, so ``${now:...}`` is the one the jobs used."""
        try:
            self.sweep_dir = Path(str(config.hydra.sweep.dir))
        except Exception as error:  # a report must never make a sweep fail
            log.warning("sweep report: cannot read hydra.sweep.dir: %s", error)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Aggregate the sweep's finished runs; errors are logged, never raised."""
        from rlcli.report import make_report  # deferred: matplotlib and tensorboard are slow

        try:
            sweep_dir = self.sweep_dir or Path(str(config.hydra.sweep.dir))
            report = make_report([sweep_dir])
            if report.warning:
                log.warning("sweep report: %s", report.warning)
            log.info("sweep report: %s", report.markdown)
        except Exception as error:  # a report must never make a sweep fail
            log.warning("sweep report not written: %s: %s", type(error).__name__, error)
            log.debug("sweep report failure", exc_info=True)


class FailedJobs(Callback):
    """Reads the failed jobs of a multirun when it ends, for ``rlcli train`` to report (exit 1)
    through ``failed_jobs_summary()``."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Forget an earlier multirun's failures; note this one's sweep directory."""
        global _failed_jobs_summary, _sweep_dir
        _failed_jobs_summary = None
        _sweep_dir = Path(str(config.hydra.sweep.dir))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Read the sweep directory's failed.json files."""
        global _failed_jobs_summary
        sweep_dir = Path(str(config.hydra.sweep.dir))
        records = failed_jobs(sweep_dir)
        _failed_jobs_summary = failure_summary(records, sweep_dir) if records else None
