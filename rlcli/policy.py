"""A trained policy rebuilt from a checkpoint, to act in a loop of one's own: ``rlcli.load``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rlcli.build import find_checkpoint, settings_from_dict
from rlcli.build.objects import make_agent
from rlcli.checkpoint import load_checkpoint
from rlcli.envs import make_env
from rlcli.errors import UserError
from rlcli.networks import ActorCritic
from rlcli.normalization import ObservationNormalizer
from rlcli.settings import TrainConfig


def restore_policy(config: TrainConfig, checkpoint: dict[str, Any], envs: Any) -> ActorCritic:
    """The trained network for ``config`` with the checkpoint's weights."""
    agent = make_agent(config, envs)
    try:
        agent.load_state_dict(checkpoint["agent"])
    except RuntimeError as error:
        raise UserError(
            f"checkpoint weights do not match its saved network config: {error}"
        ) from None
    return agent.eval()


def observation_normalizer(
    config: TrainConfig, checkpoint: dict[str, Any], shape: tuple
) -> ObservationNormalizer | None:
    """The frozen training statistics, when the run normalised observations."""
    if checkpoint.get("observation_normalizer") is None:
        return None
    normalizer = ObservationNormalizer(shape, config.env.clip_observation)
    normalizer.stats.load_state_dict(checkpoint["observation_normalizer"])
    return normalizer


@dataclass
class Policy:
    """A trained policy: ``act(observation)`` gives the action for ``env.step``."""

    agent: ActorCritic
    config: TrainConfig
    normalizer: ObservationNormalizer | None
    observation_space: gym.Space
    action_space: gym.Space
    checkpoint: Path

    @property
    def env_id(self) -> str:
        """The env id the policy was trained on."""
        return self.config.env.id

    def make_env(self, render_mode: str | None = None) -> gym.Env:
        """One env as the policy saw it in evaluation (same id, kwargs and wrappers)."""
        env = self.config.env
        return make_env(env.id, env.kwargs, False, env.max_episode_steps, render_mode)

    def act(self, observation: Any, deterministic: bool = True) -> Any:
        """The action for one observation (or a batch of them, first axis), as the env takes it:
        an int for a Discrete space, an array clipped to the bounds for a Box space."""
        batch = np.asarray(observation, dtype=np.float32)
        single = batch.shape == self.observation_space.shape
        if single:
            batch = batch[None]
        if self.normalizer is not None:
            batch = self.normalizer(batch, update=False)
        with torch.inference_mode():
            actions = self.agent.predict(torch.from_numpy(batch), deterministic).numpy()
        if isinstance(self.action_space, gym.spaces.Box):
            actions = np.clip(actions, self.action_space.low, self.action_space.high)
        if not single:
            return actions
        return int(actions[0]) if isinstance(self.action_space, gym.spaces.Discrete) else actions[0]


def load_policy(path: Path | str, checkpoint: str = "final") -> Policy:
    """The policy of a run directory (its ``checkpoint``: final, best or latest) or a .pt file."""
    found = find_checkpoint(Path(path), (checkpoint, "final", "latest", "best"))
    saved = load_checkpoint(found)
    config = settings_from_dict(saved["config"])
    env = make_env(config.env.id, config.env.kwargs, False, config.env.max_episode_steps)
    observation_space, action_space = env.observation_space, env.action_space
    agent = restore_policy(config, saved, env)
    env.close()
    normalizer = observation_normalizer(config, saved, observation_space.shape)
    return Policy(agent, config, normalizer, observation_space, action_space, found)
