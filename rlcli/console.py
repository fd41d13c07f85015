"""A run's console output and its train.log: the start line, progress, evaluations, the end.

The console shows a live line on a terminal (``progress=bar``), periodic log lines otherwise
(``log``), or nothing (``none``); train.log always holds the whole log of the run.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from rlcli.records import RunSummary

log = logging.getLogger("rlcli")
file_log = logging.getLogger("rlcli.file")  # lines for train.log only
file_log.propagate = False
LOG_FORMAT = "[%(asctime)s] %(message)s"


def progress_line(
    step: int, total_steps: int, sps: float, recent_return: float | None, eval_return: float | None
) -> str:
    """``step 4,096/100,000 (4.1%)  3,210 SPS  return 23.5  eval 31.0``."""
    recent = "-" if recent_return is None else f"{recent_return:.1f}"
    evaluated = "-" if eval_return is None else f"{eval_return:.1f}"
    percent = 100.0 * step / max(total_steps, 1)
    return (
        f"step {step:>9,}/{total_steps:,} ({percent:5.1f}%)  {sps:8,.0f} SPS  "
        f"return {recent:>8}  eval {evaluated:>8}"
    )


def shown_path(path: Path) -> str:
    """``path`` relative to the working directory when it lies inside it (shorter to copy)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _threshold_text(threshold: float | None, spec_threshold: float | None, env_id: str) -> str:
    if threshold is None:
        return f"{env_id} has no reward threshold (set one with env.reward_threshold=...)"
    if spec_threshold is None:
        return f"threshold {threshold:g} (env.reward_threshold)"
    if threshold != spec_threshold:
        return f"threshold {threshold:g} set by the preset; gymnasium's is {spec_threshold:g}"
    return f"gymnasium's threshold {threshold:g}"


def end_of_run_summary(
    summary: RunSummary, run_dir: Path, total_steps: int, spec_threshold: float | None
) -> str:
    """What a finished run says last: solved or not, evaluations, time, where, what next."""
    threshold = summary.reward_threshold
    about = _threshold_text(threshold, spec_threshold, summary.env_id)
    name = f"{summary.algo} on {summary.env_id} (seed {summary.seed})"
    if summary.first_solved_step is not None:
        stopped = " and stopped there" if summary.global_step < total_steps else ""
        verdict = f"solved at step {summary.first_solved_step:,}{stopped} ({about})"
    elif threshold is not None:
        verdict = f"not solved: no evaluation reached {threshold:g} ({about})"
    else:
        verdict = f"finished ({about})"
    best = summary.best_eval_mean_return
    best_text = "" if best is None else f", best {best:.1f}"
    episodes = len(summary.final_eval_returns)
    where = shown_path(run_dir)
    return "\n".join(
        [
            f"done: {name} {verdict}",
            f"  final eval {summary.final_eval_mean_return:.1f} +- "
            f"{summary.final_eval_std_return:.1f} over {episodes} episodes{best_text}; "
            f"{summary.global_step:,} of {total_steps:,} steps in {summary.wall_seconds:.1f} s",
            f"  run directory: {where}",
            f"  next: rlcli eval {where} video=true",
            f"        tensorboard --logdir {where}",
            f"        rlcli report {where}",
        ]
    )


class RunLog:
    """The console and train.log of one run (attached to the ``rlcli`` logger while it runs)."""

    def __init__(
        self,
        run_dir: Path,
        total_steps: int,
        mode: str = "auto",
        log_every_seconds: float = 10.0,
    ) -> None:
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "log"
        self.mode = mode
        self.run_dir = run_dir
        self.total_steps = total_steps
        self.log_every_seconds = log_every_seconds
        self._last_bar = self._last_line = -float("inf")
        self._handlers: list[tuple[logging.Logger, logging.Handler]] = []
        self._level: int | None = None

    def open(self) -> None:
        """Start writing train.log (appending: a resumed run continues its log)."""
        if self._handlers:
            return
        file_handler = logging.FileHandler(self.run_dir / "train.log", encoding="utf-8")
        file_handler.setFormatter(logging.Formatter(LOG_FORMAT))
        self._handlers = [(log, file_handler), (file_log, file_handler)]
        if self.mode != "none" and not log.hasHandlers():  # the Python API: no logging set up
            console = logging.StreamHandler(sys.stderr)
            console.setFormatter(logging.Formatter("%(message)s"))
            self._handlers.append((log, console))
        for logger, handler in self._handlers:
            logger.addHandler(handler)
        self._level = log.level
        log.setLevel(logging.INFO)
        file_log.setLevel(logging.INFO)

    def close(self) -> None:
        """End the live line and stop writing train.log."""
        if self.mode == "bar" and self._last_bar > -float("inf"):
            sys.stderr.write("\n")
            sys.stderr.flush()
            self._last_bar = -float("inf")
        for logger, handler in self._handlers:
            logger.removeHandler(handler)
            handler.close()
        self._handlers = []
        if self._level is not None:
            log.setLevel(self._level)

    def info(self, message: str, console: bool = True) -> None:
        """A line for train.log, and for the console unless ``progress=none``."""
        if console and self.mode != "none":
            if self.mode == "bar" and self._last_bar > -float("inf"):
                sys.stderr.write("\n")  # below the live line, which is drawn again later
                self._last_bar = -float("inf")
            log.info(message)
        else:
            file_log.info(message)

    def progress(
        self,
        step: int,
        sps: float,
        recent_return: float | None,
        eval_return: float | None,
        force: bool = False,
    ) -> None:
        """The progress line: live on a terminal, every ``log_every_seconds`` in the log."""
        now = time.monotonic()
        line = progress_line(step, self.total_steps, sps, recent_return, eval_return)
        if self.mode == "bar" and (force or now - self._last_bar >= 0.1):
            sys.stderr.write("\r" + line)
            sys.stderr.flush()
            self._last_bar = now
        if force or now - self._last_line >= self.log_every_seconds:
            self._last_line = now
            (log if self.mode == "log" else file_log).info(line)

    def evaluation(self, step: int, mean: float, std: float, best: float | None) -> None:
        """One evaluation: in the log (the live line shows it on a terminal)."""
        best_text = "" if best is None else f" (best {best:.1f})"
        self.info(f"eval at step {step:,}: {mean:.1f} +- {std:.1f}{best_text}", self.mode == "log")
