"""The GTP engine under hostile input: bytes that are not UTF-8 whatever the locale, file commands
that fail for a reason the user can act on, loadsgf linear in the moves, and a bounded fuzz run.

A clear one-line `? reason` for anything wrong, never a traceback, never an exit.
"""
import importlib.util
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("envs.go.coords")

from agent.gtp import GTPConfig, GTPEngine  # noqa: E402
from agent.players import RandomPlayer  # noqa: E402
from komi.cmd_gtp import serve  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FRAME = re.compile(r"^([=?])(\d*)( [^\n]*)?\n([^\n]+\n)*\n$")


def _fuzz_module():
    spec = importlib.util.spec_from_file_location("fuzz_gtp", ROOT / "benchmarks" / "fuzz_gtp.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_gtp"] = module
    spec.loader.exec_module(module)
    return module


def engine(size=9, name="komi", seed=1):
    return GTPEngine(RandomPlayer(seed=seed), GTPConfig(size=size, name=name), log=lambda m: None)


def ask(e, line):
    """(ok, text) of one well-framed response."""
    resp = e.handle(line)
    assert resp is not None and FRAME.match(resp), (line, resp)
    return resp[0] == "=", resp[1:].strip()


def komi_gtp(stdin: bytes, *extra: str, encoding: str = "utf-8:strict", cwd=None):
    env = dict(os.environ, PYTHONIOENCODING=encoding, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "komi", "gtp", "--checkpoint", "random", "--size", "9", *extra],
                          input=stdin, capture_output=True, env=env, cwd=cwd, timeout=120)


# --- bytes in, bytes out --------------------------------------------------------------------------

def test_binary_junk_and_latin1_path_under_a_strict_utf8_locale(tmp_path):
    """`komi gtp` reads bytes itself: junk gets `? ...` and the engine goes on (it used to exit 1)."""
    latin1 = tmp_path / os.fsdecode(b"caf\xe9.sgf")
    latin1.write_text("(;GM[1]SZ[9];B[ee];W[cc])")
    script = (b"1 name\n\xff\xfe junk \x80\x00\n2 loadsgf " + os.fsencode(latin1) + b"\n3 showboard\n"
              b"4 loadsgf " + os.fsencode(tmp_path) + b"/nope\xe9.sgf\n5 name\n\xc3\n6 quit\n")
    res = komi_gtp(script)
    assert res.returncode == 0, res.stderr.decode(errors="replace")
    out = res.stdout.decode("utf-8")   # output is UTF-8, whatever came in
    assert b"Traceback" not in res.stderr
    responses = re.findall(r"[=?]\d* ?[^\n]*\n(?:[^\n]+\n)*\n", out)
    assert "".join(responses) == out
    assert responses[0] == "=1 komi\n\n"
    assert responses[1] == "? unknown command\n\n"
    assert responses[2] == "=2 \n\n"                     # the Latin-1 file name reached the file system
    assert "X" in responses[3] and "O" in responses[3]   # its moves are on the board
    assert responses[4].startswith("?4 cannot load file: ") and "no such file" in responses[4]
    assert "\\udce9" in responses[4]                     # the undecodable byte shown escaped
    assert responses[5:] == ["=5 komi\n\n", "? unknown command\n\n", "=6 \n\n"]


def test_output_never_fails_to_encode_under_an_ascii_locale():
    res = komi_gtp(b"name\nquit\n", "--name", "k\u00f6mi-\u2603", encoding="ascii:strict")
    assert res.returncode == 0, res.stderr.decode(errors="replace")
    assert res.stdout == "= k\u00f6mi-\u2603\n\n= \n\n".encode("utf-8")


def test_serve_over_byte_streams_in_process():
    e = engine()
    stdout = io.BytesIO()
    serve(e, io.BytesIO(b"1 name\n\xff\xff\n2 play b E5\r\n\xe2\x80\xae\n3 quit\n4 name\n"), stdout)
    assert stdout.getvalue() == b"=1 komi\n\n? unknown command\n\n=2 \n\n? unknown command\n\n=3 \n\n"


def test_handle_accepts_bytes_and_only_ascii_digits_make_an_id():
    e = engine()
    assert e.handle(b"7 name\xff") == "?7 unknown command\n\n"
    assert e.handle(b"7 name") == "=7 komi\n\n"
    assert e.handle("\u00b2 name") == "? unknown command\n\n"        # superscript two is no id
    assert e.handle("\u0663 name") == "? unknown command\n\n"        # nor an Arabic-Indic three
    assert e.handle("\xa0") == "? unknown command\n\n"               # GTP's white space is ASCII
    assert ask(e, "boardsize \u0661\u0669") == (False, "syntax error")   # nor are its digits
    assert e.handle("7") == "?7 syntax error\n\n"


