"""The job side of an Optuna search (``rlcli train -m search=...``): a training run reports its
evaluations to its trial and stops when the study's pruner says so.

Words: a *sweep* is any multirun (rlcli/sweep.py keeps its jobs apart); a *search* is a sweep whose
jobs an Optuna study picks. The sweeper that drives the study is the Hydra plugin in
hydra_plugins/rlcli_optuna_sweeper/ (search space, trial outcomes, trials table, best preset).
optuna is an optional extra (``pip install -e ".[optuna]"``), imported only inside functions.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rlcli.errors import RunPruned, UserError

if TYPE_CHECKING:
    import optuna

PRUNER_ATTR = "rlcli_pruner"  # study attribute: the pruner's config, so every job builds the same
PRUNED_AT_ATTR = "pruned_at_step"  # trial attribute, set by the job the pruner stopped
SEED_RETURNS_ATTR = "seed_final_returns"  # trial attribute: final evaluation return of each seed
SQLITE_TIMEOUT_S = 60  # jobs of one study write to one SQLite file; wait for the lock


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
