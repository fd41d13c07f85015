"""The KL leash: a per-step penalty towards a reference policy and its adaptive weight."""

from __future__ import annotations

from dataclasses import dataclass

import torch


def kl_penalized_rewards(
    rewards: torch.Tensor,  # [T, N] learned rewards
    log_probs: torch.Tensor,  # [T, N] log pi(a|s) of the sampled actions
    reference_log_probs: torch.Tensor,  # [T, N] log pi_ref(a|s) of the same actions
    beta: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """r - beta * (log pi - log pi_ref) per step (Ziegler et al. 2019); returns (rewards, kl)
    where kl is the per-step sample estimate whose mean is KL(pi || pi_ref)."""
    kl = log_probs - reference_log_probs
    return rewards - beta * kl, kl


@dataclass
class AdaptiveKLController:
    """Moves beta so the measured KL approaches ``target``: a proportional controller whose error
    is clipped to [-0.2, 0.2] (Ziegler et al. 2019, eq. 2). ``target=None`` keeps beta fixed.

    One update counts at most one horizon of steps, so beta moves by at most 20% per rollout:
    a rollout longer than the horizon would otherwise multiply beta by 1 + 0.2 * steps / horizon
    (x4.3 for 16k steps over a 1k horizon) or turn it negative."""

    beta: float
    target: float | None
    horizon: int

    def update(self, measured_kl: float, steps: int) -> float:
        """Account ``steps`` env steps at ``measured_kl``; returns the new beta."""
        if self.target is None or self.target <= 0:
            return self.beta
        error = min(max(measured_kl / self.target - 1.0, -0.2), 0.2)
        self.beta *= 1.0 + error * min(steps / self.horizon, 1.0)
        return self.beta
