"""Env steps/s of rlcli's training vector env, sync vs async (one worker process per env copy).

    python benchmarks/async_scaling.py                                   # 1, 2, 4 copies
    python benchmarks/async_scaling.py --envs HalfCheetah-v5 ALE/Breakout-v5 --copies 1 2 4 8 16

Random actions, no learning: what ``env.vectorization`` changes, and how stepping scales with
cores. Each row steps for ``--seconds`` after 20 warm-up steps.
"""

from __future__ import annotations

import argparse
import os
import time

from rlcli.envs import make_vector_env


def steps_per_second(env_id: str, copies: int, vectorization: str, seconds: float) -> float:
    """Env steps/s (summed over copies) of random actions."""
    envs = make_vector_env(env_id, copies, vectorization=vectorization)
    envs.reset(seed=0)
    envs.action_space.seed(0)
    for _ in range(20):
        envs.step(envs.action_space.sample())
    steps, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        envs.step(envs.action_space.sample())
        steps += copies
    rate = steps / (time.perf_counter() - started)
    envs.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", nargs="+", default=["HalfCheetah-v5", "ALE/Breakout-v5"])
    parser.add_argument("--copies", nargs="+", type=int, default=[1, 2, 4])
    parser.add_argument("--seconds", type=float, default=5.0)
    arguments = parser.parse_args()
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    print(f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("| env | copies | sync steps/s | async steps/s | async/sync |")
    print("|---|---|---|---|---|")
    for env_id in arguments.envs:
        for copies in arguments.copies:
            sync = steps_per_second(env_id, copies, "sync", arguments.seconds)
            workers = steps_per_second(env_id, copies, "async", arguments.seconds)
            print(
                f"| {env_id} | {copies} | {sync:,.0f} | {workers:,.0f} | {workers / sync:.2f}x |",
                flush=True,
            )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
