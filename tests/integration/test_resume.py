"""Exact resume, warm start, interrupts, divergence and the eval command."""

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from cli_runs import NORMALISED, SHORT, run_in
from extras import needs_extra
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from rlcli.build import settings_from_dict, train
from rlcli.build.objects import build_training_run
from rlcli.checkpoint import load_checkpoint
from rlcli.errors import TrainingDiverged, TrainingInterrupted, UserError
from rlcli.records import RunSummary
from rlcli.signals import stop_on_signals
from rlcli.train import TrainingRun

RESUME_CASES = [
    ("ppo", ["env=CartPole-v1"]),
    ("pg", ["env=CartPole-v1"]),
    ("ppo", ["env=Pendulum-v1", "env.normalize_observation=true", "env.normalize_reward=true"]),
    ("pg", ["env=Pendulum-v1", "algo.use_baseline=true", "env.normalize_observation=true"]),
    pytest.param(
        "ppo",
        [
            "env=Pendulum-v1",
            "rlhf.enabled=true",
            "rlhf.label_every_steps=256",
            "rlhf.label_budget=30",
            "rlhf.segment_length=10",
        ],
        id="ppo-rlhf-online",
    ),
    # The compiled update (padded minibatches, one graph) resumes bit-identically too.
    pytest.param("ppo", ["env=CartPole-v1", "compile=true"], id="ppo-compiled"),
    pytest.param(
        "ppo",
        [
            "env=Pendulum-v1",
            "env.normalize_observation=true",
            "algo.num_minibatches=4",
            "compile=true",
        ],
        id="ppo-Pendulum-v1-compiled-minibatches",
    ),
    # Numpy acting draws from torch's generator, whose state the checkpoint holds.
    pytest.param("ppo", ["env=CartPole-v1", "acting=numpy"], id="ppo-numpy-acting"),
    pytest.param("ppo", ["env=Pendulum-v1", "acting=numpy"], id="ppo-Pendulum-v1-numpy-acting"),
    # Envs in worker processes: their state goes through AsyncVectorEnv; 106-step episodes put
    # a pending autoreset right at the 640-step stop (320 = 3 x 107 - 1 steps per env).
    pytest.param(
        "ppo",
        ["env=Pendulum-v1", "env.vectorization=async", "env.max_episode_steps=106"],
        id="ppo-Pendulum-v1-async",
    ),
    pytest.param(
        "ppo",
        ["env=Hopper-v5", "algo.num_minibatches=4", "network=small"],
        marks=needs_extra("Hopper-v5"),
        id="ppo-Hopper-v5",
    ),
]


def scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    events.Reload()
    # Sorted by step: a resumed run writes a second event file, and event files written within the
    # same second are read in name order, which need not be the order they were written in.
    return {
        tag: sorted((e.step, e.value) for e in events.Scalars(tag))
        for tag in events.Tags()["scalars"]
        if tag != "charts/SPS"  # wall-clock dependent
    }


# Measured in seconds: the only parts of a checkpoint or summary that differ between two runs.
WALL_CLOCK_COUNTERS = ("training_seconds", "first_solved_seconds")
WALL_CLOCK_SUMMARY = ("wall_seconds", "sps", "first_solved_seconds")


class Crash(Exception):
    """Stands in for a process that dies between two periodic checkpoints (kill -9, power cut)."""


def stop_after(run: TrainingRun, step: int, crash: bool = False) -> None:
    """Make ``run`` request a stop (or crash, saving nothing) once it has trained ``step`` steps."""
    iterate = run.iterate

    def iterate_then_maybe_stop(iteration: int) -> None:
        iterate(iteration)
        if run.counters.global_step >= step:
            if crash:
                raise Crash(f"died at step {step}")
            run.request_stop("SIGINT")

    run.iterate = iterate_then_maybe_stop


