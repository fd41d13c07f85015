"""Learning curves of a group's runs: read from TensorBoard, put on one step grid, summarised."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rlcli.report.runs import Group
from rlcli.report.seed_statistics import CONFIDENCE, bootstrap_mean_curve

CURVE_TAG = "eval/mean_return"
BINNED_TAG = "charts/episodic_return"
MAX_BINS = 100

Curve = list[tuple[int, float]]


def read_scalars(run_dir: Path) -> dict[str, Curve]:
    """Every scalar tag of a run directory's event files as ``(step, value)`` points."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    tensorboard_log = logging.getLogger("tensorboard")
    level = tensorboard_log.level
    tensorboard_log.setLevel(logging.WARNING)  # it logs one INFO line per event file read
    try:
        events.Reload()
    finally:
        tensorboard_log.setLevel(level)
    return {
        tag: [(event.step, event.value) for event in events.Scalars(tag)]
        for tag in events.Tags()["scalars"]
    }


def align_curves(curves: Sequence[Curve]) -> tuple[np.ndarray, np.ndarray]:
    """Each curve linearly interpolated onto the union of all steps; NaN outside its own range."""
    curves = [dict(curve) for curve in curves if curve]  # a repeated step keeps its last value
    if not curves:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0))
    grid = np.unique(np.concatenate([np.fromiter(curve, dtype=np.int64) for curve in curves]))
    matrix = np.full((len(curves), len(grid)), np.nan)  # [runs, steps]
    for row, curve in enumerate(curves):
        steps = np.array(sorted(curve), dtype=np.int64)
        values = np.array([curve[step] for step in steps], dtype=float)
        inside = (grid >= steps[0]) & (grid <= steps[-1])
        matrix[row, inside] = np.interp(grid[inside], steps, values)
    return grid, matrix


def bin_curves(curves: Sequence[Curve], max_bins: int = MAX_BINS) -> tuple[np.ndarray, np.ndarray]:
    """Per-run mean of the points in equal step bins from 0 to the last step; NaN for empty bins.

    Each bin is labelled by its right edge; with evenly spaced steps and few enough of them, each
    bin holds exactly one step and is labelled by it.
    """
    curves = [curve for curve in curves if curve]
    if not curves:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0))
    all_steps = np.concatenate([[step for step, _ in curve] for curve in curves])
    bins = max(1, min(max_bins, len(np.unique(all_steps))))
    edges = np.linspace(0, all_steps.max(), bins + 1)
    matrix = np.full((len(curves), bins), np.nan)  # [runs, bins]
    for row, curve in enumerate(curves):
        steps, values = np.array(curve, dtype=float).T
        index = np.clip(np.searchsorted(edges, steps, side="left") - 1, 0, bins - 1)
        counts = np.bincount(index, minlength=bins)
        sums = np.bincount(index, weights=values, minlength=bins)
        matrix[row, counts > 0] = sums[counts > 0] / counts[counts > 0]
    return np.rint(edges[1:]).astype(np.int64), matrix


@dataclasses.dataclass(frozen=True)
class Band:
    """Per-step statistics over runs: mean, its confidence band, min, max and every run."""

    steps: np.ndarray  # [steps]
    mean: np.ndarray  # [steps], over the runs that have a value at the step
    low: np.ndarray  # bootstrap band of the mean, inside [minimum, maximum]; NaN under two runs
    high: np.ndarray
    minimum: np.ndarray
    maximum: np.ndarray
    runs: np.ndarray  # [runs, steps]; NaN where a run has no value

    @property
    def counts(self) -> np.ndarray:
        """Runs with a value at each step."""
        return np.sum(~np.isnan(self.runs), axis=0)


def band(steps: np.ndarray, matrix: np.ndarray, confidence: float = CONFIDENCE) -> Band:
    """Statistics of each column of ``matrix`` ([runs, steps]) over the runs that have a value."""
    keep = ~np.all(np.isnan(matrix), axis=0) if matrix.size else np.zeros(0, dtype=bool)
    steps, matrix = steps[keep], matrix[:, keep]
    if not matrix.size:
        empty = np.zeros(0)
        return Band(steps, empty, empty, empty, empty, empty, matrix)
    mean = np.nanmean(matrix, axis=0)
    minimum, maximum = np.nanmin(matrix, axis=0), np.nanmax(matrix, axis=0)
    low, high = bootstrap_mean_curve(matrix, confidence)
    # The bootstrap means cannot leave the observed range; the clip states it for the reader.
    low, high = np.clip(low, minimum, maximum), np.clip(high, minimum, maximum)
    return Band(steps, mean, low, high, minimum, maximum, matrix)


def group_bands(group: Group) -> dict[str, Band]:
    """Eval curves interpolated onto a common grid, training returns binned, for one group."""
    scalars = [read_scalars(run.path) for run in group.runs]
    eval_curves = [run_scalars.get(CURVE_TAG, []) for run_scalars in scalars]
    train_curves = [run_scalars.get(BINNED_TAG, []) for run_scalars in scalars]
    return {
        CURVE_TAG: band(*align_curves(eval_curves)),
        BINNED_TAG: band(*bin_curves(train_curves)),
    }
