"""Segments: short clips of behaviour cut from rollouts, which a teacher or a person compares."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from rlcli.rollout import Rollout


def action_feature_size(action_space: gym.Space) -> int:
    """Width of ``action_features``: the last columns of a reward model's inputs."""
    if isinstance(action_space, gym.spaces.Discrete):
        return int(action_space.n)
    return int(action_space.shape[0])


def action_features(actions: torch.Tensor, action_space: gym.Space) -> torch.Tensor:
    """Actions as reward-model inputs [..., A]: one-hot for Discrete, clipped values for Box."""
    if isinstance(action_space, gym.spaces.Discrete):
        return nn.functional.one_hot(actions.long(), int(action_space.n)).float()
    low = torch.as_tensor(action_space.low, dtype=torch.float32)
    high = torch.as_tensor(action_space.high, dtype=torch.float32)
    return torch.maximum(torch.minimum(actions.float(), high), low)


def reward_inputs(
    observations: torch.Tensor,
    actions: torch.Tensor,
    action_space: gym.Space,
    leading: int,
    next_observations: torch.Tensor | None = None,
) -> torch.Tensor:
    """Reward-model inputs [*lead, F]: flattened raw observations, then the next observations
    when given, then the action features; ``leading`` is how many leading batch dimensions the
    tensors have."""
    parts = [observations.reshape(*observations.shape[:leading], -1).float()]
    if next_observations is not None:
        parts.append(next_observations.reshape(*next_observations.shape[:leading], -1).float())
    return torch.cat([*parts, action_features(actions, action_space)], dim=-1)


def reward_input_size(
    observation_space: gym.Space, action_space: gym.Space, next_observation: bool = False
) -> int:
    """Width of ``reward_inputs``: observation, next observation when used, action features."""
    observation_size = int(np.prod(observation_space.shape))
    return observation_size * (2 if next_observation else 1) + action_feature_size(action_space)


def rollout_reward_inputs(
    rollout: Rollout, after_last: torch.Tensor, action_space: gym.Space, next_observation: bool
) -> torch.Tensor:
    """``reward_inputs`` [T, N, F] of a rollout kept with raw observations; ``after_last`` are
    the raw observations after its last step. Row t's next observation is row t + 1's (after an
    episode's last step that is its final observation: the following row is the ignored
    autoreset one)."""
    assert rollout.raw_observations is not None, "the collector must keep raw observations"
    following = None
    if next_observation:
        after = torch.as_tensor(after_last, dtype=rollout.raw_observations.dtype)[None]
        following = torch.cat([rollout.raw_observations[1:], after])
    return reward_inputs(rollout.raw_observations, rollout.actions, action_space, 2, following)


@dataclass
class Segments:
    """S segments of L steps: reward-model inputs, the env's own rewards (for a teacher) and
    which steps are real. A segment that ends in a termination is padded with absorbing steps
    (mask False, true reward 0), so a teacher sees that failing early returns less than going on
    (the fixed-horizon treatment of Gleave et al.'s seals)."""

    inputs: torch.Tensor  # [S, L, F]
    true_rewards: torch.Tensor  # [S, L]
    mask: torch.Tensor  # [S, L] bool, False on absorbing padding

    def __len__(self) -> int:
        return self.inputs.shape[0]

    def select(self, indices: torch.Tensor | slice) -> Segments:
        """The segments at ``indices``."""
        return Segments(self.inputs[indices], self.true_rewards[indices], self.mask[indices])

    def extend(self, other: Segments) -> Segments:
        """These segments followed by ``other``'s."""
        return Segments(
            torch.cat([self.inputs, other.inputs]),
            torch.cat([self.true_rewards, other.true_rewards]),
            torch.cat([self.mask, other.mask]),
        )

    def real_inputs(self) -> torch.Tensor:
        """Inputs of the real (unpadded) steps [R, F]."""
        return self.inputs[self.mask]

    def ends(self) -> torch.Tensor:
        """[S] bool: which segments end in a termination (are padded with absorbing steps)."""
        return (~self.mask).any(-1)

    def last_inputs(self) -> torch.Tensor:
        """Inputs of each segment's last real step [S, F]: the step a termination ended on,
        where the segment is padded (real steps come first)."""
        last = (self.mask.sum(-1) - 1).clamp_min(0)
        return self.inputs[torch.arange(len(self)), last]


