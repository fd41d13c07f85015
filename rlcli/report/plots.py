"""report.png: each group's learning curve over env steps."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from rlcli.report.curves import CURVE_TAG, Band
from rlcli.report.runs import Group
from rlcli.report.seed_statistics import CONFIDENCE


def _shorten(text: str, max_length: int = 60) -> str:
    return text if len(text) <= max_length else text[: max_length - 3] + "..."


def plot_learning_curves(
    groups: Sequence[Group], bands: Sequence[Band], path: Path, threshold: float | None = None
) -> None:
    """PNG of each group's mean evaluation return over env steps with its confidence band."""
    from matplotlib.figure import Figure  # deferred: ~0.5 s to import, only needed here

    labels = [f"{_shorten(group.name)} (n={len(group.runs)})" for group in groups]
    columns = 2 if max(map(len, labels), default=0) <= 40 else 1
    legend_rows = math.ceil((len(labels) + (threshold is not None)) / columns)
    figure = Figure(figsize=(8, 4.5 + 0.25 * legend_rows), dpi=110, layout="constrained")
    axes = figure.subplots()
    for label, curve in zip(labels, bands, strict=True):
        (line,) = axes.plot(curve.steps, curve.mean, label=label)
        axes.fill_between(curve.steps, curve.low, curve.high, color=line.get_color(), alpha=0.2)
    if threshold is not None:
        axes.axhline(threshold, color="grey", linestyle="--", linewidth=1, label="solved")
    axes.set_xlabel("env steps")
    axes.set_ylabel(CURVE_TAG)
    axes.set_title(f"{CURVE_TAG}: mean over seeds, {CONFIDENCE:.0%} confidence band")
    axes.grid(alpha=0.3)
    figure.legend(loc="outside lower center", ncols=columns, fontsize="small")
    figure.savefig(path)
