"""Atari (ALE) envs with the standard preprocessing of DQN/PPO papers (needs the ``atari`` extra).

One env is: the ALE game without its own frame skip -> no-op starts, frame skip 4 with max-pooling,
84x84 grey (gymnasium's AtariPreprocessing) -> episode statistics of the *raw game* -> for training
only: an episode per life and rewards clipped to [-1, 1] -> FIRE after a reset where the game needs
it -> the last 4 frames stacked into a uint8 [4, 84, 84] observation. Evaluation envs skip the
training-only wrappers, so evaluation returns are raw game scores.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from rlcli.errors import UserError, install_hint

FRAME_SKIP = 4
FRAME_STACK = 4
SCREEN_SIZE = 84
NOOP_MAX = 30


def register_atari_envs() -> None:
    """Register the ``ALE/...`` ids (ale-py bundles the ROMs), or fail naming the extra."""
    try:
        import ale_py
    except ImportError:
        raise UserError(f"Atari envs need ale-py: {install_hint('atari')}") from None
    gym.register_envs(ale_py)


def is_atari(spec: gym.envs.registration.EnvSpec) -> bool:
    """Whether an env spec is an ALE game."""
    return spec.namespace == "ALE" or str(spec.entry_point).startswith("ale_py")


class EpisodicLife(gym.Wrapper):
    """Ends the training episode when a life is lost; the game itself goes on.

    A reset after a lost life only takes one no-op step, so the agent sees every life of one game
    as its own episode (the value of a state does not count the lives left), while the game's score
    and the raw episode statistics underneath run to the real game over.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self._lives = 0
        self._game_over = True

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        observation, reward, terminated, truncated, info = self.env.step(action)
        self._game_over = terminated or truncated
        lives = self.env.unwrapped.ale.lives()
        if 0 < lives < self._lives:
            terminated = True
        self._lives = lives
        return observation, reward, terminated, truncated, info

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        if self._game_over:
            observation, info = self.env.reset(**kwargs)
        else:
            observation, _, terminated, truncated, info = self.env.step(0)
            if terminated or truncated:  # the no-op ended the game
                observation, info = self.env.reset(**kwargs)
        self._game_over = False
        self._lives = self.env.unwrapped.ale.lives()
        return observation, info


class FireOnReset(gym.Wrapper):
    """Presses FIRE after every reset, for games that wait for it before play starts."""

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self.env.reset(**kwargs)
        observation, _, terminated, truncated, info = self.env.step(1)
        if terminated or truncated:
            observation, info = self.env.reset(**kwargs)
        return observation, info


def needs_fire(env: gym.Env) -> bool:
    """Whether the game's action set has FIRE as its second action (Breakout, Pong, ...)."""
    meanings = env.unwrapped.get_action_meanings()
    return len(meanings) >= 3 and meanings[1] == "FIRE"


def make_atari_env(
    env_id: str,
    env_kwargs: dict[str, Any],
    training: bool,
    max_episode_steps: int | None = None,
    render_mode: str | None = None,
) -> gym.Env:
    """One preprocessed Atari env (see the module docstring for the wrapper order)."""
    # The preprocessing does the frame skip (with max-pooling over the last two frames).
    env = gym.make(env_id, frameskip=1, render_mode=render_mode, **env_kwargs)
    env = gym.wrappers.AtariPreprocessing(
        env, noop_max=NOOP_MAX, frame_skip=FRAME_SKIP, screen_size=SCREEN_SIZE
    )
    env = gym.wrappers.RecordEpisodeStatistics(env)
    if training:
        env = EpisodicLife(env)
        env = gym.wrappers.ClipReward(env, -1.0, 1.0)
    if needs_fire(env):
        env = FireOnReset(env)
    env = gym.wrappers.FrameStackObservation(env, FRAME_STACK)
    if max_episode_steps is not None:
        env = gym.wrappers.TimeLimit(env, max_episode_steps)
    return env
