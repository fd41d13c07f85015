"""The sweep report's grouping, rows and curve alignment against hand-computed numbers."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from rlcli.errors import UserError
from rlcli.report import make_report, report_command
from rlcli.report.curves import align_curves, band, bin_curves
from rlcli.report.plots import learning_curve_figure
from rlcli.report.runs import Group, Run, find_run_dirs, group_runs, load_run
from rlcli.report.tables import group_row, markdown_table


def summary(seed: int, final: float, solved_step: int | None = None, **extra) -> dict:
    return {
        "algo": "ppo",
        "env_id": "CartPole-v1",
        "seed": seed,
        "final_eval_mean_return": final,
        "global_step": 1000,
        "wall_seconds": 2.0,
        "first_solved_step": solved_step,
        "reward_threshold": 475.0,
        **extra,
    }


def write_run(directory: Path, overrides: list[str], run_summary: dict | None) -> Path:
    (directory / ".hydra").mkdir(parents=True)
    (directory / ".hydra" / "overrides.yaml").write_text(OmegaConf.to_yaml(overrides))
    if run_summary is not None:
        (directory / "summary.json").write_text(json.dumps(run_summary))
    return directory


def test_load_run_drops_seed_and_hydra_overrides_and_sorts(tmp_path):
    overrides = ["seed=3", "algo.learning_rate=0.001", "hydra.job.num=2", "+env.kwargs.x=1"]
    run = load_run(write_run(tmp_path / "run", overrides, summary(3, 1.0)))
    assert run.overrides == ("+env.kwargs.x=1", "algo.learning_rate=0.001")
    assert run.summary["seed"] == 3


def test_group_runs_by_overrides_minus_seed():
    def run(seed: int, *overrides: str) -> Run:
        return Run(Path(f"run{seed}{overrides}"), tuple(sorted(overrides)), summary(seed, 0.0))

    runs = [
        run(1, "algo.learning_rate=0.001", "total_timesteps=512"),
        run(0, "algo.learning_rate=0.001", "total_timesteps=512"),
        run(0, "algo.learning_rate=0.0003", "total_timesteps=512"),
    ]
    groups = group_runs(runs)
    assert [g.name for g in groups] == ["algo.learning_rate=0.0003", "algo.learning_rate=0.001"]
    assert [[r.summary["seed"] for r in g.runs] for g in groups] == [[0], [0, 1]]
    assert groups[1].overrides == ("algo.learning_rate=0.001", "total_timesteps=512")

    (single,) = group_runs([run(0, "total_timesteps=512"), run(1, "total_timesteps=512")])
    assert single.name == "ppo_CartPole-v1" and len(single.runs) == 2


def test_find_run_dirs_separates_unfinished_runs(tmp_path):
    finished = write_run(tmp_path / "sweep" / "0_seed0", ["seed=0"], summary(0, 1.0))
    unfinished = write_run(tmp_path / "sweep" / "1_seed1", ["seed=1"], None)
    assert find_run_dirs([tmp_path / "sweep"]) == ([finished], [unfinished])
    assert find_run_dirs([finished]) == ([finished], [])
    with pytest.raises(UserError, match="does not exist"):
        find_run_dirs([tmp_path / "missing"])
    with pytest.raises(UserError, match="no finished run directories"):
        make_report([unfinished], tmp_path / "out")


def test_group_row_statistics_and_solved_fraction():
    runs = tuple(
        Run(Path(str(seed)), (), summary(seed, final, solved, global_step=step, wall_seconds=wall))
        for seed, final, solved, step, wall in [
            (0, 100.0, 500, 1000, 2.0),
            (1, 300.0, None, 2000, 4.0),
            (2, 200.0, 900, 3000, 6.0),
        ]
    )
    row = group_row(Group("lr=1", ("lr=1",), runs))
    assert row["runs"] == 3 and row["seeds"] == "0 1 2" and row["env_id"] == "CartPole-v1"
    assert row["final_eval_mean"] == 200.0 and row["final_eval_std"] == pytest.approx(100.0)
    # Three runs resampled: all-100 and all-300 each come up 1/27 = 3.7% of the time, more than
    # the 2.5% in each tail, so the interval is the observed range (a t interval: -48..448).
    assert (row["mean_ci95_low"], row["mean_ci95_high"]) == (100.0, 300.0)
    assert (row["iqm_ci95_low"], row["iqm_ci95_high"]) == pytest.approx((100.0, 300.0))
    assert row["iqm"] == pytest.approx(200.0)  # (0.25*100 + 200 + 0.25*300) / 1.5
    assert row["steps"] == 2000.0 and row["wall_seconds"] == 4.0
    assert row["solved_fraction"] == pytest.approx(2 / 3)
    table = markdown_table([row])
    expected = (
        "| `lr=1` | 3 | 200.0 | [100.0, 300.0] | 200.0 | [100.0, 300.0] | 100.0 "
        "| 100, 300, 200 | 2,000 | 4.0 | 2/3 |"
    )
    assert table.splitlines()[-1] == expected


def test_align_curves_interpolates_inside_each_run_only():
    grid, matrix = align_curves([[(0, 0.0), (10, 10.0)], [(5, 4.0), (10, 6.0), (20, 8.0)]])
    assert grid.tolist() == [0, 5, 10, 20]
    np.testing.assert_allclose(matrix[0], [0.0, 5.0, 10.0, np.nan])
    np.testing.assert_allclose(matrix[1], [np.nan, 4.0, 6.0, 8.0])


def test_bin_curves_averages_points_per_bin():
    # Episodes finish at the end of each 128-step iteration; several per iteration are averaged.
    first = [(128, 1.0), (128, 3.0), (256, 5.0), (384, 7.0), (512, 9.0)]
    second = [(256, 6.0), (512, 2.0), (512, 4.0)]
    steps, matrix = bin_curves([first, second])
    assert steps.tolist() == [128, 256, 384, 512]
    np.testing.assert_allclose(matrix, [[2.0, 5.0, 7.0, 9.0], [np.nan, 6.0, np.nan, 3.0]])
    coarse_steps, coarse = bin_curves([first], max_bins=2)
    assert coarse_steps.tolist() == [256, 512]
    np.testing.assert_allclose(coarse, [[(1 + 3 + 5) / 3, 8.0]])


def test_band_uses_the_runs_present_at_each_step():
    result = band(np.array([0, 10]), np.array([[1.0, 2.0], [3.0, np.nan]]))
    np.testing.assert_allclose(result.mean, [2.0, 2.0])
    # column 0: two runs, the band is their range (a t band: 2 +- 12.7); column 1: one run, none
    assert (result.low[0], result.high[0]) == (1.0, 3.0)
    assert math.isnan(result.low[1]) and math.isnan(result.high[1])
    np.testing.assert_allclose(result.minimum, [1.0, 2.0])
    np.testing.assert_allclose(result.maximum, [3.0, 2.0])
    assert result.counts.tolist() == [2, 1]


def test_band_stays_inside_the_observed_values():
    rng = np.random.default_rng(0)
    matrix = rng.uniform(0, 500, size=(3, 50))  # returns bounded 0..500, as on CartPole
    result = band(np.arange(50), matrix)
    assert np.all(result.low >= result.minimum) and np.all(result.high <= result.maximum)
    assert np.all(result.low <= result.mean) and np.all(result.mean <= result.high)


def two_env_groups() -> tuple[list[Group], list]:
    """lr=1 and lr=2 on CartPole (2 seeds each), lr=1 on Acrobot (1 seed), with their curves."""
    groups, bands = [], []
    for name, env, threshold, seeds in [
        ("lr=1", "CartPole-v1", 475.0, 2),
        ("lr=2", "CartPole-v1", 475.0, 2),
        ("lr=1,env=Acrobot-v1", "Acrobot-v1", -100.0, 1),
    ]:
        runs = tuple(
            Run(
                Path(f"{name}{seed}"),
                (),
                summary(seed, 1.0, env_id=env, reward_threshold=threshold),
            )
            for seed in range(seeds)
        )
        groups.append(Group(name, (), runs))
        bands.append(band(np.array([0, 10]), np.arange(2 * seeds, dtype=float).reshape(seeds, 2)))
    return groups, bands


def test_learning_curves_have_a_panel_per_env_with_seeds_n_and_threshold():
    groups, bands = two_env_groups()
    figure = learning_curve_figure(groups, bands)
    cartpole, acrobot = (axes for axes in figure.axes if axes.get_visible())
    assert cartpole.get_title().startswith("CartPole-v1")
    assert acrobot.get_title().startswith("Acrobot-v1")
    # per group: one thin line per seed under a thick mean line; then the dashed threshold
    widths = [line.get_linewidth() for line in cartpole.get_lines()]
    assert widths == [0.7, 0.7, 2.0, 0.7, 0.7, 2.0, 1.0]
    assert list(cartpole.get_lines()[-1].get_ydata()) == [475.0, 475.0]
    assert list(acrobot.get_lines()[-1].get_ydata()) == [-100.0, -100.0]
    labels = [text.get_text() for text in figure.legends[0].get_texts()]
    assert labels == [
        "lr=1 (n=2)",
        "lr=2 (n=2)",
        "solved: CartPole-v1 (475)",
        "lr=1,env=Acrobot-v1 (n=1)",
        "solved: Acrobot-v1 (-100)",
    ]


def test_a_report_of_few_seeds_warns_in_report_md_and_on_the_console(tmp_path, capsys):
    for seed in (0, 1):
        write_run(tmp_path / "sweep" / f"{seed}_seed{seed}", [f"seed={seed}"], summary(seed, 9.0))
    report_command([str(tmp_path / "sweep")])
    warning = "fewer than 5 seeds in 1 of 1 groups: ppo_CartPole-v1 (n=2)"
    assert f"**Warning:** {warning}" in (tmp_path / "sweep" / "report.md").read_text()
    assert f"rlcli: warning: {warning}" in capsys.readouterr().err


def test_report_command_needs_a_path_and_has_help(capsys):
    with pytest.raises(UserError, match="needs a sweep directory"):
        report_command(["out=somewhere"])
    assert report_command(["--help"]) is None
    assert capsys.readouterr().out.startswith("usage: rlcli report")
