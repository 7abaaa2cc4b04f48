"""Compact on-disk game storage shared by pretraining and self-play, and a position sampler.

A game is its record codes (int16, see envs.go.records): `(point << 2) | (color_bit << 1) |
setup_bit`, setup stones first, then the moves; two bytes per move. A shard is one `.npz`
(no pickle) holding many games:

    codes    int16 [T]      all games' codes, back to back
    offsets  int64 [G+1]    game g is codes[offsets[g]:offsets[g+1]]
    size     int8  [G]      board size
    komi     float32 [G]
    winner   int8  [G]      +1 Black won, -1 White won, 0 draw / unknown
    handicap int8  [G]
    result_score float32 [G]  Black's margin written in the result (NaN: none, e.g. a resignation)
    meta     uint8 [K]      UTF-8 JSON with free-form shard metadata

Shards are written to a temporary file and moved into place (os.replace).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np

from envs.go.records import COLOR_BIT, SETUP_BIT, pack_record
from komi.errors import KomiError


class ShardError(KomiError):
    """A shard file is missing or unreadable."""


@dataclass
class GameTable:
    """Many games in flat arrays (the in-memory form of one or more shards)."""

    codes: np.ndarray
    """int16 [T]: record codes of all games, back to back."""
    offsets: np.ndarray
    """int64 [G+1]: game g is codes[offsets[g]:offsets[g+1]]."""
    size: np.ndarray
    """int8 [G]: board size of each game."""
    komi: np.ndarray
    """float32 [G]: komi of each game."""
    winner: np.ndarray
    """int8 [G]: +1 Black won, -1 White won, 0 draw or unknown."""
    handicap: np.ndarray
    """int8 [G]: number of handicap stones."""
    meta: dict = field(default_factory=dict)
    """Free-form metadata (source, filters...)."""
    result_score: np.ndarray | None = None
    """float32 [G]: Black's margin as the record's result states it; NaN where it gives none
    (resignation, time, no result). None is read as all NaN (tables from before it existed)."""

    def __post_init__(self) -> None:
        if self.result_score is None:
            self.result_score = np.full(self.num_games, np.nan, np.float32)

    def counted(self) -> np.ndarray:
        """bool [G]: games that end with two passes and whose stated margin equals the
        Tromp-Taylor count of their final position (so ownership and score targets are exact)."""
        return self.outcomes().known

    def outcomes(self):
        """selfplay.training.Outcomes of every game (computed once, natively, then cached)."""
        cached = getattr(self, "_outcomes", None)
        if cached is None:
            from selfplay.training import Outcomes, ends_with_two_passes, game_outcomes

            if self.num_games == 0:
                cached = Outcomes(np.zeros((0, 0), np.int8), np.zeros(0, np.float32), np.zeros(0, bool))
            else:
                size = int(self.size[0])
                stated = np.asarray(self.result_score, np.float32)
                candidates = ends_with_two_passes(self.codes, self.offsets, size) & np.isfinite(stated)
                cached = game_outcomes(self.codes, self.offsets, size, self.komi, candidates)
                agrees = np.abs(cached.score - np.nan_to_num(stated)) < 1e-3
                known = candidates & agrees
                cached.ownership[~known] = 0
                cached = Outcomes(cached.ownership, np.where(known, cached.score, 0).astype(np.float32), known)
            self._outcomes = cached
        return cached

    @property
    def num_games(self) -> int:
        return len(self.offsets) - 1

    def game_codes(self, g: int) -> np.ndarray:
        return self.codes[self.offsets[g]:self.offsets[g + 1]]

    @classmethod
    def empty(cls) -> "GameTable":
        return cls(np.zeros(0, np.int16), np.zeros(1, np.int64), np.zeros(0, np.int8),
                   np.zeros(0, np.float32), np.zeros(0, np.int8), np.zeros(0, np.int8))

    @classmethod
    def concatenate(cls, tables: list["GameTable"]) -> "GameTable":
        if not tables:
            return cls.empty()
        starts = np.cumsum([0] + [len(t.codes) for t in tables[:-1]])
        offsets = np.concatenate([np.zeros(1, np.int64)] +
                                 [t.offsets[1:] + s for t, s in zip(tables, starts)])
        return cls(np.concatenate([t.codes for t in tables]), offsets.astype(np.int64),
                   np.concatenate([t.size for t in tables]), np.concatenate([t.komi for t in tables]),
                   np.concatenate([t.winner for t in tables]),
                   np.concatenate([t.handicap for t in tables]), dict(tables[0].meta),
                   np.concatenate([t.result_score for t in tables]))


def encode_game(size: int, moves: Iterable[tuple[int, int]], setup_black: Iterable[int] = (),
                setup_white: Iterable[int] = ()) -> np.ndarray:
    """Record codes of one game: setup stones (black, then white), then moves [(color, move)].

    color is +1 (Black) or -1 (White); move is row * size + col, size * size = pass.
    """
    return pack_record(moves, size, setup_black, setup_white)


def save_shard(path: str | os.PathLike, table: GameTable) -> Path:
    """Write a GameTable as one .npz shard, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}.npz")
    meta = np.frombuffer(json.dumps(table.meta).encode(), dtype=np.uint8)
    np.savez(tmp, codes=table.codes.astype(np.int16), offsets=table.offsets.astype(np.int64),
             size=table.size.astype(np.int8), komi=table.komi.astype(np.float32),
             winner=table.winner.astype(np.int8), handicap=table.handicap.astype(np.int8),
             result_score=np.asarray(table.result_score, np.float32), meta=meta)
    os.replace(tmp, path)
    return path


