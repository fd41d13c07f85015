"""The reward model learns what labels say: a known reward function, and that ending is bad."""

from __future__ import annotations

import gymnasium as gym
import pytest
import torch

from rlcli.rlhf.labellers import SyntheticLabeller
from rlcli.rlhf.reward_model import Comparisons, RewardModel, evaluate_pairs, fit_reward_model
from rlcli.rlhf.segments import Segments
from rlcli.settings import LabellerConfig, RewardModelConfig


def labelled_pairs(segments: Segments, count: int, generator: torch.Generator) -> Comparisons:
    first = torch.randint(len(segments), (count,), generator=generator)
    second = torch.randint(len(segments), (count,), generator=generator)
    oracle = SyntheticLabeller(LabellerConfig(), generator)
    preferences = oracle.label(segments.true_rewards[first], segments.true_rewards[second])
    return Comparisons(
        segments.select(first), segments.select(second), preferences, torch.ones(count)
    )


def test_an_ensemble_recovers_a_reward_from_preferences_alone():
    generator = torch.Generator().manual_seed(0)
    inputs = torch.rand((400, 5, 2), generator=generator) * 2 - 1  # [S, L, F]
    true_rewards = inputs[..., 0] - 0.5 * inputs[..., 1] ** 2  # the hidden reward
    segments = Segments(inputs, true_rewards, torch.ones(400, 5, dtype=torch.bool))
    model = RewardModel(2, model_config())
    result = fit_reward_model(
        model, labelled_pairs(segments, 300, generator), model_config(), generator
    )
    assert result.validation_accuracy >= 0.9
    assert evaluate_pairs(model, labelled_pairs(segments, 500, generator)) >= 0.9
    model.fit_output_statistics(segments)
    rewards = model.reward(inputs.reshape(-1, 2))
    assert abs(float(rewards.mean())) < 1e-4 and abs(float(rewards.std()) - 1) < 1e-3


def model_config() -> RewardModelConfig:
    return RewardModelConfig(epochs=30)


def test_padding_teaches_whether_ending_early_is_bad():
    generator = torch.Generator().manual_seed(1)
    inputs = torch.rand((200, 4, 1), generator=generator)
    mask = torch.ones(200, 4, dtype=torch.bool)
    mask[100:, 2:] = False  # half the segments end in a termination after 2 steps
    segments = Segments(inputs, torch.ones(200, 4) * mask, mask)  # 1 per step alive, 0 absorbed
    model = RewardModel(1, model_config())
    fit_reward_model(model, labelled_pairs(segments, 300, generator), model_config(), generator)
    model.fit_output_statistics(segments)
    alive = model.reward(inputs[:100].reshape(-1, 1)).mean()
    assert float(model.absorbing_reward(inputs[100:, 1]).mean()) < float(alive) - 1.0


def test_a_state_only_model_ignores_the_action_features():
    generator = torch.Generator().manual_seed(2)
    inputs = torch.rand((50, 3), generator=generator)  # two observation features, one action
    other_actions = inputs.clone()
    other_actions[:, 2] = torch.rand(50, generator=generator) * 4 - 2
    other_states = inputs.clone()
    other_states[:, 0] += 1.0
    state_only = RewardModel(3, RewardModelConfig(use_action=False), action_size=1)
    assert torch.equal(state_only(inputs), state_only(other_actions))
    assert not torch.equal(state_only(inputs), state_only(other_states))
    with_action = RewardModel(3, RewardModelConfig(), action_size=1)
    assert not torch.equal(with_action(inputs), with_action(other_actions))


def test_a_saved_state_only_model_loads_state_only(tmp_path):
    from rlcli.build.preferences import load_reward_model, reward_model_payload
    from rlcli.checkpoint import save_checkpoint

    config = RewardModelConfig(use_action=False)
    model = RewardModel(4, config, action_size=1)
    save_checkpoint(
        tmp_path / "reward_model.pt", reward_model_payload(model, config, "Pendulum-v1")
    )
    pendulum = gym.make("Pendulum-v1")
    loaded = load_reward_model(
        str(tmp_path), "Pendulum-v1", pendulum.observation_space, pendulum.action_space
    )
    inputs = torch.rand(20, 4)
    other_actions = torch.cat([inputs[:, :3], torch.rand(20, 1) * 4 - 2], dim=-1)
    assert torch.equal(loaded(inputs), model(inputs))
    assert torch.equal(loaded(inputs), loaded(other_actions))


