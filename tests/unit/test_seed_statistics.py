"""Statistics over seeds on known small inputs: the IQM by hand, bootstrap intervals against their
exact distributions, and the few-seeds warning."""

import math

import numpy as np
import pytest

from rlcli.report.seed_statistics import (
    bootstrap_interval,
    bootstrap_mean_curve,
    few_seeds_warning,
    interquartile_mean,
    stratified_bootstrap,
    summarize,
)


def mean(values: np.ndarray) -> np.ndarray:
    return values.mean(axis=-1)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1, 3, 5, 7, 9, 11, 13, 15, 17], 9.0),  # n=9: 0.75*5 + 7 + 9 + 11 + 0.75*13 over 4.5
        ([100, 1, 8, 2, 4], 4.6),  # n=5: (0.75*2 + 4 + 0.75*8) / 2.5
        ([1, 2, 3, 100], 2.5),  # n=4: the middle two
        ([1, 3], 2.0),  # n=2: a quarter of each
        ([7], 7.0),
    ],
)
def test_interquartile_mean(values, expected):
    assert interquartile_mean(values) == pytest.approx(expected)


def test_interquartile_mean_of_each_row():
    rows = np.array([[1.0, 2.0, 3.0, 100.0], [100.0, 1.0, 8.0, 2.0]])
    np.testing.assert_allclose(interquartile_mean(rows), [2.5, 5.0])


def test_two_seeds_give_the_observed_range_not_a_t_interval():
    # Issue 12: on CartPole (returns 0..500) a Student-t 95% interval of two seeds, 300 +- 12.7 *
    # 283 / sqrt(2), spans -2,241..2,841. Resampling two runs gives means 100, 300, 500 with
    # probabilities 1/4, 1/2, 1/4: the central 95% is exactly the observed range.
    stats = summarize([100.0, 500.0])
    assert stats.runs == 2 and stats.mean == 300.0 and stats.iqm == 300.0
    assert stats.mean_ci == (100.0, 500.0) and stats.iqm_ci == (100.0, 500.0)
    assert stats.std == pytest.approx(math.sqrt(2) * 200)


def test_mean_interval_of_ten_seeds_matches_the_exact_bootstrap_quantiles():
    # The bootstrap mean of 0, 10, ..., 90 has 2.5% and 97.5% quantiles 27 and 63 (200,000
    # resamples agree to the unit); a t interval would be 45 +- 21.7, a normal one 45 +- 17.8.
    values = [10.0 * i for i in range(10)]
    assert bootstrap_interval(values, mean) == (27.0, 63.0)
    low, high = bootstrap_interval(values, interquartile_mean)
    assert 0.0 < low < 45.0 < high < 90.0
    assert bootstrap_interval(values, mean) == bootstrap_interval(values, mean), "seeded"


def test_one_run_has_no_interval():
    stats = summarize([5.0])
    assert stats.mean == 5.0 and stats.iqm == 5.0 and math.isnan(stats.std)
    assert all(math.isnan(end) for end in (*stats.mean_ci, *stats.iqm_ci))


def test_stratified_bootstrap_resamples_runs_within_each_task():
    # Two tasks on different scales: every resample keeps two scores of each task.
    scores = np.array([[0.0, 100.0], [10.0, 200.0]])  # [runs, tasks]
    large = stratified_bootstrap(scores, lambda drawn: (drawn >= 100).sum(axis=-1))
    assert set(large.tolist()) == {2}
    first_task = stratified_bootstrap(scores[:, :1], mean)
    assert set(first_task.tolist()) == {0.0, 5.0, 10.0}


def test_bootstrap_mean_curve_uses_the_runs_present_at_each_step():
    matrix = np.array([[0.0, 10.0, np.nan], [100.0, 30.0, 50.0]])  # [runs, steps]
    low, high = bootstrap_mean_curve(matrix)
    np.testing.assert_array_equal(low[:2], [0.0, 10.0])
    np.testing.assert_array_equal(high[:2], [100.0, 30.0])
    assert math.isnan(low[2]) and math.isnan(high[2]), "one run: no band"


def test_few_seeds_warning_names_the_groups_below_five_runs():
    assert few_seeds_warning({"a": 5, "b": 9}) is None
    warning = few_seeds_warning({"lr=1": 2, "lr=2": 5, "lr=3": 4})
    assert warning.startswith("fewer than 5 seeds in 2 of 3 groups: lr=1 (n=2), lr=3 (n=4);")
