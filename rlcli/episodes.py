"""Finished training episodes: their TensorBoard points, the running return, a console line every
few episodes, and the reward-per-episode plot a run writes at its end (rewards.png)."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rlcli.metrics import MetricsWriter
from rlcli.records import Counters
from rlcli.rollout import Episode

log = logging.getLogger("rlcli")

RECENT_EPISODES = 20  # the console's "return" is the mean of this many latest episodes


def running_average(previous: float | None, value: float, weight: float) -> float:
    """Exponential average: ``weight * value + (1 - weight) * previous``; the first value is its
    own average (no made-up starting value)."""
    return value if previous is None else weight * value + (1.0 - weight) * previous


def running_averages(values: Sequence[float], weight: float) -> np.ndarray:
    """The running average after each value."""
    averages, average = np.empty(len(values)), None
    for index, value in enumerate(values):
        averages[index] = average = running_average(average, value, weight)
    return averages


class TrainingEpisodes:
    """Records each finished training episode into the run's counters (so a resume continues the
    running return and the plot) and TensorBoard."""

    def __init__(
        self, counters: Counters, metrics: MetricsWriter, weight: float, log_every: int = 0
    ) -> None:
        """``weight``: of each episode in the running return; ``log_every``: episodes between
        console lines (0: none)."""
        self.counters = counters
        self.metrics = metrics
        self.weight = weight
        self.log_every = log_every
        self.recent: deque[float] = deque(maxlen=RECENT_EPISODES)

    def record(self, episode: Episode) -> None:
        """Fold one finished episode into the running return and log it."""
        counters = self.counters
        counters.running_return = running_average(
            counters.running_return, episode.episode_return, self.weight
        )
        counters.episode_returns.append(episode.episode_return)
        self.recent.append(episode.episode_return)
        scalars = {
            "charts/episodic_return": episode.episode_return,
            "charts/episodic_length": episode.length,
            "charts/running_return": counters.running_return,
        }
        self.metrics.scalars(scalars, episode.global_step)
        count = len(counters.episode_returns)
        if self.log_every and count % self.log_every == 0:
            log.info(
                "episode %d  step %s  return %.1f  running return %.1f",
                count,
                f"{episode.global_step:,}",
                episode.episode_return,
                counters.running_return,
            )

    def recent_mean(self) -> float | None:
        """Mean return of the latest episodes (None before the first)."""
        return float(np.mean(self.recent)) if self.recent else None

    def running_return_solved(self, threshold: float | None) -> bool:
        """Whether the running return is above ``threshold`` (the classic REINFORCE stop); when it
        is, the log says so."""
        counters = self.counters
        running = counters.running_return
        if threshold is None or running is None or running <= threshold:
            return False
        log.info(
            "running return %.1f > %g after %d episodes at step %s: solved, stopping",
            running,
            threshold,
            len(counters.episode_returns),
            f"{counters.global_step:,}",
        )
        return True

    def plot(self, path: Path, threshold: float | None, title: str) -> None:
        """rewards.png: each episode's return and the running return over episodes."""
        from matplotlib.figure import Figure  # deferred: ~0.5 s to import, only at the end

        returns = self.counters.episode_returns
        episodes = np.arange(1, len(returns) + 1)
        figure = Figure(figsize=(7, 4), dpi=100, layout="constrained")
        axes = figure.subplots()
        axes.plot(episodes, returns, linewidth=0.6, alpha=0.5, label="episode return")
        running = running_averages(returns, self.weight)
        axes.plot(episodes, running, linewidth=2, label=f"running return (weight {self.weight:g})")
        if threshold is not None:
            axes.axhline(threshold, color="grey", linestyle="--", linewidth=1, label="solved")
        axes.set_xlabel("training episodes")
        axes.set_ylabel("return")
        axes.set_title(title)
        axes.grid(alpha=0.3)
        if len(returns):
            axes.legend(fontsize="small")
        figure.savefig(path)
