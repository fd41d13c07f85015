"""Command line: ``rlcli <command> [arguments]``; the only reader of HydraConfig."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import rlcli
from rlcli.errors import EXIT_BY_SIGNAL, EXIT_DIVERGED, EXIT_JOBS_FAILED, EXIT_USER_ERROR

USAGE = """usage: rlcli <command> [arguments...]

commands:
  train    train an agent: rlcli train algo=ppo env=CartPole-v1 seed=0
           Hydra overrides; -m for multirun sweeps; --help for Hydra's help; --cfg job to print
           the composed config; init_from=<run dir or checkpoint> to warm-start a new run
  train resume=<run dir>
           continue an interrupted run exactly, in its own directory, with its saved config
  eval     evaluate a run or checkpoint: rlcli eval <run dir or .pt> episodes=20
           [deterministic=true|false] [video=true] [seed=N] [checkpoint=final|best|latest]
  collect  record a trained policy's episodes as a Minari dataset (demonstrations):
           rlcli collect <run dir or .pt> episodes=10 [checkpoint=final|best|latest]
           [deterministic=true|false] [seed=N] [output=<dataset dir>]
  rlhf     the RLHF pipeline (demonstrator -> collect -> SFT -> reward model -> PPO with a KL
           leash, plus controls) in one directory: rlcli rlhf env=CartPole-v1 seed=0
  report   aggregate seeds: rlcli report <sweep dir or run dirs...> [out=<dir>]

options:
  -h, --help     show this message
  --version      print the version
