"""r_hat(s, a): an ensemble of MLPs fitted to preferences, with its input and output scaling."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from rlcli.networks import mlp
from rlcli.rlhf.preferences import bradley_terry_loss, pair_accuracy
from rlcli.rlhf.segments import Segments
from rlcli.settings import RewardModelConfig


@dataclass
class Comparisons:
    """Labelled segment pairs: both segments, the label and its weight."""

    first: Segments
    second: Segments
    preferences: torch.Tensor  # [P] 1 = first better, 0 = second better, 0.5 = equal
    weights: torch.Tensor  # [P] a ranking's pairs share one unit of weight

    def __len__(self) -> int:
        return self.preferences.shape[0]

    def select(self, indices: torch.Tensor) -> Comparisons:
        """The comparisons at ``indices``."""
        return Comparisons(
            self.first.select(indices),
            self.second.select(indices),
            self.preferences[indices],
            self.weights[indices],
        )

    def extend(self, other: Comparisons) -> Comparisons:
        """These comparisons followed by ``other``'s."""
        return Comparisons(
            self.first.extend(other.first),
            self.second.extend(other.second),
            torch.cat([self.preferences, other.preferences]),
            torch.cat([self.weights, other.weights]),
        )


def scalar_mlp(input_size: int, config: RewardModelConfig) -> nn.Sequential:
    """An MLP of the config's hidden sizes with one output: a member, or an absorbing head."""
    network = mlp(input_size, config.hidden_sizes, config.activation)
    network.append(nn.Linear(config.hidden_sizes[-1], 1))
    return network


class RewardModel(nn.Module):
    """Ensemble of MLP reward functions over standardised (observation, [next observation,]
    action) features (``reward_inputs``'s layout).

    ``forward`` returns every member's reward [M, ...]; ``reward`` the ensemble mean, shifted and
    scaled so that rewards on recent behaviour have zero mean and unit std (Christiano et al.).
    The inputs' last ``action_size`` features are the action's; without ``config.use_action``
    they are zeroed, so the model is a function of the observation alone. A step in the absorbing
    state after a termination is worth one learned number per member, plus, with
    ``config.absorbing_from_last_step``, a function of the episode's last step."""

    def __init__(self, input_size: int, config: RewardModelConfig, action_size: int = 0) -> None:
        super().__init__()
        self.uses_next_observation = config.use_next_observation
        self.members = nn.ModuleList(
            [scalar_mlp(input_size, config) for _ in range(config.ensemble_size)]
        )
        # Each member's reward for one step in the absorbing state after a termination: padded
        # segment steps are worth this, so the labels decide whether ending is good or bad.
        self.absorbing = nn.Parameter(torch.zeros(config.ensemble_size))
        self.absorbing_heads = nn.ModuleList(
            [scalar_mlp(input_size, config) for _ in range(config.ensemble_size)]
            if config.absorbing_from_last_step
            else []
        )
        self.register_buffer("input_mean", torch.zeros(input_size))
        self.register_buffer("input_std", torch.ones(input_size))
        self.register_buffer("output_shift", torch.zeros(()))
        self.register_buffer("output_scale", torch.ones(()))
        used = torch.ones(input_size)
        if not config.use_action and action_size > 0:
            used[input_size - action_size :] = 0.0
        # Rebuilt from the config, not saved: checkpoints stay loadable either way.
        self.register_buffer("used_features", used, persistent=False)

    def features(self, inputs: torch.Tensor) -> torch.Tensor:
        """Standardised inputs [*batch, F], unused (action) features zeroed."""
        return (inputs - self.input_mean) / self.input_std * self.used_features

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Rewards [M, *batch] of every member for inputs [*batch, F]."""
        features = self.features(inputs)
        return torch.stack([member(features).squeeze(-1) for member in self.members])

    def reward(self, inputs: torch.Tensor) -> torch.Tensor:
        """The normalised ensemble-mean reward [*batch]."""
        return (self(inputs).mean(0) - self.output_shift) / self.output_scale

    def member_absorbing(self, index: int, last_inputs: torch.Tensor) -> torch.Tensor:
        """Member ``index``'s raw reward [*batch] of one absorbing step after an episode whose
        last step had inputs [*batch, F]."""
        value = self.absorbing[index].expand(last_inputs.shape[:-1])
        if len(self.absorbing_heads):
            head = self.absorbing_heads[index]
            value = value + head(self.features(last_inputs)).squeeze(-1)
        return value

    def absorbing_rewards(self, last_inputs: torch.Tensor) -> torch.Tensor:
        """Every member's raw absorbing reward [M, *batch] (see ``member_absorbing``)."""
        return torch.stack(
            [self.member_absorbing(index, last_inputs) for index in range(len(self.members))]
        )

    def absorbing_reward(self, last_inputs: torch.Tensor) -> torch.Tensor:
        """The normalised ensemble-mean reward [*batch] of one absorbing step after an episode
        whose last step had inputs [*batch, F]."""
        return (self.absorbing_rewards(last_inputs).mean(0) - self.output_shift) / self.output_scale

    def fit_input_statistics(self, inputs: torch.Tensor) -> None:
        """Standardise inputs with the mean and std of ``inputs`` [*, F]."""
        flat = inputs.reshape(-1, inputs.shape[-1])
        self.input_mean.copy_(flat.mean(0))
        self.input_std.copy_(flat.std(0).clamp_min(1e-6) if flat.shape[0] > 1 else 1.0)

    def fit_output_statistics(self, segments: Segments) -> None:
        """Make the ensemble-mean reward zero-mean with unit std over the steps of recent
        segments, absorbing padding included (so the scale reflects what the labels compare)."""
        with torch.no_grad():
            per_step = self(segments.inputs).mean(0)  # [S, L]
            absorbing = self.absorbing_rewards(segments.last_inputs()).mean(0)  # [S]
            values = torch.where(segments.mask, per_step, absorbing[:, None])
        self.output_shift.copy_(values.mean())
        self.output_scale.copy_(values.std().clamp_min(1e-6) if values.numel() > 1 else 1.0)


