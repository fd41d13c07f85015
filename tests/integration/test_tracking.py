"""track=wandb mirrors the TensorBoard scalars, the config and the summary to W&B (offline)."""

import json
import os
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

SHORT = ["env.num_envs=2", "algo.num_steps=64", "total_timesteps=512", "eval.every_steps=256"]


def wandb_records(path: Path) -> Iterator[bytes]:
    """The records of a W&B transaction log (``run-<id>.wandb``, LevelDB's log format: 32 KiB
    blocks of chunks with a 7-byte header, checksum, length and FULL/FIRST/MIDDLE/LAST)."""
    data = path.read_bytes()
    assert data[:4] == b":W&B"
    offset, pending = 7, b""
    while offset + 7 <= len(data):
        space = 32768 - offset % 32768
        _, length, kind = struct.unpack("<IHB", data[offset : offset + 7])
        if space < 7 or kind == 0:  # the padding at the end of a block
            offset += space
            continue
        chunk = data[offset + 7 : offset + 7 + length]
        offset += 7 + length
        pending = chunk if kind in (1, 2) else pending + chunk
        if kind in (1, 4):
            yield pending


def key_of(item) -> str:
    """A history or summary item's key (``charts/SPS`` is stored as nested ["charts", "SPS"])."""
    return "/".join(item.nested_key) or item.key


def test_track_wandb_mirrors_scalars_config_and_summary_offline(tmp_path):
    pytest.importorskip("wandb")
    from wandb.proto import wandb_internal_pb2

    env = {
        **os.environ,
        "WANDB_MODE": "offline",
        "WANDB_SILENT": "true",
        "WANDB_CONFIG_DIR": str(tmp_path / "config"),
        "WANDB_CACHE_DIR": str(tmp_path / "cache"),
        "WANDB_DATA_DIR": str(tmp_path / "data"),
    }
    arguments = [*SHORT, "progress=none", "track=wandb", "wandb.project=test", "hydra.run.dir=run"]
    command = [sys.executable, "-m", "rlcli.cli", "train", *arguments]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    run_dir = tmp_path / "run"
    (log,) = (run_dir / "wandb").glob("offline-run-*/run-*.wandb")

    history: dict[str, list[tuple[float, float]]] = {}
    config, summary = {}, {}
    for data in wandb_records(log):
        record = wandb_internal_pb2.Record()
        record.ParseFromString(data)
        kind = record.WhichOneof("record_type")
        if kind == "history":
            row = {key_of(item): json.loads(item.value_json) for item in record.history.item}
            for key, value in row.items():
                history.setdefault(key, []).append((row["global_step"], value))
        elif kind == "run":
            config.update({i.key: json.loads(i.value_json) for i in record.run.config.update})
        elif kind == "summary":
            summary.update({key_of(i): json.loads(i.value_json) for i in record.summary.update})

    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    events.Reload()
    tensorboard = {
        tag: [(e.step, pytest.approx(e.value)) for e in events.Scalars(tag)]
        for tag in events.Tags()["scalars"]
    }
    assert tensorboard and set(tensorboard) <= set(history)
    for tag, points in tensorboard.items():
        assert history[tag] == points, tag  # the same values at the same env steps
    assert config["algo"]["name"] == "ppo" and config["seed"] == 0 and config["track"] == "wandb"
    written = json.loads((run_dir / "summary.json").read_text())
    for key in ("final_eval_mean_return", "global_step", "first_solved_step", "env_id"):
        assert summary[key] == written[key], key
