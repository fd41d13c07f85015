"""The Python API: ``rlcli.train(...)`` composes and trains as ``rlcli train`` does;
``rlcli.load(run_dir)`` gives the trained policy back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from rlcli.errors import UserError
from rlcli.records import RunSummary


def override_text(key: str, value: Any) -> str:
    """``key=value`` in Hydra's override syntax (``seed=1``, ``network.hidden_sizes=[64,64]``)."""
    if isinstance(value, str):
        return f"{key}={value}"
    return f"{key}={json.dumps(value)}"  # true/false, null, numbers, lists


@contextmanager
def _own_hydra() -> Iterator[None]:
    """Hydra's compose API needs the global Hydra to itself: set aside one already initialised
    (e.g. by a Hydra app that calls rlcli.train) and put it back afterwards."""
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    global_hydra = GlobalHydra.instance()
    saved = global_hydra.hydra if global_hydra.is_initialized() else None
    global_hydra.clear()
    try:
        with initialize_config_module(config_module="rlcli.configs", version_base="1.3"):
            yield
    finally:
        if saved is not None:
            GlobalHydra.instance().initialize(saved)


def compose_train_config(overrides: list[str]) -> tuple[DictConfig, DictConfig]:
    """(the task's config, Hydra's node) for ``rlcli train <overrides>``; a mistake is a
    UserError with the same one-line message as on the command line."""
    from hydra import compose
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from rlcli.config import register_configs
    from rlcli.overrides import composition_error_message, prepare

    register_configs()
    arguments = prepare(overrides)
    try:
        with _own_hydra():
            cfg = compose(config_name="train", overrides=arguments, return_hydra_config=True)
    except (HydraException, OmegaConfBaseException) as error:
        raise UserError(composition_error_message(error)) from None
    hydra_node = cfg.hydra
    OmegaConf.resolve(hydra_node)  # run.dir's ${now:...} and ${algo.name}, before it goes
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg, hydra_node


def train(*overrides: str, run_dir: str | Path | None = None, **values: Any) -> RunSummary:
    """Train as ``rlcli train`` would: ``train("algo=ppo", "env=CartPole-v1", seed=1)``.

    ``overrides`` are the command line's words; ``values`` set top-level keys (``seed``,
    ``total_timesteps``, ``progress``). The run goes to ``run_dir``, by default a new directory
    under ``outputs/runs/`` as on the command line; the summary is also its summary.json.
    Mistakes raise ``rlcli.errors.UserError`` before anything is written.
    """
    from rlcli.build import (
        discard_unfinished_run_dir,
        refuse_a_used_run_dir,
        run_training,
        write_job_files,
    )

    words = [*overrides, *(override_text(key, value) for key, value in values.items())]
    if any(word.startswith("-") for word in words):
        raise UserError(f"rlcli.train takes overrides only, not flags: {' '.join(words)}")
    cfg, hydra_node = compose_train_config(words)
    directory = Path(run_dir if run_dir is not None else hydra_node.run.dir)
    refuse_a_used_run_dir(directory)

    def on_start() -> None:
        write_job_files(directory, cfg, hydra_node, words)

    try:
        return run_training(cfg, directory, on_start=on_start)
    except UserError:
        discard_unfinished_run_dir(directory)
        raise


def load(run_dir: str | Path, checkpoint: str = "final") -> Any:
    """The trained policy of a run (``checkpoint``: final, best or latest) or a checkpoint file:
    ``policy.act(observation, deterministic=True)`` gives the action for ``env.step``."""
    from rlcli.policy import load_policy

    return load_policy(run_dir, checkpoint)
