"""Vector environment construction: any registered gymnasium id, or gymnasium's module:id form."""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import gymnasium as gym

from rlcli import atari
from rlcli.errors import UserError


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
        hint = (
            f"; did you mean {', '.join(close)}?" if close else "; see gymnasium.pprint_registry()"
        )
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
    with _dependency_errors(env_id):
        if atari.is_atari(spec):
            return atari.make_atari_env(spec.id, kwargs, training, max_episode_steps, render_mode)
        if max_episode_steps is not None:
            kwargs["max_episode_steps"] = max_episode_steps
        if render_mode is not None:  # passed only when asked: a minimal custom env takes no kwargs
            kwargs["render_mode"] = render_mode
        return gym.make(spec, **kwargs)


def make_vector_env(
    env_id: str,
    num_envs: int,
    max_episode_steps: int | None = None,
    env_kwargs: dict[str, Any] | None = None,
    training: bool = True,
) -> gym.vector.VectorEnv:
    """Build ``num_envs`` copies of an env as one vector env in next-step autoreset mode.

    Uses the env's numpy-vectorised implementation (``vector_entry_point``) where it has one,
    which steps several times faster than looping over copies; otherwise a synchronous loop over
    ``make_env`` copies (``training=False`` leaves out training-only wrappers, such as Atari's
    life-loss episodes and reward clipping). Both autoreset on the step *after* an episode ends
    (gymnasium 1.x's default, NEXT_STEP), which the rollout collector relies on.
    """
    spec = env_spec(env_id)
    kwargs = dict(env_kwargs or {})
    if spec.vector_entry_point is not None and not atari.is_atari(spec):
        if max_episode_steps is not None:
            kwargs["max_episode_steps"] = max_episode_steps
        with _dependency_errors(env_id):
            return gym.make_vec(spec, num_envs, vectorization_mode="vector_entry_point", **kwargs)
    make_one = lambda: _make_from_spec(  # noqa: E731
        spec, env_id, kwargs, training, max_episode_steps
    )
    return gym.vector.SyncVectorEnv(
        [make_one] * num_envs, autoreset_mode=gym.vector.AutoresetMode.NEXT_STEP
    )


def records_episode_statistics(envs: gym.vector.VectorEnv) -> bool:
    """Whether the envs report their raw episodes in ``infos["episode"]`` (gymnasium's
    RecordEpisodeStatistics under training-only wrappers, as in rlcli's Atari envs)."""
    env = getattr(envs, "envs", [None])[0]
    while isinstance(env, gym.Wrapper):
        if isinstance(env, gym.wrappers.RecordEpisodeStatistics):
            return True
        env = env.env
    return False


@contextmanager
def _dependency_errors(env_id: str) -> Iterator[None]:
    """Turn gymnasium's missing-dependency error into a one-line error naming rlcli's extra."""
    try:
        yield
    except gym.error.DependencyNotInstalled as error:
        hint = "pip install 'rlcli[mujoco]'" if "mujoco" in str(error).lower() else str(error)
        message = f"env.id={env_id!r} needs a package that is not installed: {hint}"
        raise UserError(message) from None


def reward_threshold(env_id: str, configured: float | None) -> float | None:
    """The return that counts as solved: the configured one, else the env spec's, else None."""
    return configured if configured is not None else env_spec(env_id).reward_threshold
