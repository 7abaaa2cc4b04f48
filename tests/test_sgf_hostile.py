"""envs.go.sgf and envs.go.collection under hostile input: only SGFError, one-line messages,
bounded reads, and one bad file never stopping a collection (issue 16).

What could hang or exhaust memory if it regressed (/dev/zero, FIFOs) runs in a child process
under a memory limit and a timeout, so that a regression fails here instead of taking the
machine down.
"""
from __future__ import annotations

import io
import math
import os
import random
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from pathlib import Path

import pytest

from envs.go import GoError
from envs.go import sgf as sgf_module
from envs.go.collection import iter_games
from envs.go.sgf import (MAX_SIZE, GameRecord, SGFError, parse_games, parse_sgf, positions, read_sgf,
                         replay, write_sgf)
from komi.errors import KomiError

GOOD = b"(;GM[1]FF[4]SZ[9]KM[7]RE[B+R];B[ee];W[cc];B[gg];W[])"


def one_line(err: BaseException) -> bool:
    """A message fit for `komi: error: ...`: one line, printable as strict UTF-8."""
    text = str(err)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\n" not in text and "\r" not in text and text.strip() != ""


# --- what the reader refused with the wrong exception ---------------------------------------

@pytest.mark.parametrize("text, ident", [
    (b"(;b[aa];W[cc])", "b"),       # was AttributeError: 'int' object has no attribute 'decode'
    (b"(;x[aa])", "x"),             # was IndexError
    (b"(;b[])", "b"),               # was ValueError (not enough values to unpack)
    (b"(;SZ[9];w[aa:bb])", "w"),
    (b"(;SZ[9]\n;B[aa]\n;abc[x]\n;W[bb])", "abc"),
])
def test_identifier_without_uppercase_letter_is_an_sgf_error(text: bytes, ident: str) -> None:
    pattern = rf"g\.sgf:\d+:\d+: property identifier '{ident}' has no uppercase letter"
    with pytest.raises(SGFError, match=pattern) as info:
        parse_sgf(text, source="g.sgf")
    assert info.value.reason == "syntax error" and one_line(info.value)


def test_ff3_lowercase_letters_in_identifiers_are_ignored() -> None:
    (rec,) = parse_sgf(b"(;FF[3]SiZe[9]AddBlack[cc]KoMi[5.5];White[dd];Black[ee])")
    assert rec.size == 9 and rec.komi == 5.5 and rec.setup_black == [2 * 9 + 2]
    assert rec.moves == [(-1, 3 * 9 + 3), (1, 4 * 9 + 4)]


@pytest.mark.parametrize("value", ["2147483648", "1" + "0" * 30, "-1", "-2147483649", "9" * 5000])
def test_handicap_out_of_range_is_an_sgf_error(value: str) -> None:
    # was TypeError from Board.place_handicap (HA[2147483648] with White first and no AB)
    with pytest.raises(SGFError, match=r"g\.sgf:1:2: HA\[") as info:
        parse_sgf(f"(;SZ[9]HA[{value}];W[aa])", source="g.sgf")
    assert one_line(info.value) and len(str(info.value)) < 200


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "1e9", "-1001", "1e400"])
def test_komi_the_engine_refuses_is_an_sgf_error_at_parse(value: str) -> None:
    games = parse_games(f"(;SZ[9]KM[{value}];B[aa])(;SZ[9]KM[6.5];B[aa])", source="g.sgf")
    assert isinstance(games[0], SGFError) and games[0].reason == "bad property value"
    assert f"KM[{value}]" in str(games[0]) and "g.sgf" in str(games[0])
    assert isinstance(games[1], GameRecord) and games[1].komi == 6.5   # the file's other game is kept


def test_komi_at_the_engine_limit_is_read() -> None:
    (rec,) = parse_sgf("(;SZ[9]KM[-1000];B[aa])")
    assert rec.komi == -1000.0 and replay(rec).komi == -1000.0


# --- replaying: GoError from the engine becomes an SGFError naming the file -------------------

@pytest.mark.parametrize("komi", [math.nan, math.inf, 1e9, "7.5x"])
def test_replay_of_a_record_with_a_komi_the_engine_refuses(komi) -> None:
    rec = GameRecord(size=9, komi=komi, moves=[(1, 40)], source="games/k.sgf")
    for run in (lambda: replay(rec), lambda: list(positions(rec))):
        with pytest.raises(SGFError, match=r"games/k\.sgf: komi .* is not a finite number") as info:
            run()
        assert one_line(info.value)