"""


def fail(message: str, code: int = EXIT_USER_ERROR) -> None:
    """Print one error line and exit."""
    print(f"rlcli: error: {message}", file=sys.stderr)
    sys.exit(code)


def _with_generic_env(arguments: list[str]) -> list[str]:
    """``env.id=X`` without ``env=...`` selects the generic env preset, so no tuned values leak.
    It goes beside ``env.id=X``: Hydra takes the overrides as one run of words (``-m`` first)."""
    keys = [a.split("=", 1)[0].lstrip("+~") for a in arguments]
    if "env.id" not in keys or "env" in keys:
        return arguments
    at = keys.index("env.id")
    return [*arguments[:at], "env=generic", *arguments[at:]]


def _refuse_a_used_run_dir(run_dir: Path) -> None:
    """A new run never writes into a directory that already holds one (existing runs are kept)."""
    from rlcli.errors import UserError

    held = [name for name in (".hydra", "checkpoints", "summary.json") if (run_dir / name).exists()]
    if held:
        raise UserError(
            f"hydra.run.dir={str(run_dir)!r} already holds a run ({', '.join(held)}); give the new "
            f"run its own directory, or continue an interrupted one: rlcli train resume={run_dir}"
        )


def _save_job_files(cfg: Any, run_dir: Path) -> None:
    """Write Hydra's job files (``.hydra/``) and open the log file, once the run has started.

    Hydra would write them before the task runs (``hydra.output_subdir`` is null in train.yaml),
    so a refused start would overwrite the files of an existing directory.
    """
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    hydra_config = HydraConfig.get()
    folder = run_dir / ".hydra"
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "config.yaml": cfg,
        "hydra.yaml": {"hydra": hydra_config},
        "overrides.yaml": hydra_config.overrides.task,
    }
    for name, content in files.items():
        (folder / name).write_text(OmegaConf.to_yaml(content), encoding="utf-8")
    for handler in logging.getLogger().handlers:  # the log file exists even if nothing is logged
        if isinstance(handler, logging.FileHandler):
            Path(handler.baseFilename).touch()


def _guarded(work: Callable[[], Any], run_dir: Path | None = None) -> Any:
    """Run ``work``; user errors, interrupts and divergence become one line and an exit code."""
    from rlcli.build import discard_unfinished_run_dir
    from rlcli.errors import TrainingDiverged, TrainingInterrupted, UserError

    try:
        return work()
    except UserError as error:
        if run_dir is not None:
            discard_unfinished_run_dir(run_dir)
        fail(str(error))
    except TrainingInterrupted as interrupted:
        print(f"rlcli: {interrupted}", file=sys.stderr)
        sys.exit(EXIT_BY_SIGNAL.get(interrupted.reason, 1))
    except TrainingDiverged as diverged:
        fail(str(diverged), EXIT_DIVERGED)


def _train_command(arguments: list[str]) -> int:
    import hydra
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode
    from omegaconf import DictConfig

    from rlcli.build import run_training
    from rlcli.config import register_configs
    from rlcli.hydra_callbacks import failed_jobs_summary
    from rlcli.sweep import run_sweep_job

    register_configs()

    started: list[bool] = []

    @hydra.main(version_base="1.3", config_path="pkg://rlcli.configs", config_name="train")
    def train_task(cfg: DictConfig) -> float | None:
        started.append(True)
        hydra_config = HydraConfig.get()
        run_dir = Path(hydra_config.runtime.output_dir)
        train = partial(run_training, cfg, run_dir, on_start=partial(_save_job_files, cfg, run_dir))
        if hydra_config.mode == RunMode.MULTIRUN:  # a failed job is recorded; the others go on
            job, overrides = hydra_config.job.num, list(hydra_config.overrides.task)
            return _guarded(lambda: run_sweep_job(train, run_dir, job, overrides))

        def start() -> Any:
            _refuse_a_used_run_dir(run_dir)
            return train()

        summary = _guarded(start, run_dir)
        return summary.final_eval_mean_return

    sys.argv = ["rlcli train", *_with_generic_env(arguments)]
    try:
        train_task()
    except SystemExit as exit_:
        # Hydra exits with 1 after printing a composition error (bad group option, misspelt key,
        # wrong type): a user mistake, reported before any job ran.
        if exit_.code == 1 and not started:
            sys.exit(EXIT_USER_ERROR)
        raise
    failures = failed_jobs_summary()
    if failures is not None:
        fail(failures, EXIT_JOBS_FAILED)
    return 0


def _resume_command(arguments: list[str]) -> int:
    from rlcli.build import resume_training

    if len(arguments) != 1:
        others = [a for a in arguments if not a.startswith("resume=")]
        fail(f"resume takes no other arguments (got {' '.join(others)}); the saved config is used")
    run_dir = Path(arguments[0].split("=", 1)[1])
    if not run_dir.is_dir():
        fail(f"resume={str(run_dir)!r} is not a directory; pass a run directory under outputs/")
    logging.basicConfig(
        level=logging.INFO,
        format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s",
        # delay: the file is opened at the first line, so a refused resume leaves no train.log
        handlers=[logging.FileHandler(run_dir / "train.log", delay=True), logging.StreamHandler()],
    )
    _guarded(lambda: resume_training(run_dir))
    return 0


def _eval_command(arguments: list[str]) -> int:
    from rlcli.evaluate_command import evaluate_command, parse_eval_arguments

    _guarded(lambda: evaluate_command(parse_eval_arguments(arguments)))
    return 0


def _report_command(arguments: list[str]) -> int:
    from rlcli.report import report_command

    _guarded(lambda: report_command(arguments))
    return 0


def _collect_command(arguments: list[str]) -> int:
    from rlcli.collect_command import collect_command, parse_collect_arguments

    _guarded(lambda: collect_command(parse_collect_arguments(arguments)))
    return 0


def _rlhf_command(arguments: list[str]) -> int:
    from rlcli.rlhf.pipeline import run_pipeline_command

    _guarded(lambda: run_pipeline_command(arguments))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rlcli`` console script."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments or arguments[0] in ("-h", "--help", "help"):
        print(USAGE, end="")
        return 0
    if arguments[0] == "--version":
        print(f"rlcli {rlcli.__version__}")
        return 0
    command, rest = arguments[0], arguments[1:]
    if command == "train" and any(a.startswith("resume=") for a in rest):
        return _resume_command(rest)
    if command == "train":
        return _train_command(rest)
    if command == "eval":
        return _eval_command(rest)
    if command == "collect":
        return _collect_command(rest)
    if command == "rlhf":
        return _rlhf_command(rest)
    if command == "report":
        return _report_command(rest)
    fail(f"unknown command {command!r}; valid commands: train, eval, collect, rlhf, report")
    return EXIT_USER_ERROR


if __name__ == "__main__":
    sys.exit(main())
