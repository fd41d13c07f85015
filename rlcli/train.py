"""train(config, run_dir): collect, update, evaluate, checkpoint; top to bottom."""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rlcli.algos.base import Algorithm
from rlcli.checkpoint import rng_states, save_checkpoint
from rlcli.console import Progress
from rlcli.envs import make_vector_env, reward_threshold
from rlcli.evaluate import EvalResult, run_episodes
from rlcli.metrics import MetricsWriter, write_json
from rlcli.networks import ActorCritic
from rlcli.normalization import ObservationNormalizer, RewardNormalizer
from rlcli.rollout import RolloutCollector
from rlcli.settings import TrainConfig

log = logging.getLogger("rlcli")

EVAL_SEED_OFFSET = 10_000  # evaluation envs never share seeds with training envs


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


@dataclasses.dataclass
class Learner:
    """Everything that changes while training; what a checkpoint saves."""

    algo: Algorithm
    agent: ActorCritic
    optimizer: torch.optim.Optimizer
    collector: RolloutCollector
    observation_normalizer: ObservationNormalizer | None
    reward_normalizer: RewardNormalizer | None


def build_learner(config: TrainConfig, device: torch.device) -> Learner:
    """Envs, network, optimizer and collector for a config (spaces come from the env)."""
    algo: Algorithm = config.algo
    env = config.env
    envs = make_vector_env(env.id, env.num_envs, env.max_episode_steps, env.kwargs)
    observation_normalizer = reward_normalizer = None
    if env.normalize_observation:
        observation_normalizer = ObservationNormalizer(
            envs.single_observation_space.shape, env.clip_observation
        )
    if env.normalize_reward:
        reward_normalizer = RewardNormalizer(env.num_envs, algo.gamma, env.clip_reward)
    agent = ActorCritic(
        envs.single_observation_space,
        envs.single_action_space,
        config.network.hidden_sizes,
        config.network.activation,
        with_critic=algo.uses_critic,
        orthogonal_init=config.network.orthogonal_init,
        log_std_init=config.network.log_std_init,
    ).to(device)
    optimizer = torch.optim.Adam(agent.parameters(), lr=algo.learning_rate, eps=algo.adam_eps)
    collector = RolloutCollector(
        envs, algo.num_steps, config.seed, device, observation_normalizer, reward_normalizer
    )
    return Learner(algo, agent, optimizer, collector, observation_normalizer, reward_normalizer)


def checkpoint_payload(learner: Learner, config: TrainConfig, counters: dict[str, Any]) -> dict:
    """A plain dict holding all the state of a run (loads with ``weights_only=True``)."""
    return {
        "format_version": 1,
        "agent": learner.agent.state_dict(),
        "optimizer": learner.optimizer.state_dict(),
        "config": dataclasses.asdict(config),
        "counters": dict(counters),
        "observation_normalizer": (
            learner.observation_normalizer.stats.state_dict()
            if learner.observation_normalizer
            else None
        ),
        "reward_normalizer": (
            learner.reward_normalizer.state_dict() if learner.reward_normalizer else None
        ),
        "rng": rng_states(),
    }


