"""A tiny stand-in for agent.search.BatchedSearch (tests only): one network call per round,
the visit distribution is the prior over legal moves scaled to the visit count."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class StandInResult:
    visits: np.ndarray
    prior: np.ndarray
    q: np.ndarray
    root_value: float
    best_move: int
    principal_variation: list
    is_full_search: bool


class StandInSearch:
    def __init__(self, evaluator, cfg, num_games: int, seed: int) -> None:
        from envs.go import features

        self.evaluator, self.cfg, self.features = evaluator, cfg, features
        self.boards = [None] * num_games
        self.rng = np.random.default_rng(seed)

    def reset(self, i: int, board) -> None:
        self.boards[i] = board.copy()

    def play(self, i: int, move: int) -> None:
        self.boards[i].play(move)

    def run(self, game_ids=None):
        ids = list(range(len(self.boards))) if game_ids is None else list(game_ids)
        planes = self.features.encode([self.boards[i] for i in ids], self.cfg.feature_set)
        logits, values = self.evaluator.evaluate(planes)
        results = []
        for k, i in enumerate(ids):
            full = self.rng.random() < self.cfg.full_search_prob
            visits_total = self.cfg.full_visits if full else self.cfg.fast_visits
            legal = np.asarray(self.boards[i].legal_moves(), np.int64)
            p = np.exp(logits[k][legal] - logits[k][legal].max())
            p /= p.sum()
            prior = np.zeros(logits.shape[1], np.float32)
            prior[legal] = p
            visits = np.round(prior * visits_total).astype(np.int32)
            if visits.sum() == 0:
                visits[legal[np.argmax(p)]] = 1
            results.append(StandInResult(visits, prior, np.zeros_like(prior), float(values[k]),
                                         int(np.argmax(visits)), [], full))
        return results

    def choose_move(self, i: int, result, move_number: int) -> int:
        if move_number < self.cfg.opening_moves:
            v = result.visits.astype(np.float64)
            return int(self.rng.choice(len(v), p=v / v.sum()))
        return int(result.best_move)
