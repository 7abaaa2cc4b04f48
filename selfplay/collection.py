"""SGF collections -> filtered games -> train/validation shards (converted once, then cached).

The split is by game: a stable hash of the game's move sequence, taken in the canonical one of
its 8 symmetric forms, so a game and its duplicates (even rotated or reflected) always land on
the same side.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from komi.errors import KomiError
from selfplay.shards import GameTable, ShardWriter, encode_game

CACHE_VERSION = 2  # 2: result_score per game (ownership and score targets)


@dataclass(frozen=True)
class GameFilter:
    """Which games of a collection are used."""

    board_size: int = 19
    """Keep only games on this board size."""
    min_moves: int = 20
    """Keep only games with at least this many moves."""
    handicap: str = "include"
    """Handicap games: "include", "exclude" or "only"."""
    min_rank: str | None = None
    """Keep only games where both players are at least this rank (e.g. "5d", "1k", "1p")."""

    def __post_init__(self) -> None:
        if self.handicap not in ("include", "exclude", "only"):
            raise KomiError(f"handicap filter must be include, exclude or only, not {self.handicap!r}")
        if self.min_rank is not None:
            rank_value(self.min_rank, strict=True)


_RANK_RE = re.compile(r"^\s*(\d+)\s*([kdp])", re.IGNORECASE)


def rank_value(rank: str | None, strict: bool = False) -> int | None:
    """Orderable strength: 30k..1k -> -29..0, 1d..9d -> 1..9, 1p..9p -> 11..19; None if unknown."""
    m = _RANK_RE.match(rank or "")
    if not m:
        if strict:
            raise KomiError(f"bad rank {rank!r}: expected e.g. 15k, 3d or 2p")
        return None
    n, kind = int(m.group(1)), m.group(2).lower()
    return {"k": 1 - n, "d": n, "p": 10 + n}[kind]


def _symmetric_points(points: np.ndarray, size: int) -> list[np.ndarray]:
    """The 8 dihedral images of move indices (pass = size*size stays pass)."""
    is_pass = points >= size * size
    r, c = np.divmod(np.where(is_pass, 0, points), size)
    m = size - 1
    images = []
    for rr, cc in ((r, c), (c, m - r), (m - r, m - c), (m - c, r),
                   (r, m - c), (m - c, m - r), (m - r, c), (c, r)):
        images.append(np.where(is_pass, size * size, rr * size + cc))
    return images


def split_hash(codes: np.ndarray, size: int) -> int:
    """A stable 64-bit hash of a game's record, the same for all 8 symmetric forms of it."""
    codes = np.asarray(codes, np.int64)
    low = codes & 3
    digests = []
    for pts in _symmetric_points(codes >> 2, size):
        canon = ((pts << 2) | low).astype("<i4").tobytes()
        digests.append(hashlib.blake2b(size.to_bytes(2, "little") + canon, digest_size=8).digest())
    return int.from_bytes(min(digests), "little")


def is_validation(codes: np.ndarray, size: int, val_fraction: float) -> bool:
    return (split_hash(codes, size) % 1_000_000) < round(val_fraction * 1_000_000)


@dataclass
class ImportStats:
    """What happened to the files and games of a collection."""

    games_read: int = 0
    games_kept: int = 0
    skipped: Counter = field(default_factory=Counter)
    """Skipped files or games, counted by reason."""

    def summary(self) -> str:
        reasons = ", ".join(f"{n} {why}" for why, n in self.skipped.most_common()) or "none"
        return f"{self.games_kept} of {self.games_read} games kept; skipped: {reasons}"


