"""envs.go.features: known planes, symmetries, and encode_records against encode."""
from __future__ import annotations

import numpy as np
import pytest
from go_boards import at, board_from

from envs.go import BLACK, WHITE, Board, GoError, features
from envs.go.records import pack_record


def _planes(board: Board, feature_set: str = "extended", sym: int = 0) -> np.ndarray:
    return features.encode([board], feature_set, symmetries=[sym])[0]


def _points(plane: np.ndarray) -> set[tuple[int, int]]:
    return {(int(r), int(c)) for r, c in zip(*np.nonzero(plane))}


def test_plane_counts():
    assert features.num_planes("agz") == 17 and features.num_planes("extended") == 30
    assert features.num_planes("basic") == 4
    with pytest.raises(GoError, match="feature set"):
        features.num_planes("alphago")


def test_known_position_planes():
    b = Board(5)
    for move in (at(2, 2, 5), at(1, 2, 5), at(2, 1, 5)):
        b.play(move)
    x = _planes(b)
    assert x.shape == (30, 5, 5) and x.dtype == np.float32
    # White to move: "own" is White.
    assert _points(x[0]) == {(1, 2)} and _points(x[8]) == {(2, 1), (2, 2)}
    assert _points(x[1]) == {(1, 2)} and _points(x[9]) == {(2, 2)}
    assert _points(x[2]) == set() and _points(x[10]) == {(2, 2)}
    assert not x[3:8].any() and not x[11:16].any()         # before the game: zeros
    assert not x[16].any() and x[17].all()                 # white to move; on-board ones
    assert _points(x[20]) == {(1, 2)}                      # own chain with >= 3 liberties
    assert _points(x[23]) == {(2, 1), (2, 2)}              # opponent chain with >= 3 liberties
    assert not x[18:20].any() and not x[21:23].any()
    assert x[24].sum() == 22 and not x[24][1, 2]           # every empty point is legal
    assert not x[25].any()
    assert _points(x[26]) == {(2, 1)} and _points(x[27]) == {(1, 2)} and _points(x[28]) == {(2, 2)}
    assert not x[29].any()
    np.testing.assert_array_equal(_planes(b, "agz"), x[:17])
    basic = _planes(b, "basic")
    assert _points(basic[0]) == {(1, 2)} and basic[2].sum() == 22 and not basic[3].any()


def test_liberty_ko_and_legal_planes():
    b = board_from("""
        . X O . .
        X O . O .
        . X O . .
        . . . . .
        . . . . .
    """)
    b.play(at(1, 2, 5))                                    # black takes the ko
    x = _planes(b)                                         # white to move
    assert _points(x[25]) == {(1, 1)} and not x[24][1, 1]
    assert _points(x[21]) == {(1, 2)}                      # the black ko stone is in atari
    assert _points(x[18]) == {(0, 2)} and _points(x[19]) == {(2, 2)} and _points(x[20]) == {(1, 3)}


