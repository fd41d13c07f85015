"""``rlcli eval``: the run's own evaluation mode and statistics by default, other checkpoints and
outputs on request, and video."""

import json
import os
import subprocess
import sys

import pytest
from cli_runs import SHORT, run_in

from rlcli.build import train
from rlcli.train import EVAL_SEED_OFFSET


def test_eval_command_follows_the_runs_own_evaluation_mode(settings, tmp_path):
    train(settings(*SHORT, "total_timesteps=512", "eval.deterministic=false"), tmp_path)
    result = run_in(tmp_path, "-m", "rlcli.cli", "eval", str(tmp_path), "episodes=3")
    assert result.returncode == 0, result.stderr
    assert "over 3 stochastic episodes" in result.stdout  # the run's eval.deterministic=false
    written = json.loads((tmp_path / "eval_final.json").read_text())
    assert len(written["returns"]) == 3 and written["deterministic"] is False
    result = run_in(tmp_path, "-m", "rlcli.cli", "eval", str(tmp_path), "deterministic=true")
    assert result.returncode == 0, result.stderr
    assert "over 10 deterministic episodes" in result.stdout


def test_eval_command_defaults_replay_the_runs_final_evaluation(normalised_run, tmp_path):
    summary = json.loads((normalised_run / "summary.json").read_text())
    seed = f"seed={3 + EVAL_SEED_OFFSET}"  # the run's evaluation seed
    result = run_in(tmp_path, "-m", "rlcli.cli", "eval", str(normalised_run), "episodes=2", seed)
    assert result.returncode == 0, result.stderr
    assert "over 2 deterministic episodes" in result.stdout
    written = json.loads((normalised_run / "eval_final.json").read_text())  # next to the run
    assert written["checkpoint"] == str(normalised_run / "checkpoints" / "final.pt")
    # The final checkpoint with its frozen observation statistics, acting as the run evaluated:
    assert written["returns"] == summary["final_eval_returns"]

    output = tmp_path / "best.json"
    arguments = ["episodes=2", seed, "checkpoint=best", f"output={output}"]
    result = run_in(tmp_path, "-m", "rlcli.cli", "eval", str(normalised_run), *arguments)
    assert result.returncode == 0, result.stderr
    written = json.loads(output.read_text())
    assert written["checkpoint"] == str(normalised_run / "checkpoints" / "best.pt")
    assert written["mean_return"] == summary["best_eval_mean_return"]
    assert not (normalised_run / "eval_best.json").exists(), "output= replaces the default path"


def test_eval_command_records_video(settings, tmp_path):
    pytest.importorskip("moviepy")
    train(settings(*SHORT, "total_timesteps=256"), tmp_path)
    # As on a machine without a display: rlcli picks SDL's dummy driver itself.
    hidden = ("SDL_VIDEODRIVER", "DISPLAY", "WAYLAND_DISPLAY", "XDG_RUNTIME_DIR")
    env = {key: value for key, value in os.environ.items() if key not in hidden}
    command = [sys.executable, "-m", "rlcli.cli", "eval", str(tmp_path), "episodes=2", "video=true"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no "error: XDG_RUNTIME_DIR is invalid" from SDL on success
    video = tmp_path / "videos" / "eval-episode-0.mp4"
    assert result.stdout.splitlines()[-1] == f"video: {video}"
    assert video.stat().st_size > 1000
