"""Registration of the schema dataclasses (rlcli/settings.py, rlcli/algos/) with Hydra."""

from __future__ import annotations

from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

from rlcli.algos import ALGORITHMS
from rlcli.names import slug
from rlcli.settings import TrainConfig


def register_configs() -> None:
    """Register the schemas and the ``slug`` resolver used by run directory names.

    The schemas are top-level configs, not options of the ``algo`` group, so they are neither
    listed by ``--help`` nor selectable (``algo=ppo_schema``): an algorithm's yaml extends its
    schema with ``defaults: [/<name>_schema@_here_]``. The ``env`` and ``network`` nodes are
    typed by ``TrainConfig`` itself.
    """
    if not OmegaConf.has_resolver("slug"):
        OmegaConf.register_new_resolver("slug", slug)
    store = ConfigStore.instance()
    store.store(name="train_schema", node=TrainConfig)
    for name, algorithm in ALGORITHMS.items():
        store.store(name=f"{name}_schema", node=algorithm)
