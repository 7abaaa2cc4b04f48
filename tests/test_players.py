import sys

import numpy as np
import pytest
from helpers_play import fake_engine_command, stones_from_ascii, tiny_checkpoint

from agent.players import (
    RESIGN,
    NetworkPlayerConfig,
    PlayerError,
    RandomPlayer,
    own_eye_mask,
    parse_player_spec,
)


def eyes(art, color):
    stones = stones_from_ascii(art)
    n = stones.shape[0]
    return {(int(i) // n, int(i) % n) for i in np.flatnonzero(own_eye_mask(stones, color))}


def test_eye_mask_centre_edge_and_corner():
    art = """
        . X . . .
        X X . O .
        . X X . .
        X . X . .
        . X . . .
    """
    found = eyes(art, 1)
    assert (0, 0) in found          # corner: both neighbours black, the one diagonal black
    assert (3, 1) in found          # centre: four black neighbours, no white diagonal
    assert (4, 0) in found          # edge/corner point (4,0): neighbours (3,0) (4,1) black, diagonal (3,1) empty
    assert (2, 0) in found          # edge: (1,0) (3,0) (2,1) black, no white diagonal
    assert (0, 2) not in found      # (1,2) is empty
    assert eyes(art, -1) == set()


def test_eye_mask_false_eyes():
    # centre point with two opponent diagonals: a false eye; edge point with one: false too
    art = """
        . . . . .
        . O X O .
        . X . X .
        . X X . .
        X . X . .
    """
    found = eyes(art, 1)
    assert (2, 2) not in found      # two white diagonals
    assert (4, 1) in found          # edge eye: diagonals (3,0) empty, (3,2) black
    art2 = """
        . . . . .
        . . . . .
        . . . . .
        O X . . .
        X . X . .
    """
    assert (4, 1) not in eyes(art2, 1)  # edge with one opponent diagonal: false eye
    art3 = """
        . . . . .
        . O X . .
        . X . X .
        . X X X .
        . . . . .
    """
    assert (2, 2) in eyes(art3, 1)  # one opponent diagonal is fine in the centre


def test_parse_player_spec(tmp_path):
    assert parse_player_spec("random").kind == "random"
    s = parse_player_spec("rnd=random")
    assert (s.name, s.kind) == ("rnd", "random")
    s = parse_player_spec(f"{sys.executable} -c pass")
    assert s.kind == "gtp" and s.target.endswith("-c pass")
    s = parse_player_spec(f"py=  {sys.executable} --level=3")
    assert s.name == "py" and s.kind == "gtp"
    s = parse_player_spec("/bin/sh -c true --level 10")
    assert s.name == "sh-l10"
    with pytest.raises(PlayerError, match="no-such-engine"):
        parse_player_spec("no-such-engine --mode gtp")
    with pytest.raises(PlayerError, match="empty"):
        parse_player_spec("   ")
    with pytest.raises(PlayerError, match="cannot split"):
        parse_player_spec("gnugo 'unbalanced")


needs_board = pytest.mark.skipif(not hasattr(pytest.importorskip("envs.go"), "Board"),
                                 reason="envs.go.Board not built yet")


@needs_board
def test_random_player_plays_legal_moves_and_never_fills_own_eyes():
    from envs.go import Board

    p = RandomPlayer(seed=3)
    p.reset(9, 7.5)
    board = Board(size=9, komi=7.5)
    for _ in range(400):
        color = board.to_play
        eye_mask = own_eye_mask(np.asarray(board.stones()), color)
        move = p.genmove(color)
        assert move == 81 or not eye_mask[move]
        board.play(move, color)   # raises if the player chose an illegal move
        if board.is_over():
            break
        # the same player plays both sides here (it keeps its own board in step)
    assert board.is_over()
    assert (p.board.stones() == board.stones()).all()


@needs_board
def test_random_player_passes_when_only_own_eyes_are_left():
    art = stones_from_ascii("""
        . X . X .
        X X X X X
        O O O O O
        O . O . O
        O O O O O
    """)
    black = [int(i) for i in np.flatnonzero(art.reshape(-1) == 1)]
    white = [int(i) for i in np.flatnonzero(art.reshape(-1) == -1)]
    p = RandomPlayer(seed=0)
    p.reset(5, 0.5)
    p.setup(black, white)
    assert p.genmove(1) == 25
    assert p.genmove(-1) == 25


@needs_board
def test_gtp_engine_player_speaks_to_our_own_engine():
    from agent.gtp_client import GTPEnginePlayer

    with GTPEnginePlayer([sys.executable, "-m", "komi", "gtp", "--random", "--seed", "1"],
                         name="self") as p:
        p.reset(9, 7.5)
        p.play(40, 1)
        move = p.genmove(-1)
        assert 0 <= move <= 81 and move != 40
        assert p.final_score() is not None


@needs_board
@pytest.mark.parametrize("mode,reason", [("hang", "timeout"), ("crash", "crashed"),
                                         ("garbage", "illegal")])
def test_gtp_engine_failures_raise_engine_error(tmp_path, mode, reason):
    from agent.gtp_client import EngineError, GTPEnginePlayer

    p = GTPEnginePlayer(fake_engine_command(tmp_path, mode), name=mode, move_timeout=1.0)
    try:
        p.reset(9, 7.5)
        with pytest.raises(EngineError) as info:
            p.genmove(1)
        assert info.value.reason == reason
    finally:
        p.close()


def test_gtp_engine_that_cannot_start():
    from agent.gtp_client import EngineError, GTPEnginePlayer

    with pytest.raises(EngineError, match="crashed"):
        GTPEnginePlayer([sys.executable, "-c", "import sys; sys.exit(1)"], name="dead")


@needs_board
def test_policy_player_with_tiny_checkpoint(tmp_path):
    from agent.players import PolicyPlayer

    ckpt = tiny_checkpoint(tmp_path)
    if ckpt is None:
        pytest.skip("network / features not available yet")
    p = PolicyPlayer(ckpt, NetworkPlayerConfig())
    p.reset(9, 7.5)
    move = p.genmove(1)
    assert 0 <= move <= 81
    a = p.analyze()
    assert a is not None and 0.0 <= a.winrate <= 1.0 and a.moves[0].move == move
    assert a.moves[0].prior >= a.moves[-1].prior
    with pytest.raises(PlayerError, match="9x9"):
        p.reset(13, 7.5)
    resigner = PolicyPlayer(ckpt, NetworkPlayerConfig(resign_threshold=1.01, resign_after=0))
    resigner.reset(9, 7.5)
    assert resigner.genmove(1) != RESIGN  # one low evaluation is not enough (resign_consecutive=2)
    resigner.play(81, -1)
    assert resigner.genmove(1) == RESIGN
    at_once = PolicyPlayer(ckpt, NetworkPlayerConfig(resign_threshold=1.01, resign_after=0, resign_consecutive=1))
    at_once.reset(9, 7.5)
    assert at_once.genmove(1) == RESIGN


@needs_board
def test_policy_player_analysis_gives_each_candidate_its_own_win_rate(tmp_path):
    from agent.players import PolicyPlayer
    from envs.go import Board

    ckpt = tiny_checkpoint(tmp_path, size=5)
    if ckpt is None:
        pytest.skip("network / features not available yet")
    p = PolicyPlayer(ckpt, NetworkPlayerConfig(top_moves=26))
    board = Board(size=5, komi=7.5)
    board.play(25)  # black passes: a white pass now ends the game
    a = p.analyze_position(board)
    assert a.to_play == -1 and len(a.moves) == 26
    by_move = {m.move: m for m in a.moves}
    # after W pass the game is over and scored: empty board, komi 7.5 -> White wins for sure
    assert by_move[25].winrate == 1.0
    assert all(0.0 <= m.winrate <= 1.0 for m in a.moves)
    assert sum(m.prior for m in a.moves) == pytest.approx(1.0, abs=1e-5)


@needs_board
def test_the_end_of_the_game_pass_rules():
    from go_boards import board_from

    from agent.endgame import end_of_game_move

    art = """
        . X O . .
        X X O . .
        . X O . .
        X X O . .
        . X O . .
    """
    preference = np.zeros(26)
    preference[25], preference[3], preference[0], preference[10] = 0.9, 0.05, 0.5, 0.4
    losing = board_from(art, komi=7.5)
    assert losing.score() < 0  # Black to move is behind: passing would lose
    # not the eye at (0, 0) nor Black's own territory at (2, 0), though they rank higher
    assert end_of_game_move(losing, 25, preference) == 3
    assert end_of_game_move(losing, 7, preference) == 7  # a losing count never turns a move into a pass
    winning = board_from(art, komi=-10.5)
    assert winning.score() > 0
    assert end_of_game_move(winning, 25, preference) == 25
    # late in the game, filling the own area while the count wins: pass instead
    assert end_of_game_move(winning, 10, preference, late=True) == 25
    assert end_of_game_move(winning, 10, preference, late=False) == 10
    assert end_of_game_move(winning, 3, preference, late=True) == 3  # a move into the other's area stays
    # the opponent passed and the count wins: pass and win
    after_pass = board_from(art, komi=-10.5, to_play=-1)
    after_pass.play(25)  # White passes; Black to move wins the count
    assert after_pass.to_play == 1 and end_of_game_move(after_pass, 3, preference) == 25
    # no useful move left while losing: pass (then resignation decides)
    only_own = board_from("""
        . X . X .
        X X X X X
        X X X X X
        X X X X X
        . X . X .
    """, komi=30.5)
    assert only_own.score() < 0
    assert end_of_game_move(only_own, 25, np.ones(26)) == 25
