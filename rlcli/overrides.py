"""``rlcli train``'s overrides: checks before Hydra composes them, and one-line messages for the
composition errors Hydra raises (an unknown option, a misspelt key, a value of the wrong type)."""

from __future__ import annotations

import dataclasses
import difflib
import re
import typing
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from rlcli.algos import ALGORITHMS
from rlcli.errors import UserError
from rlcli.settings import TrainConfig

# Hydra's flags that take the next argument as their value (``--cfg job``, ``-cd mycluster``).
FLAGS_WITH_VALUE = {
    "--cfg",
    "-c",
    "--package",
    "-p",
    "--config-path",
    "-cp",
    "--config-name",
    "-cn",
    "--config-dir",
    "-cd",
    "--info",
    "-i",
    "--shell-completion",
    "-sc",
}
NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _fields(schema: type) -> dict[str, Any]:
    hints = typing.get_type_hints(schema)
    return {f.name: hints[f.name] for f in dataclasses.fields(schema) if f.init}


def _walk(schema: type, prefix: str, keys: dict[str, Any]) -> None:
    for name, kind in _fields(schema).items():
        if name == "algo" and schema is TrainConfig:
            for algorithm in ALGORITHMS.values():
                _walk(algorithm, "algo.", keys)
            keys["algo"] = dict
            continue
        keys[prefix + name] = kind
        if dataclasses.is_dataclass(kind):
            _walk(kind, f"{prefix}{name}.", keys)


@cache
def schema_keys() -> dict[str, Any]:
    """Every key of ``rlcli train``'s config (dotted, every algorithm's under ``algo.``) -> its
    annotated type; a dataclass type marks a node of the schema."""
    keys: dict[str, Any] = {}
    _walk(TrainConfig, "", keys)
    return keys


def closest(word: str, options: typing.Iterable[str], cutoff: float = 0.6) -> str | None:
    """The option most like ``word`` (case-insensitive), or None."""
    by_folded = {option.lower(): option for option in options}
    match = difflib.get_close_matches(word.lower(), list(by_folded), n=1, cutoff=cutoff)
    return by_folded[match[0]] if match else None


def _is_node(key: str) -> bool:
    kind = schema_keys().get(key)
    return key == "" or key == "algo" or dataclasses.is_dataclass(kind)


def _siblings(parent: str) -> list[str]:
    prefix = f"{parent}." if parent else ""
    return [k for k in schema_keys() if k.startswith(prefix) and "." not in k[len(prefix) :]]


def did_you_mean(key: str) -> str:
    """``; did you mean <key>?`` for a misspelt dotted key, or the keys valid there."""
    parent, _, name = key.rpartition(".")
    siblings = _siblings(parent) if _is_node(parent) else []
    match = closest(key, siblings)
    if match is None:  # the right name in the wrong place: learning_rate=... -> algo.learning_rate
        by_name: dict[str, str] = {}
        for candidate in sorted(schema_keys(), key=lambda k: k.count(".")):  # shallowest first
            by_name.setdefault(candidate.rpartition(".")[2], candidate)
        match = by_name.get(closest(name, by_name) or "")
    if match is not None:
        return f"; did you mean {match}?"
    where = f"of {parent}" if parent else "at the top level"
    names = ", ".join(sorted(s.rpartition(".")[2] for s in siblings))
    return f"; valid keys {where}: {names}" if names else ""


def command_line_overrides(arguments: list[str]) -> list[tuple[int, str]]:
    """(position, text) of the ``key=value`` overrides among ``rlcli train``'s arguments."""
    found, skip = [], False
    for at, argument in enumerate(arguments):
        if skip or argument.startswith("-"):
            skip = not skip and argument in FLAGS_WITH_VALUE
            continue
        found.append((at, argument))
    return found


def _refuse_an_added_schema_key(override: str) -> None:
    """``+key=value`` adds a key Hydra does not know; under a schema node it would be ignored."""
    key = override.split("=", 1)[0].lstrip("+")
    parent = key.rpartition(".")[0]
    if key.split(".")[0] not in _siblings("") or not _is_node(parent):
        return  # a group (+preset=best), hydra.*, or a key inside a free-form dict (env.kwargs)
    if key in schema_keys():
        if override.startswith("++"):  # Hydra's "set or add": here, set
            return
        raise UserError(f"{override}: {key} is already in the config; set it without the '+'")
    raise UserError(
        f"{override}: '+' cannot add keys to rlcli's schema, and {key} is not one of its keys"
        f"{did_you_mean(key)}"
    )


