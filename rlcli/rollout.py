"""Rollout collection: the only code that steps the training vector env.

The env autoresets in gymnasium 1.x's NEXT_STEP mode: the step that ends an episode returns that
episode's *final* observation (so a time limit can be bootstrapped from its value), and the next
``step()`` call ignores its action, resets the env and returns reward 0. Such reset rows are kept in
the time-major record (so ``values[t + 1]`` is always the value of what step t returned) but are
marked ``valid = False`` and left out of every loss.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rlcli import env_state
from rlcli.envs import records_episode_statistics
from rlcli.networks import ActorCritic, actions_for_env
from rlcli.normalization import ObservationNormalizer, RewardNormalizer
from rlcli.numpy_acting import NumpyActingPolicy, supports_numpy_acting

ENV_SIDE = ("rewards", "terminations", "truncations", "valid")
"""Rollout fields the env writes, kept on the CPU while collecting."""


@dataclass
class Rollout:
    """One collection of ``T`` steps from ``N`` envs, time-major."""

    observations: torch.Tensor  # [T, N, *obs]
    actions: torch.Tensor  # [T, N] or [T, N, A]
    log_probs: torch.Tensor  # [T, N]
    values: torch.Tensor  # [T + 1, N]; zeros without a critic
    rewards: torch.Tensor  # [T, N], normalised when reward normalisation is on
    terminations: torch.Tensor  # [T, N] bool
    truncations: torch.Tensor  # [T, N] bool
    valid: torch.Tensor  # [T, N] bool; False on autoreset rows whose action the env ignored
    raw_observations: torch.Tensor | None = None  # [T, N, *obs] unnormalised, when kept
    raw_rewards: torch.Tensor | None = None  # [T, N] the env's own rewards, when kept

    def __len__(self) -> int:
        """T, the number of steps."""
        return self.rewards.shape[0]

    @property
    def dones(self) -> torch.Tensor:
        """[T, N] bool: the episode ended at this step."""
        return self.terminations | self.truncations

    def first(self, steps: int) -> Rollout:
        """The first ``steps`` steps (views, not copies): a collection that ended early."""
        cut = {f.name: getattr(self, f.name) for f in fields(self)}
        cut = {name: None if value is None else value[:steps] for name, value in cut.items()}
        cut["values"] = self.values[: steps + 1]
        return Rollout(**cut)

    def to(self, device: torch.device) -> Rollout:
        """The same rollout with every tensor on ``device`` (the tensors themselves when there)."""
        moved = {f.name: getattr(self, f.name) for f in fields(self)}
        return Rollout(**{k: None if v is None else v.to(device) for k, v in moved.items()})


@dataclass
class ActingRecord:
    """Numpy views of a CPU rollout's acting side, which numpy acting writes into."""

    observations: np.ndarray  # [T, N, *obs]
    actions: np.ndarray  # [T, N] or [T, N, A]
    log_probs: np.ndarray  # [T, N]
    values: np.ndarray  # [T + 1, N]


@dataclass
class Episode:
    """A finished training episode with its raw (unnormalised) return."""

    episode_return: float
    length: int
    global_step: int


def allocate_rollout(
    envs: gym.vector.VectorEnv,
    num_steps: int,
    device: torch.device,
    keep_uint8: bool,
    keep_raw_observations: bool,
) -> Rollout:
    """The preallocated [num_steps, num_envs] record a collector writes into; what the env returns
    (rewards, episode ends, validity) stays on the CPU, where the env writes it."""
    num_envs = envs.num_envs
    pinned = device.type == "cuda"  # page-locked: copies to the GPU need no staging copy
    obs_shape = envs.single_observation_space.shape
    act_shape = envs.single_action_space.shape
    act_dtype = (
        torch.float32 if isinstance(envs.single_action_space, gym.spaces.Box) else torch.int64
    )
    storage = Rollout(
        observations=torch.zeros(
            (num_steps, num_envs, *obs_shape),
            dtype=torch.uint8 if keep_uint8 else torch.float32,
            device=device,
        ),
        actions=torch.zeros((num_steps, num_envs, *act_shape), dtype=act_dtype, device=device),
        log_probs=torch.zeros((num_steps, num_envs), device=device),
        values=torch.zeros((num_steps + 1, num_envs), device=device),
        rewards=torch.zeros((num_steps, num_envs), pin_memory=pinned),
        terminations=torch.zeros((num_steps, num_envs), dtype=torch.bool, pin_memory=pinned),
        truncations=torch.zeros((num_steps, num_envs), dtype=torch.bool, pin_memory=pinned),
        valid=torch.zeros((num_steps, num_envs), dtype=torch.bool, pin_memory=pinned),
    )
    if keep_raw_observations:
        storage.raw_observations = torch.zeros((num_steps, num_envs, *obs_shape))
        storage.raw_rewards = torch.zeros((num_steps, num_envs))
    return storage


