"""What the training loop needs from an algorithm, and the hyperparameters every one of them has."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from rlcli.networks import ActorCritic
from rlcli.optim import Adam


class Algorithm(Protocol):
    """A learner of a policy: what it consumes, its own range rules, and how it learns."""

    consumes: ClassVar[str]
    """What the loop must feed ``update``: ``rollouts`` (env rollouts from the current policy)
    or ``demonstrations`` (a dataset of expert steps)."""
    name: str
    learning_rate: float
    anneal_lr: bool
    adam_eps: float
    gamma: float

    @property
    def uses_critic(self) -> bool:
        """Whether the network needs a value head."""
        ...

    def range_checks(self, num_envs: int) -> list[tuple[bool, str]]:
        """(is valid, message naming the value and what is valid) for this algorithm's values."""
        ...

    def gradient_steps(self) -> int:
        """Gradient steps one ``update`` takes (what compiling the update would speed up)."""
        ...

    def compile_update(self, compiler: Callable[[Callable], Callable]) -> Algorithm | None:
        """A copy whose update's loss runs through ``compiler`` (torch.compile); None if the
        algorithm has no compiled update."""
        ...

    def update(
        self,
        agent: ActorCritic,
        optimizer: Adam,
        batch: Any,
        progress: float,
    ) -> dict[str, float]:
        """Learn from one batch; ``progress`` in [0, 1) is the fraction of the budget used.

        Returns the loss statistics to log, keyed by TensorBoard tag.
        """
        ...


@dataclass
class GradientHyperparameters:
    """The optimiser settings every learner has, rollout-fed or dataset-fed (declared once)."""

    name: str = "?"
    """Algorithm name; fixed by each algorithm's config."""
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
    max_grad_norm: float | None = 0.5
    """Clip the global gradient norm to this value; null disables clipping."""

    def gradient_steps(self) -> int:
        """One gradient step per update, unless an algorithm says otherwise."""
        return 1

    def compile_update(self, compiler: Callable[[Callable], Callable]) -> Algorithm | None:
        """No compiled update unless an algorithm has one (PPO)."""
        return None


@dataclass
class OnPolicyHyperparameters(GradientHyperparameters):
    """Hyperparameters shared by every on-policy algorithm here (declared once)."""

    consumes: ClassVar[str] = "rollouts"

    num_steps: int = 128
    """Steps collected per env per iteration (rollout length); with episodes_per_update, the most
    an iteration collects per env."""
    episodes_per_update: int = 0
    """Collect whole episodes instead of num_steps steps: stop each collection once every env has
    finished this many episodes since it began (0: always num_steps steps). Iterations then vary
    in length and the budget counts env steps."""
    vf_coef: float = 0.5
    """Value loss coefficient (when there is a critic)."""

    def range_checks(self, num_envs: int) -> list[tuple[bool, str]]:
        """Rules every on-policy algorithm shares."""
        return [
            (self.num_steps >= 1, f"algo.num_steps={self.num_steps} must be >= 1"),
            (
                self.episodes_per_update >= 0,
                f"algo.episodes_per_update={self.episodes_per_update} must be >= 0 (0: num_steps)",
            ),
        ]
