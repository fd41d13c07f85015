"""train(config, run_dir): collect, update, evaluate, checkpoint; top to bottom."""

from __future__ import annotations

import dataclasses
import logging
import math
import random
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rlcli.algos.base import Algorithm
from rlcli.checkpoint import restore_rng_states, rng_states, save_checkpoint
from rlcli.console import Progress
from rlcli.envs import make_vector_env, reward_threshold
from rlcli.errors import UserError
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


def make_agent(config: TrainConfig, envs: gym.vector.VectorEnv) -> ActorCritic:
    """The network a config describes, for the envs' observation and action spaces."""
    return ActorCritic(
        envs.single_observation_space,
        envs.single_action_space,
        config.network.hidden_sizes,
        config.network.activation,
        with_critic=config.algo.uses_critic,
        orthogonal_init=config.network.orthogonal_init,
        log_std_init=config.network.log_std_init,
        architecture=config.network.architecture,
    )


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
    agent = make_agent(config, envs).to(device)
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
        "collector": learner.collector.state_dict(),
        "rng": rng_states(),
    }


def load_weights(learner: Learner, checkpoint: dict[str, Any]) -> None:
    """Network weights and observation statistics from a checkpoint; a mismatch is a user error."""
    try:
        learner.agent.load_state_dict(checkpoint["agent"])
    except RuntimeError as error:
        detail = str(error).strip().splitlines()[-1].strip()
        raise UserError(
            f"checkpoint network does not match this config's network: {detail}"
        ) from None
    saved_statistics = checkpoint.get("observation_normalizer")
    if learner.observation_normalizer is not None and saved_statistics is not None:
        learner.observation_normalizer.stats.load_state_dict(saved_statistics)


def restore_learner(learner: Learner, checkpoint: dict[str, Any], seed: int) -> bool:
    """Everything a resume needs; returns whether the envs were restored exactly."""
    load_weights(learner, checkpoint)
    learner.optimizer.load_state_dict(checkpoint["optimizer"])
    if learner.reward_normalizer is not None and checkpoint["reward_normalizer"] is not None:
        learner.reward_normalizer.load_state_dict(checkpoint["reward_normalizer"])
    exact = learner.collector.load_state_dict(checkpoint["collector"], seed)
    restore_rng_states(checkpoint["rng"])
    return exact


