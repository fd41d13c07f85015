"""TensorBoard scalars and the run summary; the metric tag list lives here once."""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rlcli.tracking import Tracker

# Tag -> meaning. CleanRL's names, so curves from both tools overlay in one TensorBoard.
METRIC_TAGS: dict[str, str] = {
    "charts/episodic_return": (
        "return of each finished training episode (raw reward, x = env step; Atari: the game's "
        "score over all lives)"
    ),
    "charts/episodic_length": "length of each finished training episode",
    "charts/running_return": (
        "exponential average of the training episodes' returns (weight running_return_weight per "
        "episode; stop_when_running_return_solved stops on it)"
    ),
    "charts/SPS": "training env steps per second since the start (evaluation excluded)",
    "charts/learning_rate": "current learning rate",
    "charts/clip_coef": "current PPO clip range (ppo only)",
    "losses/policy_loss": "policy loss of the last minibatch of the iteration",
    "losses/value_loss": "value loss of the last minibatch (ppo, or pg with a baseline)",
    "losses/entropy": "mean policy entropy of the last minibatch",
    "losses/approx_kl": "approximate KL(old || new) of the last minibatch (ppo only)",
    "losses/clipfrac": "fraction of samples whose ratio left the clip range, over the update (ppo)",
    "losses/explained_variance": "how much of the return variance the value function explains",
    "eval/mean_return": (
        "mean return of the evaluation episodes (deterministic unless eval.deterministic=false)"
    ),
    "eval/std_return": "standard deviation of the evaluation returns",
    "eval/mean_length": "mean length of the evaluation episodes",
}


class MetricsWriter:
    """Writes scalars and the hyperparameters (TensorBoard's HPARAMS view) to a run directory."""

    def __init__(
        self,
        log_dir: Path,
        hyperparameters: dict[str, Any],
        resumed_step: int | None = None,
        trackers: Sequence[Tracker] = (),
    ) -> None:
        """``resumed_step``: TensorBoard drops points at or after it from earlier event files, so
        a resumed run shows no duplicated or stale points after its checkpoint. ``trackers``
        (e.g. W&B) receive the same scalars and the summary."""
        from torch.utils.tensorboard import SummaryWriter  # deferred: it costs ~0.2 s to import
        from torch.utils.tensorboard.summary import hparams

        purge_step = None if resumed_step is None else resumed_step + 1
        self._writer = SummaryWriter(log_dir=str(log_dir), purge_step=purge_step)
        self._trackers = list(trackers)
        experiment, start, end = hparams(
            _tensorboard_hparams(hyperparameters), {"eval/mean_return": math.nan}
        )
        _name_the_trial(start, trial_name(log_dir))
        for summary in (experiment, start, end):
            self._writer.file_writer.add_summary(summary)

    def scalars(self, values: dict[str, float], step: int) -> None:
        """Log each ``tag: value`` at ``step`` (env steps)."""
        for tag, value in values.items():
            self._writer.add_scalar(tag, value, step)
        for tracker in self._trackers:
            tracker.scalars(values, step)

    def summary(self, data: dict[str, Any]) -> None:
        """The run's summary, for the trackers (TensorBoard has the scalars already)."""
        for tracker in self._trackers:
            tracker.summary(data)

    def flush(self) -> None:
        """Push buffered events to disk."""
        self._writer.flush()

    def close(self) -> None:
        """Flush and close the event file, and finish the trackers' runs."""
        self._writer.close()
        for tracker in self._trackers:
            tracker.close()
        self._trackers = []


def _name_the_trial(session_start: Any, name: str) -> None:
    """Set the session group name (the HPARAMS "Trial ID") in torch's session-start summary."""
    from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

    metadata = session_start.value[0].metadata
    data = HParamsPluginData.FromString(metadata.plugin_data.content)
    data.session_start_info.group_name = name
    metadata.plugin_data.content = data.SerializeToString()


def trial_name(run_dir: Path) -> str:
    """A short, distinct name for TensorBoard's HPARAMS rows: the run directory's name without
    its date (``17-35-50_ppo_CartPole-v1_seed0``; a sweep job's ``18-27-01/0_ppo_..._seed0``)."""
    name = run_dir.name
    if re.match(r"\d+_", name):  # a sweep job (<job>_<algo>_<env>_seed<N>): name its sweep too
        name = f"{run_dir.parent.name}/{name}"
    return re.sub(r"^(\d\d-\d\d-\d\d)-\d+_", r"\1_", name)


def _tensorboard_hparams(hyperparameters: dict[str, Any]) -> dict[str, Any]:
    """Flatten nested config into ``a/b: value`` with types TensorBoard's hparams accept."""
    flat: dict[str, Any] = {}
    for key, value in hyperparameters.items():
        if isinstance(value, dict):
            flat.update({f"{key}/{k}": v for k, v in _tensorboard_hparams(value).items()})
        elif isinstance(value, (bool, int, float, str)):
            flat[key] = value
        else:
            flat[key] = str(value)
    return flat


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON atomically (temporary file then rename)."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(temporary, path)
