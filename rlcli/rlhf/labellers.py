"""Labellers answer "which of two segments is better?": a simulated teacher from the env's reward
(perfect or imperfect on purpose, as in B-Pref, Lee et al. 2021), or people (human_labeller.py)."""

from __future__ import annotations

from typing import Protocol

import torch

from rlcli.rlhf.reward_model import Comparisons
from rlcli.rlhf.segments import Segments
from rlcli.settings import LabellerConfig


class Labeller(Protocol):
    """Anything that answers pairs of segments: the synthetic teacher at once, people through
    the label page (rlcli.rlhf.human_labeller) when they get to it."""

    def ask(self, first: Segments, second: Segments) -> Comparisons:
        """The comparisons answered by now: these pairs for a teacher; for people, whatever was
        answered (possibly pairs asked before), none when nobody answered in time."""
        ...

    def report(self, accuracy: float) -> None:
        """Hear the held-out accuracy of the reward model refitted on the answers."""
        ...

    def close(self) -> None:
        """Free what the labeller holds (an env drawing clips)."""
        ...


class SyntheticLabeller:
    """A teacher who knows the env's reward: an oracle at temperature 0, Boltzmann-rational above
    it, with a mistake rate, an "equal" threshold and a myopic discount."""

    def __init__(self, config: LabellerConfig, generator: torch.Generator) -> None:
        self.config = config
        self.generator = generator

    def ask(self, first: Segments, second: Segments) -> Comparisons:
        """Every pair, answered from its true rewards."""
        preferences = self.label(first.true_rewards, second.true_rewards)
        return Comparisons(first, second, preferences, torch.ones(len(preferences)))

    def report(self, accuracy: float) -> None:
        """A teacher does not need to know."""

    def close(self) -> None:
        """Nothing to free."""

    def label(self, true_rewards_a: torch.Tensor, true_rewards_b: torch.Tensor) -> torch.Tensor:
        """Preferences [P] from the (discounted) true segment returns."""
        config = self.config
        length = true_rewards_a.shape[-1]
        weights = config.discount ** torch.arange(length - 1, -1, -1, dtype=torch.float32)
        difference = (true_rewards_a - true_rewards_b) @ weights  # [P]
        if config.temperature > 0:
            probability = torch.sigmoid(difference / config.temperature)
            draws = torch.rand(difference.shape, generator=self.generator)
            preferences = (draws < probability).float()
        else:
            preferences = (difference > 0).float()
        mistakes = torch.rand(difference.shape, generator=self.generator) < config.mistake_rate
        preferences = torch.where(mistakes, 1.0 - preferences, preferences)
        equal = difference.abs() <= config.equal_threshold
        return torch.where(equal, torch.full_like(preferences, 0.5), preferences)