class TrainingInterrupted(Exception):
    """Training stopped on request (a signal) after saving a checkpoint to resume from."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class TrainingDiverged(Exception):
    """A loss or parameter became NaN or infinite; the last good checkpoint is kept."""


def all_finite(agent: ActorCritic, losses: dict[str, float]) -> bool:
    """Whether every logged loss and every parameter is finite (one fused norm per check)."""
    if not all(math.isfinite(value) for value in losses.values()):
        return False
    norms = torch._foreach_norm([p.detach() for p in agent.parameters()])
    return bool(torch.isfinite(torch.stack(norms)).all())


class TrainingRun:
    """One run's loop and bookkeeping: counters, evaluation, checkpoints, metrics."""

    def __init__(
        self,
        config: TrainConfig,
        run_dir: Path,
        resume: dict[str, Any] | None = None,
        initial_weights: dict[str, Any] | None = None,
        on_evaluation: Callable[[int, float], None] | None = None,
    ) -> None:
        """``on_evaluation(global_step, mean_return)`` is called after every evaluation (e.g. to
        report to a hyperparameter search); an exception it raises ends the run there."""
        self.on_evaluation = on_evaluation
        self.created = time.perf_counter()
        self.config = config
        self.run_dir = run_dir
        seed_everything(config.seed)
        if config.torch_threads > 0:
            torch.set_num_threads(config.torch_threads)
        self.learner = build_learner(config, resolve_device(config.device))
        env = config.env
        self.eval_envs = make_vector_env(
            env.id, config.eval.episodes, env.max_episode_steps, env.kwargs, training=False
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
            "last_eval_step": None,
            "training_seconds": 0.0,
        }
        self.stop_requested: str | None = None
        self.exact_resume = True
        if initial_weights is not None:
            load_weights(self.learner, initial_weights)
        if resume is not None:
            self.counters.update(resume["counters"])
            self.exact_resume = restore_learner(self.learner, resume, config.seed)
            if not self.exact_resume:
                log.warning("%s state cannot be saved: resumed with freshly reset envs", env.id)
        self.recent_returns: deque[float] = deque(maxlen=20)
        self.evaluation: EvalResult | None = None
        self.eval_seconds = 0.0
        self.training_started = time.perf_counter() - self.counters["training_seconds"]
        resumed_step = self.counters["global_step"] if resume is not None else None
        self.metrics = MetricsWriter(run_dir, dataclasses.asdict(config), resumed_step)
        self.progress = Progress(self.num_iterations * self.steps_per_iteration, config.progress)

    def save(self, name: str) -> Path:
        """Write checkpoints/<name>.pt with the full state of the run."""
        self.counters["training_seconds"] = self.training_seconds()
        path = self.run_dir / "checkpoints" / f"{name}.pt"
        save_checkpoint(path, checkpoint_payload(self.learner, self.config, self.counters))
        return path

    def request_stop(self, reason: str) -> None:
        """Ask the loop to checkpoint and stop after the current iteration (signal-safe)."""
        self.stop_requested = reason

    def evaluate(self) -> EvalResult:
        """Deterministic evaluation episodes; logs eval/*, keeps best.pt, notes the solved step."""
        started = time.perf_counter()
        step = self.counters["last_eval_step"] = self.counters["global_step"]
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
        if self.on_evaluation is not None:
            self.on_evaluation(step, result.mean_return)
        return result

    def iterate(self, iteration: int) -> None:
        """One collect + update, and its training metrics."""
        learner, algo = self.learner, self.learner.algo
        fraction_done = (iteration - 1) / self.num_iterations
        learning_rate = algo.learning_rate * (1.0 - fraction_done if algo.anneal_lr else 1.0)
        learner.optimizer.learning_rate = learning_rate

        rollout = learner.collector.collect(learner.agent)
        losses = algo.update(learner.agent, learner.optimizer, rollout, fraction_done)

        global_step = learner.collector.global_step
        if not all_finite(learner.agent, losses):
            latest = self.run_dir / "checkpoints" / "latest.pt"
            kept = f"last good checkpoint: {latest}" if latest.exists() else "no checkpoint yet"
            raise TrainingDiverged(
                f"training diverged at step {global_step:,} (a loss or parameter is NaN or "
                f"infinite); {kept}. Try a lower algo.learning_rate or algo.max_grad_norm."
            )
        self.counters["global_step"] = global_step
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
        every_eval, every_checkpoint = config.eval.every_steps, config.checkpoint_every_steps
        try:
            for iteration in range(self.counters["iteration"] + 1, self.num_iterations + 1):
                self.iterate(iteration)
                step = self.counters["global_step"]
                previous = step - self.steps_per_iteration
                if every_eval and step // every_eval > previous // every_eval:
                    self.evaluate()
                    if config.stop_when_solved and self.counters["first_solved_step"] is not None:
                        break
                if every_checkpoint and step // every_checkpoint > previous // every_checkpoint:
                    self.save("latest")
                if self.stop_requested is not None:
                    path = self.save("latest")
                    raise TrainingInterrupted(
                        f"{self.stop_requested}: stopped at step {step:,} and saved {path}; "
                        f"resume with: rlcli train resume={self.run_dir}",
                        self.stop_requested,
                    )
                recent = float(np.mean(self.recent_returns)) if self.recent_returns else None
                last_eval = self.evaluation.mean_return if self.evaluation else None
                self.progress.update(step, self.sps(), recent, last_eval)
        except BaseException:
            self.close()
            raise
        return self.finish()

    def close(self) -> None:
        """Flush metrics and close envs (also on interruption or divergence)."""
        self.progress.close()
        self.metrics.close()
        self.learner.collector.envs.close()
        self.eval_envs.close()

    def finish(self) -> dict[str, Any]:
        """Final evaluation and checkpoint, summary.json, and closing everything."""
        sps = self.sps()
        if (
            self.counters["last_eval_step"] != self.counters["global_step"]
            or self.evaluation is None
        ):
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
            "exact_resume": self.exact_resume,
        }
        self.progress.update(
            summary["global_step"], sps, None, summary["final_eval_mean_return"], True
        )
        self.close()
        write_json(self.run_dir / "summary.json", summary)
        return summary


def train(
    config: TrainConfig,
    run_dir: Path,
    resume: dict[str, Any] | None = None,
    initial_weights: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train one agent into ``run_dir``; returns the summary also written to summary.json.

    ``resume`` (a checkpoint of this run) continues it exactly; ``initial_weights`` (a checkpoint
    of any run with the same network) only starts from its weights.
    """
    return TrainingRun(config, run_dir, resume, initial_weights).run()
