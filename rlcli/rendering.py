"""Headless rendering for videos: MuJoCo needs an OpenGL backend without a display."""

from __future__ import annotations

import os
from typing import Any

from rlcli.errors import UserError

MUJOCO_BACKENDS = ("egl", "osmesa", "glfw")


def prepare_headless_rendering(entry_point: str) -> None:
    """Render without a display: SDL's dummy driver for pygame; EGL for MuJoCo when MUJOCO_GL is
    unset, checking that an OpenGL context can be made.

    Call before the first env is made. Fails with one line naming the backend and the fix,
    instead of the renderer's traceback halfway through recording.
    """
    # Frames are drawn off-screen: pygame (classic control, Box2D) needs no window, and without
    # SDL's dummy driver it looks for a display and prints "XDG_RUNTIME_DIR is invalid" at exit.
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    backend = os.environ.get("MUJOCO_GL") or "egl"
    os.environ["MUJOCO_GL"] = backend
    if backend in ("egl", "osmesa"):
        os.environ.setdefault("PYOPENGL_PLATFORM", backend)
    if not entry_point.startswith("gymnasium.envs.mujoco"):
        return
    if backend not in MUJOCO_BACKENDS:
        raise UserError(f"MUJOCO_GL={backend!r} is not one of {list(MUJOCO_BACKENDS)}")
    try:
        import mujoco

        context = mujoco.GLContext(64, 64)
        context.make_current()
        context.free()
    except Exception as error:  # any failure to load the GL library means no video
        raise UserError(
            f"video=true: no OpenGL backend for MuJoCo loads with MUJOCO_GL={backend} "
            f"({type(error).__name__}: {error}); install EGL (libegl1) or OSMesa "
            "(libosmesa6) and set MUJOCO_GL=egl or osmesa"
        ) from None


def tracking_camera(entry_point: str, env_kwargs: dict[str, Any]) -> dict[str, Any]:
    """Env kwargs that make a MuJoCo video follow the robot: the model's own ``track`` camera.

    Without a camera named, gymnasium 1.4 renders from a free camera that stays where the episode
    started, so a running robot leaves the frame within a second. A camera the user
    chose in ``env.kwargs`` is kept; a model without a ``track`` camera renders as before.
    """
    if not entry_point.startswith("gymnasium.envs.mujoco"):
        return {}
    if {"camera_id", "camera_name"} & set(env_kwargs):
        return {}
    return {"camera_name": "track"}