def test_replay_of_setup_stones_without_liberties_names_the_file() -> None:
    (rec,) = parse_sgf(b"(;SZ[9]AB[aa:ii];W[aa])", source="games/full.sgf")   # the whole board black
    for run in (lambda: replay(rec), lambda: next(positions(rec))):
        with pytest.raises(SGFError, match=r"games/full\.sgf: the setup stones .*without liberties") as info:
            run()
        assert info.value.reason == "bad setup" and one_line(info.value)


def test_replay_of_a_move_no_board_has() -> None:
    rec = GameRecord(size=9, moves=[(1, 40), (-1, 10**6)], source="hand.sgf")
    with pytest.raises(SGFError, match=r"hand\.sgf: move 2 .*") as info:
        replay(rec)
    assert one_line(info.value)


def test_write_sgf_refuses_a_komi_it_could_not_read_back() -> None:
    with pytest.raises(SGFError, match="komi"):
        write_sgf(GameRecord(size=9, komi=math.nan))


# --- messages: one line, whatever the file holds or is called ---------------------------------

@pytest.mark.parametrize("text", [
    b"(;SZ[\n9\r\x00])", b"(;GM[\n2])", b"(;SZ[9]AB[\x00\n]) ", b"(;SZ[9];B[\n\nzz])", b"(;SZ[9:\n9])",
    b"(;KM[\x1b[31mred\n])", b"(;HA[\x85\xff])", b"(;SZ[9]\xe9\n\n[aa])", b"(;" + b"q" * 10_000 + b"[x])",
])
def test_messages_are_one_printable_line(text: bytes) -> None:
    with pytest.raises(SGFError) as info:
        parse_sgf(text, source="g.sgf")
    assert one_line(info.value) and len(str(info.value)) < 300


def test_file_names_with_newlines_and_undecodable_bytes(tmp_path: Path) -> None:
    names = [tmp_path / "two\nlines.sgf", Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9.sgf"))]
    for path in names:
        path.write_bytes(b"(;SZ[99])")
        with pytest.raises(SGFError, match="board size") as info:
            read_sgf(path)
        assert one_line(info.value)
    games = iter_games(tmp_path, max_warnings=0)
    assert list(games) == [] and games.stats.by_reason == {"board size": 2}


# --- reading: bounded, never blocking ---------------------------------------------------------

def _isolated(code: str) -> str:
    """Run `code` in a child Python under a 1 GiB address-space limit and a 120 s guard (a
    regression hangs or exhausts memory there, not here); its stdout."""
    def limit() -> None:
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    try:
        done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                              timeout=120, preexec_fn=limit, cwd=Path(__file__).resolve().parents[1])
    except subprocess.TimeoutExpired:
        pytest.fail("the reader hung")
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_devices_and_links_to_them_are_refused_before_reading(tmp_path: Path) -> None:
    (tmp_path / "zero.sgf").symlink_to("/dev/zero")
    out = _isolated(f"""
        from envs.go.sgf import SGFError, read_sgf
        from envs.go.collection import iter_games
        for path in ("/dev/zero", {str(tmp_path / 'zero.sgf')!r}):
            try:
                read_sgf(path)
            except SGFError as err:
                print(err.reason, "|", err)
        games = iter_games([{str(tmp_path / 'zero.sgf')!r}], max_warnings=0)
        print(list(games), dict(games.stats.by_reason))
    """)
    lines = out.splitlines()
    assert lines[0] == "not a file | /dev/zero: not a regular file (a device)"
    assert lines[1].startswith("not a file | ") and "zero.sgf: not a regular file (a device)" in lines[1]
    assert lines[2] == "[] {'not a file': 1}"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifos_are_refused_without_blocking(tmp_path: Path) -> None:
    for name in ("pipe.sgf", "pipe.tar.gz", "pipe.zip"):
        os.mkfifo(tmp_path / name)
    out = _isolated(f"""
        from envs.go.sgf import SGFError, read_sgf
        from envs.go.collection import iter_games
        try:
            read_sgf({str(tmp_path / 'pipe.sgf')!r})
        except SGFError as err:
            print(err.reason, "|", err)
        names = [{str(tmp_path)!r} + "/" + n for n in ("pipe.sgf", "pipe.tar.gz", "pipe.zip")]
        games = iter_games(names, max_warnings=0)
        print(list(games), dict(games.stats.by_reason))
    """)
    first, second = out.splitlines()
    assert first.startswith("not a file | ") and first.endswith("pipe.sgf: not a regular file (a FIFO)")
    assert second == "[] {'not a file': 3}"


