"""Self-play game generation: N games searched at once by one BatchedSearch, with resignation.

Each call to `GameGenerator.step()` runs one search round over every game slot (one network
call per round of leaves, inside the search), plays the chosen move in each game and returns the
games that finished; a finished slot starts a new game at once, so the batch stays full.

Resignation: the side to move resigns when the root value of its search (expected outcome for
it, -1..+1) falls below `resign_threshold`. In a fraction `resign_disabled_fraction` of games
resignation is off: they are played out and tell how often a resignation would have been wrong
(the false-resign rate the loop reports, as in AlphaGo Zero).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from selfplay.replay import FinishedGame
from selfplay.shards import COLOR_BIT

if TYPE_CHECKING:
    from selfplay.loop import SelfPlayConfig


def search_config(cfg: SelfPlayConfig, seed: int):
    """The agent.search.SearchConfig of self-play (noise, temperature, playout cap)."""
    from agent.search import SearchConfig

    return SearchConfig(visits=cfg.full_visits, c_puct=cfg.c_puct, fpu_reduction=cfg.fpu_reduction,
                        noise_fraction=cfg.noise_fraction, leaves_per_tree=cfg.leaves_per_tree,
                        temperature=cfg.temperature, temperature_moves=cfg.opening_moves,
                        full_visits=cfg.full_visits, fast_visits=cfg.fast_visits,
                        full_search_prob=cfg.full_search_prob, no_pass_before=cfg.first_pass_move,
                        tree_reuse=True, seed=seed)


def default_search_factory(evaluator, cfg: SelfPlayConfig, num_games: int, seed: int):
    from agent.search import BatchedSearch

    return BatchedSearch(evaluator, cfg.board_size, cfg.komi, cfg.feature_set,
                         search_config(cfg, seed), num_games)


def move_instead_of_pass(board, result) -> int:
    """The most visited (then highest prior) legal move other than pass; pass if there is none."""
    pass_move = board.size * board.size
    legal = np.asarray(board.legal_moves(), np.int64)
    legal = legal[legal != pass_move]
    if len(legal) == 0:
        return pass_move
    visits = np.asarray(result.visits, np.float64)[legal]
    prior = np.asarray(result.prior, np.float64)[legal]
    return int(legal[np.lexsort((prior, visits))[-1]])


@dataclass
class _Slot:
    """A game in progress."""

    board: Any
    resign_enabled: bool
    codes: list[int] = field(default_factory=list)
    full: list[bool] = field(default_factory=list)
    policy: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    would_resign: int = 0
    """Colour that would have resigned in a game with resignation off (first time only)."""


class GameGenerator:
    """Plays `num_games` self-play games at once; `step()` returns the games that finished.

    search_factory(evaluator, cfg, num_games, seed) builds the batched search (the real
    agent.search.BatchedSearch by default).
    """

    def __init__(self, evaluator, cfg: SelfPlayConfig, num_games: int, seed: int = 0,
                 search_factory: Callable | None = None) -> None:
        from envs.go import Board

        self.cfg, self.num_games = cfg, num_games
        self._board_cls = Board
        self.rng = np.random.default_rng(seed)
        self.search = (search_factory or default_search_factory)(evaluator, cfg, num_games, seed)
        self.moves_played = 0
        self.pass_move = cfg.board_size ** 2
        self.slots = [self._start(i) for i in range(num_games)]

    def _start(self, i: int) -> _Slot:
        cfg = self.cfg
        board = self._board_cls(cfg.board_size, cfg.komi, max_moves=cfg.move_cap)
        self.search.reset(i, board)
        resign = cfg.resign_threshold > -1 and self.rng.random() >= cfg.resign_disabled_fraction
        return _Slot(board, resign_enabled=resign)

    def step(self) -> list[FinishedGame]:
        """One search round for every game: play one move in each; return the finished games."""
        results = self.search.run()
        finished = []
        for i, result in enumerate(results):
            slot = self.slots[i]
            board = slot.board
            color = board.to_play
            if float(result.root_value) < self.cfg.resign_threshold:
                if slot.resign_enabled:
                    board.resign(color)
                    finished.append(self._finish(i, resigned=color))
                    continue
                if slot.would_resign == 0:
                    slot.would_resign = color
            move = int(self.search.choose_move(i, result, board.move_number))
            if move == self.pass_move and board.move_number < self.cfg.first_pass_move:
                move = move_instead_of_pass(board, result)
            visits = np.asarray(result.visits, np.float64)
            total = visits.sum()
            full = bool(result.is_full_search) and total > 0
            slot.codes.append((move << 2) | (COLOR_BIT if color < 0 else 0))
            slot.full.append(full)
            if full:
                nz = np.flatnonzero(visits)
                slot.policy.append((nz.astype(np.int16), (visits[nz] / total).astype(np.float32)))
            board.play(move)
            self.moves_played += 1
            if board.is_over():
                finished.append(self._finish(i, resigned=0))
            else:
                self.search.play(i, move)
        return finished

    def _finish(self, i: int, resigned: int) -> FinishedGame:
        slot = self.slots[i]
        winner = int(slot.board.winner())
        if resigned:
            result = "B+R" if resigned < 0 else "W+R"
        else:
            score = float(slot.board.score())
            result = "0" if score == 0 else (f"B+{score:g}" if score > 0 else f"W+{-score:g}")
        game = FinishedGame(
            codes=np.asarray(slot.codes, np.int16), full=np.asarray(slot.full, bool),
            policy=slot.policy, size=self.cfg.board_size, komi=self.cfg.komi, winner=winner,
            resigned=resigned,
            info={"result": result, "resign_disabled": not slot.resign_enabled, "would_resign": slot.would_resign,
                  "false_resign": slot.would_resign != 0 and winner == slot.would_resign})
        self.slots[i] = self._start(i)
        return game
