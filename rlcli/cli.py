"""Command line: ``rlcli <command> [arguments]``; the only reader of HydraConfig."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import rlcli
from rlcli.errors import EXIT_BY_SIGNAL, EXIT_DIVERGED, EXIT_JOBS_FAILED, EXIT_USER_ERROR


def fail(message: str, code: int = EXIT_USER_ERROR) -> None:
    """Print one error line and exit."""
    print(f"rlcli: error: {message}", file=sys.stderr)
    sys.exit(code)


def _save_job_files(cfg: Any, run_dir: Path) -> None:
    """Write Hydra's job files (``.hydra/``) once the run has started.

    Hydra would write them before the task runs (``hydra.output_subdir`` is null in train.yaml),
    so a refused start would overwrite the files of an existing directory.
    """
    from hydra.core.hydra_config import HydraConfig

    from rlcli.build import write_job_files

    hydra_config = HydraConfig.get()
    write_job_files(run_dir, cfg, hydra_config, list(hydra_config.overrides.task))


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


@contextlib.contextmanager
def _hydra_raises() -> Iterator[None]:
    """Let Hydra raise its errors (``HYDRA_FULL_ERROR``) instead of printing them over several
    lines, so rlcli can report a composition error in one."""
    before = os.environ.get("HYDRA_FULL_ERROR")
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = before


def _train_command(arguments: list[str]) -> int:
    if any(a.startswith("resume=") for a in arguments):
        return _resume_command(arguments)
    if {"--shell-completion", "-sc"} & set(arguments):
        return _hydra_completion(arguments)
    from rlcli.overrides import prepare

    return _train_with_hydra(_guarded(lambda: prepare(arguments)))


def _train_with_hydra(arguments: list[str]) -> int:
    import hydra
    from hydra.core.hydra_config import HydraConfig
    from hydra.errors import HydraException
    from hydra.types import RunMode
    from omegaconf import DictConfig
    from omegaconf.errors import OmegaConfBaseException

    from rlcli.build import refuse_a_used_run_dir, run_training
    from rlcli.config import register_configs
    from rlcli.hydra_callbacks import failed_jobs_summary
    from rlcli.overrides import composition_error_message
    from rlcli.sweep import discard_refused_sweep_dir, run_sweep_job

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
            refuse_a_used_run_dir(run_dir)
            return train()

        summary = _guarded(start, run_dir)
        return summary.final_eval_mean_return

    sys.argv = ["rlcli train", *arguments]
    try:
        with _hydra_raises():
            train_task()
    except Exception as error:
        # Before a job started, anything is a composition error; a sweep composes each job's
        # config as it starts it, so a bad value in a sweep can also surface after a job ran.
        if started and not isinstance(error, (HydraException, OmegaConfBaseException)):
            raise
        if not started:
            discard_refused_sweep_dir()
        fail(composition_error_message(error))
    failures = failed_jobs_summary()
    if failures is not None:
        fail(failures, EXIT_JOBS_FAILED)
    return 0


def _hydra_completion(arguments: list[str]) -> int:
    """Hydra's ``--shell-completion install=SHELL`` prints rlcli's own script (Hydra's hook
    calls ``rlcli -sc query=...``, which is not a command)."""
    from rlcli.completion import script

    at = max(arguments.index(f) for f in ("--shell-completion", "-sc") if f in arguments)
    request = arguments[at + 1] if at + 1 < len(arguments) else ""
    action, _, shell = request.partition("=")
    if action != "install":
        fail(f'--shell-completion {request}: use eval "$(rlcli completion bash)" (or zsh)')
    print(_guarded(lambda: script(shell or "bash")), end="")
    return 0


def _resume_command(arguments: list[str]) -> int:
    from rlcli.build import resume_training

    if len(arguments) != 1:
        others = [a for a in arguments if not a.startswith("resume=")]
        fail(f"resume takes no other arguments (got {' '.join(others)}); the saved config is used")
    run_dir = Path(arguments[0].split("=", 1)[1])
    if not run_dir.is_dir():
        fail(f"resume={str(run_dir)!r} is not a directory; pass a run directory under outputs/")
    # The run writes its own train.log once it has started (a refused resume writes nothing).
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s] %(message)s")
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


def _envs_command(arguments: list[str]) -> int:
    from rlcli.envs import env_listing

    print(_guarded(lambda: env_listing(arguments)), end="")
    return 0


def _completion_command(arguments: list[str]) -> int:
    from rlcli.completion import completion_command

    _guarded(lambda: completion_command(arguments))
    return 0


def _complete_command(arguments: list[str]) -> int:
    """``rlcli __complete <shell> <line>``: what the completion scripts call."""
    from rlcli.completion import complete

    if len(arguments) == 2:
        with contextlib.suppress(Exception):  # a completion never prints a traceback
            print(complete(arguments[0], arguments[1]), end="")
    return 0


def _collect_command(arguments: list[str]) -> int:
    from rlcli.collect_command import collect_command, parse_collect_arguments

    _guarded(lambda: collect_command(parse_collect_arguments(arguments)))
    return 0


def _label_command(arguments: list[str]) -> int:
    from rlcli.label_command import label_command, parse_label_arguments

    _guarded(lambda: label_command(parse_label_arguments(arguments)))
    return 0


def _rlhf_command(arguments: list[str]) -> int:
    from rlcli.rlhf.pipeline import run_pipeline_command

    _guarded(lambda: run_pipeline_command(arguments))
    return 0


@dataclass(frozen=True)
class Command:
    """A subcommand: the function taking its arguments, and its lines of the usage text."""

    run: Callable[[list[str]], int]
    usage: str


COMMANDS: dict[str, Command] = {
    "train": Command(
        _train_command,
        "train an agent: rlcli train algo=ppo env=CartPole-v1 seed=0\n"
        "Hydra overrides; -m for multirun sweeps; --help lists the groups and keys; --cfg job\n"
        "prints the composed config; init_from=<run dir or checkpoint> warm-starts a new run;\n"
        "resume=<run dir> continues an interrupted run exactly, with its saved config",
    ),
    "eval": Command(
        _eval_command,
        "evaluate a run or checkpoint: rlcli eval <run dir or .pt> episodes=20\n"
        "[deterministic=true|false] [video=true] [seed=N] [checkpoint=final|best|latest]",
    ),
    "collect": Command(
        _collect_command,
        "record a trained policy's episodes as a Minari dataset (demonstrations):\n"
        "rlcli collect <run dir or .pt> episodes=10 [checkpoint=final|best|latest]\n"
        "[deterministic=true|false] [seed=N] [output=<dataset dir>]",
    ),
    "rlhf": Command(
        _rlhf_command,
        "the RLHF pipeline (demonstrator -> collect -> SFT -> reward model -> PPO with a KL\n"
        "leash, plus controls) in one directory: rlcli rlhf env=CartPole-v1 seed=0",
    ),
    "label": Command(
        _label_command,
        "compare pairs of clips in the browser, answers to labels.jsonl: rlcli label <RLHF run\n"
        "dir or labelling dir> [port=8765] [labeller=NAME] [pairs_from=<dataset>,...]",
    ),
    "report": Command(
        _report_command, "aggregate seeds: rlcli report <sweep dir or run dirs...> [out=<dir>]"
    ),
    "envs": Command(_envs_command, "list gymnasium env ids: rlcli envs [part of a name]"),
    "completion": Command(
        _completion_command, 'tab completion: eval "$(rlcli completion bash)" (or zsh)'
    ),
    "__complete": Command(_complete_command, ""),  # called by the completion scripts
}


def usage() -> str:
    """``rlcli --help``: every command from the table."""
    lines = ["usage: rlcli <command> [arguments...]", "", "commands:"]
    for name, command in COMMANDS.items():
        if name.startswith("_"):
            continue
        first, *rest = command.usage.splitlines()
        lines.append(f"  {name:<11}{first}")
        lines.extend(f"  {'':<11}{line}" for line in rest)
    lines += [
        "",
        "options:",
        "  -h, --help     show this message",
        "  --version      print the version",
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rlcli`` console script."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments or arguments[0] in ("-h", "--help", "help"):
        print(usage(), end="")
        return 0
    if arguments[0] == "--version":
        print(f"rlcli {rlcli.__version__}")
        return 0
    command = COMMANDS.get(arguments[0])
    if command is None:
        valid = ", ".join(name for name in COMMANDS if not name.startswith("_"))
        fail(f"unknown command {arguments[0]!r}; valid commands: {valid}")
    return command.run(arguments[1:])


if __name__ == "__main__":
    sys.exit(main())
