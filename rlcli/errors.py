"""How a run can end badly: the exceptions, and the exit codes the CLI (and the SLURM launcher)
turn them into. A mistake a user can fix is one line and exit code 2."""

EXIT_USER_ERROR = 2
"""A bad value in the user's input (UserError), refused before anything is written."""
EXIT_DIVERGED = 3
"""Training diverged (TrainingDiverged)."""
EXIT_JOBS_FAILED = 1
"""A multirun finished, but some of its jobs failed (see their failed.json)."""
EXIT_BY_SIGNAL = {"SIGINT": 130, "SIGTERM": 143}
"""Stopped by a signal (TrainingInterrupted): 128 + the signal number, as shells report it."""


def install_hint(extra: str) -> str:
    """The command that installs one of rlcli's optional extras (from a clone of the project)."""
    return f"pip install -e '.[{extra}]' (in the rlcli clone)"


class UserError(Exception):
    """A bad value in the user's input; the message names it and says what would be valid."""


class TrainingInterrupted(Exception):
    """Training stopped on request (a signal) after saving a checkpoint to resume from."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class TrainingDiverged(Exception):
    """A loss or parameter became NaN or infinite; the last good checkpoint is kept."""


class RunPruned(Exception):
    """An Optuna search's pruner stopped this run at an evaluation; the run wrote no summary."""
