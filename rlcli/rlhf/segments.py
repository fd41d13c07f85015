"""Segments: short clips of behaviour cut from rollouts, which a teacher or a person compares."""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch

from rlcli.rlhf.reward_model import action_features


def reward_inputs(
    observations: torch.Tensor, actions: torch.Tensor, action_space: gym.Space, leading: int
) -> torch.Tensor:
    """Reward-model inputs [*lead, F]: flattened raw observations beside the action features;
    ``leading`` is how many leading batch dimensions the tensors have."""
    flat = observations.reshape(*observations.shape[:leading], -1).float()
    return torch.cat([flat, action_features(actions, action_space)], dim=-1)


@dataclass
class Segments:
    """S segments of L steps: reward-model inputs and the env's own rewards (for a teacher)."""

    inputs: torch.Tensor  # [S, L, F]
    true_rewards: torch.Tensor  # [S, L]

    def __len__(self) -> int:
        return self.inputs.shape[0]


def episode_runs(valid: np.ndarray, dones: np.ndarray) -> list[tuple[int, int, int]]:
    """(env, start, end) of every stretch of consecutive valid steps of one episode in a
    time-major [T, N] rollout; the step that ends an episode is the last of its stretch."""
    runs = []
    steps, num_envs = valid.shape
    for env in range(num_envs):
        start = None
        for t in range(steps):
            if valid[t, env] and start is None:
                start = t
            if start is not None and (not valid[t, env] or dones[t, env]):
                end = t + 1 if valid[t, env] else t
                runs.append((env, start, end))
                start = None
        if start is not None:
            runs.append((env, start, steps))
    return runs


def cut_segments(
    inputs: torch.Tensor,  # [T, N, F]
    true_rewards: torch.Tensor,  # [T, N]
    valid: torch.Tensor,  # [T, N] bool
    dones: torch.Tensor,  # [T, N] bool
    length: int,
) -> Segments:
    """Non-overlapping segments of ``length`` steps that never cross an episode boundary."""
    picks = [
        (env, start)
        for env, first, end in episode_runs(valid.numpy(), dones.numpy())
        for start in range(first, end - length + 1, length)
    ]
    if not picks:
        return Segments(
            inputs.new_zeros((0, length, inputs.shape[-1])), inputs.new_zeros((0, length))
        )
    envs = torch.tensor([env for env, _ in picks])
    times = torch.tensor([start for _, start in picks])[:, None] + torch.arange(length)  # [S, L]
    return Segments(inputs[times, envs[:, None]], true_rewards[times, envs[:, None]].float())


class SegmentPool:
    """The most recent ``capacity`` segments, from which pairs are drawn."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.segments: Segments | None = None

    def __len__(self) -> int:
        return 0 if self.segments is None else len(self.segments)

    def add(self, new: Segments) -> None:
        """Keep ``new`` and drop the oldest beyond the capacity."""
        if self.segments is None:
            self.segments = new
        else:
            self.segments = Segments(
                torch.cat([self.segments.inputs, new.inputs]),
                torch.cat([self.segments.true_rewards, new.true_rewards]),
            )
        if len(self.segments) > self.capacity:
            self.segments = Segments(
                self.segments.inputs[-self.capacity :], self.segments.true_rewards[-self.capacity :]
            )

    def random_pairs(
        self, count: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Indices (a [count], b [count]) of random pairs of distinct segments."""
        size = len(self)
        first = torch.randint(size, (count,), generator=generator)
        offset = torch.randint(1, max(size, 2), (count,), generator=generator)
        return first, (first + offset) % size
