"""Proximal Policy Optimization (Schulman et al. 2017) with GAE, in the order of the paper."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields, replace
from typing import ClassVar, NamedTuple

import torch

from rlcli.algos.base import OnPolicyHyperparameters
from rlcli.algos.losses import (
    apply_gradients,
    clipped_surrogate_loss,
    explained_variance,
    mean,
    normalize,
    value_loss,
)
from rlcli.networks import ActorCritic
from rlcli.optim import Adam
from rlcli.returns import gae
from rlcli.rollout import Rollout


@dataclass
class PPOBatch:
    """The valid steps of one rollout, flattened: what PPO's epochs iterate over."""

    observations: torch.Tensor  # [B, *obs]
    actions: torch.Tensor  # [B] or [B, A]
    old_log_probs: torch.Tensor  # [B]
    old_values: torch.Tensor  # [B]
    advantages: torch.Tensor  # [B]
    returns: torch.Tensor  # [B]
    mask: torch.Tensor | None = None  # [B] 1.0 on real rows, 0.0 on padding; None: no padding

    def __len__(self) -> int:
        return self.advantages.shape[0]

    def select(self, indices: torch.Tensor) -> PPOBatch:
        """The rows at ``indices``."""
        rows = {f.name: getattr(self, f.name) for f in fields(self)}
        return PPOBatch(**{k: None if v is None else v[indices] for k, v in rows.items()})

    def padded(self, indices: torch.Tensor, size: int) -> PPOBatch:
        """The rows at ``indices`` followed by copies of row 0, masked out, up to ``size`` rows."""
        padded_indices = torch.zeros(size, dtype=torch.long, device=indices.device)
        padded_indices[: len(indices)] = indices
        mask = torch.zeros(size, device=self.advantages.device)
        mask[: len(indices)] = 1.0
        return replace(self.select(padded_indices), mask=mask)


class MinibatchLosses(NamedTuple):
    """The loss terms of one minibatch (0-d tensors), as logged."""

    policy_loss: torch.Tensor
    value_loss: torch.Tensor
    entropy: torch.Tensor
    approx_kl: torch.Tensor
    clip_fraction: torch.Tensor


def minibatches(
    batch: PPOBatch, minibatch_size: int, padded_size: int | None = None
) -> Iterator[PPOBatch]:
    """Shuffle the batch into minibatches; a single full-batch minibatch needs no shuffle.

    ``padded_size`` pads every minibatch to that many rows (masked), so that a compiled update
    sees one shape whatever the number of valid steps; the rows in each are the same as without.
    """
    batch_size, device = len(batch), batch.advantages.device
    if minibatch_size >= batch_size:
        if padded_size is None:
            yield batch
        else:
            yield batch.padded(torch.arange(batch_size, device=device), padded_size)
        return
    order = torch.randperm(batch_size, device=device)
    for start in range(0, batch_size, minibatch_size):
        indices = order[start : start + minibatch_size]
        yield batch.select(indices) if padded_size is None else batch.padded(indices, padded_size)


