"""Observation encoders: the Nature-DQN convolutional trunk for image observations."""

from __future__ import annotations

import gymnasium as gym
import torch
from torch import nn

from rlcli.errors import UserError

ARCHITECTURES = ("auto", "mlp", "cnn")


def is_image(space: gym.Space) -> bool:
    """A 3-D Box observation: channels-first [C, H, W] (frame stacks) or channels-last [H, W, C]."""
    return isinstance(space, gym.spaces.Box) and len(space.shape) == 3


def uses_cnn(architecture: str, observation_space: gym.Space) -> bool:
    """Resolve ``network.architecture``: auto picks the CNN exactly for image observations."""
    if architecture not in ARCHITECTURES:
        raise UserError(
            f"network.architecture={architecture!r} is not one of {list(ARCHITECTURES)}"
        )
    if architecture == "cnn" and not is_image(observation_space):
        raise UserError(
            f"network.architecture=cnn needs image observations [C, H, W]; this env observes "
            f"{observation_space}: use network.architecture=mlp"
        )
    return architecture == "cnn" or (architecture == "auto" and is_image(observation_space))


class NatureCNN(nn.Module):
    """Mnih et al. (2015): 32 8x8/4, 64 4x4/2, 64 3x3/1 convolutions and a 512-unit layer, ReLU.

    Takes uint8 (or float) pixels in [0, 255] and scales them to [0, 1] itself, so rollouts can
    store frames as uint8.
    """

    FEATURES = 512

    def __init__(self, observation_space: gym.spaces.Box) -> None:
        super().__init__()
        shape = observation_space.shape
        # Channels-last images (a raw RGB frame [H, W, 3]) are moved to channels-first.
        self.channels_last = shape[-1] <= 4 < shape[0]
        channels = shape[-1] if self.channels_last else shape[0]
        self.convolutions = nn.Sequential(
            nn.Conv2d(channels, 32, kernel_size=8, stride=4),
            nn.ReLU(),
            nn.Conv2d(32, 64, kernel_size=4, stride=2),
            nn.ReLU(),
            nn.Conv2d(64, 64, kernel_size=3, stride=1),
            nn.ReLU(),
            nn.Flatten(),
        )
        with torch.no_grad():
            flat = self.convolutions(self._scaled(torch.zeros(1, *shape))).shape[1]
        self.linear = nn.Sequential(nn.Linear(flat, self.FEATURES), nn.ReLU())

    def _scaled(self, pixels: torch.Tensor) -> torch.Tensor:
        images = pixels.float() / 255.0
        return images.permute(0, 3, 1, 2) if self.channels_last else images

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """Features [B, 512] of images [B, *observation_shape]."""
        return self.linear(self.convolutions(self._scaled(pixels)))
