"""Rollouts rewarded by a learned model minus a KL penalty, with online preference learning.

Wraps the ordinary rollout collector: PPO receives a rollout whose ``rewards`` are
r_hat(s, a) - beta * (log pi(a|s) - log pi_ref(a|s)) and never learns where they came from. The
env's own (true) rewards stay in ``charts/episodic_return``, so reward hacking shows up as
``rlhf/learned_episodic_return`` rising while ``charts/episodic_return`` falls.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rlcli.episodes import running_average
from rlcli.networks import ActorCritic
from rlcli.normalization import ObservationNormalizer
from rlcli.rlhf.kl import AdaptiveKLController, kl_penalized_rewards
from rlcli.rlhf.labellers import Labeller
from rlcli.rlhf.reward_model import (
    Comparisons,
    FitResult,
    RewardModel,
    disagreement,
    fit_reward_model,
)
from rlcli.rlhf.segments import (
    SegmentPool,
    Segments,
    random_pairs,
    rollout_reward_inputs,
    rollout_segments,
    termination_pairs,
)
from rlcli.rollout import Episode, Rollout, RolloutCollector
from rlcli.settings import RlhfConfig

KL_AVERAGE_WEIGHT = 0.05
"""Weight of each rollout's KL in ``rlhf/kl_average`` (one rollout's estimate is noisy)."""


def absorbing_discount(gamma: float, steps: int | None) -> float:
    """Sum of gamma^k over the absorbing steps after a termination, k = 1 .. steps (forever
    when ``steps`` is None): gamma / (1 - gamma), or gamma (1 - gamma^steps) / (1 - gamma)."""
    if steps is None:
        return gamma / (1 - gamma)
    return gamma * (1 - gamma**steps) / (1 - gamma)


@dataclass
class ReferencePolicy:
    """The frozen policy the KL term keeps the learner near, with its own observation scaling."""

    agent: ActorCritic
    observation_normalizer: ObservationNormalizer | None

    def log_probs(self, raw_observations: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """log pi_ref(a|s) [T, N] for raw observations [T, N, *obs] and actions [T, N, ...]."""
        observations = raw_observations.flatten(0, 1)
        if self.observation_normalizer is not None:
            observations = torch.from_numpy(
                self.observation_normalizer(observations.numpy(), update=False)
            )
        with torch.no_grad():
            log_probs, _, _ = self.agent.evaluate_actions(observations, actions.flatten(0, 1))
        return log_probs.reshape(actions.shape[:2])


def labels_due(step: int, total_steps: int, budget: int, initial_fraction: float) -> int:
    """Labels that should exist by ``step``: ``initial_fraction`` of the budget at once, the rest
    at a rate falling linearly to zero at the end of the run (more labels early)."""
    progress = min(max(step / max(total_steps, 1), 0.0), 1.0)
    fraction = initial_fraction + (1.0 - initial_fraction) * (1.0 - (1.0 - progress) ** 2)
    return min(budget, round(budget * fraction))


class PreferenceRewardSource:
    """A BatchSource: env rollouts rewarded by a learned reward model (and a KL leash)."""

    def __init__(
        self,
        collector: RolloutCollector,
        reward_model: RewardModel,
        config: RlhfConfig,
        total_steps: int,
        labeller: Labeller | None,
        reference: ReferencePolicy | None = None,
        seed: int = 0,
        gamma: float = 0.99,
    ) -> None:
        self.collector = collector
        self.reward_model = reward_model
        self.config = config
        self.total_steps = total_steps
        self.labeller = labeller
        self.reference = reference
        self.gamma = min(gamma, 0.999)
        self.kl_controller = AdaptiveKLController(
            config.kl_coef if reference is not None else 0.0, config.kl_target, config.kl_horizon
        )
        self.generator = torch.Generator().manual_seed(seed)
        self.pool = SegmentPool(config.segment_pool)
        self.comparisons: Comparisons | None = None
        self.last_fit: FitResult | None = None
        self.action_space: gym.Space = collector.envs.single_action_space
        self._learned_returns = np.zeros(collector.envs.num_envs)
        self._kl_average: float | None = None
        self._scalars: dict[str, float] = {}

    @property
    def global_step(self) -> int:
        """Env steps so far (the collector's)."""
        return self.collector.global_step

    @property
    def steps_per_iteration(self) -> int:
        """Env steps per collect."""
        return self.collector.steps_per_iteration

    @property
    def labels(self) -> int:
        """Comparisons labelled so far."""
        return 0 if self.comparisons is None else len(self.comparisons)

    def collect(self, agent: ActorCritic) -> Rollout:
        """A rollout of ``agent`` whose rewards are the learned (and KL-penalised) ones."""
        collected = self.collector.collect(agent)
        # The reward model, the reference policy and the normalisers run on the CPU; the rewards
        # go back into the collected rollout, wherever the learner keeps it.
        rollout = collected.to(torch.device("cpu"))
        assert rollout.raw_observations is not None and rollout.raw_rewards is not None
        inputs = rollout_reward_inputs(
            rollout,
            self.collector.next_raw_observations,
            self.action_space,
            self.reward_model.uses_next_observation,
        )
        if self.config.online and self.labeller is not None:
            self._learn_preferences(rollout, inputs)
        with torch.no_grad():
            learned = self.reward_model.reward(inputs)  # [T, N]
            # A termination enters the absorbing state: its discounted learned value is paid on
            # the terminal step, which GAE does not bootstrap. A terminal row's inputs are those
            # of its episode's last step; only those rows are evaluated.
            ended = rollout.terminations
            if bool(ended.any()):
                discount = absorbing_discount(self.gamma, self.config.absorbing_steps)
                learned[ended] += self.reward_model.absorbing_reward(inputs[ended]) * discount
            learned = learned * rollout.valid * self.config.reward_scale
        self._account_learned_returns(learned, rollout)
        rewards = learned
        if self.reference is not None:
            reference_log_probs = self.reference.log_probs(
                rollout.raw_observations, rollout.actions
            )
            rewards, kl = kl_penalized_rewards(
                learned, rollout.log_probs, reference_log_probs, self.kl_controller.beta
            )
            mean_kl = float(kl[rollout.valid].mean())
            self._kl_average = running_average(self._kl_average, mean_kl, KL_AVERAGE_WEIGHT)
            self._scalars["rlhf/kl"] = mean_kl
            self._scalars["rlhf/kl_average"] = self._kl_average
            self._scalars["rlhf/beta"] = self.kl_controller.beta
            self.kl_controller.update(mean_kl, self.steps_per_iteration)
        collected.rewards.copy_(rewards * rollout.valid)
        return collected

    def _learn_preferences(self, rollout: Rollout, inputs: torch.Tensor) -> None:
        """Add this rollout's segments to the pool; when labels are due, ask for the most
        disputed pairs and refit the reward model (Christiano et al. 2017)."""
        config = self.config
        segments = rollout_segments(rollout, inputs, config.segment_length)
        self.pool.add(segments)
        step = self.collector.global_step
        previous = step - self.steps_per_iteration
        first = self.comparisons is None
        if not first and step // config.label_every_steps == previous // config.label_every_steps:
            return
        wanted = (
            labels_due(step, self.total_steps, config.label_budget, config.initial_label_fraction)
            - self.labels
        )
        if wanted <= 0 or len(self.pool) < 2:
            return
        self._label_and_fit(wanted)
        self.reward_model.fit_output_statistics(self.pool.segments)
        self._scalars["rlhf/reward_model_output_std"] = float(self.reward_model.output_scale)
        pool = self.pool.segments
        assert pool is not None
        ending = pool.ends()
        if bool(ending.any()):  # the mean over the pool's endings
            with torch.no_grad():
                absorbing = self.reward_model.absorbing_reward(pool.last_inputs()[ending])
            self._scalars["rlhf/absorbing_reward"] = float(absorbing.mean())

    def _label_and_fit(self, wanted: int) -> None:
        assert self.pool.segments is not None and self.labeller is not None
        pool = self.pool.segments
        ending_first, ending_second = termination_pairs(
            pool, round(wanted * self.config.termination_pair_fraction), self.generator
        )
        wanted -= len(ending_first)
        first, second = random_pairs(
            len(pool), wanted * self.config.candidates_per_label, self.generator
        )
        if self.config.candidates_per_label > 1:
            disputed = disagreement(self.reward_model, pool.select(first), pool.select(second))
            chosen = disputed.argsort(descending=True)[:wanted]
            first, second = first[chosen], second[chosen]
        first, second = torch.cat([first, ending_first]), torch.cat([second, ending_second])
        new = self.labeller.ask(pool.select(first), pool.select(second))
        if len(new) == 0:  # nobody answered in time: train on with the last reward model
            return
        if self.config.shuffle_labels:  # the control: labels carry no information about pairs
            order = torch.randperm(len(new), generator=self.generator)
            new = dataclasses.replace(new, preferences=new.preferences[order])
        self.comparisons = new if self.comparisons is None else self.comparisons.extend(new)
        self.last_fit = fit_reward_model(
            self.reward_model, self.comparisons, self.config.reward_model_config, self.generator
        )
        self.labeller.report(self.last_fit.validation_accuracy)
        self._scalars["rlhf/labels"] = float(self.labels)
        self._scalars["rlhf/reward_model_accuracy"] = self.last_fit.validation_accuracy
        self._scalars["rlhf/reward_model_loss"] = self.last_fit.train_loss

    def _account_learned_returns(self, learned: torch.Tensor, rollout: Rollout) -> None:
        """Sum the learned reward of each training episode; log the mean of those that ended."""
        finished = []
        for step_rewards, step_dones in zip(learned.numpy(), rollout.dones.numpy(), strict=True):
            self._learned_returns += step_rewards
            finished.extend(self._learned_returns[step_dones].tolist())
            self._learned_returns[step_dones] = 0.0
        if finished:
            self._scalars["rlhf/learned_episodic_return"] = float(np.mean(finished))

    def drain_episodes(self) -> list[Episode]:
        """Finished training episodes with their true (env) returns."""
        return self.collector.drain_episodes()

    def drain_scalars(self) -> dict[str, float]:
        """The rlhf/* scalars of the last collect."""
        scalars, self._scalars = self._scalars, {}
        return scalars

    def state_dict(self) -> dict[str, Any]:
        """Collector state plus the reward model, labels, segment pool, beta and RNG."""
        pool = self.pool.segments
        comparisons = self.comparisons
        return {
            **self.collector.state_dict(),
            "rlhf": {
                "reward_model": self.reward_model.state_dict(),
                "beta": self.kl_controller.beta,
                "kl_average": self._kl_average,
                "generator": self.generator.get_state(),
                "learned_returns": torch.from_numpy(self._learned_returns.copy()),
                "pool": None if pool is None else dataclasses.asdict(pool),
                "comparisons": None if comparisons is None else dataclasses.asdict(comparisons),
            },
        }

    def load_state_dict(self, state: dict[str, Any], seed: int) -> bool:
        """Continue from ``state_dict()``."""
        own = state["rlhf"]
        self.reward_model.load_state_dict(own["reward_model"])
        self.kl_controller.beta = own["beta"]
        self._kl_average = own.get("kl_average")
        self.generator.set_state(own["generator"])
        self._learned_returns = own["learned_returns"].numpy().copy()
        self.pool.segments = None if own["pool"] is None else Segments(**own["pool"])
        comparisons = own["comparisons"]
        if comparisons is not None:
            self.comparisons = Comparisons(
                Segments(**comparisons["first"]),
                Segments(**comparisons["second"]),
                comparisons["preferences"],
                comparisons["weights"],
            )
        return self.collector.load_state_dict(state, seed)

    def close(self) -> None:
        """Close the collector's envs (and the labeller's)."""
        self.collector.close()
        if self.labeller is not None:
            self.labeller.close()