def assert_same_state(first: object, second: object, where: str = "checkpoint") -> None:
    """Equal all the way down: tensors bit for bit, numbers exactly, containers key by key."""
    if isinstance(first, dict):
        assert isinstance(second, dict) and sorted(first) == sorted(second), where
        for key in first:
            assert_same_state(first[key], second[key], f"{where}[{key!r}]")
    elif isinstance(first, (list, tuple)):
        assert type(first) is type(second) and len(first) == len(second), where
        for index, (a, b) in enumerate(zip(first, second, strict=True)):
            assert_same_state(a, b, f"{where}[{index}]")
    elif isinstance(first, torch.Tensor):
        assert isinstance(second, torch.Tensor) and first.dtype == second.dtype, where
        assert torch.equal(first, second), where
    else:
        assert type(first) is type(second) and first == second, f"{where}: {first} != {second}"


def assert_same_final_checkpoint(*runs: Path) -> None:
    """The whole final checkpoint (agent, optimizer moments and steps, normalisation statistics,
    collector and env state, RNG states, counters, config) except wall-clock seconds."""
    first, second = (load_checkpoint(run / "checkpoints" / "final.pt") for run in runs)
    for checkpoint in (first, second):
        for name in WALL_CLOCK_COUNTERS:
            checkpoint["counters"].pop(name)
    assert_same_state(first, second)


def assert_same_summary(first: RunSummary | dict, second: RunSummary | dict) -> None:
    """Equal summaries but for wall-clock fields (a summary.json mapping or a RunSummary)."""
    first, second = (s.as_dict() if isinstance(s, RunSummary) else s for s in (first, second))
    drop = lambda summary: {k: v for k, v in summary.items() if k not in WALL_CLOCK_SUMMARY}  # noqa: E731
    assert drop(first) == drop(second)


def resume_in_process(run_dir: Path) -> TrainingRun:
    checkpoint = load_checkpoint(run_dir / "checkpoints" / "latest.pt")
    return build_training_run(settings_from_dict(checkpoint["config"]), run_dir, checkpoint)


@pytest.mark.parametrize("algo, overrides", RESUME_CASES)
def test_stop_and_resume_is_bit_identical_to_one_run(settings, tmp_path, algo, overrides):
    config = settings(
        f"algo={algo}",
        *overrides,
        *SHORT,
        "total_timesteps=1536",
        "checkpoint_every_steps=512",
        "seed=3",
    )
    whole = train(config, tmp_path / "whole")
    split_dir = tmp_path / "split"

    run = build_training_run(config, split_dir)  # Ctrl-C at 640: latest.pt is written there
    stop_after(run, 640)
    with pytest.raises(TrainingInterrupted, match="resume with: rlcli train resume="):
        run.run()
    assert (
        load_checkpoint(split_dir / "checkpoints" / "latest.pt")["counters"]["global_step"] == 640
    )

    # Resumed, then dead at 1152 after logging up to there: the last periodic checkpoint is 1024,
    # so the next resume repeats 1025..1152 and TensorBoard must drop the dead process's points.
    run = resume_in_process(split_dir)
    stop_after(run, 1152, crash=True)
    with pytest.raises(Crash):
        run.run()
    latest = load_checkpoint(split_dir / "checkpoints" / "latest.pt")
    assert latest["counters"]["global_step"] == 1024
    assert max(step for step, _ in scalars(split_dir)["losses/policy_loss"]) == 1152
    split = resume_in_process(split_dir).run()

    assert split.global_step == whole.global_step == 1536
    assert split.exact_resume is True
    assert_same_summary(split, whole)
    assert_same_final_checkpoint(tmp_path / "whole", split_dir)
    logged_whole, logged_split = scalars(tmp_path / "whole"), scalars(split_dir)
    assert logged_split == logged_whole  # same points, no duplicates, nothing reset


def test_whole_episode_batches_resume_bit_identically(settings, tmp_path):
    config = settings(
        "algo=pg",
        "env=CartPole-v1",
        "env.num_envs=1",
        "algo.num_steps=600",
        "algo.episodes_per_update=1",
        "total_timesteps=1500",
        "checkpoint_every_steps=400",
        "eval.every_steps=500",
        "eval.episodes=2",
        "seed=3",
    )
    whole = train(config, tmp_path / "whole")
    run = build_training_run(config, tmp_path / "split")
    stop_after(run, 700)  # iterations vary in length: it stops at the first one past 700
    with pytest.raises(TrainingInterrupted):
        run.run()
    split = resume_in_process(tmp_path / "split").run()
    assert split.iterations == whole.iterations > 10 and split.exact_resume is True
    assert_same_summary(split, whole)
    assert_same_final_checkpoint(tmp_path / "whole", tmp_path / "split")
    assert scalars(tmp_path / "split") == scalars(tmp_path / "whole")


