"""Exceptions for mistakes a user can fix; the CLI prints them as one line and exits with code 2."""


class UserError(Exception):
    """A bad value in the user's input; the message names it and says what would be valid."""
