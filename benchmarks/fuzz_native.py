#!/usr/bin/env python
"""Long-run fuzzer of the native core's boundary: every function and method of envs.go._core
(Board, random_games, zobrist_key, the feature encoders, Search) and their Python faces
(envs.go.features, agent.search: SearchConfig, BatchedSearch, search_position), called with
hostile arguments: huge and negative integers, NaN and infinite floats, wrong types, arrays of
the wrong dtype, shape, order or writeability, broken evaluators.

    nice -n 15 python benchmarks/fuzz_native.py --calls 1000000 --seed 1

Call i is drawn from its own generator (seed, i), so any call can be replayed alone
(`--replay I` prints it and its outcome). The calls run in a child process, which reports each
outcome through a pipe; the parent counts outcomes by exception type and detects crashes (the
child dies: a signal or an exit) and hangs (a call that has used --hang-seconds of CPU, 2 s by
default, or has slept that long, without an outcome: on a loaded machine a child waiting for a
core is not hung; after 120 s it is, whatever it did). A hung child is killed; after a crash or a
hang the child restarts at the next call. The child runs under an address-space limit
(--memory-gb) so that an allocation a hostile number implies fails and is counted instead of
swamping the machine.

Allowed outcomes: a return, or GoError and its documented subclasses (IllegalMove,
CoordinateError, ArgumentTypeError). A search whose evaluator raises on purpose passes that
exception on (EvaluatorFailure, counted apart), and must stay usable: each search call ends by
checking that the object still works (no virtual loss left, a fresh run completes). Anything else
is counted as "unexpected:<type>" with its first example.

tests/test_native_hostile.py runs a bounded number of calls through the same machinery.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import select
import signal
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from agent.search import BatchedSearch, SearchConfig, search_position  # noqa: E402
from envs.go import Board, _core, features, random_games  # noqa: E402
from envs.go.errors import GoError  # noqa: E402

ALLOWED = ("GoError", "IllegalMove", "CoordinateError", "ArgumentTypeError")
"""Exception types a hostile call may raise (GoError and its documented subclasses)."""


class EvaluatorFailure(Exception):
    """Raised by a fuzzed evaluator on purpose; a search must pass it on and stay usable."""


# ---- hostile values ------------------------------------------------------------------------------

class BadIndex:
    """An integer-like object whose conversion fails."""

    def __index__(self):
        raise RuntimeError("no index")


class HugeIndex:
    def __index__(self):
        return 2**200


class BadFloat:
    def __float__(self):
        raise ArithmeticError("no float")


class LyingSequence:
    """Claims a length, then fails to give its items."""

    def __len__(self):
        return 3

    def __getitem__(self, i):
        raise KeyError(i)


class HugeSequence:
    def __len__(self):
        return 2**62

    def __getitem__(self, i):
        return 0


class BadArray:
    def __array__(self, *args, **kwargs):
        raise ValueError("no array")


NAN, INF = float("nan"), float("inf")
SMALL_INTS = [-1, 0, 1, 2, 3, 4, 5, 7, 8, 9, 24, 25, 26, 80, 81, 82, 361, 625, 1000, -1000]
HUGE_INTS = [2**15, 2**31 - 1, 2**31, -2**31 - 1, 2**32, 2**63 - 1, 2**63, -2**63, -2**63 - 1, 2**64,
             2**64 - 1, 10**30, -10**30, 2**1000, -(2**4000)]
NUMPY_SCALARS = [np.int64(3), np.int32(-1), np.uint64(2**64 - 1), np.int8(5), np.uint8(255), np.bool_(True),
                 np.float32(NAN), np.float64(7.5), np.float16(2), np.int64(-2**63)]
FLOATS = [NAN, INF, -INF, 0.0, -0.0, 0.5, 1.5, 7.5, -7.5, 1e-30, 1e30, -1e30, 1e308, 5e-324, 3.0]
OTHERS = [None, True, False, "", "x", "extended", "none", "agz", "basic", "positional", "\ud800", "a" * 1000,
          b"abc", bytearray(b"1"), [], [1, 2], ["a"], [None], [[1, 2], [3]], [1.5], [2**70], (1,), (), {}, {1: 2},
          set(), object(), range(3), range(10**12), 1 + 2j, Fraction(1, 3), Decimal("nan"), BadIndex(),
          HugeIndex(), BadFloat(), LyingSequence(), HugeSequence(), BadArray(), print, Ellipsis, NotImplemented]


def fill_array(r: random.Random, a: np.ndarray, dtype) -> None:
    fill = r.choice(["zero", "small", "huge", "nan", "negative"])
    if fill == "small":
        a[...] = np.asarray(r.randrange(0, 8)).astype(dtype)
    elif fill == "huge":
        a.flat[r.randrange(a.size)] = np.iinfo(dtype).max if np.dtype(dtype).kind in "iu" else np.finfo(dtype).max
    elif fill == "nan" and np.dtype(dtype).kind == "f":
        a.flat[r.randrange(a.size)] = np.nan
    elif fill == "negative" and np.dtype(dtype).kind in "if":
        a.flat[r.randrange(a.size)] = -r.choice([1, 2, 1000, 2**15 - 1])


def hostile_array(r: random.Random) -> np.ndarray:
    dtype = r.choice([np.float32, np.float64, np.float16, np.int8, np.int16, np.int32, np.int64, np.uint64, bool,
                      object, np.complex64, "<U2"])
    shape = r.choice([(), (0,), (1,), (2,), (3,), (26,), (82,), (2, 2), (1, 26), (1, 82), (2, 82), (8, 4, 5, 5),
                      (16, 4, 5, 5), (8, 30, 9, 9), (1, 4, 9, 9), (2, 17, 9, 9), (1, 30, 19, 19), (0, 4, 5, 5),
                      (2, 1, 1), (3, 0)])
    a = np.zeros(shape, dtype)
    if a.size and np.dtype(dtype).kind in "iuf":
        try:
            fill_array(r, a, dtype)
        except (ValueError, OverflowError):
            pass   # a value this dtype cannot hold: the array stays as it is
    form = r.choice(["plain", "plain", "readonly", "fortran", "strided", "swapped"])
    if form == "readonly":
        a.flags.writeable = False
    elif form == "fortran" and a.ndim > 1:
        a = np.asfortranarray(a)
    elif form == "strided" and a.ndim >= 1 and a.shape[-1] > 1:
        a = np.repeat(a, 2, axis=-1)[..., ::2]
    elif form == "swapped" and np.dtype(dtype).kind in "iuf" and np.dtype(dtype).itemsize > 1:
        a = a.astype(a.dtype.newbyteorder())
    return a


def hostile(r: random.Random):
    kind = r.random()
    if kind < 0.22:
        return r.choice(SMALL_INTS)
    if kind < 0.40:
        return r.choice(HUGE_INTS)
    if kind < 0.48:
        return r.choice(NUMPY_SCALARS)
    if kind < 0.62:
        return r.choice(FLOATS)
    if kind < 0.85:
        return r.choice(OTHERS)
    return hostile_array(r)


def pick(r: random.Random, valid, p_hostile: float = 0.3):
    """A valid value (valid(r)) or, with probability p_hostile, a hostile one."""
    return hostile(r) if r.random() < p_hostile else valid(r)


def short(value) -> str:
    if isinstance(value, np.ndarray):
        flags = "" if value.flags.writeable else " ro"
        flags += "" if value.flags.c_contiguous else " non-C"
        return f"array({value.dtype}{list(value.shape)}{flags})"
    if isinstance(value, Board):
        return f"Board({value.size}, move {value.move_number})"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# ---- valid values --------------------------------------------------------------------------------

def a_board(r: random.Random, size: int | None = None) -> Board:
    size = size or r.choice([5, 9, 19])
    b = Board(size, superko=r.choice(["positional", "situational", "none"]))
    for _ in range(r.randrange(0, 6)):
        legal = b.legal_moves()
        if len(legal):
            b.play(int(legal[r.randrange(len(legal))]))
    return b


def moves_of(r: random.Random, size: int) -> list[int]:
    return r.sample(range(size * size), r.randrange(0, 4))


def record(r: random.Random, size: int):
    """(codes int16, offsets int64) of a few short records (valid or hostile content)."""
    games, codes, offsets = r.randrange(1, 4), [], [0]
    for _ in range(games):
        for _ in range(r.randrange(0, 6)):
            if r.random() < 0.1:
                codes.append(r.choice([-1, (size * size + 1) << 2, 2**15 - 1, 1, size * size << 2 | 1]))
            else:
                codes.append(r.randrange(size * size + 1) << 2 | r.randrange(2) << 1)
        offsets.append(len(codes))
    return np.asarray(codes, np.int16), np.asarray(offsets, np.int64)


class Evaluator:
    """A network stand-in: uniform logits and values in [-1, 1], or a broken answer."""

    KINDS = ("good", "good", "good", "nan_value", "inf_logits", "nan_logits", "shape", "count", "dtype", "list",
             "none", "tuple3", "raise", "huge", "outside", "torchlike")

    def __init__(self, kind: str, seed: int) -> None:
        self.kind, self.rng = kind, np.random.default_rng(seed)

    def evaluate(self, planes):
        n, moves = planes.shape[0], planes.shape[-1] ** 2 + 1
        logits = np.zeros((n, moves), np.float32)
        values = self.rng.uniform(-1, 1, n).astype(np.float32)
        k = self.kind
        if k == "nan_value":
            values[self.rng.integers(n)] = np.nan
        elif k == "inf_logits":
            logits[0, 0] = np.inf
        elif k == "nan_logits":
            logits[:] = np.nan
        elif k == "shape":
            logits = logits[:, :-1]
        elif k == "count":
            return np.zeros((n + 1, moves), np.float32), np.zeros(n + 1, np.float32)
        elif k == "dtype":
            return logits.astype(np.float64), values.astype(object)
        elif k == "list":
            return logits.tolist(), values.tolist()
        elif k == "none":
            return None
        elif k == "tuple3":
            return logits, values, values
        elif k == "raise":
            raise EvaluatorFailure("the evaluator failed")
        elif k == "huge":
            logits[:] = np.float32(3e38)
            logits[:, 0] = -np.float32(3e38)
        elif k == "outside":
            values[:] = 1e30
        elif k == "torchlike":
            return memoryview(logits), values
        return logits, values


def check_usable(search: _core.Search) -> None:
    """A search after any call: cancelled leaves leave no virtual loss and a fresh run completes."""
    search.cancel()
    for g in range(search.num_games):
        assert search.virtual_loss_total(g) == 0, "virtual loss left after cancel()"
    size, games = search.size, min(search.num_games, 2)
    search.begin(np.arange(games, dtype=np.int64), np.full(games, 3, np.int64), np.zeros(games, bool))
    buf = np.zeros((search.max_leaves, search.planes, size, size), np.float32)
    for _ in range(64):
        n = search.select(buf)
        if n == 0:
            break
        search.backup(np.zeros((n, size * size + 1), np.float32), np.zeros(n, np.float32))
    else:
        raise AssertionError("a 3-visit run did not finish in 64 rounds")
    for g in range(search.num_games):
        assert search.virtual_loss_total(g) == 0, "virtual loss left after a run"


# ---- targets: each draws its arguments and returns (label, thunk) ---------------------------------

def t_board_init(r):
    args = [pick(r, lambda r: r.choice([2, 5, 9, 19, 25])), pick(r, lambda r: r.choice([0.0, 7.5, -3.5, 1000])),
            pick(r, lambda r: r.choice(["positional", "situational", "none"])), pick(r, lambda r: r.random() < 0.5),
            pick(r, lambda r: r.choice([None, 1, 50, 10**9]))]
    return f"Board{tuple(map(short, args))}", lambda: Board(*args)


BOARD_METHODS = {
    "play": lambda r, b: [pick(r, lambda r: r.randrange(b.size ** 2 + 1)), pick(r, lambda r: r.choice([None, 1, -1]))],
    "is_legal": lambda r, b: [pick(r, lambda r: r.randrange(b.size ** 2 + 1)), pick(r, lambda r: None)],
    "illegal_reason": lambda r, b: [pick(r, lambda r: r.randrange(b.size ** 2 + 1)), pick(r, lambda r: 1)],
    "territory_score": lambda r, b: [pick(r, lambda r: [int(m) for m in np.flatnonzero(b.stones())][:2])],
    "resign": lambda r, b: [pick(r, lambda r: r.choice([None, 1, -1]))],
    "place_handicap": lambda r, b: [pick(r, lambda r: r.randrange(0, 11))],
    "set_free_handicap": lambda r, b: [pick(r, lambda r: moves_of(r, b.size))],
    "set_stones": lambda r, b: [pick(r, lambda r: moves_of(r, b.size)), pick(r, lambda r: moves_of(r, b.size)),
                                pick(r, lambda r: moves_of(r, b.size))],
    "set_to_play": lambda r, b: [pick(r, lambda r: r.choice([1, -1]))],
    "playout": lambda r, b: [pick(r, lambda r: r.randrange(2**64)), pick(r, lambda r: r.random() < 0.5),
                             pick(r, lambda r: r.choice([0, 1, 30]))],
    "last_moves": lambda r, b: [pick(r, lambda r: r.randrange(0, 9))],
    "__deepcopy__": lambda r, b: [hostile(r)],
    "legal_moves": lambda r, b: [], "is_over": lambda r, b: [], "score": lambda r, b: [],
    "winner": lambda r, b: [], "copy": lambda r, b: [], "__copy__": lambda r, b: [], "stones": lambda r, b: [],
    "ownership": lambda r, b: [], "liberties": lambda r, b: [], "__str__": lambda r, b: [],
    "__repr__": lambda r, b: [],
}
BOARD_PROPERTIES = ("size", "komi", "to_play", "move_number", "last_move", "captures", "ko_point",
                    "consecutive_passes", "resigned", "hash", "superko", "allow_suicide", "max_moves")


def t_board_method(r):
    b = a_board(r)
    name = r.choice(sorted(BOARD_METHODS))
    args = BOARD_METHODS[name](r, b)

    def call():
        getattr(b, name)(*args)
        for prop in BOARD_PROPERTIES:   # the board stays whole, whatever was refused
            getattr(b, prop)
        b.legal_moves()
        b.stones()
    return f"{short(b)}.{name}{tuple(map(short, args))}", call


def t_random_games(r):
    args = [pick(r, lambda r: r.choice([2, 5, 9])), pick(r, lambda r: r.choice([0, 1, 3])),
            pick(r, lambda r: r.randrange(2**64)), pick(r, lambda r: r.choice([7.5, -1.0])),
            pick(r, lambda r: r.random() < 0.5), pick(r, lambda r: r.choice(["none", "positional"])),
            pick(r, lambda r: r.choice([None, 1, 100]))]
    if scalar_count(args[1]) and slow(args[1], 3):
        args[1] = 3   # valid, merely slow (hundreds of games): not what this fuzzes
    return f"random_games{tuple(map(short, args))}", lambda: random_games(*args)


def t_zobrist(r):
    args = [pick(r, lambda r: r.choice([1, -1])), pick(r, lambda r: r.randrange(81)), pick(r, lambda r: 9)]
    return f"zobrist_key{tuple(map(short, args))}", lambda: _core.zobrist_key(*args)


def t_feature_small(r):
    name = r.choice(["num_planes", "symmetry_map", "inverse_symmetry"])
    module = r.choice([_core, features])
    if name == "num_planes":
        args = [pick(r, lambda r: r.choice(["agz", "extended", "basic"]))]
    elif name == "symmetry_map":
        args = [pick(r, lambda r: r.choice([2, 9, 25])), pick(r, lambda r: r.randrange(8))]
    else:
        args = [pick(r, lambda r: r.randrange(8))]
    return f"{module.__name__}.{name}{tuple(map(short, args))}", lambda: getattr(module, name)(*args)


def t_encode(r):
    size = r.choice([5, 9])
    fs = r.choice(["agz", "extended", "basic"])
    n = r.randrange(1, 4)
    boards = pick(r, lambda r: [a_board(r, size) for _ in range(n)], 0.15)
    if isinstance(boards, list) and boards and r.random() < 0.2:
        boards[r.randrange(len(boards))] = hostile(r)
    fs_arg = pick(r, lambda r: fs, 0.15)
    sym = pick(r, lambda r: np.asarray([r.randrange(8) for _ in range(n)], np.int64), 0.25)
    out = pick(r, lambda r: np.zeros((n, features.num_planes(fs), size, size), np.float32), 0.25)
    if r.random() < 0.5:
        args = [boards, fs_arg, sym, out]
        return f"_core.encode{tuple(map(short, args))}", lambda: _core.encode(*args)
    if r.random() < 0.5:
        out = None
    if r.random() < 0.3:
        sym = None
    args = [boards, fs_arg, sym, out]
    return f"features.encode{tuple(map(short, args))}", lambda: features.encode(*args)


def t_encode_records(r):
    size = r.choice([5, 9])
    fs = r.choice(["agz", "extended", "basic"])
    codes, offsets = record(r, size)
    games = len(offsets) - 1
    batch = r.randrange(0, 4)
    gi = np.asarray([r.randrange(games) for _ in range(batch)], np.int64)
    ply = np.asarray([r.randrange(offsets[g + 1] - offsets[g] + 1) for g in gi], np.int64)
    args = [pick(r, lambda r: codes, 0.2), pick(r, lambda r: offsets, 0.2), pick(r, lambda r: gi, 0.2),
            pick(r, lambda r: ply, 0.2), pick(r, lambda r: size, 0.2), pick(r, lambda r: fs, 0.15),
            pick(r, lambda r: np.asarray([r.randrange(8) for _ in range(batch)], np.int64), 0.2),
            pick(r, lambda r: np.zeros((batch, features.num_planes(fs), size, size), np.float32), 0.2),
            pick(r, lambda r: r.choice([1, 2, 4]), 0.2)]
    if r.random() < 0.5:
        return f"_core.encode_records{tuple(map(short, args))}", lambda: _core.encode_records(*args)
    if r.random() < 0.5:
        args[7] = None
    return f"features.encode_records{tuple(map(short, args))}", lambda: features.encode_records(*args)


def t_record_outcomes(r):
    size = r.choice([5, 9])
    codes, offsets = record(r, size)
    args = [pick(r, lambda r: codes, 0.3), pick(r, lambda r: offsets, 0.3), pick(r, lambda r: size, 0.3)]
    module = r.choice([_core, features])
    return f"{module.__name__}.record_outcomes{tuple(map(short, args))}", lambda: module.record_outcomes(*args)


SEARCH_ARGS = {   # name: valid value drawer (keyword arguments of _core.Search after num_games, size)
    "feature_set": lambda r: r.choice(["basic", "none", "agz"]),
    "c_puct": lambda r: r.choice([0.5, 1.5, 1000.0, 1e-3]),
    "fpu_reduction": lambda r: r.choice([0.25, -2.0, 2.0, 0.0]),
    "noise_fraction": lambda r: r.choice([0.0, 0.25, 1.0]),
    "noise_alpha": lambda r: r.choice([0.0, 0.03, 1000.0]),
    "leaves_per_tree": lambda r: r.choice([1, 4, 8]),
    "no_pass_before": lambda r: r.choice([0, 5]),
    "tree_reuse": lambda r: r.random() < 0.5,
    "seed": lambda r: r.randrange(2**64),
    "max_tree_nodes": lambda r: r.choice([0, 2, 50, 1000]),
}


def a_search(r, p_hostile: float = 0.0):
    """(kwargs, _core.Search or None): a small search, its arguments hostile with p_hostile."""
    kwargs = {name: pick(r, valid, p_hostile) for name, valid in SEARCH_ARGS.items() if r.random() < 0.7}
    games, size = pick(r, lambda r: r.choice([1, 2, 3]), p_hostile), pick(r, lambda r: r.choice([5, 7]), p_hostile)
    return games, size, kwargs


def t_search_init(r):
    games, size, kwargs = a_search(r, 0.15)
    if isinstance(games, int) and games > 64:
        games = 3   # valid but large: not what this fuzzes
    label = f"Search({short(games)}, {short(size)}, {', '.join(f'{k}={short(v)}' for k, v in kwargs.items())})"

    def call():
        search = _core.Search(games, size, **kwargs)
        check_usable(search)
    return label, call


def driven_search(r):
    """A valid small search after a few rounds of a run (perhaps with leaves pending)."""
    games, size, kwargs = a_search(r, 0.0)
    search = _core.Search(games, size, **kwargs)
    for g in range(games):
        search.reset(g, a_board(r, size))
    search.begin(np.arange(games, dtype=np.int64), np.full(games, r.choice([1, 4, 20]), np.int64),
                 np.asarray([r.random() < 0.5 for _ in range(games)]))
    buf = np.zeros((search.max_leaves, search.planes, size, size), np.float32)
    for _ in range(r.randrange(0, 4)):
        n = search.select(buf)
        if n == 0:
            break
        if r.random() < 0.8:
            search.backup(np.zeros((n, size * size + 1), np.float32), np.zeros(n, np.float32))
        else:
            break   # leaves left pending
    return search, buf


SEARCH_METHODS = {
    "reset": lambda r, s: [pick(r, lambda r: r.randrange(s.num_games)), pick(r, lambda r: a_board(r, s.size))],
    "cancel": lambda r, s: [],
    "play": lambda r, s: [pick(r, lambda r: r.randrange(s.num_games)), pick(r, lambda r: r.randrange(s.size ** 2 + 1))],
    "board": lambda r, s: [pick(r, lambda r: r.randrange(s.num_games))],
    "begin": lambda r, s: [pick(r, lambda r: np.arange(s.num_games, dtype=np.int64)),
                           pick(r, lambda r: np.full(s.num_games, r.choice([1, 5]), np.int64)),
                           pick(r, lambda r: np.zeros(s.num_games, bool))],
    "select": lambda r, s: [pick(r, lambda r: np.zeros((s.max_leaves, s.planes, s.size, s.size), np.float32))],
    "backup": lambda r, s: [pick(r, lambda r: np.zeros((r.randrange(0, 4), s.size ** 2 + 1), np.float32)),
                            pick(r, lambda r: np.zeros(r.randrange(0, 4), np.float32))],
    "root_stats": lambda r, s: [pick(r, lambda r: 0)],
    "root_search_prior": lambda r, s: [pick(r, lambda r: 0)],
    "root_visits": lambda r, s: [pick(r, lambda r: 0)],
    "root_value": lambda r, s: [pick(r, lambda r: 0)],
    "best_move": lambda r, s: [pick(r, lambda r: 0)],
    "principal_variation": lambda r, s: [pick(r, lambda r: 0), pick(r, lambda r: r.choice([0, 5, 32]))],
    "virtual_loss_total": lambda r, s: [pick(r, lambda r: 0)],
    "node_count": lambda r, s: [pick(r, lambda r: 0)],
    "edge_count": lambda r, s: [pick(r, lambda r: 0)],
}
SEARCH_PROPERTIES = ("num_games", "size", "planes", "max_leaves", "awaiting_backup")


def t_search_method(r):
    search, _ = driven_search(r)
    name = r.choice(sorted(SEARCH_METHODS))
    args = SEARCH_METHODS[name](r, search)
    if name == "backup" and r.random() < 0.5 and search.awaiting_backup:
        # the right count, with a hostile value inside
        n = len(args[1]) if isinstance(args[1], np.ndarray) and args[1].ndim == 1 else 1
        args = [np.full((n, search.size ** 2 + 1), r.choice([0.0, NAN, INF, 3e38]), np.float32),
                np.full(n, r.choice([0.0, NAN, -INF, 1e30]), np.float32)]

    def call():
        try:
            getattr(search, name)(*args)
        finally:
            for prop in SEARCH_PROPERTIES:
                getattr(search, prop)
            check_usable(search)
    return f"Search.{name}{tuple(map(short, args))}", call


CONFIG_FIELDS = {
    "visits": lambda r: r.choice([1, 4, 12]), "c_puct": lambda r: r.choice([1.5, 0.1]),
    "fpu_reduction": lambda r: r.choice([0.25, -1.0, 2.0]), "noise_fraction": lambda r: r.choice([0.0, 0.25]),
    "noise_alpha": lambda r: r.choice([None, 0.03]), "leaves_per_tree": lambda r: r.choice([1, 8]),
    "temperature": lambda r: r.choice([0.0, 1.0]), "temperature_moves": lambda r: r.choice([0, 10]),
    "full_visits": lambda r: r.choice([None, 6]), "fast_visits": lambda r: r.choice([None, 2]),
    "full_search_prob": lambda r: r.choice([1.0, 0.5]), "no_pass_before": lambda r: r.choice([0, 3]),
    "tree_reuse": lambda r: r.random() < 0.5, "feature_set": lambda r: r.choice(["basic", "none"]),
    "seed": lambda r: r.randrange(2**32), "max_tree_nodes": lambda r: r.choice([None, 2, 100]),
}


def scalar_count(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def slow(value, limit: int) -> bool:
    """A valid but large count (many visits, games; or an array holding one): legit work, not a
    hang to look for."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "iu" and value.size:
        return bool(((value > limit) & (value <= 2**31)).any())
    if isinstance(value, (list, tuple)):
        return any(slow(v, limit) for v in value)
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)) and limit < value <= 2**31


