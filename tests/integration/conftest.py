"""Runs shared by several integration test modules (trained once per module)."""

from pathlib import Path

import pytest
from cli_runs import NORMALISED, run_in


@pytest.fixture(scope="module")
def normalised_run(tmp_path_factory) -> Path:
    """A finished Pendulum run with observation normalisation, trained through the CLI."""
    root = tmp_path_factory.mktemp("normalised")
    result = run_in(root, "-m", "rlcli.cli", "train", *NORMALISED, "total_timesteps=512")
    assert result.returncode == 0, result.stderr
    return root / "run"
