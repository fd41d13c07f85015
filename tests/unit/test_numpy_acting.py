"""Acting from a numpy copy of the policy samples what the network would, from the same draws."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlcli.envs import make_vector_env
from rlcli.networks import ActorCritic
from rlcli.numpy_acting import NumpyActingPolicy, supports_numpy_acting
from rlcli.rollout import RolloutCollector

SPACES = {
    "discrete": (gym.spaces.Box(-1, 1, (4,)), gym.spaces.Discrete(3)),
    "box": (gym.spaces.Box(-1, 1, (5,)), gym.spaces.Box(-2, 2, (2,))),
}
CPU = torch.device("cpu")


def agent_for(kind: str, activation: str, bias: bool = True) -> ActorCritic:
    observation_space, action_space = SPACES[kind]
    torch.manual_seed(0)
    return ActorCritic(
        observation_space, action_space, [16, 8], activation, with_critic=True, bias=bias
    )


@pytest.mark.parametrize("kind", sorted(SPACES))
@pytest.mark.parametrize("activation", ["tanh", "relu", "silu", "elu"])
def test_numpy_acting_matches_the_network_draw_for_draw(kind: str, activation: str):
    agent = agent_for(kind, activation)
    torch.nn.init.normal_(agent.head.output_layer.weight)  # far from uniform probabilities
    observations = torch.randn(64, *SPACES[kind][0].shape)
    torch.manual_seed(1)
    with torch.no_grad():
        actions, log_probs, values = agent.act(observations)
    after_torch = torch.rand(1)
    torch.manual_seed(1)
    numpy_actions, numpy_log_probs, numpy_values = NumpyActingPolicy(agent).act(
        observations.numpy()
    )
    assert torch.rand(1) == after_torch  # the same random numbers were drawn, no more
    np.testing.assert_allclose(numpy_actions, actions.numpy(), atol=1e-5)
    np.testing.assert_allclose(numpy_log_probs, log_probs.numpy(), atol=1e-5)
    np.testing.assert_allclose(numpy_values, values.numpy(), atol=1e-5)
    assert numpy_actions.dtype == actions.numpy().dtype
    assert numpy_log_probs.dtype == np.float32


def test_a_network_without_biases_acts_the_same():
    agent = agent_for("discrete", "tanh", bias=False)
    observations = torch.randn(16, 4)
    with torch.no_grad():
        values = agent.value(observations)
    np.testing.assert_allclose(
        NumpyActingPolicy(agent).value(observations.numpy()), values.numpy(), atol=1e-6
    )


def test_refresh_takes_the_updated_weights():
    agent = agent_for("discrete", "tanh")
    policy = NumpyActingPolicy(agent)
    observations = torch.randn(8, 4)
    with torch.no_grad():
        for parameter in agent.parameters():
            parameter.add_(0.5)
        expected = agent.value(observations).numpy()
    assert not np.allclose(policy.value(observations.numpy()), expected, atol=1e-3)
    policy.refresh()
    np.testing.assert_allclose(policy.value(observations.numpy()), expected, atol=1e-5)


def test_only_cpu_mlp_policies_with_a_critic_and_a_numpy_activation_act_in_numpy():
    assert supports_numpy_acting(agent_for("discrete", "tanh"), CPU)
    assert not supports_numpy_acting(agent_for("discrete", "gelu"), CPU)
    assert not supports_numpy_acting(agent_for("discrete", "tanh"), torch.device("cuda"))
    no_critic = ActorCritic(*SPACES["discrete"], [8], "tanh", with_critic=False)
    assert not supports_numpy_acting(no_critic, CPU)
    image = gym.spaces.Box(0, 255, (4, 84, 84), np.uint8)
    cnn = ActorCritic(image, gym.spaces.Discrete(4), [], "relu", with_critic=True)
    assert not supports_numpy_acting(cnn, CPU)


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1"])
def test_collector_rollouts_agree_between_numpy_and_torch_acting(env_id: str):
    rollouts = {}
    for acting in ("numpy", "torch"):
        envs = make_vector_env(env_id, 4, None)
        torch.manual_seed(0)
        agent = ActorCritic(
            envs.single_observation_space, envs.single_action_space, [64, 64], "tanh", True
        )
        collector = RolloutCollector(envs, 64, seed=3, device=CPU, acting=acting)
        collector.collect(agent)
        rollouts[acting] = collector.collect(agent)  # the second reuses the first's storage
        assert (acting == "numpy") == (collector._numpy_policy is not None)
        collector.close()
    numpy_rollout, torch_rollout = rollouts["numpy"], rollouts["torch"]
    for name in ("observations", "actions", "log_probs", "values", "rewards", "valid"):
        torch.testing.assert_close(
            getattr(numpy_rollout, name), getattr(torch_rollout, name), atol=1e-4, rtol=1e-4
        )
