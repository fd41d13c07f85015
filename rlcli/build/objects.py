"""Typed settings -> the objects of a run: envs, network, optimizer, batch source, writer."""

from __future__ import annotations

import dataclasses
import logging
import random
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rlcli import compiling
from rlcli.algos.base import Algorithm
from rlcli.envs import make_vector_env
from rlcli.metrics import MetricsWriter
from rlcli.networks import ActorCritic
from rlcli.normalization import ObservationNormalizer, RewardNormalizer
from rlcli.optim import Adam
from rlcli.records import Counters
from rlcli.rollout import RolloutCollector
from rlcli.settings import TrainConfig
from rlcli.train import BatchSource, Learner, TrainingRun, load_weights, restore_learner

log = logging.getLogger("rlcli")


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (the envs are seeded at their first reset)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def resolve_device(device: str) -> torch.device:
    """Turn ``auto`` into cuda when available, else cpu."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def make_agent(config: TrainConfig, envs: gym.vector.VectorEnv | gym.Env) -> ActorCritic:
    """The network a config describes, for the envs' observation and action spaces."""
    observation_space = getattr(envs, "single_observation_space", envs.observation_space)
    action_space = getattr(envs, "single_action_space", envs.action_space)
    return ActorCritic(
        observation_space,
        action_space,
        config.network.hidden_sizes,
        config.network.activation,
        with_critic=config.algo.uses_critic,
        orthogonal_init=config.network.orthogonal_init,
        log_std_init=config.network.log_std_init,
        architecture=config.network.architecture,
        bias=config.network.bias,
    )


def build_source(
    config: TrainConfig,
    envs: gym.vector.VectorEnv,
    device: torch.device,
    observation_normalizer: ObservationNormalizer | None,
    reward_normalizer: RewardNormalizer | None,
    run_dir: Path | None = None,
) -> BatchSource:
    """What the algorithm consumes: env rollouts (optionally rewarded by a learned model) or a
    dataset of demonstrations; ``run_dir`` holds people's labelling queue."""
    algo: Algorithm = config.algo
    if algo.consumes == "demonstrations":
        from rlcli.demonstrations import DemonstrationSource, check_spaces, load_demonstrations

        assert config.dataset is not None  # validate() refuses algo=bc without a dataset
        demonstrations = load_demonstrations(config.dataset)
        check_spaces(config.dataset, demonstrations, envs)
        return DemonstrationSource(
            demonstrations,
            algo.minibatch_size,
            algo.minibatches_per_iteration,
            algo.validation_fraction,
            config.seed,
            device,
            observation_normalizer,
        )
    learned_reward = config.rlhf.enabled
    collector = RolloutCollector(
        envs,
        algo.num_steps,
        config.seed,
        device,
        observation_normalizer,
        reward_normalizer,
        keep_raw_observations=learned_reward,
        episodes_per_rollout=algo.episodes_per_update,
        acting=config.acting,
    )
    if learned_reward:
        from rlcli.build.preferences import build_preference_source

        return build_preference_source(config, collector, run_dir)
    return collector


def build_learner(
    config: TrainConfig, device: torch.device, run_dir: Path | None = None
) -> Learner:
    """Envs, network, optimizer and batch source for a config (spaces come from the env)."""
    algo: Algorithm = config.algo
    env = config.env
    envs = make_vector_env(
        env.id, env.num_envs, env.max_episode_steps, env.kwargs, vectorization=env.vectorization
    )
    observation_normalizer = reward_normalizer = None
    if env.normalize_observation:
        observation_normalizer = ObservationNormalizer(
            envs.single_observation_space.shape, env.clip_observation
        )
    if env.normalize_reward and config.rlhf.enabled:
        # The reward model scales its own output after every fit; a running return scale on top,
        # its statistics gathered under earlier fits, measured worse (docs/rlhf.md).
        log.info(
            "rlhf: the learned reward is normalised by the reward model; env.normalize_reward "
            "is not applied to it"
        )
    elif env.normalize_reward:
        reward_normalizer = RewardNormalizer(env.num_envs, algo.gamma, env.clip_reward)
    agent = make_agent(config, envs).to(device)
    optimizer = Adam(agent.parameters(), algo.learning_rate, eps=algo.adam_eps)
    source = build_source(config, envs, device, observation_normalizer, reward_normalizer, run_dir)
    return Learner(algo, agent, optimizer, source, observation_normalizer, reward_normalizer)


def compile_update(
    config: TrainConfig, learner: Learner, device: torch.device, mode: str | None = None
) -> bool:
    """Give the learner a compiled copy of its algorithm when ``mode`` (default: the config's
    ``compile``) says so (auto: when it pays over the budget, see rlcli/compiling.py); returns
    whether it did."""
    algo: Algorithm = learner.algo
    if algo.consumes != "rollouts":
        return False
    per_iteration = config.env.num_envs * algo.num_steps
    gradient_steps = max(1, config.total_timesteps // per_iteration) * algo.gradient_steps()
    shapes = [tuple(parameter.shape) for parameter in learner.agent.parameters()]
    network = dataclasses.asdict(config.network)
    signature = repr((torch.__version__, str(device), dataclasses.asdict(algo), network, shapes))
    if not compiling.should_compile(mode or config.compile, gradient_steps, signature):
        return False
    compiled = algo.compile_update(lambda function: compiling.compiled(function, signature))
    if compiled is None:
        return False
    learner.algo, learner.compiled_update = compiled, True
    return True


def build_training_run(
    config: TrainConfig,
    run_dir: Path,
    resume: dict[str, Any] | None = None,
    initial_weights: dict[str, Any] | None = None,
) -> TrainingRun:
    """A ready-to-run TrainingRun: fresh, warm-started from ``initial_weights``, or resumed."""
    seed_everything(config.seed)
    if config.torch_threads > 0:
        torch.set_num_threads(config.torch_threads)
    device = resolve_device(config.device)
    learner = build_learner(config, device, run_dir)
    # A resume keeps the saved run's choice: the same arithmetic as the run it continues.
    decided = None if resume is None else str(resume.get("compiled_update", False)).lower()
    if compile_update(config, learner, device, decided):
        mode = compiling.compile_mode(config.compile)
        log.info("compile=%s: the update step runs under torch.compile", mode)
    env = config.env
    eval_envs = make_vector_env(
        env.id, config.eval.episodes, env.max_episode_steps, env.kwargs, training=False
    )
    counters, exact_resume = Counters(), True
    if initial_weights is not None:
        load_weights(learner, initial_weights)
    if resume is not None:
        counters = Counters.from_dict(resume["counters"])
        exact_resume = restore_learner(learner, resume, config.seed)
        if not exact_resume:
            log.warning("%s state cannot be saved: resumed with freshly reset envs", env.id)
    resumed_step = counters.global_step if resume is not None else None
    hyperparameters = dataclasses.asdict(config)
    trackers = []
    if config.track == "wandb":
        from rlcli.tracking import WandbTracker

        trackers.append(WandbTracker(config.wandb, run_dir, hyperparameters, resume is not None))
    metrics = MetricsWriter(run_dir, hyperparameters, resumed_step, trackers)
    return TrainingRun(config, run_dir, learner, eval_envs, metrics, counters, exact_resume)