def test_a_line_longer_than_the_limit_is_refused_and_the_engine_goes_on(monkeypatch):
    import agent.gtp

    monkeypatch.setattr(agent.gtp, "MAX_LINE_BYTES", 1000)
    e = engine()
    stdout = io.BytesIO()
    serve(e, io.BytesIO(b"12 play b " + b"x" * 5000 + b"\n13 name\n"), stdout)
    assert stdout.getvalue() == b"?12 command line too long (over 1000 bytes)\n\n=13 komi\n\n"


def test_analysis_interval_of_hundreds_of_digits_is_no_overflow():
    """Found by benchmarks/fuzz_gtp.py: `lz-analyze b 999...9` answered `internal error: OverflowError`."""
    e = engine()
    nines = "9" * 400
    for line in [f"1 lz-analyze b {nines}", f"2 kata-analyze w interval {nines}", f"3 kata-analyze interval -{nines}"]:
        assert e.handle(line) == f"={line.split()[0]}\n", line
        assert e.pending_analysis[2] == 86400.0 or e.pending_analysis[2] == 0.05
    assert ask(e, "lz-analyze b 1e9") == (False, "syntax error")


def test_error_messages_are_one_printable_line():
    from komi.errors import KomiError

    e = engine()

    def multiline(args):
        raise KomiError("first \x1b[31mline\u202e\n\nsecond line")

    e._commands["showboard"] = multiline
    assert e.handle("5 showboard") == "?5 first [31mline\\u202e\n\n"
    e._commands["showboard"] = lambda args: "\nrow 1\n\n\nrow 2\n\n"   # no empty line inside a response
    assert e.handle("6 showboard") == "=6 \nrow 1\nrow 2\n\n"


def test_analysis_that_fails_does_not_end_the_response_stream():
    e = engine()

    def broken(board):
        raise RuntimeError("analysis bug")

    e.player.analyze_position = broken
    stdout = io.BytesIO()
    serve(e, io.BytesIO(b"1 lz-analyze b 10\n2 name\n"), stdout)
    assert stdout.getvalue() == b"=1\n\n=2 komi\n\n"


# --- file commands name their reason ------------------------------------------------------------

def test_loadsgf_reasons(tmp_path):
    e = engine()
    (tmp_path / "lower.sgf").write_text("(;b[aa];W[cc])")
    (tmp_path / "ha.sgf").write_text("(;SZ[9]HA[2147483648];W[aa])")
    (tmp_path / "big.sgf").write_text("(;SZ[25];B[aa])")
    cases = {
        tmp_path: "is a directory",
        tmp_path / "missing.sgf": "no such file",
        tmp_path / "missing" / "x.sgf": "no such file",
        Path("/dev/null"): "not a regular file",
        tmp_path / ("a" * 5000): "file name too long",
        tmp_path / "big.sgf": "larger than 19x19",
    }
    for path, reason in cases.items():
        ok, text = ask(e, f"loadsgf {path}")
        assert not ok and text.startswith("cannot load file") and reason in text, (path, text)
        assert len(text) < 400
    for name in ["lower.sgf", "ha.sgf"]:   # malformed SGF: the reader's reason, not an internal error
        ok, text = ask(e, f"loadsgf {tmp_path / name}")
        assert not ok and text.startswith("cannot load file: ") and "internal error" not in text, text
    assert e.game.moves == [] and ask(e, "name") == (True, "komi")


