"""Policy and value networks; the action head is picked from the action space."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rlcli.encoders import NatureCNN, uses_cnn
from rlcli.errors import UserError

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
}
ACTIVATION_FUNCTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "elu": F.elu,
    "gelu": F.gelu,
    "silu": F.silu,
}


def mlp(
    in_features: int, hidden_sizes: Sequence[int], activation: str, bias: bool = True
) -> nn.Sequential:
    """A stack of Linear (with or without biases) + activation layers; its output width is the
    last hidden size."""
    if activation not in ACTIVATIONS:
        raise UserError(f"network.activation={activation!r} is not one of {sorted(ACTIVATIONS)}")
    layers: list[nn.Module] = []
    for width in hidden_sizes:
        layers += [nn.Linear(in_features, width, bias=bias), ACTIVATIONS[activation]()]
        in_features = width
    return nn.Sequential(*layers)


def run_mlp(
    inputs: torch.Tensor, layers: list[nn.Linear], activation: Callable, last_linear: bool
) -> torch.Tensor:
    """Apply Linear layers (biases or not) with ``activation`` between them, calling the functions
    directly.

    Same result as the nn.Sequential, without its per-module call overhead (~3 us each), which
    dominates acting on a few observations at a time.
    """
    for index, layer in enumerate(layers):
        inputs = F.linear(inputs, layer.weight, layer.bias)
        if not (last_linear and index == len(layers) - 1):
            inputs = activation(inputs)
    return inputs


class CategoricalHead(nn.Module):
    """Discrete actions: logits of a categorical distribution."""

    def __init__(self, in_features: int, num_actions: int, bias: bool = True) -> None:
        super().__init__()
        self.logits = nn.Linear(in_features, num_actions, bias=bias)
        self.output_layer = self.logits

    def sample(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Sample actions [B] and their log-probabilities [B] (inverse-CDF sampling)."""
        log_probs = torch.log_softmax(self.logits(features), dim=-1)
        uniform = torch.rand_like(log_probs[:, :1])  # [B, 1]
        # The action is the number of cumulative probabilities below the uniform draw; clamp
        # guards against rounding making the last cumulative probability fall below it.
        below = (log_probs.exp().cumsum(-1) < uniform).sum(-1, keepdim=True)
        actions = below.clamp_(max=log_probs.shape[-1] - 1)  # [B, 1]
        return actions.squeeze(-1), log_probs.gather(-1, actions).squeeze(-1)

    def log_prob_entropy(
        self, features: torch.Tensor, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probability [B] of the given actions [B] and the entropy [B] of the distribution."""
        log_probs = torch.log_softmax(self.logits(features), dim=-1)
        entropy = -(log_probs.exp() * log_probs).sum(-1)
        return log_probs.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1), entropy

    def mode(self, features: torch.Tensor) -> torch.Tensor:
        """The most likely action [B]."""
        return self.logits(features).argmax(-1)


class GaussianHead(nn.Module):
    """Box actions: diagonal Gaussian with a learned, state-independent log standard deviation."""

    def __init__(
        self, in_features: int, action_dim: int, log_std_init: float, bias: bool = True
    ) -> None:
        super().__init__()
        self.mean = nn.Linear(in_features, action_dim, bias=bias)
        self.log_std = nn.Parameter(torch.full((action_dim,), float(log_std_init)))
        self.output_layer = self.mean

    def _log_prob(self, mean: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        z = (actions - mean) * torch.exp(-self.log_std)
        return (-0.5 * z.square() - self.log_std - 0.5 * math.log(2 * math.pi)).sum(-1)

    def sample(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Sample actions [B, A] (unclipped) and their log-probabilities [B]."""
        mean = self.mean(features)
        actions = mean + torch.randn_like(mean) * self.log_std.exp()
        return actions, self._log_prob(mean, actions)

    def log_prob_entropy(
        self, features: torch.Tensor, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probability [B] of the given actions [B, A] and the entropy [B]."""
        mean = self.mean(features)
        entropy = (self.log_std + 0.5 * (1.0 + math.log(2 * math.pi))).sum(-1)
        return self._log_prob(mean, actions), entropy.expand(mean.shape[0])

    def mode(self, features: torch.Tensor) -> torch.Tensor:
        """The mean action [B, A]."""
        return self.mean(features)


ActionHead = CategoricalHead | GaussianHead


def make_action_head(
    space: gym.Space, in_features: int, log_std_init: float, bias: bool = True
) -> ActionHead:
    """Pick the distribution from the action space: categorical for Discrete, Gaussian for Box."""
    if isinstance(space, gym.spaces.Discrete):
        return CategoricalHead(in_features, int(space.n), bias)
    if isinstance(space, gym.spaces.Box) and len(space.shape) == 1:
        return GaussianHead(in_features, space.shape[0], log_std_init, bias)
    raise UserError(
        f"action space {space} is not supported; rlcli supports Discrete and 1-D Box action spaces"
    )


def observation_size(space: gym.Space) -> int:
    """Flat size of a Box observation; any other observation space is a user error."""
    if isinstance(space, gym.spaces.Box):
        return int(np.prod(space.shape))
    raise UserError(f"observation space {space} is not supported; rlcli supports Box observations")


class ActorCritic(nn.Module):
    """Actor and (optional) critic MLPs over flat observations, or over a shared CNN's features.

    With a CNN (``architecture`` cnn, or auto on image observations) the Nature-CNN trunk is shared
    by actor and critic, and ``hidden_sizes`` are layers after it (none in the cnn preset).
    ``bias=False`` leaves the biases out of the MLPs' and heads' Linear layers (the CNN keeps its).
    """

    def __init__(
        self,
        observation_space: gym.Space,
        action_space: gym.Space,
        hidden_sizes: Sequence[int],
        activation: str,
        with_critic: bool,
        orthogonal_init: bool = True,
        log_std_init: float = 0.0,
        architecture: str = "auto",
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.encoder: NatureCNN | None = None
        if uses_cnn(architecture, observation_space):
            self.encoder = NatureCNN(observation_space)
            in_features = NatureCNN.FEATURES
        else:
            in_features = observation_size(observation_space)
        width = hidden_sizes[-1] if hidden_sizes else in_features
        self.actor_body = mlp(in_features, hidden_sizes, activation, bias)
        self.head = make_action_head(action_space, width, log_std_init, bias)
        self.critic: nn.Sequential | None = None
        if with_critic:
            self.critic = mlp(in_features, hidden_sizes, activation, bias)
            self.critic.append(nn.Linear(width, 1, bias=bias))
        if orthogonal_init:
            self._orthogonal_init()
        self.activation_name = activation
        self._activation = ACTIVATION_FUNCTIONS[activation]
        self.actor_layers = [m for m in self.actor_body if isinstance(m, nn.Linear)]
        """The actor body's Linear layers, in order (the head's output layer not included)."""
        self.critic_layers = [m for m in self.critic or [] if isinstance(m, nn.Linear)]
        """The critic's Linear layers, in order, its value output last."""

    def features(self, encoded: torch.Tensor) -> torch.Tensor:
        """Actor body output for encoded observations [B, F]."""
        return run_mlp(encoded, self.actor_layers, self._activation, last_linear=False)

    def _orthogonal_init(self) -> None:
        """Orthogonal weights, zero biases (where there are any); small policy output layer (as
        in CleanRL / SB3)."""
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Conv2d)):
                nn.init.orthogonal_(module.weight, math.sqrt(2))
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        nn.init.orthogonal_(self.head.output_layer.weight, 0.01)
        if self.critic is not None:
            nn.init.orthogonal_(self.critic[-1].weight, 1.0)

    def encode(self, observations: torch.Tensor) -> torch.Tensor:
        """Flat inputs [B, F] of the actor and critic: CNN features, or the observations."""
        if self.encoder is not None:
            return self.encoder(observations)
        return observations.flatten(1)

    def _value_of(self, encoded: torch.Tensor) -> torch.Tensor:
        if self.critic is None:
            return encoded.new_zeros(encoded.shape[0])
        values = run_mlp(encoded, self.critic_layers, self._activation, last_linear=True)
        return values.squeeze(-1)

    def value(self, observations: torch.Tensor) -> torch.Tensor:
        """State values [B]; zeros when the network has no critic."""
        return self._value_of(self.encode(observations))

    def act(self, observations: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Sample actions; return (actions, log_probs [B], values [B])."""
        encoded = self.encode(observations)
        actions, log_probs = self.head.sample(self.features(encoded))
        return actions, log_probs, self._value_of(encoded)

    def evaluate_actions(
        self, observations: torch.Tensor, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return (log_probs [B], entropy [B], values [B]) of given actions under the policy."""
        encoded = self.encode(observations)
        log_probs, entropy = self.head.log_prob_entropy(self.features(encoded), actions)
        return log_probs, entropy, self._value_of(encoded)

    def predict(self, observations: torch.Tensor, deterministic: bool = True) -> torch.Tensor:
        """Actions for acting outside training: the mode when deterministic, else a sample."""
        features = self.features(self.encode(observations))
        if deterministic:
            return self.head.mode(features)
        return self.head.sample(features)[0]


def actions_for_env(actions: torch.Tensor | np.ndarray, action_space: gym.Space) -> np.ndarray:
    """Convert a batch of policy actions to what the vector env accepts (Box actions clipped)."""
    array = actions if isinstance(actions, np.ndarray) else actions.cpu().numpy()
    if isinstance(action_space, gym.spaces.Box):
        return np.clip(array, action_space.low, action_space.high)
    return array
