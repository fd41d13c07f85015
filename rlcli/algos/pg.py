"""REINFORCE (Williams 1992): Monte-Carlo policy gradient with optional baseline."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rlcli.algos.base import OnPolicyHyperparameters
from rlcli.algos.losses import (
    apply_gradients,
    explained_variance,
    normalize,
    policy_gradient_loss,
    value_loss,
)
from rlcli.networks import ActorCritic
from rlcli.optim import Adam
from rlcli.returns import discounted_returns
from rlcli.rollout import Rollout

REDUCTIONS = ("mean", "sum")  # of the policy loss over the batch's steps


def unfinished_tail(dones: torch.Tensor) -> torch.Tensor:
    """[T, N] bool: steps after the last episode end in each env (episodes still running)."""
    ends_at_or_after = dones.flip(0).cumsum(0).flip(0) > 0
    return ~ends_at_or_after


@dataclass
class PG(OnPolicyHyperparameters):
    """REINFORCE hyperparameters; the extras are off by default, as in the classic recipe."""

    name: str = "pg"
    num_steps: int = 512
    """Steps per env per update; episodes still running at the end wait for the next update."""
    learning_rate: float = 1e-3
    adam_eps: float = 1e-8
    use_baseline: bool = False
    """Learn a value baseline and subtract it from the returns."""
    normalize_returns: bool = False
    """Standardise the returns (or advantages) in each batch."""
    max_grad_norm: float | None = None
    loss_reduction: str = "mean"
    """mean: -mean over the batch's steps of log pi(a_t|s_t) G_t; sum: -sum over them (the
    textbook form, whose scale grows with the episodes' length)."""

    @property
    def uses_critic(self) -> bool:
        """Only the baseline variant learns a value function."""
        return self.use_baseline

    def range_checks(self, num_envs: int) -> list[tuple[bool, str]]:
        """REINFORCE's own rules on top of the shared on-policy ones."""
        return super().range_checks(num_envs) + [
            (
                self.loss_reduction in REDUCTIONS,
                f"algo.loss_reduction={self.loss_reduction!r} is not one of mean, sum",
            )
        ]

    def update(
        self,
        agent: ActorCritic,
        optimizer: Adam,
        rollout: Rollout,
        progress: float,
    ) -> dict[str, float]:
        """One gradient step on -log pi(a_t|s_t) G_t over the rollout's episodes (mean or sum over
        the steps, ``loss_reduction``)."""
        dones = rollout.dones
        if self.use_baseline:
            # Running episodes are cut at the rollout end and bootstrapped from the baseline.
            cut = dones.clone()
            cut[-1] = True
            bootstrap = rollout.values[1:] * ~rollout.terminations
            returns = discounted_returns(rollout.rewards, cut, self.gamma, bootstrap)
            used = rollout.valid
        else:
            # Classic REINFORCE needs complete episodes: running ones are left out of this update.
            returns = discounted_returns(rollout.rewards, dones, self.gamma)
            used = rollout.valid & ~unfinished_tail(dones)
        return self._step(agent, optimizer, rollout, returns, used)

    def _step(
        self,
        agent: ActorCritic,
        optimizer: Adam,
        rollout: Rollout,
        returns: torch.Tensor,
        used: torch.Tensor,
    ) -> dict[str, float]:
        mask = used.flatten()
        observations = rollout.observations.flatten(0, 1)[mask]
        actions = rollout.actions.flatten(0, 1)[mask]
        returns = returns.flatten()[mask]
        old_values = rollout.values[:-1].flatten()[mask]
        if returns.numel() == 0:
            return {}
        log_probs, entropy, values = agent.evaluate_actions(observations, actions)
        weights = returns - old_values if self.use_baseline else returns
        if self.normalize_returns:
            weights = normalize(weights)
        policy_loss = policy_gradient_loss(log_probs, weights)
        if self.loss_reduction == "sum":
            policy_loss = policy_loss * returns.numel()
        loss = policy_loss - self.ent_coef * entropy.mean()
        stats = {"losses/policy_loss": policy_loss.item(), "losses/entropy": entropy.mean().item()}
        if self.use_baseline:
            critic_loss = value_loss(values, returns)
            loss = loss + self.vf_coef * critic_loss
            stats["losses/value_loss"] = critic_loss.item()
            stats["losses/explained_variance"] = explained_variance(old_values, returns)
        apply_gradients(optimizer, loss, self.max_grad_norm)
        return stats
