"""How long the classic REINFORCE recipe takes to stop on CartPole-v1, next to the tuned pg preset:
both stop when the running return of their training episodes (weight 0.05 per episode) exceeds
475, and the table gives the episodes and env steps that took (docs/results.md).

    python benchmarks/reinforce_classic.py --seeds 0 1 2 3 4 --jobs 2

Runs land in outputs/reinforce_classic/; a finished run is not trained again.
"""

from __future__ import annotations

import argparse
import statistics
from functools import partial
from pathlib import Path

from presets import train, train_all  # benchmarks/presets.py, beside this script

RECIPES = {
    "classic": ["preset=reinforce_classic"],
    # The tuned preset (4 envs x 500 steps per update, standardised returns) with the same stop;
    # its own 300k budget is raised so the stop, not the budget, ends it.
    "tuned": ["stop_when_running_return_solved=true", "total_timesteps=2000000"],
}


def row(recipe: str, runs: list[dict]) -> str:
    """One markdown row: per seed and median episodes and steps to the stop."""
    stopped = [r for r in runs if r["running_return"] is not None and r["running_return"] > 475]
    episodes = [r["episodes"] for r in runs]
    steps = [r["global_step"] for r in runs]
    finals = [r["final_eval_mean_return"] for r in runs]
    return (
        f"| {recipe} | {len(stopped)}/{len(runs)} | {statistics.median(episodes):,.0f} | "
        f"{', '.join(f'{e:,}' for e in episodes)} | {statistics.median(steps):,.0f} | "
        f"{', '.join(f'{s:,}' for s in steps)} | "
        f"{statistics.median(r['wall_seconds'] for r in runs):.0f} | "
        f"{', '.join(f'{final:.0f}' for final in finals)} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--root", type=Path, default=Path("outputs/reinforce_classic"))
    arguments = parser.parse_args()
    jobs = [(recipe, seed) for recipe in arguments.recipes for seed in arguments.seeds]
    runs = [
        partial(train, "pg:CartPole-v1", seed, arguments.root, RECIPES[recipe], recipe)
        for recipe, seed in jobs
    ]
    summaries = train_all(runs, arguments.jobs)
    print(
        "| recipe | stopped | episodes (median) | episodes per seed | steps (median) "
        "| steps per seed | wall s (median) | final eval per seed |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for recipe in arguments.recipes:
        print(row(recipe, [s for (r, _), s in zip(jobs, summaries, strict=True) if r == recipe]))


if __name__ == "__main__":
    main()
