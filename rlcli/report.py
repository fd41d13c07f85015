"""``rlcli report``: seed-aggregated tables, learning curves and TensorBoard runs for a sweep."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import logging
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from rlcli.errors import UserError
from rlcli.seed_statistics import CONFIDENCE, confidence_half_width, summarize

log = logging.getLogger("rlcli")

CURVE_TAG = "eval/mean_return"
BINNED_TAG = "charts/episodic_return"
MAX_BINS = 100
USAGE = "usage: rlcli report <sweep dir or run dirs...> [out=<dir>]"

Curve = list[tuple[int, float]]


# --- runs and groups -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Run:
    """One finished run directory: its overrides (seed and hydra.* left out) and summary.json."""

    path: Path
    overrides: tuple[str, ...]
    summary: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Group:
    """Runs that differ only in their seed."""

    name: str
    overrides: tuple[str, ...]
    runs: tuple[Run, ...]


def _override_key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def is_grouping_override(override: str) -> bool:
    """Whether an override tells groups apart: everything but ``seed=`` and ``hydra.*``."""
    key = _override_key(override)
    return key != "seed" and key != "hydra" and not key.startswith(("hydra.", "hydra/"))


def is_run_dir(path: Path) -> bool:
    """A run directory holds ``.hydra/overrides.yaml`` (and ``summary.json`` once finished)."""
    return (path / ".hydra" / "overrides.yaml").is_file()


def find_run_dirs(paths: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """Finished and unfinished run directories at or below ``paths``."""
    found: set[Path] = set()
    for path in paths:
        if not path.exists():
            raise UserError(f"{str(path)!r} does not exist; pass a sweep or run directory")
        if is_run_dir(path):
            found.add(path)
        elif path.is_dir():
            found.update(p.parent.parent for p in path.rglob(".hydra/overrides.yaml"))
    finished = sorted(p for p in found if (p / "summary.json").is_file())
    unfinished = sorted(found.difference(finished))
    return finished, unfinished


def load_run(path: Path) -> Run:
    """Read a run directory's overrides and summary."""
    overrides = OmegaConf.to_container(OmegaConf.load(path / ".hydra" / "overrides.yaml"))
    try:
        summary = json.loads((path / "summary.json").read_text())
    except json.JSONDecodeError as error:
        raise UserError(f"{str(path / 'summary.json')!r} is not valid JSON: {error}") from None
    kept = tuple(sorted(str(o) for o in overrides or [] if is_grouping_override(str(o))))
    return Run(path, kept, summary)


def _slug(name: str, max_length: int = 80) -> str:
    """A file-name-safe form of ``name``; long names are cut and end in a short hash."""
    slug = re.sub(r"[^A-Za-z0-9._=,+\-\[\]]", "_", name)
    if len(slug) <= max_length:
        return slug
    return f"{slug[: max_length - 9]}~{hashlib.sha1(name.encode()).hexdigest()[:8]}"


def group_runs(runs: Sequence[Run]) -> list[Group]:
    """Group runs by their overrides minus the seed; a group is named by what sets it apart."""
    by_overrides: dict[tuple[str, ...], list[Run]] = {}
    for run in runs:
        by_overrides.setdefault(run.overrides, []).append(run)
    common = set.intersection(*(set(key) for key in by_overrides)) if by_overrides else set()
    groups = []
    for overrides, members in sorted(by_overrides.items()):
        distinct = [o for o in overrides if o not in common]
        first = members[0].summary
        name = ",".join(distinct) or f"{first.get('algo')}_{_slug(str(first.get('env_id')))}"
        ordered = sorted(members, key=lambda run: (run.summary.get("seed", 0), str(run.path)))
        groups.append(Group(name, overrides, tuple(ordered)))
    return groups


def common_overrides(groups: Sequence[Group]) -> list[str]:
    """Overrides shared by every group (what the report's title states once)."""
    shared = set.intersection(*(set(group.overrides) for group in groups)) if groups else set()
    return sorted(shared)


