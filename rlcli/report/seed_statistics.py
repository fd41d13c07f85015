"""Statistics over seeds: Student-t confidence intervals and the interquartile mean."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from statistics import NormalDist

import numpy as np

CONFIDENCE = 0.95
EXACT_T_MAX_DF = 200  # above this the Cornish-Fisher expansion is accurate to ~1e-10


def _t_central_probability(t: float, degrees_of_freedom: int) -> float:
    """P(|T| <= t) for Student's t, integer degrees of freedom (Abramowitz & Stegun 26.7.3-4)."""
    theta = math.atan(t / math.sqrt(degrees_of_freedom))
    cos_squared = math.cos(theta) ** 2
    term = total = 1.0
    if degrees_of_freedom % 2 == 0:
        for k in range(2, degrees_of_freedom, 2):
            term *= (k - 1) / k * cos_squared
            total += term
        return math.sin(theta) * total
    for k in range(3, degrees_of_freedom, 2):
        term *= (k - 1) / k * cos_squared
        total += term
    series = 0.0 if degrees_of_freedom == 1 else math.sin(theta) * math.cos(theta) * total
    return 2 / math.pi * (theta + series)


def _t_quantile_cornish_fisher(probability: float, degrees_of_freedom: int) -> float:
    """Large-df expansion of the t quantile around the normal one (Abramowitz & Stegun 26.7.5)."""
    z = NormalDist().inv_cdf(probability)
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    nu = degrees_of_freedom
    return z + g1 / nu + g2 / nu**2 + g3 / nu**3 + g4 / nu**4


def student_t_quantile(probability: float, degrees_of_freedom: int) -> float:
    """The ``probability`` quantile of Student's t distribution with integer degrees of freedom."""
    if not 0 < probability < 1:
        raise ValueError(f"probability={probability} must be in (0, 1)")
    if int(degrees_of_freedom) != degrees_of_freedom or degrees_of_freedom < 1:
        raise ValueError(f"degrees_of_freedom={degrees_of_freedom} must be an integer >= 1")
    nu = int(degrees_of_freedom)
    if probability < 0.5:
        return -student_t_quantile(1 - probability, nu)
    if nu > EXACT_T_MAX_DF:
        return _t_quantile_cornish_fisher(probability, nu)
    target = 2 * probability - 1  # P(|T| <= t) at the quantile
    low, high = 0.0, 1.0
    while _t_central_probability(high, nu) < target:
        low, high = high, 2 * high
    for _ in range(200):  # bisection on the exact CDF, down to adjacent floats
        middle = (low + high) / 2
        if middle in (low, high):
            break
        low, high = (middle, high) if _t_central_probability(middle, nu) < target else (low, middle)
    return (low + high) / 2


def interquartile_mean(values: Sequence[float]) -> float:
    """Mean of the middle 50% of the values; boundary values count with fractional weight."""
    ordered = np.sort(np.asarray(values, dtype=float))
    count = len(ordered)
    if count == 0:
        return math.nan
    # Value i covers [i/n, (i+1)/n] of the distribution; keep its overlap with [0.25, 0.75].
    starts = np.arange(count) / count
    weights = np.clip(np.minimum(starts + 1 / count, 0.75) - np.maximum(starts, 0.25), 0, None)
    return float(np.sum(weights * ordered) / np.sum(weights))


@dataclasses.dataclass(frozen=True)
class Statistics:
    """Summary of one number over the runs of a group (e.g. the final evaluation return)."""

    runs: int
    mean: float
    std: float  # sample standard deviation (n - 1); NaN for one run
    ci_low: float  # Student-t confidence interval of the mean; NaN for one run
    ci_high: float
    iqm: float


def confidence_half_width(std: float, count: int, confidence: float = CONFIDENCE) -> float:
    """Half width of the Student-t confidence interval of a mean of ``count`` values."""
    if count < 2 or not math.isfinite(std):
        return math.nan
    return student_t_quantile(0.5 + confidence / 2, count - 1) * std / math.sqrt(count)


def summarize(values: Sequence[float], confidence: float = CONFIDENCE) -> Statistics:
    """Mean, sample std, Student-t confidence interval and IQM of ``values``."""
    count = len(values)
    mean = float(np.mean(values)) if count else math.nan
    std = float(np.std(values, ddof=1)) if count > 1 else math.nan
    half_width = confidence_half_width(std, count, confidence)
    iqm = interquartile_mean(values)
    return Statistics(count, mean, std, mean - half_width, mean + half_width, iqm)
