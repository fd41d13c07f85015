"""Composition root: the only place that turns configs and checkpoints into objects and runs.

``settings`` turns a composed config into validated typed settings; ``objects`` builds what a run
works on; the functions here start, warm-start and resume runs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from rlcli.build.settings import (
    CHECKPOINT_PREFERENCE,
    find_checkpoint,
    settings_from_config,
    settings_from_dict,
    validate,
)
from rlcli.checkpoint import load_checkpoint
from rlcli.envs import errors_of_env
from rlcli.errors import UserError
from rlcli.records import RunSummary
from rlcli.settings import TrainConfig

__all__ = [
    "CHECKPOINT_PREFERENCE",
    "discard_unfinished_run_dir",
    "find_checkpoint",
    "refuse_a_used_run_dir",
    "resume_training",
    "run_training",
    "settings_from_config",
    "settings_from_dict",
    "train",
    "validate",
    "write_job_files",
]


def train(
    config: TrainConfig,
    run_dir: Path,
    resume: dict[str, Any] | None = None,
    initial_weights: dict[str, Any] | None = None,
) -> RunSummary:
    """Train one agent into ``run_dir``; returns the summary also written to summary.json.

    ``resume`` (a checkpoint of this run) continues it exactly; ``initial_weights`` (a checkpoint
    of any run with the same network) only starts from its weights.
    """
    from rlcli.build.objects import build_training_run

    return build_training_run(config, run_dir, resume, initial_weights).run()


def discard_unfinished_run_dir(run_dir: Path) -> None:
    """Remove the directory Hydra made for a refused start, and the parents made with it inside
    the working directory (``outputs/runs/<date>``): nothing is written before a run starts, so
    they are empty; a directory holding anything is left as it is."""
    working_dir, folder = Path.cwd().resolve(), run_dir.resolve()
    with contextlib.suppress(OSError):  # not empty: stop there
        folder.rmdir()
        while working_dir in folder.parent.parents:
            folder = folder.parent
            folder.rmdir()


def refuse_a_used_run_dir(run_dir: Path) -> None:
    """A new run never writes into a directory that already holds one (existing runs are kept)."""
    held = [name for name in (".hydra", "checkpoints", "summary.json") if (run_dir / name).exists()]
    if held:
        raise UserError(
            f"hydra.run.dir={str(run_dir)!r} already holds a run ({', '.join(held)}); give the new "
            f"run its own directory, or continue an interrupted one: rlcli train resume={run_dir}"
        )


def write_job_files(run_dir: Path, cfg: Any, hydra_config: Any, overrides: list[str]) -> None:
    """``.hydra/config.yaml``, ``hydra.yaml`` and ``overrides.yaml``, as Hydra writes them."""
    folder = run_dir / ".hydra"
    folder.mkdir(parents=True, exist_ok=True)
    files = {"config.yaml": cfg, "hydra.yaml": {"hydra": hydra_config}, "overrides.yaml": overrides}
    for name, content in files.items():
        (folder / name).write_text(OmegaConf.to_yaml(content), encoding="utf-8")


def run_training(
    cfg: DictConfig, run_dir: Path, on_start: Callable[[], None] | None = None
) -> RunSummary:
    """Build the settings from ``cfg`` and train into ``run_dir`` (warm-starting if asked).

    ``on_start`` is called once everything is built and checked, before training begins."""
    from rlcli.build.objects import build_training_run  # deferred: keeps config errors fast

    config = settings_from_config(cfg)
    initial_weights = None
    if config.init_from is not None:
        initial_weights = load_checkpoint(find_checkpoint(Path(config.init_from)))
    with errors_of_env(config.env.id):
        training_run = build_training_run(config, run_dir, initial_weights=initial_weights)
        if on_start is not None:
            on_start()
        if config.trial is not None:  # a job of an Optuna search: report evaluations, maybe prune
            from rlcli.optuna_trial import trial_reporter

            training_run.on_evaluation = trial_reporter(config.trial, training_run.final_step)
        return _run_stoppable(training_run)


def resume_training(run_dir: Path) -> RunSummary:
    """Continue the run in ``run_dir`` from its latest checkpoint, with its saved config."""
    from rlcli.build.objects import build_training_run

    if (run_dir / "summary.json").is_file() and not _newer_latest(run_dir):
        raise UserError(f"run {str(run_dir)!r} already finished (summary.json); nothing to resume")
    checkpoint = load_checkpoint(find_checkpoint(run_dir, ("latest",)))
    config = settings_from_dict(checkpoint["config"])
    with errors_of_env(config.env.id):
        return _run_stoppable(build_training_run(config, run_dir, resume=checkpoint))


def _newer_latest(run_dir: Path) -> bool:
    latest = run_dir / "checkpoints" / "latest.pt"
    return latest.is_file() and latest.stat().st_mtime > (run_dir / "summary.json").stat().st_mtime


def _run_stoppable(training_run: Any) -> RunSummary:
    """Run with SIGINT/SIGTERM asking for a checkpoint and a clean stop; a second one exits."""
    from rlcli.signals import stop_on_signals

    with stop_on_signals(training_run.request_stop):
        return training_run.run()
