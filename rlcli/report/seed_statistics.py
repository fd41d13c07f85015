"""Statistics over seeds that behave with few runs: the interquartile mean (IQM) and stratified
bootstrap confidence intervals of the IQM and the mean, as rliable recommends (Agarwal et al. 2021,
"Deep RL at the Edge of the Statistical Precipice").

A Student-t interval assumes normal returns and, with two seeds, multiplies the spread by 12.7: on
CartPole (returns 0..500) it spanned -1,400..+1,900. A percentile bootstrap interval of the mean or
the IQM never leaves the range of the observed values. The resampling RNG is seeded, so a report is
the same every time it is written.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

import numpy as np

CONFIDENCE = 0.95
REPETITIONS = 2_000  # bootstrap resamples: interval ends move by ~1% of the spread of seeds
BOOTSTRAP_SEED = 0
MIN_SEEDS = 5  # below this, a report warns that its intervals are rough

Statistic = Callable[[np.ndarray], np.ndarray]  # [resamples, values] -> [resamples]


def interquartile_mean(values: Sequence[float] | np.ndarray) -> float | np.ndarray:
    """Mean of the middle 50% of the values along the last axis; boundary values count with
    fractional weight (value i covers [i/n, (i+1)/n] of the distribution; [0.25, 0.75] is kept)."""
    ordered = np.sort(np.asarray(values, dtype=float), axis=-1)
    count = ordered.shape[-1]
    if count == 0:
        return math.nan
    starts = np.arange(count) / count
    weights = np.clip(np.minimum(starts + 1 / count, 0.75) - np.maximum(starts, 0.25), 0, None)
    result = ordered @ weights / weights.sum()
    return float(result) if np.ndim(result) == 0 else result


def _mean(values: np.ndarray) -> np.ndarray:
    return values.mean(axis=-1)


def stratified_bootstrap(
    scores: np.ndarray,
    statistic: Statistic,
    repetitions: int = REPETITIONS,
    seed: int = BOOTSTRAP_SEED,
) -> np.ndarray:
    """``statistic`` of ``repetitions`` resamples of ``scores`` ([runs] or [runs, tasks]): the runs
    of each task are drawn with replacement separately (so every task keeps its count of runs),
    then the statistic is taken over all the drawn scores."""
    scores = np.asarray(scores, dtype=float)
    scores = scores[:, None] if scores.ndim == 1 else scores  # [runs, tasks]
    runs, tasks = scores.shape
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, runs, size=(repetitions, runs, tasks))
    resampled = scores[picks, np.arange(tasks)]  # [repetitions, runs, tasks]
    return statistic(resampled.reshape(repetitions, runs * tasks))


def percentile_interval(
    estimates: np.ndarray, confidence: float = CONFIDENCE
) -> tuple[np.ndarray, np.ndarray]:
    """The central ``confidence`` interval of bootstrap estimates (along the first axis)."""
    tail = 100 * (1 - confidence) / 2
    low, high = np.nanpercentile(estimates, [tail, 100 - tail], axis=0)
    return low, high


def bootstrap_interval(
    values: Sequence[float], statistic: Statistic, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic`` over ``values``; NaN for fewer than two."""
    if len(values) < 2:
        return math.nan, math.nan
    low, high = percentile_interval(stratified_bootstrap(np.asarray(values), statistic), confidence)
    return float(low), float(high)


def bootstrap_mean_curve(
    matrix: np.ndarray,
    confidence: float = CONFIDENCE,
    repetitions: int = REPETITIONS,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap interval of the mean at each step of ``matrix`` ([runs, steps], NaN where a run
    has no value), over the runs present at that step; NaN where fewer than two are.

    Each resample draws runs (not points), as a curve's points are not independent; the draw is
    expressed as counts per run, so the cost is one [repetitions, runs] x [runs, steps] product.
    """
    runs, steps = matrix.shape
    present = ~np.isnan(matrix)
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(runs, np.full(runs, 1 / runs), size=repetitions).astype(float)
    sums = counts @ np.where(present, matrix, 0.0)  # [repetitions, steps]
    drawn = counts @ present  # runs drawn that have a value at each step
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(drawn > 0, sums / drawn, np.nan)
    low, high = np.full(steps, np.nan), np.full(steps, np.nan)
    enough = present.sum(axis=0) >= 2
    if enough.any():
        low[enough], high[enough] = percentile_interval(means[:, enough], confidence)
    return low, high


@dataclasses.dataclass(frozen=True)
class Statistics:
    """Summary of one number over the runs of a group (e.g. the final evaluation return)."""

    runs: int
    mean: float
    mean_ci: tuple[float, float]  # bootstrap interval; NaN for one run
    iqm: float
    iqm_ci: tuple[float, float]
    std: float  # sample standard deviation (n - 1); NaN for one run


def summarize(values: Sequence[float], confidence: float = CONFIDENCE) -> Statistics:
    """Mean and IQM of ``values`` with their bootstrap intervals, and the sample std."""
    count = len(values)
    return Statistics(
        runs=count,
        mean=float(np.mean(values)) if count else math.nan,
        mean_ci=bootstrap_interval(values, _mean, confidence),
        iqm=interquartile_mean(values),
        iqm_ci=bootstrap_interval(values, interquartile_mean, confidence),
        std=float(np.std(values, ddof=1)) if count > 1 else math.nan,
    )


def few_seeds_warning(group_sizes: dict[str, int], minimum: int = MIN_SEEDS) -> str | None:
    """One line naming the groups with fewer than ``minimum`` runs; None when there are none."""
    few = {name: runs for name, runs in group_sizes.items() if runs < minimum}
    if not few:
        return None
    named = ", ".join(f"{name} (n={runs})" for name, runs in few.items())
    return (
        f"fewer than {minimum} seeds in {len(few)} of {len(group_sizes)} groups: {named}; "
        "intervals from so few runs are rough, run more seeds before comparing groups"
    )
