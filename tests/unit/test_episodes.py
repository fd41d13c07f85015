"""The running return by hand, and what recording a training episode writes where."""

import logging

import numpy as np
import pytest

from rlcli.episodes import TrainingEpisodes, running_average, running_averages
from rlcli.records import Counters
from rlcli.rollout import Episode


class Scalars:
    """Stands in for the MetricsWriter: keeps what was logged."""

    def __init__(self) -> None:
        self.logged: list[tuple[dict[str, float], int]] = []

    def scalars(self, values: dict[str, float], step: int) -> None:
        self.logged.append((values, step))


def test_running_average_starts_at_the_first_value_and_weighs_each_new_one():
    assert running_average(None, 20.0, 0.05) == 20.0
    assert running_average(20.0, 40.0, 0.05) == pytest.approx(0.05 * 40 + 0.95 * 20)  # 21.0
    # 10, then 0.05 * 30 + 0.95 * 10 = 11, then 0.05 * 51 + 0.95 * 11 = 13
    np.testing.assert_allclose(running_averages([10.0, 30.0, 51.0], 0.05), [10.0, 11.0, 13.0])


def test_recording_episodes_keeps_the_running_return_in_the_counters(caplog):
    counters, writer = Counters(), Scalars()
    episodes = TrainingEpisodes(counters, writer, weight=0.5, log_every=2)
    with caplog.at_level(logging.INFO, logger="rlcli"):
        for index, episode_return in enumerate([10.0, 30.0, 50.0]):
            episodes.record(Episode(episode_return, int(episode_return), 100 * (index + 1)))
    assert counters.episode_returns == [10.0, 30.0, 50.0]
    assert counters.running_return == 35.0  # 10 -> 20 -> 35 with weight 0.5
    assert writer.logged[-1] == (
        {
            "charts/episodic_return": 50.0,
            "charts/episodic_length": 50,
            "charts/running_return": 35.0,
        },
        300,
    )
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["episode 2  step 200  return 30.0  running return 20.0"]
    assert episodes.recent_mean() == 30.0


def test_the_stop_needs_a_running_return_strictly_above_the_threshold(caplog):
    counters = Counters(global_step=1234, episode_returns=[1.0, 2.0])
    episodes = TrainingEpisodes(counters, Scalars(), weight=0.05)
    assert not episodes.running_return_solved(475.0)  # no running return yet
    counters.running_return = 475.0
    assert not episodes.running_return_solved(475.0)
    assert not episodes.running_return_solved(None)
    counters.running_return = 475.5
    with caplog.at_level(logging.INFO, logger="rlcli"):
        assert episodes.running_return_solved(475.0)
    assert caplog.messages == [
        "running return 475.5 > 475 after 2 episodes at step 1,234: solved, stopping"
    ]


def test_the_reward_plot_shows_each_episode_and_the_running_return(tmp_path):
    counters = Counters(episode_returns=[10.0, 30.0, 51.0])
    TrainingEpisodes(counters, Scalars(), weight=0.05).plot(tmp_path / "r.png", 475.0, "title")
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    TrainingEpisodes(Counters(), Scalars(), weight=0.05).plot(tmp_path / "none.png", None, "t")
    assert (tmp_path / "none.png").is_file(), "a run without finished episodes still gets one"
