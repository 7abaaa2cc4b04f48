"""envs.go.Board on known positions (drawn as ASCII art) and on bad input."""
from __future__ import annotations

import copy

import numpy as np
import pytest
from go_boards import at, board_from, parse

from envs.go import BLACK, WHITE, Board, GoError, IllegalMove
from komi.errors import KomiError


def test_empty_board_basics():
    b = Board(9)
    assert (b.size, b.komi, b.to_play, b.move_number, b.last_move) == (9, 7.5, BLACK, 0, None)
    assert b.legal_moves().tolist() == list(range(82))
    assert b.score() == -7.5 and b.winner() == WHITE
    assert b.stones().shape == (9, 9) and b.stones().dtype == np.int8 and not b.stones().any()


def test_single_stone_capture_in_the_middle_and_in_the_corner():
    middle = board_from("""
        . X . . .
        X O . . .
        . X . . .
        . . . . .
        . . . . .
    """)
    middle.play(at(1, 2, 5))
    assert middle.stones()[1, 1] == 0 and middle.captures == (1, 0)
    corner = board_from("""
        O X . . .
        . . . . .
        . . . . .
        . . . . .
        . . . . .
    """)
    corner.play(at(1, 0, 5))
    assert corner.stones()[0, 0] == 0 and corner.captures == (1, 0) and corner.to_play == WHITE


def test_capturing_a_chain_frees_liberties_of_its_neighbours():
    b = board_from("""
        . X O O X
        . X O O X
        . . X . X
        . . . . .
        . . . . .
    """)
    assert b.liberties()[0, 2] == 1 and b.liberties()[0, 1] == 3 and b.liberties()[0, 4] == 2
    b.play(at(2, 3, 5))
    assert not (b.stones() == WHITE).any() and b.captures == (4, 0)
    libs = b.liberties()
    assert libs[2, 3] == libs[0, 4] == 7       # the merged chain along the right and the middle
    assert libs[0, 1] == 5                     # the left pair gained the freed points


def test_snapback():
    b = board_from("""
        . . . . .
        . . . . .
        O O . . .
        X X O . .
        . . O . .
    """, to_play=WHITE)
    b.play(at(4, 0, 5))                      # white throws in at the corner
    b.play(at(4, 1, 5))                      # black takes the single stone...
    assert b.stones()[4, 0] == 0 and b.captures == (1, 0)
    assert b.ko_point is None                # ...with a three-stone chain: no ko
    assert b.liberties()[4, 1] == 1
    b.play(at(4, 0, 5))                      # white takes back three stones
    assert (b.stones()[3:, :2] == [[0, 0], [WHITE, 0]]).all()
    assert b.captures == (1, 3)


KO = """
    . X O . .
    X O . O .
    . X O . .
    . . . . .
    . . . . .
"""


@pytest.mark.parametrize("superko", ["none", "positional", "situational"])
def test_simple_ko(superko):
    b = board_from(KO, superko=superko)
    b.play(at(1, 2, 5))                      # black takes the ko
    assert b.stones()[1, 1] == 0 and b.ko_point == at(1, 1, 5)
    assert not b.is_legal(at(1, 1, 5))
    before = (b.stones().copy(), b.hash, b.move_number, b.to_play)
    with pytest.raises(IllegalMove) as err:
        b.play(at(1, 1, 5))
    assert err.value.reason == "ko" and err.value.move == at(1, 1, 5)
    assert isinstance(err.value, ValueError) and isinstance(err.value, KomiError)
    assert (b.stones() == before[0]).all() and (b.hash, b.move_number, b.to_play) == before[1:]
    assert at(1, 1, 5) not in b.legal_moves()
    b.play(at(4, 4, 5))                      # a ko threat elsewhere
    b.play(at(4, 3, 5))                      # answered
    assert b.ko_point is None
    b.play(at(1, 1, 5))                      # now white may retake
    assert b.stones()[1, 2] == 0 and b.ko_point == at(1, 2, 5)


