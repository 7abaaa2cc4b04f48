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

import math
from collections.abc import Sequence

import numpy as np

from envs.go import _core
from envs.go.errors import GoError

FEATURE_SETS: tuple[str, ...] = ("agz", "extended", "basic")

MAX_OUT_FLOATS = 1 << 30
"""Largest buffer (in floats, 4 GiB) the encoders allocate themselves; pass `out` for more."""
MAX_BOARDS = 1 << 24
"""Most boards of one encode() call (a sequence claiming more is refused before it is read)."""


def num_planes(feature_set: str) -> int:
    """Number of planes C of a feature set."""
    return _core.num_planes(feature_set)


def symmetry_map(size: int, sym: int) -> np.ndarray:
    """int64 [N*N+1]: the index each move goes to under symmetry `sym` (pass stays pass)."""
    return np.asarray(_core.symmetry_map(size, sym), dtype=np.int64)


def inverse_symmetry(sym: int) -> int:
    """The symmetry that undoes `sym`."""
    return _core.inverse_symmetry(sym)


# The wrappers below check what they need before allocating (a board size, a batch length) and
# leave the rest to the core, which names any bad argument in a GoError.

def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _one_symmetry(sym) -> int:
    _core.inverse_symmetry(sym)   # the core's check: an integer in 0..7
    return int(sym)


def _symmetries(symmetries, batch: int):
    if symmetries is None:
        return np.zeros(batch, np.int64)
    if _is_int(symmetries) or (isinstance(symmetries, np.ndarray) and symmetries.ndim == 0):
        return np.full(batch, _one_symmetry(symmetries), np.int64)
    if isinstance(symmetries, np.ndarray) and symmetries.ndim > 1:
        symmetries = symmetries.reshape(-1)
    if batch != 1 and _length(symmetries, "symmetries") == 1:
        return np.full(batch, _one_symmetry(symmetries[0]), np.int64)
    return symmetries


def _length(value, name: str) -> int:
    if (isinstance(value, np.ndarray) and value.ndim == 1) or isinstance(value, (list, tuple)):
        return len(value)
    raise GoError(f"{name} must be a 1-D array (or list) of integers, got {type(value).__name__}")


def _size(size) -> int:
    if not _is_int(size):
        raise GoError(f"board size must be an integer, got {type(size).__name__}")
    if not 2 <= size <= _core.MAX_SIZE:
        raise GoError(f"board size must be in 2..{_core.MAX_SIZE}, got {size}")
    return int(size)


def _out(out: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    if out is None:
        if math.prod(shape) > MAX_OUT_FLOATS:
            raise GoError(f"a buffer of shape {list(shape)} is over 4 GiB: encode in smaller batches "
                          "or pass out=")
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
    if isinstance(boards, (str, bytes)):
        raise GoError(f"encode: boards must be a sequence of envs.go.Board, got {type(boards).__name__}")
    try:
        if not isinstance(boards, (list, tuple)) and hasattr(boards, "__len__") and len(boards) > MAX_BOARDS:
            raise GoError(f"encode: at most {MAX_BOARDS:,} boards at once, got {len(boards):,}")
        boards = list(boards)
    except GoError:
        raise
    except Exception as err:   # not iterable, or its items cannot be read
        raise GoError(f"encode: boards must be a sequence of envs.go.Board, got {type(boards).__name__} "
                      f"({type(err).__name__})") from None
    if not boards:
        raise GoError("encode needs at least one board")
    if not isinstance(boards[0], _core.Board):
        raise GoError(f"encode: boards[0] must be an envs.go.Board, got {type(boards[0]).__name__}")
    size = boards[0].size
    out = _out(out, (len(boards), num_planes(feature_set), size, size))
    _core.encode(boards, feature_set, _symmetries(symmetries, len(boards)), out)
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
    size = _size(size)
    batch = _length(game_index, "game_index")
    out = _out(out, (batch, num_planes(feature_set), size, size))
    _core.encode_records(codes, offsets, game_index, ply, size, feature_set,
                         _symmetries(symmetries, batch), out, threads)
    return out


def record_outcomes(codes: np.ndarray, offsets: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Replays every record natively to its end.

    Returns (ownership int8 [G, size*size], margin float32 [G]): the Tromp-Taylor owner of each
    point of the final position from Black's view (+1 Black, -1 White, 0 neither) and Black's
    area minus White's (komi not included).
    """
    return _core.record_outcomes(codes, offsets, size)
