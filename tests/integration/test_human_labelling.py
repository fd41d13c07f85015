"""People's labels reach the reward model: online (rlhf.labeller.kind=human, answered here by a
stand-in for the label page) and offline (pairs_from datasets -> labels.jsonl -> stage 2)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import gymnasium as gym
import pytest
from labelling import random_episodes
from test_rlhf import RLHF_SHORT

from rlcli.build import train
from rlcli.checkpoint import load_checkpoint
from rlcli.rlhf.label_queue import LABELLING_DIR, LABELS, STATUS, PairQueue
from rlcli.rlhf.reward_stage import run_reward_model_stage

HUMAN_SHORT = [
    "algo=ppo",
    "env=CartPole-v1",
    *RLHF_SHORT,
    "rlhf.labeller.kind=human",
    "rlhf.labeller.min_new_labels=2",
]


def answer_everything(directory: Path, stop: threading.Event, answers: list[str]) -> None:
    """A person at the page: answer each pair as it is queued, cycling through ``answers``."""
    queue = None
    count = 0
    while not stop.is_set():
        if queue is None and directory.is_dir():
            queue = PairQueue(directory, "bot")
        lease = queue.lease("bot-tab") if queue is not None else None
        if lease is None:
            stop.wait(0.05)
            continue
        queue.answer(lease.pair, lease.token, answers[count % len(answers)])
        count += 1


def test_the_online_loop_learns_from_answers_given_on_the_page(settings, tmp_path):
    config = settings(*HUMAN_SHORT, "rlhf.labeller.wait_seconds=60")
    run_dir = tmp_path / "run"
    labelling = run_dir / LABELLING_DIR
    stop = threading.Event()
    person = threading.Thread(
        target=answer_everything, args=(labelling, stop, ["left", "right", "skip"]), daemon=True
    )
    person.start()
    try:
        train(config, run_dir)
    finally:
        stop.set()
        person.join(10)
    lines = [json.loads(line) for line in (labelling / LABELS).read_text().splitlines()]
    learned = [line for line in lines if line["preference"] != "skip"]
    assert learned and all(line["labeller"] == "bot" for line in lines)
    state = load_checkpoint(run_dir / "checkpoints" / "final.pt")["collector"]["rlhf"]
    # every answer that arrived before the last update was learned from; skips never are
    assert 0 < len(state["comparisons"]["preferences"]) <= len(learned)
    assert json.loads((labelling / STATUS).read_text())["reward_model_accuracy"] is not None
    queued = list((labelling / "queue").glob("*.json"))
    skipped = len(lines) - len(learned)
    assert len(queued) <= 20 + skipped  # the label budget; a skipped pair is asked again


def test_nobody_labelling_does_not_stall_training(settings, tmp_path):
    config = settings(*HUMAN_SHORT, "rlhf.labeller.wait_seconds=0.2")
    summary = train(config, tmp_path / "run")
    assert summary.global_step >= 512
    state = load_checkpoint(tmp_path / "run" / "checkpoints" / "final.pt")["collector"]["rlhf"]
    assert state["comparisons"] is None  # no answers: the initial reward model was kept
    assert list((tmp_path / "run" / LABELLING_DIR / "queue").glob("*.json"))


def test_labels_of_pairs_from_datasets_train_the_reward_model_stage(settings, tmp_path):
    pytest.importorskip("minari", reason="needs the minari extra")
    from rlcli.demonstrations import write_dataset
    from rlcli.rlhf.offline_pairs import write_pair_queue

    env = gym.make("CartPole-v1")
    datasets = []
    for name, seed in (("early", 0), ("late", 10)):  # two checkpoints' datasets
        destination = tmp_path / name
        records = random_episodes(env, 3, seed)
        write_dataset(
            destination, records, "CartPole-v1", env.observation_space, env.action_space, name
        )
        datasets.append(str(destination))
    directory = tmp_path / "labelling"
    segments = write_pair_queue(directory, datasets, pairs=10, length=8, seed=0)
    assert segments >= 2 and len(list((directory / "queue").glob("*.json"))) == 10
    queue = PairQueue(directory, "ana")
    for number in range(10):
        lease = queue.lease("tab")
        queue.answer(lease.pair, lease.token, ["left", "right", "equal", "skip"][number % 4])
    summary = run_reward_model_stage(
        settings("algo=ppo", "env=CartPole-v1"),
        {},  # the segments are in the directory already: nothing is rolled out
        directory,
        settings("algo=ppo", "env=CartPole-v1", "rlhf.labeller.kind=file").rlhf,
        steps=0,
        labels=0,
    )
    assert summary["labels"] == 8 and summary["segments"] == segments  # the 2 skips are not
    assert (directory / "reward_model.pt").is_file()
    accuracy = summary["validation_accuracy"]
    shown = queue.progress()["reward_model_accuracy"]
    assert shown == (None if accuracy != accuracy else accuracy)  # NaN: too few held-out pairs
