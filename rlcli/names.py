"""File and directory names made from values (env ids, override lists)."""

from __future__ import annotations

import hashlib
import re

UNSAFE = re.compile(r"[^A-Za-z0-9_.=,+\-\[\]]+")  # what may not stand in one path component


def slug(text: str, max_length: int | None = None) -> str:
    """``text`` made safe as one path component: each run of other characters becomes ``-``
    (``ALE/Pong-v5`` -> ``ALE-Pong-v5``); past ``max_length`` it is cut and ends in a short hash,
    so long names stay distinct."""
    safe = UNSAFE.sub("-", str(text)).strip("-")
    if max_length is None or len(safe) <= max_length:
        return safe
    return f"{safe[: max_length - 9]}~{hashlib.sha1(str(text).encode()).hexdigest()[:8]}"