def test_resume_of_an_env_without_savable_state_resets_envs(settings, tmp_path, caplog):
    config = settings(
        "env=LunarLander-v3",
        "env.num_envs=2",
        "algo.num_steps=32",
        "algo.num_minibatches=4",
        "total_timesteps=256",
    )
    run = build_training_run(config, tmp_path / "first")
    stop_after(run, 64)
    with pytest.raises(TrainingInterrupted):
        run.run()
    checkpoint = load_checkpoint(tmp_path / "first" / "checkpoints" / "latest.pt")
    assert checkpoint["collector"]["envs"] is None
    shutil.copytree(tmp_path / "first", tmp_path / "again")
    summaries = []
    for name in ("first", "again"):  # resuming is repeatable: fresh resets seeded from the step
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="rlcli"):
            summaries.append(resume_in_process(tmp_path / name).run())
        assert caplog.messages == [
            "LunarLander-v3 state cannot be saved: resumed with freshly reset envs"
        ]
    assert summaries[0].global_step == 256 and summaries[0].exact_resume is False
    assert_same_summary(*summaries)
    assert_same_final_checkpoint(tmp_path / "first", tmp_path / "again")


def test_init_from_starts_a_new_run_from_saved_weights(settings, tmp_path):
    first = settings(*SHORT, "total_timesteps=256")
    train(first, tmp_path / "first")
    saved = load_checkpoint(tmp_path / "first" / "checkpoints" / "final.pt")
    second = build_training_run(
        settings(*SHORT, "total_timesteps=256", "seed=9"),
        tmp_path / "second",
        initial_weights=saved,
    )
    for key, value in second.learner.agent.state_dict().items():
        assert torch.equal(value, saved["agent"][key])
    assert second.counters.global_step == 0
    with pytest.raises(UserError, match="checkpoint network does not match"):
        build_training_run(
            settings(*SHORT, "network=small", "total_timesteps=256"),
            tmp_path / "third",
            initial_weights=saved,
        )


def test_divergence_stops_with_the_step_and_keeps_the_last_good_checkpoint(settings, tmp_path):
    config = settings(*SHORT, "total_timesteps=2048", "checkpoint_every_steps=256")
    run = build_training_run(config, tmp_path)
    update = run.learner.algo.update

    def poisoned_update(agent, optimizer, rollout, progress):
        stats = update(agent, optimizer, rollout, progress)
        if run.counters.global_step >= 512:
            with torch.no_grad():
                next(agent.parameters()).fill_(float("nan"))
        return stats

    object.__setattr__(run.learner.algo, "update", poisoned_update)
    with pytest.raises(
        TrainingDiverged, match=r"diverged at step 640 .*last good checkpoint: .*latest.pt"
    ):
        run.run()
    kept = load_checkpoint(tmp_path / "checkpoints" / "latest.pt")
    assert kept["counters"]["global_step"] == 512
    assert all(torch.isfinite(v).all() for v in kept["agent"].values())


def test_second_signal_exits_at_once(monkeypatch):
    requests, exits = [], []
    monkeypatch.setattr(os, "_exit", exits.append)
    with stop_on_signals(requests.append):
        signal.raise_signal(signal.SIGINT)
        signal.raise_signal(signal.SIGINT)
    assert requests == ["SIGINT"] and exits == [130]


def start_training(tmp_path: Path, *overrides: str) -> tuple[subprocess.Popen, Path]:
    run_dir = tmp_path / "run"
    command = [
        sys.executable,
        "-m",
        "rlcli.cli",
        "train",
        *SHORT,
        "progress=log",
        "stop_when_solved=false",  # the CartPole preset may finish before the test interrupts it
        f"hydra.run.dir={run_dir}",
        *overrides,
    ]
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy"}
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    return process, run_dir


