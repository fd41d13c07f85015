"""tensorboard/<group>/: one TensorBoard run per group holding the mean, min and max over seeds."""

from __future__ import annotations

from pathlib import Path

from rlcli.report.curves import Band


def clear_aggregate_runs(tensorboard_dir: Path) -> None:
    """Remove event files an earlier report wrote, so re-running a report does not duplicate."""
    for events in tensorboard_dir.glob("*/events.out.tfevents.*"):
        events.unlink()


def write_aggregate_run(log_dir: Path, bands: dict[str, Band]) -> None:
    """One TensorBoard run with ``<tag>/mean``, ``/min`` and ``/max`` at each step of the grid."""
    from torch.utils.tensorboard import SummaryWriter  # deferred: ~0.2 s to import

    writer = SummaryWriter(log_dir=str(log_dir))
    try:
        for tag, curve in bands.items():
            for index, step in enumerate(curve.steps.tolist()):
                writer.add_scalar(f"{tag}/mean", curve.mean[index], step)
                writer.add_scalar(f"{tag}/min", curve.minimum[index], step)
                writer.add_scalar(f"{tag}/max", curve.maximum[index], step)
    finally:
        writer.close()
