"""Composition root: the only place that turns a composed Hydra config into typed objects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from rlcli.errors import UserError
from rlcli.settings import TrainConfig


def settings_from_config(cfg: DictConfig) -> TrainConfig:
    """Convert the composed config into the typed settings, checking what composition cannot."""
    config = OmegaConf.to_object(cfg)
    assert isinstance(config, TrainConfig)
    if config.tuned_for is not None and config.tuned_for != config.env.id:
        raise UserError(
            f"env.id={config.env.id!r} was set on top of a preset tuned for {config.tuned_for!r}; "
            f"use env=generic env.id={config.env.id} (or the env's own preset) so the tuned "
            "hyperparameters of another env are not applied"
        )
    return config


def run_training(cfg: DictConfig, run_dir: Path) -> dict[str, Any]:
    """Build the settings from ``cfg`` and train into ``run_dir``."""
    from rlcli.train import train  # deferred: keeps `rlcli --help` and config errors fast

    return train(settings_from_config(cfg), run_dir)
