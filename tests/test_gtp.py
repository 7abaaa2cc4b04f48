"""GTP engine: transcripts (command -> expected response) checked against the GTP v2 spec.

Like gogui-regress, every response is also checked for the framing the spec demands:
`=[id] result` or `?[id] message`, ended by exactly one empty line, no empty line inside.
"""
import io
import re

import pytest

pytest.importorskip("envs.go.coords")

from agent.gtp import GTPConfig, GTPEngine  # noqa: E402
from agent.players import RandomPlayer  # noqa: E402
from helpers_play import tiny_checkpoint  # noqa: E402
from komi import __version__  # noqa: E402

FRAME = re.compile(r"^([=?])(\d*)( [^\n]*)?\n([^\n]+\n)*\n$")


def engine(size=9, komi=7.5, seed=1):
    return GTPEngine(RandomPlayer(seed=seed), GTPConfig(size=size, komi=komi), log=lambda m: None)


def ask(e, line):
    """Send one line, check the framing and id echo, return (ok, text after the status)."""
    resp = e.handle(line)
    assert resp is not None, line
    m = FRAME.match(resp)
    assert m, f"badly framed response to {line!r}: {resp!r}"
    words = line.split()
    if words and words[0].isdigit():
        assert m.group(2) == words[0], f"id not echoed for {line!r}: {resp!r}"
    else:
        assert m.group(2) == ""
    return m.group(1) == "=", resp[1 + len(m.group(2)):].strip()


def run_transcript(e, transcript):
    for line, expected in transcript:
        ok, text = ask(e, line)
        status = "=" if ok else "?"
        got = f"{status} {text}".strip()
        if isinstance(expected, re.Pattern):
            assert expected.fullmatch(got), (line, got)
        else:
            assert got == expected, (line, got)


VERTEX = r"(?:[A-HJ-T](?:1[0-9]|[1-9])|pass)"


def test_administrative_commands():
    e = engine()
    run_transcript(e, [
        ("protocol_version", "= 2"),
        ("1 protocol_version", "= 2"),
        ("name", "= komi"),
        ("42 version", f"= {__version__}"),
        ("known_command genmove", "= true"),
        ("known_command kata-analyze", "= true"),
        ("known_command frobnicate", "= false"),
        ("known_command", "? syntax error"),
        ("frobnicate", "? unknown command"),
        ("7 frobnicate now", "? unknown command"),
    ])
    ok, text = ask(e, "list_commands")
    listed = text.split("\n")
    for cmd in ["protocol_version", "name", "version", "known_command", "list_commands", "quit",
                "boardsize", "clear_board", "komi", "play", "genmove", "undo", "showboard",
                "final_score", "final_status_list", "fixed_handicap", "place_free_handicap",
                "set_free_handicap", "time_settings", "time_left", "kgs-time_settings",
                "kgs-genmove_cleanup", "loadsgf", "printsgf", "reg_genmove", "lz-analyze",
                "kata-analyze"]:
        assert cmd in listed
    assert ask(e, "9 quit") == (True, "") and e.quit


def test_input_preprocessing_ignores_comments_blank_lines_and_control_chars():
    e = engine()
    assert e.handle("") is None
    assert e.handle("   \t ") is None
    assert e.handle("# just a comment") is None
    assert e.handle("boardsize\t9   # trailing comment\r\n") == "= \n\n"
    assert e.handle("proto\x01col_version") == "= 2\n\n"
    assert e.handle("5") == "?5 syntax error\n\n"


def test_setup_commands_and_errors():
    e = engine()
    run_transcript(e, [
        ("boardsize 9", "="),
        ("boardsize 0", "? unacceptable size"),
        ("boardsize 1", "? unacceptable size"),
        ("boardsize 26", "? unacceptable size"),
        ("boardsize nine", "? syntax error"),
        ("boardsize", "? syntax error"),
        ("boardsize 13", "="),
        ("clear_board", "="),
        ("clear_board now", "? syntax error"),
        ("komi 6.5", "="),
        ("komi -3", "="),
        ("komi lots", "? syntax error"),
        ("komi", "? syntax error"),
    ])
    assert e.game.size == 13 and e.game.komi == -3


