"""Experiment trackers that mirror a run's TensorBoard scalars, config and summary (``track=``)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, Protocol

from rlcli.settings import WandbConfig


class Tracker(Protocol):
    """Receives what the run writes to TensorBoard, and its summary at the end."""

    def scalars(self, values: dict[str, float], step: int) -> None:
        """Log each ``tag: value`` at ``step`` (env steps)."""
        ...

    def summary(self, data: dict[str, Any]) -> None:
        """The run's summary.json mapping."""
        ...

    def close(self) -> None:
        """Finish the tracked run."""
        ...


def wandb_run_id(run_dir: Path) -> str:
    """The same W&B run id for the same run directory, so a resumed run continues its W&B run."""
    digest = hashlib.sha1(str(run_dir.resolve()).encode()).hexdigest()[:8]
    return f"{re.sub(r'[^A-Za-z0-9_-]', '-', run_dir.name)[-40:]}-{digest}"


class WandbTracker:
    """A Weights & Biases run in ``<run dir>/wandb/``: scalars against ``global_step`` (env steps,
    TensorBoard's x axis), the resolved config, and the summary."""

    def __init__(
        self, settings: WandbConfig, run_dir: Path, config: dict[str, Any], resumed: bool
    ) -> None:
        import wandb

        self._run = wandb.init(
            project=settings.project,
            entity=settings.entity,
            group=settings.group,
            name=settings.name or run_dir.name,
            tags=list(settings.tags),
            mode=settings.mode,
            dir=str(run_dir),
            id=wandb_run_id(run_dir),
            resume="allow" if resumed else None,
            config=config,
            reinit="finish_previous",
        )
        self._run.define_metric("global_step")
        self._run.define_metric("*", step_metric="global_step")

    def scalars(self, values: dict[str, float], step: int) -> None:
        """Log the scalars with their env step."""
        self._run.log({**values, "global_step": step})

    def summary(self, data: dict[str, Any]) -> None:
        """Put summary.json's values into the W&B run summary."""
        self._run.summary.update(data)

    def close(self) -> None:
        """Finish the W&B run (in offline mode its files stay in <run dir>/wandb/)."""
        self._run.finish()
