"""Clips drawn from a segment's observations match what the env showed when it was played."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rlcli.errors import UserError
from rlcli.rlhf.clips import clip_env, segment_frames, split_inputs, write_clips
from rlcli.rlhf.segments import Segments, reward_inputs


def played(env_id: str, steps: int) -> tuple[object, Segments, list[np.ndarray]]:
    """A random segment of ``steps`` steps and the frames the env drew while it was played."""
    env = clip_env(env_id)
    env.action_space.seed(0)
    observation, _ = env.reset(seed=0)
    observations, actions, frames = [], [], []
    for _ in range(steps):
        frames.append(np.asarray(env.render()))
        action = env.action_space.sample()
        observations.append(observation)
        actions.append(action)
        observation, *_ = env.step(action)
    inputs = reward_inputs(
        torch.as_tensor(np.array(observations), dtype=torch.float32)[None],
        torch.as_tensor(np.array(actions))[None],
        env.action_space,
        2,
    )
    segment = Segments(inputs, torch.zeros(1, steps), torch.ones(1, steps, dtype=torch.bool))
    return env, segment, frames


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Acrobot-v1", "MountainCar-v0"])
def test_a_redrawn_clip_shows_what_was_played(env_id):
    env, segment, frames = played(env_id, steps=20)
    observations, actions = split_inputs(segment, env.observation_space, env.action_space)
    redrawn = segment_frames(env, observations[0], actions[0], steps=20)

    def changed(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.mean(np.abs(a.astype(int) - b.astype(int)) > 8))

    assert changed(frames[0], frames[-1]) > 1e-3  # the clip shows movement
    for live, again in zip(frames, redrawn, strict=True):
        assert changed(live, again) < 1e-4  # the same picture (float32 may move a pixel)
    env.close()


def test_clips_are_mp4_files_of_the_real_steps_only(tmp_path):
    env, segment, _ = played("Pendulum-v1", steps=6)
    segment.mask[0, 4:] = False  # two absorbing steps after a termination are not drawn
    (path,) = write_clips(env, segment, ["seg-0"], tmp_path)
    import imageio.v2 as imageio

    assert path.name == "seg-0.mp4" and imageio.get_reader(path).count_frames() == 4
    env.close()


def test_an_env_whose_state_an_observation_cannot_rebuild_is_refused():
    env = clip_env("LunarLander-v3")
    with pytest.raises(UserError, match="cannot draw LunarLander-v3 clips"):
        segment_frames(env, np.zeros((2, 8)), np.zeros(2), steps=2)
    env.close()
