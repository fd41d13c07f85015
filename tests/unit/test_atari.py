"""Atari preprocessing: per-life episodes and clipped rewards only in training envs; uint8."""

import numpy as np
import pytest
import torch

pytest.importorskip("ale_py", reason="needs the atari extra")

from rlcli.encoders import NatureCNN  # noqa: E402
from rlcli.envs import make_env, make_vector_env  # noqa: E402
from rlcli.networks import ActorCritic  # noqa: E402
from rlcli.rollout import RolloutCollector  # noqa: E402

BREAKOUT = "ALE/Breakout-v5"


def play_until_a_life_is_lost(env, seed: int = 0):
    """Random actions from a reset until a step reports fewer lives; returns that step."""
    env.reset(seed=seed)
    env.action_space.seed(seed)
    lives = env.unwrapped.ale.lives()
    while True:
        step = env.step(env.action_space.sample())
        if env.unwrapped.ale.lives() < lives:
            return step


def test_training_env_ends_an_episode_per_life_but_the_game_goes_on():
    env = make_env(BREAKOUT, training=True)
    observation, _, terminated, truncated, _ = play_until_a_life_is_lost(env)
    assert terminated and not truncated
    lives_after_loss = env.unwrapped.ale.lives()
    env.reset()  # a new training episode, in the same game
    assert env.unwrapped.ale.lives() == lives_after_loss > 0
    assert observation.shape == (4, 84, 84) and observation.dtype == np.uint8


def test_evaluation_env_plays_the_whole_game():
    env = make_env(BREAKOUT, training=False)
    _, _, terminated, truncated, _ = play_until_a_life_is_lost(env)
    assert not terminated and not truncated


def test_training_rewards_are_clipped_and_logged_episodes_are_raw_games():
    envs = make_vector_env(BREAKOUT, num_envs=2, training=True)
    agent = ActorCritic(
        envs.single_observation_space, envs.single_action_space, [], "relu", with_critic=True
    )
    assert isinstance(agent.encoder, NatureCNN)
    collector = RolloutCollector(envs, num_steps=400, seed=0, device=torch.device("cpu"))
    rollout = collector.collect(agent)
    assert rollout.observations.dtype == torch.uint8  # 4x less memory than float32
    assert rollout.rewards.abs().max() <= 1.0
    # 400 steps of 2 envs: several lives end (training episodes), whole games end less often.
    life_losses = int(rollout.terminations.sum())
    games = collector.drain_episodes()
    assert 0 < len(games) < life_losses
    assert all(game.length > 0 and game.episode_return >= 0 for game in games)
