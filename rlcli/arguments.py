"""``<path> key=value ...`` arguments of the commands that act on a run (eval, collect)."""

from __future__ import annotations

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


def parse_path_and_options(
    command: str, arguments: list[str], kinds: dict[str, type]
) -> tuple[Path, dict[str, Any]]:
    """The one run directory or checkpoint path, and the typed ``key=value`` options."""
    paths = [a for a in arguments if "=" not in a]
    if len(paths) != 1:
        raise UserError(
            f"{command} needs exactly one run directory or checkpoint path: "
            f"rlcli {command} outputs/runs/..."
        )
    values: dict[str, Any] = {}
    for argument in arguments:
        if "=" not in argument:
            continue
        key, text = argument.split("=", 1)
        if key not in kinds:
            raise UserError(f"unknown {command} option {key!r}; valid: {', '.join(kinds)}")
        values[key] = parse_value(key, text, kinds[key])
    return Path(paths[0]), values
