"""The one parser of non-training commands' arguments: paths, then typed ``key=value`` options.

``rlcli eval``, ``collect`` and ``report`` (and any later command that acts on run
directories) read their arguments here, so every one of them spells, checks and reports
``key=value`` the same way; ``rlcli train`` and ``rlcli rlhf`` compose theirs with Hydra/OmegaConf.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from rlcli.errors import UserError


def parse_value(key: str, text: str, kind: type) -> Any:
    """``text`` as ``kind``; a bad value is a user error naming the key."""
    if kind is bool:
        if text.lower() in ("true", "1", "yes"):
            return True
        if text.lower() in ("false", "0", "no"):
            return False
        raise UserError(f"{key}={text!r} is not a boolean; use true or false")
    try:
        return kind(text)
    except ValueError:
        raise UserError(f"{key}={text!r} is not a valid {kind.__name__}") from None


def parse_paths_and_options(
    command: str, arguments: list[str], kinds: dict[str, type]
) -> tuple[list[Path], dict[str, Any]]:
    """The positional paths and the typed ``key=value`` options, in the order given."""
    paths: list[Path] = []
    values: dict[str, Any] = {}
    for argument in arguments:
        if "=" not in argument:
            paths.append(Path(argument))
            continue
        key, text = argument.split("=", 1)
        if key not in kinds:
            close = difflib.get_close_matches(key, kinds, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            valid = ", ".join(kinds) or "none"
            raise UserError(f"unknown {command} option {key!r}{hint}; valid: {valid}")
        values[key] = parse_value(key, text, kinds[key])
    return paths, values


def parse_path_and_options(
    command: str, arguments: list[str], kinds: dict[str, type]
) -> tuple[Path, dict[str, Any]]:
    """The one run directory or checkpoint path, and the typed ``key=value`` options."""
    paths, values = parse_paths_and_options(command, arguments, kinds)
    if len(paths) != 1:
        raise UserError(
            f"{command} needs exactly one run directory or checkpoint path: "
            f"rlcli {command} outputs/runs/..."
        )
    return paths[0], values
