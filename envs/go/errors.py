"""Errors of the Go engine; the native core raises these too."""
from __future__ import annotations

from komi.errors import KomiError


class GoError(KomiError, ValueError):
    """Bad input to the Go engine: a board size, move index, vertex, record or buffer."""


class IllegalMove(GoError):
    """A move the rules forbid. `reason` is one of: "occupied", "suicide", "ko", "superko",
    "game over", "out of range"; `move` is the move index that was refused."""

    def __init__(self, message: str, reason: str, move: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.move = move


class CoordinateError(GoError):
    """A vertex or point that does not name a point of the board."""


class ArgumentTypeError(GoError, TypeError):
    """An argument of the wrong type given to the native core (a str for a move, a list of
    floats for an array of move indices): a GoError that is also a TypeError."""
