"""Builds the RLHF pieces of a run: reward model, reference policy, labeller, reward source."""

from __future__ import annotations

import dataclasses
from functools import partial
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch

from rlcli.build.settings import find_checkpoint, settings_from_dict
from rlcli.checkpoint import load_checkpoint
from rlcli.errors import UserError
from rlcli.normalization import ObservationNormalizer
from rlcli.rlhf.labellers import Labeller, SyntheticLabeller
from rlcli.rlhf.reward_model import RewardModel
from rlcli.rlhf.segments import action_feature_size, reward_input_size
from rlcli.rlhf.source import PreferenceRewardSource, ReferencePolicy
from rlcli.rollout import RolloutCollector
from rlcli.settings import RewardModelConfig, TrainConfig

REWARD_MODEL_KIND = "rlcli.reward_model"


def reward_model_payload(model: RewardModel, config: RewardModelConfig, env_id: str) -> dict:
    """A plain-dict reward-model checkpoint (loads with ``weights_only=True``)."""
    return {
        "kind": REWARD_MODEL_KIND,
        "env_id": env_id,
        "input_size": int(model.input_mean.shape[0]),
        "config": dataclasses.asdict(config),
        "state": model.state_dict(),
    }


def load_reward_model(
    path: str, env_id: str, observation_space: gym.Space, action_space: gym.Space
) -> RewardModel:
    """A reward model saved by a reward-model stage (a .pt file or the directory holding
    reward_model.pt), checked to be made for ``env_id`` and its spaces."""
    location = Path(path)
    file = location / "reward_model.pt" if location.is_dir() else location
    if not file.is_file():
        raise UserError(f"rlhf.reward_model={path!r}: no reward model file at {str(file)!r}")
    payload = load_checkpoint(file)
    if payload.get("kind") != REWARD_MODEL_KIND:
        raise UserError(f"rlhf.reward_model={path!r} is not an rlcli reward model checkpoint")
    config = RewardModelConfig(**payload["config"])
    input_size = reward_input_size(observation_space, action_space, config.use_next_observation)
    if payload["env_id"] != env_id or payload["input_size"] != input_size:
        raise UserError(
            f"rlhf.reward_model={path!r} was learned for env {payload['env_id']!r}; this run is "
            f"on {env_id!r}"
        )
    model = RewardModel(input_size, config, action_feature_size(action_space))
    model.load_state_dict(payload["state"])
    return model


def load_reference(path: str, config: TrainConfig, envs: gym.vector.VectorEnv) -> ReferencePolicy:
    """The frozen reference policy of a run or checkpoint made for the same env."""
    from rlcli.build.objects import make_agent

    checkpoint = load_checkpoint(find_checkpoint(Path(path)))
    reference_config = settings_from_dict(checkpoint["config"])
    if reference_config.env.id != config.env.id:
        raise UserError(
            f"rlhf.reference={path!r} is a policy for {reference_config.env.id!r}; this run is on "
            f"{config.env.id!r}"
        )
    agent = make_agent(reference_config, envs)
    agent.load_state_dict(checkpoint["agent"])
    normalizer = None
    if checkpoint.get("observation_normalizer") is not None:
        normalizer = ObservationNormalizer(
            envs.single_observation_space.shape, reference_config.env.clip_observation
        )
        normalizer.stats.load_state_dict(checkpoint["observation_normalizer"])
    for parameter in agent.parameters():
        parameter.requires_grad_(False)
    return ReferencePolicy(agent.eval(), normalizer)


def build_labeller(config: TrainConfig, run_dir: Path | None) -> Labeller | None:
    """The online loop's labeller: the synthetic teacher, or people labelling in the browser
    from ``<run dir>/labelling`` (rlcli label <run dir>); None when labelling is off."""
    rlhf = config.rlhf
    if not rlhf.online:
        return None
    if rlhf.labeller.kind != "human":
        return SyntheticLabeller(rlhf.labeller, torch.Generator().manual_seed(config.seed + 1))
    from rlcli.rlhf.clips import clip_env
    from rlcli.rlhf.human_labeller import HumanLabeller
    from rlcli.rlhf.label_queue import LABELLING_DIR

    if run_dir is None:
        raise UserError("rlhf.labeller.kind=human needs a run directory for its labelling queue")
    return HumanLabeller(
        run_dir / LABELLING_DIR,
        partial(clip_env, config.env.id),
        rlhf.labeller.min_new_labels,
        rlhf.labeller.wait_seconds,
    )


def build_preference_source(
    config: TrainConfig,
    collector: RolloutCollector,
    run_dir: Path | None = None,
) -> PreferenceRewardSource:
    """The reward source of an RLHF run (``rlhf.enabled``)."""
    rlhf = config.rlhf
    envs = collector.envs
    observation_space, action_space = envs.single_observation_space, envs.single_action_space
    if rlhf.reward_model is not None:
        model = load_reward_model(rlhf.reward_model, config.env.id, observation_space, action_space)
    else:
        input_size = reward_input_size(
            observation_space, action_space, rlhf.reward_model_config.use_next_observation
        )
        model = RewardModel(input_size, rlhf.reward_model_config, action_feature_size(action_space))
    reference = load_reference(rlhf.reference, config, envs) if rlhf.reference else None
    return PreferenceRewardSource(
        collector,
        model,
        rlhf,
        config.total_timesteps,
        build_labeller(config, run_dir),
        reference,
        config.seed,
        config.algo.gamma,
    )


def reward_model_of_run(run_dir: Path) -> dict[str, Any] | None:
    """The reward-model state inside an RLHF run's final checkpoint (None for other runs)."""
    checkpoint = load_checkpoint(find_checkpoint(run_dir))
    return (checkpoint.get("collector") or {}).get("rlhf")
