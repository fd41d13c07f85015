"""rlcli: reinforcement-learning training from the command line, driven by Hydra configs.

The Python API (imports torch and Hydra only when called)::

    import rlcli
    summary = rlcli.train("algo=ppo", "env=CartPole-v1", seed=1)   # -> RunSummary
    policy = rlcli.load(run_dir)                                     # policy.act(observation)
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rlcli.policy import Policy
    from rlcli.records import RunSummary

__version__ = "0.1.0"
__all__ = ["__version__", "load", "train"]


def train(*overrides: str, run_dir: str | Path | None = None, **values: Any) -> RunSummary:
    """Train as ``rlcli train`` would: ``rlcli.train("algo=ppo", "env=CartPole-v1", seed=1)``.

    The same composition, presets and checks as the command line; ``values`` set top-level keys.
    Returns the run's summary (also its summary.json); mistakes raise ``rlcli.errors.UserError``.
    """
    from rlcli.api import train as train_run

    return train_run(*overrides, run_dir=run_dir, **values)


def load(run_dir: str | Path, checkpoint: str = "final") -> Policy:
    """The trained policy of a run directory (or checkpoint file), to act in your own loop:
    ``action = policy.act(observation, deterministic=True)``."""
    from rlcli.api import load as load_run

    return load_run(run_dir, checkpoint)


class _Package(types.ModuleType):
    """Keeps ``rlcli.train`` the API function: importing the training loop's module
    (``rlcli/train.py``) would otherwise bind the name to that module. ``from rlcli.train import
    TrainingRun`` still works (it reads ``sys.modules``)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "train" and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
