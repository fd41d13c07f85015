"""Typed settings of a training run: the schema behind every config option.

Plain dataclasses (no Hydra imports) so library code can take them as arguments; rlcli/config.py
registers them with Hydra. ``"???"`` marks a value that must be given (OmegaConf's MISSING).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MISSING: Any = "???"


@dataclass
class EnvConfig:
    """Which environment to train on and how to wrap it."""

    id: str = MISSING
    """A registered gymnasium id, or ``module:Id`` to import a custom env's module first."""
    num_envs: int = 4
    """Copies of the env stepped together for training."""
    max_episode_steps: int | None = None
    """Override the id's time limit; null keeps the registered one."""
    reward_threshold: float | None = None
    """Mean evaluation return that counts as solved; null uses the env spec's."""
    normalize_observation: bool = False
    """Standardise observations with running statistics (saved with checkpoints)."""
    normalize_reward: bool = False
    """Scale rewards by the running std of the discounted return."""
    clip_observation: float = 10.0
    """Clip normalised observations to [-c, c]."""
    clip_reward: float = 10.0
    """Clip normalised rewards to [-c, c]."""
    kwargs: dict[str, Any] = field(default_factory=dict)
    """Extra keyword arguments for the env constructor."""


@dataclass
class NetworkConfig:
    """Policy/value network architecture."""

    architecture: str = "auto"
    """auto (the Nature CNN for image observations, an MLP otherwise), mlp or cnn."""
    hidden_sizes: list[int] = field(default_factory=lambda: [64, 64])
    """Widths of the hidden layers (actor and critic each get this MLP; with the CNN, layers after
    its shared 512 features)."""
    activation: str = "tanh"
    """One of tanh, relu, elu, gelu, silu."""
    orthogonal_init: bool = True
    """Orthogonal weight initialisation (policy output gain 0.01, value output gain 1)."""
    log_std_init: float = 0.0
    """Initial log standard deviation of Gaussian policies."""


@dataclass
class EvalConfig:
    """Evaluation on a separate env during training."""

    every_steps: int = 10_000
    """Evaluate every this many env steps (and always at the end); 0 evaluates only at the end."""
    episodes: int = 10
    """Episodes per evaluation."""
    deterministic: bool = True
    """Act with the policy's mode instead of sampling."""


@dataclass
class TrainConfig:
    """Top-level config of ``rlcli train``."""

    algo: Any = MISSING
    """Algorithm hyperparameters (config group ``algo``)."""
    env: EnvConfig = field(default_factory=EnvConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    seed: int = 0
    """Seeds python, numpy, torch and the envs."""
    total_timesteps: int = 100_000
    """Env steps to train for (summed over envs)."""
    device: str = "auto"
    """auto (CUDA when present), cpu or cuda."""
    torch_threads: int = 1
    """Intra-op threads for torch; small MLPs run fastest on one; 0 leaves torch's default."""
    stop_when_solved: bool = False
    """Stop at the first evaluation at or above the env's reward threshold."""
    checkpoint_every_steps: int = 50_000
    """Write checkpoints/latest.pt every this many env steps; 0 disables periodic checkpoints."""
    progress: str = "auto"
    """Console output: auto (a live line on a terminal, log lines otherwise), bar, log or none."""
    init_from: str | None = None
    """Warm start: a checkpoint or run directory whose network weights (and observation
    statistics) this new run starts from; its budget, optimizer and counters start fresh."""
    tuned_for: str | None = None
    """Env id a tuned preset was written for; set only by configs/tuned/ files."""
    trial: str | None = None
    """Optuna trial this run reports its evaluations to (and is pruned by); set only by the optuna
    sweeper (hydra/sweeper=optuna), as JSON naming the storage, study and trial number."""
