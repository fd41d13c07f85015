"""Hyperparameter search with Optuna: search spaces, trial outcomes, the study's outputs, and the
job side that reports evaluations to its trial and stops when the pruner says so.

The sweeper that drives a study is the Hydra plugin in hydra_plugins/rlcli_optuna_sweeper/.
optuna is an optional extra (``pip install -e ".[optuna]"``), imported only inside functions.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlcli.errors import UserError

if TYPE_CHECKING:
    import optuna
    from optuna.distributions import BaseDistribution

PRUNER_ATTR = "rlcli_pruner"  # study attribute: the pruner's config, so every job builds the same
PRUNED_AT_ATTR = "pruned_at_step"  # trial attribute, set by the job the pruner stopped
SEED_RETURNS_ATTR = "seed_final_returns"  # trial attribute: final evaluation return of each seed
GROUPS = ("algo", "env", "network")  # config groups a preset is trained with
SQLITE_TIMEOUT_S = 60  # jobs of one study write to one SQLite file; wait for the lock


class RunPruned(Exception):
    """The search's pruner stopped this run at an evaluation; the run wrote no summary."""


@dataclasses.dataclass(frozen=True)
class TrialRef:
    """Where a job reports its evaluations: storage URL, study name and trial number."""

    storage: str
    study_name: str
    number: int

    def to_override(self) -> str:
        """The ``trial=...`` override of a job: JSON in single quotes (no quote inside)."""
        text = json.dumps(dataclasses.asdict(self)).replace("'", "\\u0027")
        return f"trial='{text}'"

    @classmethod
    def parse(cls, text: str) -> TrialRef:
        """Read the JSON written by ``to_override``."""
        try:
            return cls(**json.loads(text))
        except (TypeError, ValueError) as error:
            raise UserError(
                f"trial={text!r} is not a trial reference (set by the optuna sweeper): {error}"
            ) from None


def open_storage(url: str) -> optuna.storages.RDBStorage:
    """The study's database; SQLite connections wait for the lock other jobs hold."""
    import optuna

    engine_kwargs = (
        {"connect_args": {"timeout": SQLITE_TIMEOUT_S}} if url.startswith("sqlite") else {}
    )
    return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)


def build_pruner(spec: dict[str, Any] | None) -> optuna.pruners.BasePruner:
    """The pruner a sweeper configured (``{_target_: optuna.pruners.X, ...}``); none: never."""
    import optuna

    if not spec:
        return optuna.pruners.NopPruner()
    from hydra.utils import instantiate

    return instantiate(spec)


def trial_reporter(trial: str, final_step: int) -> Callable[[int, float], None]:
    """An ``on_evaluation(global_step, mean_return)`` hook reporting to the trial ``trial``.

    Raises RunPruned when the study's pruner stops the trial, except at ``final_step``: a run that
    finished training is worth its summary. With several seeds per trial, the first seed to reach
    an evaluation step reports it, and every seed asks the pruner.
    """
    import optuna

    ref = TrialRef.parse(trial)
    storage = open_storage(ref.storage)
    study_id = storage.get_study_id_from_name(ref.study_name)
    pruner = build_pruner(storage.get_study_user_attrs(study_id).get(PRUNER_ATTR))
    study = optuna.load_study(study_name=ref.study_name, storage=storage, pruner=pruner)
    trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, ref.number)
    live_trial = optuna.trial.Trial(study, trial_id)

    def report(global_step: int, mean_return: float) -> None:
        if global_step not in storage.get_trial(trial_id).intermediate_values:
            live_trial.report(mean_return, global_step)
        if global_step < final_step and live_trial.should_prune():
            live_trial.set_user_attr(PRUNED_AT_ATTR, global_step)
            raise RunPruned(
                f"trial {ref.number} pruned at step {global_step:,} "
                f"(evaluation mean return {mean_return:.2f})"
            )

    return report


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


