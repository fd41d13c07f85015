"""REINFORCE's own helpers against hand-computed values."""

import torch

from rlcli.algos.pg import unfinished_tail


def test_unfinished_tail_marks_steps_after_last_episode_end():
    dones = torch.tensor([[0, 0], [1, 0], [0, 0]], dtype=torch.bool)
    assert torch.equal(
        unfinished_tail(dones), torch.tensor([[0, 1], [0, 1], [1, 1]], dtype=torch.bool)
    )
