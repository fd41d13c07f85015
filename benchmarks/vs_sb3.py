"""rlcli vs Stable-Baselines3 on the same work: throughput, time to threshold, peak memory.

    pip install -e ".[bench]"
    python benchmarks/vs_sb3.py                      # every case, 3 seeds
    python benchmarks/vs_sb3.py --cases cartpole_zoo --seeds 0

Each (case, seed) trains rlcli and SB3 one after the other (alternating, rlcli first on even seeds),
each in a fresh subprocess so peak resident memory is that run's own. Both use one torch thread,
the same hyperparameters, network (64x64 tanh, orthogonal init) and number of envs. SB3 steps
gymnasium envs through its DummyVecEnv; rlcli through gymnasium's vector env (numpy-vectorised
where the env provides it, which is what a user of each tool gets). Evaluation (10 deterministic
episodes every ``eval_every`` steps) is excluded from both clocks. Ratios are medians of the
per-seed rlcli/SB3 pairs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any


@dataclass
class Case:
    """One benchmark workload, stated once for both implementations."""

    env_id: str
    num_envs: int
    total_steps: int
    threshold: float | None
    eval_every: int
    rlcli: list[str]  # overrides on top of `algo=ppo env=<preset or generic>`
    sb3: dict[str, Any]  # PPO keyword arguments
    normalize: bool = False
    schedules: list[str] = field(default_factory=list)  # SB3 args that decay linearly
    mujoco_policy: bool = False  # SB3: zoo_mujoco_policy(); else 64x64 tanh, orthogonal init
    atari: bool = False  # SB3: make_atari_env + 4-frame stack + CnnPolicy


def zoo_mujoco_policy() -> dict[str, Any]:
    """RL Zoo's MuJoCo policy: 256x256 ReLU actor and critic, default init, log-std -2."""
    from torch import nn

    return dict(
        log_std_init=-2,
        ortho_init=False,
        activation_fn=nn.ReLU,
        net_arch=dict(pi=[256, 256], vf=[256, 256]),
    )


