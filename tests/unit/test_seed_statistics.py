"""Statistics over seeds against published tables and hand-computed numbers."""

import math

import pytest

from rlcli.report.seed_statistics import interquartile_mean, student_t_quantile, summarize

# Student-t quantiles from published tables (and mpmath's incomplete beta at 30 digits).
T_QUANTILES = [
    (0.975, 1, 12.7062047361747),
    (0.975, 2, 4.30265272974946),
    (0.975, 3, 3.18244630528371),
    (0.975, 4, 2.77644510519779),
    (0.975, 5, 2.57058183563631),
    (0.975, 9, 2.2621571627982),
    (0.975, 10, 2.22813885198627),
    (0.975, 29, 2.0452296421327),
    (0.975, 30, 2.04227245630124),
    (0.975, 100, 1.98397151852355),
    (0.975, 200, 1.97189622363391),
    (0.975, 201, 1.97183650677986),  # Cornish-Fisher from here on
    (0.975, 1000, 1.96233908082641),
    (0.95, 5, 2.01504837333302),
    (0.995, 10, 3.16927267261695),
    (0.9, 7, 1.41492392765051),
]


@pytest.mark.parametrize(("probability", "degrees_of_freedom", "expected"), T_QUANTILES)
def test_student_t_quantile_matches_tables(probability, degrees_of_freedom, expected):
    assert student_t_quantile(probability, degrees_of_freedom) == pytest.approx(expected, rel=1e-11)
    lower = student_t_quantile(1 - probability, degrees_of_freedom)
    assert lower == pytest.approx(-expected, rel=1e-11)


def test_student_t_quantile_closed_forms():
    # df=1 is the Cauchy distribution: quantile tan(pi (p - 1/2)); df=2: (2p-1) sqrt(2 / (4p(1-p)))
    assert student_t_quantile(0.75, 1) == pytest.approx(1.0, rel=1e-12)
    assert student_t_quantile(0.9, 2) == pytest.approx(0.8 * math.sqrt(2 / (4 * 0.9 * 0.1)))
    assert student_t_quantile(0.5, 4) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(("probability", "df"), [(0, 3), (1, 3), (0.9, 0), (0.9, 2.5)])
def test_student_t_quantile_refuses_bad_arguments(probability, df):
    with pytest.raises(ValueError):
        student_t_quantile(probability, df)


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


def test_summarize_by_hand():
    stats = summarize([1.0, 2.0, 3.0, 4.0])
    std = math.sqrt((1.5**2 + 0.5**2 + 0.5**2 + 1.5**2) / 3)
    half_width = 3.18244630528371 * std / math.sqrt(4)  # t(0.975, 3)
    assert stats.runs == 4 and stats.mean == 2.5 and stats.iqm == 2.5
    assert stats.std == pytest.approx(std)
    assert stats.ci_low == pytest.approx(2.5 - half_width)
    assert stats.ci_high == pytest.approx(2.5 + half_width)


def test_summarize_one_run_has_no_spread():
    stats = summarize([5.0])
    assert stats.mean == 5.0 and stats.iqm == 5.0
    assert math.isnan(stats.std) and math.isnan(stats.ci_low) and math.isnan(stats.ci_high)