def test_printsgf_reasons(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    e = engine()
    ask(e, "play b E5")
    cases = {
        "/": "cannot save file: /: is a directory",
        ".": "cannot save file: .: is a directory",
        "a" * 5000: "cannot save file: file name too long (5000 characters)",
        "no/such/dir/x.sgf": "cannot save file: no/such/dir: no such folder",
        "game.sgf/x.sgf": "cannot save file: game.sgf: no such folder",
    }
    for arg, expected in cases.items():
        assert ask(e, f"printsgf {arg}") == (False, expected), arg
    assert not (tmp_path / "no").exists()         # no folders made on the way
    assert ask(e, "printsgf game.sgf") == (True, "")
    assert "B[ee]" in (tmp_path / "game.sgf").read_text()
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        ok, text = ask(e, f"printsgf {ro / 'x.sgf'}")
        assert not ok and text.startswith("cannot save file: ") and "ermission denied" in text


# --- loadsgf is linear in the moves -------------------------------------------------------------

def test_loadsgf_of_thousands_of_passes_builds_the_board_a_few_times(tmp_path, monkeypatch):
    """Every move after two passes used to replay the game from an empty board (4,000 passes:
    4,000 replays, 3.9 s; an 800 KB file about 40 minutes). Counted: boards built from scratch."""
    from agent.game import GameState

    passes = "".join(f";{'BW'[i % 2]}[]" for i in range(4000))
    path = tmp_path / "passes.sgf"
    path.write_text(f"(;GM[1]SZ[9]{passes})")
    e = engine()
    built = []
    fresh = GameState._fresh_board
    monkeypatch.setattr(GameState, "_fresh_board", lambda self: built.append(1) or fresh(self))
    assert ask(e, f"loadsgf {path}") == (True, "")
    assert len(built) <= 10                         # was about 8,000 (engine and player each)
    assert len(e.game.moves) == 4000 and e.game.board.is_over()
    assert ask(e, "play b E5") == (True, "")           # play goes on after the passes
    assert not e.game.board.is_over() and e.game.board.stones().sum() == 1
    assert ask(e, "undo") == (True, "") and e.game.board.is_over()


def test_play_after_passes_matches_a_replay_from_scratch():
    """The kept board (the position before the game-ending pass) equals a full rebuild."""
    from agent.game import GameState

    s = GameState(size=5)
    seq = [(1, 12), (-1, 25), (1, 25), (-1, 25), (1, 7), (-1, 25), (1, 25), (-1, 13), (1, 25),
           (-1, 25), (1, 25), (-1, 8)]
    for color, move in seq:
        s.play(move, color)
        ref = GameState(size=5, moves=list(s.moves))
        assert (ref.board.stones() == s.board.stones()).all()
        assert (ref.board.to_play, ref.board.consecutive_passes, ref.board.is_over()) == \
               (s.board.to_play, s.board.consecutive_passes, s.board.is_over())
        assert ref.board.hash == s.board.hash


# --- fuzz -------------------------------------------------------------------------------------------

def test_bounded_fuzz_every_line_gets_a_well_formed_answer_and_the_engine_goes_on(tmp_path, monkeypatch):
    fuzz = _fuzz_module()
    fuzz.write_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "passes.sgf").write_text("(;SZ[9]" + ";B[];W[]" * 100 + ")")  # keep the CI run short
    maker = fuzz.LineMaker(seed=16)
    lines = [maker.line() for _ in range(3000)]
    e = GTPEngine(RandomPlayer(seed=3), GTPConfig(size=9, name=fuzz.NAME), log=lambda m: None)
    counts, out = fuzz.run_in_process(lines, e)
    assert counts.lines == 3000 and counts.responses > 2000
    assert (counts.violations, counts.exits, counts.internal_errors) == (0, 0, 0), counts.examples
    assert out.endswith(fuzz.sync_response(2999))
    assert not e.quit


def test_fuzz_checker_catches_bad_frames():
    """The fuzz check itself: a missing blank line, a wrong id or an answer to a comment counts."""
    fuzz = _fuzz_module()
    counts = fuzz.Counts()
    fuzz.check_output(b"5 name", b"=5 komi\n", counts)
    fuzz.check_output(b"5 name", b"=6 komi\n\n", counts)
    fuzz.check_output(b"# comment", b"= \n\n", counts)
    fuzz.check_output(b"name", b"", counts)
    fuzz.check_output(b"name", b"? internal error: TypeError\n\n", counts)
    assert (counts.violations, counts.internal_errors) == (4, 1)


def test_fuzz_lines_never_write_outside_the_fuzzing_folder():
    """printsgf gets no absolute path but `/` (a pre-fix engine replaced /dev/null with a file)."""
    fuzz = _fuzz_module()
    for line in [b"printsgf /etc/x.sgf", b"printsgf\t/\x01etc/x", b"1 print\x02sgf /dev/null",
                 b"printsgf ../x.sgf", b"loadsgf /etc/shadow", b"printsgf /nonexistent-komi.sgf"]:
        words = fuzz.gtp_tokens(fuzz._safe(line))
        assert not any(w.startswith(b"/") or b".." in w for w in words[1:] if w != b"1"), line
    assert fuzz._safe(b"printsgf /") == b"printsgf /"
    assert fuzz._safe(b"loadsgf /dev/zero") == b"loadsgf /dev/zero"
    maker = fuzz.LineMaker(seed=4)
    for _ in range(3000):
        words = fuzz.gtp_tokens(maker.line())
        if fuzz.command_of(b" ".join(words)) == b"printsgf":
            assert all(w == b"/" or not w.startswith(b"/") for w in words), words
