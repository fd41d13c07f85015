"""The labelling directory people answer from: queued pairs, their clips and the labels file.

    <dir>/queue/<pair>.json    {"pair": id, "left": segment id, "right": segment id}
    <dir>/clips/<segment>.mp4  what the page shows
    <dir>/labels.jsonl         the answers (rlcli.rlhf.labels' schema, plus the pair id)
    <dir>/status.json          the reward model's latest held-out accuracy, when known

Producers (``rlcli label pairs_from=``, the online loop's human labeller) write pairs and clips;
the label page serves each unanswered pair to one tab at a time under a lease that expires, so
two tabs never answer the same pair and an abandoned pair comes back.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlcli.errors import UserError
from rlcli.metrics import write_json
from rlcli.rlhf.labels import ANSWERS, LABELS_FILE, append_labels, now, read_labels

LABELLING_DIR = "labelling"
"""Where an RLHF run with ``rlhf.labeller.kind=human`` keeps its queue, inside the run dir."""
QUEUE = "queue"
CLIPS = "clips"
LABELS = LABELS_FILE
STATUS = "status.json"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
"""Pair and segment ids: safe as file names and in URLs."""


class BadAnswer(Exception):
    """A request the queue refuses; ``status`` is the HTTP code to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def check_name(kind: str, name: str) -> str:
    """``name`` when it is a valid pair or segment id, else a UserError."""
    if not NAME.match(name):
        raise UserError(f"{kind} id {name!r} must be letters, digits, '.', '_' or '-'")
    return name


def enqueue_pair(directory: Path, pair: str, left: str, right: str) -> None:
    """Queue one pair (its clips must be in ``clips/`` already); written atomically."""
    for kind, name in (("pair", pair), ("segment", left), ("segment", right)):
        check_name(kind, name)
    (directory / QUEUE).mkdir(parents=True, exist_ok=True)
    write_json(directory / QUEUE / f"{pair}.json", {"pair": pair, "left": left, "right": right})


def write_status(directory: Path, reward_model_accuracy: float | None) -> None:
    """Record the reward model's held-out accuracy for the page's progress line."""
    write_json(directory / STATUS, {"reward_model_accuracy": reward_model_accuracy})


def answered_pairs(labels_path: Path) -> set[str]:
    """Pair ids answered in a labels file, which must be valid JSON Lines (checked first, so a
    bad line is refused with its number before anything is served or written)."""
    if not labels_path.is_file():
        return set()
    read_labels(labels_path)
    pairs = set()
    with labels_path.open(encoding="utf-8") as stream:
        for text in stream:
            if text.strip():
                pair = json.loads(text).get("pair")
                if isinstance(pair, str):
                    pairs.add(pair)
    return pairs


@dataclass
class Lease:
    """One pair handed to one tab until ``expires`` (monotonic seconds)."""

    pair: str
    left: str
    right: str
    tab: str
    token: str
    expires: float


class PairQueue:
    """The unanswered pairs of a labelling directory, leased to one tab at a time."""

    def __init__(
        self,
        directory: Path,
        labeller: str,
        lease_seconds: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = directory
        self.labels_path = directory / LABELS
        self.labeller = labeller
        self.lease_seconds = lease_seconds
        self.clock = clock
        self.answered = answered_pairs(self.labels_path)
        self.leases: dict[str, Lease] = {}  # by pair id
        self.lock = threading.Lock()

    def queued(self) -> list[str]:
        """Ids of every queued pair, oldest file first (ties by name)."""
        folder = self.directory / QUEUE
        if not folder.is_dir():
            return []
        files = [path for path in folder.glob("*.json") if NAME.match(path.stem)]
        return [path.stem for path in sorted(files, key=lambda p: (p.stat().st_mtime, p.name))]

    def _pair(self, pair: str) -> dict[str, str]:
        return json.loads((self.directory / QUEUE / f"{pair}.json").read_text())

    def _expire(self) -> None:
        moment = self.clock()
        for pair in [p for p, lease in self.leases.items() if lease.expires <= moment]:
            del self.leases[pair]

    def lease(self, tab: str) -> Lease | None:
        """The pair this tab holds, else the oldest free one (None when all are answered or
        held by other tabs)."""
        with self.lock:
            self._expire()
            for lease in self.leases.values():
                if lease.tab == tab:
                    lease.expires = self.clock() + self.lease_seconds
                    return lease
            for pair in self.queued():
                if pair in self.answered or pair in self.leases:
                    continue
                record = self._pair(pair)
                lease = Lease(
                    pair,
                    record["left"],
                    record["right"],
                    tab,
                    uuid.uuid4().hex,
                    self.clock() + self.lease_seconds,
                )
                self.leases[pair] = lease
                return lease
            return None

    def answer(self, pair: str, token: str, preference: str) -> None:
        """Append the answer of the tab holding ``pair``'s lease, then free the pair."""
        if preference not in ANSWERS:
            raise BadAnswer(f"preference={preference!r} is not one of {', '.join(ANSWERS)}")
        with self.lock:
            self._expire()
            if pair in self.answered:
                raise BadAnswer(f"pair {pair!r} is already answered", 409)
            lease = self.leases.get(pair)
            if lease is None or lease.token != token:
                if not (self.directory / QUEUE / f"{pair}.json").is_file():
                    raise BadAnswer(f"no pair {pair!r} in the queue", 404)
                raise BadAnswer(f"pair {pair!r} is not leased to this page (expired?)", 409)
            line = {
                "pair": pair,
                "left": lease.left,
                "right": lease.right,
                "preference": preference,
                "labeller": self.labeller,
                "time": now(),
            }
            append_labels(self.labels_path, [line])
            self.answered.add(pair)
            del self.leases[pair]

    def progress(self) -> dict[str, Any]:
        """Labelled so far, pairs still waiting, and the reward model's accuracy if known."""
        with self.lock:
            waiting = sum(pair not in self.answered for pair in self.queued())
            labelled = len(self.answered)
        return {
            "labelled": labelled,
            "queued": waiting,
            "reward_model_accuracy": reward_model_accuracy(self.directory),
        }


def reward_model_accuracy(directory: Path) -> float | None:
    """The latest held-out pair accuracy: status.json (online runs) or a reward-model stage's
    summary.json; None when neither says."""
    for name, key in ((STATUS, "reward_model_accuracy"), ("summary.json", "validation_accuracy")):
        path = directory / name
        if path.is_file():
            try:
                value = json.loads(path.read_text()).get(key)
            except (json.JSONDecodeError, AttributeError):
                continue
            if isinstance(value, (int, float)) and value == value:  # not NaN
                return float(value)
    return None
