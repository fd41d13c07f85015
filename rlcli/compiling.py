"""torch.compile of the update step (``compile=auto|true|false``) and whether it pays for a run.

Compiling removes eager PyTorch's per-operation overhead from the loss graph, forward and
backward: on this project's 2-core CPU a PPO gradient step of the 64x64 CartPole networks at batch
256 took 1.0-1.1 ms eager and 0.58-0.78 ms compiled. It costs ~17-20 s the first time a graph is
compiled on a machine and ~3-4 s once inductor's on-disk cache holds it. ``auto`` compiles only
when the predicted saving over the run's budget exceeds that cost; rlcli leaves a marker file
beside inductor's cache after a graph's first compilation, so a repeated configuration counts the
warm cost. Nothing here imports torch._dynamo (~1-2 s) unless a run compiles.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

COMPILE_MODES = ("auto", "true", "false")
SAVED_SECONDS_PER_GRADIENT_STEP = 3.5e-4
"""Eager per-operation overhead a compiled gradient step saves (measured, CartPole networks); a
network bound by its matmuls saves about as much, so this holds for larger ones as a lower bound."""
COLD_COMPILE_SECONDS = 20.0
"""Compiling the update step with an empty inductor cache (measured 17-20 s, 2-core CPU)."""
WARM_COMPILE_SECONDS = 4.0
"""Compiling it again with inductor's on-disk cache warm (measured ~3 s)."""


def compile_mode(value: str) -> str:
    """The configured mode in lower case (Hydra reads ``compile=true`` as a boolean: "True")."""
    return str(value).lower()


def inductor_cache_dir() -> Path:
    """Where inductor keeps compiled kernels (its own default, computed without importing it)."""
    configured = os.environ.get("TORCHINDUCTOR_CACHE_DIR")
    if configured:
        return Path(configured)
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid_{os.getuid()}"
    return Path(tempfile.gettempdir()) / ("torchinductor_" + re.sub(r'[\\/:*?"<>|]', "_", user))


def marker(signature: str) -> Path:
    """The file that says the graph described by ``signature`` was compiled on this machine."""
    digest = hashlib.sha256(signature.encode()).hexdigest()[:20]
    return inductor_cache_dir() / "rlcli" / f"{digest}.compiled"


def compile_seconds(signature: str) -> float:
    """Predicted compile time: warm when this graph was compiled here before, else cold."""
    return WARM_COMPILE_SECONDS if marker(signature).is_file() else COLD_COMPILE_SECONDS


def should_compile(mode: str, gradient_steps: int, signature: str) -> bool:
    """Whether to compile: as configured, or (auto) when the saving over ``gradient_steps``
    gradient steps outweighs the predicted compile time."""
    mode = compile_mode(mode)
    if mode != "auto":
        return mode == "true"
    return gradient_steps * SAVED_SECONDS_PER_GRADIENT_STEP > compile_seconds(signature)


def compiled(function: Callable[..., Any], signature: str) -> Callable[..., Any]:
    """``function`` under torch.compile; its first call leaves the marker for ``signature``.

    Random operations inside compiled code draw from torch's own generator as eager code does
    (inductor's ``fallback_random``), so sampling and the checkpointed RNG state stay exact.
    """
    import torch
    import torch._inductor.config as inductor_config

    inductor_config.fallback_random = True
    compiled_function = torch.compile(function)
    first_call = [True]

    def call(*args: Any, **kwargs: Any) -> Any:
        result = compiled_function(*args, **kwargs)
        if first_call[0]:
            first_call[0] = False
            path = marker(signature)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
        return result

    return call
