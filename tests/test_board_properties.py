"""Property tests: random move sequences keep the Board's invariants, and superko matches a
from-scratch reference (positions replayed and compared)."""
from __future__ import annotations

import random
from functools import reduce

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from envs.go import BLACK, WHITE, Board, IllegalMove, _core


def _liberties_from_scratch(stones: np.ndarray) -> np.ndarray:
    """Liberties of the chain through each point, by flood fill (0 on empty points)."""
    n = stones.shape[0]
    out = np.zeros_like(stones, dtype=np.int64)
    done = np.zeros_like(stones, dtype=bool)
    for r in range(n):
        for c in range(n):
            if stones[r, c] == 0 or done[r, c]:
                continue
            color, chain, libs, todo = stones[r, c], [], set(), [(r, c)]
            done[r, c] = True
            while todo:
                y, x = todo.pop()
                chain.append((y, x))
                for yy, xx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                    if 0 <= yy < n and 0 <= xx < n:
                        if stones[yy, xx] == 0:
                            libs.add((yy, xx))
                        elif stones[yy, xx] == color and not done[yy, xx]:
                            done[yy, xx] = True
                            todo.append((yy, xx))
            for y, x in chain:
                out[y, x] = len(libs)
    return out


def _hash_from_scratch(stones: np.ndarray) -> int:
    n = stones.shape[0]
    flat = stones.reshape(-1)
    keys = [_core.zobrist_key(int(flat[m]), m, n) for m in np.flatnonzero(flat)]
    return reduce(lambda a, b: a ^ b, keys, 0)


def _check_invariants(board: Board, placed: dict[int, int]) -> None:
    stones = board.stones()
    by_black, by_white = board.captures
    assert (stones == BLACK).sum() == placed[BLACK] - by_white
    assert (stones == WHITE).sum() == placed[WHITE] - by_black
    assert (board.liberties() == _liberties_from_scratch(stones)).all()
    assert ((board.liberties() > 0) == (stones != 0)).all()
    assert board.hash == _hash_from_scratch(stones)
    fresh = Board(board.size)
    flat = stones.reshape(-1)
    fresh.set_stones(black=np.flatnonzero(flat == BLACK).tolist(), white=np.flatnonzero(flat == WHITE).tolist())
    assert fresh.hash == board.hash and (fresh.liberties() == board.liberties()).all()
    legal = board.legal_moves().tolist()
    assert legal == [m for m in range(board.size ** 2 + 1) if board.is_legal(m)]


@settings(max_examples=150, deadline=None)
@given(size=st.integers(2, 7), allow_suicide=st.booleans(),
       superko=st.sampled_from(["none", "positional", "situational"]),
       moves=st.lists(st.integers(-2, 52), min_size=1, max_size=120))
def test_random_sequences_keep_invariants(size, allow_suicide, superko, moves):
    board = Board(size, komi=0.5, superko=superko, allow_suicide=allow_suicide)
    placed = {BLACK: 0, WHITE: 0}
    for raw in moves:
        move = raw % (size * size + 1) if raw >= 0 else raw   # mostly on the board, a few out of range
        before = (board.stones().copy(), board.hash, board.move_number, board.to_play)
        color = board.to_play
        try:
            board.play(move)
        except IllegalMove as err:
            assert err.reason in {"occupied", "suicide", "ko", "superko", "game over", "out of range"}
            assert not board.is_legal(move)
            after = (board.stones(), board.hash, board.move_number, board.to_play)
            assert (after[0] == before[0]).all() and after[1:] == before[1:]
            continue
        if move != size * size:
            placed[color] += 1
        _check_invariants(board, placed)
        if board.is_over():
            break


def _reference_legal(board: Board, none_board: Board, seen: set) -> list[int]:
    """Legal moves by replaying each candidate under simple ko and looking the result up."""
    situational = board.superko == "situational"
    legal = []
    for move in none_board.legal_moves().tolist():
        if move == board.size ** 2:
            legal.append(move)
            continue
        trial = none_board.copy()
        trial.play(move)
        key = (trial.stones().tobytes(), trial.to_play if situational else 0)
        if key not in seen:
            legal.append(move)
    return legal


def test_superko_matches_a_from_scratch_reference():
    rng = random.Random(5)
    forbidden = 0
    for game in range(240):
        size = (2, 3, 4)[game % 3]
        superko = ("positional", "situational")[game % 2]
        board = Board(size, superko=superko, max_moves=80)
        none_board = Board(size, superko="none")
        situational = superko == "situational"
        seen = {(board.stones().tobytes(), board.to_play if situational else 0)}
        while not board.is_over():
            legal = board.legal_moves().tolist()
            reference = _reference_legal(board, none_board, seen)
            assert legal == reference, f"{superko} game {game} move {board.move_number}\n{board}"
            forbidden += len(none_board.legal_moves()) - len(legal)
            # passes are rare so that games run long enough to repeat positions
            move = legal[rng.randrange(len(legal) - 1)] if len(legal) > 1 and rng.random() > 0.05 else legal[-1]
            board.play(move)
            none_board.play(move)
            seen.add((board.stones().tobytes(), board.to_play if situational else 0))
    assert forbidden > 0  # the reference does forbid moves, so the comparison has teeth