TRIPLE_KO = """
    . X O . . . X O .
    X O . O . X . X O
    . X O . . . X O .
    . . . . . . . . .
    . X O . . . . . .
    X O . O . . . . .
    . X O . . . . . .
    . . . . . . . . .
    . . . . . . . . .
"""
# Black takes ko 1, White ko 2, Black ko 3, White ko 1, Black ko 2; White's retake of ko 3
# would bring back the starting position with Black to move.
TRIPLE_KO_CYCLE = [(1, 2), (1, 6), (5, 2), (1, 1), (1, 7), (5, 1)]


@pytest.mark.parametrize("superko", ["positional", "situational"])
def test_triple_ko_cycle_is_forbidden_by_superko(superko):
    b = board_from(TRIPLE_KO, superko=superko, komi=0.5)
    start = b.stones().copy()
    for row, col in TRIPLE_KO_CYCLE[:-1]:
        b.play(at(row, col, 9))
    last = at(*TRIPLE_KO_CYCLE[-1], 9)
    assert b.ko_point is None or b.ko_point != last  # simple ko does not forbid it...
    with pytest.raises(IllegalMove) as err:            # ...superko does
        b.play(last)
    assert err.value.reason == "superko"
    assert last not in b.legal_moves() and not b.is_legal(last)
    assert b.illegal_reason(last) == "superko"
    assert not (b.stones() == start).all()


def test_triple_ko_cycle_repeats_without_superko():
    b = board_from(TRIPLE_KO, superko="none", komi=0.5)
    start, start_hash = b.stones().copy(), b.hash
    for _ in range(3):
        for row, col in TRIPLE_KO_CYCLE:
            b.play(at(row, col, 9))
        assert (b.stones() == start).all() and b.hash == start_hash
    assert b.move_number == 18 and not b.is_over()


SUICIDE = """
    . X O .
    X X O .
    O O O .
    . . . .
"""


def test_suicide_is_illegal_by_default():
    b = board_from(SUICIDE)
    with pytest.raises(IllegalMove) as err:
        b.play(at(0, 0, 4))
    assert err.value.reason == "suicide"
    corner = board_from("""
        . O . .
        O . . .
        . . . .
        . . . .
    """)
    assert corner.illegal_reason(0) == "suicide" and 0 not in corner.legal_moves()


def test_multi_stone_suicide_when_allowed():
    b = board_from(SUICIDE, allow_suicide=True)
    b.play(at(0, 0, 4))
    assert (b.stones() == parse("""
        . . O .
        . . O .
        O O O .
        . . . .
    """)).all()
    assert b.captures == (0, 4) and b.to_play == WHITE


def test_single_stone_suicide_repeats_the_position():
    corner = """
        . O . .
        O . . .
        . . . .
        . . . .
    """
    assert board_from(corner, allow_suicide=True).illegal_reason(0) == "superko"
    b = board_from(corner, allow_suicide=True, superko="none")
    b.play(0)
    assert b.stones()[0, 0] == 0 and b.captures == (0, 1)


SEKI = """
    . X . O .
    X X . O O
    X X . O O
    X X . O O
    X X . O O
"""


def test_seki_shared_liberties_count_for_nobody():
    b = board_from(SEKI, komi=0.5)
    # Black: 9 stones + its eye; White: 9 stones + its eye; column C is shared (neutral).
    assert b.score() == pytest.approx(10 - 10 - 0.5)
    assert b.territory_score() == pytest.approx(1 - 1 - 0.5)
    assert b.winner() == WHITE
    filling = b.copy()
    filling.play(at(0, 2, 5))                # filling a shared liberty is legal but self-harming
    assert filling.liberties()[0, 1] == 1 + 4


def test_territory_scoring_with_dead_stones():
    b = board_from("""
        . . X O .
        O . X O .
        . . X O .
        . . X O .
        . . X O .
    """, komi=0.5)
    assert b.score() == pytest.approx(5 - 11 - 0.5)            # the white stone spoils black's area
    assert b.territory_score() == pytest.approx(0 - 5 - 0.5)
    assert b.territory_score(dead=[at(1, 0, 5)]) == pytest.approx(10 + 1 - 5 - 0.5)
    with pytest.raises(GoError, match="empty"):
        b.territory_score(dead=[at(0, 0, 5)])