def test_directories_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SGFError, match=r"not a regular file \(a directory\)") as info:
        read_sgf(tmp_path)
    assert info.value.reason == "not a file"


def test_names_that_cannot_be_opened(tmp_path: Path) -> None:
    for name in ("no\0such.sgf", str(tmp_path / ("x" * 5000 + ".sgf")), str(tmp_path / "missing.sgf")):
        with pytest.raises(SGFError, match="cannot read") as info:
            read_sgf(name)
        assert info.value.reason == "unreadable" and one_line(info.value) and len(str(info.value)) < 500


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="needs Linux /proc")
def test_the_size_bound_holds_for_files_whose_size_is_not_known(monkeypatch: pytest.MonkeyPatch) -> None:
    # /proc files are regular files of st_size 0 that read as more
    monkeypatch.setattr(sgf_module, "MAX_FILE_BYTES", 64)
    with pytest.raises(SGFError, match="more than 64 bytes") as info:
        read_sgf("/proc/self/maps")
    assert info.value.reason == "file too large"


# --- collections: every bad file skipped and counted ------------------------------------------

BAD_FILES = {
    "lower.sgf": (b"(;b[aa];W[cc])", "syntax error"),
    "x.sgf": (b"(;x[aa])", "syntax error"),
    "empty_lower.sgf": (b"(;b[])", "syntax error"),
    "ha.sgf": (b"(;SZ[9]HA[2147483648];W[aa])", "bad handicap"),
    "nan.sgf": (b"(;SZ[9]KM[nan];B[aa])", "bad property value"),
    "big_komi.sgf": (b"(;SZ[9]KM[1e9];B[aa])", "bad property value"),
    "full.sgf": (b"(;SZ[9]AB[aa:ii];W[aa])", "bad setup"),
}


def _expected_counts() -> dict[str, int]:
    counts: dict[str, int] = {}
    for _, reason in BAD_FILES.values():
        counts[reason] = counts.get(reason, 0) + 1
    return counts


def test_a_folder_with_bad_files_is_read_to_the_end(tmp_path: Path) -> None:
    (tmp_path / "a_good.sgf").write_bytes(GOOD)
    for name, (data, _) in BAD_FILES.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "z_good.sgf").write_bytes(GOOD)
    games = iter_games(tmp_path, check_legal=True, max_warnings=0)
    assert [g.source for g in games] == [str(tmp_path / "a_good.sgf"), str(tmp_path / "z_good.sgf")]
    assert games.stats.by_reason == _expected_counts() and games.stats.files == len(BAD_FILES) + 2


@pytest.mark.parametrize("suffix", [".tar.gz", ".zip"])
def test_an_archive_with_bad_members_is_read_to_the_end(tmp_path: Path, suffix: str) -> None:
    files = {"a_good.sgf": GOOD, **{n: d for n, (d, _) in BAD_FILES.items()}, "z_good.sgf": GOOD}
    path = tmp_path / f"games{suffix}"
    if suffix == ".zip":
        with zipfile.ZipFile(path, "w") as z:
            for name, data in files.items():
                z.writestr(name, data)
    else:
        with tarfile.open(path, "w:gz") as t:
            for name, data in files.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
    games = iter_games(path, check_legal=True, max_warnings=0)
    assert [g.source for g in games] == [f"{path}:a_good.sgf", f"{path}:z_good.sgf"]
    assert games.stats.by_reason == _expected_counts()


def test_bad_board_options_are_the_callers_error_at_once(tmp_path: Path) -> None:
    (tmp_path / "g.sgf").write_bytes(GOOD)
    with pytest.raises(GoError, match="superko"):
        iter_games(tmp_path, check_legal=True, board_options={"superko": "bogus"})


