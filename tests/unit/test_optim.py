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


def test_parameters_without_a_gradient_are_left_alone_as_torch_adam_leaves_them():
    # A held actor gets no gradient: its moments and step counts must not move either, or its
    # first real steps would be several times the learning rate (Adam's bias correction).
    torch.manual_seed(0)
    reference_net = torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)
    )
    ours_net = copy.deepcopy(reference_net)
    reference = torch.optim.Adam(reference_net.parameters(), lr=1e-2, eps=1e-5)
    ours = Adam(ours_net.parameters(), 1e-2, eps=1e-5)
    for step in range(6):
        inputs = torch.randn(16, 3)
        for net, optimizer in ((reference_net, reference), (ours_net, ours)):
            hidden = torch.tanh(net[0](inputs))
            if step < 3:  # the first layer is held: no gradient reaches it
                hidden = hidden.detach()
            loss = net[2](hidden).square().sum()
            if optimizer is reference:
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(net.parameters(), 0.5)
                optimizer.step()
            else:
                apply_gradients(optimizer, loss, max_grad_norm=0.5)
        if step == 2:
            assert torch.equal(ours_net[0].weight, reference_net[0].weight)
            assert [int(s) for s in ours.steps] == [0, 0, 3, 3]
    for mine, theirs in zip(ours_net.parameters(), reference_net.parameters(), strict=True):
        assert torch.allclose(mine, theirs, atol=1e-6)
