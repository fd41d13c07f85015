"""Does fusing the actor's and critic's first layers pay? Acting step and gradient step, timed.

    python benchmarks/fused_layers.py

Actor and critic read the same observation, so their first Linear layers can be one layer of
twice the width. Timed, interleaved, minimum and median over blocks, one torch thread:
- acting on N observations (CartPole zoo shape: 8 x 4, 64x64 tanh): rlcli's torch ``act`` against
  ``acting=numpy`` (numpy copy, first layers fused);
- one forward and backward pass of both networks on a training batch (no loss terms, no optimizer)
  with separate first layers, with the two weights concatenated on the fly, and with one native
  layer of double width, for the CartPole zoo shape (256 x 4, 64x64 tanh) and the HalfCheetah shape
  (64 x 17, 256x256 ReLU).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import gymnasium as gym
import torch
import torch.nn.functional as F

from rlcli.networks import ActorCritic
from rlcli.numpy_acting import NumpyActingPolicy

BLOCKS = 15


def timed(functions: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """Microseconds per call of each function, one sample per block, blocks interleaved."""
    samples: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(BLOCKS):
        for name, function in functions.items():
            started = time.perf_counter()
            for _ in range(repeats):
                function()
            samples[name].append((time.perf_counter() - started) / repeats * 1e6)
    return samples


def show(title: str, samples: dict[str, list[float]]) -> None:
    print(f"\n{title}")
    baseline = min(next(iter(samples.values())))
    for name, values in samples.items():
        best = min(values)
        print(
            f"  {name:<28} min {best:8.1f} us  median {statistics.median(values):8.1f} us  "
            f"min vs first {best / baseline:.2f}x"
        )


def acting() -> None:
    """One acting step on 8 CartPole observations: torch network against the numpy copy."""
    torch.manual_seed(0)
    agent = ActorCritic(gym.spaces.Box(-1, 1, (4,)), gym.spaces.Discrete(2), [64, 64], "tanh", True)
    observations = torch.randn(8, 4)
    array = observations.numpy()
    policy = NumpyActingPolicy(agent)

    def torch_act() -> object:
        with torch.inference_mode():
            return agent.act(observations)

    functions = {"torch act": torch_act, "numpy, first layers fused": lambda: policy.act(array)}
    show(
        "acting, 8 observations, 64x64 tanh (actions, log-probabilities, values)",
        timed(functions, 2000),
    )


def gradient_step(batch: int, inputs: int, width: int, activation: str) -> None:
    """Forward and backward of actor and critic: separate, concatenated, native fused layer."""
    act = torch.tanh if activation == "tanh" else torch.relu
    torch.manual_seed(0)

    def parameter(*shape: int) -> torch.Tensor:
        return (torch.randn(*shape) * 0.1).requires_grad_()

    observations = torch.randn(batch, inputs)
    actor_first, critic_first = parameter(width, inputs), parameter(width, inputs)
    actor_bias, critic_bias = parameter(width), parameter(width)
    fused_first, fused_bias = parameter(2 * width, inputs), parameter(2 * width)
    actor_second, critic_second = parameter(width, width), parameter(width, width)
    actor_out, critic_out = parameter(2, width), parameter(1, width)

    def rest(actor_hidden: torch.Tensor, critic_hidden: torch.Tensor) -> torch.Tensor:
        actor = act(F.linear(actor_hidden, actor_second))
        critic = act(F.linear(critic_hidden, critic_second))
        return F.linear(actor, actor_out).sum() + F.linear(critic, critic_out).sum()

    def separate() -> None:
        actor = act(F.linear(observations, actor_first, actor_bias))
        critic = act(F.linear(observations, critic_first, critic_bias))
        rest(actor, critic).backward()

    def concatenated() -> None:
        weight = torch.cat([actor_first, critic_first])
        hidden = act(F.linear(observations, weight, torch.cat([actor_bias, critic_bias])))
        rest(hidden[:, :width], hidden[:, width:]).backward()

    def native() -> None:
        hidden = act(F.linear(observations, fused_first, fused_bias))
        rest(hidden[:, :width], hidden[:, width:]).backward()

    show(
        f"forward + backward, batch {batch} x {inputs}, {width}x{width} {activation}",
        timed(
            {
                "separate first layers": separate,
                "concatenated on the fly": concatenated,
                "one layer of double width": native,
            },
            200,
        ),
    )


def main() -> None:
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, one thread, {BLOCKS} interleaved blocks")
    acting()
    gradient_step(256, 4, 64, "tanh")
    gradient_step(64, 17, 256, "relu")


if __name__ == "__main__":
    main()
