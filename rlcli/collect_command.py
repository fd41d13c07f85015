"""``rlcli collect``: roll out a trained policy and save its episodes as a Minari dataset."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from rlcli.arguments import parse_path_and_options
from rlcli.build import find_checkpoint, settings_from_dict
from rlcli.checkpoint import load_checkpoint
from rlcli.demonstrations import record_episodes, write_dataset
from rlcli.envs import make_env
from rlcli.errors import UserError
from rlcli.evaluate_command import observation_normalizer, restore_policy
from rlcli.metrics import write_json


@dataclasses.dataclass
class CollectRequest:
    """What ``rlcli collect`` was asked to do."""

    path: Path
    episodes: int = 10
    checkpoint: str = "final"
    deterministic: bool = True
    seed: int = 0
    output: Path | None = None
    """Dataset directory to write; default <run dir>/datasets/<checkpoint>-<episodes>ep."""


def parse_collect_arguments(arguments: list[str]) -> CollectRequest:
    """``<path> key=value ...`` -> CollectRequest."""
    kinds = {
        "episodes": int,
        "checkpoint": str,
        "deterministic": bool,
        "seed": int,
        "output": Path,
    }
    path, values = parse_path_and_options("collect", arguments, kinds)
    request = CollectRequest(path, **values)
    if request.episodes < 1:
        raise UserError(f"episodes={request.episodes} must be >= 1")
    if request.checkpoint not in ("final", "best", "latest"):
        raise UserError(f"checkpoint={request.checkpoint!r} is not one of final, best, latest")
    return request


def collect_command(request: CollectRequest) -> dict[str, Any]:
    """Record the episodes, write the dataset and a collect.json beside it; returns that record."""
    path = find_checkpoint(request.path, (request.checkpoint, "final", "latest", "best"))
    checkpoint = load_checkpoint(path)
    config = settings_from_dict(checkpoint["config"])
    run_dir = path.parent.parent if path.parent.name == "checkpoints" else path.parent
    destination = request.output or (
        run_dir / "datasets" / f"{path.stem}-{request.episodes}ep-seed{request.seed}"
    )
    if destination.exists():
        raise UserError(f"output={str(destination)!r} already exists; choose another directory")
    env = make_env(
        config.env.id, config.env.kwargs, False, max_episode_steps=config.env.max_episode_steps
    )
    agent = restore_policy(config, checkpoint, env)
    normalizer = observation_normalizer(config, checkpoint, env.observation_space.shape)
    records = record_episodes(
        agent, env, request.episodes, request.seed, request.deterministic, normalizer
    )
    returns = [float(np.sum(record.rewards)) for record in records]
    mode = "deterministic" if request.deterministic else "stochastic"
    write_dataset(
        destination,
        records,
        config.env.id,
        env.observation_space,
        env.action_space,
        f"{request.episodes} {mode} episodes of {path} (rlcli collect)",
    )
    env.close()
    summary = {
        "dataset": str(destination),
        "checkpoint": str(path),
        "env_id": config.env.id,
        "episodes": request.episodes,
        "steps": int(sum(len(record.actions) for record in records)),
        "deterministic": request.deterministic,
        "mean_return": float(np.mean(returns)),
        "returns": returns,
    }
    write_json(destination / "collect.json", summary)
    print(
        f"{config.env.id}: {request.episodes} {mode} episodes, mean return "
        f"{summary['mean_return']:.2f}, {summary['steps']:,} steps; wrote {destination}\n"
        f"next: rlcli train algo=bc env=... dataset={destination}"
    )
    return summary
