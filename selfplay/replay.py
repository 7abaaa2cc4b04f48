"""The self-play replay buffer on disk: shards of finished games, a sliding window, a sampler.

A shard `games-<seq>-<count>.npz` (no pickle) holds `count` finished games:

    codes        int16 [T]    record codes of all games back to back (envs.go.records layout)
    offsets      int64 [G+1]  game g is codes[offsets[g]:offsets[g+1]]
    full         int8  [T]    1 where the move had a full search (a policy target), else 0
    policy_ptr   int64 [F+1]  CSR rows over the full-search entries, in entry order
    policy_move  int16 [nnz]  moves with visits (pass = size*size)
    policy_prob  float16 [nnz] their visit fractions
    size, komi, winner, resigned   per game (int8, float32, int8 +1/-1/0, colour that resigned or 0)
    meta         uint8 [K]    UTF-8 JSON: the network step and player that played the games and
                              the run's running totals after them ("first_game", "games_end",
                              "positions_end", "resign"), so a resume after a kill -9 counts on
                              from what is on disk (shards of older runs have no totals)

Shards are written to a temporary file, fsynced and renamed, so a kill or a full disk never
leaves a half shard under a real name; an unreadable shard is skipped with a warning. The
window is the last `window_games` games; shards wholly outside it are deleted.
"""
from __future__ import annotations

import json
import os
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from komi.errors import KomiError
from selfplay.shards import COLOR_BIT, SETUP_BIT

_SHARD_RE = re.compile(r"^games-(\d{8})-(\d{5})\.npz$")


class ReplayError(KomiError):
    """The replay buffer cannot be written or holds no usable positions."""


@dataclass
class FinishedGame:
    """One self-play game as the buffer stores it."""

    codes: np.ndarray
    """int16 [L]: record codes of the moves (setup stones first, if any)."""
    full: np.ndarray
    """bool [L]: which entries had a full search (and so a policy target)."""
    policy: list[tuple[np.ndarray, np.ndarray]]
    """One (moves int16, visit fractions float32) pair per full-search entry, in order."""
    size: int
    """Board size."""
    komi: float
    """Komi."""
    winner: int
    """+1 Black won, -1 White won, 0 draw."""
    resigned: int = 0
    """The colour that resigned (0 = played out)."""
    info: dict = field(default_factory=dict)
    """Statistics that do not go to disk (false-resign bookkeeping, root values...)."""

    @property
    def num_moves(self) -> int:
        return int(((self.codes & SETUP_BIT) == 0).sum())