def t_batched_search(r):
    fields = {k: pick(r, v, 0.12) for k, v in CONFIG_FIELDS.items() if r.random() < 0.5}
    size, games = pick(r, lambda r: r.choice([5, 7]), 0.1), pick(r, lambda r: r.choice([1, 2]), 0.1)
    komi = pick(r, lambda r: 7.5, 0.1)
    if scalar_count(games) and slow(games, 16):
        games = 2   # valid but large: thousands of trees are legit work, not a hang to look for
    ev = Evaluator(r.choice(Evaluator.KINDS), r.randrange(2**32))
    ids = pick(r, lambda r: None, 0.2)
    per_game = games if isinstance(games, int) and 0 <= games <= 4 else 1
    visits = pick(r, lambda r: r.choice([None, 3, [2] * per_game]), 0.2)
    big = any(slow(fields.get(k), 64) for k in ("visits", "full_visits", "fast_visits", "leaves_per_tree")) or \
        slow(visits, 64)
    label = (f"BatchedSearch({ev.kind}, {short(size)}, {short(komi)}, config={{{', '.join(f'{k}={short(v)}' for k, v in fields.items())}}}, "
             f"{short(games)}).run({short(ids)}, {short(visits)})")

    def call():
        config = SearchConfig(**fields)
        search = BatchedSearch(ev, size, komi, config.feature_set, config, games)
        if big:
            return
        for g in range(search.num_games):
            search.reset(g, Board(search.size))
        try:
            search.run(ids, visits)
        finally:
            assert not search.core.awaiting_backup, "run() left leaves awaiting backup"
            search.evaluator = Evaluator("good", 0)
            search.run(visits=2)
            check_usable(search.core)
    return label, call