def _random_game(size: int, moves: int, seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    b = Board(size, superko="none")
    played = []
    for _ in range(moves):
        legal = b.legal_moves()
        if b.is_over():
            break
        move = int(legal[rng.integers(len(legal) - 1)]) if len(legal) > 1 else int(legal[0])
        b.play(move)
        played.append(move)
    return played


def _transform(plane: np.ndarray, sym: int) -> np.ndarray:
    """The documented symmetry: transpose if sym & 4, flip rows if sym & 1, flip columns if sym & 2."""
    out = plane.swapaxes(-1, -2) if sym & 4 else plane
    if sym & 1:
        out = out[..., ::-1, :]
    if sym & 2:
        out = out[..., :, ::-1]
    return out


@pytest.mark.parametrize("sym", range(8))
def test_symmetry_consistency(sym):
    size = 7
    moves = _random_game(size, 30, seed=sym)
    mapping = features.symmetry_map(size, sym)
    assert sorted(mapping.tolist()) == list(range(size * size + 1)) and mapping[-1] == size * size
    plain, turned = Board(size, superko="none"), Board(size, superko="none")
    for move in moves:
        plain.play(move)
        turned.play(int(mapping[move]))
    planes = _planes(plain, sym=sym)
    # planes of the transformed game == transformed planes
    np.testing.assert_array_equal(_planes(turned), planes)
    np.testing.assert_array_equal(_transform(_planes(plain), sym), planes)
    # move targets map with them
    target = np.zeros(size * size, np.float32)
    target[moves[-1]] = 1
    moved = _transform(target.reshape(size, size), sym).reshape(-1)
    assert moved[mapping[moves[-1]]] == 1
    inverse = features.symmetry_map(size, features.inverse_symmetry(sym))
    assert (inverse[mapping] == np.arange(size * size + 1)).all()


def test_encode_batches_and_writes_into_out():
    boards = [Board(9) for _ in range(3)]
    boards[1].play(40)
    out = np.full((3, 17, 9, 9), 7.0, np.float32)
    res = features.encode(boards, "agz", symmetries=np.array([0, 5, 2]), out=out)
    assert res is out and set(np.unique(out)) <= {0.0, 1.0}
    np.testing.assert_array_equal(out[1], _planes(boards[1], "agz", 5))


def test_encode_records_matches_replayed_boards():
    size = 9
    rng = np.random.default_rng(3)
    codes, offsets, reference = [], [0], []
    for g in range(4):
        handicap = Board(size).place_handicap(3) if g == 1 else []
        board = Board(size, superko="none")
        if handicap:
            board.set_stones(black=handicap)
            board.set_to_play(WHITE)
        moves = []
        while len(moves) < 60 and not board.is_over():
            legal = board.legal_moves()
            move = int(legal[rng.integers(len(legal))])
            moves.append((board.to_play, move))
            board.play(move)
        record = pack_record(moves, size, setup_black=handicap)
        codes.append(record)
        offsets.append(offsets[-1] + len(record))
        reference.append((handicap, moves))
    codes = np.concatenate(codes)
    offsets = np.array(offsets)
    for g, (handicap, moves) in enumerate(reference):
        board = Board(size, superko="none")
        if handicap:
            board.set_stones(black=handicap)
            board.set_to_play(WHITE)
        for i, (color, move) in enumerate(moves):
            ply = len(handicap) + i
            sym = int(rng.integers(8))
            got = features.encode_records(codes, offsets, [g], [ply], size, "extended", [sym])
            np.testing.assert_array_equal(got[0], _planes(board, "extended", sym),
                                          err_msg=f"game {g} ply {ply}")
            board.play(move, color)


def test_encode_records_batch_of_many_positions():
    moves = _random_game(9, 50, seed=1)
    color = [BLACK if i % 2 == 0 else WHITE for i in range(len(moves))]
    codes = pack_record(list(zip(color, moves)), 9)
    offsets = np.array([0, len(codes)])
    ply = np.arange(len(codes))
    batch = features.encode_records(codes, offsets, np.zeros_like(ply), ply, 9, "agz")
    assert batch.shape == (len(codes), 17, 9, 9)
    assert batch[0, 16].all() and not batch[1, 16].any()   # black, then white to move
    board, boards = Board(9, superko="none"), []
    for move in moves:
        boards.append(board.copy())
        board.play(move)
    np.testing.assert_array_equal(batch, features.encode(boards, "agz"))


# ---- bad input


def test_encode_rejects_bad_buffers_and_arguments():
    b = Board(9)
    with pytest.raises(GoError, match="shape"):
        features.encode([b], "agz", out=np.zeros((1, 17, 9, 8), np.float32))
    with pytest.raises(GoError, match="float32"):
        features.encode([b], "agz", out=np.zeros((1, 17, 9, 9), np.float64))
    with pytest.raises(GoError, match="C-contiguous"):
        features.encode([b], "agz", out=np.zeros((1, 17, 9, 18), np.float32)[..., ::2])
    with pytest.raises(GoError, match="symmetry"):
        features.encode([b], "agz", symmetries=[8])
    with pytest.raises(GoError, match="same size"):
        features.encode([b, Board(7)], "agz")
    with pytest.raises(GoError):
        features.encode([b, "not a board"], "agz")
    with pytest.raises(GoError, match="None"):
        features.encode([b, None], "agz")
    with pytest.raises(GoError):
        features.encode([], "agz")
    with pytest.raises(GoError, match="0..7"):
        features.symmetry_map(9, 8)


def test_encode_records_rejects_bad_records():
    codes = pack_record([(BLACK, 40), (WHITE, 41)], 9)
    offsets = np.array([0, 2])
    with pytest.raises(GoError, match="game_index"):
        features.encode_records(codes, offsets, [1], [0], 9, "agz")
    with pytest.raises(GoError, match="ply"):
        features.encode_records(codes, offsets, [0], [3], 9, "agz")
    with pytest.raises(GoError, match="offsets"):
        features.encode_records(codes, np.array([0, 5]), [0], [1], 9, "agz")
    with pytest.raises(GoError, match="out of range"):
        features.encode_records(np.array([200 << 2, 0], np.int16), offsets, [0], [2], 9, "agz")
    with pytest.raises(GoError, match="occupied"):
        features.encode_records(np.array([40 << 2, (40 << 2) | 2], np.int16), offsets, [0], [2], 9, "agz")
    with pytest.raises(GoError, match="size"):
        features.encode_records(codes, offsets, [0], [1], 30, "agz")
    with pytest.raises(GoError, match="same length"):
        features.encode_records(codes, offsets, [0, 0], [1], 9, "agz")


def test_encode_records_threads_give_the_same_planes():
    games = [_random_game(9, 40, seed=s) for s in range(4)]
    codes = [pack_record([(BLACK if i % 2 == 0 else WHITE, m) for i, m in enumerate(g)], 9) for g in games]
    offsets = np.concatenate([[0], np.cumsum([len(c) for c in codes])])
    codes = np.concatenate(codes)
    rng = np.random.default_rng(0)
    game_index = rng.integers(0, 4, 64)
    ply = np.array([rng.integers(0, offsets[g + 1] - offsets[g] + 1) for g in game_index])
    sym = rng.integers(0, 8, 64)
    one = features.encode_records(codes, offsets, game_index, ply, 9, "extended", sym)
    many = features.encode_records(codes, offsets, game_index, ply, 9, "extended", sym, threads=3)
    np.testing.assert_array_equal(one, many)
    bad = codes.copy()
    bad[offsets[3] + 1] = bad[offsets[3]]           # game 3 plays twice on the same point
    with pytest.raises(GoError, match="game record 3"):
        features.encode_records(bad, offsets, np.full(64, 3), np.full(64, 2), 9, "agz", threads=4)