# --- fuzzing: a bounded, seeded run (benchmarks/fuzz_sgf.py runs millions) --------------------

_SEEDS = [
    GOOD,
    b"(;GM[1]FF[4]CA[UTF-8]SZ[13]KM[6.5]HA[2]RU[Japanese]PB[Black \\] Player]PW[W]RE[W+3.5]AB[dd][jj]"
    b";W[cc]BL[30.5];B[kk]C[a comment\\\nwith an escape];W[dk](;B[];W[tt])(;B[ff]))",
    b"(;SZ[9]AB[aa:cc]AW[ee][ff]AE[bb];W[dd];B[gh];W[hg]TR[aa][bb])(;SZ[5];B[cc];W[])",
    b"(;FF[3]SiZe[19]KoMi[5.5]HA[3];W[pd];B[dp];W[pp];B[dd])",
    b"(;SZ[19]CA[GB2312]PB[\xc0\xee\xb2\xfd]KM[375];B[pd];W[dp];B[pq];W[dd];B[fq];W[cn];B[jp])",
]
_PIECES = [b"(", b")", b";", b"[", b"]", b"\\", b":", b"B[aa]", b"W[]", b"W[tt]", b"AB[aa:ss]", b"AW[zz]",
           b"AE[aa]", b"b[aa]", b"x[]", b"SZ[", b"SZ[1]", b"SZ[26]", b"SZ[9:9]", b"SZ[-5]", b"HA[", b"HA[9]",
           b"HA[2147483648]", b"HA[-1]", b"KM[nan]", b"KM[inf]", b"KM[1e999]", b"KM[-0]", b"CA[zlib]",
           b"CA[utf-16]", b"CA[rot13]", b"CA[undefined]", b"CA[idna]", b"GM[2]", b"\x00", b"\xff\xfe",
           b"\n", b"\r", b" ", b"((((((((;", b"))))", b"\\]", b"AddBlack[cc]", b"PL[W]", b"MN[5]",
           b"[" * 8, b"]" * 8, b"9" * 40, b"\xe9", b"\xed\xa0\x80"]


def _mutate(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(5)
        pos = rng.randint(0, len(out))
        if op == 0 and out:                     # flip a byte
            out[min(pos, len(out) - 1)] = rng.randrange(256)
        elif op == 1:                           # insert a hostile piece
            out[pos:pos] = rng.choice(_PIECES)
        elif op == 2 and out:                   # delete a stretch
            del out[pos:pos + rng.randint(1, 8)]
        elif op == 3 and out:                   # duplicate a stretch
            start = rng.randrange(len(out))
            out[pos:pos] = out[start:start + rng.randint(1, 32)]
        else:                                   # truncate
            del out[pos:]
    return bytes(out)


def _case(rng: random.Random) -> bytes:
    kind = rng.randrange(4)
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 64)))
    if kind == 1:
        return b"(;" + b"".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 12))) + b")"
    return _mutate(rng, rng.choice(_SEEDS))


def _exercise(data: bytes) -> None:
    """What a reader of a collection does with a file: parse, replay, write back and re-read."""
    for game in parse_games(data, source="fuzz.sgf"):
        if isinstance(game, SGFError):
            raise game
        replay(game, superko="none")
        if game.size <= MAX_SIZE:
            again = parse_sgf(write_sgf(game), source="again.sgf")[0]
            assert (again.size, again.moves, again.setup_black) == (game.size, game.moves, game.setup_black)


def test_fuzzed_texts_raise_only_one_line_sgf_errors() -> None:
    rng = random.Random(16)
    outcomes = {"ok": 0, "SGFError": 0}
    for i in range(5000):
        data = _case(rng)
        try:
            _exercise(data)
        except SGFError as err:
            assert one_line(err), (data, str(err))
            outcomes["SGFError"] += 1
        except KomiError as err:        # allowed, but its message must be one line too
            assert one_line(err), (data, str(err))
            outcomes[type(err).__name__] = outcomes.get(type(err).__name__, 0) + 1
        except Exception as err:        # noqa: BLE001 - the point of the test
            pytest.fail(f"case {i} {data!r}: {type(err).__name__}: {err}")
        else:
            outcomes["ok"] += 1
    assert outcomes["ok"] > 100 and outcomes["SGFError"] > 1000     # both paths were exercised
