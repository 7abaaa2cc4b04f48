"""Compact game records: one int16 code per entry, shared by shards, the encoder and self-play.

    code = (point << 2) | (color_bit << 1) | setup_bit

point in 0..size*size (size*size = pass), color_bit 0 = Black / 1 = White, setup_bit 1 = a
setup stone (SGF AB/AW, handicap) rather than a move. A record lists its setup stones first,
then its moves.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np

from envs.go.errors import GoError

SETUP_BIT = 1
COLOR_BIT = 2


class Record(NamedTuple):
    """A record unpacked: setup stones and moves as (color, point) pairs, colour +1 / -1."""

    setup: list[tuple[int, int]]
    moves: list[tuple[int, int]]


def encode_entry(point: int, color: int, setup: bool = False) -> int:
    """The code of one entry."""
    if color not in (1, -1):
        raise GoError(f"record entry colour must be 1 or -1, got {color!r}")
    if not 0 <= point < 2 ** 13:
        raise GoError(f"record entry point {point} does not fit a record code")
    return (point << 2) | (COLOR_BIT if color < 0 else 0) | (SETUP_BIT if setup else 0)


def pack_record(moves: Iterable[tuple[int, int]], size: int,
                setup_black: Sequence[int] = (), setup_white: Sequence[int] = ()) -> np.ndarray:
    """int16 codes of a game: setup stones first, then `moves` as (color, point) pairs."""
    limit = size * size
    codes: list[int] = []
    for color, points in ((1, setup_black), (-1, setup_white)):
        for p in points:
            if not 0 <= p < limit:
                raise GoError(f"setup stone {p} is not a point of a {size}x{size} board")
            codes.append(encode_entry(int(p), color, setup=True))
    for i, (color, point) in enumerate(moves):
        if not 0 <= point <= limit:
            raise GoError(f"move {i}: {point} is out of range for a {size}x{size} board")
        codes.append(encode_entry(int(point), int(color)))
    return np.asarray(codes, dtype=np.int16)


def unpack(codes: np.ndarray) -> Record:
    """The setup stones and moves of a record, in order."""
    codes = np.asarray(codes).astype(np.int64)
    points, colors = codes >> 2, np.where(codes & COLOR_BIT, -1, 1)
    setup: list[tuple[int, int]] = []
    moves: list[tuple[int, int]] = []
    for point, color, is_setup in zip(points.tolist(), colors.tolist(), (codes & SETUP_BIT).tolist()):
        (setup if is_setup else moves).append((color, point))
    return Record(setup, moves)


def board_from_record(codes: np.ndarray, size: int, komi: float = 7.5, ply: int | None = None,
                      **board_options):
    """A Board after replaying the first `ply` entries of a record (all by default) under the
    board's rules (raises IllegalMove on a move they forbid)."""
    from envs.go import Board

    codes = np.asarray(codes)
    ply = len(codes) if ply is None else ply
    board = Board(size=size, komi=komi, **board_options)
    record = unpack(codes[:ply])
    if record.setup:
        board.set_stones(black=[p for c, p in record.setup if c == 1],
                         white=[p for c, p in record.setup if c == -1])
    for color, point in record.moves:
        board.play(point, color)
    return board
