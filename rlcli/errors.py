"""Exceptions for mistakes a user can fix; the CLI prints them as one line and exits with code 2."""


class UserError(Exception):
    """A bad value in the user's input; the message names it and says what would be valid."""


class TrainingInterrupted(Exception):
    """Training stopped on request (a signal) after saving a checkpoint to resume from."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class TrainingDiverged(Exception):
    """A loss or parameter became NaN or infinite; the last good checkpoint is kept."""
