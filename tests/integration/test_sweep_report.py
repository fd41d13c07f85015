"""The multi-seed report of a real sweep, and a real TensorBoard server reading that sweep."""

import csv
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

GROUPS = ["algo.learning_rate=0.0003", "algo.learning_rate=0.001"]
SWEEP = [
    "train",
    "-m",
    "seed=0,1",
    "algo.learning_rate=0.001,0.0003",
    "env.num_envs=2",
    "algo.num_steps=64",
    "total_timesteps=512",
    "eval.every_steps=256",
    "eval.episodes=2",
    "progress=none",
]


def run_cli(*arguments: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy"}
    command = [sys.executable, "-m", "rlcli.cli", *arguments]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def scalars(log_dir: Path) -> dict[str, list[tuple[int, float]]]:
    events = EventAccumulator(str(log_dir), size_guidance={"scalars": 0})
    events.Reload()
    return {
        tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]
    }


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory) -> Path:
    """A 2 seeds x 2 learning rates multirun; its end-of-sweep callback writes the report."""
    cwd = tmp_path_factory.mktemp("sweep")
    result = run_cli(*SWEEP, cwd=cwd)
    assert result.returncode == 0, result.stderr
    (sweep,) = (cwd / "outputs" / "multirun").glob("*/*")
    return sweep


def runs_of(sweep: Path) -> dict[str, list[Path]]:
    """Group name -> run directories, from each run's own overrides."""
    groups: dict[str, list[Path]] = {}
    for run in sorted(sweep.glob("*_seed*")):
        overrides = (run / ".hydra" / "overrides.yaml").read_text()
        (learning_rate,) = [g for g in GROUPS if f"- {g}\n" in overrides]
        groups.setdefault(learning_rate, []).append(run)
    return groups


def test_multirun_end_writes_the_report(sweep_dir):
    with (sweep_dir / "report.csv").open() as file:
        rows = {row["group"]: row for row in csv.DictReader(file)}
    assert sorted(rows) == GROUPS
    for group, runs in runs_of(sweep_dir).items():
        summaries = [json.loads((run / "summary.json").read_text()) for run in runs]
        finals = [summary["final_eval_mean_return"] for summary in summaries]
        assert int(rows[group]["runs"]) == len(runs) == 2
        assert float(rows[group]["final_eval_mean"]) == pytest.approx(statistics.mean(finals))
        assert float(rows[group]["steps"]) == 512
    table = [line for line in (sweep_dir / "report.md").read_text().splitlines() if "| `" in line]
    assert [line.split("|")[1].strip() for line in table] == [f"`{g}`" for g in GROUPS]
    assert all(line.split("|")[2].strip() == "2" for line in table)
    assert (sweep_dir / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_aggregate_tensorboard_run_holds_the_mean_of_the_seeds(sweep_dir):
    for group, runs in runs_of(sweep_dir).items():
        aggregate = scalars(sweep_dir / "tensorboard" / group)
        per_run = [dict(scalars(run)["eval/mean_return"]) for run in runs]
        assert [step for step, _ in aggregate["eval/mean_return/mean"]] == [256, 512]
        for statistic, function in [("mean", statistics.mean), ("min", min), ("max", max)]:
            values = dict(aggregate[f"eval/mean_return/{statistic}"])
            for step in (256, 512):
                seeds = [curve[step] for curve in per_run]
                assert values[step] == pytest.approx(function(seeds), rel=1e-6)
        assert aggregate["charts/episodic_return/mean"], "training returns are aggregated too"


def test_report_command_into_another_directory_and_bad_path(sweep_dir, tmp_path):
    result = run_cli("report", str(sweep_dir), f"out={tmp_path / 'out'}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "`algo.learning_rate=0.001` | 2 |" in result.stdout
    assert (tmp_path / "out" / "report.md").read_text() == (sweep_dir / "report.md").read_text()
    assert sorted(p.name for p in (tmp_path / "out" / "tensorboard").iterdir()) == GROUPS

    missing = run_cli("report", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert missing.stderr.strip().splitlines() == [
        f"rlcli: error: {str(tmp_path / 'nowhere')!r} does not exist; pass a sweep or run directory"
    ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def wait_for_runs(base: str, server: subprocess.Popen, expected: set[str]) -> list[str]:
    """Poll /data/runs (at most 120 requests, ~60 s) until every expected run is listed."""
    runs: list[str] = []
    for _ in range(120):
        if server.poll() is not None:
            pytest.fail(f"tensorboard exited with {server.returncode}")
        try:
            runs = get_json(f"{base}/data/runs")
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            runs = []
        if expected <= set(runs):
            return runs
        time.sleep(0.5)
    pytest.fail(f"tensorboard listed {runs}, expected {sorted(expected)}")


def test_tensorboard_server_serves_the_sweep(sweep_dir, tmp_path):
    port = free_port()
    command = [sys.executable, "-m", "tensorboard.main", "--logdir", str(sweep_dir)]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    log = (tmp_path / "tensorboard.log").open("w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        base = f"http://127.0.0.1:{port}"
        single = sorted(p.name for p in sweep_dir.glob("*_seed*"))
        aggregate = [f"tensorboard/{group}" for group in GROUPS]
        wait_for_runs(base, server, {*single, *aggregate})

        tags = get_json(f"{base}/data/plugin/scalars/tags")
        assert "eval/mean_return" in tags[single[0]]
        assert "eval/mean_return/mean" in tags[aggregate[0]]
        for run, log_dir, tag in [
            (single[0], sweep_dir / single[0], "eval/mean_return"),
            (aggregate[1], sweep_dir / aggregate[1], "eval/mean_return/mean"),
        ]:
            query = urllib.parse.urlencode({"run": run, "tag": tag})
            served = get_json(f"{base}/data/plugin/scalars/scalars?{query}")
            assert [(step, value) for _, step, value in served] == scalars(log_dir)[tag]
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=20)
        log.close()
