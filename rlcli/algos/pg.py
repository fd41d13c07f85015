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

    @property
    def uses_critic(self) -> bool:
        """Only the baseline variant learns a value function."""
        return self.use_baseline

    def update(
        self,
        agent: ActorCritic,
        optimizer: Adam,
        rollout: Rollout,
        progress: float,
    ) -> dict[str, float]:
        """One gradient step on -sum_t log pi(a_t|s_t) G_t over the rollout's episodes."""
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
        loss = policy_loss - self.ent_coef * entropy.mean()
        stats = {"losses/policy_loss": policy_loss.item(), "losses/entropy": entropy.mean().item()}
        if self.use_baseline:
            critic_loss = value_loss(values, returns)
            loss = loss + self.vf_coef * critic_loss
            stats["losses/value_loss"] = critic_loss.item()
            stats["losses/explained_variance"] = explained_variance(old_values, returns)
        apply_gradients(optimizer, loss, self.max_grad_norm)
        return stats