class RolloutCollector:
    """Steps a vector env with the current policy into preallocated storage."""

    def __init__(
        self,
        envs: gym.vector.VectorEnv,
        num_steps: int,
        seed: int,
        device: torch.device,
        observation_normalizer: ObservationNormalizer | None = None,
        reward_normalizer: RewardNormalizer | None = None,
        keep_raw_observations: bool = False,
        episodes_per_rollout: int = 0,
        acting: str = "torch",
    ) -> None:
        """``keep_raw_observations`` also records unnormalised observations and the env's own
        rewards (for a learned reward model and the labellers that judge its segments).
        ``episodes_per_rollout`` > 0 ends a collection early, once every env has finished that many
        episodes in it (``num_steps`` is then the most it collects). ``acting`` numpy acts from a
        numpy copy of an MLP policy on the CPU (rlcli/numpy_acting.py), torch through the
        network itself."""
        self.envs = envs
        self.acting = acting
        self._numpy_policy: NumpyActingPolicy | None = None
        self.num_steps = num_steps
        self.episodes_per_rollout = episodes_per_rollout
        self.device = device
        self.observation_normalizer = observation_normalizer
        self.reward_normalizer = reward_normalizer
        # Images stay uint8 (4x smaller; the network scales them) unless they are normalised.
        keep_uint8 = (
            envs.single_observation_space.dtype == np.uint8 and observation_normalizer is None
        )
        self._observation_dtype = np.uint8 if keep_uint8 else np.float32
        self._staging = None
        if device.type == "cuda":
            shape = (envs.num_envs, *envs.single_observation_space.shape)
            dtype = torch.uint8 if keep_uint8 else torch.float32
            self._staging = torch.empty(shape, dtype=dtype, pin_memory=True)
        self.storage = allocate_rollout(envs, num_steps, device, keep_uint8, keep_raw_observations)
        # Env-side arrays: numpy views of the storage's CPU tensors (written without torch calls).
        self._rewards = self.storage.rewards.numpy()
        self._terminations = self.storage.terminations.numpy()
        self._truncations = self.storage.truncations.numpy()
        self._valid = self.storage.valid.numpy()
        self._arrays = None
        if device.type == "cpu":
            self._arrays = ActingRecord(
                *(getattr(self.storage, name).numpy() for name in ActingRecord.__annotations__)
            )
        self._raw_observations = (
            None if self.storage.raw_observations is None else self.storage.raw_observations.numpy()
        )
        self._raw_rewards = (
            self.storage.raw_rewards.numpy()
            if self.storage.raw_rewards is not None
            else np.zeros(self._rewards.shape, dtype=np.float32)
        )
        self.global_step = 0
        self.finished_episodes: list[Episode] = []
        self._episode_returns = np.zeros(envs.num_envs, dtype=np.float64)
        self._episode_lengths = np.zeros(envs.num_envs, dtype=np.int64)
        self._previous_dones = np.zeros(envs.num_envs, dtype=np.bool_)
        self._raw_statistics = records_episode_statistics(envs)
        raw_observations, _ = envs.reset(seed=seed)
        envs.action_space.seed(seed)
        self._next_raw_observations = raw_observations
        self._next_observations = self._prepare(raw_observations)

    def _prepare(
        self, raw_observations: np.ndarray, as_array: bool = False
    ) -> torch.Tensor | np.ndarray:
        """The policy's input: raw observations cast (and normalised when on), as a numpy array
        for numpy acting, else a tensor on the learner's device."""
        observations = np.asarray(raw_observations, dtype=self._observation_dtype)
        if self.observation_normalizer is not None:
            observations = self.observation_normalizer(observations, update=True)
        if as_array:
            return observations
        if self._staging is None:
            return torch.from_numpy(observations).to(self.device)
        # Through pinned memory, asynchronously: the policy's next actions, read back on the CPU,
        # wait for this copy before the staging buffer is written again.
        self._staging.copy_(torch.from_numpy(observations))
        return self._staging.to(self.device, non_blocking=True)

    def _on_device(self, rollout: Rollout) -> Rollout:
        """The rollout with what the env wrote (rewards, episode ends, validity) on the learner's
        device, so the update runs there; on the CPU, the rollout itself."""
        if self.device.type == "cpu":
            return rollout
        device = self.device
        moved = {name: getattr(rollout, name).to(device, non_blocking=True) for name in ENV_SIDE}
        return replace(rollout, **moved)

    def collect(self, agent: ActorCritic) -> Rollout:
        """Run ``num_steps`` steps in every env (or until each has finished
        ``episodes_per_rollout`` episodes); the returned record is reused by the next call."""
        storage = self.storage
        action_space = self.envs.single_action_space
        numpy_policy = self._numpy_acting_policy(agent)
        # Numpy acting writes numpy arrays into numpy views of the (CPU) storage: a numpy
        # assignment costs well under a microsecond, a tensor's several.
        actor: ActorCritic | NumpyActingPolicy = numpy_policy or agent
        record: Rollout | ActingRecord = storage if numpy_policy is None else self._arrays
        as_array = numpy_policy is not None
        observations = self._next_observations
        if as_array:
            observations = observations.numpy()
        raw_observations = self._next_raw_observations
        wanted, episodes_ended = self.episodes_per_rollout, np.zeros(self.envs.num_envs, np.int64)
        length = self.num_steps
        with torch.inference_mode():
            for step in range(self.num_steps):
                record.observations[step] = observations
                if self._raw_observations is not None:
                    self._raw_observations[step] = raw_observations
                actions, log_probs, values = actor.act(observations)
                record.actions[step] = actions
                record.log_probs[step] = log_probs
                record.values[step] = values
                raw_observations, rewards, terminations, truncations, infos = self.envs.step(
                    actions_for_env(actions, action_space)
                )
                self._record_step(step, rewards, terminations, truncations, infos)
                observations = self._prepare(raw_observations, as_array)
                if wanted:
                    episodes_ended += terminations | truncations
                    if np.all(episodes_ended >= wanted):
                        length = step + 1
                        break
            record.values[length] = actor.value(observations)
        self._next_observations = torch.as_tensor(observations)
        self._next_raw_observations = raw_observations
        return self._on_device(storage if length == self.num_steps else storage.first(length))

    def _numpy_acting_policy(self, agent: ActorCritic) -> NumpyActingPolicy | None:
        """A numpy copy of ``agent``'s current weights where ``acting`` allows and the network
        supports it; None: the agent acts itself."""
        if self.acting != "numpy" or not supports_numpy_acting(agent, self.device):
            return None
        if self._numpy_policy is None or self._numpy_policy.agent is not agent:
            self._numpy_policy = NumpyActingPolicy(agent)
        else:
            self._numpy_policy.refresh()
        return self._numpy_policy

    def _record_step(
        self,
        step: int,
        rewards: np.ndarray,
        terminations: np.ndarray,
        truncations: np.ndarray,
        infos: dict[str, Any],
    ) -> None:
        """Store one step's env outputs and account finished episodes (raw rewards).

        Envs that record their own raw episode statistics (gymnasium's RecordEpisodeStatistics
        under training-only wrappers, as Atari's per-life episodes and clipped rewards) report
        those instead: the logged return is then the game's score.
        """
        valid = ~self._previous_dones
        dones = terminations | truncations
        self._valid[step] = valid
        self._terminations[step] = terminations
        self._truncations[step] = truncations
        self.global_step += len(rewards)
        self._episode_returns += rewards
        self._episode_lengths += valid
        finished = np.flatnonzero(dones)
        returns, lengths = self._episode_returns, self._episode_lengths
        if self._raw_statistics:  # whole games, not the per-life episodes the learner sees
            finished = np.flatnonzero(infos.get("_episode", ()))
            if finished.size:
                returns, lengths = infos["episode"]["r"], infos["episode"]["l"]
        for env_index in finished:
            self.finished_episodes.append(
                Episode(float(returns[env_index]), int(lengths[env_index]), self.global_step)
            )
        self._episode_returns[dones] = 0.0
        self._episode_lengths[dones] = 0
        self._previous_dones = dones
        self._raw_rewards[step] = rewards
        if self.reward_normalizer is not None:
            rewards = self.reward_normalizer(rewards, dones)
        self._rewards[step] = rewards

    def state_dict(self) -> dict[str, Any]:
        """Plain-data state of the collection in progress: counters, running episodes, envs.

        ``envs`` is None when the env's internal state cannot be saved (see rlcli/env_state.py).
        """
        return {
            "global_step": self.global_step,
            "next_observations": self._next_observations.cpu().clone(),
            "next_raw_observations": torch.as_tensor(
                np.asarray(self._next_raw_observations, dtype=np.float32)
            ),
            "previous_dones": torch.from_numpy(self._previous_dones.copy()),
            "episode_returns": torch.from_numpy(self._episode_returns.copy()),
            "episode_lengths": torch.from_numpy(self._episode_lengths.copy()),
            "envs": env_state.capture(self.envs),
        }

    def load_state_dict(self, state: dict[str, Any], seed: int) -> bool:
        """Continue from ``state_dict()``; returns False if the envs had to be reset instead."""
        self.global_step = state["global_step"]
        self._episode_returns = state["episode_returns"].numpy().copy()
        self._episode_lengths = state["episode_lengths"].numpy().copy()
        self._previous_dones = state["previous_dones"].numpy().copy()
        if state["envs"] is not None and self._restore_envs(state["envs"]):
            self._next_observations = state["next_observations"].to(self.device)
            self._next_raw_observations = state["next_raw_observations"].numpy().copy()
            return True
        # Not capturable: start fresh episodes, seeded from the step so a resume is repeatable.
        raw_observations, _ = self.envs.reset(seed=seed + self.global_step)
        self._next_raw_observations = raw_observations
        self._next_observations = self._prepare(raw_observations)
        self._episode_returns[:] = 0.0
        self._episode_lengths[:] = 0
        self._previous_dones[:] = False
        return False

    def _restore_envs(self, states: Any) -> bool:
        """Put the saved env state back; False when it was saved from other envs (another
        ``env.vectorization``), which a resume then resets instead."""
        try:
            env_state.restore(self.envs, states)
        except ValueError:
            return False
        return True

    @property
    def steps_per_iteration(self) -> int | None:
        """Env steps one ``collect`` takes, summed over envs; None when collections end with
        episodes and so vary in length."""
        if self.episodes_per_rollout:
            return None
        return self.num_steps * self.envs.num_envs

    @property
    def next_raw_observations(self) -> torch.Tensor:
        """The unnormalised observations the next ``collect`` starts from [N, *obs]."""
        return torch.as_tensor(self._next_raw_observations)

    def drain_scalars(self) -> dict[str, float]:
        """No collector-specific scalars (a reward-model source adds its own)."""
        return {}

    def close(self) -> None:
        """Close the envs."""
        self.envs.close()

    def drain_episodes(self) -> list[Episode]:
        """Return and forget the episodes finished since the last call."""
        episodes, self.finished_episodes = self.finished_episodes, []
        return episodes