def test_a_reward_paid_on_a_change_of_state_needs_the_next_observation():
    # Each step moves a feature from s to an unrelated s'; the env pays s' - s (a potential
    # difference, as LunarLander's shaping): r(s, a, s') can represent it, r(s, a) cannot.
    generator = torch.Generator().manual_seed(3)
    states = torch.rand((400, 5, 2), generator=generator)  # [S, L, (s, s')]
    segments = Segments(states, states[..., 1] - states[..., 0], torch.ones(400, 5, dtype=bool))
    pairs = labelled_pairs(segments, 300, generator)
    held_out = labelled_pairs(segments, 500, generator)
    with_next = RewardModel(2, RewardModelConfig(epochs=30, use_next_observation=True))
    fit_reward_model(with_next, pairs, model_config(), generator)
    state_only = Segments(states[..., :1], segments.true_rewards, segments.mask)
    without = RewardModel(1, model_config())
    fit_reward_model(without, labelled_pairs(state_only, 300, generator), model_config(), generator)
    assert evaluate_pairs(with_next, held_out) >= 0.9
    assert evaluate_pairs(without, labelled_pairs(state_only, 500, generator)) < 0.8


def test_reward_inputs_put_the_next_observation_between_state_and_action():
    from rlcli.rlhf.segments import reward_input_size, rollout_reward_inputs
    from rlcli.rollout import Rollout

    steps, envs = 3, 2
    raw = torch.arange(steps * envs * 2, dtype=torch.float32).reshape(steps, envs, 2)
    after_last = torch.full((envs, 2), -1.0)
    flags = torch.zeros(steps, envs, dtype=torch.bool)
    rollout = Rollout(
        observations=raw,
        actions=torch.ones(steps, envs, dtype=torch.long),
        log_probs=torch.zeros(steps, envs),
        values=torch.zeros(steps + 1, envs),
        rewards=torch.zeros(steps, envs),
        terminations=flags,
        truncations=flags,
        valid=~flags,
        raw_observations=raw,
    )
    space = gym.spaces.Discrete(3)
    inputs = rollout_reward_inputs(rollout, after_last, space, next_observation=True)
    assert inputs.shape == (steps, envs, 2 + 2 + 3)
    assert inputs.shape[-1] == reward_input_size(gym.spaces.Box(0, 1, (2,)), space, True)
    assert torch.equal(inputs[:, :, :2], raw)
    assert torch.equal(inputs[:2, :, 2:4], raw[1:])
    assert torch.equal(inputs[2, :, 2:4], after_last)
    assert torch.equal(inputs[..., 4:], torch.tensor([0.0, 1.0, 0.0]).expand(steps, envs, 3))
    plain = rollout_reward_inputs(rollout, after_last, space, next_observation=False)
    assert torch.equal(plain, torch.cat([inputs[..., :2], inputs[..., 4:]], dim=-1))


def test_an_ending_dependent_absorbing_reward_tells_success_from_failure():
    # A third of the segments go on (-0.1 per step, a fuel cost), a third end in success (+1 on
    # the last step), a third in failure (-1); a feature of the last step says which. Absorbing
    # steps are worth 0 to the teacher.
    generator = torch.Generator().manual_seed(4)
    count, length = 300, 6
    kind = torch.arange(count) % 3  # 0 goes on, 1 succeeds, 2 fails
    real = torch.where(kind == 0, length, torch.randint(1, length, (count,), generator=generator))
    mask = torch.arange(length) < real[:, None]
    ending = torch.tensor([0.0, 1.0, -1.0])[kind]
    last_step = (torch.arange(length) == real[:, None] - 1) & (kind != 0)[:, None]
    ending_feature = last_step * ending[:, None]
    inputs = torch.stack([torch.rand(count, length, generator=generator), ending_feature], -1)
    true_rewards = torch.where(last_step, ending_feature, torch.full_like(ending_feature, -0.1))
    segments = Segments(inputs * mask[..., None], true_rewards * mask, mask)
    pairs = labelled_pairs(segments, 300, generator)
    absorbing = {}
    for from_last_step in (False, True):
        config = RewardModelConfig(epochs=30, absorbing_from_last_step=from_last_step)
        model = RewardModel(2, config)
        fit_reward_model(model, pairs, config, generator)
        model.fit_output_statistics(segments)
        with torch.no_grad():
            rewards = model.absorbing_reward(segments.last_inputs())
        absorbing[from_last_step] = [float(rewards[kind == k].mean()) for k in (1, 2)]
    success, failure = absorbing[True]
    assert success > failure + 0.5  # normalised units: the two endings are told apart
    assert absorbing[False][0] == pytest.approx(absorbing[False][1])  # one number cannot
