"""The training loop: collect, update, evaluate, checkpoint; top to bottom.

Everything it works on (the learner, evaluation envs, metrics writer) is built by rlcli/build.py
and handed in; this module only runs and records it.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import gymnasium as gym
import torch

from rlcli.algos.base import Algorithm
from rlcli.checkpoint import restore_rng_states, rng_states, save_checkpoint
from rlcli.console import RunLog, end_of_run_summary, shown_path
from rlcli.envs import reward_threshold
from rlcli.episodes import TrainingEpisodes
from rlcli.errors import TrainingDiverged, TrainingInterrupted, UserError
from rlcli.evaluate import EvalResult, run_episodes
from rlcli.metrics import MetricsWriter, write_json
from rlcli.networks import ActorCritic
from rlcli.normalization import ObservationNormalizer, RewardNormalizer
from rlcli.optim import Adam
from rlcli.records import Counters, RunSummary
from rlcli.rollout import Episode
from rlcli.settings import TrainConfig

log = logging.getLogger("rlcli")

EVAL_SEED_OFFSET = 10_000  # evaluation envs never share seeds with training envs


class BatchSource(Protocol):
    """What an algorithm learns from, one batch per iteration: env rollouts or a dataset."""

    global_step: int
    steps_per_iteration: int | None
    """Env steps (or samples) per batch; None when batches vary in length (whole episodes)."""

    def collect(self, agent: ActorCritic) -> Any:
        """The next batch for ``algo.update``."""
        ...

    def drain_episodes(self) -> list[Episode]:
        """Training episodes finished since the last call (none for a dataset)."""
        ...

    def drain_scalars(self) -> dict[str, float]:
        """Source-specific TensorBoard scalars of the last batch (tag -> value)."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """Plain-data state for a checkpoint."""
        ...

    def load_state_dict(self, state: dict[str, Any], seed: int) -> bool:
        """Continue from ``state_dict()``; False when the continuation is not exact."""
        ...

    def close(self) -> None:
        """Release envs or files."""
        ...


@dataclasses.dataclass
class Learner:
    """Everything that changes while training; what a checkpoint saves."""

    algo: Algorithm
    agent: ActorCritic
    optimizer: Adam
    source: BatchSource
    observation_normalizer: ObservationNormalizer | None
    reward_normalizer: RewardNormalizer | None
    compiled_update: bool = False
    """Whether the update runs under torch.compile (``compile``); a resume keeps the choice."""


def checkpoint_payload(learner: Learner, config: TrainConfig, counters: Counters) -> dict:
    """A plain dict holding all the state of a run (loads with ``weights_only=True``)."""
    return {
        "format_version": 1,
        "agent": learner.agent.state_dict(),
        "optimizer": learner.optimizer.state_dict(),
        "config": dataclasses.asdict(config),
        "counters": counters.as_dict(),
        "observation_normalizer": (
            learner.observation_normalizer.stats.state_dict()
            if learner.observation_normalizer
            else None
        ),
        "reward_normalizer": (
            learner.reward_normalizer.state_dict() if learner.reward_normalizer else None
        ),
        "collector": learner.source.state_dict(),
        "compiled_update": learner.compiled_update,
        "rng": rng_states(),
    }


def load_weights(learner: Learner, checkpoint: dict[str, Any]) -> None:
    """Network weights and observation statistics from a checkpoint; a mismatch is a user error."""
    state = checkpoint["agent"]
    # A policy cloned from demonstrations has no critic: RL starting from it learns a fresh one.
    without_critic = learner.agent.critic is not None and not any(
        key.startswith("critic.") for key in state
    )
    try:
        result = learner.agent.load_state_dict(state, strict=not without_critic)
        leftovers = [key for key in result.missing_keys if not key.startswith("critic.")]
        if leftovers or result.unexpected_keys:
            raise RuntimeError(f"missing {leftovers}, unexpected {result.unexpected_keys}")
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
    exact = learner.source.load_state_dict(checkpoint["collector"], seed)
    restore_rng_states(checkpoint["rng"])
    return exact


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
        learner: Learner,
        eval_envs: gym.vector.VectorEnv,
        metrics: MetricsWriter,
        counters: Counters | None = None,
        exact_resume: bool = True,
    ) -> None:
        self.created = time.perf_counter()
        self.config = config
        self.run_dir = run_dir
        self.learner = learner
        self.eval_envs = eval_envs
        self.metrics = metrics
        self.counters = counters or Counters()
        self.exact_resume = exact_resume
        self.threshold = reward_threshold(config.env.id, config.env.reward_threshold)
        per_iteration = learner.source.steps_per_iteration
        # Fixed-size batches: the budget is whole iterations; batches of whole episodes vary in
        # length, so their budget is total_timesteps itself.
        self.final_step = config.total_timesteps
        if per_iteration is not None:
            self.final_step = max(1, config.total_timesteps // per_iteration) * per_iteration
        self.on_evaluation: Callable[[int, float], None] | None = None
        """``on_evaluation(global_step, mean_return)`` after every evaluation (e.g. a search's
        reporter); an exception it raises ends the run there."""
        self.stop_requested: str | None = None
        self.episodes = TrainingEpisodes(
            self.counters, metrics, config.running_return_weight, config.log_every_episodes
        )
        self.evaluation: EvalResult | None = None
        self.eval_seconds = 0.0
        self.last_source_scalars: dict[str, float] = {}
        self.training_started = time.perf_counter() - self.counters.training_seconds
        self.log = RunLog(run_dir, self.final_step, config.progress)

    def save(self, name: str) -> Path:
        """Write checkpoints/<name>.pt with the full state of the run."""
        self.counters.training_seconds = self.training_seconds()
        path = self.run_dir / "checkpoints" / f"{name}.pt"
        save_checkpoint(path, checkpoint_payload(self.learner, self.config, self.counters))
        return path

    def request_stop(self, reason: str) -> None:
        """Ask the loop to checkpoint and stop after the current iteration (signal-safe)."""
        self.stop_requested = reason

    def evaluate(self) -> EvalResult:
        """Evaluation episodes; logs eval/*, keeps best.pt, notes the solved step."""
        started = time.perf_counter()
        counters = self.counters
        step = counters.last_eval_step = counters.global_step
        result = run_episodes(
            self.learner.agent,
            self.eval_envs,
            self.config.seed + EVAL_SEED_OFFSET,
            self.config.eval.deterministic,
            self.learner.observation_normalizer,
        )
        self.eval_seconds += time.perf_counter() - started
        self.metrics.scalars(result.as_scalars(), step)
        if counters.best_eval_mean_return is None or result.mean_return > (
            counters.best_eval_mean_return
        ):
            counters.best_eval_mean_return = result.mean_return
            self.save("best")
        solved = self.threshold is not None and result.mean_return >= self.threshold
        if solved and counters.first_solved_step is None:
            counters.first_solved_step = step
            counters.first_solved_seconds = self.training_seconds()
        self.evaluation = result
        self.log.evaluation(
            step, result.mean_return, result.std_return, counters.best_eval_mean_return
        )
        if self.on_evaluation is not None:
            self.on_evaluation(step, result.mean_return)
        return result

    def iterate(self, iteration: int) -> None:
        """One collect + update, and its training metrics."""
        learner, algo = self.learner, self.learner.algo
        fraction_done = self.counters.global_step / self.final_step
        learning_rate = algo.learning_rate * (1.0 - fraction_done if algo.anneal_lr else 1.0)
        learner.optimizer.learning_rate = learning_rate

        batch = learner.source.collect(learner.agent)
        losses = algo.update(learner.agent, learner.optimizer, batch, fraction_done)

        global_step = learner.source.global_step
        if not all_finite(learner.agent, losses):
            latest = self.run_dir / "checkpoints" / "latest.pt"
            kept = f"last good checkpoint: {latest}" if latest.exists() else "no checkpoint yet"
            raise TrainingDiverged(
                f"training diverged at step {global_step:,} (a loss or parameter is NaN or "
                f"infinite); {kept}. Try a lower algo.learning_rate or algo.max_grad_norm."
            )
        self.counters.global_step = global_step
        self.counters.iteration = iteration
        for episode in learner.source.drain_episodes():
            self.episodes.record(episode)
        extra = {"charts/learning_rate": learning_rate, "charts/SPS": self.sps()}
        source_scalars = learner.source.drain_scalars()
        self.last_source_scalars.update(source_scalars)
        self.metrics.scalars({**losses, **source_scalars, **extra}, global_step)

    def training_seconds(self) -> float:
        """Seconds spent training so far, evaluation excluded."""
        return time.perf_counter() - self.training_started - self.eval_seconds

    def sps(self) -> float:
        """Training steps per second so far, evaluation time excluded."""
        return self.counters.global_step / max(self.training_seconds(), 1e-9)

    def run(self) -> RunSummary:
        """Train for the budget (or until solved); returns the summary."""
        config = self.config
        every_eval, every_checkpoint = config.eval.every_steps, config.checkpoint_every_steps
        self.log.open()
        self.log.info(self.start_line())
        try:
            while self.counters.global_step < self.final_step:
                previous = self.counters.global_step
                self.iterate(self.counters.iteration + 1)
                step = self.counters.global_step
                if every_eval and step // every_eval > previous // every_eval:
                    self.evaluate()
                    if config.stop_when_solved and self.counters.first_solved_step is not None:
                        break
                running_stop = config.stop_when_running_return_solved
                if running_stop and self.episodes.running_return_solved(self.threshold):
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
                last_eval = self.evaluation.mean_return if self.evaluation else None
                self.log.progress(step, self.sps(), self.episodes.recent_mean(), last_eval)
        except BaseException as error:
            self.log.info(f"stopped: {type(error).__name__}: {error}", console=False)
            self.close()
            raise
        return self.finish()

    def start_line(self) -> str:
        """The log's first line of this run (or of this resume): what trains, how, where."""
        config, counters = self.config, self.counters
        network = config.network
        widths = "x".join(str(size) for size in network.hidden_sizes)
        cnn = "Nature CNN + " if self.learner.agent.encoder is not None else ""
        begin = f"resumed at step {counters.global_step:,}" if counters.global_step else "start"
        solved = (
            f"; stops at the first evaluation >= {self.threshold:g}"
            if config.stop_when_solved and self.threshold is not None
            else ""
        )
        return (
            f"{begin}: {self.learner.algo.name} on {config.env.id}, seed {config.seed}, "
            f"{self.final_step:,} steps ({self._iteration_shape()}), "
            f"network {cnn}{widths} {network.activation}, evaluation every "
            f"{config.eval.every_steps:,} steps{solved}; run directory {shown_path(self.run_dir)}"
        )

    def _iteration_shape(self) -> str:
        """What one iteration collects, in words."""
        per_iteration = self.learner.source.steps_per_iteration
        if self.learner.algo.consumes != "rollouts":
            return f"{per_iteration:,} samples an iteration"
        if per_iteration is None:
            return f"{self.config.env.num_envs} envs x whole episodes an iteration"
        steps = per_iteration // max(self.config.env.num_envs, 1)
        return f"{self.config.env.num_envs} envs x {steps} steps an iteration"

    def close(self) -> None:
        """Flush metrics and close envs (also on interruption or divergence)."""
        self.log.close()
        self.metrics.close()
        self.learner.source.close()
        self.eval_envs.close()

    def finish(self) -> RunSummary:
        """Final evaluation and checkpoint, summary.json, and closing everything."""
        sps = self.sps()
        counters = self.counters
        if counters.last_eval_step != counters.global_step or self.evaluation is None:
            self.evaluate()
        assert self.evaluation is not None
        self.save("final")
        summary = RunSummary(
            algo=self.learner.algo.name,
            env_id=self.config.env.id,
            seed=self.config.seed,
            global_step=counters.global_step,
            iterations=counters.iteration,
            wall_seconds=time.perf_counter() - self.created,
            sps=sps,
            final_eval_mean_return=self.evaluation.mean_return,
            final_eval_std_return=self.evaluation.std_return,
            final_eval_returns=self.evaluation.returns,
            best_eval_mean_return=counters.best_eval_mean_return,
            first_solved_step=counters.first_solved_step,
            first_solved_seconds=counters.first_solved_seconds,
            reward_threshold=self.threshold,
            exact_resume=self.exact_resume,
            episodes=len(counters.episode_returns),
            running_return=counters.running_return,
            extra={
                f"final_{tag.replace('/', '_')}": v for tag, v in self.last_source_scalars.items()
            },
        )
        self.log.progress(
            summary.global_step,
            sps,
            self.episodes.recent_mean(),
            summary.final_eval_mean_return,
            True,
        )
        title = f"{summary.algo} {summary.env_id} seed {summary.seed}: training episodes"
        self.episodes.plot(self.run_dir / "rewards.png", self.threshold, title)
        write_json(self.run_dir / "summary.json", summary.as_dict())
        self.metrics.summary(summary.as_dict())
        spec_threshold = reward_threshold(self.config.env.id, None)
        self.log.info(end_of_run_summary(summary, self.run_dir, self.final_step, spec_threshold))
        self.close()
        return summary
