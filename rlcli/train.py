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
from rlcli.optim import Adam
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
    optimizer: Adam
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
    optimizer = Adam(agent.parameters(), algo.learning_rate, eps=algo.adam_eps)
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


class TrainingRun:
    """One run's loop and bookkeeping: counters, evaluation, checkpoints, metrics."""

    def __init__(self, config: TrainConfig, run_dir: Path) -> None:
        self.created = time.perf_counter()
        self.config = config
        self.run_dir = run_dir
        seed_everything(config.seed)
        if config.torch_threads > 0:
            torch.set_num_threads(config.torch_threads)
        self.learner = build_learner(config, resolve_device(config.device))
        env = config.env
        self.eval_envs = make_vector_env(
            env.id, config.eval.episodes, env.max_episode_steps, env.kwargs
        )
        self.threshold = reward_threshold(env.id, env.reward_threshold)
        self.steps_per_iteration = env.num_envs * self.learner.algo.num_steps
        self.num_iterations = max(1, config.total_timesteps // self.steps_per_iteration)
        self.counters: dict[str, Any] = {
            "global_step": 0,
            "iteration": 0,
            "best_eval_mean_return": None,
            "first_solved_step": None,
            "first_solved_seconds": None,
        }
        self.recent_returns: deque[float] = deque(maxlen=20)
        self.evaluation: EvalResult | None = None
        self.last_eval_step: int | None = None
        self.eval_seconds = 0.0
        self.training_started = time.perf_counter()
        self.metrics = MetricsWriter(run_dir, dataclasses.asdict(config))
        self.progress = Progress(self.num_iterations * self.steps_per_iteration, config.progress)

    def save(self, name: str) -> None:
        """Write checkpoints/<name>.pt with the full state of the run."""
        payload = checkpoint_payload(self.learner, self.config, self.counters)
        save_checkpoint(self.run_dir / "checkpoints" / f"{name}.pt", payload)

    def evaluate(self) -> EvalResult:
        """Deterministic evaluation episodes; logs eval/*, keeps best.pt, notes the solved step."""
        started = time.perf_counter()
        step = self.last_eval_step = self.counters["global_step"]
        result = run_episodes(
            self.learner.agent,
            self.eval_envs,
            self.config.seed + EVAL_SEED_OFFSET,
            self.config.eval.deterministic,
            self.learner.observation_normalizer,
        )
        self.eval_seconds += time.perf_counter() - started
        self.metrics.scalars(result.as_scalars(), step)
        best = self.counters["best_eval_mean_return"]
        if best is None or result.mean_return > best:
            self.counters["best_eval_mean_return"] = result.mean_return
            self.save("best")
        solved = self.threshold is not None and result.mean_return >= self.threshold
        if solved and self.counters["first_solved_step"] is None:
            self.counters["first_solved_step"] = step
            self.counters["first_solved_seconds"] = self.training_seconds()
        self.evaluation = result
        return result

    def iterate(self, iteration: int) -> None:
        """One collect + update, and its training metrics."""
        learner, algo = self.learner, self.learner.algo
        fraction_done = (iteration - 1) / self.num_iterations
        learning_rate = algo.learning_rate * (1.0 - fraction_done if algo.anneal_lr else 1.0)
        learner.optimizer.learning_rate = learning_rate

        rollout = learner.collector.collect(learner.agent)
        losses = algo.update(learner.agent, learner.optimizer, rollout, fraction_done)

        global_step = self.counters["global_step"] = learner.collector.global_step
        self.counters["iteration"] = iteration
        for episode in learner.collector.drain_episodes():
            self.recent_returns.append(episode.episode_return)
            self.metrics.scalars(
                {
                    "charts/episodic_return": episode.episode_return,
                    "charts/episodic_length": episode.length,
                },
                episode.global_step,
            )
        extra = {"charts/learning_rate": learning_rate, "charts/SPS": self.sps()}
        self.metrics.scalars({**losses, **extra}, global_step)

    def training_seconds(self) -> float:
        """Seconds spent training so far, evaluation excluded."""
        return time.perf_counter() - self.training_started - self.eval_seconds

    def sps(self) -> float:
        """Training env steps per second so far, evaluation time excluded."""
        return self.counters["global_step"] / max(self.training_seconds(), 1e-9)

    def run(self) -> dict[str, Any]:
        """Train for the budget (or until solved); returns the summary."""
        config = self.config
        self.training_started = time.perf_counter()
        every_eval, every_checkpoint = config.eval.every_steps, config.checkpoint_every_steps
        for iteration in range(1, self.num_iterations + 1):
            self.iterate(iteration)
            step = self.counters["global_step"]
            previous = step - self.steps_per_iteration
            if every_eval and step // every_eval > previous // every_eval:
                self.evaluate()
                if config.stop_when_solved and self.counters["first_solved_step"] is not None:
                    break
            if every_checkpoint and step // every_checkpoint > previous // every_checkpoint:
                self.save("latest")
            recent = float(np.mean(self.recent_returns)) if self.recent_returns else None
            last_eval = self.evaluation.mean_return if self.evaluation else None
            self.progress.update(step, self.sps(), recent, last_eval)
        return self.finish()

    def finish(self) -> dict[str, Any]:
        """Final evaluation and checkpoint, summary.json, and closing everything."""
        sps = self.sps()
        if self.last_eval_step != self.counters["global_step"]:
            self.evaluate()
        assert self.evaluation is not None
        self.save("final")
        summary = {
            "algo": self.learner.algo.name,
            "env_id": self.config.env.id,
            "seed": self.config.seed,
            "global_step": self.counters["global_step"],
            "iterations": self.counters["iteration"],
            "wall_seconds": time.perf_counter() - self.created,
            "sps": sps,
            "final_eval_mean_return": self.evaluation.mean_return,
            "final_eval_std_return": self.evaluation.std_return,
            "final_eval_returns": self.evaluation.returns,
            "best_eval_mean_return": self.counters["best_eval_mean_return"],
            "first_solved_step": self.counters["first_solved_step"],
            "first_solved_seconds": self.counters["first_solved_seconds"],
            "reward_threshold": self.threshold,
        }
        self.progress.update(
            summary["global_step"], sps, None, summary["final_eval_mean_return"], True
        )
        self.progress.close()
        self.metrics.close()
        write_json(self.run_dir / "summary.json", summary)
        self.learner.collector.envs.close()
        self.eval_envs.close()
        return summary


def train(config: TrainConfig, run_dir: Path) -> dict[str, Any]:
    """Train one agent into ``run_dir``; returns the summary also written to summary.json."""
    return TrainingRun(config, run_dir).run()
