"""Command line: ``rlcli <command> [hydra overrides]``; the only reader of HydraConfig."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import rlcli

USAGE = """usage: rlcli <command> [overrides...]

commands:
  train    train an agent: rlcli train algo=ppo env=CartPole-v1 seed=0
           (Hydra overrides; -m for multirun sweeps; --help for Hydra's help; --cfg job to print
           the composed config)

options:
  -h, --help     show this message
  --version      print the version
"""


def _with_generic_env(overrides: list[str]) -> list[str]:
    """``env.id=X`` without ``env=...`` selects the generic env preset, so no tuned values leak."""
    sets_id = any(o.split("=", 1)[0].lstrip("+~") == "env.id" for o in overrides)
    picks_env = any(o.split("=", 1)[0].lstrip("+~") == "env" for o in overrides)
    return ["env=generic", *overrides] if sets_id and not picks_env else overrides


def _train_command(arguments: list[str]) -> int:
    import hydra
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import DictConfig

    from rlcli.build import run_training
    from rlcli.config import register_configs
    from rlcli.errors import UserError

    register_configs()

    @hydra.main(version_base="1.3", config_path="pkg://rlcli.configs", config_name="train")
    def train_task(cfg: DictConfig) -> float:
        run_dir = Path(HydraConfig.get().runtime.output_dir)
        try:
            summary = run_training(cfg, run_dir)
        except UserError as error:
            print(f"rlcli: error: {error}", file=sys.stderr)
            sys.exit(2)
        return summary["final_eval_mean_return"]

    sys.argv = ["rlcli train", *_with_generic_env(arguments)]
    train_task()
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
    if command == "train":
        return _train_command(rest)
    print(f"rlcli: error: unknown command {command!r}; valid commands: train", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
