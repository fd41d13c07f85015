"""The collector keeps next-step autoreset rows out of the losses and counts episodes right."""

import gymnasium as gym
import numpy as np
import torch

from rlcli.envs import make_vector_env
from rlcli.networks import ActorCritic
from rlcli.rollout import RolloutCollector


def collector_for(env_id: str, num_envs: int, num_steps: int, max_episode_steps: int | None):
    envs = make_vector_env(env_id, num_envs, max_episode_steps)
    agent = ActorCritic(
        envs.single_observation_space, envs.single_action_space, [8], "tanh", with_critic=True
    )
    collector = RolloutCollector(envs, num_steps, seed=0, device=torch.device("cpu"))
    return collector, agent


def test_truncated_episodes_mark_the_following_reset_row_invalid():
    collector, agent = collector_for("Pendulum-v1", num_envs=2, num_steps=12, max_episode_steps=5)
    rollout = collector.collect(agent)
    # Episodes of 5 steps, then one autoreset step whose action the env ignores: period 6.
    truncated_rows = rollout.truncations[:, 0].nonzero().flatten().tolist()
    assert truncated_rows == [4, 10]
    assert rollout.valid[:, 0].tolist() == [True] * 5 + [False] + [True] * 5 + [False]
    assert not rollout.terminations.any()
    assert torch.all(rollout.rewards[~rollout.valid] == 0)
    episodes = collector.drain_episodes()
    assert [e.length for e in episodes] == [5, 5, 5, 5]
    assert collector.global_step == 24


def test_values_after_truncation_are_the_final_observation_value():
    collector, agent = collector_for("Pendulum-v1", num_envs=1, num_steps=6, max_episode_steps=5)
    rollout = collector.collect(agent)
    # Row 5 (the autoreset row) observed the final observation of the truncated episode.
    final_observation = rollout.observations[5]
    with torch.no_grad():
        assert torch.allclose(rollout.values[5], agent.value(final_observation))


def test_episode_returns_are_raw_rewards_summed_over_the_episode():
    collector, agent = collector_for(
        "CartPole-v1", num_envs=3, num_steps=200, max_episode_steps=None
    )
    collector.collect(agent)
    episodes = collector.drain_episodes()
    assert episodes, "random CartPole episodes last far less than 200 steps"
    for episode in episodes:
        assert episode.episode_return == episode.length  # CartPole pays +1 per step
    assert collector.drain_episodes() == []


def test_discrete_actions_stored_as_integers_and_box_as_float():
    collector, agent = collector_for("CartPole-v1", 2, 4, None)
    assert collector.collect(agent).actions.dtype == torch.int64
    collector, agent = collector_for("Pendulum-v1", 2, 4, None)
    assert collector.collect(agent).actions.dtype == torch.float32
    assert isinstance(collector.envs.single_action_space, gym.spaces.Box)
    assert np.all(np.isfinite(collector.storage.log_probs.numpy()))


def test_whole_episode_collections_end_at_the_episode_end():
    collector, agent = collector_for(
        "CartPole-v1", num_envs=1, num_steps=600, max_episode_steps=None
    )
    collector.episodes_per_rollout = 1
    assert collector.steps_per_iteration is None  # iterations vary in length
    lengths = []
    for collection in range(3):
        rollout = collector.collect(agent)
        (episode,) = collector.drain_episodes()
        assert rollout.dones[:, 0].nonzero().flatten().tolist() == [len(rollout) - 1]
        # after the first collection, row 0 is the autoreset row of the episode before
        assert int(rollout.valid.sum()) == episode.length == len(rollout) - (collection > 0)
        assert rollout.values.shape[0] == len(rollout) + 1
        lengths.append(len(rollout))
    assert collector.global_step == sum(lengths)


def test_whole_episode_collections_wait_for_every_env_and_stop_at_num_steps():
    collector, agent = collector_for(
        "CartPole-v1", num_envs=3, num_steps=600, max_episode_steps=None
    )
    collector.episodes_per_rollout = 2
    rollout = collector.collect(agent)
    ended = rollout.dones.cumsum(0)  # [T, N] episodes ended so far
    assert torch.all(ended[-1] >= 2) and not torch.all(ended[-2] >= 2)
    capped, agent = collector_for("CartPole-v1", num_envs=1, num_steps=5, max_episode_steps=None)
    capped.episodes_per_rollout = 1
    assert len(capped.collect(agent)) == 5  # no CartPole episode ends within 5 steps


def test_a_rollout_moves_every_tensor_to_a_device():
    # The RLHF source rewards a rollout on the CPU while the learner may keep it on CUDA.
    envs = make_vector_env("CartPole-v1", 2)
    agent = ActorCritic(envs.single_observation_space, envs.single_action_space, [8], "tanh", True)
    collector = RolloutCollector(envs, 4, 0, torch.device("cpu"), keep_raw_observations=True)
    rollout = collector.collect(agent)
    moved = rollout.to(torch.device("meta"))
    for name, tensor in vars(moved).items():
        assert tensor.device.type == "meta", name
        assert tensor.shape == getattr(rollout, name).shape, name
    assert rollout.rewards.device.type == "cpu"  # the original is left where it was
