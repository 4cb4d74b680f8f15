"""User-facing errors: entry points print their one-line message and exit non-zero, without a traceback."""


class UserError(Exception):
    """Bad input the user can fix; the message names the problem and the fix on one line."""
