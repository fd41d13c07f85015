"""Optional extras of the env presets: skip marks where one is missing (CI installs them all)."""

from __future__ import annotations

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
