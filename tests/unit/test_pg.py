"""REINFORCE's own helpers against hand-computed values."""

import pytest
import torch

from rlcli.algos.pg import unfinished_tail
from rlcli.build.objects import build_learner


def test_unfinished_tail_marks_steps_after_last_episode_end():
    dones = torch.tensor([[0, 0], [1, 0], [0, 0]], dtype=torch.bool)
    assert torch.equal(
        unfinished_tail(dones), torch.tensor([[0, 1], [0, 1], [1, 1]], dtype=torch.bool)
    )


def test_sum_reduction_is_the_mean_times_the_number_of_steps(settings):
    pg = ["algo=pg", "env=CartPole-v1", "env.num_envs=1", "algo.num_steps=200"]
    losses = {}
    for reduction in ("mean", "sum"):
        torch.manual_seed(0)
        config = settings(*pg, f"algo.loss_reduction={reduction}")
        learner = build_learner(config, torch.device("cpu"))
        torch.manual_seed(1)
        rollout = learner.source.collect(learner.agent)
        steps = int((rollout.valid & ~unfinished_tail(rollout.dones)).sum())
        losses[reduction] = learner.algo.update(learner.agent, learner.optimizer, rollout, 0.0)
        learner.source.close()
    mean, total = (losses[r]["losses/policy_loss"] for r in ("mean", "sum"))
    assert steps > 0 and total == pytest.approx(mean * steps, rel=1e-5)