def segment_returns(model: RewardModel, segments: Segments) -> torch.Tensor:
    """Summed raw member rewards of segments, absorbing padding included: [M, P]."""
    padded = (~segments.mask).sum(-1)  # [P]
    absorbing = model.absorbing_rewards(segments.last_inputs())  # [M, P]
    return (model(segments.inputs) * segments.mask).sum(-1) + absorbing * padded


def disagreement(model: RewardModel, first: Segments, second: Segments) -> torch.Tensor:
    """[P] std over members of P(first > second): how much the ensemble disputes each pair."""
    with torch.no_grad():
        difference = segment_returns(model, first) - segment_returns(model, second)
        return torch.sigmoid(difference).std(0) if len(model.members) > 1 else difference[0] * 0


@dataclass
class FitResult:
    """Loss and held-out pair accuracy after fitting the reward model."""

    train_loss: float
    validation_accuracy: float
    validation_size: int


def split_comparisons(
    comparisons: Comparisons, validation_fraction: float, generator: torch.Generator
) -> tuple[Comparisons, Comparisons]:
    """(training, validation) split in a fixed random order; validation is empty below 5 pairs."""
    count = len(comparisons)
    held_out = int(count * validation_fraction) if count >= 5 else 0
    order = torch.randperm(count, generator=generator)
    return comparisons.select(order[held_out:]), comparisons.select(order[:held_out])


def fit_reward_model(
    model: RewardModel,
    comparisons: Comparisons,
    config: RewardModelConfig,
    generator: torch.Generator,
) -> FitResult:
    """Fit every member on the training split with the Bradley-Terry loss (each member sees its
    own minibatch order); held-out pair accuracy of the ensemble mean on the validation split."""
    training, validation = split_comparisons(comparisons, config.validation_fraction, generator)
    model.fit_input_statistics(
        torch.cat([training.first.real_inputs(), training.second.real_inputs()])
    )
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    losses = []
    for _ in range(config.epochs):
        orders = [torch.randperm(len(training), generator=generator) for _ in model.members]
        for start in range(0, len(training), config.batch_size):
            loss = sum(
                _member_loss(
                    model, index, training.select(order[start : start + config.batch_size]), config
                )
                for index, order in enumerate(orders)
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()) / len(model.members))
    accuracy = evaluate_pairs(model, validation) if len(validation) else float("nan")
    return FitResult(float(np.mean(losses[-10:])) if losses else 0.0, accuracy, len(validation))


def _member_loss(
    model: RewardModel, index: int, batch: Comparisons, config: RewardModelConfig
) -> torch.Tensor:
    """Bradley-Terry loss of one ensemble member on a minibatch of comparisons."""
    member = model.members[index]

    def summed(segments: Segments) -> torch.Tensor:
        real = (member(model.features(segments.inputs)).squeeze(-1) * segments.mask).sum(-1)
        absorbing = model.member_absorbing(index, segments.last_inputs())
        return real + absorbing * (~segments.mask).sum(-1)

    return bradley_terry_loss(
        summed(batch.first),
        summed(batch.second),
        batch.preferences,
        batch.weights,
        config.label_noise,
    )


def evaluate_pairs(model: RewardModel, comparisons: Comparisons) -> float:
    """Pair accuracy of the ensemble mean on ``comparisons``."""
    with torch.no_grad():
        returns_a = segment_returns(model, comparisons.first).mean(0)
        returns_b = segment_returns(model, comparisons.second).mean(0)
    return pair_accuracy(returns_a, returns_b, comparisons.preferences)
