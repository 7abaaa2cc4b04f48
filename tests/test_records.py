"""envs.go.records: compact record codes round trip and replay onto a Board."""
from __future__ import annotations

import numpy as np
import pytest

from envs.go import BLACK, WHITE, Board, GoError, IllegalMove
from envs.go.records import board_from_record, encode_entry, pack_record, unpack


def test_codes_follow_the_documented_layout():
    assert encode_entry(40, BLACK) == 40 << 2
    assert encode_entry(81, WHITE) == (81 << 2) | 2
    assert encode_entry(3, WHITE, setup=True) == (3 << 2) | 2 | 1


def test_pack_unpack_round_trip_and_replay():
    moves = [(BLACK, 40), (WHITE, 41), (BLACK, 81), (WHITE, 50)]
    codes = pack_record(moves, 9, setup_black=[0, 80], setup_white=[8])
    assert codes.dtype == np.int16 and len(codes) == 7
    record = unpack(codes)
    assert record.setup == [(BLACK, 0), (BLACK, 80), (WHITE, 8)] and record.moves == moves
    board = board_from_record(codes, 9)
    expected = Board(9)
    expected.set_stones(black=[0, 80], white=[8])
    for color, move in moves:
        expected.play(move, color)
    assert (board.stones() == expected.stones()).all() and board.hash == expected.hash
    assert board_from_record(codes, 9, ply=4).move_number == 1


def test_bad_records():
    with pytest.raises(GoError, match="out of range"):
        pack_record([(BLACK, 82)], 9)
    with pytest.raises(GoError, match="setup stone"):
        pack_record([], 9, setup_black=[81])
    with pytest.raises(GoError, match="colour"):
        encode_entry(3, 0)
    with pytest.raises(IllegalMove):
        board_from_record(pack_record([(BLACK, 40), (WHITE, 40)], 9), 9)
