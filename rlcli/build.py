"""Composition root: the only place that turns configs and checkpoints into typed settings."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from rlcli.algos import ALGORITHMS
from rlcli.checkpoint import load_checkpoint
from rlcli.errors import UserError
from rlcli.settings import TrainConfig

CHECKPOINT_PREFERENCE = ("final", "latest", "best")


def _range_checks(config: TrainConfig) -> list[tuple[bool, str]]:
    """(is valid, message naming the value and what is valid) for every range rule."""
    algo, env, network = config.algo, config.env, config.network
    batch = env.num_envs * algo.num_steps
    checks = [
        (algo.learning_rate > 0, f"algo.learning_rate={algo.learning_rate} must be > 0"),
        (0 < algo.gamma <= 1, f"algo.gamma={algo.gamma} must be in (0, 1]"),
        (env.num_envs >= 1, f"env.num_envs={env.num_envs} must be >= 1"),
        (algo.num_steps >= 1, f"algo.num_steps={algo.num_steps} must be >= 1"),
        (
            (len(network.hidden_sizes) > 0 or network.architecture == "cnn")
            and all(size > 0 for size in network.hidden_sizes),
            f"network.hidden_sizes={network.hidden_sizes} must be a non-empty list of positive "
            "widths, e.g. [64,64] (empty only with network.architecture=cnn)",
        ),
        (
            config.total_timesteps >= batch,
            f"total_timesteps={config.total_timesteps} is less than one rollout "
            f"(env.num_envs * algo.num_steps = {batch})",
        ),
        (config.eval.episodes >= 1, f"eval.episodes={config.eval.episodes} must be >= 1"),
        (
            config.device in ("auto", "cpu", "cuda") or config.device.startswith("cuda:"),
            f"device={config.device!r} is not one of auto, cpu, cuda, cuda:N",
        ),
        (
            algo.max_grad_norm is None or algo.max_grad_norm > 0,
            f"algo.max_grad_norm={algo.max_grad_norm} must be > 0 or null",
        ),
    ]
    if algo.name == "ppo":
        checks += [
            (algo.clip_coef > 0, f"algo.clip_coef={algo.clip_coef} must be > 0"),
            (0 <= algo.gae_lambda <= 1, f"algo.gae_lambda={algo.gae_lambda} must be in [0, 1]"),
            (algo.update_epochs >= 1, f"algo.update_epochs={algo.update_epochs} must be >= 1"),
            (
                algo.num_minibatches >= 1 and batch % algo.num_minibatches == 0,
                f"algo.num_minibatches={algo.num_minibatches} must be >= 1 and divide the batch "
                f"(env.num_envs * algo.num_steps = {batch})",
            ),
        ]
    return checks


def validate(config: TrainConfig) -> None:
    """Reject out-of-range values before anything is built or written."""
    for valid, message in _range_checks(config):
        if not valid:
            raise UserError(message)
    if config.tuned_for is not None and config.tuned_for != config.env.id:
        raise UserError(
            f"env.id={config.env.id!r} was set on top of a preset tuned for {config.tuned_for!r}; "
            f"use env=generic env.id={config.env.id} (or the env's own preset) so the tuned "
            "hyperparameters of another env are not applied"
        )
    if config.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise UserError(f"device={config.device!r} but CUDA is not available; use device=auto")


def settings_from_config(cfg: DictConfig) -> TrainConfig:
    """Convert the composed config into validated typed settings."""
    config = OmegaConf.to_object(cfg)
    assert isinstance(config, TrainConfig)
    validate(config)
    return config


def settings_from_dict(data: dict[str, Any]) -> TrainConfig:
    """Typed settings from a checkpoint's saved config, checked against the current schema."""
    try:
        schema = OmegaConf.structured(TrainConfig)
        schema.algo = OmegaConf.structured(ALGORITHMS[data["algo"]["name"]])
        config = OmegaConf.to_object(OmegaConf.merge(schema, data))
    except (KeyError, TypeError, OmegaConfBaseException) as error:
        raise UserError(
            f"the checkpoint's saved config is not valid for this rlcli: {error}"
        ) from None
    assert isinstance(config, TrainConfig)
    validate(config)
    return config


def find_checkpoint(path: Path, preference: tuple[str, ...] = CHECKPOINT_PREFERENCE) -> Path:
    """A checkpoint file itself, or the first of ``preference`` inside a run directory."""
    if path.is_file():
        return path
    if not path.is_dir():
        raise UserError(f"{str(path)!r} is neither a checkpoint file nor a run directory")
    for name in preference:
        candidate = path / "checkpoints" / f"{name}.pt"
        if candidate.is_file():
            return candidate
    names = ", ".join(f"checkpoints/{name}.pt" for name in preference)
    raise UserError(f"{str(path)!r} is not an rlcli run directory: it has none of {names}")


def discard_unfinished_run_dir(run_dir: Path) -> None:
    """Remove the directory Hydra made for a refused start, and the parents made with it inside
    the working directory (``outputs/runs/<date>``): nothing is written before a run starts, so
    they are empty; a directory holding anything is left as it is."""
    working_dir, folder = Path.cwd().resolve(), run_dir.resolve()
    with contextlib.suppress(OSError):  # not empty: stop there
        folder.rmdir()
        while working_dir in folder.parent.parents:
            folder = folder.parent
            folder.rmdir()


def run_training(
    cfg: DictConfig, run_dir: Path, on_start: Callable[[], None] | None = None
) -> dict[str, Any]:
    """Build the settings from ``cfg`` and train into ``run_dir`` (warm-starting if asked).

    ``on_start`` is called once everything is built and checked, before training begins."""
    from rlcli.train import TrainingRun  # deferred: keeps `rlcli --help` and config errors fast

    config = settings_from_config(cfg)
    initial_weights = None
    if config.init_from is not None:
        initial_weights = load_checkpoint(find_checkpoint(Path(config.init_from)))
    training_run = TrainingRun(config, run_dir, initial_weights=initial_weights)
    if on_start is not None:
        on_start()
    if config.trial is not None:  # a job of an Optuna search: report evaluations, maybe prune
        from rlcli.search import trial_reporter

        final_step = training_run.num_iterations * training_run.steps_per_iteration
        training_run.on_evaluation = trial_reporter(config.trial, final_step)
    return _run_stoppable(training_run)


def resume_training(run_dir: Path) -> dict[str, Any]:
    """Continue the run in ``run_dir`` from its latest checkpoint, with its saved config."""
    from rlcli.train import TrainingRun

    if (run_dir / "summary.json").is_file() and not _newer_latest(run_dir):
        raise UserError(f"run {str(run_dir)!r} already finished (summary.json); nothing to resume")
    checkpoint = load_checkpoint(find_checkpoint(run_dir, ("latest",)))
    config = settings_from_dict(checkpoint["config"])
    return _run_stoppable(TrainingRun(config, run_dir, resume=checkpoint))


def _newer_latest(run_dir: Path) -> bool:
    latest = run_dir / "checkpoints" / "latest.pt"
    return latest.is_file() and latest.stat().st_mtime > (run_dir / "summary.json").stat().st_mtime


def _run_stoppable(training_run: Any) -> dict[str, Any]:
    """Run with SIGINT/SIGTERM asking for a checkpoint and a clean stop; a second one exits."""
    from rlcli.signals import stop_on_signals

    with stop_on_signals(training_run.request_stop):
        return training_run.run()
