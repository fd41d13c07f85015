"""Save and restore the internal state of vector envs, so a resumed run continues bit-exactly.

gymnasium has no state API, so this copies the plain attributes (numpy arrays, numbers, RNG
states) of every wrapper and env in the chain. That is the complete state of gymnasium's classic
control envs (and of CartPole's numpy-vectorised env). MuJoCo envs add their simulator's full
integration state (``mj_getState``: time, positions, velocities, controls, solver warm start).
Envs holding other state, such as Box2D's physics worlds or the Atari emulator, are not captured:
``capture`` returns None and a resumed run resets them instead (documented in the README; the run
says so in its log). With ``env.vectorization=async`` each env lives in a worker process; the
same state is read and written there through the ``SavableState`` wrapper.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch

MUJOCO_MODULE = "gymnasium.envs.mujoco"
EXACT_MODULE_PREFIXES = ("gymnasium.envs.classic_control", MUJOCO_MODULE)
_GENERATOR = "__numpy_generator__"
_MUJOCO_STATE = "__mujoco_state__"


def _is_mujoco(layer: Any) -> bool:
    return type(layer).__module__.startswith(MUJOCO_MODULE) and hasattr(layer, "data")


def _mujoco_state(layer: Any) -> torch.Tensor:
    import mujoco

    kind = mujoco.mjtState.mjSTATE_INTEGRATION
    state = np.empty(mujoco.mj_stateSize(layer.model, kind))
    mujoco.mj_getState(layer.model, layer.data, state, kind)
    return torch.from_numpy(state)


def _set_mujoco_state(layer: Any, state: torch.Tensor) -> None:
    import mujoco

    kind = mujoco.mjtState.mjSTATE_INTEGRATION
    mujoco.mj_setState(layer.model, layer.data, state.numpy().copy(), kind)


def _plain(value: Any) -> Any:
    """Plain-data copy of a value, or NotImplemented when it cannot be saved as plain data."""
    if isinstance(value, (bool, int, float, str, type(None))):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return torch.from_numpy(value.copy())
    if isinstance(value, np.random.Generator):
        return {_GENERATOR: value.bit_generator.state}
    return NotImplemented


def _unplain(saved: Any, current: Any) -> Any:
    if isinstance(saved, torch.Tensor):
        return saved.numpy().copy()
    if isinstance(saved, dict) and _GENERATOR in saved:
        generator = current if isinstance(current, np.random.Generator) else np.random.default_rng()
        generator.bit_generator.state = saved[_GENERATOR]
        return generator
    if isinstance(current, np.generic):
        return type(current)(saved)
    return saved


def _chain(env: Any) -> list[Any]:
    """The env and every env it wraps, outermost first."""
    chain = [env]
    while hasattr(chain[-1], "env"):
        chain.append(chain[-1].env)
    return chain


def _exact(objects: list[Any], vector_env: Any = None) -> bool:
    """Whether every innermost env among ``objects`` is one whose state this module captures."""
    innermost = [obj for obj in objects if not hasattr(obj, "env") and obj is not vector_env]
    innermost = innermost or [objects[-1]]
    return all(type(obj).__module__.startswith(EXACT_MODULE_PREFIXES) for obj in innermost)


def _layers(envs: gym.vector.VectorEnv) -> list[Any] | None:
    """Every object whose attributes make up the vector env's state, or None if not exact."""
    if isinstance(envs, gym.vector.SyncVectorEnv):
        objects: list[Any] = [envs]
        for env in envs.envs:
            objects += _chain(env)
    else:
        objects = _chain(envs)
    return objects if _exact(objects, envs) else None


def _capture_layers(layers: list[Any]) -> list[dict[str, Any]]:
    states = []
    for layer in layers:
        state = {}
        for name, value in vars(layer).items():
            plain = _plain(value)
            if plain is not NotImplemented:
                state[name] = plain
        if _is_mujoco(layer):
            state[_MUJOCO_STATE] = _mujoco_state(layer)
        states.append(state)
    return states


def _restore_layers(layers: list[Any], states: list[dict[str, Any]]) -> None:
    if len(layers) != len(states):
        raise ValueError("saved env state does not match this vector env")
    for layer, state in zip(layers, states, strict=True):
        for name, saved in state.items():
            if name == _MUJOCO_STATE:
                _set_mujoco_state(layer, saved)
            else:
                setattr(layer, name, _unplain(saved, getattr(layer, name, None)))


def records_episode_statistics(env: gym.Env) -> bool:
    """Whether gymnasium's RecordEpisodeStatistics is among the layers of ``env``."""
    return any(isinstance(layer, gym.wrappers.RecordEpisodeStatistics) for layer in _chain(env))


class SavableState(gym.Wrapper):
    """Hands out and takes back the state of the env it wraps, as ``rlcli_state``; an
    AsyncVectorEnv reaches it in its worker processes with ``call`` and ``set_attr``.

    The worker's own next-step autoreset flag lives in the worker loop, out of reach, so this
    wrapper remembers whether the last step ended an episode; restored into a fresh worker, it
    makes the next step the reset step (reward 0, the action ignored) that the saved worker would
    have taken.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self._ended = False
        self._reset_next = False

    def step(self, action: Any) -> tuple:
        """Step, or take the autoreset step a restored worker owes."""
        if self._reset_next:
            self._reset_next = self._ended = False
            observation, info = self.env.reset()
            return observation, 0.0, False, False, info
        result = self.env.step(action)
        self._ended = bool(result[2] or result[3])
        return result

    def reset(self, **kwargs: Any) -> tuple:
        """Reset (a new episode owes no autoreset)."""
        self._ended = self._reset_next = False
        return self.env.reset(**kwargs)

    @property
    def records_episode_statistics(self) -> bool:
        """Whether the wrapped env reports its raw episodes (read by the main process)."""
        return records_episode_statistics(self.env)

    @property
    def rlcli_state(self) -> dict[str, Any] | None:
        """Plain-data state of the wrapped env chain, or None when it cannot be captured."""
        layers = _chain(self.env)
        if not _exact(layers):
            return None
        return {"ended": self._ended, "layers": _capture_layers(layers)}

    @rlcli_state.setter
    def rlcli_state(self, state: dict[str, Any]) -> None:
        _restore_layers(_chain(self.env), state["layers"])
        self._ended = self._reset_next = state["ended"]


def capture(envs: gym.vector.VectorEnv) -> list[dict[str, Any]] | dict[str, Any] | None:
    """Plain-data state of every layer of ``envs``, or None when it cannot be captured exactly
    (an AsyncVectorEnv's: each worker's env, through its SavableState wrapper)."""
    if isinstance(envs, gym.vector.AsyncVectorEnv):
        states = envs.get_attr("rlcli_state")
        return None if any(state is None for state in states) else {"workers": list(states)}
    layers = _layers(envs)
    return None if layers is None else _capture_layers(layers)


def restore(envs: gym.vector.VectorEnv, states: list[dict[str, Any]] | dict[str, Any]) -> None:
    """Put back what ``capture`` saved (same env id, number of envs and vectorization)."""
    if isinstance(envs, gym.vector.AsyncVectorEnv) != isinstance(states, dict):
        raise ValueError("saved env state was captured with another env.vectorization")
    if isinstance(states, dict):
        envs.set_attr("rlcli_state", states["workers"])
        return
    layers = _layers(envs)
    if layers is None:
        raise ValueError("saved env state does not match this vector env")
    _restore_layers(layers, states)
