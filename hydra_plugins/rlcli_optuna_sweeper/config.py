"""Schema of ``hydra/sweeper=optuna``: registered with Hydra when its plugins are scanned.

No ``from __future__ import annotations`` here: Hydra's plugin scan runs this module before it is
in sys.modules, where dataclasses cannot resolve string annotations.
"""

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore


@dataclass
class OptunaSweeperConf:
    """Settings of an Optuna study over rlcli training jobs (configs/hydra/sweeper/optuna.yaml)."""

    _target_: str = "hydra_plugins.rlcli_optuna_sweeper.optuna_sweeper.OptunaSweeper"
    params: dict[str, str] = field(default_factory=dict)
    """Search space: override key -> Hydra sweep expression, e.g.
    ``tag(log, interval(1e-5, 1e-3))``, ``interval(0.8, 0.99)``, ``tag(int, interval(1, 8))``,
    ``choice(1, 2, 4)``, ``range(1, 9, 2)``; a plain value is passed to every job unchanged."""
    n_trials: int = 20
    """Trials this command runs; they are added to the study's earlier trials."""
    trials_per_batch: int = 1
    """Trials asked for and launched together (each is len(seeds) jobs); >1 runs them in parallel
    with a parallel launcher (local_parallel, slurm, ray)."""
    seeds: list[int] = field(default_factory=lambda: [0])
    """Seeds each trial trains with; the objective is the mean of their final evaluation returns."""
    direction: str = "maximize"
    """maximize or minimize the objective."""
    study_name: str = "rlcli"
    """Name of the study in the storage (one storage can hold several studies)."""
    storage: str | None = None
    """Optuna storage URL, e.g. postgresql://user:password@host/db so several machines share the
    study; null keeps it in ${hydra.sweep.dir}/optuna.db (SQLite)."""
    sampler: Any = field(
        default_factory=lambda: {
            "_target_": "optuna.samplers.TPESampler",
            "seed": None,
            "n_startup_trials": 10,
            "constant_liar": True,
        }
    )
    """Optuna sampler (instantiated with Hydra); TPE, with constant liar for parallel trials."""
    warmup_steps: int = 0
    """Env steps of a trial before the pruner may stop it (the median and threshold pruners'
    n_warmup_steps)."""
    pruner: Any = None
    """Optuna pruner fed with the evaluation returns of the jobs (steps are env steps): the group
    hydra/sweeper/pruner (median, threshold, nop); null never prunes."""


ConfigStore.instance().store(
    group="hydra/sweeper",
    name="rlcli_optuna",
    node=OptunaSweeperConf,
    provider="rlcli",
)