def test_area_score_counts_stones_and_surrounded_points():
    b = board_from("""
        . X O .
        . X O .
        . X O .
        . X O .
    """, komi=0)
    assert b.score() == 0 and b.winner() == 0
    b2 = board_from("""
        . X . .
        X X . .
        . . . .
        . . . O
    """, komi=2.5)
    assert b2.score() == pytest.approx(3 + 1 - 1 - 2.5)  # black: 3 stones + A4 corner; white: 1 stone


def test_fixed_handicap_placement():
    b = Board(19, komi=0.5)
    from envs.go.coords import from_gtp, to_gtp

    points = b.place_handicap(9)
    assert [to_gtp(p, 19) for p in points] == ["D4", "Q16", "D16", "Q4", "D10", "Q10", "K4", "K16", "K10"]
    assert b.to_play == WHITE and int(b.stones().sum()) == 9
    assert [to_gtp(p, 19) for p in Board(19).place_handicap(3)] == ["D4", "Q16", "D16"]
    assert [to_gtp(p, 19) for p in Board(19).place_handicap(5)] == ["D4", "Q16", "D16", "Q4", "K10"]
    assert [to_gtp(p, 9) for p in Board(9).place_handicap(4)] == ["C3", "G7", "C7", "G3"]
    assert [to_gtp(p, 13) for p in Board(13).place_handicap(2)] == ["D4", "K10"]
    assert from_gtp("K10", 19) in points
    with pytest.raises(GoError, match="fixed handicap"):
        Board(8).place_handicap(5)
    with pytest.raises(GoError, match="fixed handicap"):
        Board(19).place_handicap(10)
    with pytest.raises(GoError, match="empty board"):
        b.place_handicap(2)


def test_free_handicap_placement():
    b = Board(9)
    b.set_free_handicap([0, 80, 40])
    assert b.to_play == WHITE and b.stones().reshape(-1)[[0, 80, 40]].tolist() == [1, 1, 1]
    with pytest.raises(GoError):
        Board(9).set_free_handicap([3])
    with pytest.raises(GoError, match="twice"):
        Board(9).set_free_handicap([3, 3])


def test_game_ends_on_two_passes_resignation_and_move_cap():
    b = Board(5)
    b.play(25)
    assert not b.is_over() and b.consecutive_passes == 1
    b.play(12)                                 # white plays: the passes no longer count
    b.play(25)
    assert not b.is_over()
    b.play(6)                                  # white again
    b.play(25)
    b.play(25)
    assert b.is_over() and b.legal_moves().size == 0
    with pytest.raises(IllegalMove) as err:
        b.play(0)
    assert err.value.reason == "game over"
    assert b.winner() == WHITE and b.score() == -25 - 7.5   # only white stones: all area is white

    r = Board(5)
    r.resign()
    assert r.is_over() and r.winner() == WHITE and r.resigned == BLACK
    capped = Board(5, max_moves=3)
    for move in (0, 1, 2):
        capped.play(move)
    assert capped.is_over() and capped.move_number == 3


def test_copy_is_independent():
    b = Board(9)
    b.play(40)
    for c in (b.copy(), copy.copy(b), copy.deepcopy(b)):
        c.play(41)
        assert b.stones()[4, 5] == 0 and b.move_number == 1 and c.move_number == 2


def test_explicit_colour_and_to_play():
    b = Board(9)
    b.play(0, WHITE)
    assert b.to_play == BLACK and b.stones()[0, 0] == WHITE
    b.play(1, WHITE)
    assert b.to_play == BLACK and b.last_move == 1 and b.last_moves(2) == [1, 0]


def test_string_shows_gtp_coordinates():
    b = Board(9)
    b.play(0)
    text = str(b)
    assert "A B C D E F G H J" in text and " 9(X)" in text and "I" not in text.split("\n")[0]


# ---- bad input: clear exceptions, the board unchanged, never a crash


@pytest.mark.parametrize("size", [0, 1, 26, -3, 1000])
def test_bad_sizes(size):
    with pytest.raises(GoError, match="size"):
        Board(size)


def test_bad_options():
    with pytest.raises(GoError, match="superko"):
        Board(9, superko="chinese")
    with pytest.raises(GoError, match="komi"):
        Board(9, komi=float("nan"))
    with pytest.raises(GoError, match="max_moves"):
        Board(9, max_moves=0)
    with pytest.raises(TypeError):
        Board("nine")