def t_search_position(r):
    board = pick(r, lambda r: a_board(r, 5), 0.2)
    visits = pick(r, lambda r: r.choice([None, 1, 5]), 0.3)
    if slow(visits, 64):
        visits = 5
    ev = Evaluator(r.choice(Evaluator.KINDS), r.randrange(2**32))
    config = SearchConfig(visits=4, feature_set=r.choice(["basic", "agz"]))
    return (f"search_position({short(board)}, {ev.kind}, {short(visits)})",
            lambda: search_position(board, ev, visits, config))


TARGETS = [(t_board_init, 6), (t_board_method, 20), (t_random_games, 4), (t_zobrist, 2), (t_feature_small, 4),
           (t_encode, 8), (t_encode_records, 8), (t_record_outcomes, 4), (t_search_init, 6),
           (t_search_method, 20), (t_batched_search, 10), (t_search_position, 4)]
_WEIGHTS = [w for _, w in TARGETS]


def make_call(seed: int, index: int):
    """(label, thunk) of call `index` (its own generator: replayable alone)."""
    r = random.Random(f"{seed}:{index}")
    target = r.choices([t for t, _ in TARGETS], _WEIGHTS)[0]
    return target(r)


def outcome_of(thunk) -> str:
    try:
        thunk()
    except EvaluatorFailure:
        return "EvaluatorFailure"
    except Exception as err:   # noqa: BLE001 - the point is to see every type
        name = type(err).__name__
        if isinstance(err, GoError) and name in ALLOWED:
            return name
        message = str(err).splitlines()[0][:160] if str(err) else ""
        return f"unexpected:{name}: {message}"
    return "ok"