def rollout_segments(rollout: Rollout, inputs: torch.Tensor, length: int) -> Segments:
    """``cut_segments`` of one rollout kept with raw rewards; ``inputs`` from ``reward_inputs``."""
    assert rollout.raw_rewards is not None, "the collector must keep raw rewards"
    return cut_segments(
        inputs,
        rollout.raw_rewards,
        rollout.valid,
        rollout.terminations,
        rollout.truncations,
        length,
    )


SEGMENTS_FILE = "segments.npz"
"""The segments of a reward-model stage or a labelling directory, beside its labels file."""


def segment_ids(count: int) -> list[str]:
    """Ids of the rows of a segments file."""
    return [f"seg-{index:06d}" for index in range(count)]


def save_segments(path: Path, segments: Segments) -> None:
    """Write ``segments`` with their ids as an .npz file."""
    np.savez(
        path,
        ids=np.array(segment_ids(len(segments))),
        inputs=segments.inputs.numpy(),
        true_rewards=segments.true_rewards.numpy(),
        mask=segments.mask.numpy(),
    )


def load_segments(path: Path) -> Segments:
    """Segments written by ``save_segments``."""
    saved = np.load(path)
    return Segments(
        torch.from_numpy(saved["inputs"]),
        torch.from_numpy(saved["true_rewards"]),
        torch.from_numpy(saved["mask"]),
    )


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
    terminations: torch.Tensor,  # [T, N] bool
    truncations: torch.Tensor,  # [T, N] bool
    length: int,
) -> Segments:
    """Non-overlapping segments of ``length`` steps that never cross an episode boundary, plus
    for each episode that terminated one segment of its last ``length // 2`` steps (or fewer)
    padded with absorbing steps."""
    dones = (terminations | truncations).numpy()
    picks = []  # (env, start, real steps)
    for env, first, end in episode_runs(valid.numpy(), dones):
        picks += [(env, start, length) for start in range(first, end - length + 1, length)]
        if end > first and terminations[end - 1, env]:
            real = min(end - first, max(1, length // 2))
            picks.append((env, end - real, real))
    if not picks:
        empty = inputs.new_zeros((0, length, inputs.shape[-1]))
        return Segments(
            empty, inputs.new_zeros((0, length)), torch.zeros((0, length), dtype=torch.bool)
        )
    envs = torch.tensor([env for env, _, _ in picks])[:, None]
    offsets = torch.arange(length)
    mask = offsets < torch.tensor([real for _, _, real in picks])[:, None]  # [S, L]
    last = inputs.shape[0] - 1
    times = (torch.tensor([start for _, start, _ in picks])[:, None] + offsets).clamp(max=last)
    segment_inputs = inputs[times, envs] * mask[..., None]
    return Segments(segment_inputs, true_rewards[times, envs].float() * mask, mask)


class SegmentPool:
    """The most recent ``capacity`` segments, from which pairs are drawn."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.segments: Segments | None = None

    def __len__(self) -> int:
        return 0 if self.segments is None else len(self.segments)

    def add(self, new: Segments) -> None:
        """Keep ``new`` and drop the oldest beyond the capacity."""
        self.segments = new if self.segments is None else self.segments.extend(new)
        if len(self.segments) > self.capacity:
            self.segments = self.segments.select(slice(-self.capacity, None))


def random_pairs(
    size: int, count: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices (a [count], b [count]) of random pairs of distinct segments out of ``size``."""
    first = torch.randint(size, (count,), generator=generator)
    offset = torch.randint(1, max(size, 2), (count,), generator=generator)
    return first, (first + offset) % size


def termination_pairs(
    segments: Segments, count: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Up to ``count`` pairs (a, b) whose a is a random segment that ends in a termination
    (absorbing padding) and b a random other segment; none when no segment ends so."""
    ending = segments.ends().nonzero().squeeze(-1)
    if count <= 0 or len(ending) == 0:
        empty = torch.zeros(0, dtype=torch.long)
        return empty, empty
    first = ending[torch.randint(len(ending), (count,), generator=generator)]
    offset = torch.randint(1, max(len(segments), 2), (count,), generator=generator)
    return first, (first + offset) % len(segments)