@pytest.mark.parametrize("move", [-1, 82, 1000, -(2**31)])
def test_out_of_range_moves(move):
    b = Board(9)
    b.play(40)
    stones, h = b.stones().copy(), b.hash
    with pytest.raises(IllegalMove) as err:
        b.play(move)
    assert err.value.reason == "out of range" and "out of range" in str(err.value)
    assert not b.is_legal(move)
    assert (b.stones() == stones).all() and b.hash == h and b.move_number == 1


def test_non_integer_moves_and_colours():
    b = Board(9)
    for bad in (2**70, "D4", 3.5, None):
        with pytest.raises((TypeError, GoError)):
            b.play(bad)
    for color in (0, 2, "black"):
        with pytest.raises(GoError, match="color"):
            b.play(3, color)
    assert b.move_number == 0 and not b.stones().any()
    b.play(np.int64(3))                        # numpy integers are fine
    assert b.stones()[0, 3] == BLACK


def test_occupied_point():
    b = Board(9)
    b.play(10)
    with pytest.raises(IllegalMove, match="occupied") as err:
        b.play(10)
    assert err.value.reason == "occupied" and "B8" in str(err.value)


def test_bad_setup():
    b = Board(5)
    with pytest.raises(GoError, match="not on a 5x5"):
        b.set_stones(black=[25])
    with pytest.raises(GoError, match="both black and white"):
        b.set_stones(black=[3], white=[3])
    with pytest.raises(GoError, match="without liberties"):
        b.set_stones(black=[0], white=[1, 5])
    assert not b.stones().any()


def test_copy_keeps_history_ko_and_superko():
    from envs.go import features

    b = board_from(TRIPLE_KO, komi=0.5)
    for row, col in TRIPLE_KO_CYCLE[:-1]:
        b.play(at(row, col, 9))
    c = b.copy()
    np.testing.assert_array_equal(features.encode([c]), features.encode([b]))
    assert c.illegal_reason(at(*TRIPLE_KO_CYCLE[-1], 9)) == "superko"
    assert c.ko_point == b.ko_point is not None and c.hash == b.hash
    assert c.legal_moves().tolist() == b.legal_moves().tolist()


def test_native_playouts_and_the_largest_board():
    from envs.go import random_games

    lengths, winners = random_games(9, 20, seed=1, max_moves=162)
    assert lengths.shape == (20,) and (lengths > 20).all() and (lengths <= 162).all()
    assert set(winners.tolist()) <= {-1, 0, 1}
    again, _ = random_games(9, 20, seed=1, max_moves=162)
    assert (again == lengths).all()                      # deterministic given the seed
    big = Board(25)
    moves = big.playout(seed=2, fill_own_eyes=False)
    assert big.is_over() and moves > 300
    assert str(big).split("\n")[0].strip().endswith("Z")
    rollout = Board(9, superko="none")
    rollout.playout(seed=4, fill_own_eyes=False)
    assert rollout.is_over()
    # The rollout passed only when nothing but own-eye filling was left, for both sides.
    stones = rollout.stones()
    flat = stones.reshape(-1)
    final = Board(9, superko="none")
    final.set_stones(black=np.flatnonzero(flat == BLACK).tolist(), white=np.flatnonzero(flat == WHITE).tolist())

    def eye(r: int, c: int, color: int) -> bool:
        orth = [(r + dr, c + dc) for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0))]
        if any(0 <= y < 9 and 0 <= x < 9 and stones[y, x] != color for y, x in orth):
            return False
        diag = [(r + dr, c + dc) for dr in (-1, 1) for dc in (-1, 1)]
        edge = any(not (0 <= y < 9 and 0 <= x < 9) for y, x in diag)
        enemy = sum(1 for y, x in diag if 0 <= y < 9 and 0 <= x < 9 and stones[y, x] == -color)
        return enemy + edge < 2

    for r, c in np.argwhere(stones == 0):
        for color in (BLACK, WHITE):
            assert not final.is_legal(at(r, c, 9), color) or eye(r, c, color), (r, c, color)