CASES: dict[str, Case] = {
    # RL Zoo's CartPole-v1 preset (rlcli ships it as configs/tuned/ppo_CartPole-v1.yaml).
    "cartpole_zoo": Case(
        "CartPole-v1",
        8,
        100_000,
        475.0,
        5_120,
        ["env=CartPole-v1", "algo.clip_vloss=false"],
        dict(
            n_steps=32,
            batch_size=256,
            n_epochs=20,
            gae_lambda=0.8,
            gamma=0.98,
            learning_rate=1e-3,
            clip_range=0.2,
            ent_coef=0.0,
        ),
        schedules=["learning_rate", "clip_range"],
    ),
    # CleanRL ppo.py defaults.
    "cartpole_cleanrl": Case(
        "CartPole-v1",
        4,
        100_000,
        475.0,
        5_120,
        [
            "env=generic",
            "env.id=CartPole-v1",
            "env.num_envs=4",
            "algo.num_steps=128",
            "algo.num_minibatches=4",
            "algo.update_epochs=4",
            "algo.learning_rate=2.5e-4",
            "algo.anneal_lr=true",
            "algo.ent_coef=0.01",
            "algo.clip_vloss=true",
        ],
        dict(
            n_steps=128,
            batch_size=128,
            n_epochs=4,
            gae_lambda=0.95,
            gamma=0.99,
            learning_rate=2.5e-4,
            clip_range=0.2,
            clip_range_vf=0.2,
            ent_coef=0.01,
        ),
        schedules=["learning_rate"],
    ),
    # RL Zoo's LunarLander preset: 16 envs, env-bound. Throughput only.
    "lunarlander": Case(
        "LunarLander-v3",
        16,
        65_536,
        None,
        0,
        ["env=LunarLander-v3", "algo.clip_vloss=false"],
        dict(
            n_steps=1024,
            batch_size=64,
            n_epochs=4,
            gae_lambda=0.98,
            gamma=0.999,
            learning_rate=3e-4,
            clip_range=0.2,
            ent_coef=0.01,
        ),
    ),
    # Continuous control with observation and reward normalisation. Throughput only.
    "pendulum": Case(
        "Pendulum-v1",
        4,
        40_960,
        None,
        0,
        ["env=Pendulum-v1", "algo.clip_vloss=false"],
        dict(
            n_steps=1024,
            batch_size=64,
            n_epochs=10,
            gae_lambda=0.95,
            gamma=0.9,
            learning_rate=1e-3,
            clip_range=0.2,
            ent_coef=0.0,
        ),
        normalize=True,
    ),
    # RL Zoo's tuned HalfCheetah (configs/tuned/ppo_HalfCheetah-v5.yaml): 1 env, 256x256 ReLU,
    # 20 epochs of minibatches of 64 over 512 steps, normalised. Throughput only (needs "mujoco").
    "halfcheetah": Case(
        "HalfCheetah-v5",
        1,
        20_480,
        None,
        0,
        ["env=HalfCheetah-v5"],
        dict(
            n_steps=512,
            batch_size=64,
            n_epochs=20,
            gae_lambda=0.92,
            gamma=0.98,
            learning_rate=2.0633e-05,
            clip_range=0.1,
            ent_coef=0.000401762,
            max_grad_norm=0.8,
            vf_coef=0.58096,
        ),
        normalize=True,
        mujoco_policy=True,
    ),
    # PPO on Breakout from pixels (configs/tuned/ppo_Breakout-v5.yaml): 8 envs x 128 steps,
    # Nature CNN, 4 epochs of 4 minibatches. Throughput only (needs "atari").
    "breakout": Case(
        "ALE/Breakout-v5",
        8,
        8_192,
        None,
        0,
        ["env=Breakout-v5"],
        dict(
            n_steps=128,
            batch_size=256,
            n_epochs=4,
            gae_lambda=0.95,
            gamma=0.99,
            learning_rate=2.5e-4,
            clip_range=0.1,
            ent_coef=0.01,
            vf_coef=0.5,
        ),
        schedules=["learning_rate", "clip_range"],
        atari=True,
    ),
}


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_rlcli(case: Case, seed: int, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """Train with rlcli's library entry point, as `rlcli train` does (``extra``: more overrides)."""
    from hydra import compose, initialize_config_module

    from rlcli.build import settings_from_config, train
    from rlcli.config import register_configs

    register_configs()
    overrides = [
        "algo=ppo",
        *case.rlcli,
        f"seed={seed}",
        f"total_timesteps={case.total_steps}",
        f"eval.every_steps={case.eval_every}",
        "eval.episodes=10",
        "progress=none",
        "torch_threads=1",
        "checkpoint_every_steps=0",
        "stop_when_solved=false",  # the CartPole preset stops at 500; here runs take the budget
        f"device={DEVICE}",
        *extra,
    ]
    if case.threshold is not None:
        overrides.append(f"env.reward_threshold={case.threshold}")
    with initialize_config_module(config_module="rlcli.configs", version_base="1.3"):
        config = settings_from_config(compose(config_name="train", overrides=overrides))
    with tempfile.TemporaryDirectory() as run_dir:
        summary = train(config, Path(run_dir))
    solved = case.threshold is not None  # throughput-only cases report no time to threshold
    return {
        "sps": summary.sps,
        "solved_seconds": summary.first_solved_seconds if solved else None,
        "solved_step": summary.first_solved_step if solved else None,
        "final_eval": summary.final_eval_mean_return,
    }


def run_sb3(case: Case, seed: int) -> dict[str, Any]:
    """Train SB3's PPO on the same case, with an evaluation callback off the clock."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.vec_env import VecNormalize

    torch.set_num_threads(1)
    policy, policy_kwargs = "MlpPolicy", dict(net_arch=[64, 64], activation_fn=torch.nn.Tanh)
    if case.atari:
        envs = sb3_atari_envs(case, seed)
        policy, policy_kwargs = "CnnPolicy", {}
    else:
        envs = make_vec_env(case.env_id, n_envs=case.num_envs, seed=seed)
    if case.mujoco_policy:
        policy_kwargs = zoo_mujoco_policy()
    if case.normalize:
        envs = VecNormalize(envs, gamma=case.sb3["gamma"])
    kwargs = dict(case.sb3)
    for name in case.schedules:
        start = kwargs[name]
        kwargs[name] = lambda remaining, start=start: start * remaining
    model = PPO(policy, envs, seed=seed, device=DEVICE, policy_kwargs=policy_kwargs, **kwargs)
    record: dict[str, Any] = {"eval_seconds": 0.0, "solved_seconds": None, "solved_step": None}

    class Evaluate(BaseCallback):
        def _on_training_start(self) -> None:
            self.started = time.perf_counter()
            self.next_eval = case.eval_every

        def _on_step(self) -> bool:
            if not case.eval_every or self.num_timesteps < self.next_eval:
                return True
            self.next_eval += case.eval_every
            eval_started = time.perf_counter()
            eval_env = make_vec_env(case.env_id, n_envs=1, seed=seed + 10_000)
            mean, _ = evaluate_policy(self.model, eval_env, n_eval_episodes=10, deterministic=True)
            record["eval_seconds"] += time.perf_counter() - eval_started
            if record["solved_step"] is None and mean >= case.threshold:
                record["solved_step"] = self.num_timesteps
                record["solved_seconds"] = (
                    time.perf_counter() - self.started - record["eval_seconds"]
                )
            return True

    started = time.perf_counter()
    model.learn(total_timesteps=case.total_steps, callback=Evaluate())
    seconds = time.perf_counter() - started - record["eval_seconds"]
    return {
        "sps": model.num_timesteps / seconds,
        "solved_seconds": record["solved_seconds"],
        "solved_step": record["solved_step"],
    }


def sb3_atari_envs(case: Case, seed: int) -> Any:
    """SB3's Atari pipeline on the same game: AtariWrapper (no-ops, skip 4, life loss, 84x84 grey,
    clipped rewards) over the ALE env without its own frame skip, then a 4-frame stack."""
    import ale_py
    import gymnasium
    from stable_baselines3.common.env_util import make_atari_env
    from stable_baselines3.common.vec_env import VecFrameStack

    gymnasium.register_envs(ale_py)
    envs = make_atari_env(case.env_id, case.num_envs, seed, env_kwargs={"frameskip": 1})
    return VecFrameStack(envs, n_stack=4)


def run_random(case: Case, seed: int) -> dict[str, Any]:
    """The ceiling: random actions through rlcli's vector env, no learning."""
    from rlcli.envs import make_vector_env

    envs = make_vector_env(case.env_id, case.num_envs)
    envs.reset(seed=seed)
    envs.action_space.seed(seed)
    steps = max(case.total_steps // 4, 10_000) // case.num_envs
    started = time.perf_counter()
    for _ in range(steps):
        envs.step(envs.action_space.sample())
    return {"sps": steps * case.num_envs / (time.perf_counter() - started)}


WORKERS = {"sb3": run_sb3, "random": run_random}
"""Workers besides rlcli's; ``rlcli k=v ...`` runs rlcli with those settings (``compile=true``
counts its compile time, cold or from inductor's on-disk cache, inside the training clock)."""
DEVICE = os.environ.get("RLCLI_BENCH_DEVICE", "cpu")
"""cpu, or cuda for both tools (benchmarks/gpu_check.sh sets it)."""


SCALE_VARIABLE = "RLCLI_BENCH_SCALE"
"""The workers read ``--scale`` from this environment variable."""


def worker(implementation: str, case_name: str, seed: int) -> None:
    """Subprocess body: run one implementation on one case and print a JSON line."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    case = CASES[case_name]
    scaled = round(case.total_steps * float(os.environ.get(SCALE_VARIABLE, "1")))
    scaled_case = replace(case, total_steps=scaled)
    if implementation.startswith("rlcli"):
        result = run_rlcli(scaled_case, seed, tuple(implementation.split()[1:]))
    else:
        result = WORKERS[implementation](scaled_case, seed)
    result["peak_rss_mb"] = peak_rss_mb()
    print("RESULT " + json.dumps(result))


def launch(implementation: str, case_name: str, seed: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--worker", implementation, case_name, str(seed)]
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:  # show why the worker failed before stopping
        sys.stderr.write(completed.stderr[-4000:])
        completed.check_returncode()
    line = next(line for line in completed.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


def median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def fmt(value: float | None, spec: str = ",.0f") -> str:
    return "-" if value is None else format(value, spec)


def report(case_name: str, runs: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Markdown rows for one case: each implementation, then the rlcli/SB3 ratios."""
    rows = []
    for implementation, results in runs.items():
        solved = [r.get("solved_seconds") for r in results]
        rows.append(
            f"| {case_name} | {implementation} | {fmt(median([r['sps'] for r in results]))} | "
            f"{fmt(median(solved), '.1f')} ({sum(s is not None for s in solved)}/{len(solved)}) | "
            f"{fmt(median([r.get('solved_step') for r in results]))} | "
            f"{fmt(median([r['peak_rss_mb'] for r in results]))} |"
        )
    for implementation in [name for name in runs if name.startswith("rlcli")]:
        rows.append(ratio_row(case_name, implementation, runs[implementation], runs["sb3"]))
    return rows


def ratio_row(
    case_name: str, implementation: str, ours: list[dict[str, Any]], sb3: list[dict[str, Any]]
) -> str:
    """The medians of the per-seed ours/SB3 ratios: steps/s, time to threshold, peak memory."""
    pairs = list(zip(ours, sb3, strict=True))
    sps_ratio = median([a["sps"] / b["sps"] for a, b in pairs])
    solved_pairs = [(a, b) for a, b in pairs if a["solved_seconds"] and b["solved_seconds"]]
    time_ratio = median([a["solved_seconds"] / b["solved_seconds"] for a, b in solved_pairs])
    memory_ratio = median([a["peak_rss_mb"] / b["peak_rss_mb"] for a, b in pairs])
    return (
        f"| {case_name} | **{implementation} / SB3** | **{fmt(sps_ratio, '.2f')}x** | "
        f"**{fmt(time_ratio, '.2f')}x** | | **{fmt(memory_ratio, '.2f')}x** |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--worker", nargs=3, metavar=("IMPL", "CASE", "SEED"))
    parser.add_argument(
        "--compiled", action="store_true", help="also run rlcli with compile=true, interleaved"
    )
    parser.add_argument(
        "--variants",
        nargs="+",
        default=[],
        metavar="SETTINGS",
        help="also run rlcli with these settings, interleaved: e.g. acting=numpy "
        "'acting=numpy compile=true'",
    )
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiply every case's step budget (e.g. 0.5)"
    )
    arguments = parser.parse_args()
    if arguments.worker:
        implementation, case_name, seed = arguments.worker
        worker(implementation, case_name, int(seed))
        return
    os.environ[SCALE_VARIABLE] = str(arguments.scale)
    import gymnasium
    import stable_baselines3
    import torch

    import rlcli

    print(
        f"rlcli {rlcli.__version__}, stable-baselines3 {stable_baselines3.__version__}, "
        f"torch {torch.__version__}, gymnasium {gymnasium.__version__}, "
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, device {DEVICE}, "
        f"load average {' '.join(f'{load:.2f}' for load in os.getloadavg())}"
    )
    lines = [
        "| case | impl | train steps/s | s to eval >= 475 (solved) | steps then | peak RSS MiB |",
        "|---|---|---|---|---|---|",
    ]
    for case_name in arguments.cases:
        variants = (["compile=true"] if arguments.compiled else []) + arguments.variants
        names = ["rlcli", *(f"rlcli {variant}" for variant in variants), "sb3"]
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
        for seed in arguments.seeds:
            order = names if seed % 2 == 0 else names[::-1]
            for implementation in order:
                result = launch(implementation, case_name, seed)
                runs[implementation].append(result)
                print(
                    f"  {case_name} seed {seed} {implementation}: {json.dumps(result)}", flush=True
                )
        runs["random actions (env ceiling)"] = [launch("random", case_name, 0)]
        lines += report(case_name, runs)
        print(f"  load average after {case_name}: {os.getloadavg()}", flush=True)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