def filtered_games(paths: Iterable[str | os.PathLike], flt: GameFilter,
                   stats: ImportStats) -> Iterator[tuple[np.ndarray, object]]:
    """(record codes, GameRecord) of every game of the collection that passes the filter."""
    try:
        from envs.go.sgf import iter_games
    except ImportError:
        raise KomiError("SGF support (envs.go.sgf) is missing from this installation") from None

    paths = [Path(p) for p in paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise KomiError(f"no such file or directory: {', '.join(missing)}")
    # illegal games would make the native replay of their positions meaningless
    games = iter_games([str(p) for p in paths], check_legal=True)
    for record in games:
        stats.games_read += 1
        reason = _reject_reason(record, flt)
        if reason is None:
            try:
                codes = encode_game(record.size, record.moves, record.setup_black, record.setup_white)
            except KomiError:
                reason = "move off the board"
        if reason is not None:
            stats.skipped[reason] += 1
            continue
        stats.games_kept += 1
        yield codes, record
    for why, n in _skip_counts(games).items():
        stats.skipped[why] += n


def _skip_counts(games: object) -> dict[str, int]:
    """Skip counts reported by envs.go.sgf.iter_games (files or games it could not read)."""
    stats = getattr(games, "stats", None) or getattr(games, "skipped", None)
    if stats is None:
        return {}
    if hasattr(stats, "by_reason"):
        stats = stats.by_reason
    if isinstance(stats, dict):
        return {str(k): int(v) for k, v in stats.items()}
    return {}


def _reject_reason(record, flt: GameFilter) -> str | None:
    if record.size != flt.board_size:
        return f"board size {record.size}"
    if len(record.moves) < flt.min_moves:
        return f"fewer than {flt.min_moves} moves"
    handicap = int(record.handicap or 0)
    if flt.handicap == "exclude" and handicap > 0:
        return "handicap game"
    if flt.handicap == "only" and handicap == 0:
        return "not a handicap game"
    if flt.min_rank is not None:
        ranks = [rank_value(r) for r in (record.ranks or ())]
        if len(ranks) < 2 or any(r is None for r in ranks):
            return "rank unknown"
        if min(ranks) < rank_value(flt.min_rank):
            return f"rank below {flt.min_rank}"
    return None


def _winner(record) -> int:
    w = getattr(record, "winner", 0)
    return int(w) if w in (1, -1) else 0


def load_games(paths: Iterable[str | os.PathLike], flt: GameFilter) -> tuple[GameTable, ImportStats]:
    """All kept games of a collection in one in-memory table (for evaluation; no cache)."""
    stats = ImportStats()
    from envs.go.sgf import score_from_result

    items = [(c, r.size, float(r.komi or 0), _winner(r), int(r.handicap or 0), score_from_result(r.result or ""))
             for c, r in filtered_games(paths, flt, stats)]
    if not items:
        raise KomiError(f"no usable game in {', '.join(map(str, paths))} ({stats.summary()})")
    lengths = np.array([len(c) for c, *_ in items], np.int64)
    table = GameTable(np.concatenate([c for c, *_ in items]), np.concatenate([[0], np.cumsum(lengths)]),
                      np.array([s for _, s, *_ in items], np.int8),
                      np.array([it[2] for it in items], np.float32),
                      np.array([it[3] for it in items], np.int8),
                      np.array([it[4] for it in items], np.int8), {},
                      np.array([np.nan if it[5] is None else it[5] for it in items], np.float32))
    return table, stats


def _input_fingerprint(paths: list[Path]) -> list[list]:
    """(path, size, mtime) of every input file, directories walked; changes invalidate the cache."""
    out = []
    for p in paths:
        files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
        for f in files:
            st = f.stat()
            out.append([str(f.resolve()), st.st_size, st.st_mtime_ns])
    return out


@dataclass(frozen=True)
class ShardSet:
    """The cached shards of one (collection, filter, split) combination."""

    directory: Path
    train: list[Path]
    val: list[Path]
    manifest: dict


def build_shards(paths: Iterable[str | os.PathLike], flt: GameFilter, val_fraction: float,
                 cache_dir: str | os.PathLike, games_per_shard: int = 20_000,
                 progress: bool = True) -> ShardSet:
    """Convert a collection into train/val shards once; a rerun with the same inputs reuses them."""
    paths = [Path(p) for p in paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise KomiError(f"no such file or directory: {', '.join(missing)}")
    fingerprint = hashlib.sha256(json.dumps(_input_fingerprint(paths)).encode()).hexdigest()
    key_source = {"version": CACHE_VERSION, "paths": [str(p.resolve()) for p in paths],
                  "files_sha256": fingerprint, "filter": asdict(flt), "val_fraction": val_fraction}
    key = hashlib.sha256(json.dumps(key_source, sort_keys=True).encode()).hexdigest()[:16]
    directory = Path(cache_dir) / key
    manifest_path = directory / "manifest.json"
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        return ShardSet(directory, [directory / n for n in manifest["train"]],
                        [directory / n for n in manifest["val"]], manifest)

    from tqdm import tqdm

    from envs.go.sgf import score_from_result

    directory.mkdir(parents=True, exist_ok=True)
    meta = {"filter": asdict(flt), "val_fraction": val_fraction}
    writers = {split: ShardWriter(directory, split, games_per_shard, meta) for split in ("train", "val")}
    stats = ImportStats()
    games = filtered_games(paths, flt, stats)
    for codes, record in tqdm(games, desc="converting games", unit="game", disable=not progress):
        split = "val" if is_validation(codes, record.size, val_fraction) else "train"
        writers[split].add(codes, record.size, float(record.komi or 0), _winner(record),
                           int(record.handicap or 0), score_from_result(record.result or ""))
    for w in writers.values():
        w.flush()
    if stats.games_kept == 0:
        raise KomiError(f"no usable game in {', '.join(map(str, paths))} ({stats.summary()})")
    manifest = {"key": key_source, "train": [p.name for p in writers["train"].paths],
                "val": [p.name for p in writers["val"].paths],
                "train_games": writers["train"].num_games, "val_games": writers["val"].num_games,
                "games_read": stats.games_read, "skipped": dict(stats.skipped)}
    tmp = manifest_path.with_name(f"manifest.json.tmp{os.getpid()}")
    tmp.write_text(json.dumps(manifest, indent=1))
    os.replace(tmp, manifest_path)
    return ShardSet(directory, writers["train"].paths, writers["val"].paths, manifest)