@dataclass
class PPO(OnPolicyHyperparameters):
    """PPO hyperparameters (defaults: CleanRL's ppo.py)."""

    name: str = "ppo"
    gae_lambda: float = 0.95
    """GAE lambda: bias/variance trade-off of the advantage estimate."""
    num_minibatches: int = 4
    """Minibatches per epoch; the batch is num_envs * num_steps (less autoreset rows)."""
    update_epochs: int = 4
    """Passes over each rollout."""
    clip_coef: float = 0.2
    """Clip range of the probability ratio."""
    anneal_clip: bool = False
    """Decay the clip range linearly to zero over the budget (RL Zoo's lin_ schedules)."""
    clip_vloss: bool = True
    """Clip value updates to the same range around the old values."""
    normalize_advantage: bool = True
    """Standardise advantages per minibatch."""
    target_kl: float | None = None
    """Stop the epochs early when approx KL exceeds this; null disables it."""
    ent_coef: float = 0.0
    """Entropy bonus coefficient."""
    critic_warmup: float = 0.0
    """Fraction of the budget, from the start, in which only the critic learns and the actor is
    held: for a policy warm-started without a critic (init_from a cloned policy), whose first
    advantages would come from an untrained value function."""

    compiled_loss: ClassVar[Callable[..., tuple[torch.Tensor, MinibatchLosses]] | None] = None
    """``minibatch_loss`` under torch.compile, once ``compile_update`` set it (not a setting)."""

    @property
    def uses_critic(self) -> bool:
        """PPO always learns a value function."""
        return True

    def range_checks(self, num_envs: int) -> list[tuple[bool, str]]:
        """PPO's own rules on top of the shared on-policy ones."""
        batch = num_envs * self.num_steps
        return super().range_checks(num_envs) + [
            (self.clip_coef > 0, f"algo.clip_coef={self.clip_coef} must be > 0"),
            (0 <= self.gae_lambda <= 1, f"algo.gae_lambda={self.gae_lambda} must be in [0, 1]"),
            (self.update_epochs >= 1, f"algo.update_epochs={self.update_epochs} must be >= 1"),
            (
                0 <= self.critic_warmup < 1,
                f"algo.critic_warmup={self.critic_warmup} must be in [0, 1) (a budget fraction)",
            ),
            (
                self.num_minibatches >= 1 and batch % self.num_minibatches == 0,
                f"algo.num_minibatches={self.num_minibatches} must be >= 1 and divide the batch "
                f"(env.num_envs * algo.num_steps = {batch})",
            ),
        ]

    def gradient_steps(self) -> int:
        """Gradient steps one update takes (at most: target_kl may stop it earlier)."""
        return self.update_epochs * self.num_minibatches

    def compile_update(self, compiler: Callable[[Callable], Callable]) -> PPO:
        """A copy whose minibatch loss (forward and backward) runs through ``compiler``."""
        compiled = replace(self)
        compiled.compiled_loss = compiler(compiled.minibatch_loss)
        return compiled

    def update(
        self,
        agent: ActorCritic,
        optimizer: Adam,
        rollout: Rollout,
        progress: float,
    ) -> dict[str, float]:
        """Clipped-surrogate epochs over minibatches of one rollout."""
        advantages = gae(
            rollout.rewards,
            rollout.values,
            rollout.terminations,
            rollout.truncations,
            self.gamma,
            self.gae_lambda,
        )
        returns = advantages + rollout.values[:-1]
        valid = rollout.valid.flatten()
        batch = PPOBatch(
            observations=rollout.observations.flatten(0, 1)[valid],
            actions=rollout.actions.flatten(0, 1)[valid],
            old_log_probs=rollout.log_probs.flatten()[valid],
            old_values=rollout.values[:-1].flatten()[valid],
            advantages=advantages.flatten()[valid],
            returns=returns.flatten()[valid],
        )
        clip = self.clip_coef * (1.0 - progress) if self.anneal_clip else self.clip_coef
        train_actor = progress >= self.critic_warmup
        stats = self._epochs(agent, optimizer, batch, clip, valid.numel(), train_actor)
        stats["losses/explained_variance"] = explained_variance(batch.old_values, batch.returns)
        return stats

    def minibatch_loss(
        self,
        agent: ActorCritic,
        minibatch: PPOBatch,
        clip: float | torch.Tensor,
        normalize_advantages: bool,
        train_actor: bool = True,
    ) -> tuple[torch.Tensor, MinibatchLosses]:
        """The clipped-surrogate loss of one minibatch, and its terms; with ``train_actor``
        false the loss is the critic's alone (the policy terms are still reported)."""
        log_probs, entropy, values = agent.evaluate_actions(
            minibatch.observations, minibatch.actions
        )
        mask, advantages = minibatch.mask, minibatch.advantages
        if normalize_advantages:
            advantages = normalize(advantages, mask=mask)
        policy_loss, approx_kl, clip_fraction = clipped_surrogate_loss(
            log_probs, minibatch.old_log_probs, advantages, clip, mask
        )
        critic_loss = value_loss(
            values, minibatch.returns, minibatch.old_values, clip if self.clip_vloss else None, mask
        )
        entropy_mean = mean(entropy, mask)
        loss = self.vf_coef * critic_loss
        if train_actor:
            loss = loss + policy_loss
            if self.ent_coef:  # skip the entropy's backward pass when it has no weight
                loss = loss - self.ent_coef * entropy_mean
        terms = MinibatchLosses(policy_loss, critic_loss, entropy_mean, approx_kl, clip_fraction)
        return loss, terms

    def _epochs(
        self,
        agent: ActorCritic,
        optimizer: Adam,
        batch: PPOBatch,
        clip: float,
        rollout_size: int,
        train_actor: bool,
    ) -> dict[str, float]:
        batch_size = len(batch)
        minibatch_size = max(1, -(-batch_size // self.num_minibatches))
        full_batch = minibatch_size >= batch_size
        if self.normalize_advantage and full_batch:  # the same minibatch every epoch: once
            batch = replace(batch, advantages=normalize(batch.advantages))
        normalize_minibatches = self.normalize_advantage and not full_batch
        loss_function, clip_value, padded_size = self.minibatch_loss, clip, None
        if self.compiled_loss is not None:  # one shape and a tensor clip: one compiled graph
            device = batch.advantages.device
            loss_function, clip_value = self.compiled_loss, torch.tensor(clip, device=device)
            padded_size = -(-rollout_size // self.num_minibatches)
            if full_batch:  # pad the one minibatch once, not every epoch
                batch = batch.padded(torch.arange(batch_size, device=device), padded_size)
                minibatch_size, padded_size = len(batch), None
        clip_fractions = []
        for _ in range(self.update_epochs):
            for minibatch in minibatches(batch, minibatch_size, padded_size):
                loss, losses = loss_function(
                    agent, minibatch, clip_value, normalize_minibatches, train_actor
                )
                apply_gradients(optimizer, loss, self.max_grad_norm)
                clip_fractions.append(losses.clip_fraction)
            if self.target_kl is not None and losses.approx_kl > self.target_kl:
                break
        return {
            "losses/policy_loss": losses.policy_loss.item(),
            "losses/value_loss": losses.value_loss.item(),
            "losses/entropy": losses.entropy.item(),
            "losses/approx_kl": losses.approx_kl.item(),
            "losses/clipfrac": torch.stack(clip_fractions).mean().item(),
            "charts/clip_coef": clip,
        }
