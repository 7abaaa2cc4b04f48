"""The one base class for errors a user can cause (bad file, bad move, bad option).

The CLI prints these as one line, `komi: error: ...`, and exits with status 2; anything else
is a bug and keeps its traceback.
"""


class KomiError(Exception):
    """An error caused by input from the user: its message names what was wrong."""