# ---- the child: runs calls, reports "index outcome" lines -----------------------------------------

def child(seed: int, start: int, stop: int, memory_gb: float) -> None:
    if memory_gb > 0:
        limit = int(memory_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    out = sys.stdout
    out.write("ready\n")   # imports done: from here on, a silence is a hang
    out.flush()
    for i in range(start, stop):
        try:
            _, thunk = make_call(seed, i)
            outcome = outcome_of(thunk)
        except Exception as err:   # noqa: BLE001 - drawing the call itself failed: a fuzzer bug
            outcome = f"unexpected:fuzzer {type(err).__name__}: {str(err)[:120]}"
        out.write(f"{i} {outcome}\n".replace("\r", " "))
        out.flush()


# ---- the parent: counts, restarts after crashes and hangs ----------------------------------------

def cpu_and_state(pid: int) -> tuple[float, str]:
    """(CPU seconds used, user + system; scheduler state: "R" running or waiting for a core, "S"
    asleep, ...) of a process, from /proc ((0, "?") where unreadable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), fields[0]
    except (OSError, IndexError, ValueError):
        return 0.0, "?"


def run(calls: int, seed: int = 1, hang_seconds: float = 2.0, memory_gb: float = 8.0, start: int = 0,
        progress: bool = False, starved_seconds: float = 120.0) -> dict:
    """Runs calls [start, start + calls) in child processes; returns the counts and examples."""
    counts: Counter = Counter()
    examples: dict[str, str] = {}
    crashes, hangs = [], []
    nxt, stop, t0 = start, start + calls, time.monotonic()
    last_print = t0
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    while nxt < stop:
        proc = subprocess.Popen([sys.executable, __file__, "--child", str(seed), str(nxt), str(stop), str(memory_gb)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        buf, started = b"", False
        mark_cpu, mark_wall = 0.0, time.monotonic()   # at the last outcome
        while True:
            ready, _, _ = select.select([proc.stdout], [], [], hang_seconds / 4 if started else 120)
            if not ready and started:
                # A hang: a call that has used hang_seconds of CPU, or has waited that long asleep
                # (a lock, a read), or starved_seconds in all. A child that is runnable but waits
                # for a core on a loaded machine is not hung.
                cpu, state = cpu_and_state(proc.pid)
                waited = time.monotonic() - mark_wall
                asleep = state not in ("R", "?")
                if cpu - mark_cpu < hang_seconds and waited < starved_seconds and \
                        not (asleep and waited >= hang_seconds):
                    continue
            if not ready:   # no outcome in time: a hang at call nxt
                proc.kill()
                proc.wait()
                hangs.append(nxt)
                counts["hang"] += 1
                examples.setdefault("hang", f"call {nxt}: {make_call(seed, nxt)[0]}")
                if progress:
                    print(f"  hang at call {nxt}: {make_call(seed, nxt)[0]}", flush=True)
                nxt += 1
                break
            chunk = os.read(proc.stdout.fileno(), 1 << 16)
            if not chunk:   # the child ended
                code = proc.wait()
                if nxt < stop:   # before its last call: a crash at call nxt
                    err = proc.stderr.read().decode(errors="replace").strip().splitlines()
                    crashes.append(nxt)
                    counts["crash"] += 1
                    why = f"signal {-code}" if code < 0 else f"exit {code}"
                    examples.setdefault(f"crash {why}", f"call {nxt}: {make_call(seed, nxt)[0]} "
                                                        f"({err[-1] if err else ''})")
                    if progress:
                        print(f"  crash ({why}) at call {nxt}: {make_call(seed, nxt)[0]}", flush=True)
                    nxt += 1
                break
            buf += chunk
            mark_cpu, mark_wall = cpu_and_state(proc.pid)[0], time.monotonic()
            *lines, buf = buf.split(b"\n")
            for line in lines:
                if line == b"ready":
                    started = True
                    continue
                index, _, outcome = line.decode(errors="replace").partition(" ")
                nxt = int(index) + 1
                kind = outcome if not outcome.startswith("unexpected") else outcome.split(":")[0] + ":" + \
                    outcome.split(":")[1]
                counts[kind] += 1
                if outcome.startswith("unexpected") and kind not in examples:
                    examples[kind] = f"call {index}: {make_call(seed, int(index))[0]} -> {outcome}"
                    if progress:
                        print(f"  {kind} at {examples[kind]}", flush=True)
            if nxt >= stop:   # all done: the child's exit is no call to time
                break
            if progress and time.monotonic() - last_print > 30:
                last_print = time.monotonic()
                rate = (nxt - start) / (last_print - t0)
                print(f"  {nxt - start:,} calls, {rate:,.0f}/s, {dict(counts.most_common())}", flush=True)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    elapsed = time.monotonic() - t0
    unexpected = {k: v for k, v in counts.items() if k.startswith("unexpected") or k in ("crash", "hang")}
    return {"calls": calls, "seed": seed, "seconds": round(elapsed, 1), "calls_per_second": round(calls / elapsed),
            "counts": dict(counts.most_common()), "unexpected": unexpected, "crashes": crashes[:20],
            "hangs": hangs[:20], "examples": examples}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        seed, start, stop, memory_gb = sys.argv[2:6]
        child(int(seed), int(start), int(stop), float(memory_gb))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=100_000, metavar="N", help="calls to make (default 100,000)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the calls (default 1)")
    parser.add_argument("--start", type=int, default=0, metavar="I", help="index of the first call (default 0)")
    parser.add_argument("--hang-seconds", type=float, default=2.0, metavar="S",
                        help="a call that uses this much CPU time without an outcome is a hang (default 2)")
    parser.add_argument("--memory-gb", type=float, default=8.0, metavar="GB",
                        help="address-space limit of the child (default 8; 0: none)")
    parser.add_argument("--replay", type=int, metavar="I", help="run call I alone, in this process, and print it")
    parser.add_argument("--json", metavar="PATH", help="also write the summary as JSON")
    args = parser.parse_args()
    if args.replay is not None:
        label, thunk = make_call(args.seed, args.replay)
        print(label)
        print(outcome_of(thunk))
        return
    summary = run(args.calls, args.seed, args.hang_seconds, args.memory_gb, args.start, progress=True)
    print(json.dumps(summary, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=1) + "\n")
    sys.exit(1 if summary["unexpected"] else 0)


if __name__ == "__main__":
    main()
