"""The contract every registered algorithm keeps with the loop, so a new one is tested by adding it
to rlcli.algos.ALGORITHMS: its range checks are (valid, message) pairs, and one collect + update
changes the network and returns finite losses under documented TensorBoard tags."""

import math

import pytest
import torch

from rlcli.algos import ALGORITHMS
from rlcli.build.objects import build_learner
from rlcli.metrics import METRIC_TAGS

# What build_source knows how to feed an algorithm (rlcli/build/objects.py).
KNOWN_INPUTS = ("rollouts", "demonstrations")
# An algorithm that learns from a dataset needs one to be built; its source's tests cover it. Here:
# every algorithm that learns from env rollouts, on a discrete and a continuous action space.
ROLLOUT_LEARNERS = sorted(name for name, algo in ALGORITHMS.items() if algo.consumes == "rollouts")
ENVS = {
    "discrete": ["env=CartPole-v1", "env.num_envs=2", "algo.num_steps=64"],
    # one 200-step episode ends inside the rollout, so REINFORCE without a baseline has one
    "continuous": ["env=Pendulum-v1", "env.num_envs=1", "algo.num_steps=256"],
    # batches of whole episodes, of a length no update has seen before
    "whole episodes": [
        "env=CartPole-v1",
        "env.num_envs=2",
        "algo.num_steps=600",
        "algo.episodes_per_update=2",
    ],
}


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_every_algorithm_declares_an_input_the_builder_provides(name):
    assert ALGORITHMS[name].consumes in KNOWN_INPUTS


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_range_checks_are_valid_pairs_on_the_defaults(settings, name):
    dataset = ["dataset=unused-by-composition"] if ALGORITHMS[name].consumes != "rollouts" else []
    config = settings(f"algo={name}", "env=CartPole-v1", *dataset)
    checks = config.algo.range_checks(config.env.num_envs)
    assert checks and all(isinstance(ok, bool) and isinstance(text, str) for ok, text in checks)
    assert all(ok for ok, _ in checks), "the defaults pass their own checks"


@pytest.mark.parametrize("space", sorted(ENVS))
@pytest.mark.parametrize("name", ROLLOUT_LEARNERS)
def test_one_update_learns_and_logs_finite_documented_losses(settings, name, space):
    config = settings(f"algo={name}", *ENVS[space], "seed=1")
    learner = build_learner(config, torch.device("cpu"))
    before = [parameter.detach().clone() for parameter in learner.agent.parameters()]
    batch = learner.source.collect(learner.agent)
    losses = learner.algo.update(learner.agent, learner.optimizer, batch, 0.0)
    learner.source.close()

    assert "losses/policy_loss" in losses and "losses/entropy" in losses
    undocumented = sorted(set(losses) - set(METRIC_TAGS))
    assert not undocumented, f"tags missing from rlcli/metrics.py METRIC_TAGS: {undocumented}"
    assert all(isinstance(v, float) and math.isfinite(v) for v in losses.values()), losses
    if config.algo.uses_critic:
        assert "losses/value_loss" in losses
    after = list(learner.agent.parameters())
    changed = [not torch.equal(old, new) for old, new in zip(before, after, strict=True)]
    assert any(changed), "the update changed no parameter"
