"""The report's rows: statistics of each group's final evaluations, as CSV and markdown."""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rlcli.report.runs import Group, group_env
from rlcli.report.seed_statistics import REPETITIONS, summarize

CSV_COLUMNS = [
    "group",
    "env_id",
    "overrides",
    "runs",
    "seeds",
    "final_eval_mean",
    "mean_ci95_low",
    "mean_ci95_high",
    "iqm",
    "iqm_ci95_low",
    "iqm_ci95_high",
    "final_eval_std",
    "steps",
    "wall_seconds",
    "solved_fraction",
    "final_eval_per_run",
]


def group_row(group: Group) -> dict[str, Any]:
    """One report row: statistics of the final evaluation return and the run facts of a group."""
    summaries = [run.summary for run in group.runs]
    finals = [float(s["final_eval_mean_return"]) for s in summaries]
    stats = summarize(finals)
    solved = sum(s.get("first_solved_step") is not None for s in summaries)
    return {
        "group": group.name,
        "env_id": group_env(group),
        "overrides": " ".join(group.overrides),
        "runs": stats.runs,
        "seeds": " ".join(str(s.get("seed")) for s in summaries),
        "final_eval_mean": stats.mean,
        "mean_ci95_low": stats.mean_ci[0],
        "mean_ci95_high": stats.mean_ci[1],
        "iqm": stats.iqm,
        "iqm_ci95_low": stats.iqm_ci[0],
        "iqm_ci95_high": stats.iqm_ci[1],
        "final_eval_std": stats.std,
        "steps": float(np.mean([s["global_step"] for s in summaries])),
        "wall_seconds": float(np.mean([s["wall_seconds"] for s in summaries])),
        "solved_fraction": solved / stats.runs,
        "final_eval_per_run": " ".join(f"{value:g}" for value in finals),
    }


def write_csv(rows: Sequence[dict[str, Any]], path: Path) -> None:
    """The report rows as CSV, full precision (empty cells for undefined statistics)."""
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {k: "" if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
            )


def _number(value: float, digits: int = 1) -> str:
    return "-" if math.isnan(value) else f"{value:.{digits}f}"


MARKDOWN_HEADER = (
    "| group | runs | final eval mean | 95% CI | IQM | 95% CI | std | per seed | steps | wall s "
    "| solved |\n|---|---|---|---|---|---|---|---|---|---|---|\n"
)


def _interval(low: float, high: float) -> str:
    return "-" if math.isnan(low) else f"[{_number(low)}, {_number(high)}]"


def markdown_table(rows: Sequence[dict[str, Any]]) -> str:
    """The report rows as a markdown table."""
    lines = []
    for row in rows:
        per_seed = ", ".join(f"{float(v):.0f}" for v in row["final_eval_per_run"].split())
        solved = f"{round(row['solved_fraction'] * row['runs'])}/{row['runs']}"
        cells = [
            f"`{row['group']}`",
            str(row["runs"]),
            _number(row["final_eval_mean"]),
            _interval(row["mean_ci95_low"], row["mean_ci95_high"]),
            _number(row["iqm"]),
            _interval(row["iqm_ci95_low"], row["iqm_ci95_high"]),
            _number(row["final_eval_std"]),
            per_seed,
            f"{round(row['steps']):,}",
            _number(row["wall_seconds"]),
            solved,
        ]
        lines.append("| " + " | ".join(cells) + " |\n")
    return MARKDOWN_HEADER + "".join(lines)


def markdown_report(
    rows: Sequence[dict[str, Any]],
    common: Sequence[str],
    unfinished: Sequence[Path],
    warning: str | None = None,
) -> str:
    """The whole report.md: what was aggregated, a warning about few seeds, the table, the plot."""
    runs = sum(row["runs"] for row in rows)
    text = [
        "# Sweep report\n\n",
        f"{runs} runs in {len(rows)} groups (runs whose overrides differ only in `seed`).\n",
        f"Common overrides: `{' '.join(common)}`.\n\n" if common else "\n",
        f"**Warning:** {warning}.\n\n" if warning else "",
        "final eval: `final_eval_mean_return` of each run, averaged over the group's runs; IQM is\n"
        "the interquartile mean (the middle half of the runs), robust to one outlying seed; each\n"
        "95% CI is a percentile bootstrap interval over the runs "
        f"({REPETITIONS:,} resamples, seeded;\n"
        "rliable, Agarwal et al. 2021), so it stays inside the observed values; std is the sample\n"
        "standard deviation; solved: runs whose evaluation reached the env's threshold.\n\n",
        markdown_table(rows),
        "\n![learning curves: mean over seeds, 95% bootstrap band, each seed thin](report.png)\n",
    ]
    if unfinished:
        names = ", ".join(path.name for path in unfinished)
        text.append(f"\nLeft out (no summary.json: failed or unfinished): {names}\n")
    return "".join(text)
