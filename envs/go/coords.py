"""Conversions between move indices, GTP vertices ("D4", no "I" column) and SGF points ("dd").

Move index = row * size + col, row 0 = the top line; pass = size * size. GTP counts rows from the
bottom (A1 is the bottom-left corner), SGF from the top ("aa" is the top-left corner).
"""
from __future__ import annotations

from envs.go.errors import CoordinateError

GTP_COLUMNS = "ABCDEFGHJKLMNOPQRSTUVWXYZ"
SGF_LETTERS = "abcdefghijklmnopqrstuvwxyz"
MAX_SIZE = 25


def _check_size(size: int) -> None:
    if not isinstance(size, int) or not 2 <= size <= MAX_SIZE:
        raise CoordinateError(f"board size must be an integer in 2..{MAX_SIZE}, got {size!r}")


def _check_move(move: int, size: int) -> None:
    _check_size(size)
    if not isinstance(move, int) and not hasattr(move, "__index__"):
        raise CoordinateError(f"move must be an integer index, got {move!r}")
    if not 0 <= int(move) <= size * size:
        raise CoordinateError(f"move {move} is out of range for a {size}x{size} board "
                              f"(0..{size * size}, {size * size} = pass)")


def to_gtp(move: int, size: int) -> str:
    """GTP vertex of a move index: "D4", or "pass"."""
    _check_move(move, size)
    move = int(move)
    if move == size * size:
        return "pass"
    row, col = divmod(move, size)
    return f"{GTP_COLUMNS[col]}{size - row}"


def from_gtp(vertex: str, size: int) -> int:
    """Move index of a GTP vertex ("D4", "d4", "pass"); raises CoordinateError if it is not one."""
    _check_size(size)
    if not isinstance(vertex, str):
        raise CoordinateError(f"GTP vertex must be a string, got {vertex!r}")
    text = vertex.strip().upper()
    if text == "PASS":
        return size * size
    if len(text) < 2 or text[0] not in GTP_COLUMNS[:size] or not text[1:].isdigit() or not text[1:].isascii():
        raise CoordinateError(f"{vertex!r} is not a vertex of a {size}x{size} board "
                              f"(columns {GTP_COLUMNS[0]}..{GTP_COLUMNS[size - 1]}, no I; rows 1..{size})")
    number = int(text[1:])
    if not 1 <= number <= size:
        raise CoordinateError(f"{vertex!r}: row {number} is not on a {size}x{size} board (1..{size})")
    return (size - number) * size + GTP_COLUMNS.index(text[0])


def to_sgf(move: int, size: int) -> str:
    """SGF point of a move index ("dd"); pass is the empty string (FF[4])."""
    _check_move(move, size)
    move = int(move)
    if move == size * size:
        return ""
    row, col = divmod(move, size)
    return SGF_LETTERS[col] + SGF_LETTERS[row]


def from_sgf(point: str, size: int) -> int:
    """Move index of an SGF point ("dd"); "" and, on boards up to 19x19, "tt" are pass."""
    _check_size(size)
    if not isinstance(point, str):
        raise CoordinateError(f"SGF point must be a string, got {point!r}")
    if point == "" or (point == "tt" and size <= 19):
        return size * size
    if len(point) != 2 or any(ch not in SGF_LETTERS[:size] for ch in point):
        raise CoordinateError(f"{point!r} is not an SGF point of a {size}x{size} board "
                              f"(two letters a..{SGF_LETTERS[size - 1]}, or '' for pass)")
    return SGF_LETTERS.index(point[1]) * size + SGF_LETTERS.index(point[0])
