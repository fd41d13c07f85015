"""report.png: each group's evaluation return over env steps, one panel per env."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rlcli.report.curves import CURVE_TAG, Band
from rlcli.report.runs import Group, group_env, group_threshold
from rlcli.report.seed_statistics import CONFIDENCE

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PANEL_SIZE = (7.0, 4.2)  # inches per env panel
MAX_COLUMNS = 2


def _shorten(text: str, max_length: int = 60) -> str:
    return text if len(text) <= max_length else text[: max_length - 3] + "..."


def learning_curve_figure(groups: Sequence[Group], bands: Sequence[Band]) -> Figure:
    """Per env: each group's mean over seeds (thick) with its bootstrap band, every seed (thin),
    n in the legend and the env's solved threshold (dashed)."""
    from matplotlib.figure import Figure  # deferred: ~0.5 s to import, only needed here

    envs = list(dict.fromkeys(group_env(group) for group in groups))  # in group order
    columns = min(MAX_COLUMNS, len(envs))
    rows = math.ceil(len(envs) / columns)
    labels = [f"{_shorten(group.name)} (n={len(group.runs)})" for group in groups]
    legend_columns = 2 if max(map(len, labels), default=0) <= 40 else 1
    legend_rows = math.ceil((len(labels) + len(envs)) / legend_columns)
    size = (PANEL_SIZE[0] * columns, PANEL_SIZE[1] * rows + 0.25 * legend_rows + 0.3)
    figure = Figure(figsize=size, dpi=110, layout="constrained")
    panels = figure.subplots(rows, columns, squeeze=False).flatten()
    for env, axes in zip(envs, panels, strict=False):
        members = [i for i, group in enumerate(groups) if group_env(group) == env]
        for index in members:
            _draw_group(axes, bands[index], labels[index], f"C{index % 10}")
        threshold = group_threshold(groups[members[0]])
        if threshold is not None:
            axes.axhline(
                threshold, color="grey", linestyle="--", linewidth=1,
                label=f"solved: {env} ({threshold:g})",
            )  # fmt: skip
        axes.set_title(f"{env}: {CURVE_TAG}")
        axes.set_xlabel("env steps")
        axes.set_ylabel("evaluation return")
        axes.grid(alpha=0.3)
    for axes in panels[len(envs) :]:
        axes.set_visible(False)
    figure.suptitle(
        f"mean over seeds with its {CONFIDENCE:.0%} bootstrap band; thin lines: single seeds",
        fontsize="medium",
    )
    figure.legend(loc="outside lower center", ncols=legend_columns, fontsize="small")
    return figure


def _draw_group(axes: object, curve: Band, label: str, color: str) -> None:
    for run in curve.runs:
        axes.plot(curve.steps, run, color=color, linewidth=0.7, alpha=0.35)
    axes.plot(curve.steps, curve.mean, color=color, linewidth=2.0, label=label)
    axes.fill_between(curve.steps, curve.low, curve.high, color=color, alpha=0.2, linewidth=0)


def plot_learning_curves(groups: Sequence[Group], bands: Sequence[Band], path: Path) -> None:
    """Write ``learning_curve_figure`` as a PNG."""
    learning_curve_figure(groups, bands).savefig(path)
