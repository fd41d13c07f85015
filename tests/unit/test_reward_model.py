"""The reward model learns what labels say: a known reward function, and that ending is bad."""

from __future__ import annotations

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
    assert float(model.absorbing_reward()) < float(alive) - 1.0


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
    loaded = load_reward_model(str(tmp_path), "Pendulum-v1", 4, 1)
    inputs = torch.rand(20, 4)
    other_actions = torch.cat([inputs[:, :3], torch.rand(20, 1) * 4 - 2], dim=-1)
    assert torch.equal(loaded(inputs), model(inputs))
    assert torch.equal(loaded(inputs), loaded(other_actions))