# --- curves --------------------------------------------------------------------------------------


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
    """Per-step statistics over runs: mean, min, max and the confidence band of the mean."""

    steps: np.ndarray  # [steps]
    mean: np.ndarray
    low: np.ndarray  # confidence band; NaN where fewer than two runs have a value
    high: np.ndarray
    minimum: np.ndarray
    maximum: np.ndarray


def band(steps: np.ndarray, matrix: np.ndarray, confidence: float = CONFIDENCE) -> Band:
    """Statistics of each column of ``matrix`` ([runs, steps]) over the runs that have a value."""
    keep = ~np.all(np.isnan(matrix), axis=0) if matrix.size else np.zeros(0, dtype=bool)
    steps, matrix = steps[keep], matrix[:, keep]
    counts = np.sum(~np.isnan(matrix), axis=0)
    mean = np.nanmean(matrix, axis=0) if matrix.size else np.zeros(0)
    half = np.full(len(steps), np.nan)
    for column in np.flatnonzero(counts >= 2):
        std = float(np.nanstd(matrix[:, column], ddof=1))
        half[column] = confidence_half_width(std, int(counts[column]), confidence)
    minimum = np.nanmin(matrix, axis=0) if matrix.size else np.zeros(0)
    maximum = np.nanmax(matrix, axis=0) if matrix.size else np.zeros(0)
    return Band(steps, mean, mean - half, mean + half, minimum, maximum)


def group_bands(group: Group) -> dict[str, Band]:
    """Eval curves interpolated onto a common grid, training returns binned, for one group."""
    scalars = [read_scalars(run.path) for run in group.runs]
    eval_curves = [run_scalars.get(CURVE_TAG, []) for run_scalars in scalars]
    train_curves = [run_scalars.get(BINNED_TAG, []) for run_scalars in scalars]
    return {
        CURVE_TAG: band(*align_curves(eval_curves)),
        BINNED_TAG: band(*bin_curves(train_curves)),
    }


# --- outputs -------------------------------------------------------------------------------------

CSV_COLUMNS = [
    "group",
    "overrides",
    "runs",
    "seeds",
    "final_eval_mean",
    "final_eval_std",
    "ci95_low",
    "ci95_high",
    "iqm",
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
        "overrides": " ".join(group.overrides),
        "runs": stats.runs,
        "seeds": " ".join(str(s.get("seed")) for s in summaries),
        "final_eval_mean": stats.mean,
        "final_eval_std": stats.std,
        "ci95_low": stats.ci_low,
        "ci95_high": stats.ci_high,
        "iqm": stats.iqm,
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
    "| group | runs | final eval mean | std | 95% CI | IQM | per seed | steps | wall s | solved |\n"
    "|---|---|---|---|---|---|---|---|---|---|\n"
)


def markdown_table(rows: Sequence[dict[str, Any]]) -> str:
    """The report rows as a markdown table."""
    lines = []
    for row in rows:
        interval = (
            "-"
            if math.isnan(row["ci95_low"])
            else f"[{_number(row['ci95_low'])}, {_number(row['ci95_high'])}]"
        )
        per_seed = ", ".join(f"{float(v):.0f}" for v in row["final_eval_per_run"].split())
        solved = f"{round(row['solved_fraction'] * row['runs'])}/{row['runs']}"
        cells = [
            f"`{row['group']}`",
            str(row["runs"]),
            _number(row["final_eval_mean"]),
            _number(row["final_eval_std"]),
            interval,
            _number(row["iqm"]),
            per_seed,
            f"{round(row['steps']):,}",
            _number(row["wall_seconds"]),
            solved,
        ]
        lines.append("| " + " | ".join(cells) + " |\n")
    return MARKDOWN_HEADER + "".join(lines)


