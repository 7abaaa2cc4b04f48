"""Elo ratings from game results: a maximum-likelihood Bradley–Terry fit with confidence intervals.

Model: P(i beats j) = 1 / (1 + 10^((R_j - R_i) / 400)). A draw counts as half a win for each side.
The fit maximises the likelihood of all games at once (not a sequence of updates, so the order of
games does not matter), with one player held at a chosen anchor rating. A weak prior of virtual
draws between every pair that met keeps ratings finite when a player won or lost every game.
Intervals come from the inverse Fisher information (the Hessian of the log-likelihood).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from komi.errors import KomiError

ELO_PER_NAT = 400.0 / math.log(10.0)
"""Elo points per unit of natural log-odds."""


class EloError(KomiError):
    """The results cannot be rated (unknown anchor, no games)."""


@dataclass(frozen=True)
class Rating:
    """One player's fitted rating."""

    name: str
    """The player's name."""
    elo: float
    """Maximum-likelihood Elo (the anchor holds its anchor value exactly)."""
    ci95: float
    """Half-width of the 95% confidence interval (0 for the anchor, nan if not connected to it)."""
    games: int
    """Games the player took part in."""
    score: float
    """Points scored: wins + draws / 2."""


@dataclass(frozen=True)
class GameOutcome:
    """One finished game between two named players, for rating purposes."""

    first: str
    """One player."""
    second: str
    """The other player."""
    score: float
    """Points for `first`: 1 win, 0.5 draw, 0 loss."""


def expected_score(elo_a: float, elo_b: float) -> float:
    """Probability that a player rated elo_a beats one rated elo_b."""
    return 1.0 / (1.0 + 10.0 ** ((elo_b - elo_a) / 400.0))


def fit_elo(outcomes: list[GameOutcome], anchor: str, anchor_elo: float = 0.0,
            prior_draws: float = 0.5, iterations: int = 100) -> dict[str, Rating]:
    """Fit ratings to all outcomes by maximum likelihood; `anchor` is held at `anchor_elo`.

    prior_draws: virtual drawn games added to every pair that played (keeps perfect scores finite;
    its pull fades as real games accumulate). Players with no chain of games to the anchor get nan.
    """
    names = sorted({o.first for o in outcomes} | {o.second for o in outcomes})
    if anchor not in names:
        raise EloError(f"anchor {anchor!r} played no rated game (players: {', '.join(names) or 'none'})")
    index = {n: i for i, n in enumerate(names)}
    n = len(names)
    games = np.zeros((n, n))   # games[i, j]: games between i and j (symmetric)
    wins = np.zeros((n, n))    # wins[i, j]: points i scored against j
    for o in outcomes:
        if not 0.0 <= o.score <= 1.0:
            raise EloError(f"score {o.score} for {o.first} vs {o.second} is not in [0, 1]")
        i, j = index[o.first], index[o.second]
        if i == j:
            continue
        games[i, j] += 1
        games[j, i] += 1
        wins[i, j] += o.score
        wins[j, i] += 1.0 - o.score
    met = games > 0
    games_p = games + prior_draws * met
    wins_p = wins + 0.5 * prior_draws * met

    connected = _connected_to(met, index[anchor])
    free = [i for i in range(n) if connected[i] and i != index[anchor]]
    r = np.zeros(n)  # natural log-odds units, anchor at 0
    hess_free = np.zeros((0, 0))
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(r[None, :] - r[:, None]))  # p[i, j] = P(i beats j)
        grad = (wins_p - games_p * p).sum(axis=1)
        w = games_p * p * (1.0 - p)
        hess = np.diag(w.sum(axis=1)) - w  # negative Hessian of the log-likelihood
        if not free:
            break
        hess_free = hess[np.ix_(free, free)]
        step = np.linalg.solve(hess_free, grad[free])
        r[free] += step
        if np.max(np.abs(step)) < 1e-10:
            break
    if free:
        p = 1.0 / (1.0 + np.exp(r[None, :] - r[:, None]))
        w = games_p * p * (1.0 - p)
        hess_free = (np.diag(w.sum(axis=1)) - w)[np.ix_(free, free)]
        cov = np.linalg.inv(hess_free)
    ratings: dict[str, Rating] = {}
    for name, i in index.items():
        if i == index[anchor]:
            elo, ci = anchor_elo, 0.0
        elif connected[i]:
            k = free.index(i)
            elo = anchor_elo + ELO_PER_NAT * r[i]
            ci = 1.96 * ELO_PER_NAT * math.sqrt(max(cov[k, k], 0.0))
        else:
            elo, ci = math.nan, math.nan
        ratings[name] = Rating(name=name, elo=float(elo), ci95=float(ci), games=int(games[i].sum()),
                               score=float(wins[i].sum()))
    return ratings


def win_rate_interval(wins: float, games: int) -> tuple[float, float, float]:
    """Win rate and its 95% Wilson score interval: (rate, low, high); (nan, 0, 1) with no games."""
    if games <= 0:
        return math.nan, 0.0, 1.0
    z = 1.96
    rate = wins / games
    denom = 1.0 + z * z / games
    centre = (rate + z * z / (2 * games)) / denom
    half = z * math.sqrt(rate * (1 - rate) / games + z * z / (4 * games * games)) / denom
    return rate, max(0.0, centre - half), min(1.0, centre + half)


def _connected_to(met: np.ndarray, start: int) -> np.ndarray:
    """Which players are linked to `start` by a chain of games."""
    seen = np.zeros(len(met), dtype=bool)
    seen[start] = True
    frontier = [start]
    while frontier:
        nxt = np.flatnonzero(met[frontier].any(axis=0) & ~seen)
        seen[nxt] = True
        frontier = nxt.tolist()
    return seen