def test_play_genmove_undo_and_errors():
    e = engine()
    run_transcript(e, [
        ("play b D5", "="),
        ("play B d5", "? illegal move"),          # occupied
        ("play white E5", "="),
        ("play x E6", "? syntax error"),          # bad colour
        ("play b Z9", "? syntax error"),          # no such column
        ("play b J10", "? syntax error"),         # off a 9x9 board
        ("play b I5", "? syntax error"),          # GTP has no column I
        ("play b", "? syntax error"),
        ("play w pass", "="),
        ("3 genmove b", re.compile(rf"= {VERTEX}")),
        ("genmove w", re.compile(rf"= {VERTEX}")),
        ("genmove purple", "? syntax error"),
    ])
    assert len(e.game.moves) == 5
    run_transcript(e, [("undo", "="), ("undo", "="), ("undo", "="), ("undo", "="), ("undo", "="),
                       ("undo", "? cannot undo")])
    assert e.game.is_empty()


def test_genmove_plays_on_engine_board_and_either_colour_may_move():
    e = engine()
    ask(e, "play b C3")
    ok, v1 = ask(e, "genmove b")  # black twice in a row is legal GTP
    assert ok
    ok, v2 = ask(e, "genmove b")
    ok, alive = ask(e, "final_status_list alive")
    stones = set(alive.split())
    assert {"C3", v1, v2} - {"pass"} <= stones
    # the player's own board agrees with the referee's
    assert (e.player.board.stones() == e.game.board.stones()).all()


def test_ko_is_illegal_move():
    # . . . . .
    # . X O . .
    # X . X O .      black C3 in atari, white B3 takes it, black may not retake at once
    # . X O . .
    # . . . . .
    e2 = engine(size=5)
    run_transcript(e2, [
        ("play b B4", "="), ("play b A3", "="), ("play b B2", "="),
        ("play w C4", "="), ("play w D3", "="), ("play w C2", "="),
        ("play b C3", "="),
        ("play w B3", "="),       # captures C3
        ("play b C3", "? illegal move"),  # immediate retake of the ko
    ])


def test_showboard_and_scores():
    e = engine()
    ok, board = ask(e, "showboard")
    assert ok and "A B C D E F G H J" in board
    run_transcript(e, [
        ("final_score", "= W+7.5"),
        ("play b E5", "="),
        ("final_score", "= B+73.5"),       # one stone owns the empty board by area
        ("play w D4", "="),
        ("final_score", "= W+7.5"),        # now every empty point touches both: 1 - 1 - 7.5
        ("final_status_list alive", re.compile(r"= (E5 D4|D4 E5)")),
        ("final_status_list dead", "="),
        ("final_status_list seki", "="),
        ("final_status_list zombie", "? syntax error"),
        ("komi 0", "="),
        ("final_score", "= 0"),
    ])


def test_handicap_commands():
    e = engine()
    ok, text = ask(e, "fixed_handicap 4")
    assert ok and set(text.split()) == {"C3", "G3", "C7", "G7"}
    run_transcript(e, [
        ("fixed_handicap 2", "? board not empty"),
        ("set_free_handicap A1 B1", "? board not empty"),
        ("place_free_handicap 2", "? board not empty"),
        ("clear_board", "="),
        ("fixed_handicap 1", "? invalid number of stones"),
        ("fixed_handicap 10", "? invalid number of stones"),
        ("fixed_handicap x", "? syntax error"),
        ("set_free_handicap A1", "? bad vertex list"),
        ("set_free_handicap A1 A1", "? bad vertex list"),
        ("set_free_handicap A1 pass", "? bad vertex list"),
        ("set_free_handicap A1 Z1", "? bad vertex list"),
        ("set_free_handicap A1 B2 C3", "="),
        ("genmove w", re.compile(rf"= {VERTEX}")),
        ("clear_board", "="),
        ("place_free_handicap 1", "? invalid number of stones"),
    ])
    ok, text = ask(e, "place_free_handicap 12")
    assert ok and len(set(text.split())) == 12
    ask(e, "clear_board")
    ok, text = ask(e, "place_free_handicap 3")
    assert ok and len(set(text.split())) == 3
    assert e.game.to_play == -1  # white moves after a handicap