def _trial_rows(study: optuna.Study, names: Sequence[str]) -> list[dict[str, Any]]:
    rows = []
    for trial in study.get_trials(deepcopy=False):
        duration = trial.duration.total_seconds() if trial.duration is not None else None
        rows.append(
            {
                "trial": trial.number,
                "state": trial.state.name.lower(),
                "value": trial.value,
                **{name: trial.params.get(name) for name in names},
                "seed_returns": trial.user_attrs.get(SEED_RETURNS_ATTR),
                "pruned_at_step": trial.user_attrs.get(PRUNED_AT_ATTR),
                "seconds": None if duration is None else round(duration, 1),
            }
        )
    return rows


def _cell(value: Any, digits: str = ".6g") -> str:
    """A table cell; ``digits`` formats floats (the csv keeps full precision with ``r``)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value) if digits == "r" else format(value, digits)
    if isinstance(value, list):
        return " ".join(_cell(v, digits) or "-" for v in value)
    return str(value)


def write_trials_table(study: optuna.Study, directory: Path) -> tuple[Path, Path]:
    """trials.csv (in trial order) and trials.md (best first) of every trial of the study."""
    names = sorted({name for trial in study.get_trials(deepcopy=False) for name in trial.params})
    rows = _trial_rows(study, names)
    columns = ["trial", "state", "value", *names, "seed_returns", "pruned_at_step", "seconds"]
    csv_path, md_path = directory / "trials.csv", directory / "trials.md"
    with csv_path.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, columns)
        writer.writeheader()
        writer.writerows({key: _cell(value, "r") for key, value in row.items()} for row in rows)
    maximize = study.direction.name == "MAXIMIZE"
    ranked = sorted(  # completed trials first, best first; then pruned and failed ones
        rows,
        key=lambda row: (
            row["state"] != "complete",
            row["value"] is None,
            -(row["value"] or 0.0) if maximize else (row["value"] or 0.0),
        ),
    )
    lines = [
        f"# Study {study.study_name}\n",
        "| " + " | ".join(columns) + " |",
        "|" + "---|" * len(columns),
        *("| " + " | ".join(_cell(row[c]) for c in columns) + " |" for row in ranked),
    ]
    md_path.write_text("\n".join(lines) + "\n")
    return csv_path, md_path


def nested(params: dict[str, Any]) -> dict[str, Any]:
    """``{"algo.learning_rate": 1e-3}`` -> ``{"algo": {"learning_rate": 1e-3}}``."""
    tree: dict[str, Any] = {}
    for dotted, value in sorted(params.items()):
        *parents, leaf = dotted.split(".")
        node = tree
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = value
    return tree


def best_preset_text(
    study: optuna.Study, choices: dict[str, str], fixed: Sequence[str], sweep_dir: Path
) -> str:
    """The best trial's parameters as a ``# @package _global_`` preset for ``+preset=best``;
    ``choices`` are the searched config-group choices (``algo: ppo``), a searched group goes into
    the preset's defaults list."""
    import yaml

    best = study.best_trial
    group_choices = {k: v for k, v in best.params.items() if k in choices}
    values = {  # a list choice was searched as its override text
        k: yaml.safe_load(v) if isinstance(v, str) and v[:1] == "[" else v
        for k, v in best.params.items()
        if k not in choices
    }
    pair = " ".join(
        f"{group}={choices[group]}"
        for group in GROUPS
        if group in choices and group not in group_choices
    )
    header = [
        "# @package _global_",
        f"# Best trial {best.number} of Optuna study {study.study_name!r}: objective "
        f"{best.value:.6g}, the mean final evaluation return over seeds (per seed: "
        f"{best.user_attrs.get(SEED_RETURNS_ATTR)}).",
        f"# Searched with: {' '.join(fixed)}",
        f"# Train with it: rlcli train --config-dir {sweep_dir} +preset=best {pair}",
        "# or merge its values into configs/tuned/<algo>_<env>.yaml, the pair's default preset.",
    ]
    body: dict[str, Any] = {}
    if group_choices:
        body["defaults"] = [{f"override /{k}": v} for k, v in sorted(group_choices.items())]
    body.update(nested(values))
    return "\n".join(header) + "\n" + yaml.safe_dump(body, sort_keys=False)
