"""The fastest any eager-PyTorch PPO can train the CartPole speed cases on this machine, and the
same floor with the networks' forward and backward pass under torch.compile.

    python benchmarks/pytorch_floor.py

Times only the work no implementation can skip, with nothing of rlcli: per gradient step the
forward and backward pass of the 64x64 tanh actor and critic on one minibatch (no loss terms, no
optimizer), per env step one forward pass of both networks and one step of gymnasium's vectorised
CartPole (no sampling, no storage). Their sum per iteration bounds the training steps/s from
above; dividing by SB3's measured steps/s (docs/performance.md) bounds the reachable ratio. The
compiled floor is the same work with the gradient step's forward pass compiled (its backward
compiled with it; compile time not counted), acting eager as before.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import gymnasium as gym
import torch
from torch import nn
from vs_sb3 import CASES


@dataclass(frozen=True)
class FloorCase:
    """One benchmark case's shape: what an iteration must compute."""

    name: str
    num_envs: int
    num_steps: int
    minibatch_size: int
    gradient_steps: int  # epochs x minibatches per iteration


def floor_case(name: str) -> FloorCase:
    """The shape of vs_sb3.py's case ``name``, read from its SB3 arguments (one table for both)."""
    case = CASES[name]
    num_steps, minibatch_size = case.sb3["n_steps"], case.sb3["batch_size"]
    minibatches = -(-case.num_envs * num_steps // minibatch_size)
    return FloorCase(
        name, case.num_envs, num_steps, minibatch_size, case.sb3["n_epochs"] * minibatches
    )


def mlp(outputs: int) -> nn.Sequential:
    """CartPole's 64x64 tanh network."""
    return nn.Sequential(
        nn.Linear(4, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, outputs)
    )


def seconds_per_call(function, calls: int, repeats: int = 3) -> float:
    """Best of ``repeats`` timings of ``calls`` calls, after a warm-up."""
    for _ in range(calls // 10):
        function()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            function()
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def gradient_step_seconds(
    actor: nn.Module, critic: nn.Module, batch_size: int, compiled: bool = False
) -> float:
    """Forward + backward of both networks on one minibatch (``compiled``: under torch.compile)."""
    observations = torch.randn(batch_size, 4)

    def forward(observations: torch.Tensor) -> torch.Tensor:
        return actor(observations).sum() + critic(observations).sum()

    forward_pass = torch.compile(forward) if compiled else forward

    def step() -> None:
        forward_pass(observations).backward()

    return seconds_per_call(step, 1000)


def env_step_seconds(actor: nn.Module, critic: nn.Module, num_envs: int) -> float:
    """One acting step: both networks' forward pass and one vector-env step."""
    envs = gym.make_vec("CartPole-v1", num_envs, vectorization_mode="vector_entry_point")
    observations, _ = envs.reset(seed=0)
    state = {"observations": torch.from_numpy(observations)}

    def step() -> None:
        with torch.inference_mode():
            actions = actor(state["observations"]).argmax(-1)
            critic(state["observations"])
        next_observations, *_ = envs.step(actions.numpy())
        state["observations"] = torch.from_numpy(next_observations)

    seconds = seconds_per_call(step, 3000)
    envs.close()
    return seconds


def main() -> None:
    torch.set_num_threads(1)
    actor, critic = mlp(2), mlp(1)
    print(
        "| case | update | gradient step ms | env step us | floor ms per iteration "
        "| max train steps/s |"
    )
    print("|---|---|---|---|---|---|")
    for case in (floor_case("cartpole_zoo"), floor_case("cartpole_cleanrl")):
        acting = env_step_seconds(actor, critic, case.num_envs)
        for compiled in (False, True):
            gradient = gradient_step_seconds(actor, critic, case.minibatch_size, compiled)
            iteration = case.gradient_steps * gradient + case.num_steps * acting
            steps = case.num_envs * case.num_steps
            print(
                f"| {case.name} | {'compiled' if compiled else 'eager'} | {gradient * 1e3:.3f} | "
                f"{acting * 1e6:.0f} | {iteration * 1e3:.1f} | {steps / iteration:,.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