@dataclass
class ReplayWindow:
    """The games of the window in flat arrays (the in-memory form of several shards)."""

    codes: np.ndarray
    """int16 [T]"""
    offsets: np.ndarray
    """int64 [G+1]"""
    full: np.ndarray
    """int8 [T]"""
    policy_ptr: np.ndarray
    """int64 [F+1]: policy rows of the full entries, in entry order."""
    policy_move: np.ndarray
    """int16 [nnz]"""
    policy_prob: np.ndarray
    """float16 [nnz]"""
    size: np.ndarray
    """int8 [G]"""
    komi: np.ndarray
    """float32 [G]"""
    winner: np.ndarray
    """int8 [G]"""
    resigned: np.ndarray
    """int8 [G]"""

    @property
    def num_games(self) -> int:
        return len(self.offsets) - 1

    @property
    def num_positions(self) -> int:
        """Positions with a policy target (full searches)."""
        return len(self.policy_ptr) - 1

    def outcomes(self):
        """selfplay.training.Outcomes: final ownership and score of every game that was played
        out (not resigned), counted natively once and kept with the window."""
        cached = getattr(self, "_outcomes", None)
        if cached is None:
            from selfplay.training import Outcomes, game_outcomes

            if self.num_games == 0:
                cached = Outcomes(np.zeros((0, 0), np.int8), np.zeros(0, np.float32), np.zeros(0, bool))
            else:
                cached = game_outcomes(self.codes, self.offsets, int(self.size[0]), self.komi, self.resigned == 0)
            self._outcomes = cached
        return cached

    @classmethod
    def from_games(cls, games: list[FinishedGame]) -> ReplayWindow:
        lengths = np.array([len(g.codes) for g in games], np.int64)
        rows = [p for g in games for p in g.policy]
        row_len = np.array([len(m) for m, _ in rows], np.int64)
        for g in games:
            if int(np.count_nonzero(g.full)) != len(g.policy):
                raise ValueError("a game's full-search mask and policy targets disagree")
        return cls(
            codes=np.concatenate([g.codes for g in games]).astype(np.int16) if games else np.zeros(0, np.int16),
            offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
            full=np.concatenate([g.full for g in games]).astype(np.int8) if games else np.zeros(0, np.int8),
            policy_ptr=np.concatenate([[0], np.cumsum(row_len)]).astype(np.int64),
            policy_move=(np.concatenate([m for m, _ in rows]).astype(np.int16) if rows
                         else np.zeros(0, np.int16)),
            policy_prob=(np.concatenate([p for _, p in rows]).astype(np.float16) if rows
                         else np.zeros(0, np.float16)),
            size=np.array([g.size for g in games], np.int8),
            komi=np.array([g.komi for g in games], np.float32),
            winner=np.array([g.winner for g in games], np.int8),
            resigned=np.array([g.resigned for g in games], np.int8))

    @classmethod
    def concatenate(cls, parts: list[ReplayWindow]) -> ReplayWindow:
        if not parts:
            return cls.from_games([])
        joined = cls._concatenate(parts)
        parts = [p for p in parts if p.num_games]
        known = [getattr(p, "_outcomes", None) for p in parts]
        if parts and all(o is not None for o in known) and len({o.ownership.shape[1] for o in known}) == 1:
            from selfplay.training import Outcomes

            joined._outcomes = Outcomes(np.concatenate([o.ownership for o in known]),
                                        np.concatenate([o.score for o in known]),
                                        np.concatenate([o.known for o in known]))
        return joined

    @classmethod
    def _concatenate(cls, parts: list[ReplayWindow]) -> ReplayWindow:
        code_starts = np.cumsum([0] + [len(p.codes) for p in parts[:-1]])
        nnz_starts = np.cumsum([0] + [len(p.policy_move) for p in parts[:-1]])
        return cls(
            codes=np.concatenate([p.codes for p in parts]),
            offsets=np.concatenate([[0]] + [p.offsets[1:] + s for p, s in zip(parts, code_starts)]).astype(np.int64),
            full=np.concatenate([p.full for p in parts]),
            policy_ptr=np.concatenate([[0]] + [p.policy_ptr[1:] + s for p, s in zip(parts, nnz_starts)]).astype(np.int64),
            policy_move=np.concatenate([p.policy_move for p in parts]),
            policy_prob=np.concatenate([p.policy_prob for p in parts]),
            size=np.concatenate([p.size for p in parts]), komi=np.concatenate([p.komi for p in parts]),
            winner=np.concatenate([p.winner for p in parts]),
            resigned=np.concatenate([p.resigned for p in parts]))

    def last_games(self, k: int) -> ReplayWindow:
        """The window restricted to its last k games."""
        g0 = max(0, self.num_games - k)
        if g0 == 0:
            return self
        c0 = int(self.offsets[g0])
        f0 = int(self.full[:c0].astype(bool).sum())
        n0 = int(self.policy_ptr[f0])
        part = ReplayWindow(self.codes[c0:], self.offsets[g0:] - c0, self.full[c0:],
                            self.policy_ptr[f0:] - n0, self.policy_move[n0:], self.policy_prob[n0:],
                            self.size[g0:], self.komi[g0:], self.winner[g0:], self.resigned[g0:])
        cached = getattr(self, "_outcomes", None)
        if cached is not None:
            from selfplay.training import Outcomes

            part._outcomes = Outcomes(cached.ownership[g0:], cached.score[g0:], cached.known[g0:])
        return part


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_shard(path: Path, window: ReplayWindow, meta: dict | None = None) -> Path:
    """Write one shard atomically (temp file, fsync, rename); the temp file never survives an error."""
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    meta_bytes = np.frombuffer(json.dumps(meta or {}).encode(), dtype=np.uint8)
    try:
        with open(tmp, "wb") as f:
            np.savez(f, codes=window.codes, offsets=window.offsets, full=window.full,
                     policy_ptr=window.policy_ptr, policy_move=window.policy_move,
                     policy_prob=window.policy_prob, size=window.size, komi=window.komi,
                     winner=window.winner, resigned=window.resigned, meta=meta_bytes)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def read_shard(path: Path) -> ReplayWindow:
    """Read one shard; raises ReplayError if it is unreadable or inconsistent."""
    try:
        with np.load(path, allow_pickle=False) as z:
            w = ReplayWindow(*(z[k] for k in ("codes", "offsets", "full", "policy_ptr", "policy_move",
                                              "policy_prob", "size", "komi", "winner", "resigned")))
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise ReplayError(f"{path}: unreadable replay shard ({err})") from None
    consistent = (w.offsets[0] == 0 and w.offsets[-1] == len(w.codes) and len(w.full) == len(w.codes)
                  and len(w.policy_ptr) == int(w.full.astype(bool).sum()) + 1
                  and w.policy_ptr[-1] == len(w.policy_move) == len(w.policy_prob)
                  and len(w.size) == len(w.winner) == len(w.komi) == len(w.resigned) == w.num_games)
    if not consistent:
        raise ReplayError(f"{path}: inconsistent replay shard (array lengths disagree)")
    return w


