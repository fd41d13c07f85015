"""Runs of the console script in a subprocess, and the short budgets the integration tests use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# A few seconds of training: 2 envs x 64 steps per iteration, an evaluation every 256 steps.
SHORT = ["env.num_envs=2", "algo.num_steps=64", "eval.every_steps=256", "eval.episodes=2"]

# A Pendulum run whose preset normalises observations and rewards, into ./run.
NORMALISED = [
    "env=Pendulum-v1",
    *SHORT,
    "algo.num_minibatches=4",
    "progress=none",
    "seed=3",
    "hydra.run.dir=run",
]


def run_in(cwd: Path, *arguments: str) -> subprocess.CompletedProcess:
    """``python <arguments>`` in ``cwd``."""
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy"}
    command = [sys.executable, *arguments]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
