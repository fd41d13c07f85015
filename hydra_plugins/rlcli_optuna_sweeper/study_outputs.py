"""What a study writes into its sweep directory: trials.csv, trials.md and preset/best.yaml.

Hydra imports this module whenever it scans its plugins: optuna is imported only inside functions.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlcli.optuna_trial import PRUNED_AT_ATTR, SEED_RETURNS_ATTR

if TYPE_CHECKING:
    import optuna

GROUPS = ("algo", "env", "network")  # config groups a preset is trained with


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
    """The best trial's parameters as a ``# @package _global_`` preset for ``preset=best``;
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
        f"# Train with it: rlcli train --config-dir {sweep_dir} preset=best {pair}",
        "# or merge its values into configs/tuned/<algo>_<env>.yaml, the pair's default preset.",
    ]
    body: dict[str, Any] = {}
    if group_choices:
        body["defaults"] = [{f"override /{k}": v} for k, v in sorted(group_choices.items())]
    body.update(nested(values))
    return "\n".join(header) + "\n" + yaml.safe_dump(body, sort_keys=False)