def test_time_commands_and_time_management():
    e = engine()
    run_transcript(e, [
        ("time_settings 300 30 5", "="),
        ("time_settings 300 30", "? syntax error"),
        ("time_settings a b c", "? syntax error"),
        ("time_left b 100 0", "="),
        ("time_left w 25 5", "="),
        ("time_left b lots 0", "? syntax error"),
        ("kgs-time_settings none", "="),
        ("kgs-time_settings absolute 600", "="),
        ("kgs-time_settings byoyomi 600 30 5", "="),
        ("kgs-time_settings canadian 600 300 25", "="),
        ("kgs-time_settings sudden", "? syntax error"),
        ("kgs-time_settings byoyomi 600", "? syntax error"),
    ])
    e2 = engine()
    ask(e2, "time_settings 0 30 5")
    ask(e2, "time_left b 20 4")
    assert e2.move_seconds(1) == pytest.approx(20 / 4 - e2.config.move_overhead)
    ask(e2, "time_settings 600 0 0")
    ask(e2, "time_left b 600 0")
    absolute = e2.move_seconds(1)
    assert 1.0 < absolute < 600 / 10  # spread over the expected remaining moves
    ask(e2, "kgs-time_settings none")
    assert e2.move_seconds(1) is None


def test_reg_genmove_and_cleanup():
    e = engine()
    ask(e, "play b E5")
    before = e.game.board.stones().copy()
    ok, text = ask(e, "reg_genmove w")
    assert ok and re.fullmatch(VERTEX, text)
    assert (e.game.board.stones() == before).all() and len(e.game.moves) == 1
    assert e.game.to_play == -1
    ok, text = ask(e, "kgs-genmove_cleanup w")
    assert ok and text != "pass" and len(e.game.moves) == 2


def test_sgf_commands(tmp_path):
    e = engine()
    for line in ["play b E5", "play w C3", "play b G7", "play w pass"]:
        ask(e, line)
    ok, sgf = ask(e, "printsgf")
    assert ok and sgf.startswith("(;") and "SZ[9]" in sgf and "B[ee]" in sgf
    path = tmp_path / "game.sgf"
    assert ask(e, f"printsgf {path}") == (True, "")
    assert path.read_text().startswith("(;")
    e2 = engine()
    assert ask(e2, f"loadsgf {path}") == (True, "")
    assert e2.game.moves == e.game.moves
    assert ask(e2, f"loadsgf {path} 3") == (True, "")   # the position before move 3
    assert len(e2.game.moves) == 2
    run_transcript(e2, [
        (f"loadsgf {tmp_path / 'missing.sgf'}", f"? cannot load file: {tmp_path / 'missing.sgf'}: no such file"),
        ("loadsgf", "? syntax error"),
    ])
    bad = tmp_path / "bad.sgf"
    bad.write_text("(;GM[1]SZ[9];B[ee];W[ee])")  # second move on an occupied point
    ok, text = ask(e2, f"loadsgf {bad}")
    assert not ok and re.fullmatch(r"cannot load file: .*bad\.sgf.*move 2.*", text), text
    assert len(e2.game.moves) == 2  # the failed load changed nothing


def test_analysis_response_stays_open_until_next_command():
    from komi.cmd_gtp import serve

    e = engine()
    stdin = io.StringIO("1 lz-analyze b 10\nname\nquit\n")
    stdout = io.StringIO()
    serve(e, stdin, stdout)
    out = stdout.getvalue()
    # random player has no analysis: an open response, closed by the next command
    assert out.startswith("=1\n\n= komi\n\n")


