"""People as the online loop's labeller: pairs go to a labelling directory that ``rlcli label``
serves, and the answers come back from its labels file.

The loop asks as it always does; this labeller queues the pairs (with their clips), then waits
until ``min_new_labels`` answers have arrived or ``wait_seconds`` have passed, and returns what was
answered by then (possibly pairs asked earlier). The loop refits on those, or keeps its last
reward model when none came, and PPO trains on while people label the rest of the queue.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import gymnasium as gym
import torch

from rlcli.rlhf.clips import write_clips
from rlcli.rlhf.label_queue import (
    CLIPS,
    LABELS,
    QUEUE,
    answered_pairs,
    enqueue_pair,
    write_status,
)
from rlcli.rlhf.labels import PREFERENCES
from rlcli.rlhf.reward_model import Comparisons
from rlcli.rlhf.segments import Segments


class HumanLabeller:
    """Queue pairs for people and collect their answers from ``<directory>/labels.jsonl``."""

    def __init__(
        self,
        directory: Path,
        make_env: Callable[[], gym.Env],
        min_new_labels: int,
        wait_seconds: float,
        poll_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.directory = directory
        self.make_env = make_env
        self.min_new_labels = min_new_labels
        self.wait_seconds = wait_seconds
        self.poll_seconds = poll_seconds
        self.clock = clock
        self.sleep = sleep
        self.env: gym.Env | None = None
        self.pending: dict[str, tuple[Segments, Segments]] = {}
        self.prefix = uuid.uuid4().hex[:8]  # pair ids never collide with an earlier process's
        self.asked = 0
        self.read_offset = 0

    def ask(self, first: Segments, second: Segments) -> Comparisons:
        """Queue the pairs not already waiting for an answer, then return the answers that
        arrive before the minimum is met or the wait is over."""
        self._queue(first, second, max(0, len(first) - len(self.pending)))
        deadline = self.clock() + self.wait_seconds
        answers = self._new_answers()
        while len(answers) < self.min_new_labels and self.pending and self.clock() < deadline:
            self.sleep(self.poll_seconds)
            answers += self._new_answers()
        return _comparisons(answers, first)

    def report(self, accuracy: float) -> None:
        """Show the refitted reward model's held-out accuracy on the page."""
        write_status(self.directory, None if accuracy != accuracy else accuracy)

    def _queue(self, first: Segments, second: Segments, count: int) -> None:
        """Queue the first ``count`` pairs, each with its two clips."""
        if count == 0:
            return
        if self.env is None:
            self.env = self.make_env()
            self._retire_unanswered()
        for row in range(count):
            pair = f"{self.prefix}-{self.asked:06d}"
            self.asked += 1
            names = [f"{pair}-a", f"{pair}-b"]
            left, right = first.select(slice(row, row + 1)), second.select(slice(row, row + 1))
            write_clips(self.env, left.extend(right), names, self.directory / CLIPS)
            enqueue_pair(self.directory, pair, *names)
            self.pending[pair] = (left, right)

    def _retire_unanswered(self) -> None:
        """Take pairs an earlier process queued (before a resume) off the queue: their segments
        are gone with it, so answers to them could not be learned from."""
        answered = answered_pairs(self.directory / LABELS)
        for path in (self.directory / QUEUE).glob("*.json"):
            if path.stem not in answered:
                path.unlink()

    def _new_answers(self) -> list[tuple[Segments, Segments, float]]:
        """Answers to pending pairs appended since the last read (whole lines only)."""
        path = self.directory / LABELS
        if not path.is_file():
            return []
        with path.open("rb") as stream:
            stream.seek(self.read_offset)
            data = stream.read()
        complete = data[: data.rfind(b"\n") + 1]
        self.read_offset += len(complete)
        answers = []
        for text in complete.decode().splitlines():
            try:
                line = json.loads(text)
            except json.JSONDecodeError:
                continue  # the label page writes whole JSON lines; others are not ours
            pair = line.get("pair") if isinstance(line, dict) else None
            if pair not in self.pending:
                continue
            left, right = self.pending.pop(pair)
            if line.get("preference") in PREFERENCES:  # skipped pairs teach nothing
                answers.append((left, right, PREFERENCES[line["preference"]]))
        return answers

    def close(self) -> None:
        """Close the env that draws the clips."""
        if self.env is not None:
            self.env.close()


def _comparisons(answers: list[tuple[Segments, Segments, float]], like: Segments) -> Comparisons:
    """Answers as Comparisons (empty ones shaped like ``like``'s segments)."""
    if not answers:
        empty = like.select(slice(0, 0))
        return Comparisons(empty, empty, torch.zeros(0), torch.zeros(0))
    first, second = answers[0][0], answers[0][1]
    for left, right, _ in answers[1:]:
        first, second = first.extend(left), second.extend(right)
    preferences = torch.tensor([preference for _, _, preference in answers])
    return Comparisons(first, second, preferences, torch.ones(len(answers)))
