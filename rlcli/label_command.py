"""``rlcli label``: people compare queued pairs of clips in the browser (a local web app)."""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import socket
import sys
from pathlib import Path

from rlcli.arguments import parse_path_and_options
from rlcli.errors import UserError
from rlcli.rlhf.label_queue import LABELLING_DIR, QUEUE


@dataclasses.dataclass
class LabelRequest:
    """What ``rlcli label`` was asked to do."""

    path: Path
    host: str = "127.0.0.1"
    port: int = 8765
    """0 picks a free port."""
    labeller: str = dataclasses.field(default_factory=lambda: os.environ.get("USER") or "human")
    """The name written with every answer."""
    allow_remote: bool = False
    """Needed to listen on an address other machines can reach."""
    lease_seconds: float = 120.0
    """How long a page holds a pair before another page may get it."""
    pairs_from: str | None = None
    """Comma-separated rlcli collect datasets: queue random pairs of their segments first."""
    pairs: int = 100
    segment_length: int = 25
    seed: int = 0


def parse_label_arguments(arguments: list[str]) -> LabelRequest:
    """``<dir> key=value ...`` -> LabelRequest."""
    kinds = {
        "host": str,
        "port": int,
        "labeller": str,
        "allow_remote": bool,
        "lease_seconds": float,
        "pairs_from": str,
        "pairs": int,
        "segment_length": int,
        "seed": int,
    }
    path, values = parse_path_and_options("label", arguments, kinds)
    request = LabelRequest(path, **values)
    for key, value, low in (
        ("pairs", request.pairs, 1),
        ("segment_length", request.segment_length, 2),
        ("lease_seconds", request.lease_seconds, 1),
    ):
        if value < low:
            raise UserError(f"{key}={value} must be >= {low}")
    if not 0 <= request.port <= 65535:
        raise UserError(f"port={request.port} is not a TCP port (0-65535)")
    if not request.labeller.strip() or len(request.labeller) > 100:
        raise UserError("labeller= needs a name of 1-100 characters")
    check_host(request.host, request.allow_remote)
    return request


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_host(host: str, allow_remote: bool) -> None:
    """Refuse a non-loopback address unless ``allow_remote``; warn when it is allowed."""
    if is_loopback(host):
        return
    if not allow_remote:
        raise UserError(
            f"host={host} is reachable from other machines, and the page has no login: add "
            "allow_remote=true to serve it there anyway"
        )
    print(
        f"rlcli: warning: serving on {host}: anyone who can reach it can read the clips and "
        "write labels",
        file=sys.stderr,
    )


def labelling_dir(request: LabelRequest) -> Path:
    """The directory whose queue is served: <run dir>/labelling of an RLHF run, or the path."""
    if (request.path / LABELLING_DIR).is_dir():
        return request.path / LABELLING_DIR
    if request.pairs_from is None and not (request.path / QUEUE).is_dir():
        raise UserError(
            f"{str(request.path)!r} holds no labelling queue (queue/): pass an RLHF run directory "
            "trained with rlhf.labeller.kind=human, or make one from datasets with "
            "pairs_from=<dataset dir>[,<dataset dir>...]"
        )
    return request.path


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port``; a user error when it cannot (a port in use)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as error:
        raise UserError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None


def label_command(request: LabelRequest) -> None:
    """Queue pairs if asked, check the labels file, then serve the page until interrupted."""
    from werkzeug.serving import make_server

    from rlcli.rlhf.label_app import create_app
    from rlcli.rlhf.label_queue import PairQueue

    directory = labelling_dir(request)
    queue = PairQueue(directory, request.labeller, request.lease_seconds)  # checks labels.jsonl
    app = create_app(queue)
    with listening_socket(request.host, request.port) as listening:  # before pairs are made
        server = make_server(request.host, request.port, app, threaded=True, fd=listening.fileno())
    try:
        if request.pairs_from is not None:
            from rlcli.rlhf.offline_pairs import write_pair_queue

            datasets = [part for part in request.pairs_from.split(",") if part]
            size = write_pair_queue(
                directory, datasets, request.pairs, request.segment_length, request.seed
            )
            print(f"queued {request.pairs} pairs of {size} segments in {directory}")
        host = f"[{request.host}]" if ":" in request.host else request.host
        url = f"http://{host}:{server.port}/"
        print(f"labelling {directory} as {request.labeller!r}: {url}", flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
