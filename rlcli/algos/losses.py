"""Loss helpers: pure functions over flat batches, shared by the algorithms."""

from __future__ import annotations

import torch

from rlcli.optim import Adam


def normalize(values: torch.Tensor, epsilon: float = 1e-8) -> torch.Tensor:
    """Standardise to zero mean and unit variance (unchanged if there is a single element)."""
    if values.numel() < 2:
        return values - values.mean()
    return (values - values.mean()) / (values.std() + epsilon)


def policy_gradient_loss(log_probs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """REINFORCE: -mean(log pi(a|s) * weight), where the weight is a return or an advantage."""
    return -(log_probs * weights.detach()).mean()


def clipped_surrogate_loss(
    log_probs: torch.Tensor, old_log_probs: torch.Tensor, advantages: torch.Tensor, clip: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """PPO's clipped surrogate objective (Schulman et al. 2017, eq. 7), negated for minimisation.

    Returns (loss, approx_kl, clip_fraction); approx_kl is the low-variance estimator
    E[(ratio - 1) - log ratio] (Schulman's "Approximating KL divergence" note).
    """
    log_ratio = log_probs - old_log_probs
    ratio = log_ratio.exp()
    unclipped = ratio * advantages
    clipped = ratio.clamp(1.0 - clip, 1.0 + clip) * advantages
    loss = -torch.min(unclipped, clipped).mean()
    with torch.no_grad():
        approx_kl = ((ratio - 1.0) - log_ratio).mean()
        clip_fraction = ((ratio - 1.0).abs() > clip).float().mean()
    return loss, approx_kl, clip_fraction


def value_loss(
    values: torch.Tensor,
    returns: torch.Tensor,
    old_values: torch.Tensor | None = None,
    clip: float | None = None,
) -> torch.Tensor:
    """0.5 * squared error to the returns; with ``clip``, PPO's pessimistic clipped variant."""
    unclipped = (values - returns).square()
    if clip is None or old_values is None:
        return 0.5 * unclipped.mean()
    clipped_values = old_values + (values - old_values).clamp(-clip, clip)
    return 0.5 * torch.max(unclipped, (clipped_values - returns).square()).mean()


def explained_variance(predictions: torch.Tensor, targets: torch.Tensor) -> float:
    """1 - Var[targets - predictions] / Var[targets]; nan when the targets are constant."""
    target_variance = targets.var()
    if target_variance == 0:
        return float("nan")
    return float(1.0 - (targets - predictions).var() / target_variance)


def apply_gradients(optimizer: Adam, loss: torch.Tensor, max_grad_norm: float | None) -> None:
    """One optimiser step on ``loss`` with optional global gradient-norm clipping."""
    optimizer.zero_grad()
    loss.backward()
    optimizer.step(max_grad_norm)
