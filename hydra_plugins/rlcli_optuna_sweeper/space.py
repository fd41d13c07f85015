"""The search space and the jobs of a study: Hydra sweep overrides -> Optuna distributions, a
trial's parameters -> job overrides, the jobs' returns -> the trial's outcome.

Hydra imports this module whenever it scans its plugins: optuna is imported only inside functions.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rlcli.errors import UserError
from rlcli.optuna_trial import TrialRef

if TYPE_CHECKING:
    import optuna
    from optuna.distributions import BaseDistribution


def distribution(value: Any) -> BaseDistribution:
    """Optuna distribution of a parsed Hydra sweep (``choice``, ``range``, ``interval``, tags
    ``log`` and ``int``)."""
    from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    if isinstance(value, ChoiceSweep):  # a list choice ([64,64]) is kept as its override text
        scalar = (type(None), bool, int, float, str)
        return CategoricalDistribution(
            [v if isinstance(v, scalar) else override_value(v) for v in value.list]
        )
    if isinstance(value, RangeSweep):
        count = max(0, math.ceil((value.stop - value.start) / value.step))
        if all(isinstance(v, int) for v in (value.start, value.stop, value.step)) and count:
            return IntDistribution(value.start, value.start + (count - 1) * value.step, value.step)
        return CategoricalDistribution([value.start + i * value.step for i in range(count)])
    if isinstance(value, IntervalSweep):
        log = "log" in value.tags
        if "int" in value.tags:
            return IntDistribution(int(value.start), int(value.end), log=log)
        return FloatDistribution(float(value.start), float(value.end), log=log)
    raise ValueError(f"unsupported sweep {value!r}; use choice, range or interval")


def split_overrides(
    params: dict[str, str], arguments: Sequence[str]
) -> tuple[list[str], dict[str, BaseDistribution]]:
    """(overrides every job gets, search space) from the sweeper's ``params`` and the command
    line; a sweep on the command line (``algo.gae_lambda=interval(0.9,0.99)``) wins."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    lines = [f"{key}={value}" for key, value in params.items()] + list(arguments)
    fixed: dict[str, str] = {}
    space: dict[str, BaseDistribution] = {}
    for override in OverridesParser.create().parse_overrides(lines):
        key = override.get_key_element()
        fixed.pop(key, None)
        space.pop(key, None)
        if override.is_sweep_override():
            space[key] = distribution(override.value())
        else:
            fixed[key] = override.input_line
    if "seed" in fixed or "seed" in space:
        raise UserError("set the seeds of each trial with hydra.sweeper.seeds=[0,1,...], not seed=")
    return list(fixed.values()), space


def override_value(value: Any) -> str:
    """A sampled value as Hydra override text."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(override_value(v) for v in value) + "]"
    return str(value)


def job_overrides(
    fixed: Sequence[str], params: dict[str, Any], seed: int, ref: TrialRef
) -> list[str]:
    """One job of a trial: the fixed overrides, the trial's parameters, its seed, where to report
    and its directory ``trial<N>_seed<S>``."""
    sampled = [f"{key}={override_value(value)}" for key, value in params.items()]
    return [
        *fixed,
        *sampled,
        f"seed={seed}",
        ref.to_override(),
        f"hydra.sweep.subdir=trial{ref.number}_seed{seed}",
    ]


def trial_outcome(
    returns: Sequence[Any], pruned: bool
) -> tuple[optuna.trial.TrialState, float | None]:
    """(state, objective) of a trial from its jobs' returns: the mean when every seed finished,
    pruned when the pruner stopped a seed, else failed."""
    from optuna.trial import TrialState

    finished = [float(r) for r in returns if isinstance(r, (int, float)) and math.isfinite(r)]
    if returns and len(finished) == len(returns):
        return TrialState.COMPLETE, sum(finished) / len(finished)
    if pruned:
        return TrialState.PRUNED, None
    return TrialState.FAIL, None
