"""Behaviour cloning (supervised fine-tuning on demonstrations): maximum likelihood of the
demonstrated actions under the same policy networks PPO uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rlcli.algos.base import GradientHyperparameters
from rlcli.algos.losses import apply_gradients
from rlcli.demonstrations import DemonstrationBatch
from rlcli.networks import ActorCritic
from rlcli.optim import Adam


@dataclass
class BC(GradientHyperparameters):
    """Behaviour-cloning hyperparameters; ``total_timesteps`` counts demonstration samples.
    ``gamma`` is unused by cloning (env reward normalisation shares it with RL)."""

    consumes: ClassVar[str] = "demonstrations"
    name: str = "bc"
    learning_rate: float = 1e-3
    adam_eps: float = 1e-8
    ent_coef: float = 1e-3
    """Entropy bonus (keeps the cloned policy from collapsing onto one action too early)."""
    max_grad_norm: float | None = None
    minibatch_size: int = 256
    """Demonstration steps per gradient step."""
    minibatches_per_iteration: int = 8
    """Gradient steps between two logging points."""
    validation_fraction: float = 0.2
    """Share of the dataset's episodes held out for the validation loss."""

    @property
    def uses_critic(self) -> bool:
        """Cloning learns no value function (PPO warm-started from it adds a fresh one)."""
        return False

    def gradient_steps(self) -> int:
        """One gradient step per minibatch."""
        return self.minibatches_per_iteration

    def range_checks(self, num_envs: int) -> list[tuple[bool, str]]:
        """Cloning's own rules."""
        return [
            (self.minibatch_size >= 1, f"algo.minibatch_size={self.minibatch_size} must be >= 1"),
            (
                self.minibatches_per_iteration >= 1,
                f"algo.minibatches_per_iteration={self.minibatches_per_iteration} must be >= 1",
            ),
            (
                0 <= self.validation_fraction < 1,
                f"algo.validation_fraction={self.validation_fraction} must be in [0, 1)",
            ),
        ]

    def update(
        self, agent: ActorCritic, optimizer: Adam, batch: DemonstrationBatch, progress: float
    ) -> dict[str, float]:
        """One gradient step per minibatch on -mean log pi(a_demo | s) - ent_coef * entropy."""
        for observations, actions in batch.minibatches:
            log_probs, entropy, _ = agent.evaluate_actions(observations, actions)
            negative_log_likelihood = -log_probs.mean()
            loss = negative_log_likelihood - self.ent_coef * entropy.mean()
            apply_gradients(optimizer, loss, self.max_grad_norm)
        return {
            "losses/bc_loss": float(negative_log_likelihood.detach()),
            "losses/entropy": float(entropy.mean().detach()),
        }
