"""Run the RLHF pipeline for several envs and seeds and print one table of true returns.

    python benchmarks/rlhf.py --envs Pendulum-v1 CartPole-v1 --seeds 0 1 2 --jobs 2
    python benchmarks/rlhf.py --overhead        # reward model + KL cost per env step (CartPole)
    python benchmarks/rlhf.py --envs CartPole-v1 --seeds 0 1 2 --root outputs/rlhf-kl \
        --set "rl_overrides=[total_timesteps=100000,stop_when_solved=false,rlhf.label_budget=200,\
rlhf.label_every_steps=5000,rlhf.kl_coef=0.05,rlhf.kl_target=0.2,rlhf.reward_scale=0.1,\
algo.gamma=0.99,algo.gae_lambda=0.95]"          # rl_overrides replaces the preset's whole list

Each pipeline is a plain ``rlcli rlhf env=E seed=S out=outputs/rlhf-bench/E_seedS`` in its own
process; a re-run reuses finished stages. The table gives mean +- std over seeds of each stage's
final 10-episode evaluation on the env's true reward, with labels used and the final KL
(rlhf/kl_average, the per-rollout KL averaged over recent rollouts).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

STAGES = ("demonstrator", "sft", "rlhf", "control", "ppo_true_reward")


def run_pipeline(env: str, seed: int, root: Path, extra: list[str]) -> Path:
    """One ``rlcli rlhf`` pipeline (``extra``: more key=value arguments); returns its
    directory."""
    out = root / f"{env}_seed{seed}"
    command = [
        sys.executable,
        "-m",
        "rlcli.cli",
        "rlhf",
        f"env={env}",
        f"seed={seed}",
        f"out={out}",
        *extra,
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    return out


def summaries(out: Path) -> dict[str, dict]:
    """Each stage's summary.json in a pipeline directory."""
    found = {}
    for stage in STAGES:
        path = out / stage / "summary.json"
        if path.is_file():
            found[stage] = json.loads(path.read_text())
    return found


def spread(values: list[float]) -> str:
    """mean +- std (n) of ``values``."""
    if not values:
        return "-"
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):,.1f} +- {std:,.1f} (n={len(values)})"


def table(results: dict[str, list[Path]]) -> str:
    """Markdown table: env, stage, true return, labels, final KL."""
    lines = ["| env | stage | final eval return | labels | final KL |", "|---|---|---|---|---|"]
    for env, dirs in results.items():
        runs = [summaries(d) for d in dirs]
        for stage in STAGES:
            done = [r[stage] for r in runs if stage in r]
            if not done:
                continue
            labels = [s["final_rlhf_labels"] for s in done if "final_rlhf_labels" in s]
            kl = [s["final_rlhf_kl_average"] for s in done if "final_rlhf_kl_average" in s]
            lines.append(
                f"| {env} | {stage} | {spread([s['final_eval_mean_return'] for s in done])} | "
                f"{spread(labels) if labels else '-'} | {spread(kl) if kl else '-'} |"
            )
    return "\n".join(lines)


def overhead(repeats: int = 3) -> None:
    """PPO CartPole steps/s on the env reward vs. a frozen reward model with a KL term,
    interleaved ``repeats`` times; prints the medians and their ratio."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        out = run_pipeline_for_overhead(root)
        common = ["algo=ppo", "env=CartPole-v1", "total_timesteps=50000", "stop_when_solved=false"]
        learned = [
            "rlhf.enabled=true",
            "rlhf.online=false",
            f"rlhf.reward_model={out / 'reward_model'}",
            f"rlhf.reference={out / 'sft'}",
        ]
        variants = {"env reward": [], "reward model + KL": learned}
        rates: dict[str, list[float]] = {name: [] for name in variants}
        for repeat in range(repeats):
            for name, extra in variants.items():
                run_dir = root / f"{name.replace(' ', '_')}_{repeat}"
                command = [sys.executable, "-m", "rlcli.cli", "train", *common, *extra]
                command += ["progress=none", f"hydra.run.dir={run_dir}"]
                subprocess.run(command, check=True, capture_output=True)
                rates[name].append(json.loads((run_dir / "summary.json").read_text())["sps"])
                print(f"{name:>18}: {rates[name][-1]:8,.0f} training steps/s", flush=True)
        medians = {name: statistics.median(values) for name, values in rates.items()}
        for name, value in medians.items():
            print(f"median {name:>18}: {value:8,.0f} training steps/s over {repeats} runs")
        extra_time = medians["env reward"] / medians["reward model + KL"] - 1
        print(f"time per env step added by the reward model and the KL term: {extra_time:+.1%}")


def run_pipeline_for_overhead(root: Path) -> Path:
    """A pipeline with only the stages the overhead run needs (no RL stages)."""
    out = root / "pipeline"
    command = [
        sys.executable,
        "-m",
        "rlcli.cli",
        "rlhf",
        "env=CartPole-v1",
        f"out={out}",
        "rl_overrides=[total_timesteps=256,algo.num_steps=32]",
        "control=false",
        "true_reward_baseline=false",
    ]
    subprocess.run(command, check=True, capture_output=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", nargs="+", default=["Pendulum-v1", "CartPole-v1"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--root", type=Path, default=Path("outputs/rlhf-bench"))
    parser.add_argument("--overhead", action="store_true")
    parser.add_argument(
        "--set", nargs="*", default=[], help="more rlcli rlhf key=value arguments, every pipeline"
    )
    arguments = parser.parse_args()
    if arguments.overhead:
        overhead()
        return
    cases = [(env, seed) for env in arguments.envs for seed in arguments.seeds]
    with ThreadPoolExecutor(arguments.jobs) as pool:
        dirs = list(
            pool.map(lambda case: run_pipeline(*case, arguments.root, arguments.set), cases)
        )
    results: dict[str, list[Path]] = {}
    for (env, _), out in zip(cases, dirs, strict=True):
        results.setdefault(env, []).append(out)
    print(table(results))


if __name__ == "__main__":
    main()
