"""Running statistics for observation and reward normalisation (saved in every checkpoint)."""

from __future__ import annotations

import numpy as np


class RunningMeanStd:
    """Streaming mean and variance with the parallel update of Chan et al. (1979)."""

    def __init__(self, shape: tuple[int, ...] = (), epsilon: float = 1e-4) -> None:
        self.mean = np.zeros(shape, dtype=np.float64)
        self.var = np.ones(shape, dtype=np.float64)
        self.count = epsilon

    def update(self, batch: np.ndarray) -> None:
        """Fold a batch [B, *shape] into the statistics."""
        batch_mean = batch.mean(axis=0)
        batch_var = batch.var(axis=0)
        batch_count = batch.shape[0]
        delta = batch_mean - self.mean
        total = self.count + batch_count
        self.mean = self.mean + delta * batch_count / total
        m2 = (
            self.var * self.count
            + batch_var * batch_count
            + delta**2 * self.count * batch_count / total
        )
        self.var = m2 / total
        self.count = total

    def state_dict(self) -> dict:
        """Plain-data state for a checkpoint."""
        return {"mean": self.mean.tolist(), "var": self.var.tolist(), "count": float(self.count)}

    def load_state_dict(self, state: dict) -> None:
        """Restore what state_dict() produced."""
        self.mean = np.asarray(state["mean"], dtype=np.float64)
        self.var = np.asarray(state["var"], dtype=np.float64)
        self.count = float(state["count"])


class ObservationNormalizer:
    """Standardise observations with running statistics, then clip."""

    def __init__(self, shape: tuple[int, ...], clip: float, epsilon: float = 1e-8) -> None:
        self.stats = RunningMeanStd(shape)
        self.clip = clip
        self.epsilon = epsilon

    def __call__(self, observations: np.ndarray, update: bool) -> np.ndarray:
        """Normalise a batch, first folding it into the statistics when ``update`` is true."""
        if update:
            self.stats.update(observations)
        scaled = (observations - self.stats.mean) / np.sqrt(self.stats.var + self.epsilon)
        return np.clip(scaled, -self.clip, self.clip).astype(np.float32)


class RewardNormalizer:
    """Scale rewards by the running std of the discounted return (as SB3's VecNormalize does)."""

    def __init__(self, num_envs: int, gamma: float, clip: float, epsilon: float = 1e-8) -> None:
        self.stats = RunningMeanStd(())
        self.returns = np.zeros(num_envs, dtype=np.float64)
        self.gamma = gamma
        self.clip = clip
        self.epsilon = epsilon

    def __call__(self, rewards: np.ndarray, dones: np.ndarray) -> np.ndarray:
        """Scale one step's rewards [N]; ``dones`` [N] restarts the per-env discounted returns."""
        self.returns = self.returns * self.gamma + rewards
        self.stats.update(self.returns)
        self.returns[dones] = 0.0
        scaled = rewards / np.sqrt(self.stats.var + self.epsilon)
        return np.clip(scaled, -self.clip, self.clip).astype(np.float32)

    def state_dict(self) -> dict:
        """Plain-data state for a checkpoint (statistics and the per-env running returns)."""
        return {"stats": self.stats.state_dict(), "returns": self.returns.tolist()}

    def load_state_dict(self, state: dict) -> None:
        """Restore what state_dict() produced."""
        self.stats.load_state_dict(state["stats"])
        self.returns = np.asarray(state["returns"], dtype=np.float64)
