"""Exact resume, warm start, interrupts, divergence and the eval command."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from extras import needs_extra
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from rlcli.build import settings_from_dict, train
from rlcli.build.objects import build_training_run
from rlcli.checkpoint import load_checkpoint
from rlcli.errors import TrainingDiverged, TrainingInterrupted, UserError
from rlcli.signals import stop_on_signals
from rlcli.train import TrainingRun

SHORT = ["env.num_envs=2", "algo.num_steps=64", "eval.every_steps=256", "eval.episodes=2"]

RESUME_CASES = [
    ("ppo", ["env=CartPole-v1"]),
    ("pg", ["env=CartPole-v1"]),
    ("ppo", ["env=Pendulum-v1", "env.normalize_observation=true", "env.normalize_reward=true"]),
    ("pg", ["env=Pendulum-v1", "algo.use_baseline=true", "env.normalize_observation=true"]),
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


def stop_after(run: TrainingRun, step: int) -> None:
    """Make ``run`` request a stop once it has trained ``step`` env steps."""
    iterate = run.iterate

    def iterate_then_maybe_stop(iteration: int) -> None:
        iterate(iteration)
        if run.counters.global_step >= step:
            run.request_stop("SIGINT")

    run.iterate = iterate_then_maybe_stop


@pytest.mark.parametrize("algo, overrides", RESUME_CASES)
def test_stop_and_resume_is_bit_identical_to_one_run(settings, tmp_path, algo, overrides):
    config = settings(f"algo={algo}", *overrides, *SHORT, "total_timesteps=1536", "seed=3")
    whole = train(config, tmp_path / "whole")

    run = build_training_run(config, tmp_path / "split")
    stop_after(run, 640)
    with pytest.raises(TrainingInterrupted, match="resume with: rlcli train resume="):
        run.run()
    checkpoint = load_checkpoint(tmp_path / "split" / "checkpoints" / "latest.pt")
    assert checkpoint["counters"]["global_step"] == 640
    resumed = build_training_run(
        settings_from_dict(checkpoint["config"]), tmp_path / "split", checkpoint
    )
    split = resumed.run()

    assert split.global_step == whole.global_step == 1536
    assert split.final_eval_returns == whole.final_eval_returns
    assert split.exact_resume is True
    final = [
        torch.load(d / "checkpoints" / "final.pt", weights_only=True)
        for d in (tmp_path / "whole", tmp_path / "split")
    ]
    for key, value in final[0]["agent"].items():
        assert torch.equal(value, final[1]["agent"][key]), key
    logged_whole, logged_split = scalars(tmp_path / "whole"), scalars(tmp_path / "split")
    assert logged_split == logged_whole  # same points, no duplicates, nothing reset
    steps = [step for step, _ in logged_split["losses/policy_loss"]]
    assert steps == sorted(set(steps))


def test_resume_of_an_env_without_savable_state_resets_envs(settings, tmp_path):
    config = settings(
        "env=LunarLander-v3",
        "env.num_envs=2",
        "algo.num_steps=32",
        "algo.num_minibatches=4",
        "total_timesteps=256",
    )
    run = build_training_run(config, tmp_path)
    stop_after(run, 64)
    with pytest.raises(TrainingInterrupted):
        run.run()
    checkpoint = load_checkpoint(tmp_path / "checkpoints" / "latest.pt")
    assert checkpoint["collector"]["envs"] is None
    summary = build_training_run(config, tmp_path, resume=checkpoint).run()
    assert summary.global_step == 256 and summary.exact_resume is False


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


def test_kill_9_loses_at_most_the_steps_since_the_last_checkpoint(tmp_path):
    process, run_dir = start_training(
        tmp_path, "total_timesteps=200000", "checkpoint_every_steps=512"
    )
    wait_for(run_dir / "checkpoints" / "latest.pt", process)
    time.sleep(0.5)
    process.kill()
    process.communicate(timeout=30)
    checkpoint = load_checkpoint(run_dir / "checkpoints" / "latest.pt")  # complete and readable
    checkpoint["config"]["total_timesteps"] = checkpoint["counters"]["global_step"] + 256
    torch.save(checkpoint, run_dir / "checkpoints" / "latest.pt")
    result = resume(run_dir)
    assert result.returncode == 0, result.stderr
    assert (run_dir / "summary.json").is_file()


def test_eval_command_reports_and_writes_json(settings, tmp_path):
    train(settings(*SHORT, "total_timesteps=512"), tmp_path)
    command = [
        sys.executable,
        "-m",
        "rlcli.cli",
        "eval",
        str(tmp_path),
        "episodes=3",
        "deterministic=false",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "mean return" in result.stdout and "over 3 stochastic episodes" in result.stdout
    written = json.loads((tmp_path / "eval_final.json").read_text())
    assert len(written["returns"]) == 3 and written["deterministic"] is False


def test_eval_command_records_video(settings, tmp_path):
    pytest.importorskip("moviepy")
    train(settings(*SHORT, "total_timesteps=256"), tmp_path)
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy"}
    command = [sys.executable, "-m", "rlcli.cli", "eval", str(tmp_path), "episodes=2", "video=true"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    videos = list((tmp_path / "videos").glob("*.mp4"))
    assert videos and videos[0].stat().st_size > 1000
