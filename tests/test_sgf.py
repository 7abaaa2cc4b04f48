"""envs.go.sgf: known files, write/read round trips, replay, and hostile input."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envs.go import BLACK, WHITE, Board
from envs.go.sgf import (
    MAX_FILE_BYTES,
    GameRecord,
    SGFError,
    parse_sgf,
    positions,
    read_sgf,
    replay,
    write_sgf,
)

FULL_HEADER = ("(;GM[1]FF[4]CA[UTF-8]SZ[13]KM[6.5]HA[2]RU[Japanese]PB[Black \\] Player]PW[Shirou]"
               "BR[3d]WR[5k]DT[2024-01-02]RE[W+3.5]AB[dj][jd]")


def test_header_properties_and_setup_stones():
    (rec,) = parse_sgf(FULL_HEADER + ";W[jj];B[])", source="full.sgf")
    assert (rec.size, rec.komi, rec.handicap) == (13, 6.5, 2)
    assert (rec.rules, rec.black_name, rec.white_name) == ("Japanese", "Black ] Player", "Shirou")
    assert rec.ranks == ("3d", "5k") and rec.date == "2024-01-02"
    assert rec.result == "W+3.5" and rec.winner == WHITE and rec.source == "full.sgf"
    assert rec.setup_black == [9 * 13 + 3, 3 * 13 + 9]     # "dj" = column d, row j
    assert rec.setup_white == []
    assert rec.moves == [(WHITE, 9 * 13 + 9), (BLACK, 169)]


@pytest.mark.parametrize("result, winner", [("B+R", 1), ("W+T", -1), ("0", 0), ("Draw", 0),
                                            ("Void", None), ("?", None), ("", None)])
def test_winner_from_result(result, winner):
    assert parse_sgf(f"(;SZ[9]RE[{result}])")[0].winner == winner


@pytest.mark.parametrize("size, pass_text", [(9, ""), (9, "tt"), (19, "tt"), (19, "")])
def test_passes_both_ways(size, pass_text):
    (rec,) = parse_sgf(f"(;SZ[{size}];B[aa];W[{pass_text}];B[{pass_text}])")
    assert rec.moves == [(BLACK, 0), (WHITE, size * size), (BLACK, size * size)]


def test_tt_is_a_point_above_19x19():
    (rec,) = parse_sgf("(;SZ[21];B[tt])")
    assert rec.moves == [(BLACK, 19 * 21 + 19)]


def test_handicap_without_setup_stones_uses_the_fixed_placement():
    (rec,) = parse_sgf("(;SZ[9]HA[2];W[ee])")
    assert sorted(rec.setup_black) == sorted(int(p) for p in Board(size=9).place_handicap(2))
    assert parse_sgf(write_sgf(rec)) == [rec]
    (rec,) = parse_sgf("(;SZ[9]HA[2];B[ee])")       # Black moves first: free placement by moves
    assert rec.setup_black == []
    with pytest.raises(SGFError, match="HA.20. without AB"):
        parse_sgf("(;SZ[9]HA[20];W[ee])")


def test_defaults_when_properties_are_missing():
    (rec,) = parse_sgf("(;;B[dd])")
    assert (rec.size, rec.komi, rec.handicap, rec.result, rec.winner) == (19, 0.0, 0, "", None)
    assert rec.ranks == (None, None)


def test_main_line_only_and_several_games():
    text = "(;SZ[9];B[aa](;W[bb];B[cc](;W[dd])(;W[ee]))(;W[ff]))\n(;SZ[5];B[cc])"
    first, second = parse_sgf(text)
    assert [m for _, m in first.moves] == [0, 10, 20, 30]
    assert second.size == 5 and second.moves == [(BLACK, 12)]


def test_compressed_point_lists_and_ae():
    (rec,) = parse_sgf("(;SZ[5]AB[aa:bb][ee]AW[ca];AE[ab])")
    assert sorted(rec.setup_black) == [0, 1, 6, 24] and rec.setup_white == [2]


def test_gb2312_names_and_invalid_utf8():
    name = "古力"
    data = b"(;CA[GB2312]SZ[19]PB[" + name.encode("gb2312") + b"]PW[\xff\xfeabc];B[pd])"
    (rec,) = parse_sgf(data)
    assert rec.black_name == name
    assert rec.white_name.endswith("abc")        # undecodable bytes do not stop the game
    # utf-8 wins when the CA is wrong but the bytes are valid utf-8
    (rec,) = parse_sgf(b"(;CA[ISO-8859-1]PB[" + name.encode() + b"])")
    assert rec.black_name == name


def test_text_input_with_surrogates():
    assert parse_sgf("(;PB[caf\udce9])")[0].black_name == "caf\u00e9"   # surrogateescape'd Latin-1
    assert parse_sgf("(;PB[x\ud800])")[0].black_name == "x?"


def test_escapes_soft_line_breaks_and_whitespace():
    (rec,) = parse_sgf("(;PB[a\\\\b\\]c\\\nd]PW[x\ty] RE [B+R] ; B [aa] )")
    assert rec.black_name == "a\\b]cd" and rec.white_name == "x y"
    assert rec.result == "B+R" and rec.moves == [(BLACK, 0)]


def test_read_sgf_and_missing_file(tmp_path):
    path = tmp_path / "g.sgf"
    path.write_bytes(b"(;SZ[9];B[ee])")
    assert read_sgf(path)[0].source == str(path)
    with pytest.raises(SGFError, match="missing.sgf: cannot read"):
        read_sgf(tmp_path / "missing.sgf")


# --- round trips -------------------------------------------------------------------------------

_text = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=12)


@st.composite
def records(draw) -> GameRecord:
    size = draw(st.integers(2, 25))
    points = draw(st.lists(st.integers(0, size * size - 1), unique=True, max_size=8))
    split = draw(st.integers(0, len(points)))
    moves = draw(st.lists(st.tuples(st.sampled_from([BLACK, WHITE]), st.integers(0, size * size)),
                          max_size=40))
    return GameRecord(size=size, komi=draw(st.sampled_from([0.0, 0.5, 5.5, 6.5, 7.5, -3.0, 375.0])),
                      # HA >= 2 with no setup stones and White first means the fixed placement
                      handicap=draw(st.integers(0, 9) if points else st.integers(0, 1)), setup_black=points[:split],
                      setup_white=points[split:], moves=moves,
                      result=draw(st.sampled_from(["", "B+R", "W+0.5", "0", "Void"])),
                      rules=draw(_text), black_name=draw(_text), white_name=draw(_text),
                      black_rank=draw(_text), white_rank=draw(_text), date=draw(_text),
                      source="rt.sgf")


@settings(max_examples=150, deadline=None)
@given(records())
def test_write_read_round_trip(record):
    text = write_sgf(record)
    assert parse_sgf(text, source="rt.sgf") == [record]
    assert parse_sgf(text.encode("utf-8"), source="rt.sgf") == [record]


def test_write_refuses_bad_records():
    with pytest.raises(SGFError, match="out of range"):
        write_sgf(GameRecord(size=9, moves=[(BLACK, 82)]))
    with pytest.raises(SGFError, match="30x30"):
        write_sgf(GameRecord(size=30))


# --- replay --------------------------------------------------------------------------------------

def test_replay_with_handicap_setup_matches_board():
    (rec,) = parse_sgf("(;SZ[9]HA[2]KM[0.5]AB[cc][gg];W[ee];B[ce];W[])")
    board = replay(rec)
    expected = Board(size=9, komi=0.5)
    expected.set_stones(black=[20, 60])
    expected.set_to_play(WHITE)
    for move in (40, 38, 81):
        expected.play(move)
    assert (board.stones() == expected.stones()).all()
    assert board.to_play == BLACK and board.move_number == expected.move_number


def test_positions_are_the_boards_before_each_move():
    (rec,) = parse_sgf("(;SZ[5];B[aa];W[bb];B[cc])")
    seen = [(board.stones().copy(), color, move) for board, color, move in positions(rec)]
    assert [(c, m) for _, c, m in seen] == rec.moves
    assert seen[0][0].sum() == 0 and seen[2][0][1, 1] == WHITE and seen[2][0][2, 2] == 0


def test_capture_replay():
    # White at bb is captured by Black's fourth stone
    (rec,) = parse_sgf("(;SZ[5];B[ba];W[bb];B[ab];W[ee];B[cb];W[ed];B[bc])")
    assert replay(rec).stones()[1, 1] == 0


def test_illegal_move_names_file_and_move_number():
    (rec,) = parse_sgf("(;SZ[9];B[ee];W[dd];B[ee])", source="bad.sgf")
    with pytest.raises(SGFError, match=r"bad.sgf: move 3 B E5 is illegal \(occupied\)") as info:
        replay(rec)
    assert info.value.reason == "illegal move"


# --- hostile input -------------------------------------------------------------------------------

@pytest.mark.parametrize("data, pattern", [
    (b"", "no SGF game tree"),
    (b"\x00\x01\x02garbage\xff" * 100, "no SGF game tree"),
    (b"(;SZ[9];B[ee]", r"1:14: file ends inside a game tree"),
    (b"(;SZ[9];B[ee", "1:9: property without a value"),
    (b"(;SZ[9]\n;B[ee]\x00)", r"2:7: unexpected 'byte 0x00'"),
    (b"(;SZ[9];B[ee]W)", "property without a value"),
    (b"(;SZ[9];[aa])", "1:9: property value without a property name"),
    (b"(;PB[abc\\])", "1:3: property without a value, or with an unterminated"),   # escaped ']'

    (b"(B[aa])", "must start with a node"),
    (b"(;SZ[9])(;SZ[9];B[ee]B[ff])", r"1:16: move 1 B\[ee\]\[ff\] is not a point"),
    (b"(;SZ[99])", r"SZ\[99\] is outside 2..25"),
    (b"(;SZ[1])", "outside 2..25"),
    (b"(;SZ[100000000000000000000])", "outside 2..25"),
    (b"(;SZ[19:9])", "rectangular"),
    (b"(;SZ[nine])", "is not a number"),
    (b"(;KM[lots])", "KM.* is not a number"),
    (b"(;GM[2])", "not a Go game"),
    (b"(;SZ[9];B[zz])", r"1:8: move 1 B\[zz\] is not a point of a 9x9"),
    (b"(;SZ[9];B[aa]W[bb])", "both a B and a W"),
    (b"(;SZ[9];B[aa];AB[bb])", "setup stones .* after move 1"),
    (b"(;SZ[9]AB[a])", "is not a point"),
])
def test_malformed_input_is_an_sgf_error(data, pattern):
    with pytest.raises(SGFError, match=pattern):
        parse_sgf(data, source="x.sgf")


def test_deep_nesting_is_iterative_and_bounded():
    depth = 100_000
    with pytest.raises(SGFError, match="more than 100000 nodes"):
        parse_sgf(b"(;" + b"(;" * depth + b")" * (depth + 1))
    (rec,) = parse_sgf(b"(;SZ[9]" + b"(;B[aa]" * 50_000 + b")" * 50_001)
    assert len(rec.moves) == 50_000
    with pytest.raises(SGFError, match="must start with a node"):
        parse_sgf(b"(" * depth)


def test_unterminated_values_outside_trees_are_skipped_not_rescanned():
    # text outside game trees is jumped over, so this is one linear scan (quadratic would hang)
    with pytest.raises(SGFError, match="property without a value"):
        parse_sgf(b"junk A[" * 200_000 + b"(;B[")


def test_setup_point_bombs_are_refused():
    # 9 bytes each, 625 points each: expanding them all would take billions of points
    with pytest.raises(SGFError, match="1:2: compressed point lists expand to more than") as info:
        parse_sgf(b"(;SZ[25]AB" + b"[aa:yy]" * 100_000 + b")")
    assert info.value.reason == "too many setup points"
    # and many setup nodes before the first move cost a position lookup only on an error
    (rec,) = parse_sgf(b"(;SZ[5]" + b";AB[aa];AE[aa]" * 20_000 + b";B[cc])")
    assert rec.setup_black == [] and rec.moves == [(BLACK, 12)]


def test_oversized_input_is_refused(tmp_path):
    with pytest.raises(SGFError, match="larger than"):
        parse_sgf(b" " * (MAX_FILE_BYTES + 1))
    path = tmp_path / "big.sgf"
    with open(path, "wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(SGFError, match="big.sgf: .* larger than"):
        read_sgf(path)


_VALID = b"(;GM[1]FF[4]CA[UTF-8]SZ[9]KM[7]HA[0]PB[a]RE[B+R]AB[cc]AW[gg];B[ee];W[dd](;B[];W[tt])(;B[ff]))"


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mutated_and_random_bytes_give_records_or_sgf_error(data):
    """Fuzzing: any input is either read or refused with an SGFError, never another exception."""
    if data.draw(st.booleans()):
        raw = data.draw(st.binary(max_size=200))
    else:
        raw = bytearray(_VALID)
        for _ in range(data.draw(st.integers(1, 6))):
            i = data.draw(st.integers(0, len(raw) - 1))
            op = data.draw(st.sampled_from(["flip", "delete", "insert"]))
            byte = data.draw(st.sampled_from(list(b"()[];\\:ABWZ \n\x00\xff") + [data.draw(st.integers(0, 255))]))
            if op == "flip":
                raw[i] = byte
            elif op == "delete":
                del raw[i]
            else:
                raw.insert(i, byte)
        raw = bytes(raw)
    try:
        games = parse_sgf(raw, source="fuzz.sgf")
    except SGFError as err:
        assert str(err).startswith("fuzz.sgf")
        return
    for game in games:
        assert 2 <= game.size <= 25
        assert all(0 <= m <= game.size ** 2 for _, m in game.moves)
        assert parse_sgf(write_sgf(game), source="fuzz.sgf") == [game]


@pytest.mark.parametrize("charset", [b"no-such-charset", b"zlib", b"base64", b"rot13", b"nul\x00l"])
def test_unknown_or_non_text_charset_falls_back(charset):
    (rec,) = parse_sgf(b"(;CA[" + charset + b"]PB[caf\xe9])")
    assert rec.black_name == "caf\u00e9"       # not UTF-8, not GB18030-decodable: Latin-1


def test_move_nodes_with_clock_and_other_properties():
    text = "(;SZ[9];B[ee]BL[29.5];W[dd]WL[3]OW[2]\n;B[cc]C[a (comment\\]];W[]BL[1];B[ff])"
    (rec,) = parse_sgf(text)
    assert rec.moves == [(BLACK, 40), (WHITE, 30), (BLACK, 20), (WHITE, 81), (BLACK, 50)]
    with pytest.raises(SGFError, match=r"1:20: move 2 W\[zz\]"):
        parse_sgf("(;SZ[9];B[ee]BL[29];W[zz];B[cc])")