def train(config: TrainConfig, run_dir: Path) -> dict[str, Any]:
    """Train one agent into ``run_dir``; returns the summary also written to summary.json."""
    started = time.perf_counter()
    seed_everything(config.seed)
    if config.torch_threads > 0:
        torch.set_num_threads(config.torch_threads)
    device = resolve_device(config.device)
    learner = build_learner(config, device)
    algo, collector = learner.algo, learner.collector
    eval_envs = make_vector_env(
        config.env.id, config.eval.episodes, config.env.max_episode_steps, config.env.kwargs
    )
    threshold = reward_threshold(config.env.id, config.env.reward_threshold)
    steps_per_iteration = config.env.num_envs * algo.num_steps
    num_iterations = max(1, config.total_timesteps // steps_per_iteration)
    metrics = MetricsWriter(run_dir, dataclasses.asdict(config))
    progress = Progress(num_iterations * steps_per_iteration, config.progress)
    counters: dict[str, Any] = {
        "global_step": 0,
        "iteration": 0,
        "best_eval_mean_return": None,
        "first_solved_step": None,
    }
    recent_returns: deque[float] = deque(maxlen=20)
    evaluation: EvalResult | None = None
    eval_seconds = 0.0
    last_eval_step: int | None = None
    next_eval = config.eval.every_steps or None
    next_checkpoint = config.checkpoint_every_steps or None

    def evaluate_and_checkpoint() -> EvalResult:
        nonlocal eval_seconds, last_eval_step
        last_eval_step = counters["global_step"]
        eval_started = time.perf_counter()
        result = run_episodes(
            learner.agent,
            eval_envs,
            config.seed + EVAL_SEED_OFFSET,
            config.eval.deterministic,
            learner.observation_normalizer,
        )
        eval_seconds += time.perf_counter() - eval_started
        metrics.scalars(result.as_scalars(), counters["global_step"])
        best = counters["best_eval_mean_return"]
        if best is None or result.mean_return > best:
            counters["best_eval_mean_return"] = result.mean_return
            save_checkpoint(
                run_dir / "checkpoints" / "best.pt", checkpoint_payload(learner, config, counters)
            )
        if threshold is not None and result.mean_return >= threshold:
            counters["first_solved_step"] = counters["first_solved_step"] or counters["global_step"]
        return result

    training_started = time.perf_counter()
    for iteration in range(1, num_iterations + 1):
        fraction_done = (iteration - 1) / num_iterations
        learning_rate = algo.learning_rate * (1.0 - fraction_done if algo.anneal_lr else 1.0)
        for group in learner.optimizer.param_groups:
            group["lr"] = learning_rate

        rollout = collector.collect(learner.agent)
        losses = algo.update(learner.agent, learner.optimizer, rollout, fraction_done)

        global_step = counters["global_step"] = collector.global_step
        counters["iteration"] = iteration
        for episode in collector.drain_episodes():
            recent_returns.append(episode.episode_return)
            metrics.scalars(
                {
                    "charts/episodic_return": episode.episode_return,
                    "charts/episodic_length": episode.length,
                },
                episode.global_step,
            )
        sps = global_step / max(time.perf_counter() - training_started - eval_seconds, 1e-9)
        metrics.scalars(
            {**losses, "charts/learning_rate": learning_rate, "charts/SPS": sps}, global_step
        )

        if next_eval is not None and global_step >= next_eval:
            next_eval += config.eval.every_steps
            evaluation = evaluate_and_checkpoint()
            if config.stop_when_solved and counters["first_solved_step"] is not None:
                break
        if next_checkpoint is not None and global_step >= next_checkpoint:
            next_checkpoint += config.checkpoint_every_steps
            save_checkpoint(
                run_dir / "checkpoints" / "latest.pt", checkpoint_payload(learner, config, counters)
            )
        progress.update(
            global_step,
            sps,
            float(np.mean(recent_returns)) if recent_returns else None,
            evaluation.mean_return if evaluation else None,
        )

    training_seconds = time.perf_counter() - training_started - eval_seconds
    if evaluation is None or last_eval_step != counters["global_step"]:
        evaluation = evaluate_and_checkpoint()
    save_checkpoint(
        run_dir / "checkpoints" / "final.pt", checkpoint_payload(learner, config, counters)
    )
    summary = {
        "algo": algo.name,
        "env_id": config.env.id,
        "seed": config.seed,
        "global_step": counters["global_step"],
        "iterations": counters["iteration"],
        "wall_seconds": time.perf_counter() - started,
        "sps": counters["global_step"] / max(training_seconds, 1e-9),
        "final_eval_mean_return": evaluation.mean_return,
        "final_eval_std_return": evaluation.std_return,
        "final_eval_returns": evaluation.returns,
        "best_eval_mean_return": counters["best_eval_mean_return"],
        "first_solved_step": counters["first_solved_step"],
        "reward_threshold": threshold,
    }
    progress.update(counters["global_step"], summary["sps"], None, evaluation.mean_return, force=True)
    progress.close()
    metrics.close()
    write_json(run_dir / "summary.json", summary)
    collector.envs.close()
    eval_envs.close()
    return summary
