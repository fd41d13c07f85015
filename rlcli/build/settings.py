"""Composed config (or a checkpoint's saved config) -> validated typed settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from rlcli.algos import ALGORITHMS
from rlcli.compiling import COMPILE_MODES, compile_mode
from rlcli.errors import UserError, install_hint
from rlcli.numpy_acting import ACTING_MODES
from rlcli.settings import TrainConfig

CHECKPOINT_PREFERENCE = ("final", "latest", "best")
PROGRESS_MODES = ("auto", "bar", "log", "none")
TRACKERS = ("none", "wandb")
WANDB_MODES = (None, "online", "offline", "disabled")
VECTORIZATION_MODES = ("auto", "sync", "async")


def _range_checks(config: TrainConfig) -> list[tuple[bool, str]]:
    """(is valid, message naming the value and what is valid) for every range rule; the
    algorithm adds its own (``algo.range_checks``)."""
    algo, env, network = config.algo, config.env, config.network
    checks = [
        (algo.learning_rate > 0, f"algo.learning_rate={algo.learning_rate} must be > 0"),
        (0 < algo.gamma <= 1, f"algo.gamma={algo.gamma} must be in (0, 1]"),
        (env.num_envs >= 1, f"env.num_envs={env.num_envs} must be >= 1"),
        (
            (len(network.hidden_sizes) > 0 or network.architecture == "cnn")
            and all(size > 0 for size in network.hidden_sizes),
            f"network.hidden_sizes={network.hidden_sizes} must be a non-empty list of positive "
            "widths, e.g. [64,64] (empty only with network.architecture=cnn)",
        ),
        (config.eval.episodes >= 1, f"eval.episodes={config.eval.episodes} must be >= 1"),
        (
            0 < config.running_return_weight <= 1,
            f"running_return_weight={config.running_return_weight} must be in (0, 1]",
        ),
        (
            config.log_every_episodes >= 0,
            f"log_every_episodes={config.log_every_episodes} must be >= 0 (0: no episode lines)",
        ),
        (
            config.device in ("auto", "cpu", "cuda") or config.device.startswith("cuda:"),
            f"device={config.device!r} is not one of auto, cpu, cuda, cuda:N",
        ),
        (
            algo.max_grad_norm is None or algo.max_grad_norm > 0,
            f"algo.max_grad_norm={algo.max_grad_norm} must be > 0 or null",
        ),
        (
            compile_mode(config.compile) in COMPILE_MODES,
            f"compile={config.compile!r} is not one of {', '.join(COMPILE_MODES)}",
        ),
        (
            config.acting in ACTING_MODES,
            f"acting={config.acting!r} is not one of {', '.join(ACTING_MODES)}",
        ),
        (
            env.vectorization in VECTORIZATION_MODES,
            f"env.vectorization={env.vectorization!r} is not one of "
            f"{', '.join(VECTORIZATION_MODES)}",
        ),
        (
            config.progress in PROGRESS_MODES,
            f"progress={config.progress!r} is not one of {', '.join(PROGRESS_MODES)}",
        ),
        (
            config.track in TRACKERS,
            f"track={config.track!r} is not one of {', '.join(TRACKERS)}",
        ),
        (
            config.wandb.mode in WANDB_MODES,
            f"wandb.mode={config.wandb.mode!r} is not one of online, offline, disabled, null",
        ),
    ]
    if algo.consumes == "rollouts":
        batch = env.num_envs * algo.num_steps
        checks.append(
            (
                config.total_timesteps >= batch,
                f"total_timesteps={config.total_timesteps} is less than one rollout "
                f"(env.num_envs * algo.num_steps = {batch})",
            )
        )
    return checks + algo.range_checks(env.num_envs)


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
    if config.algo.consumes == "demonstrations" and config.dataset is None:
        raise UserError(
            f"algo={config.algo.name} learns from demonstrations: add dataset=<Minari dataset id "
            "or directory>, e.g. one written by rlcli collect <run dir>"
        )
    _validate_rlhf(config)
    if config.stop_when_running_return_solved and _threshold(config) is None:
        raise UserError(
            "stop_when_running_return_solved=true needs a reward threshold, and "
            f"{config.env.id} has none; set env.reward_threshold=<return>"
        )
    if config.track == "wandb":
        try:
            import wandb  # noqa: F401
        except ImportError:
            raise UserError(
                f"track=wandb needs the wandb package: {install_hint('wandb')}"
            ) from None
    if config.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise UserError(f"device={config.device!r} but CUDA is not available; use device=auto")


def _threshold(config: TrainConfig) -> float | None:
    from rlcli.envs import reward_threshold  # deferred: imports gymnasium

    return reward_threshold(config.env.id, config.env.reward_threshold)


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


def _validate_rlhf(config: TrainConfig) -> None:
    """Range rules of the rlhf group, checked only when it is enabled."""
    rlhf = config.rlhf
    if not rlhf.enabled:
        return
    model = rlhf.reward_model_config
    checks = [
        (
            config.algo.consumes == "rollouts",
            f"rlhf.enabled=true needs an RL algo, not {config.algo.name}",
        ),
        (rlhf.kl_coef >= 0, f"rlhf.kl_coef={rlhf.kl_coef} must be >= 0"),
        (
            rlhf.kl_target is None or rlhf.kl_target > 0,
            f"rlhf.kl_target={rlhf.kl_target} must be > 0 or null",
        ),
        (rlhf.reward_scale > 0, f"rlhf.reward_scale={rlhf.reward_scale} must be > 0"),
        (rlhf.segment_length >= 2, f"rlhf.segment_length={rlhf.segment_length} must be >= 2"),
        (rlhf.label_budget >= 1, f"rlhf.label_budget={rlhf.label_budget} must be >= 1"),
        (
            rlhf.label_every_steps >= 1,
            f"rlhf.label_every_steps={rlhf.label_every_steps} must be >= 1",
        ),
        (
            0 <= rlhf.initial_label_fraction <= 1,
            f"rlhf.initial_label_fraction={rlhf.initial_label_fraction} must be in [0, 1]",
        ),
        (
            rlhf.candidates_per_label >= 1,
            f"rlhf.candidates_per_label={rlhf.candidates_per_label} must be >= 1",
        ),
        (
            0 <= rlhf.termination_pair_fraction <= 1,
            f"rlhf.termination_pair_fraction={rlhf.termination_pair_fraction} must be in [0, 1]",
        ),
        (
            rlhf.absorbing_steps is None or rlhf.absorbing_steps >= 0,
            f"rlhf.absorbing_steps={rlhf.absorbing_steps} must be >= 0 or null",
        ),
        (
            model.ensemble_size >= 1,
            f"rlhf.reward_model_config.ensemble_size={model.ensemble_size} must be >= 1",
        ),
        (
            rlhf.online or rlhf.reward_model is not None,
            "rlhf.online=false needs a trained model: rlhf.reward_model=<reward model file or "
            "stage directory>",
        ),
        (
            not rlhf.online or rlhf.labeller.kind in ("synthetic", "human"),
            f"rlhf.labeller.kind={rlhf.labeller.kind!r}: online labelling supports synthetic and "
            "human (rlcli label); a labels file is read by the reward-model stage",
        ),
        (
            rlhf.labeller.min_new_labels >= 1,
            f"rlhf.labeller.min_new_labels={rlhf.labeller.min_new_labels} must be >= 1",
        ),
        (
            rlhf.labeller.wait_seconds >= 0,
            f"rlhf.labeller.wait_seconds={rlhf.labeller.wait_seconds} must be >= 0",
        ),
    ]
    for valid, message in checks:
        if not valid:
            raise UserError(message)
