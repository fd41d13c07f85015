"""Shared fixtures: compose configs with Hydra's compose API, as the CLI would."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
import torch
from extras import pytest_make_collect_report, pytest_runtest_makereport  # noqa: F401 (CI: skip=fail)
from hydra import compose, initialize_config_module
from omegaconf import DictConfig

from rlcli.build import settings_from_config
from rlcli.config import register_configs
from rlcli.settings import TrainConfig

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

# Keep test runs short: no periodic evaluation unless a test asks for it, no console output.
FAST = ["progress=none", "eval.every_steps=0", "eval.episodes=2"]


@pytest.fixture(scope="session", autouse=True)
def _register() -> None:
    register_configs()
    # As rlcli train does (torch_threads=1): small networks, no oversubscription of the cores.
    torch.set_num_threads(1)


@pytest.fixture
def compose_config() -> Iterator[Callable[..., DictConfig]]:
    """compose_config(*overrides) -> the composed DictConfig of ``rlcli train``."""
    with initialize_config_module(config_module="rlcli.configs", version_base="1.3"):
        yield lambda *overrides: compose(config_name="train", overrides=list(overrides))


@pytest.fixture
def settings(compose_config: Callable[..., DictConfig]) -> Callable[..., TrainConfig]:
    """settings(*overrides) -> typed TrainConfig, with the fast test defaults applied first."""
    return lambda *overrides: settings_from_config(compose_config(*FAST, *overrides))
