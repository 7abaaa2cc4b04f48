"""Differential tests: random games in lockstep with OpenSpiel's C++ Go and PettingZoo's go_v5.

Both peers check simple ko only and forbid suicide, so komi runs with superko="none". At every
ply the legal-move sets must be identical; at the end both must name the same winner.
One documented difference: OpenSpiel ends the game as a draw as soon as a move repeats an
earlier position (positional superko), where komi with superko="none" plays on; the test checks
that this happens exactly on such a repetition and stops the game there.
"""
from __future__ import annotations

import random

import numpy as np
import pytest

from envs.go import Board

pyspiel = pytest.importorskip("pyspiel")


def _openspiel_to_komi(size: int) -> np.ndarray:
    """OpenSpiel numbers rows from the bottom (action = row_from_bottom * N + col)."""
    actions = np.arange(size * size + 1)
    rows, cols = actions[:-1] // size, actions[:-1] % size
    mapping = actions.copy()
    mapping[:-1] = (size - 1 - rows) * size + cols
    return mapping


def _lockstep_openspiel(size: int, komi: float, games: int, seed: int) -> int:
    game = pyspiel.load_game("go", {"board_size": size, "komi": komi})
    to_komi = _openspiel_to_komi(size)
    to_openspiel = np.argsort(to_komi)
    rng = random.Random(seed)
    plies = repetitions = 0
    for g in range(games):
        state = game.new_initial_state()
        board = Board(size=size, komi=komi, superko="none", max_moves=game.max_game_length())
        seen, repeated = {board.hash}, False
        while True:
            if state.is_terminal() and not board.is_over():
                assert repeated and state.returns() == [0.0, 0.0], f"game {g}: openspiel ended early\n{board}"
                break
            ours = board.legal_moves()
            theirs = to_komi[state.legal_actions()]
            assert set(ours.tolist()) == set(theirs.tolist()), (
                f"game {g} ply {board.move_number}: legal sets differ\n{board}\n"
                f"only komi: {sorted(set(ours.tolist()) - set(theirs.tolist()))} "
                f"only openspiel: {sorted(set(theirs.tolist()) - set(ours.tolist()))}")
            assert board.is_over() == state.is_terminal()
            if board.is_over():
                break
            move = int(ours[rng.randrange(len(ours))])
            board.play(move)
            state.apply_action(int(to_openspiel[move]))
            plies += 1
            repeated = move != size * size and board.hash in seen
            seen.add(board.hash)
        if not board.is_over():
            repetitions += 1
            continue
        black_return = state.returns()[0]
        assert board.winner() == int(np.sign(black_return)), (
            f"game {g}: komi says {board.winner()} (score {board.score()}), openspiel {black_return}\n{board}")
    return plies, repetitions


@pytest.mark.parametrize("komi", [7.5, 0.0])
def test_openspiel_9x9_lockstep(komi):
    plies, repetitions = _lockstep_openspiel(9, komi, games=500, seed=int(komi * 10))
    assert plies > 500 * 50 and repetitions < 50


def test_openspiel_19x19_lockstep():
    plies, _ = _lockstep_openspiel(19, 7.5, games=200, seed=7)
    assert plies > 200 * 300


def test_openspiel_small_boards_lockstep():
    for size in (2, 3, 4, 5, 7):
        _lockstep_openspiel(size, 0.5, games=40, seed=size)


def _lockstep_pettingzoo(size: int, komi: float, games: int, seed: int) -> None:
    from pettingzoo.classic import go_v5

    env = go_v5.env(board_size=size, komi=komi)
    rng = random.Random(seed)
    for g in range(games):
        env.reset(seed=seed + g)
        board = Board(size=size, komi=komi, superko="none")
        final: dict[str, float] = {}
        for agent in env.agent_iter():
            obs, reward, terminated, truncated, _ = env.last()
            if terminated or truncated:
                assert board.is_over(), f"game {g}: pettingzoo ended first\n{board}"
                final[agent] = reward
                env.step(None)
                continue
            ours = board.legal_moves()
            theirs = np.flatnonzero(obs["action_mask"])
            assert set(ours.tolist()) == set(theirs.tolist()), f"game {g} ply {board.move_number}\n{board}"
            assert board.to_play == (1 if agent == "black_0" else -1)
            move = int(ours[rng.randrange(len(ours))])
            board.play(move)
            env.step(move)
        assert board.is_over()
        assert board.winner() == int(np.sign(final["black_0"])) == -int(np.sign(final["white_0"])), (
            f"game {g}: score {board.score()}, pettingzoo {final}")


@pytest.mark.slow
def test_pettingzoo_lockstep():
    _lockstep_pettingzoo(4, 0.5, games=50, seed=1)
    _lockstep_pettingzoo(5, 2.5, games=30, seed=2)
    _lockstep_pettingzoo(9, 7.5, games=20, seed=3)
