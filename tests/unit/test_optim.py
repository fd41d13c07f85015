"""rlcli's Adam against torch's, with global gradient-norm clipping."""

import copy

import torch

from rlcli.algos.losses import apply_gradients
from rlcli.optim import Adam


def test_adam_matches_torch_adam_with_clipping():
    torch.manual_seed(0)
    layers = [torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2)]
    reference_net = torch.nn.Sequential(*layers)
    ours_net = copy.deepcopy(reference_net)
    reference = torch.optim.Adam(reference_net.parameters(), lr=1e-2, eps=1e-5)
    ours = Adam(ours_net.parameters(), 1e-2, eps=1e-5)
    for step in range(5):
        inputs = torch.randn(16, 3) * (step + 1)
        reference.zero_grad()
        reference_net(inputs).square().sum().backward()
        torch.nn.utils.clip_grad_norm_(reference_net.parameters(), 0.5)
        reference.step()
        apply_gradients(ours, ours_net(inputs).square().sum(), max_grad_norm=0.5)
    for mine, theirs in zip(ours_net.parameters(), reference_net.parameters(), strict=True):
        assert torch.allclose(mine, theirs, atol=1e-6)
