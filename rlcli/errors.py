"""Exceptions for mistakes a user can fix; the CLI prints them as one line and exits with code 2."""


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