def test_serve_survives_garbage_and_answers_in_order():
    from komi.cmd_gtp import serve

    e = engine()
    stdin = io.StringIO("\x00\x01\nfoo bar\n2 play b E5\n3 play b E5\n\n4 quit\n5 name\n")
    stdout = io.StringIO()
    serve(e, stdin, stdout)
    assert stdout.getvalue() == "? unknown command\n\n=2 \n\n?3 illegal move\n\n=4 \n\n"


def test_lz_and_kata_analyze_with_a_checkpoint(tmp_path):
    from helpers_play import tiny_checkpoint

    from agent.players import PolicyPlayer
    from komi.cmd_gtp import serve

    ckpt = tiny_checkpoint(tmp_path)
    if ckpt is None:
        pytest.skip("network not available")
    e = GTPEngine(PolicyPlayer(ckpt), GTPConfig(size=9), log=lambda m: None)
    stdin = io.StringIO("play b E5\n1 lz-analyze w 10\n\n2 kata-analyze b interval 20 ownership true\n"
                        "3 name\nboardsize 13\nquit\n")
    stdout = io.StringIO()
    serve(e, stdin, stdout)
    chunks = stdout.getvalue().split("\n\n")
    assert chunks[0] == "= "
    lz = chunks[1].split("\n")
    assert lz[0] == "=1"
    entries = lz[1].split("info ")[1:]
    assert len(entries) == 10
    vertex = r"(?:[A-HJ]\d|pass)"
    for order, entry in enumerate(entries):
        assert re.fullmatch(rf"move {vertex} visits 1 winrate \d+ prior \d+ lcb \d+ order {order} "
                            rf"pv {vertex}( {vertex})* ?", entry), entry
        assert "E5" not in entry.split()[1]  # occupied points are never suggested
    kata = chunks[2].split("\n")
    assert kata[0] == "=2"
    first = kata[1].split(" info ")[0]
    num = r"-?[\d.]+"
    assert re.fullmatch(rf"info move {vertex} visits 1 utility {num} winrate [01]\.\d+ scoreMean {num} "
                        rf"scoreStdev 0 scoreLead {num} scoreSelfplay {num} prior [01]\.\d+ lcb [01]\.\d+ "
                        rf"utilityLcb {num} order 0 pv {vertex}", first), first
    # KataGo's ownership field ends the line: 81 values in [-1, 1] for the side to move
    head, _, tail = kata[1].partition(" ownership ")
    values = [float(v) for v in tail.split()]
    assert len(values) == 81 and all(-1 <= v <= 1 for v in values)
    assert "ownership" not in head.split(" info ")[-1]
    assert chunks[3] == "=3 komi"
    assert chunks[4] == "? unacceptable size"  # a 9x9 network cannot play 13x13
    assert e.game.size == 9


def test_kata_analyze_ownership_needs_the_head_and_says_so(tmp_path):
    from agent.players import PolicyPlayer

    ckpt = tiny_checkpoint(tmp_path, aux_heads=False)
    e = GTPEngine(PolicyPlayer(ckpt), GTPConfig(size=9), log=lambda m: None)
    ok, text = ask(e, "kata-analyze b interval 20 ownership true")
    assert not ok and "ownership head" in text
    assert e.handle("kata-analyze b interval 20 ownership false") == "=\n"  # an open analysis response
    assert e.analysis_lines() and "ownership" not in e.analysis_lines()[0]
    e.pending_analysis = None
    ok, dead = ask(e, "final_status_list dead")
    assert ok and dead == ""  # without the head every stone counts as alive


