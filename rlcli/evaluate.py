"""Evaluate a policy on its own vector env: one episode per env copy, deterministic by default."""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch

from rlcli.networks import ActorCritic, actions_for_env
from rlcli.normalization import ObservationNormalizer


@dataclass
class EvalResult:
    """Returns and lengths of the evaluation episodes."""

    returns: list[float]
    lengths: list[int]

    @property
    def mean_return(self) -> float:
        """Mean episode return."""
        return float(np.mean(self.returns))

    @property
    def std_return(self) -> float:
        """Standard deviation of the episode returns."""
        return float(np.std(self.returns))

    def as_scalars(self) -> dict[str, float]:
        """The ``eval/*`` TensorBoard scalars."""
        return {
            "eval/mean_return": self.mean_return,
            "eval/std_return": self.std_return,
            "eval/mean_length": float(np.mean(self.lengths)),
        }


def run_episodes(
    agent: ActorCritic,
    envs: gym.vector.VectorEnv,
    seed: int,
    deterministic: bool = True,
    observation_normalizer: ObservationNormalizer | None = None,
) -> EvalResult:
    """Play the first episode of every env copy in ``envs`` to its end and report them.

    The same ``seed`` gives the same start states, so successive evaluations are comparable.
    """
    device = next(agent.parameters()).device
    observations, _ = envs.reset(seed=seed)
    num_envs = envs.num_envs
    returns = np.zeros(num_envs)
    lengths = np.zeros(num_envs, dtype=np.int64)
    running = np.ones(num_envs, dtype=np.bool_)
    with torch.inference_mode():
        while running.any():
            observations = np.asarray(observations, dtype=np.float32)
            if observation_normalizer is not None:
                observations = observation_normalizer(observations, update=False)
            actions = agent.predict(torch.from_numpy(observations).to(device), deterministic)
            observations, rewards, terminations, truncations, _ = envs.step(
                actions_for_env(actions, envs.single_action_space)
            )
            returns += rewards * running
            lengths += running
            running &= ~(terminations | truncations)
    return EvalResult(returns.tolist(), lengths.tolist())