def wait_for(path: Path, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def resume(run_dir: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "rlcli.cli", "train", f"resume={run_dir}"]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_saves_a_checkpoint_and_the_run_resumes(tmp_path, signum, code):
    process, run_dir = start_training(
        tmp_path, "total_timesteps=200000", "checkpoint_every_steps=0"
    )
    wait_for(run_dir / "checkpoints" / "best.pt", process)  # first evaluation done: mid-training
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == code, stderr
    assert f"resume with: rlcli train resume={run_dir}" in stderr
    stopped_at = load_checkpoint(run_dir / "checkpoints" / "latest.pt")["counters"]["global_step"]
    assert 0 < stopped_at < 200_000
    # Shorten the remaining budget through the saved config so the test stays fast.
    checkpoint = load_checkpoint(run_dir / "checkpoints" / "latest.pt")
    checkpoint["config"]["total_timesteps"] = stopped_at + 512
    torch.save(checkpoint, run_dir / "checkpoints" / "latest.pt")
    result = resume(run_dir)
    assert result.returncode == 0, result.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["global_step"] == stopped_at + 512


# ``rlcli <arguments>`` that kills itself with SIGKILL when an iteration would start at
# ``global_step >= kill_at``: a kill -9 at a known step, between two periodic checkpoints.
KILLED_AT = """
import os, signal, sys
from rlcli.cli import main
from rlcli.train import TrainingRun

kill_at, iterate = int(sys.argv[1]), TrainingRun.iterate

def iterate_unless_killed(self, iteration):
    if self.counters.global_step >= kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
    iterate(self, iteration)

TrainingRun.iterate = iterate_unless_killed
sys.exit(main(sys.argv[2:]))
"""


def test_kill_9_loses_only_the_steps_since_the_last_periodic_checkpoint(tmp_path):
    budget = [
        *SHORT,
        "progress=none",
        "stop_when_solved=false",
        "total_timesteps=2048",
        "checkpoint_every_steps=512",
    ]
    whole = run_in(tmp_path, "-m", "rlcli.cli", "train", *budget, "hydra.run.dir=whole")
    assert whole.returncode == 0, whole.stderr
    killed = run_in(tmp_path, "-c", KILLED_AT, "1280", "train", *budget, "hydra.run.dir=killed")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    run_dir = tmp_path / "killed"
    latest = load_checkpoint(run_dir / "checkpoints" / "latest.pt")  # complete and readable
    assert latest["counters"]["global_step"] == 1024  # 256 steps lost, fewer than 512

    result = resume(run_dir)  # the CLI's resume: same directory, same TensorBoard run
    assert result.returncode == 0, result.stderr
    summaries = [
        json.loads((d / "summary.json").read_text()) for d in (tmp_path / "whole", run_dir)
    ]
    assert summaries[1]["global_step"] == 2048 and summaries[1]["exact_resume"] is True
    assert_same_summary(*summaries)
    assert_same_final_checkpoint(tmp_path / "whole", run_dir)
    assert scalars(run_dir) == scalars(tmp_path / "whole")


def test_init_from_a_run_loads_its_observation_statistics(normalised_run, tmp_path):
    arguments = [*NORMALISED, "total_timesteps=256", f"init_from={normalised_run}"]
    result = run_in(tmp_path, "-m", "rlcli.cli", "train", *arguments)
    assert result.returncode == 0, result.stderr
    source, warm = (
        load_checkpoint(run / "checkpoints" / "final.pt")["observation_normalizer"]
        for run in (normalised_run, tmp_path / "run")
    )
    # The warm run's 256 steps are folded into the source's statistics of 512+ observations.
    assert warm["count"] > source["count"] > 512


def test_divergence_exits_3_with_one_line(tmp_path):
    arguments = [*SHORT, "total_timesteps=512", "algo.learning_rate=1e20", "progress=none"]
    result = run_in(tmp_path, "-m", "rlcli.cli", "train", *arguments)
    assert result.returncode == 3, result.stderr
    assert result.stderr.splitlines() == [
        "rlcli: error: training diverged at step 128 (a loss or parameter is NaN or infinite); "
        "no checkpoint yet. Try a lower algo.learning_rate or algo.max_grad_norm."
    ]
