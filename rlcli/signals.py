"""SIGINT/SIGTERM: the first asks training to checkpoint and stop; a second exits at once."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rlcli.errors import EXIT_BY_SIGNAL

EXIT_CODES = {signal.Signals[name]: code for name, code in EXIT_BY_SIGNAL.items()}


@contextmanager
def stop_on_signals(request_stop: Callable[[str], None]) -> Iterator[None]:
    """Install the handlers for the duration of the block, then restore the previous ones."""
    received: list[int] = []

    def handle(signum: int, _frame: object) -> None:
        if received:
            sys.stderr.write("\nrlcli: second signal, exiting now without a checkpoint\n")
            os._exit(EXIT_CODES.get(signum, 1))
            return
        received.append(signum)
        name = signal.Signals(signum).name
        sys.stderr.write(f"\nrlcli: {name} received, saving a checkpoint (again to quit now)\n")
        request_stop(name)

    previous = {signum: signal.signal(signum, handle) for signum in EXIT_CODES}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
