"""Evaluation matches between two networks, each with its own batched search.

All games of a match are searched at once: per round, every game where A is to move is searched
by A's BatchedSearch (one call), then every game where B is to move by B's. A plays Black in the
even games and White in the odd ones; the first `eval_temperature_moves` moves are sampled with
temperature 1 so the games differ, then each side plays its most-visited move. No noise. As in
self-play, neither side passes before cfg.first_pass_move while another move is legal.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from selfplay.loop import SelfPlayConfig


def match_config(cfg: SelfPlayConfig) -> SelfPlayConfig:
    """The self-play config with evaluation settings: fixed visits, no noise, no playout cap."""
    return dataclasses.replace(cfg, full_visits=cfg.eval_visits, fast_visits=cfg.eval_visits,
                               full_search_prob=1.0, noise_fraction=0.0, temperature=1.0,
                               temperature_moves=cfg.eval_temperature_moves)


def play_match(evaluator_a, evaluator_b, cfg: SelfPlayConfig, num_games: int, seed: int = 0,
               search_factory: Callable | None = None) -> list[float]:
    """Points A scored in each game (1 win, 0.5 draw, 0 loss); games resign at cfg.resign_threshold."""
    from envs.go import BLACK, WHITE, Board
    from selfplay.generate import default_search_factory, move_instead_of_pass

    factory = search_factory or default_search_factory
    mcfg = match_config(cfg)
    searches = (factory(evaluator_a, mcfg, num_games, seed), factory(evaluator_b, mcfg, num_games, seed + 1))
    boards = [Board(cfg.board_size, cfg.komi, max_moves=cfg.move_cap) for _ in range(num_games)]
    a_color = [BLACK if i % 2 == 0 else WHITE for i in range(num_games)]
    for i, board in enumerate(boards):
        for search in searches:
            search.reset(i, board)
    active = set(range(num_games))
    pass_move = cfg.board_size ** 2
    while active:
        for side, search in enumerate(searches):
            ids = sorted(i for i in active if (boards[i].to_play == a_color[i]) == (side == 0))
            if not ids:
                continue
            for i, result in zip(ids, search.run(ids)):
                board = boards[i]
                if float(result.root_value) < cfg.resign_threshold:
                    board.resign(board.to_play)
                    active.discard(i)
                    continue
                move = int(search.choose_move(i, result, board.move_number))
                if move == pass_move and board.move_number < cfg.first_pass_move:
                    move = move_instead_of_pass(board, result)
                board.play(move)
                if board.is_over():
                    active.discard(i)
                else:
                    for s in searches:
                        s.play(i, move)
    scores = []
    for board, color in zip(boards, a_color):
        winner = int(board.winner())
        scores.append(0.5 if winner == 0 else float(winner == color))
    return scores
