"""Optional extras of the env presets: skip marks where one is missing; in CI (``CI=true``, where
every extra is installed) a skip fails the run instead, so an extra that installs but does not
import is a red build, not a quiet "s". Deselected tests (``-m 'not slow'``) are not skips."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

MUJOCO_ENVS = ("HalfCheetah-v5", "Hopper-v5", "Walker2d-v5", "Ant-v5")
ATARI_ENVS = ("Breakout-v5",)


def extra_installed(module: str) -> bool:
    """Whether an optional extra's module imports (CI installs every extra)."""
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def needs_extra(env_preset: str) -> list[pytest.MarkDecorator]:
    """Skip marks for an env preset whose optional extra (mujoco, atari) is not installed."""
    extras = ((MUJOCO_ENVS, "mujoco", "mujoco"), (ATARI_ENVS, "ale_py", "atari"))
    for presets, module, extra in extras:
        if env_preset in presets and not extra_installed(module):
            return [pytest.mark.skip(reason=f"needs the {extra} extra")]
    return []


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1")


def _fail_a_skip(report: Any) -> None:
    if report.skipped and _in_ci() and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        reason = str(reason).removeprefix("Skipped: ")
        report.outcome = "failed"
        report.longrepr = f"skipped in CI (CI=true installs every extra): {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """A test that skips itself (a skip mark, pytest.skip, importorskip) fails in CI."""
    outcome = yield
    _fail_a_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    """A module that skips itself at import (importorskip at the top) fails in CI."""
    outcome = yield
    _fail_a_skip(outcome.get_result())
