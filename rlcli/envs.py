"""Vector environment construction: any registered gymnasium id, or gymnasium's module:id form."""

from __future__ import annotations

import difflib
import importlib
import os
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import gymnasium as gym

from rlcli import atari, env_state
from rlcli.errors import UserError, install_hint


def env_spec(env_id: str) -> gym.envs.registration.EnvSpec:
    """Look up an env id (importing ``module`` for ``module:Id``), or fail with close matches."""
    if ":" in env_id:
        module = env_id.split(":", 1)[0]
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise UserError(
                f"env.id={env_id!r}: cannot import module {module!r} ({error})"
            ) from None
        env_id = env_id.split(":", 1)[1]
    if env_id.startswith("ALE/"):
        atari.register_atari_envs()
    try:
        return gym.spec(env_id)
    except gym.error.Error:
        close = difflib.get_close_matches(env_id, list(gym.registry), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        hint += " (rlcli envs lists the registered ids)"
        raise UserError(
            f"env.id={env_id!r} is not a registered gymnasium environment{hint}"
        ) from None


def make_env(
    env_id: str,
    env_kwargs: dict[str, Any] | None = None,
    training: bool = True,
    max_episode_steps: int | None = None,
    render_mode: str | None = None,
) -> gym.Env:
    """One env with the wrappers its family needs (Atari preprocessing for ALE games)."""
    spec = env_spec(env_id)
    return _make_from_spec(spec, env_id, env_kwargs, training, max_episode_steps, render_mode)


def _make_from_spec(
    spec: gym.envs.registration.EnvSpec,
    env_id: str,
    env_kwargs: dict[str, Any] | None,
    training: bool,
    max_episode_steps: int | None,
    render_mode: str | None = None,
) -> gym.Env:
    kwargs = dict(env_kwargs or {})
    with _construction_errors(env_id):
        if atari.is_atari(spec):
            return atari.make_atari_env(spec.id, kwargs, training, max_episode_steps, render_mode)
        if max_episode_steps is not None:
            kwargs["max_episode_steps"] = max_episode_steps
        if render_mode is not None:  # passed only when asked: a minimal custom env takes no kwargs
            kwargs["render_mode"] = render_mode
        return gym.make(spec, **kwargs)


SLOW_ENV_FAMILIES = {"gymnasium.envs.mujoco": 8, "gymnasium.envs.box2d": 8, "ale_py": 2}
"""Env families whose step is slow enough for worker processes to pay (entry-point module prefix
-> fewest env copies for which ``env.vectorization=auto`` picks async). Measured on 16 cores:
Breakout async/sync 1.30x at 2 copies; HalfCheetah 0.72x at 4, 1.03x at 8, 1.67x at 16."""
ASYNC_MIN_CORES = 4
"""auto picks async only with this many cores available: on fewer, the workers compete with the
learner (measured on a 2-core machine: docs/performance.md)."""


def available_cores() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def pick_vectorization(spec: gym.envs.registration.EnvSpec, num_envs: int, mode: str) -> str:
    """sync or async for ``env.vectorization=mode``: auto picks async for a slow env family
    (MuJoCo, Atari, Box2D with many copies) on a machine with cores to spare."""
    if mode != "auto":
        return mode
    entry_point = spec.entry_point if isinstance(spec.entry_point, str) else ""
    module = "ale_py" if atari.is_atari(spec) else entry_point.split(":")[0]
    fewest = [n for prefix, n in SLOW_ENV_FAMILIES.items() if module.startswith(prefix)]
    slow = bool(fewest) and num_envs >= fewest[0]
    return "async" if slow and available_cores() >= ASYNC_MIN_CORES else "sync"


def make_vector_env(
    env_id: str,
    num_envs: int,
    max_episode_steps: int | None = None,
    env_kwargs: dict[str, Any] | None = None,
    training: bool = True,
    vectorization: str = "sync",
) -> gym.vector.VectorEnv:
    """Build ``num_envs`` copies of an env as one vector env in next-step autoreset mode.

    sync uses the env's numpy-vectorised implementation (``vector_entry_point``) where it has
    one, which steps several times faster than looping over copies; otherwise a synchronous loop
    over ``make_env`` copies (``training=False`` leaves out training-only wrappers, such as
    Atari's life-loss episodes and reward clipping). async steps each copy in its own worker
    process (gymnasium's AsyncVectorEnv, observations in shared memory); auto picks one of them
    (``pick_vectorization``). All autoreset on the step *after* an episode ends (gymnasium 1.x's
    default, NEXT_STEP), which the rollout collector relies on.
    """
    spec = env_spec(env_id)
    kwargs = dict(env_kwargs or {})
    mode = pick_vectorization(spec, num_envs, vectorization)
    if mode == "sync" and spec.vector_entry_point is not None and not atari.is_atari(spec):
        if max_episode_steps is not None:
            kwargs["max_episode_steps"] = max_episode_steps
        with _construction_errors(env_id):
            return gym.make_vec(spec, num_envs, vectorization_mode="vector_entry_point", **kwargs)
    make_one = lambda: _make_from_spec(  # noqa: E731
        spec, env_id, kwargs, training, max_episode_steps
    )
    next_step = gym.vector.AutoresetMode.NEXT_STEP
    if mode == "async":
        make_savable = lambda: env_state.SavableState(make_one())  # noqa: E731
        return gym.vector.AsyncVectorEnv(
            [make_savable] * num_envs, shared_memory=True, autoreset_mode=next_step
        )
    return gym.vector.SyncVectorEnv([make_one] * num_envs, autoreset_mode=next_step)


def records_episode_statistics(envs: gym.vector.VectorEnv) -> bool:
    """Whether the envs report their raw episodes in ``infos["episode"]`` (gymnasium's
    RecordEpisodeStatistics under training-only wrappers, as in rlcli's Atari envs)."""
    if isinstance(envs, gym.vector.AsyncVectorEnv):
        return any(envs.get_attr("records_episode_statistics"))
    first = getattr(envs, "envs", [None])[0]
    return first is not None and env_state.records_episode_statistics(first)


def _user_package(env_id: str) -> str | None:
    """The top-level package of the env's own code, unless gymnasium, ALE or rlcli ships it."""
    try:
        entry_point = env_spec(env_id).entry_point
    except UserError:
        return None
    module = entry_point.split(":")[0] if isinstance(entry_point, str) else entry_point.__module__
    package = str(module).split(".")[0]
    return None if package in ("gymnasium", "ale_py", "rlcli", "shimmy") else package


def _deepest_frame_in(error: BaseException, package: str) -> str | None:
    """``file:line in function`` of the innermost traceback frame in ``package``, if any."""
    found = None
    for frame, line in traceback.walk_tb(error.__traceback__):
        name = str(frame.f_globals.get("__name__", ""))
        if name == package or name.startswith(package + "."):
            found = f"{Path(frame.f_code.co_filename).name}:{line} in {frame.f_code.co_name}"
    return found


@contextmanager
def errors_of_env(env_id: str) -> Iterator[None]:
    """An exception raised inside a user's own env code becomes one line naming the env and the
    error (where it was raised); anything else goes on as it is."""
    try:
        yield
    except Exception as error:
        package = _user_package(env_id)
        where = _deepest_frame_in(error, package) if package else None
        if where is None:
            raise
        message = (str(error).strip().splitlines() or [""])[0]
        raise UserError(
            f"env.id={env_id!r} raised {type(error).__name__} at {where}: {message}"
        ) from error


@contextmanager
def _construction_errors(env_id: str) -> Iterator[None]:
    """gymnasium failing to make the env is one line naming the env: a missing optional package
    with rlcli's extra to install, anything else (e.g. an ``env.kwargs`` key the env does not
    take) with gymnasium's message."""
    try:
        yield
    except gym.error.DependencyNotInstalled as error:
        hint = install_hint("mujoco") if "mujoco" in str(error).lower() else str(error)
        message = f"env.id={env_id!r} needs a package that is not installed: {hint}"
        raise UserError(message) from None
    except (TypeError, ValueError, gym.error.Error) as error:
        first_line = (str(error).strip().splitlines() or [""])[0]
        raise UserError(
            f"env.id={env_id!r} could not be made: {type(error).__name__}: {first_line}"
        ) from error


def reward_threshold(env_id: str, configured: float | None) -> float | None:
    """The return that counts as solved: the configured one, else the env spec's, else None."""
    return configured if configured is not None else env_spec(env_id).reward_threshold


def env_listing(arguments: list[str]) -> str:
    """``rlcli envs [part ...]``: the registered ids containing every part, one a line."""
    import contextlib

    with contextlib.suppress(UserError):  # without the atari extra, no ALE ids to list
        atari.register_atari_envs()
    parts = [part.lower() for part in arguments]
    ids = sorted(i for i in gym.registry if all(part in i.lower() for part in parts))
    if not ids:
        raise UserError(f"no registered gymnasium env id contains {' '.join(arguments)!r}")
    return "".join(f"{env_id}\n" for env_id in ids)
