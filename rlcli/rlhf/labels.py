"""The labels file: JSON Lines that people, tools and the synthetic teacher append answers to.

One answer per line, either a pair or a ranking::

    {"left": "seg-000012", "right": "seg-000345", "preference": "left", "labeller": "ana",
     "time": "2026-11-26T10:00:00Z"}
    {"ranking": ["seg-000007", "seg-000002", "seg-000031"], "labeller": "ben", "time": "..."}

``preference`` is ``left``, ``right``, ``equal`` or ``skip`` (skipped pairs are kept in the file
but not learned from). A ranking lists segments best first; its K(K-1)/2 pairs share one unit of
weight. Segment ids name rows of the ``segments.npz`` file beside it.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from rlcli.errors import UserError
from rlcli.rlhf.preferences import ranking_to_pairs

LABELS_FILE = "labels.jsonl"
PREFERENCES = {"left": 1.0, "right": 0.0, "equal": 0.5}
ANSWERS = (*PREFERENCES, "skip")


@dataclass
class Label:
    """One pairwise answer: ``preference`` is P(left better), ``weight`` its share of a ranking."""

    left: str
    right: str
    preference: float
    weight: float = 1.0
    line: int = 0
    """Line of the labels file it came from (for error messages)."""


def now() -> str:
    """UTC time stamp for a label."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def append_labels(path: Path, lines: list[dict]) -> None:
    """Append whole lines under an exclusive lock, then fsync: concurrent writers never
    interleave and a crash never leaves half a line behind a complete one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(json.dumps(line, sort_keys=True) + "\n" for line in lines).encode()
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        os.write(descriptor, data)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _parse_line(text: str, where: str) -> list[Label]:
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        raise UserError(f"{where}: not a JSON object ({error.msg})") from None
    if not isinstance(record, dict):
        raise UserError(f"{where}: not a JSON object")
    if "ranking" in record:
        ranking = record["ranking"]
        if not isinstance(ranking, list) or not all(isinstance(s, str) for s in ranking):
            raise UserError(f"{where}: ranking must be a list of segment ids, best first")
        return [
            Label(better, worse, 1.0, weight) for better, worse, weight in ranking_to_pairs(ranking)
        ]
    missing = [key for key in ("left", "right", "preference") if key not in record]
    if missing:
        raise UserError(f"{where}: missing {', '.join(missing)} (or a ranking)")
    if record["preference"] not in ANSWERS:
        raise UserError(
            f"{where}: preference={record['preference']!r} is not one of {', '.join(ANSWERS)}"
        )
    if record["preference"] == "skip":
        return []
    return [Label(str(record["left"]), str(record["right"]), PREFERENCES[record["preference"]])]


def read_labels(path: Path) -> list[Label]:
    """Every pairwise label of a labels file; a malformed line is an error naming its number."""
    if not path.is_file():
        raise UserError(f"labels file {str(path)!r} does not exist")
    labels: list[Label] = []
    with path.open(encoding="utf-8") as stream:
        for number, text in enumerate(stream, start=1):
            if text.strip():
                for label in _parse_line(text, f"{path}:{number}"):
                    label.line = number
                    labels.append(label)
    return labels