def shard_meta(path: Path) -> dict:
    """The JSON meta of a shard ({} when the shard or its meta is unreadable)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(z["meta"].tobytes().decode())
    except (OSError, KeyError, ValueError, EOFError, UnicodeDecodeError, zipfile.BadZipFile):
        return {}
    return meta if isinstance(meta, dict) else {}


class ReplayBuffer:
    """Finished games on disk in a directory of shards; keeps the last `window_games` games."""

    def __init__(self, directory: str | os.PathLike, window_games: int) -> None:
        if window_games < 1:
            raise ReplayError(f"the replay window must hold at least one game, got {window_games}")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.window_games = window_games
        for stale in self.directory.glob("*.tmp*"):  # left by a kill mid-write
            stale.unlink(missing_ok=True)

    def shards(self) -> list[tuple[int, int, Path]]:
        """(sequence number, games, path) of every shard, oldest first."""
        found = []
        for p in self.directory.iterdir():
            m = _SHARD_RE.match(p.name)
            if m:
                found.append((int(m.group(1)), int(m.group(2)), p))
        return sorted(found)

    @property
    def total_games(self) -> int:
        """Games in the shards still on disk (the window plus at most one partial shard)."""
        return sum(n for _, n, _ in self.shards())

    def games_on_disk(self) -> tuple[int | None, dict]:
        """The games the run has written, as the shards on disk account for them, and the meta
        of the newest shard when it holds the running totals (else {}).

        The newest shard recording its running total ("games_end") gives the count, plus the
        games of any newer shard without one; when no shard records it (an older run), the games
        of all shards if none was pruned yet (sequence 0 is still there), else None (unknown)."""
        shards = self.shards()
        newer = 0
        for _, n, path in reversed(shards):
            meta = shard_meta(path)
            end = meta.get("games_end")
            if isinstance(end, int) and not isinstance(end, bool):
                return end + newer, (meta if newer == 0 else {})
            newer += n
        if not shards or shards[0][0] == 0:
            return newer, {}
        return None, {}

    def add(self, games: list[FinishedGame], meta: dict | None = None) -> Path | None:
        """Write the games as one new shard, then delete shards that fell out of the window."""
        if not games:
            return None
        if len(games) > 99999:
            raise ReplayError("at most 99999 games per shard")
        shards = self.shards()
        seq = shards[-1][0] + 1 if shards else 0
        path = self.directory / f"games-{seq:08d}-{len(games):05d}.npz"
        try:
            write_shard(path, ReplayWindow.from_games(games), meta)
        except OSError as err:
            raise ReplayError(f"cannot write replay shard {path} ({err.strerror or err})") from None
        self.prune()
        return path

    def prune(self) -> None:
        """Delete the oldest shards whose games are all outside the window."""
        shards = self.shards()
        newer = 0
        for _, n, path in reversed(shards):
            if newer >= self.window_games:
                path.unlink(missing_ok=True)
            newer += n

    def load_window(self) -> ReplayWindow:
        """The last window_games games; unreadable shards are skipped with a warning."""
        parts: list[ReplayWindow] = []
        held = 0
        for _, n, path in reversed(self.shards()):
            if held >= self.window_games:
                break
            try:
                parts.append(read_shard(path))
            except ReplayError as err:
                warnings.warn(f"skipping {err}", stacklevel=2)
                continue
            held += n
        return ReplayWindow.concatenate(parts[::-1]).last_games(self.window_games)


@dataclass(frozen=True)
class ReplayBatch:
    """Training positions drawn from a ReplayWindow, targets already under each symmetry."""

    game_index: np.ndarray
    """int64 [B]: game of each position (index into the window)."""
    ply: np.ndarray
    """int64 [B]: entry index in the game; the position is the one before this entry."""
    symmetry: np.ndarray
    """int64 [B]: dihedral symmetry 0..7 to encode the planes with."""
    policy: np.ndarray
    """float32 [B, N*N+1]: visit distribution of the search, mapped by the symmetry."""
    value: np.ndarray
    """float32 [B]: outcome for the side to move (+1 won, -1 lost, 0 draw)."""


class ReplaySampler:
    """Draws full-search positions uniformly from a window, each under a random symmetry.

    sym_map: int [8, N*N+1] from envs.go.features.symmetry_map (move index under each symmetry).
    Batches are a pure function of (seed, step).
    """

    def __init__(self, window: ReplayWindow, sym_map: np.ndarray, seed: int = 0) -> None:
        if window.num_positions == 0:
            raise ReplayError("the replay window has no position with a full search to train on")
        sizes = np.unique(window.size)
        if len(sizes) != 1:
            raise ReplayError(f"the replay window mixes board sizes {sizes.tolist()}")
        self.window, self.seed = window, seed
        self.size = int(sizes[0])
        self.sym_map = np.asarray(sym_map, np.int64)
        if self.sym_map.shape != (8, self.size * self.size + 1):
            raise ValueError(f"sym_map must be [8, {self.size ** 2 + 1}], got {self.sym_map.shape}")
        self.full_entries = np.flatnonzero(window.full).astype(np.int64)

    @property
    def num_positions(self) -> int:
        return len(self.full_entries)

    def sample(self, batch_size: int, step: int, symmetries: bool = True) -> ReplayBatch:
        w = self.window
        rng = np.random.default_rng([self.seed, step])
        rows = rng.integers(0, len(self.full_entries), batch_size)
        sym = rng.integers(0, 8, batch_size) if symmetries else np.zeros(batch_size, np.int64)
        entries = self.full_entries[rows]
        game = np.searchsorted(w.offsets, entries, side="right") - 1
        color = np.where(w.codes[entries].astype(np.int64) & COLOR_BIT, -1, 1)
        value = (w.winner[game].astype(np.int64) * color).astype(np.float32)
        policy = np.zeros((batch_size, self.size * self.size + 1), np.float32)
        starts, ends = w.policy_ptr[rows], w.policy_ptr[rows + 1]
        counts = ends - starts
        flat = np.repeat(starts - np.cumsum(np.concatenate([[0], counts[:-1]])), counts) + np.arange(counts.sum())
        batch_row = np.repeat(np.arange(batch_size), counts)
        moves = self.sym_map[np.repeat(sym, counts), w.policy_move[flat].astype(np.int64)]
        policy[batch_row, moves] = w.policy_prob[flat].astype(np.float32)
        policy /= np.maximum(policy.sum(axis=1, keepdims=True), 1e-12)
        return ReplayBatch(game, entries - w.offsets[game], sym.astype(np.int64), policy, value)
