"""Loss helpers: pure functions over flat batches, shared by the algorithms.

``mask`` (1.0 on real rows, 0.0 on padding) averages over the real rows of a batch padded to a
fixed size, as the compiled update pads its minibatches (one shape, one compiled graph); without
a mask every function runs exactly the eager operations.
"""

from __future__ import annotations

import torch

from rlcli.optim import Adam


def mean(values: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """The mean of ``values``, over the rows where ``mask`` is 1 when there is a mask."""
    if mask is None:
        return values.mean()
    return (values * mask).sum() / mask.sum()


def normalize(
    values: torch.Tensor, epsilon: float = 1e-8, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Standardise to zero mean and unit variance (only centred if there is a single element)."""
    if mask is None:
        if values.numel() < 2:
            return values - values.mean()
        return (values - values.mean()) / (values.std() + epsilon)
    count = mask.sum()
    centred = values - mean(values, mask)
    variance = (centred.square() * mask).sum() / (count - 1.0).clamp(min=1.0)  # unbiased, as std()
    return torch.where(count > 1.0, centred / (variance.sqrt() + epsilon), centred)


def policy_gradient_loss(log_probs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """REINFORCE: -mean(log pi(a|s) * weight), where the weight is a return or an advantage."""
    return -(log_probs * weights.detach()).mean()


def clipped_surrogate_loss(
    log_probs: torch.Tensor,
    old_log_probs: torch.Tensor,
    advantages: torch.Tensor,
    clip: float | torch.Tensor,
    mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """PPO's clipped surrogate objective (Schulman et al. 2017, eq. 7), negated for minimisation.

    Returns (loss, approx_kl, clip_fraction); approx_kl is the low-variance estimator
    E[(ratio - 1) - log ratio] (Schulman's "Approximating KL divergence" note).
    """
    log_ratio = log_probs - old_log_probs
    ratio = log_ratio.exp()
    unclipped = ratio * advantages
    clipped = ratio.clamp(1.0 - clip, 1.0 + clip) * advantages
    loss = -mean(torch.min(unclipped, clipped), mask)
    with torch.no_grad():
        approx_kl = mean((ratio - 1.0) - log_ratio, mask)
        clip_fraction = mean(((ratio - 1.0).abs() > clip).float(), mask)
    return loss, approx_kl, clip_fraction


def value_loss(
    values: torch.Tensor,
    returns: torch.Tensor,
    old_values: torch.Tensor | None = None,
    clip: float | torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """0.5 * squared error to the returns; with ``clip``, PPO's pessimistic clipped variant."""
    unclipped = (values - returns).square()
    if clip is None or old_values is None:
        return 0.5 * mean(unclipped, mask)
    clipped_values = old_values + (values - old_values).clamp(-clip, clip)
    return 0.5 * mean(torch.max(unclipped, (clipped_values - returns).square()), mask)


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
