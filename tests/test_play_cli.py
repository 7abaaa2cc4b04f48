"""`komi play`: the session logic directly, then a scripted game through a pty (pexpect)."""
import sys

import pytest

envs_go = pytest.importorskip("envs.go")
pytestmark = pytest.mark.skipif(not hasattr(envs_go, "Board"), reason="envs.go.Board not built yet")


def session(tmp_path, human=1, size=5, handicap=0, agent=None):
    from agent.players import RandomPlayer
    from komi.terminal import PlaySession

    return PlaySession(agent or RandomPlayer(seed=2), human, size, 0.5 if handicap else 7.5,
                       handicap=handicap, save_path=tmp_path / "auto.sgf", agent_label="random player")


def test_render_board_plain_marks_last_move():
    from envs.go import Board
    from komi.terminal import Style, render_board

    b = Board(size=5, komi=7.5)
    b.play(12)   # C3, black
    b.play(6)    # B4, white
    text = render_board(b, last_move=6, style=Style())
    lines = text.splitlines()
    assert lines[0] == "    A B C D E" and lines[-1] == lines[0]
    assert lines[2] == " 4  .(O). . .  4"
    assert lines[3] == " 3  . . X . .  3"
    uni = render_board(b, last_move=None, style=Style(unicode=True, colour=True))
    assert "●" in uni and "○" in uni and "\x1b[" in uni


def test_session_moves_typos_illegal_and_undo(tmp_path):
    s = session(tmp_path)
    assert "You play Black" in s.start()
    out = s.handle("c3")
    assert "random player plays" in out and "White" not in out.splitlines()[0]
    assert len(s.game.moves) == 2
    assert "is not a move or command" in s.handle("zz")
    assert "is not a move or command" in s.handle("i3")      # no column I
    assert "is not a move or command" in s.handle("f3")      # off a 5x5 board
    assert "Illegal move C3: that point is already taken" in s.handle("C3")
    assert "Unknown command" in s.handle("play c3 now")
    assert s.handle("   ") == ""
    assert "Taken back" in s.handle("undo")
    assert s.game.moves == [] and s.game.to_play == 1
    assert "Nothing to undo" in s.handle("undo")
    assert "commands:" in s.handle("help")
    assert "Area count now" in s.handle("score")
    assert "No hints" in s.handle("hint")
    assert not s.finished


def test_session_save_load_resign_and_end(tmp_path):
    s = session(tmp_path)
    s.start()
    s.handle("c3")
    path = tmp_path / "mid.sgf"
    assert f"Game saved to {path}" in s.handle(f"save {path}")
    assert "Usage: save" in s.handle("save a b")
    t = session(tmp_path)
    t.start()
    out = t.handle(f"load {path}")
    assert "Loaded" in out and t.game.moves == s.game.moves
    assert "Cannot do that" in t.handle(f"load {tmp_path / 'missing.sgf'}")
    assert t.game.moves == s.game.moves     # a failed load changes nothing
    out = t.handle("resign")
    assert t.finished and t.result == "W+R" and "Game saved to" in out
    assert (tmp_path / "auto.sgf").read_text().startswith("(;")
    assert "The game is over" in t.handle("d4")


def test_session_two_passes_end_with_score(tmp_path):
    from agent.players import Player

    class Passer(Player):
        name = "passer"

        def reset(self, size, komi):
            self.size = size

        def setup(self, black, white):
            pass

        def play(self, move, color):
            pass

        def genmove(self, color):
            return self.size * self.size

    s = session(tmp_path, agent=Passer())
    s.start()
    s.handle("c3")   # passer passes
    out = s.handle("pass")
    assert s.finished and "Both sides passed" in out and s.result.startswith("B+")
    assert "Result: B+" in out and "Game saved to" in out


def test_session_white_with_handicap_agent_moves_first(tmp_path):
    s = session(tmp_path, human=-1, size=9, handicap=2)
    text = s.start()
    # Black has two handicap stones; White (the human) moves first after a handicap.
    assert len(s.game.setup_black) == 2 and s.game.to_play == -1 and "random player plays" not in text


def spawn(args, tmp_path):
    pexpect = pytest.importorskip("pexpect")
    child = pexpect.spawn(sys.executable, ["-m", "komi", "play", *args], cwd=str(tmp_path),
                          encoding="utf-8", timeout=30, dimensions=(50, 120))
    return pexpect, child


def test_scripted_terminal_game(tmp_path):
    pexpect, child = spawn(["--size", "5", "--seed", "1", "--plain", "--save", "end.sgf"], tmp_path)
    child.expect("You play Black")
    child.expect_exact("Black to play> ")
    child.sendline("c3")
    child.expect("random player plays")
    child.expect_exact("Black to play> ")
    child.sendline("qq77")
    child.expect("is not a move or command")
    child.sendline("C3")
    child.expect("Illegal move C3")
    child.sendline("undo")
    child.expect("Taken back")
    child.sendline("save mid.sgf")
    child.expect("Game saved to mid.sgf")
    child.sendline("load mid.sgf")
    child.expect("Loaded mid.sgf")
    child.sendline("quit")
    child.expect("Result: ")
    child.expect("Game saved to end.sgf")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert (tmp_path / "end.sgf").read_text().startswith("(;")


def test_ctrl_c_offers_to_save_and_unicode_on_a_tty(tmp_path):
    pexpect, child = spawn(["--size", "5", "--seed", "1", "--save", "ctrlc.sgf"], tmp_path)
    child.expect_exact("Black to play> ")
    child.sendline("b2")
    child.expect("●")  # Unicode stones on a terminal
    child.expect_exact("Black to play> ")
    child.sendintr()
    child.expect("Save the game to ctrlc.sgf before quitting")
    child.sendline("y")
    child.expect("Game saved to ctrlc.sgf")
    child.expect(pexpect.EOF)
    child.close()
    assert (tmp_path / "ctrlc.sgf").exists()


def test_score_and_hint_show_the_estimated_territory(tmp_path):
    import numpy as np
    from helpers_play import tiny_checkpoint

    from agent.players import NetworkPlayerConfig, PolicyPlayer
    from komi.terminal import territory_map

    agent = PolicyPlayer(tiny_checkpoint(tmp_path, size=5), NetworkPlayerConfig())
    # the ownership head's view, faked: Black owns the left two columns, White the right two
    black_view = np.tile([1.0, 0.9, 0.0, -0.9, -1.0], 5)
    agent.estimate = lambda board: (black_view * board.to_play, 2.0 * board.to_play)
    s = session(tmp_path, agent=agent)
    s.start()
    s.handle("a5")
    text = s.handle("score")
    assert "Area count now:" in text and "estimate of the end: W+7.5" in text and "score head: B+2" in text
    rows = text.splitlines()[-6:-1]
    assert rows[0].split()[1:6] == ["X", "b", "?", "w", "w"]
    assert rows[2].split()[1:6] == ["b", "b", "?", "w", "w"]
    white_reply = s.game.moves[-1][1]  # the agent's stone: shown lower-case where Black owns it
    r, c = divmod(white_reply, 5)
    assert rows[r].split()[1 + c] == ("o" if c < 2 else "O")
    assert "territory" in s.handle("hint")
    from envs.go import Board

    b = Board(5)
    b.play(4)  # a black stone on the right edge, where White owns the points: dead
    assert territory_map(b, black_view).splitlines()[1].split()[5] == "x"
