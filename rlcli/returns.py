"""Return and advantage estimators: pure functions over time-major tensors.

Conventions for every function here (shapes ``[T, N]``: T steps, N envs):
``terminations[t]`` is true when step t ended the episode in a terminal state (no bootstrap);
``truncations[t]`` is true when step t ended it by a time limit (bootstrap from the value of the
observation the step returned, which gymnasium's next-step autoreset hands us as ``values[t + 1]``).
"""

from __future__ import annotations

import torch


def discounted_returns(
    rewards: torch.Tensor,  # [T, N]
    dones: torch.Tensor,  # [T, N] episode ended at step t (terminated or truncated)
    gamma: float,
    bootstrap: torch.Tensor | None = None,  # [T, N] value added after a cut episode, else 0
) -> torch.Tensor:
    """Reward-to-go G_t = r_t + gamma * G_{t+1}, restarted at every episode end, computed backwards.

    ``bootstrap[t]`` (used only where ``dones[t]`` is true) stands in for the returns after an
    episode that was cut short; REINFORCE leaves it at zero.
    """
    returns = torch.zeros_like(rewards)
    next_return = torch.zeros_like(rewards[0])
    not_done = 1.0 - dones.to(rewards.dtype)
    tail = torch.zeros_like(rewards) if bootstrap is None else bootstrap * dones.to(rewards.dtype)
    for t in range(rewards.shape[0] - 1, -1, -1):
        next_return = rewards[t] + gamma * (next_return * not_done[t] + tail[t])
        returns[t] = next_return
    return returns


def gae(
    rewards: torch.Tensor,  # [T, N]
    values: torch.Tensor,  # [T + 1, N] each step's observation value, plus the one after the last
    terminations: torch.Tensor,  # [T, N]
    truncations: torch.Tensor,  # [T, N]
    gamma: float,
    gae_lambda: float,
) -> torch.Tensor:
    """Generalised advantage estimation (Schulman et al. 2016), bootstrapping on truncation only.

    delta_t = r_t + gamma * V_{t+1} * (1 - terminated_t) - V_t and
    A_t = delta_t + gamma * lambda * (1 - done_t) * A_{t+1}: a time limit still bootstraps from the
    value of the final observation, but the advantage chain stops at any episode end.
    """
    dtype = rewards.dtype
    next_non_terminal = 1.0 - terminations.to(dtype)
    next_continues = 1.0 - (terminations | truncations).to(dtype)
    deltas = rewards + gamma * values[1:] * next_non_terminal - values[:-1]
    advantages = torch.zeros_like(rewards)
    next_advantage = torch.zeros_like(rewards[0])
    decay = gamma * gae_lambda
    for t in range(rewards.shape[0] - 1, -1, -1):
        next_advantage = deltas[t] + decay * next_continues[t] * next_advantage
        advantages[t] = next_advantage
    return advantages
