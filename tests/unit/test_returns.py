"""discounted_returns and gae against hand-computed numbers."""

import torch

from rlcli.returns import discounted_returns, gae


def column(*values: float) -> torch.Tensor:
    """A [T, 1] tensor (one env)."""
    return torch.tensor(values, dtype=torch.float32).unsqueeze(1)


def flags(*values: int) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.bool).unsqueeze(1)


def test_discounted_returns_single_episode():
    returns = discounted_returns(column(1, 2, 3), flags(0, 0, 1), gamma=0.5)
    # G2 = 3, G1 = 2 + 0.5*3 = 3.5, G0 = 1 + 0.5*3.5 = 2.75
    assert torch.allclose(returns, column(2.75, 3.5, 3.0))


def test_discounted_returns_restart_at_episode_boundary():
    returns = discounted_returns(column(1, 1, 1, 1), flags(0, 1, 0, 1), gamma=0.9)
    assert torch.allclose(returns, column(1.9, 1.0, 1.9, 1.0))


def test_discounted_returns_bootstrap_only_where_episode_cut():
    bootstrap = column(100, 10, 100, 20)
    returns = discounted_returns(column(1, 1, 1, 1), flags(0, 1, 0, 1), 0.5, bootstrap)
    # step 1 ends with bootstrap 10: G1 = 1 + 0.5*10 = 6, G0 = 1 + 0.5*6 = 4
    # step 3 ends with bootstrap 20: G3 = 11, G2 = 1 + 0.5*11 = 6.5
    assert torch.allclose(returns, column(4.0, 6.0, 6.5, 11.0))


def test_discounted_returns_envs_are_independent():
    rewards = torch.tensor([[1.0, 2.0], [1.0, 2.0]])
    dones = torch.tensor([[True, False], [False, True]])
    returns = discounted_returns(rewards, dones, gamma=1.0)
    assert torch.equal(returns, torch.tensor([[1.0, 4.0], [1.0, 2.0]]))


def test_gae_lambda_one_is_discounted_return_minus_value():
    rewards = column(1, 1, 1)
    values = column(0.5, 0.5, 0.5, 7.0)  # last entry: value after the rollout (bootstrap)
    advantages = gae(rewards, values, flags(0, 0, 0), flags(0, 0, 0), gamma=0.9, gae_lambda=1.0)
    returns = torch.tensor([1 + 0.9 + 0.81 + 0.729 * 7, 1 + 0.9 + 0.81 * 7, 1 + 0.9 * 7])
    assert torch.allclose(advantages.squeeze(1), returns - 0.5)


def test_gae_hand_computed_with_termination_inside_rollout():
    rewards = column(1, 2, 3)
    values = column(1, 2, 3, 4)
    terminations = flags(0, 1, 0)
    advantages = gae(rewards, values, terminations, flags(0, 0, 0), gamma=0.5, gae_lambda=0.5)
    # deltas: d0 = 1 + 0.5*2 - 1 = 1, d1 = 2 + 0 - 2 = 0 (terminal), d2 = 3 + 0.5*4 - 3 = 2
    # A2 = 2, A1 = 0 (chain stops at the terminal), A0 = 1 + 0.25*0 = 1
    assert torch.allclose(advantages, column(1.0, 0.0, 2.0))


def test_gae_truncation_bootstraps_but_stops_the_chain():
    rewards = column(1, 1, 1)
    values = column(0, 10, 0, 0)  # values[2] = 0 is V(final obs of truncated episode)
    truncations = flags(1, 0, 0)
    advantages = gae(rewards, values, flags(0, 0, 0), truncations, gamma=0.5, gae_lambda=1.0)
    # step 0 truncated: delta0 = 1 + 0.5*V1 - V0 = 1 + 5 = 6, and A0 does not include A1
    # step 1: delta1 = 1 + 0.5*0 - 10 = -9, A1 = -9 + 0.5*A2; step 2: A2 = 1 + 0 - 0 = 1
    assert torch.allclose(advantages, column(6.0, -8.5, 1.0))


def test_gae_terminated_does_not_bootstrap():
    advantages = gae(column(1.0), column(0.0, 100.0), flags(1), flags(0), 0.99, 0.95)
    assert torch.allclose(advantages, column(1.0))
