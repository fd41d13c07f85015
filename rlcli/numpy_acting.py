"""Acting from a numpy copy of an MLP policy, its actor and critic first layers fused into one.

A rollout calls the policy once per step on a few observations, where PyTorch's per-operation
overhead (several microseconds a call) outweighs the arithmetic. A numpy copy of the weights,
refreshed before each rollout, does the same forward pass in about half the time. Actor and critic
read the same input, so their first layers run as one matrix product. The random draws still come
from torch's generator, in the same order and shapes as ``ActorCritic.act``, so checkpoints keep
their RNG state and resume stays exact.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from rlcli.networks import ActorCritic, CategoricalHead

NUMPY_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, 0.0),
    "silu": lambda x: x / (1.0 + np.exp(-x)),
    "elu": lambda x: np.where(x > 0.0, x, np.expm1(np.minimum(x, 0.0))),
}
"""Activations with a numpy form; a network with another one acts through torch."""

ACTING_MODES = ("torch", "numpy")

Layer = tuple[np.ndarray, np.ndarray | None]  # (weight transposed [in, out], bias [out] or None)


def supports_numpy_acting(agent: ActorCritic, device: torch.device) -> bool:
    """An MLP policy on the CPU with a numpy activation, a critic and hidden layers."""
    return (
        device.type == "cpu"
        and agent.encoder is None
        and agent.critic is not None
        and agent.activation_name in NUMPY_ACTIVATIONS
        and len(agent.actor_layers) > 0
    )


def _layer(linear: torch.nn.Linear) -> Layer:
    bias = None if linear.bias is None else linear.bias.detach().numpy().copy()
    return linear.weight.detach().numpy().T.copy(), bias


def _apply(inputs: np.ndarray, layer: Layer) -> np.ndarray:
    weight, bias = layer
    outputs = inputs @ weight
    return outputs if bias is None else outputs + bias


class NumpyActingPolicy:
    """The acting half of an ``ActorCritic`` (sampling, log-probabilities, values) in numpy."""

    def __init__(self, agent: ActorCritic) -> None:
        self.agent = agent
        self.activation = NUMPY_ACTIVATIONS[agent.activation_name]
        self.discrete = isinstance(agent.head, CategoricalHead)
        self.refresh()

    def refresh(self) -> None:
        """Copy the agent's current weights (call after every update)."""
        agent = self.agent
        assert agent.critic is not None
        actor, critic = agent.actor_layers, agent.critic_layers
        first_actor, first_critic = _layer(actor[0]), _layer(critic[0])
        self.actor_width = first_actor[0].shape[1]
        biases = (first_actor[1], first_critic[1])
        fused_bias = None if biases[0] is None else np.concatenate(biases)  # type: ignore[arg-type]
        self.first = (np.concatenate([first_actor[0], first_critic[0]], axis=1), fused_bias)
        self.actor_rest = [_layer(layer) for layer in actor[1:]]
        self.critic_rest = [_layer(layer) for layer in critic[1:]]
        self.output = _layer(agent.head.output_layer)
        if not self.discrete:
            self.log_std = agent.head.log_std.detach().numpy().copy()

    def _hidden(self, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Actor features [B, H] and values [B]."""
        fused = self.activation(_apply(observations.reshape(len(observations), -1), self.first))
        features, hidden = fused[:, : self.actor_width], fused[:, self.actor_width :]
        for layer in self.actor_rest:
            features = self.activation(_apply(features, layer))
        for layer in self.critic_rest[:-1]:
            hidden = self.activation(_apply(hidden, layer))
        return features, _apply(hidden, self.critic_rest[-1])[:, 0]

    def act(self, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sample actions; return (actions, log_probs [B], values [B]) as ``ActorCritic.act``."""
        features, values = self._hidden(observations)
        outputs = _apply(features, self.output)
        if self.discrete:
            actions, log_probs = self._sample_categorical(outputs)
        else:
            actions, log_probs = self._sample_gaussian(outputs)
        return actions, log_probs, values

    def value(self, observations: np.ndarray) -> np.ndarray:
        """State values [B]."""
        return self._hidden(observations)[1]

    def _sample_categorical(self, logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Inverse-CDF sampling from one uniform per row, drawn as CategoricalHead.sample does."""
        shifted = logits - logits.max(-1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
        uniform = torch.rand((len(logits), 1)).numpy()
        below = (np.exp(log_probs).cumsum(-1) < uniform).sum(-1)
        actions = np.minimum(below, log_probs.shape[-1] - 1)
        return actions, log_probs[np.arange(len(actions)), actions]

    def _sample_gaussian(self, means: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean plus std times standard normals drawn as GaussianHead.sample does."""
        noise = torch.randn(means.shape).numpy()
        actions = means + noise * np.exp(self.log_std)
        log_probs = (-0.5 * np.square(noise) - self.log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
        return actions.astype(np.float32), log_probs.astype(np.float32)
