"""Registration of the schema dataclasses (rlcli/settings.py, rlcli/algos/) with Hydra."""

from __future__ import annotations

from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

from rlcli.algos import ALGORITHMS
from rlcli.names import slug
from rlcli.settings import EnvConfig, NetworkConfig, TrainConfig


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
