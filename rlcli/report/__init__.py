"""``rlcli report``: seed-aggregated tables, learning curves and TensorBoard runs for a sweep.

runs (find and group run directories) -> curves (their TensorBoard scalars on a common grid) ->
tables (report.csv, report.md), plots (report.png), tensorboard_runs (tensorboard/<group>/);
command ties them together. The statistics over seeds are in seed_statistics.
"""

from rlcli.report.command import make_report, report_command

__all__ = ["make_report", "report_command"]
