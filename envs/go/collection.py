"""Game collections: SGF files, directories and archives read as one stream of GameRecords.

Archives (.zip, .tar, .tar.gz/.tgz, .tar.bz2, .tar.xz) are read member by member from the
archive itself, never extracted to disk; at most one member is in memory at a time, and no
member larger than the SGF size limit is read (nor more than that limit of one whose header
lies). Files named on their own that are not regular files (FIFOs, devices, sockets) are refused
without being opened; inside directories they are passed over. Bad files, members or games
(whatever is wrong with them: syntax, values, a move or setup the rules refuse) are skipped with
a warning (the first few) and counted by reason in `stats`:

    games = iter_games(["kgs/", "tom.tar.xz"], check_legal=True)
    for record in games: ...
    print(games.stats.summary())        # games.stats.by_reason: Counter of skip reasons
"""
from __future__ import annotations

import logging
import lzma
import os
import stat
import tarfile
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from envs.go.sgf import MAX_FILE_BYTES, GameRecord, SGFError, display_name, parse_games, read_bytes, replay

log = logging.getLogger("komi.sgf")

TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
ZIP_SUFFIXES = (".zip",)
_ARCHIVE_ERRORS = (tarfile.TarError, zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError,
                   NotImplementedError, RuntimeError)
"""What a damaged or unsupported archive raises while being read (RuntimeError: encrypted zip)."""


@dataclass
class CollectionStats:
    """What happened while reading a collection."""

    files: int = 0
    """SGF files and archive members read."""
    games: int = 0
    """Games yielded."""
    by_reason: Counter = field(default_factory=Counter)
    """Skipped files, members and games, counted by reason ("syntax error", "illegal move", ...)."""
    max_warnings: int = 10
    """Skips logged as warnings before the rest are only counted."""

    @property
    def skipped(self) -> int:
        """Skips of any reason."""
        return sum(self.by_reason.values())

    def skip(self, reason: str, message: str) -> None:
        """Count a skip and warn about it while under the warning limit."""
        self.by_reason[reason] += 1
        n = self.skipped
        if n <= self.max_warnings:
            log.warning("skipped %s", message)
            if n == self.max_warnings:
                log.warning("further skips are counted but not shown")

    def summary(self) -> str:
        reasons = ", ".join(f"{n} {why}" for why, n in self.by_reason.most_common()) or "none"
        return f"{self.games} games from {self.files} files; skipped: {reasons}"


def _is_sgf_name(name: str) -> bool:
    return name.lower().endswith(".sgf")


