"""``rlcli label`` from the console script: bad input is one line, exit 2, nothing written; a
remote address needs allow_remote=true and warns; the URL is printed."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import gymnasium as gym
import pytest
from test_bad_input import assert_unchanged, assert_user_error, run_cli, snapshot

from rlcli.rlhf.label_queue import LABELS, enqueue_pair

pytest.importorskip("flask", reason="needs the label extra")


@pytest.fixture
def labelling(tmp_path) -> Path:
    directory = tmp_path / "labelling"
    enqueue_pair(directory, "pair-0", "seg-0", "seg-1")
    return directory


CASES = [
    (["host=0.0.0.0"], "host=0.0.0.0 is reachable from other machines"),
    (["host=192.168.1.20"], "add allow_remote=true"),
    (["port=70000"], "port=70000 is not a TCP port"),
    (["colour=red"], "unknown label option 'colour'"),
    (["allow_remote=maybe"], "allow_remote='maybe' is not a boolean"),
    (["pairs=0", "pairs_from=x"], "pairs=0 must be >= 1"),
    (["pairs_from=/no/such/dataset"], "dataset='/no/such/dataset' is neither"),
]


@pytest.mark.parametrize("options, expected", CASES)
def test_bad_label_input_is_one_line_and_writes_nothing(labelling, options, expected):
    before = snapshot(labelling.parent)
    result = run_cli("label", str(labelling), "port=0", *options, cwd=labelling.parent)
    assert_user_error(result, expected)
    assert_unchanged(labelling.parent, before)


def test_a_labels_file_that_is_not_json_lines_is_refused_at_start(labelling):
    (labelling / LABELS).write_text('{"left": "seg-0", "right": "seg-1", "preference": "left"}\n')
    with (labelling / LABELS).open("a") as stream:
        stream.write("left,seg-0,seg-1\n")
    before = snapshot(labelling.parent)
    result = run_cli("label", str(labelling), "port=0", cwd=labelling.parent)
    assert_user_error(result, f"{labelling / LABELS}:2: not a JSON object")
    assert_unchanged(labelling.parent, before)


def test_a_directory_without_a_queue_says_how_to_make_one(tmp_path):
    result = run_cli("label", str(tmp_path), cwd=tmp_path)
    assert_user_error(result, "pairs_from=<dataset dir>")


def test_a_port_in_use_is_refused_before_anything_is_written(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli(
            "label", "new", f"port={port}", "pairs_from=/no/such/dataset", cwd=tmp_path
        )
    assert_user_error(result, f"cannot listen on 127.0.0.1:{port}")
    assert list(tmp_path.iterdir()) == []


def serve(*arguments: str) -> tuple[subprocess.Popen, str]:
    """``rlcli label <arguments>`` in the background, and the URL it printed."""
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy"}
    command = [sys.executable, "-m", "rlcli.cli", "label", "port=0", *arguments]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    line = process.stdout.readline()
    while line.startswith("queued "):
        line = process.stdout.readline()
    return process, line


def progress(url: str) -> dict:
    port = int(url.rsplit(":", 1)[1].strip(" /\n"))
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/progress", timeout=10) as page:
        return json.load(page)


def test_a_remote_address_is_served_only_with_allow_remote_and_a_warning(labelling):
    process, line = serve(str(labelling), "host=0.0.0.0", "allow_remote=true", "labeller=ana")
    try:
        assert "as 'ana': http://0.0.0.0:" in line
        assert progress(line)["queued"] == 1
    finally:
        process.terminate()
        process.wait(10)
    warning = process.stderr.read()
    assert warning.startswith("rlcli: warning: serving on 0.0.0.0"), warning


def test_pairs_from_a_collect_dataset_are_queued_and_served(tmp_path):
    pytest.importorskip("minari", reason="needs the minari extra")
    from labelling import random_episodes

    from rlcli.demonstrations import write_dataset

    env = gym.make("CartPole-v1")
    records = random_episodes(env, 2)
    dataset = tmp_path / "dataset"
    write_dataset(dataset, records, "CartPole-v1", env.observation_space, env.action_space, "")
    process, line = serve(str(tmp_path / "new"), f"pairs_from={dataset}", "pairs=5")
    try:
        assert "http://127.0.0.1:" in line
        assert progress(line) == {"labelled": 0, "queued": 5, "reward_model_accuracy": None}
    finally:
        process.terminate()
        process.wait(10)
    assert (tmp_path / "new" / "segments.npz").is_file()
