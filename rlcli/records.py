"""Typed records at the seams: a run's counters (checkpointed) and its summary (summary.json)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Counters:
    """Progress of a run; saved in every checkpoint so a resume continues them."""

    global_step: int = 0
    """Env steps summed over envs (for learners trained from a dataset: samples trained on)."""
    iteration: int = 0
    """Completed collect + update iterations."""
    best_eval_mean_return: float | None = None
    first_solved_step: int | None = None
    first_solved_seconds: float | None = None
    last_eval_step: int | None = None
    training_seconds: float = 0.0
    """Seconds spent training (evaluation excluded), carried across resumes."""
    running_return: float | None = None
    """Exponential average of the training episodes' returns (TrainConfig.running_return_weight)."""
    episode_returns: list[float] = field(default_factory=list)
    """Return of every finished training episode, in order (the run's rewards.png)."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Counters:
        """Counters from a checkpoint's plain dict (unknown keys of older versions ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in names})

    def as_dict(self) -> dict[str, Any]:
        """Plain data for a checkpoint."""
        return dataclasses.asdict(self)


@dataclass
class RunSummary:
    """What a finished run reports: written as summary.json, returned by ``train()``."""

    algo: str
    env_id: str
    seed: int
    global_step: int
    iterations: int
    wall_seconds: float
    sps: float
    final_eval_mean_return: float
    final_eval_std_return: float
    final_eval_returns: list[float]
    best_eval_mean_return: float | None
    first_solved_step: int | None
    first_solved_seconds: float | None
    reward_threshold: float | None
    exact_resume: bool
    episodes: int = 0
    """Finished training episodes."""
    running_return: float | None = None
    """The running return of the training episodes at the end."""
    extra: dict[str, float] = field(default_factory=dict)
    """Learner-specific final values (e.g. an RLHF run's final KL), flattened into the JSON."""

    def as_dict(self) -> dict[str, Any]:
        """The summary.json mapping (``extra`` flattened into the top level)."""
        data = dataclasses.asdict(self)
        data.update(data.pop("extra"))
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSummary:
        """Read back a summary.json mapping."""
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        known = {key: value for key, value in data.items() if key in names}
        extra = {key: value for key, value in data.items() if key not in names}
        return cls(**known, extra=extra)
