"""Loss helpers against hand-computed values."""

import math

import pytest
import torch

from rlcli.algos.losses import (
    clipped_surrogate_loss,
    explained_variance,
    normalize,
    policy_gradient_loss,
    value_loss,
)


def test_clipped_surrogate_takes_pessimistic_side():
    old = torch.zeros(2)
    new = torch.log(torch.tensor([1.5, 0.5]))  # ratios 1.5 and 0.5
    advantages = torch.tensor([1.0, -1.0])
    loss, approx_kl, clip_fraction = clipped_surrogate_loss(new, old, advantages, clip=0.2)
    # sample 0: min(1.5*1, 1.2*1) = 1.2; sample 1: min(0.5*-1, 0.8*-1) = -0.8
    assert loss.item() == pytest.approx(-(1.2 - 0.8) / 2)
    assert clip_fraction.item() == 1.0
    expected_kl = ((0.5 - math.log(1.5)) + (-0.5 - math.log(0.5))) / 2
    assert approx_kl.item() == pytest.approx(expected_kl, rel=1e-5)


def test_clipped_surrogate_equals_plain_objective_inside_clip_range():
    new = torch.log(torch.tensor([1.1]))
    loss, _, clip_fraction = clipped_surrogate_loss(new, torch.zeros(1), torch.tensor([2.0]), 0.2)
    assert loss.item() == pytest.approx(-2.2)
    assert clip_fraction.item() == 0.0


def test_value_loss_plain_and_clipped():
    values, returns, old = torch.tensor([3.0]), torch.tensor([0.0]), torch.tensor([1.0])
    assert value_loss(values, returns).item() == pytest.approx(4.5)
    # clipped value: 1 + clamp(2, -0.5, 0.5) = 1.5 -> max(9, 2.25) / 2
    assert value_loss(values, returns, old, clip=0.5).item() == pytest.approx(4.5)
    values = torch.tensor([0.2])
    # unclipped: 0.04; clipped: 1 + clamp(-0.8) = 0.5 -> 0.25; pessimistic max -> 0.125
    assert value_loss(values, returns, old, clip=0.5).item() == pytest.approx(0.125)


def test_policy_gradient_loss_is_negative_weighted_log_prob_mean():
    log_probs = torch.tensor([-1.0, -2.0], requires_grad=True)
    loss = policy_gradient_loss(log_probs, torch.tensor([3.0, 1.0]))
    assert loss.item() == pytest.approx(2.5)
    loss.backward()
    assert torch.allclose(log_probs.grad, torch.tensor([-1.5, -0.5]))


def test_normalize_and_explained_variance():
    values = normalize(torch.tensor([1.0, 2.0, 3.0]))
    assert values.mean().abs() < 1e-6 and values.std().item() == pytest.approx(1.0, rel=1e-5)
    targets = torch.tensor([1.0, 2.0, 3.0])
    assert explained_variance(targets, targets) == pytest.approx(1.0)
    assert explained_variance(torch.zeros(3), targets) == pytest.approx(0.0)
    assert math.isnan(explained_variance(torch.zeros(2), torch.ones(2)))


def test_masked_losses_equal_the_losses_of_the_real_rows():
    # The compiled update pads minibatches to one size; the padding must not change any term.
    generator = torch.Generator().manual_seed(0)
    real, padding = torch.randn(5, 6, generator=generator), torch.randn(5, 3, generator=generator)
    padded = torch.cat([real, padding], dim=1)
    mask = torch.tensor([1.0] * 6 + [0.0] * 3)
    log_probs, old_log_probs, advantages, values, returns = real
    padded_log_probs, padded_old, padded_advantages, padded_values, padded_returns = padded
    for got, expected in [
        (normalize(padded_advantages, mask=mask)[:6], normalize(advantages)),
        (
            clipped_surrogate_loss(padded_log_probs, padded_old, padded_advantages, 0.2, mask),
            clipped_surrogate_loss(log_probs, old_log_probs, advantages, 0.2),
        ),
        (
            value_loss(padded_values, padded_returns, padded_old, torch.tensor(0.2), mask),
            value_loss(values, returns, old_log_probs, 0.2),
        ),
    ]:
        flat = lambda x: torch.stack(x) if isinstance(x, tuple) else x  # noqa: E731
        assert torch.allclose(flat(got), flat(expected), atol=1e-6)
    single = torch.tensor([1.0, 0.0])
    assert torch.equal(normalize(torch.tensor([3.0, 7.0]), mask=single), torch.tensor([0.0, 4.0]))
