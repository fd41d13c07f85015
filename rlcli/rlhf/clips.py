"""Video clips of segments for people to compare: each step is drawn by putting an rgb_array env
into the state its observation describes.

Segments keep raw observations and actions, not simulator snapshots, so a clip is made by setting
the env's state from each observation: exact for the classic-control envs (whose observation is
their state) and for MuJoCo's (positions and velocities; the positions the observation leaves out,
such as a runner's x, start at 0 and the tracking camera follows). Envs whose state cannot be
rebuilt from an observation (Box2D, Atari) are refused with a message.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rlcli.envs import env_spec, make_env
from rlcli.errors import UserError
from rlcli.rendering import prepare_headless_rendering, tracking_camera
from rlcli.rlhf.segments import Segments, action_feature_size

MIN_CLIP_SECONDS = 1.5
"""Short segments are slowed down to last at least this long (Christiano et al. showed 1-2 s)."""


def _angle(cos: float, sin: float) -> float:
    return float(np.arctan2(sin, cos))


def _set_cartpole_or_mountain_car(env: Any, observation: np.ndarray, action: np.ndarray) -> None:
    env.state = np.array(observation, dtype=np.float64)


def _set_pendulum(env: Any, observation: np.ndarray, action: np.ndarray) -> None:
    env.state = np.array([_angle(observation[0], observation[1]), observation[2]])
    env.last_u = float(np.asarray(action).reshape(-1)[0])


def _set_acrobot(env: Any, observation: np.ndarray, action: np.ndarray) -> None:
    env.state = np.array(
        [
            _angle(observation[0], observation[1]),
            _angle(observation[2], observation[3]),
            observation[4],
            observation[5],
        ]
    )


def _set_mujoco(env: Any, observation: np.ndarray, action: np.ndarray) -> None:
    """qpos (less the positions the observation excludes, set to 0) and qvel from the start of
    the observation; the number excluded is the one whose observation reads back the same."""
    nq, nv = env.model.nq, env.model.nv
    for excluded in range(3):
        qpos = np.concatenate([np.zeros(excluded), observation[: nq - excluded]])
        qvel = np.asarray(observation[nq - excluded : nq - excluded + nv])
        if qvel.shape[0] != nv:
            continue
        env.set_state(qpos, qvel)
        rebuilt = np.asarray(env._get_obs())[: nq - excluded + nv]
        if np.allclose(rebuilt, observation[: nq - excluded + nv], atol=1e-4):
            return
    raise UserError(f"{env.spec.id}: its observations do not map to MuJoCo positions/velocities")


StateSetter = Callable[[Any, np.ndarray, np.ndarray], None]
SETTERS: dict[str, StateSetter] = {
    "gymnasium.envs.classic_control.cartpole": _set_cartpole_or_mountain_car,
    "gymnasium.envs.classic_control.mountain_car": _set_cartpole_or_mountain_car,
    "gymnasium.envs.classic_control.continuous_mountain_car": _set_cartpole_or_mountain_car,
    "gymnasium.envs.classic_control.pendulum": _set_pendulum,
    "gymnasium.envs.classic_control.acrobot": _set_acrobot,
}


def state_setter(env: gym.Env) -> StateSetter:
    """How to put ``env`` into the state an observation describes; a user error if unknown."""
    module = type(env.unwrapped).__module__
    if module in SETTERS:
        return SETTERS[module]
    if module.startswith("gymnasium.envs.mujoco"):
        return _set_mujoco
    raise UserError(
        f"rlcli label cannot draw {env.spec.id if env.spec else module} clips: its state cannot "
        "be rebuilt from an observation (classic-control and MuJoCo envs can)"
    )


def split_inputs(
    segments: Segments, observation_space: gym.Space, action_space: gym.Space
) -> tuple[np.ndarray, np.ndarray]:
    """Raw observations [S, L, *obs] and env actions [S, L, ...] back out of reward inputs."""
    shape = observation_space.shape
    size = int(np.prod(shape))
    inputs = segments.inputs
    observations = inputs[..., :size].reshape(*inputs.shape[:2], *shape).numpy()
    features = inputs[..., inputs.shape[-1] - action_feature_size(action_space) :]
    if isinstance(action_space, gym.spaces.Discrete):
        actions = features.argmax(-1).numpy()
    else:
        actions = features.numpy()
    return observations, actions


def segment_frames(
    env: gym.Env, observations: np.ndarray, actions: np.ndarray, steps: int
) -> list[np.ndarray]:
    """The rgb frames of a segment's first ``steps`` (real) steps."""
    setter = state_setter(env)
    env.reset(seed=0)
    frames = []
    for observation, action in zip(observations[:steps], actions[:steps], strict=True):
        setter(env.unwrapped, np.asarray(observation, dtype=np.float64), np.asarray(action))
        frames.append(np.asarray(env.render()))
    return frames


def clip_env(env_id: str) -> gym.Env:
    """One env that draws rgb frames headless; a MuJoCo robot stays in the frame."""
    entry_point = str(env_spec(env_id).entry_point)
    prepare_headless_rendering(entry_point)
    return make_env(env_id, tracking_camera(entry_point, {}), False, render_mode="rgb_array")


def write_clip(frames: list[np.ndarray], path: Path, fps: int) -> None:
    """An H.264 mp4 (yuv420p, plays in every browser), written beside and renamed into place."""
    import imageio.v2 as imageio

    frames_per_second = max(2, min(fps, round(len(frames) / MIN_CLIP_SECONDS)))
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial.mp4")
    # imageio-ffmpeg prints its resize notice on stderr; frames of odd size are padded to even.
    with contextlib.redirect_stderr(io.StringIO()):
        imageio.mimwrite(
            partial,
            frames,
            fps=frames_per_second,
            codec="libx264",
            macro_block_size=2,
            output_params=["-movflags", "+faststart"],
        )
    partial.replace(path)


def write_clips(env: gym.Env, segments: Segments, names: list[str], folder: Path) -> list[Path]:
    """One mp4 per segment, ``folder/<name>.mp4`` (existing clips are kept)."""
    observations, actions = split_inputs(segments, env.observation_space, env.action_space)
    fps = int(env.metadata.get("render_fps") or 30)
    paths = []
    for row, name in enumerate(names):
        path = folder / f"{name}.mp4"
        if not path.is_file():
            steps = int(torch.as_tensor(segments.mask[row]).sum())
            write_clip(segment_frames(env, observations[row], actions[row], steps), path, fps)
        paths.append(path)
    return paths