def load_shard(path: str | os.PathLike) -> GameTable:
    """Read one shard (never unpickles)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return GameTable(z["codes"], z["offsets"].astype(np.int64), z["size"], z["komi"],
                             z["winner"], z["handicap"], json.loads(bytes(z["meta"]).decode()),
                             z["result_score"] if "result_score" in z.files else None)
    except (OSError, KeyError, ValueError) as err:
        raise ShardError(f"{path}: unreadable shard ({err})") from None


def load_shards(paths: Iterable[str | os.PathLike]) -> GameTable:
    """All games of several shards in one table."""
    return GameTable.concatenate([load_shard(p) for p in paths])


class ShardWriter:
    """Collects games and writes `<prefix>-00000.npz`, `<prefix>-00001.npz`, ... of N games each."""

    def __init__(self, directory: str | os.PathLike, prefix: str, games_per_shard: int = 10_000,
                 meta: dict | None = None) -> None:
        self.directory, self.prefix = Path(directory), prefix
        self.games_per_shard, self.meta = games_per_shard, dict(meta or {})
        self.paths: list[Path] = []
        self.num_games = 0
        self._reset()

    def _reset(self) -> None:
        self._codes: list[np.ndarray] = []
        self._size: list[int] = []
        self._komi: list[float] = []
        self._winner: list[int] = []
        self._handicap: list[int] = []
        self._result_score: list[float] = []

    def add(self, codes: np.ndarray, size: int, komi: float, winner: int, handicap: int = 0,
            result_score: float | None = None) -> None:
        self._codes.append(np.asarray(codes, np.int16))
        self._size.append(size)
        self._komi.append(komi)
        self._winner.append(winner)
        self._handicap.append(handicap)
        self._result_score.append(np.nan if result_score is None else result_score)
        self.num_games += 1
        if len(self._codes) >= self.games_per_shard:
            self.flush()

    def flush(self) -> None:
        if not self._codes:
            return
        lengths = np.array([len(c) for c in self._codes], np.int64)
        table = GameTable(np.concatenate(self._codes), np.concatenate([[0], np.cumsum(lengths)]),
                          np.array(self._size, np.int8), np.array(self._komi, np.float32),
                          np.array(self._winner, np.int8), np.array(self._handicap, np.int8), self.meta,
                          np.array(self._result_score, np.float32))
        path = self.directory / f"{self.prefix}-{len(self.paths):05d}.npz"
        self.paths.append(save_shard(path, table))
        self._reset()


@dataclass(frozen=True)
class PositionBatch:
    """Positions drawn from a GameTable: inputs for encode_records plus training targets."""

    game_index: np.ndarray
    """int64 [B]: game of each position."""
    ply: np.ndarray
    """int64 [B]: entry index in the game; the position is the one before this entry."""
    symmetry: np.ndarray
    """int64 [B]: dihedral symmetry 0..7 to apply (0 = identity)."""
    move: np.ndarray
    """int64 [B]: the move played (untransformed index; pass = size*size)."""
    value: np.ndarray
    """float32 [B]: outcome for the side to move (+1 won, -1 lost, 0 draw/unknown)."""


class PositionSampler:
    """Draws (game, ply) positions uniformly over all moves of a GameTable.

    Memory: one int32/int64 per move (the entry index of each move), nothing per feature plane.
    Batches are a pure function of (seed, step), so a resumed run sees the same data order.
    """

    def __init__(self, table: GameTable, seed: int = 0) -> None:
        self.table, self.seed = table, seed
        is_move = (table.codes & SETUP_BIT) == 0
        index_dtype = np.int32 if len(table.codes) < 2**31 else np.int64
        self.move_entries = np.flatnonzero(is_move).astype(index_dtype)
        if len(self.move_entries) == 0:
            raise KomiError("no positions to sample: the game collection has no moves")

    @property
    def num_positions(self) -> int:
        return len(self.move_entries)

    def _batch(self, entries: np.ndarray, symmetry: np.ndarray) -> PositionBatch:
        t = self.table
        entries = entries.astype(np.int64)
        game = np.searchsorted(t.offsets, entries, side="right") - 1
        codes = t.codes[entries].astype(np.int64)
        color = np.where(codes & COLOR_BIT, -1, 1)
        value = (t.winner[game].astype(np.int64) * color).astype(np.float32)
        return PositionBatch(game, entries - t.offsets[game], symmetry.astype(np.int64),
                             codes >> 2, value)

    def sample(self, batch_size: int, step: int, symmetries: bool = True) -> PositionBatch:
        """The batch for training step `step` (deterministic given the seed)."""
        rng = np.random.default_rng([self.seed, step])
        entries = self.move_entries[rng.integers(0, len(self.move_entries), batch_size)]
        sym = rng.integers(0, 8, batch_size) if symmetries else np.zeros(batch_size, np.int64)
        return self._batch(entries, sym)

    def sequential(self, batch_size: int, max_positions: int | None = None,
                   seed: int = 12345) -> Iterable[PositionBatch]:
        """A fixed subset (all, or max_positions spread evenly at random) in batches; no symmetry."""
        entries = self.move_entries
        if max_positions is not None and max_positions < len(entries):
            pick = np.random.default_rng(seed).choice(len(entries), max_positions, replace=False)
            entries = entries[np.sort(pick)]
        for start in range(0, len(entries), batch_size):
            chunk = entries[start:start + batch_size]
            yield self._batch(chunk, np.zeros(len(chunk), np.int64))