def _archive_kind(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(ZIP_SUFFIXES):
        return "zip"
    if name.endswith(TAR_SUFFIXES):
        return "tar"
    return None


class GameIterator(Iterator[GameRecord]):
    """Iterator over the games of a collection; `stats` is filled in as it goes."""

    def __init__(self, paths: Iterable[str | os.PathLike], check_legal: bool = False,
                 board_options: dict | None = None, max_warnings: int = 10) -> None:
        self.paths = [Path(p) for p in ([paths] if isinstance(paths, (str, os.PathLike)) else paths)]
        missing = [str(p) for p in self.paths if not p.exists()]
        if missing:
            raise SGFError(f"no such file or directory: {', '.join(missing)}", "missing")
        self.check_legal = check_legal
        self.board_options = {"superko": "none"} if board_options is None else board_options
        if check_legal:     # a bad option is the caller's error, not one to count against every game
            from envs.go import Board

            Board(size=9, **self.board_options)
        self.stats = CollectionStats(max_warnings=max_warnings)
        self._games = self._all_games()

    def __iter__(self) -> GameIterator:
        return self

    def __next__(self) -> GameRecord:
        return next(self._games)

    # --- sources -----------------------------------------------------------------------------
    def _all_games(self) -> Iterator[GameRecord]:
        for path in self.paths:
            if path.is_dir():
                for file in sorted(f for f in path.rglob("*") if f.is_file() and _is_sgf_name(f.name)):
                    yield from self._file_games(file)
            else:
                yield from self._file_games(path)

    def _file_games(self, path: Path) -> Iterator[GameRecord]:
        kind = _archive_kind(path)
        if kind is None:
            yield from self._games_of(display_name(path), self._read_file(path))
            return
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):     # a FIFO would block the archive reader
                self.stats.skip("not a file", f"{display_name(path)}: not a regular file")
                return
        except (OSError, ValueError) as err:
            self.stats.skip("unreadable archive", f"{display_name(path)}: cannot read ({err})")
            return
        try:
            members = self._zip_members(path) if kind == "zip" else self._tar_members(path)
            for source, data in members:
                yield from self._games_of(source, data)
        except _ARCHIVE_ERRORS as err:
            self.stats.skip("unreadable archive",
                            f"{display_name(path)}: the archive cannot be read further ({err})")

    def _read_file(self, path: Path) -> bytes | SGFError:
        """The file's bytes, or the SGFError that refused it (not a regular file, too large)."""
        try:
            return read_bytes(path)
        except SGFError as err:
            return err

    def _zip_members(self, path: Path) -> Iterator[tuple[str, bytes | SGFError]]:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.is_dir() or not _is_sgf_name(info.filename):
                    continue
                source = display_name(f"{path}:{info.filename}")
                if info.file_size > MAX_FILE_BYTES:
                    yield source, SGFError(f"{source}: {info.file_size} bytes is larger than the "
                                           f"{MAX_FILE_BYTES}-byte limit", "file too large")
                    continue
                try:
                    with archive.open(info) as member:
                        # bounded read: a member may uncompress to more than its header says
                        data = member.read(MAX_FILE_BYTES + 1)
                except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, NotImplementedError,
                        RuntimeError) as err:
                    yield source, SGFError(f"{source}: cannot be read from the archive ({err})", "unreadable")
                    continue
                yield source, data

    def _tar_members(self, path: Path) -> Iterator[tuple[str, bytes | SGFError]]:
        with tarfile.open(path, mode="r|*") as archive:
            for member in archive:
                archive.members = []    # a stream keeps every header it has seen otherwise
                if not member.isfile() or not _is_sgf_name(member.name):
                    continue
                source = display_name(f"{path}:{member.name}")
                if member.size > MAX_FILE_BYTES:
                    yield source, SGFError(f"{source}: {member.size} bytes is larger than the "
                                           f"{MAX_FILE_BYTES}-byte limit", "file too large")
                    continue
                stream = archive.extractfile(member)
                yield source, stream.read(MAX_FILE_BYTES + 1) if stream is not None else b""

    # --- games of one file -------------------------------------------------------------------
    def _games_of(self, source: str, data: bytes | SGFError) -> Iterator[GameRecord]:
        self.stats.files += 1
        if isinstance(data, SGFError):
            self.stats.skip(data.reason, str(data))
            return
        try:
            games = parse_games(data, source)
        except SGFError as err:
            self.stats.skip(err.reason, str(err))
            return
        for game in games:
            if isinstance(game, SGFError):
                self.stats.skip(game.reason, str(game))
                continue
            if self.check_legal:
                try:
                    replay(game, **self.board_options)
                except SGFError as err:
                    self.stats.skip(err.reason, str(err))
                    continue
            self.stats.games += 1
            yield game


def iter_games(paths: Iterable[str | os.PathLike] | str | os.PathLike, check_legal: bool = False,
               board_options: dict | None = None, max_warnings: int = 10) -> GameIterator:
    """The games of SGF files, directories (recursively, *.sgf) and archives, as a stream.

    check_legal replays every game on an `envs.go.Board(**board_options)` and skips those the
    engine refuses (an illegal move, a komi it does not take, setup stones without liberties).
    The default options check simple ko only (superko="none"): human games played under
    Japanese rules may legally repeat a position. Skips are counted in the returned
    iterator's `stats`.
    Raises SGFError at once if a path does not exist, GoError if board_options are not the Board's.
    """
    return GameIterator(paths, check_legal=check_legal, board_options=board_options,
                        max_warnings=max_warnings)
