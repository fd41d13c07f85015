"""The human labeller: queues only what is not already waiting, returns the answers that came
(skips dropped), and gives up waiting after wait_seconds instead of stalling the loop."""

from __future__ import annotations

import json
from functools import partial

import gymnasium as gym
import torch

from rlcli.rlhf.human_labeller import HumanLabeller
from rlcli.rlhf.label_queue import LABELS, PairQueue
from rlcli.rlhf.segments import Segments, reward_inputs


def cartpole_segments(count: int, length: int = 3) -> Segments:
    """``count`` segments of still CartPole states (what matters here is their identity)."""
    observations = torch.zeros(count, length, 4)
    observations[:, :, 0] = torch.arange(count, dtype=torch.float32)[:, None] * 0.1  # cart x
    actions = torch.zeros(count, length, dtype=torch.long)
    inputs = reward_inputs(observations, actions, gym.spaces.Discrete(2), 2)
    return Segments(inputs, torch.zeros(count, length), torch.ones(count, length, dtype=torch.bool))


class FakeTime:
    """clock() and sleep(): sleeping moves the clock and may let a person answer."""

    def __init__(self, on_sleep=None) -> None:
        self.now = 0.0
        self.on_sleep = on_sleep

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        if self.on_sleep is not None:
            self.on_sleep()


def labeller(tmp_path, time: FakeTime, min_new_labels: int = 2) -> HumanLabeller:
    make_env = partial(gym.make, "CartPole-v1", render_mode="rgb_array")
    return HumanLabeller(
        tmp_path, make_env, min_new_labels, 30.0, clock=time.clock, sleep=time.sleep
    )


def test_answers_come_back_as_comparisons_and_skips_are_dropped(tmp_path):
    answers = iter(["left", "skip", "right"])

    def person() -> None:
        queue = PairQueue(tmp_path, "ana")
        lease = queue.lease("tab")
        if lease is not None:
            queue.answer(lease.pair, lease.token, next(answers))

    time = FakeTime(person)
    people = labeller(tmp_path, time)
    first, second = cartpole_segments(3), cartpole_segments(3)
    second.inputs[:, :, 0] += 1.0
    comparisons = people.ask(first, second)
    assert comparisons.preferences.tolist() == [1.0, 0.0]  # left, (skip), right
    assert torch.equal(comparisons.first.inputs, first.select(torch.tensor([0, 2])).inputs)
    assert torch.equal(comparisons.second.inputs, second.select(torch.tensor([0, 2])).inputs)
    assert len(list((tmp_path / "clips").glob("*.mp4"))) == 6
    people.report(0.75)
    assert json.loads((tmp_path / "status.json").read_text())["reward_model_accuracy"] == 0.75
    people.close()


def test_nobody_answering_returns_nothing_after_the_wait_and_nothing_is_asked_twice(tmp_path):
    time = FakeTime()
    people = labeller(tmp_path, time)
    segments = cartpole_segments(2)
    assert len(people.ask(segments, segments)) == 0
    assert time.now >= 30.0  # waited wait_seconds, then gave up
    assert len(people.ask(segments, segments)) == 0
    assert len(list((tmp_path / "queue").glob("*.json"))) == 2  # still the first two pairs
    assert not (tmp_path / LABELS).exists()
    people.close()


def test_pairs_queued_before_a_resume_leave_the_queue(tmp_path):
    time = FakeTime()
    before = labeller(tmp_path, time)
    segments = cartpole_segments(2)
    before.ask(segments, segments)
    queue = PairQueue(tmp_path, "ana")
    lease = queue.lease("tab")
    queue.answer(lease.pair, lease.token, "left")  # answered: stays in the record
    after = labeller(tmp_path, time)  # the resumed run
    after.ask(segments.select(slice(0, 1)), segments.select(slice(0, 1)))
    queued = {path.stem for path in (tmp_path / "queue").glob("*.json")}
    assert lease.pair in queued and len(queued) == 2  # the unanswered old pair is gone
    assert all(pair.startswith(after.prefix) for pair in queued - {lease.pair})
