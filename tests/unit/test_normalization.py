"""Running statistics match numpy's, and normalisers round-trip through state_dict."""

import numpy as np
import pytest

from rlcli.normalization import ObservationNormalizer, RewardNormalizer, RunningMeanStd


def test_running_mean_std_matches_batch_statistics():
    rng = np.random.default_rng(0)
    data = rng.normal(3.0, 2.0, size=(1000, 2))
    stats = RunningMeanStd((2,), epsilon=0.0)
    for chunk in np.array_split(data, 7):
        stats.update(chunk)
    assert np.allclose(stats.mean, data.mean(0))
    assert np.allclose(stats.var, data.var(0))


def test_observation_normalizer_standardises_and_clips():
    normalizer = ObservationNormalizer((1,), clip=1.5)
    normalizer(np.array([[0.0], [2.0]]), update=True)
    out = normalizer(np.array([[1.0], [100.0]]), update=False)
    assert out[0, 0] == pytest.approx(0.0, abs=1e-3)
    assert out[1, 0] == pytest.approx(1.5)


def test_reward_normalizer_state_round_trip():
    normalizer = RewardNormalizer(num_envs=2, gamma=0.9, clip=10.0)
    for _ in range(5):
        normalizer(np.array([1.0, 2.0]), np.array([False, True]))
    restored = RewardNormalizer(num_envs=2, gamma=0.9, clip=10.0)
    restored.load_state_dict(normalizer.state_dict())
    rewards, dones = np.array([0.5, -1.0]), np.array([False, False])
    assert np.array_equal(restored(rewards, dones), normalizer(rewards, dones))
