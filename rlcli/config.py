"""Registration of the schema dataclasses (rlcli/settings.py, rlcli/algos/) with Hydra."""

from __future__ import annotations

import re

from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

from rlcli.algos import ALGORITHMS
from rlcli.settings import EnvConfig, NetworkConfig, TrainConfig


def slug(text: str) -> str:
    """Make a value safe as one path component (``ALE/Pong-v5`` -> ``ALE-Pong-v5``)."""
    return re.sub(r"[^A-Za-z0-9_.=-]+", "-", str(text)).strip("-")


def register_configs() -> None:
    """Register the schemas and the ``slug`` resolver used by run directory names."""
    if not OmegaConf.has_resolver("slug"):
        OmegaConf.register_new_resolver("slug", slug)
    store = ConfigStore.instance()
    store.store(name="train_schema", node=TrainConfig)
    store.store(group="env", name="env_schema", node=EnvConfig)
    store.store(group="network", name="network_schema", node=NetworkConfig)
    for name, algorithm in ALGORITHMS.items():
        store.store(group="algo", name=f"{name}_schema", node=algorithm)