def test_final_status_list_and_cleanup_follow_the_ownership_head(tmp_path):
    import numpy as np

    from agent.players import PolicyPlayer

    player = PolicyPlayer(tiny_checkpoint(tmp_path))
    e = GTPEngine(player, GTPConfig(size=9), log=lambda m: None)
    run_transcript(e, [("play b E5", "="), ("play w A1", "="), ("play b pass", "="), ("play w pass", "=")])
    # the head says: White's stone at A1 is dead (Black owns every point), Black's E5 lives
    player.estimate = lambda board: (np.full(81, float(board.to_play)), None)
    ok, dead = ask(e, "final_status_list dead")
    assert ok and dead == "A1"
    ok, alive = ask(e, "final_status_list alive")
    assert ok and alive == "E5"
    ok, move = ask(e, "kgs-genmove_cleanup b")
    assert ok and move in ("A2", "B1")  # a liberty of the dead stone
    # nothing the head calls dead: the clean-up has nothing to add to a pass
    from agent.endgame import cleanup_move

    board = e.game.board.copy()
    assert cleanup_move(board, 1, np.zeros(81), np.random.default_rng(0)) == 81


def test_cleanup_after_two_passes_and_internal_errors_do_not_kill_the_engine():
    e = engine(size=5)
    run_transcript(e, [("play b C3", "="), ("play w pass", "="), ("play b pass", "=")])
    assert e.game.board.is_over()
    ok, v = ask(e, "kgs-genmove_cleanup w")
    assert ok and v != "pass" and len(e.game.moves) == 4       # play goes on after two passes
    assert (e.player.board.stones() == e.game.board.stones()).all()
    run_transcript(e, [("play b A1", "="), ("undo", "="), ("undo", "=")])
    assert len(e.game.moves) == 3 and e.game.board.is_over()   # back to after the two passes

    def boom(color):
        raise RuntimeError("bug")

    e.player.genmove = boom
    assert ask(e, "genmove b") == (False, "internal error: RuntimeError")
    assert ask(e, "name") == (True, "komi")


def test_komi_gtp_command_picks_newest_checkpoint_else_random(tmp_path):
    import subprocess
    import sys

    from helpers_play import tiny_checkpoint

    script = "boardsize 9\ngenmove b\nfoo\nquit\n"
    run = lambda *extra: subprocess.run([sys.executable, "-m", "komi", "gtp", *extra, "--size", "9"],  # noqa: E731
                                        input=script,
                                        capture_output=True, text=True, timeout=120)
    res = run("--checkpoint-dir", str(tmp_path / "empty"))
    assert res.returncode == 0
    assert "komi-9x9 (shipped with komi), search, 400 visits" in res.stderr  # no checkpoint: the shipped one
    assert re.fullmatch(rf"= \n\n= {VERTEX}\n\n\? unknown command\n\n= \n\n", res.stdout)  # stdout: GTP only
    if tiny_checkpoint(tmp_path / "ck", size=9, step=5) is None:
        pytest.skip("network not available")
    tiny_checkpoint(tmp_path / "ck", size=9, step=12)
    res = run("--checkpoint-dir", str(tmp_path / "ck"), "--threads", "1", "--visits", "1")
    assert res.returncode == 0
    assert "9x9: network" in res.stderr and "step-00000012" in res.stderr and "network alone" in res.stderr
    assert re.fullmatch(rf"= \n\n= {VERTEX}\n\n\? unknown command\n\n= \n\n", res.stdout)


def test_handicap_game_round_trips_through_printsgf_and_loadsgf(tmp_path):
    e = engine()
    for line in ["fixed_handicap 3", "play w E5", "genmove b", "play w pass"]:
        assert ask(e, line)[0], line
    path = tmp_path / "h.sgf"
    assert ask(e, f"printsgf {path}") == (True, "")
    e2 = engine(seed=9)
    assert ask(e2, f"loadsgf {path}") == (True, "")
    assert (e2.game.setup_black, e2.game.handicap, e2.game.moves) == (e.game.setup_black, 3, e.game.moves)
    assert (e2.game.board.stones() == e.game.board.stones()).all() and e2.game.to_play == 1
    assert ask(e2, "loadsgf " + str(path) + " 1") == (True, "")   # before the first move: White to play
    assert e2.game.moves == [] and e2.game.to_play == -1 and len(e2.game.setup_black) == 3
