"""Hydra sweeper running an Optuna study of rlcli training jobs through the configured launcher.

Hydra imports this module whenever it scans its plugins, so optuna is imported only in sweep().
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn
from hydra.errors import CompactHydraException
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)


class SearchConfigError(CompactHydraException):
    """A mistake in the search space or the sweep's overrides; Hydra prints it as one line."""


def _job_value(job: JobReturn) -> Any:
    """A job's return (final_eval_mean_return, or None for a failed or pruned rlcli job)."""
    try:
        return job.return_value
    except Exception as error:  # the task raised: Hydra hands the exception back
        log.warning("job %s raised %s: %s", job.overrides, type(error).__name__, error)
        return None


class OptunaSweeper(Sweeper):
    """Asks Optuna for trials, launches each as one job per seed, tells it their mean return."""

    def __init__(
        self,
        params: dict[str, str],
        n_trials: int,
        trials_per_batch: int,
        seeds: Sequence[int],
        direction: str,
        study_name: str,
        storage: str | None,
        sampler: Any,
        warmup_steps: int,
        pruner: Any,
    ) -> None:
        """Keyword arguments: the fields of config.OptunaSweeperConf (sampler, pruner built;
        warmup_steps is already in the pruner's config)."""
        self.params = {str(key): str(value) for key, value in (params or {}).items()}
        self.n_trials = n_trials
        self.trials_per_batch = max(1, trials_per_batch)
        self.seeds = list(seeds)
        self.direction = direction
        self.study_name = study_name
        self.storage = storage
        self.sampler = sampler
        self.pruner = pruner
        self.pruner_spec: dict[str, Any] | None = None
        self.choices: dict[str, str] = {}
        self.sweep_dir = Path(".")
        self.job_index = 0

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        """Keep the config and build the launcher that runs the trials' jobs."""
        self.config = config
        self.hydra_context = hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            config=config, hydra_context=hydra_context, task_function=task_function
        )
        self.sweep_dir = Path(str(config.hydra.sweep.dir))
        pruner = config.hydra.sweeper.pruner
        self.pruner_spec = None if pruner is None else OmegaConf.to_container(pruner, resolve=True)
        choices = config.hydra.runtime.choices
        self.choices = {str(k): str(v) for k, v in choices.items() if not k.startswith("hydra/")}

    def storage_url(self) -> str:
        """The configured storage, or SQLite in the sweep directory (so a re-run resumes)."""
        return self.storage or f"sqlite:///{(self.sweep_dir / 'optuna.db').resolve()}"

    def sweep(self, arguments: list[str]) -> None:
        """Run ``n_trials`` trials, ``trials_per_batch`` at a time, then write the outputs."""
        from rlcli.errors import UserError

        from .space import split_overrides

        try:
            fixed, space = split_overrides(self.params, arguments)
        except (UserError, ValueError) as error:
            raise SearchConfigError(f"rlcli: error: {error}") from None
        if not space:
            raise SearchConfigError(
                "rlcli: error: the search space is empty: use a search preset (search=...), "
                "hydra.sweeper.params or a sweep such as 'algo.gae_lambda=interval(0.9,0.99)'"
            )
        self.sweep_dir.mkdir(parents=True, exist_ok=True)
        study, storage = self._open_study()
        study_id = storage.get_study_id_from_name(self.study_name)
        log.info(
            "Optuna study %r (%s): %d earlier trials; running %d more, %d seed(s) each",
            self.study_name,
            self.storage_url(),
            len(study.trials),
            self.n_trials,
            len(self.seeds),
        )
        outcomes: list[str] = []
        for first in range(0, self.n_trials, self.trials_per_batch):
            size = min(self.trials_per_batch, self.n_trials - first)
            trials = [study.ask(space) for _ in range(size)]
            outcomes += self._run_batch(study, storage, study_id, trials, fixed)
            self._write_outputs(study, fixed)
        self._log_summary(study, outcomes)

    def _open_study(self) -> tuple[Any, Any]:
        import optuna

        from rlcli.optuna_trial import PRUNER_ATTR, open_storage

        storage = open_storage(self.storage_url())
        study = optuna.create_study(
            study_name=self.study_name,
            storage=storage,
            sampler=self.sampler,
            pruner=self.pruner,
            direction=self.direction,
            load_if_exists=True,
        )
        study.set_user_attr(PRUNER_ATTR, self.pruner_spec)
        self._reseed_when_resuming(study)
        if self.storage is None:  # a private study: a running trial is one a crash left behind
            running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
            for trial in running:
                study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
                log.warning(
                    "trial %d was left running by an interrupted sweep: failed", trial.number
                )
        return study, storage

    def _reseed_when_resuming(self, study: Any) -> None:
        """A seeded sampler continues with seed + earlier trials, so a resumed study does not
        sample its first trials' parameters again."""
        from hydra.utils import instantiate

        spec = self.config.hydra.sweeper.sampler
        if study.trials and spec is not None and spec.get("seed") is not None:
            study.sampler = instantiate(spec, seed=int(spec.seed) + len(study.trials))

    def _run_batch(
        self, study: Any, storage: Any, study_id: int, trials: list[Any], fixed: list[str]
    ) -> list[str]:
        """Launch every seed of every trial at once; tell Optuna each trial's outcome."""
        from rlcli.optuna_trial import PRUNED_AT_ATTR, SEED_RETURNS_ATTR, TrialRef

        from .space import job_overrides, trial_outcome

        url = self.storage_url()
        jobs = [
            job_overrides(fixed, trial.params, seed, TrialRef(url, self.study_name, trial.number))
            for trial in trials
            for seed in self.seeds
        ]
        if self.job_index == 0:
            self.validate_batch_is_legal(jobs[:1])  # a bad key fails here, before any training
        returns = self.launcher.launch(jobs, initial_job_idx=self.job_index)
        self.job_index += len(jobs)
        per_trial = len(self.seeds)
        states = []
        for index, trial in enumerate(trials):
            values = [
                _job_value(job) for job in returns[index * per_trial : (index + 1) * per_trial]
            ]
            trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
            pruned = PRUNED_AT_ATTR in storage.get_trial_user_attrs(trial_id)
            state, value = trial_outcome(values, pruned)
            trial.set_user_attr(SEED_RETURNS_ATTR, values)
            study.tell(trial, value, state=state)
            outcome = {"COMPLETE": "complete", "PRUNED": "pruned"}.get(state.name, "failed")
            states.append(outcome)
            log.info("trial %d %s: %s %s", trial.number, outcome, value, trial.params)
        return states

    def _write_outputs(self, study: Any, fixed: list[str]) -> None:
        """trials.csv, trials.md and (once a trial completed) preset/best.yaml."""
        from .study_outputs import best_preset_text, write_trials_table

        write_trials_table(study, self.sweep_dir)
        if any(t.state.name == "COMPLETE" for t in study.get_trials(deepcopy=False)):
            preset = self.sweep_dir / "preset" / "best.yaml"
            preset.parent.mkdir(exist_ok=True)
            preset.write_text(best_preset_text(study, self.choices, fixed, self.sweep_dir))

    def _log_summary(self, study: Any, outcomes: list[str]) -> None:
        counts = ", ".join(f"{outcomes.count(s)} {s}" for s in ("complete", "pruned", "failed"))
        best = ""
        if any(t.state.name == "COMPLETE" for t in study.get_trials(deepcopy=False)):
            best = f"; best trial {study.best_trial.number}: {study.best_value:.6g} "
            best += f"{study.best_trial.params}"
        log.info(
            "Optuna study %r: %d trials in this command (%s), %d in all%s; outputs in %s "
            "(trials.md, trials.csv, preset/best.yaml)",
            self.study_name,
            len(outcomes),
            counts,
            len(study.trials),
            best,
            self.sweep_dir,
        )
