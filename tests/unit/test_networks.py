"""Action heads are picked from the action space and compute correct log-probabilities."""

import math

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlcli.errors import UserError
from rlcli.networks import (
    ActorCritic,
    CategoricalHead,
    GaussianHead,
    actions_for_env,
    make_action_head,
)

BOX_OBS = gym.spaces.Box(-1.0, 1.0, (3,), np.float32)


def test_categorical_head_log_prob_and_entropy_match_torch_distribution():
    head = CategoricalHead(4, 3)
    features = torch.randn(5, 4)
    actions = torch.tensor([0, 1, 2, 1, 0])
    log_probs, entropy = head.log_prob_entropy(features, actions)
    reference = torch.distributions.Categorical(logits=head.logits(features))
    assert torch.allclose(log_probs, reference.log_prob(actions), atol=1e-6)
    assert torch.allclose(entropy, reference.entropy(), atol=1e-6)
    sampled, sampled_log_probs = head.sample(features)
    assert torch.allclose(sampled_log_probs, reference.log_prob(sampled), atol=1e-6)


def test_gaussian_head_log_prob_and_entropy_match_torch_distribution():
    head = GaussianHead(4, 2, log_std_init=-0.5)
    features = torch.randn(5, 4)
    actions = torch.randn(5, 2)
    log_probs, entropy = head.log_prob_entropy(features, actions)
    reference = torch.distributions.Normal(head.mean(features), head.log_std.exp())
    assert torch.allclose(log_probs, reference.log_prob(actions).sum(-1), atol=1e-5)
    assert torch.allclose(entropy, reference.entropy().sum(-1), atol=1e-5)
    assert torch.allclose(head.log_std, torch.full((2,), -0.5))


def test_action_head_follows_action_space():
    assert isinstance(make_action_head(gym.spaces.Discrete(4), 8, 0.0), CategoricalHead)
    assert isinstance(make_action_head(gym.spaces.Box(-2, 2, (2,)), 8, 0.0), GaussianHead)


@pytest.mark.parametrize(
    "space",
    [
        gym.spaces.MultiDiscrete([2, 3]),
        gym.spaces.Tuple((gym.spaces.Discrete(2), gym.spaces.Discrete(2))),
        gym.spaces.Dict({"a": gym.spaces.Discrete(2)}),
    ],
)
def test_unsupported_action_space_is_a_user_error_naming_the_space(space):
    with pytest.raises(UserError, match="action space .* is not supported"):
        make_action_head(space, 8, 0.0)


def test_unsupported_observation_space_is_a_user_error():
    with pytest.raises(UserError, match="observation space Discrete"):
        ActorCritic(gym.spaces.Discrete(5), gym.spaces.Discrete(2), [8], "tanh", True)


def test_unknown_activation_names_valid_ones():
    with pytest.raises(UserError, match="network.activation='swish' is not one of"):
        ActorCritic(BOX_OBS, gym.spaces.Discrete(2), [8], "swish", True)


def test_actor_critic_shapes_and_deterministic_mode():
    agent = ActorCritic(BOX_OBS, gym.spaces.Box(-1, 1, (2,)), [16, 16], "tanh", with_critic=True)
    observations = torch.randn(7, 3)
    actions, log_probs, values = agent.act(observations)
    assert actions.shape == (7, 2) and log_probs.shape == (7,) and values.shape == (7,)
    assert torch.equal(agent.predict(observations), agent.predict(observations))


def test_policy_without_critic_reports_zero_values():
    agent = ActorCritic(BOX_OBS, gym.spaces.Discrete(2), [8], "relu", with_critic=False)
    assert agent.critic is None
    assert torch.equal(agent.value(torch.randn(4, 3)), torch.zeros(4))


def test_orthogonal_init_uses_small_policy_output_gain():
    agent = ActorCritic(BOX_OBS, gym.spaces.Discrete(2), [64, 64], "tanh", with_critic=True)
    output_weight = agent.head.logits.weight
    # An orthogonal matrix scaled by gain g has rows of norm g (here 2 rows of width 64).
    assert torch.allclose(output_weight.norm(dim=1), torch.full((2,), 0.01), atol=1e-5)
    assert math.isclose(float(agent.critic[-1].weight.detach().norm()), 1.0, rel_tol=1e-5)


def test_box_actions_are_clipped_to_bounds_for_the_env():
    space = gym.spaces.Box(-2.0, 2.0, (1,), np.float32)
    clipped = actions_for_env(torch.tensor([[-5.0], [0.5], [3.0]]), space)
    assert np.array_equal(clipped, np.array([[-2.0], [0.5], [2.0]], dtype=np.float32))


def test_categorical_sampling_matches_the_probabilities():
    torch.manual_seed(0)
    head = CategoricalHead(1, 3)
    with torch.no_grad():
        head.logits.weight.zero_()
        head.logits.bias.copy_(torch.log(torch.tensor([0.2, 0.5, 0.3])))
    actions, log_probs = head.sample(torch.zeros(20_000, 1))
    frequencies = torch.bincount(actions, minlength=3).float() / 20_000
    assert torch.allclose(frequencies, torch.tensor([0.2, 0.5, 0.3]), atol=0.015)
    assert torch.allclose(log_probs.exp(), torch.tensor([0.2, 0.5, 0.3])[actions], atol=1e-6)


def test_functional_forward_equals_the_module_stack():
    agent = ActorCritic(BOX_OBS, gym.spaces.Discrete(2), [16, 16], "relu", with_critic=True)
    observations = torch.randn(5, 3)
    assert torch.allclose(agent.features(observations), agent.actor_body(observations))
    assert torch.allclose(agent.value(observations), agent.critic(observations).squeeze(-1))


@pytest.mark.parametrize("orthogonal_init", [True, False])
@pytest.mark.parametrize("action_space", [gym.spaces.Discrete(2), gym.spaces.Box(-1, 1, (2,))])
def test_a_network_without_biases_is_weights_only_and_computes_x_times_w(
    orthogonal_init, action_space
):
    agent = ActorCritic(
        BOX_OBS, action_space, [128], "relu", True, orthogonal_init=orthogonal_init, bias=False
    )
    linears = [m for m in agent.modules() if isinstance(m, torch.nn.Linear)]
    assert len(linears) == 4 and all(m.bias is None for m in linears)
    assert not any("bias" in name for name, _ in agent.named_parameters())
    observations = torch.randn(6, 3)
    hidden = torch.relu(observations @ agent.actor_body[0].weight.T)  # no bias anywhere
    expected = hidden @ agent.head.output_layer.weight.T
    assert torch.allclose(agent.head.output_layer(agent.features(observations)), expected)
    # without biases the network is positively homogeneous: zero observations give zero outputs
    assert torch.count_nonzero(agent.value(torch.zeros(1, 3))) == 0


def test_the_classic_reinforce_policy_is_two_bias_free_layers():
    # 4 observations -> 128 ReLU -> 2 logits, softmax: 4*128 + 128*2 weights, nothing else.
    cartpole = gym.spaces.Box(-np.inf, np.inf, (4,), np.float32)
    agent = ActorCritic(cartpole, gym.spaces.Discrete(2), [128], "relu", False, False, bias=False)
    assert sum(p.numel() for p in agent.parameters()) == 4 * 128 + 128 * 2
