"""``rlcli report <paths...> [out=<dir>]``: every output of a report, written from run dirs."""

from __future__ import annotations

import dataclasses
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from rlcli.arguments import parse_paths_and_options
from rlcli.errors import UserError
from rlcli.names import slug
from rlcli.report.curves import CURVE_TAG, group_bands
from rlcli.report.plots import plot_learning_curves
from rlcli.report.runs import common_overrides, find_run_dirs, group_runs, is_run_dir, load_run
from rlcli.report.seed_statistics import few_seeds_warning
from rlcli.report.tables import group_row, markdown_report, write_csv
from rlcli.report.tensorboard_runs import clear_aggregate_runs, write_aggregate_run

log = logging.getLogger("rlcli")

USAGE = "usage: rlcli report <sweep dir or run dirs...> [out=<dir>]"
GROUP_DIR_MAX_LENGTH = 80  # tensorboard/<group>/: long override lists are cut and hashed


@dataclasses.dataclass(frozen=True)
class Report:
    """Where a report was written, and what its reader should be warned of."""

    markdown: Path  # report.md; report.csv, report.png and tensorboard/ are beside it
    warning: str | None  # e.g. too few seeds for the intervals to mean much


def make_report(paths: Sequence[Path], out_dir: Path | None = None) -> Report:
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
    warning = few_seeds_warning({group.name: len(group.runs) for group in groups})
    write_csv(rows, out_dir / "report.csv")
    markdown = markdown_report(rows, common_overrides(groups), unfinished, warning)
    (out_dir / "report.md").write_text(markdown)

    bands = [group_bands(group) for group in groups]
    plot_learning_curves(groups, [b[CURVE_TAG] for b in bands], out_dir / "report.png")
    tensorboard_dir = out_dir / "tensorboard"
    clear_aggregate_runs(tensorboard_dir)
    for group, group_band in zip(groups, bands, strict=True):
        write_aggregate_run(tensorboard_dir / slug(group.name, GROUP_DIR_MAX_LENGTH), group_band)
    return Report(out_dir / "report.md", warning)


def report_command(arguments: Sequence[str]) -> Path | None:
    """``rlcli report <paths...> [out=<dir>]``: write the report and print its table."""
    if any(argument in ("-h", "--help") for argument in arguments):
        print(USAGE)
        return None
    paths, options = parse_paths_and_options("report", list(arguments), {"out": Path})
    out_dir = options.get("out")
    if not paths:
        raise UserError(f"report needs a sweep directory or run directories; {USAGE}")
    report = make_report(paths, out_dir)
    lines = report.markdown.read_text().splitlines(keepends=True)
    print("".join(line for line in lines if line.startswith("|")))
    if report.warning:
        print(f"rlcli: warning: {report.warning}", file=sys.stderr)
    print(f"report: {report.markdown} (and report.csv, report.png, tensorboard/ beside it)")
    return report.markdown
