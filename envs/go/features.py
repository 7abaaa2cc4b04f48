"""Feature planes for the network, encoded natively into float32 [B, C, N, N] buffers.

Feature sets (plane order; "own" = the side to move):

- "agz" (17 planes): 0-7 own stones now, 1, ..., 7 moves ago; 8-15 opponent stones now, 1, ...,
  7 moves ago; 16 ones if Black is to move.
- "extended" (30 planes): the 17 "agz" planes, then 17 ones (on-board marker); 18-20 own stones
  whose chain has 1 / 2 / >= 3 liberties; 21-23 the same for the opponent; 24 legal moves of the
  side to move (pass excluded); 25 the simple-ko point the side to move may not take; 26-29 the
  last, 2nd, 3rd and 4th last move (one-hot; empty for a pass or before the game).
- "basic" (4 planes): own stones, opponent stones, empty points, ones if Black is to move.

History before the start of the game (or before the last setup) is all zeros.

Symmetries 0..7: transpose if `s & 4`, then flip rows if `s & 1`, then flip columns if `s & 2`.
The planes of position p under symmetry s are the planes of p moved point by point with
`symmetry_map(size, s)`; a move target maps the same way.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from envs.go import _core
from envs.go.errors import GoError

FEATURE_SETS: tuple[str, ...] = ("agz", "extended", "basic")

_INVERSE = tuple(_core.inverse_symmetry(s) for s in range(8))


def num_planes(feature_set: str) -> int:
    """Number of planes C of a feature set."""
    return _core.num_planes(feature_set)


def symmetry_map(size: int, sym: int) -> np.ndarray:
    """int64 [N*N+1]: the index each move goes to under symmetry `sym` (pass stays pass)."""
    return np.asarray(_core.symmetry_map(size, sym), dtype=np.int64)


def inverse_symmetry(sym: int) -> int:
    """The symmetry that undoes `sym`."""
    if not 0 <= int(sym) <= 7:
        raise GoError(f"symmetry must be in 0..7, got {sym}")
    return _INVERSE[int(sym)]


def _symmetries(symmetries, batch: int) -> np.ndarray:
    if symmetries is None:
        return np.zeros(batch, np.int64)
    sym = np.ascontiguousarray(symmetries, dtype=np.int64).reshape(-1)
    if sym.size == 1 and batch != 1:
        sym = np.full(batch, sym[0], np.int64)
    return sym


def _out(out: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    if out is None:
        return np.empty(shape, np.float32)
    if not isinstance(out, np.ndarray) or out.dtype != np.float32 or not out.flags.c_contiguous \
            or not out.flags.writeable:
        raise GoError("out must be a writeable C-contiguous float32 numpy array")
    if out.shape != shape:
        raise GoError(f"out must have shape {list(shape)}, got {list(out.shape)}")
    return out


def encode(boards: Sequence, feature_set: str = "extended", symmetries=None,
           out: np.ndarray | None = None) -> np.ndarray:
    """Planes of the given boards (all the same size): float32 [B, C, N, N].

    symmetries: int [B] in 0..7 (or one int for all; default identity). out: an optional
    buffer of exactly that shape to write into (returned).
    """
    boards = list(boards)
    if not boards:
        raise GoError("encode needs at least one board")
    size = boards[0].size
    out = _out(out, (len(boards), num_planes(feature_set), size, size))
    try:
        _core.encode(boards, feature_set, _symmetries(symmetries, len(boards)), out)
    except TypeError as err:
        raise GoError(f"encode: boards must be envs.go.Board objects ({err})") from None
    return out


def encode_records(codes: np.ndarray, offsets: np.ndarray, game_index: np.ndarray, ply: np.ndarray,
                   size: int, feature_set: str = "extended", symmetries=None,
                   out: np.ndarray | None = None, threads: int = 1) -> np.ndarray:
    """Replays compact game records natively and encodes one position per (game, ply).

    codes int16 [T] and offsets int64 [G+1] as in selfplay.shards (game g is
    codes[offsets[g]:offsets[g+1]]); game_index, ply: int [B]; the position is the one before
    entry `ply` of the game (setup entries included), with the colour of that entry to move.
    Returns float32 [B, C, size, size] (written into `out` if given). `threads` > 1 splits the
    batch across native threads (the GIL is released either way).
    """
    game_index = np.ascontiguousarray(game_index, dtype=np.int64).reshape(-1)
    ply = np.ascontiguousarray(ply, dtype=np.int64).reshape(-1)
    out = _out(out, (len(game_index), num_planes(feature_set), int(size), int(size)))
    _core.encode_records(np.ascontiguousarray(codes, dtype=np.int16).reshape(-1),
                         np.ascontiguousarray(offsets, dtype=np.int64).reshape(-1),
                         game_index, ply, int(size), feature_set,
                         _symmetries(symmetries, len(game_index)), out, int(threads))
    return out


def record_outcomes(codes: np.ndarray, offsets: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Replays every record natively to its end.

    Returns (ownership int8 [G, size*size], margin float32 [G]): the Tromp-Taylor owner of each
    point of the final position from Black's view (+1 Black, -1 White, 0 neither) and Black's
    area minus White's (komi not included).
    """
    return _core.record_outcomes(np.ascontiguousarray(codes, dtype=np.int16).reshape(-1),
                                 np.ascontiguousarray(offsets, dtype=np.int64).reshape(-1), int(size))
