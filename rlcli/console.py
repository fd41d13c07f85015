"""Console progress: a live line on a terminal, periodic log lines otherwise."""

from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger("rlcli")


class Progress:
    """Reports steps, SPS, recent training return and the last evaluation return."""

    def __init__(
        self, total_steps: int, mode: str = "auto", log_every_seconds: float = 10.0
    ) -> None:
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "log"
        self.mode = mode
        self.total_steps = total_steps
        self.log_every_seconds = log_every_seconds
        self._last_report = -float("inf")

    def update(
        self,
        step: int,
        sps: float,
        recent_return: float | None,
        eval_return: float | None,
        force: bool = False,
    ) -> None:
        """Show the current state (rate-limited unless ``force``)."""
        now = time.monotonic()
        interval = 0.1 if self.mode == "bar" else self.log_every_seconds
        if self.mode == "none" or (not force and now - self._last_report < interval):
            return
        self._last_report = now
        recent = "-" if recent_return is None else f"{recent_return:.1f}"
        evaluated = "-" if eval_return is None else f"{eval_return:.1f}"
        percent = 100.0 * step / max(self.total_steps, 1)
        line = (
            f"step {step:>9,}/{self.total_steps:,} ({percent:5.1f}%)  {sps:8,.0f} SPS  "
            f"return {recent:>8}  eval {evaluated:>8}"
        )
        if self.mode == "bar":
            sys.stderr.write("\r" + line)
            sys.stderr.flush()
        else:
            log.info(line)

    def close(self) -> None:
        """End the live line so later output starts on a fresh line."""
        if self.mode == "bar":
            sys.stderr.write("\n")
            sys.stderr.flush()
