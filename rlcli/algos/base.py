"""What the training loop needs from an algorithm, and the hyperparameters every one of them has."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from rlcli.networks import ActorCritic
from rlcli.optim import Adam
from rlcli.rollout import Rollout


class Algorithm(Protocol):
    """An on-policy algorithm: how much to collect per iteration and how to learn from it."""

    name: str
    num_steps: int
    learning_rate: float
    anneal_lr: bool
    adam_eps: float
    gamma: float

    @property
    def uses_critic(self) -> bool:
        """Whether the network needs a value head."""
        ...

    def update(
        self,
        agent: ActorCritic,
        optimizer: Adam,
        rollout: Rollout,
        progress: float,
    ) -> dict[str, float]:
        """Learn from one rollout; ``progress`` in [0, 1) is the fraction of the budget used.

        Returns the loss statistics to log, keyed by TensorBoard tag.
        """
        ...


@dataclass
class OnPolicyHyperparameters:
    """Hyperparameters shared by every on-policy algorithm here (declared once)."""

    name: str = "?"
    """Algorithm name; fixed by each algorithm's config."""
    num_steps: int = 128
    """Steps collected per env per iteration (rollout length)."""
    learning_rate: float = 3e-4
    """Adam learning rate."""
    anneal_lr: bool = False
    """Decay the learning rate linearly to zero over the budget."""
    adam_eps: float = 1e-5
    """Adam's epsilon."""
    gamma: float = 0.99
    """Discount factor."""
    ent_coef: float = 0.0
    """Entropy bonus coefficient."""
    vf_coef: float = 0.5
    """Value loss coefficient (when there is a critic)."""
    max_grad_norm: float | None = 0.5
    """Clip the global gradient norm to this value; null disables clipping."""
