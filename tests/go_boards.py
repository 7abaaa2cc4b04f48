"""Test helper: Go positions drawn as ASCII art (X black, O white, . empty; row 0 on top)."""
from __future__ import annotations

import numpy as np

from envs.go import BLACK, WHITE, Board


def parse(art: str) -> np.ndarray:
    """int8 [N, N] stones from a square drawing (spaces between points are optional)."""
    rows = [line.replace(" ", "") for line in art.strip().splitlines()]
    size = len(rows)
    assert all(len(r) == size for r in rows), f"not a square drawing:\n{art}"
    table = {"X": BLACK, "O": WHITE, ".": 0}
    return np.array([[table[ch] for ch in r] for r in rows], dtype=np.int8)


def board_from(art: str, to_play: int = BLACK, **options) -> Board:
    """A Board with the drawn stones as its starting position and `to_play` to move."""
    stones = parse(art)
    board = Board(size=stones.shape[0], **options)
    flat = stones.reshape(-1)
    board.set_stones(black=np.flatnonzero(flat == BLACK).tolist(),
                     white=np.flatnonzero(flat == WHITE).tolist())
    board.set_to_play(to_play)
    return board


def at(row: int, col: int, size: int) -> int:
    """Move index of (row, col)."""
    return row * size + col
