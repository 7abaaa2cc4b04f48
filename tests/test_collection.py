"""envs.go.collection: directories and every archive format as streams, bad members skipped and counted."""
from __future__ import annotations

import io
import logging
import tarfile
import zipfile

import pytest

from envs.go import BLACK, WHITE
from envs.go.collection import iter_games
from envs.go.sgf import MAX_FILE_BYTES, GameRecord, SGFError, write_sgf
from envs.go.sgf import iter_games as iter_games_from_sgf


def good_game(i: int) -> bytes:
    """A distinct legal 9x9 game (the i-th point, then passes)."""
    rec = GameRecord(size=9, komi=7.0, moves=[(BLACK, i), (WHITE, 81), (BLACK, 81)], result="B+R")
    return write_sgf(rec).encode()


BAD_MEMBERS = {
    "trunc.sgf": b"(;SZ[9];B[ee]",                        # syntax error
    "huge.sgf": b"(;SZ[99])",                             # board size
    "junk.sgf": bytes(b for b in range(256) if b != 40) * 4,   # binary, no "(": no game tree
    "illegal.sgf": b"(;SZ[9];B[ee];W[ee])",               # illegal move (only with check_legal)
}


def members() -> dict[str, bytes]:
    files = {f"games/g{i}.sgf": good_game(i) for i in range(3)}
    files.update({f"games/bad/{name}": data for name, data in BAD_MEMBERS.items()})
    files["games/README.txt"] = b"not an SGF file, ignored"
    return files


def write_archive(path, files: dict[str, bytes]) -> None:
    name = path.name
    if name.endswith(".zip"):
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
            for member, data in files.items():
                z.writestr(member, data)
        return
    mode = {"tar": "w", "gz": "w:gz", "bz2": "w:bz2", "xz": "w:xz"}[name.rsplit(".", 1)[1]]
    with tarfile.open(path, mode) as t:
        for member, data in files.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))


def check_counts(games, records, check_legal: bool) -> None:
    assert sorted(r.moves[0][1] for r in records) == [0, 1, 2] + ([] if check_legal else [40])
    reasons = dict(games.stats.by_reason)
    assert reasons == {"syntax error": 1, "board size": 1, "no game": 1,
                       **({"illegal move": 1} if check_legal else {})}
    assert games.stats.files == 7 and games.stats.games == len(records)


@pytest.mark.parametrize("check_legal", [False, True])
def test_directory_recursive(tmp_path, check_legal):
    for member, data in members().items():
        (tmp_path / member).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / member).write_bytes(data)
    games = iter_games([tmp_path / "games"], check_legal=check_legal)
    records = list(games)
    check_counts(games, records, check_legal)
    assert all(r.source.startswith(str(tmp_path)) for r in records)


@pytest.mark.parametrize("name", ["c.zip", "c.tar", "c.tar.gz", "c.tar.bz2", "c.tar.xz"])
def test_archives_are_streamed(tmp_path, name):
    path = tmp_path / name
    write_archive(path, members())
    games = iter_games(str(path), check_legal=True)
    records = list(games)
    check_counts(games, records, True)
    assert f"{path}:games/g0.sgf" in {r.source for r in records}
    assert not (tmp_path / "games").exists()     # nothing extracted


def test_several_paths_and_sgf_module_entry_point(tmp_path):
    (tmp_path / "one.sgf").write_bytes(good_game(5))
    write_archive(tmp_path / "two.zip", {"x.sgf": good_game(6) + good_game(7)})
    games = iter_games_from_sgf([tmp_path / "one.sgf", tmp_path / "two.zip"])
    assert [r.moves[0][1] for r in games] == [5, 6, 7]


def test_bad_game_in_a_multi_game_file_skips_only_that_game(tmp_path):
    (tmp_path / "m.sgf").write_bytes(good_game(1) + b"(;SZ[9];B[zz])" + good_game(2))
    games = iter_games(tmp_path)
    assert [r.moves[0][1] for r in games] == [1, 2]
    assert games.stats.by_reason == {"bad move": 1}


def test_damaged_archive_is_a_counted_skip(tmp_path):
    path = tmp_path / "d.tar.gz"
    write_archive(path, {f"g{i}.sgf": good_game(i) * 200 for i in range(20)})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])     # truncated mid-stream
    games = iter_games(path)
    records = list(games)
    assert games.stats.by_reason == {"unreadable archive": 1}
    assert len(records) < 20 * 200
    (tmp_path / "e.zip").write_bytes(b"PK\x03\x04 not really a zip")
    games = iter_games(tmp_path / "e.zip")
    assert list(games) == [] and games.stats.by_reason == {"unreadable archive": 1}


def test_oversized_member_is_skipped_without_reading_it(tmp_path):
    path = tmp_path / "big.tar"
    with tarfile.open(path, "w") as t:
        info = tarfile.TarInfo("big.sgf")
        info.size = MAX_FILE_BYTES + 1
        t.addfile(info, io.BytesIO(b"(" * info.size))
        info = tarfile.TarInfo("ok.sgf")
        data = good_game(3)
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    games = iter_games(path)
    assert [r.moves[0][1] for r in games] == [3]
    assert games.stats.by_reason == {"file too large": 1}


def test_warnings_are_capped(tmp_path, caplog):
    for i in range(30):
        (tmp_path / f"{i:02d}.sgf").write_bytes(b"junk")
    games = iter_games(tmp_path, max_warnings=5)
    with caplog.at_level(logging.WARNING, logger="komi.sgf"):
        assert list(games) == []
    assert games.stats.by_reason == {"no game": 30}
    assert len(caplog.records) == 6 and "counted but not shown" in caplog.records[-1].getMessage()
    assert "30 no game" in games.stats.summary()


def test_missing_path_is_an_error_at_once(tmp_path):
    with pytest.raises(SGFError, match="no such file or directory: .*nope"):
        iter_games([tmp_path / "nope"])


def test_legality_check_uses_the_board_options(tmp_path):
    (tmp_path / "suicide.sgf").write_bytes(b"(;SZ[5];B[ba];W[ee];B[ab];W[aa])")
    games = iter_games(tmp_path, check_legal=True)
    assert list(games) == [] and games.stats.by_reason == {"illegal move": 1}
    games = iter_games(tmp_path, check_legal=True, board_options={"allow_suicide": True, "superko": "none"})
    assert len(list(games)) == 1


def test_special_files_are_skipped_not_read(tmp_path):
    import os
    fifo = tmp_path / "pipe.sgf"
    os.mkfifo(fifo)
    games = iter_games([fifo, tmp_path])          # directly, and inside a directory
    assert list(games) == []
    assert games.stats.by_reason == {"not a file": 1}
