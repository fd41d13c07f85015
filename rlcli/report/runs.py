"""Finished run directories below a path, grouped into runs that differ only in their seed."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from rlcli.errors import UserError
from rlcli.names import slug


@dataclasses.dataclass(frozen=True)
class Run:
    """One finished run directory: its overrides (seed and hydra.* left out) and summary.json."""

    path: Path
    overrides: tuple[str, ...]
    summary: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Group:
    """Runs that differ only in their seed."""

    name: str
    overrides: tuple[str, ...]
    runs: tuple[Run, ...]


def _override_key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def is_grouping_override(override: str) -> bool:
    """Whether an override tells groups apart: everything but ``seed=`` and ``hydra.*``."""
    key = _override_key(override)
    return key != "seed" and key != "hydra" and not key.startswith(("hydra.", "hydra/"))


def is_run_dir(path: Path) -> bool:
    """A run directory holds ``.hydra/overrides.yaml`` (and ``summary.json`` once finished)."""
    return (path / ".hydra" / "overrides.yaml").is_file()


def find_run_dirs(paths: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """Finished and unfinished run directories at or below ``paths``."""
    found: set[Path] = set()
    for path in paths:
        if not path.exists():
            raise UserError(f"{str(path)!r} does not exist; pass a sweep or run directory")
        if is_run_dir(path):
            found.add(path)
        elif path.is_dir():
            found.update(p.parent.parent for p in path.rglob(".hydra/overrides.yaml"))
    finished = sorted(p for p in found if (p / "summary.json").is_file())
    unfinished = sorted(found.difference(finished))
    return finished, unfinished


def load_run(path: Path) -> Run:
    """Read a run directory's overrides and summary."""
    overrides = OmegaConf.to_container(OmegaConf.load(path / ".hydra" / "overrides.yaml"))
    try:
        summary = json.loads((path / "summary.json").read_text())
    except json.JSONDecodeError as error:
        raise UserError(f"{str(path / 'summary.json')!r} is not valid JSON: {error}") from None
    kept = tuple(sorted(str(o) for o in overrides or [] if is_grouping_override(str(o))))
    return Run(path, kept, summary)


def group_runs(runs: Sequence[Run]) -> list[Group]:
    """Group runs by their overrides minus the seed; a group is named by what sets it apart."""
    by_overrides: dict[tuple[str, ...], list[Run]] = {}
    for run in runs:
        by_overrides.setdefault(run.overrides, []).append(run)
    common = set.intersection(*(set(key) for key in by_overrides)) if by_overrides else set()
    groups = []
    for overrides, members in sorted(by_overrides.items()):
        distinct = [o for o in overrides if o not in common]
        first = members[0].summary
        name = ",".join(distinct) or f"{first.get('algo')}_{slug(str(first.get('env_id')))}"
        ordered = sorted(members, key=lambda run: (run.summary.get("seed", 0), str(run.path)))
        groups.append(Group(name, overrides, tuple(ordered)))
    return groups


def common_overrides(groups: Sequence[Group]) -> list[str]:
    """Overrides shared by every group (what the report's title states once)."""
    shared = set.intersection(*(set(group.overrides) for group in groups)) if groups else set()
    return sorted(shared)


def group_env(group: Group) -> str:
    """The env id a group's runs trained on (a group differs from others in its overrides only,
    so all its runs share one env)."""
    return str(group.runs[0].summary.get("env_id"))


def group_threshold(group: Group) -> float | None:
    """The reward threshold ("solved") of a group's env, as its runs recorded it."""
    return group.runs[0].summary.get("reward_threshold")
