"""Train the shipped tuned presets for several seeds and print the results table of docs/results.md.

    python benchmarks/presets.py                       # every pair below, seeds 0 1 2
    python benchmarks/presets.py --pairs ppo:CartPole-v1 --seeds 0 --jobs 2

Each run is a plain `rlcli train algo=A env=E seed=S` (the preset's own budget) in its own process;
``--jobs`` runs that many at once (one torch thread each). Runs land in outputs/presets/.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

# (algo, env): the reference return a published implementation reaches, and its step budget
PAIRS = {
    "ppo:CartPole-v1": ">= 500 within 100k",
    "ppo:Acrobot-v1": ">= -90 within 500k",
    "ppo:MountainCar-v0": ">= -120 within 1M",
    "ppo:LunarLander-v3": ">= 200 within 1M",
    "ppo:Pendulum-v1": ">= -250 within 200k",
    "ppo:MountainCarContinuous-v0": ">= 90",
    "pg:CartPole-v1": "(report)",
    "pg:LunarLander-v3": "(report)",
    # MuJoCo (extra "mujoco"); references at 1M steps.
    "ppo:HalfCheetah-v5": ">= 3000 at 1M",
    "ppo:Walker2d-v5": ">= 3000 at 1M",
    "ppo:Hopper-v5": ">= 2200 at 1M",
    "ppo:Ant-v5": ">= 1500 at 1M",
    "pg:HalfCheetah-v5": "(report)",
    "pg:Hopper-v5": "(report)",
}


def train(
    pair: str, seed: int, root: Path, overrides: Sequence[str] = (), name: str | None = None
) -> dict:
    """One run of ``rlcli train algo=A env=E seed=S <overrides>`` into ``root/<name>_seed<S>``
    (a finished one is not trained again); its summary."""
    algo, env = pair.split(":")
    run_dir = root / f"{name or f'{algo}_{env}'}_seed{seed}"
    if not (run_dir / "summary.json").is_file():
        command = [sys.executable, "-m", "rlcli.cli", "train", f"algo={algo}", f"env={env}"]
        command += [*overrides, f"seed={seed}", "progress=none", f"hydra.run.dir={run_dir}"]
        subprocess.run(command, check=True, capture_output=True)
    return json.loads((run_dir / "summary.json").read_text())


def train_all(jobs: Sequence[Callable[[], dict]], workers: int) -> list[dict]:
    """Run the jobs, ``workers`` at a time; their summaries in order."""
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda job: job(), jobs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", nargs="+", default=list(PAIRS), choices=list(PAIRS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--root", type=Path, default=Path("outputs/presets"))
    arguments = parser.parse_args()
    jobs = [(pair, seed) for pair in arguments.pairs for seed in arguments.seeds]
    runs = [partial(train, pair, seed, arguments.root) for pair, seed in jobs]
    summaries = train_all(runs, arguments.jobs)
    columns = "algo | env | reference | final eval mean +- std | per seed | steps | wall s"
    print(f"| {columns} | first solved |")
    print("|---|---|---|---|---|---|---|---|")
    for pair in arguments.pairs:
        runs = [s for (p, _), s in zip(jobs, summaries, strict=True) if p == pair]
        finals = [r["final_eval_mean_return"] for r in runs]
        spread = statistics.stdev(finals) if len(finals) > 1 else 0.0
        solved = [r["first_solved_step"] for r in runs]
        steps = ", ".join(f"{r['global_step']:,}" for r in runs)
        algo, env = pair.split(":")
        print(
            f"| {algo} | {env} | {PAIRS[pair]} | {statistics.mean(finals):.1f} +- {spread:.1f} | "
            f"{', '.join(f'{f:.0f}' for f in finals)} | {steps} | "
            f"{statistics.mean(r['wall_seconds'] for r in runs):.0f} | "
            f"{', '.join('-' if s is None else f'{s:,}' for s in solved)} |"
        )


if __name__ == "__main__":
    main()
