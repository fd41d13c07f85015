"""Hand-computed values of the preference likelihood, ranking weights and the KL leash."""

from __future__ import annotations

import math

import pytest
import torch

from rlcli.rlhf.kl import AdaptiveKLController, kl_penalized_rewards
from rlcli.rlhf.preferences import bradley_terry_loss, pair_accuracy, ranking_to_pairs
from rlcli.rlhf.source import absorbing_discount, labels_due


def test_bradley_terry_loss_matches_hand_computed_values():
    a, b = torch.tensor([1.0]), torch.tensor([0.0])
    # -log sigmoid(1) = log(1 + e^-1)
    assert float(bradley_terry_loss(a, b, torch.tensor([1.0]))) == pytest.approx(0.313262, 1e-5)
    assert float(bradley_terry_loss(a, b, torch.tensor([0.0]))) == pytest.approx(1.313262, 1e-5)
    # "equal" is the mean of both: 0.5 * (0.313262 + 1.313262)
    assert float(bradley_terry_loss(a, b, torch.tensor([0.5]))) == pytest.approx(0.813262, 1e-5)


def test_label_noise_mixes_in_a_random_answer():
    # P(A) = 0.9 * sigmoid(1) + 0.05 = 0.707953; loss = -log(0.707953)
    loss = bradley_terry_loss(
        torch.tensor([1.0]), torch.tensor([0.0]), torch.tensor([1.0]), label_noise=0.1
    )
    assert float(loss) == pytest.approx(-math.log(0.9 / (1 + math.exp(-1)) + 0.05), 1e-5)


def test_weights_make_a_weighted_mean_of_the_pairs():
    a, b = torch.tensor([1.0, 1.0]), torch.tensor([0.0, 0.0])
    preferences, weights = torch.tensor([1.0, 0.0]), torch.tensor([1.0, 3.0])
    expected = (1 * 0.313262 + 3 * 1.313262) / 4
    assert float(bradley_terry_loss(a, b, preferences, weights)) == pytest.approx(expected, 1e-5)


def test_a_ranking_of_k_gives_all_pairs_sharing_one_unit_of_weight():
    pairs = ranking_to_pairs(["a", "b", "c"])
    assert [(better, worse) for better, worse, _ in pairs] == [("a", "b"), ("a", "c"), ("b", "c")]
    assert [weight for _, _, weight in pairs] == pytest.approx([1 / 3] * 3)
    assert sum(w for _, _, w in ranking_to_pairs(list("abcde"))) == pytest.approx(1.0)
    assert ranking_to_pairs(["only"]) == []


def test_pair_accuracy_ignores_equal_labels():
    a, b = torch.tensor([2.0, 0.0, 1.0]), torch.tensor([1.0, 1.0, 5.0])
    assert pair_accuracy(a, b, torch.tensor([1.0, 1.0, 0.5])) == pytest.approx(0.5)


def test_kl_penalised_reward_is_reward_minus_beta_times_log_ratio():
    rewards, kl = kl_penalized_rewards(
        torch.tensor([1.0, 2.0]), torch.tensor([-0.5, -1.0]), torch.tensor([-1.0, -1.0]), 0.1
    )
    assert rewards.tolist() == pytest.approx([0.95, 2.0])
    assert kl.tolist() == pytest.approx([0.5, 0.0])


def test_adaptive_beta_is_a_clipped_proportional_controller():
    controller = AdaptiveKLController(beta=0.1, target=0.05, horizon=10_000)
    # KL twice the target: error 1.0 clipped to 0.2; beta *= 1 + 0.2 * 1000 / 10000
    assert controller.update(0.1, 1000) == pytest.approx(0.102)
    # KL 0.04: error -0.2 (within the clip); beta *= 1 - 0.2 * 0.1
    assert controller.update(0.04, 1000) == pytest.approx(0.102 * 0.98)
    # KL 0.055: error +0.1
    assert controller.update(0.055, 5000) == pytest.approx(0.102 * 0.98 * 1.05)
    # A rollout longer than the horizon counts as one horizon: beta moves by 20% at most and
    # stays positive (1 - 0.2 * 16384 / 1000 would be -2.3)
    long_rollouts = AdaptiveKLController(beta=1.0, target=0.05, horizon=1_000)
    assert long_rollouts.update(0.0, 16_384) == pytest.approx(0.8)
    assert long_rollouts.update(1.0, 16_384) == pytest.approx(0.8 * 1.2)
    fixed = AdaptiveKLController(beta=0.3, target=None, horizon=10_000)
    assert fixed.update(10.0, 1000) == 0.3


def test_label_schedule_gives_more_labels_early():
    assert labels_due(0, 100_000, 500, 0.25) == 125
    assert labels_due(50_000, 100_000, 500, 0.25) == round(500 * (0.25 + 0.75 * 0.75))
    assert labels_due(100_000, 100_000, 500, 0.25) == 500
    assert labels_due(200_000, 100_000, 500, 0.25) == 500
    first_half = labels_due(50_000, 100_000, 500, 0.0)
    assert first_half > 500 - first_half  # more labels in the first half than in the second


def test_absorbing_steps_are_paid_forever_or_for_a_set_number():
    assert absorbing_discount(0.9, None) == pytest.approx(9.0)  # 0.9 / 0.1
    assert absorbing_discount(0.9, 2) == pytest.approx(0.9 + 0.81)
    assert absorbing_discount(0.999, 25) == pytest.approx(sum(0.999**k for k in range(1, 26)))
    assert absorbing_discount(0.9, 0) == 0.0