def _integral(text: str) -> str:
    """``1e5`` -> ``100000`` (RL Zoo writes budgets so); anything else unchanged."""
    if not NUMBER.match(text) or text.lstrip("+-").isdigit():
        return text
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    return str(int(number)) if number == number.to_integral_value() else text


def _with_integers(override: str) -> str:
    key, _, value = override.partition("=")
    kind = schema_keys().get(key.lstrip("+~"))
    if kind not in (int, int | None):
        return override
    return f"{key}={','.join(_integral(part) for part in value.split(','))}"


def _with_generic_env(arguments: list[str]) -> list[str]:
    """``env.id=X`` without ``env=...`` selects the generic env preset, so no tuned values leak.
    It goes beside ``env.id=X``: Hydra takes the overrides as one run of words (``-m`` first)."""
    keys = {
        at: text.split("=", 1)[0].lstrip("+~") for at, text in command_line_overrides(arguments)
    }
    if "env.id" not in keys.values() or "env" in keys.values():
        return arguments
    at = next(at for at, key in keys.items() if key == "env.id")
    return [*arguments[:at], "env=generic", *arguments[at:]]


def prepare(arguments: list[str]) -> list[str]:
    """Check and normalise ``rlcli train``'s arguments before Hydra sees them: ``+`` on a schema
    key is refused, integral numbers like ``1e5`` become integers for integer keys, and
    ``env.id=X`` alone selects the generic env preset."""
    arguments = list(arguments)
    for at, override in command_line_overrides(arguments):
        if override.startswith("+"):
            _refuse_an_added_schema_key(override)
        arguments[at] = _with_integers(override)
    return _with_generic_env(arguments)


def _group_option_message(error: Any) -> str:
    """``algo=sac`` (Hydra's MissingConfigException): the valid options, the closest first."""
    group, _, name = str(error.missing_cfg_file).rpartition("/")
    options = sorted(o for o in (error.options or []) if not o.endswith("_schema"))
    if not group:
        return f"config {name!r} not found"
    match = closest(name, options) if name else None
    hint = f" (did you mean {group}={match}?)" if match else ""
    anything = " (or env.id=<any gymnasium id>)" if group == "env" else ""
    listed = ", ".join(options)
    return f"{group}={name} is not an option of {group}{hint}; options: {listed}{anything}"


def _kind(annotation: Any) -> str:
    """What a value of a schema type looks like, for a message."""
    names = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if annotation in names:
        return names[annotation]
    if typing.get_origin(annotation) is list:
        return "a list, e.g. [64,64]"
    if typing.get_origin(annotation) is dict:
        return "a mapping, e.g. {a: 1}"
    if len(args) == 1:
        return f"{_kind(args[0])} or null"
    return "a valid value"


def _validation_message(override: str, key: str, cause: Exception) -> str:
    annotation = schema_keys().get(key)
    if annotation is None:
        return f"{override}: {str(cause).splitlines()[0]}"
    return f"{override}: {key} must be {_kind(annotation)}"


def composition_error_message(error: BaseException) -> str:
    """One line for an error Hydra raised while composing ``rlcli train``'s config."""
    from hydra.errors import MissingConfigException, OverrideParseException

    cause = error.__cause__
    text = str(error)
    first_line = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    first_line = first_line.removeprefix("rlcli: error: ")  # a plugin's own one-line message
    full_key = getattr(cause, "full_key", None)
    if isinstance(error, MissingConfigException) and error.missing_cfg_file:
        return _group_option_message(error)
    if isinstance(error, OverrideParseException):
        return f"{first_line}; overrides are key=value or group=option, e.g. seed=1 algo=pg"
    if text.startswith("Could not override") and full_key:
        parent = full_key.rpartition(".")[0]
        if _is_node(parent):
            return f"{full_key} is not a key of rlcli's config{did_you_mean(full_key)}"
        value = re.search(r"use \+(\S+)", text)
        added = f"+{value.group(1)}" if value else f"+{full_key}=..."
        return f"{full_key} is not set; add a key to {parent} with {added}"
    merging = re.match(r"Error merging override (.+)", first_line)
    if merging and full_key:
        return _validation_message(merging.group(1), full_key, cause)
    ambiguous = re.match(r"Ambiguous value for argument '(.+)'", first_line)
    if ambiguous:
        override = ambiguous.group(1)
        key, _, values = override.partition("=")
        as_list = typing.get_origin(schema_keys().get(key)) is list
        listed = f", or give a list: {key}=[{values}]" if as_list else ""
        return f"{override} gives several values: sweep them with rlcli train -m {override}{listed}"
    return first_line