def markdown_report(
    rows: Sequence[dict[str, Any]], common: Sequence[str], unfinished: Sequence[Path]
) -> str:
    """The whole report.md: what was aggregated, the table, the plot."""
    runs = sum(row["runs"] for row in rows)
    text = [
        "# Sweep report\n\n",
        f"{runs} runs in {len(rows)} groups (runs whose overrides differ only in `seed`).\n",
        f"Common overrides: `{' '.join(common)}`.\n\n" if common else "\n",
        "final eval: `final_eval_mean_return` of each run, averaged over the group's runs; std is\n"
        "the sample standard deviation; 95% CI is mean +- t(0.975, n-1) std / sqrt(n); IQM is\n"
        "the interquartile mean; solved: runs whose evaluation reached the env's threshold.\n\n",
        markdown_table(rows),
        "\n![learning curves: mean over seeds with a 95% CI band](report.png)\n",
    ]
    if unfinished:
        names = ", ".join(path.name for path in unfinished)
        text.append(f"\nLeft out (no summary.json: failed or unfinished): {names}\n")
    return "".join(text)


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


def _clear_aggregate_runs(tensorboard_dir: Path) -> None:
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


def _common_threshold(runs: Sequence[Run]) -> float | None:
    thresholds = {run.summary.get("reward_threshold") for run in runs}
    return thresholds.pop() if len(thresholds) == 1 else None


def make_report(paths: Sequence[Path], out_dir: Path | None = None) -> Path:
    """Write report.md, report.csv, report.png and tensorboard/<group>/ for runs under ``paths``.

    ``out_dir`` defaults to the sweep directory when one is given, else ``./report``.
    """
    finished, unfinished = find_run_dirs(paths)
    if not finished:
        where = ", ".join(str(path) for path in paths)
        raise UserError(f"no finished run directories (summary.json + .hydra/) under {where}")
    if out_dir is None:
        single_sweep = len(paths) == 1 and not is_run_dir(paths[0])
        out_dir = paths[0] if single_sweep else Path("report")
    out_dir.mkdir(parents=True, exist_ok=True)

    runs = [load_run(path) for path in finished]
    groups = group_runs(runs)
    rows = [group_row(group) for group in groups]
    write_csv(rows, out_dir / "report.csv")
    (out_dir / "report.md").write_text(markdown_report(rows, common_overrides(groups), unfinished))

    bands = [group_bands(group) for group in groups]
    plot_learning_curves(
        groups, [b[CURVE_TAG] for b in bands], out_dir / "report.png", _common_threshold(runs)
    )
    tensorboard_dir = out_dir / "tensorboard"
    _clear_aggregate_runs(tensorboard_dir)
    for group, group_band in zip(groups, bands, strict=True):
        write_aggregate_run(tensorboard_dir / _slug(group.name), group_band)
    return out_dir / "report.md"


def report_command(arguments: Sequence[str]) -> Path | None:
    """``rlcli report <paths...> [out=<dir>]``: write the report and print its table."""
    if any(argument in ("-h", "--help") for argument in arguments):
        print(USAGE)
        return None
    out_dir = None
    paths: list[Path] = []
    for argument in arguments:
        if argument.startswith("out="):
            out_dir = Path(argument.split("=", 1)[1])
        else:
            paths.append(Path(argument))
    if not paths:
        raise UserError(f"report needs a sweep directory or run directories; {USAGE}")
    report = make_report(paths, out_dir)
    lines = report.read_text().splitlines(keepends=True)
    print("".join(line for line in lines if line.startswith("|")))
    print(f"report: {report} (and report.csv, report.png, tensorboard/ beside it)")
    return report


# --- Hydra callback ------------------------------------------------------------------------------


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
        try:
            sweep_dir = self.sweep_dir or Path(str(config.hydra.sweep.dir))
            report = make_report([sweep_dir])
            log.info("sweep report: %s", report)
        except Exception as error:  # a report must never make a sweep fail
            log.warning("sweep report not written: %s: %s", type(error).__name__, error)
            log.debug("sweep report failure", exc_info=True)
