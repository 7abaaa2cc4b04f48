"""Batched PUCT tree search: the Python face of the native search in envs.go._core.

One `BatchedSearch` holds the trees of many games. `run()` searches all (or some) of them
together: each round the native core selects up to `leaves_per_tree` leaves in every tree
(virtual loss keeps them apart) and writes their feature planes into one buffer, the evaluator
scores the whole batch in one call, and the core expands the leaves and backs the values up.
Python never loops over nodes or points; it crosses into the core twice per round.

    search = BatchedSearch(evaluator, board_size=9, komi=7.5, feature_set="extended",
                           config=SearchConfig(visits=200), num_games=16)
    search.reset(i, board)              # game i starts from this position
    results = search.run()              # one SearchResult per game
    move = search.choose_move(i, results[i], board.move_number)
    search.play(i, move)                # keeps the subtree below the move (tree reuse)

Visits count every evaluation in a tree, the root's own included: a fresh search of V visits
leaves child visits summing to V - 1, and V = 1 is the network alone (best move = top prior).
Values are expected outcomes for the side to move (+1 = it wins); a finished game in the tree is
scored by the rules (area score with komi). Each leaf is evaluated under a random one of the 8
board symmetries. Playout-cap randomisation (KataGo): with probability `full_search_prob` a run
gives a game `full_visits` (with root noise; its visit distribution is a training target), else
`fast_visits` (no noise).
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from envs.go import Board, _core
from envs.go.errors import GoError


MAX_TEMPERATURE = 100.0
"""Largest move-choice temperature (visits^(1/T): beyond this every visited move is as likely)."""
SEARCH_FEATURE_SETS = ("agz", "extended", "basic", "none")


def _shown(value) -> str:
    if isinstance(value, int) and abs(value) > 10**30:
        return f"an integer of {value.bit_length()} bits"
    text = repr(value)
    return text if len(text) <= 40 else f"a {type(value).__name__}"


def _integer(cfg, name: str, low: int, high: int) -> None:
    value = getattr(cfg, name)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise GoError(f"search: {name} must be an integer, got {_shown(value)}")
    if not low <= value <= high:
        raise GoError(f"search: {name} must be in {low}..{high}, got {_shown(value)}")


def _number(cfg, name: str, low: float, high: float, bounds: str, low_open: bool = False) -> None:
    value = getattr(cfg, name)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise GoError(f"search: {name} must be a number, got {_shown(value)}")
    try:
        x = float(value)
    except OverflowError:
        x = math.inf
    if not (math.isfinite(x) and low <= x <= high and (x > low or not low_open)):
        raise GoError(f"search: {name} must be a finite number in {bounds}, got {_shown(value)}")


@dataclass(frozen=True)
class SearchConfig:
    """Settings of the tree search."""

    visits: int = 200
    """Root visits of a search (the default of full_visits and fast_visits)."""
    c_puct: float = 1.5
    """PUCT exploration constant."""
    fpu_reduction: float = 0.25
    """First-play urgency: an unvisited child is valued at the parent's value minus this."""
    noise_fraction: float = 0.0
    """Weight of the Dirichlet noise mixed into the root priors of full searches (0 = none)."""
    noise_alpha: float | None = None
    """Dirichlet alpha (None = 10.83 / legal moves: 0.03 on an open 19x19 board, ~0.13 on 9x9)."""
    leaves_per_tree: int = 8
    """Leaves selected per tree and round (virtual loss); more fill larger network batches."""
    temperature: float = 0.0
    """Move choice in the opening: sample with visits^(1/T) (0 = always the most visited)."""
    temperature_moves: int = 0
    """Moves (counted from the start of the game) chosen with the temperature."""
    full_visits: int | None = None
    """Visits of a full search (None = visits)."""
    fast_visits: int | None = None
    """Visits of a fast search (None = visits)."""
    full_search_prob: float = 1.0
    """Probability that a run gives a game a full search (playout-cap randomisation)."""
    no_pass_before: int = 0
    """No pass inside the tree before this move number while another move is legal (self-play
    forbids early passes, so its trees must too: else an untrained net's trees are full of
    pass-pass endings that decide the game on an almost empty board)."""
    tree_reuse: bool = True
    """Keep the subtree of the move played."""
    feature_set: str = "extended"
    """Input planes of the network (search_position only; BatchedSearch takes it as an argument)."""
    seed: int = 0
    """Seed of the symmetries, noise, playout caps and temperature sampling."""
    max_tree_nodes: int | None = None
    """Most nodes one tree may hold (None: the core's limit, 4,194,303); a search that fills its
    tree stops early with the statistics it has. Bounds memory in long analyses."""

    def __post_init__(self) -> None:
        # Checked here as the native core checks them, so that a bad setting is one clear line
        # when the config is made (a command line's --fpu-reduction 1e30), not a hang later.
        core = _core.Search
        _integer(self, "visits", 1, core.max_visits)
        for name in ("full_visits", "fast_visits"):
            if getattr(self, name) is not None:
                _integer(self, name, 1, core.max_visits)
        _number(self, "c_puct", 0.0, core.max_c_puct, f"(0, {core.max_c_puct:g}]", low_open=True)
        _number(self, "fpu_reduction", -core.max_fpu_reduction, core.max_fpu_reduction,
                f"[-{core.max_fpu_reduction:g}, {core.max_fpu_reduction:g}] (values are in [-1, 1])")
        _number(self, "noise_fraction", 0.0, 1.0, "[0, 1]")
        if self.noise_alpha is not None:
            _number(self, "noise_alpha", 0.0, core.max_noise_alpha,
                    f"[0, {core.max_noise_alpha:g}] (0 or None: 10.83 / legal moves)")
        _integer(self, "leaves_per_tree", 1, core.max_leaves_per_tree)
        _number(self, "temperature", 0.0, MAX_TEMPERATURE, f"[0, {MAX_TEMPERATURE:g}]")
        _integer(self, "temperature_moves", 0, 2**31 - 1)
        _number(self, "full_search_prob", 0.0, 1.0, "[0, 1]")
        _integer(self, "no_pass_before", 0, 2**31 - 1)
        if not isinstance(self.tree_reuse, (bool, np.bool_)):
            raise GoError(f"search: tree_reuse must be True or False, got {_shown(self.tree_reuse)}")
        if not isinstance(self.feature_set, str) or self.feature_set not in SEARCH_FEATURE_SETS:
            raise GoError(f"search: feature_set must be one of {', '.join(SEARCH_FEATURE_SETS)}, "
                          f"got {_shown(self.feature_set)}")
        _integer(self, "seed", 0, 2**64 - 1)
        if self.max_tree_nodes is not None:
            _integer(self, "max_tree_nodes", 2, core.max_tree_nodes_limit)

    @property
    def full(self) -> int:
        return self.full_visits if self.full_visits is not None else self.visits

    @property
    def fast(self) -> int:
        return self.fast_visits if self.fast_visits is not None else self.visits


@dataclass(frozen=True)
class SearchResult:
    """What a search of one position found. Arrays are indexed by move (pass = N*N)."""

    visits: np.ndarray
    """int32 [N*N+1]: visits of each root move."""
    prior: np.ndarray
    """float32 [N*N+1]: the network's prior of each legal move (no noise; 0 for illegal moves)."""
    q: np.ndarray
    """float32 [N*N+1]: mean value of each visited move for the side to move (0 unvisited)."""
    root_value: float
    """Mean value of the whole tree for the side to move (-1..1)."""
    root_visits: int
    """Visits of the root (evaluations in the tree, the root's own included)."""
    best_move: int
    """Most visited move (ties: higher prior); the top prior when no child was visited."""
    principal_variation: tuple[int, ...]
    """Most visited line from the root."""
    is_full_search: bool
    """A full search (its visit distribution is a policy target) rather than a fast one."""


class BatchedSearch:
    """Trees of `num_games` games searched together, one evaluator call per round of leaves.

    evaluator: anything with evaluate(features [B, C, N, N]) -> (logits [B, N*N+1], value [B])
    (agent.evaluator). komi is that of the boards given to reset(). feature_set "none" writes no
    planes (C = 0): the tree alone, for measurements with an evaluator that reads nothing.
    """

    def __init__(self, evaluator, board_size: int, komi: float, feature_set: str,
                 config: SearchConfig, num_games: int) -> None:
        if not isinstance(config, SearchConfig):
            raise GoError(f"search: config must be a SearchConfig, got {type(config).__name__}")
        self.evaluator, self.config = evaluator, config
        # The core checks every argument (type and range) and raises GoError naming it.
        self.core = _core.Search(num_games, board_size, feature_set=feature_set,
                                 c_puct=config.c_puct, fpu_reduction=config.fpu_reduction,
                                 noise_fraction=config.noise_fraction,
                                 noise_alpha=config.noise_alpha or 0.0,
                                 leaves_per_tree=config.leaves_per_tree,
                                 no_pass_before=config.no_pass_before,
                                 tree_reuse=config.tree_reuse, seed=config.seed,
                                 max_tree_nodes=config.max_tree_nodes or 0)
        if isinstance(komi, (bool, np.bool_)) or not isinstance(komi, (int, float, np.integer, np.floating)) \
                or not -1000 <= komi <= 1000:   # NaN fails the comparison; a huge int is no OverflowError
            raise GoError(f"search: komi must be a finite number in -1000..1000, got {_shown(komi)}")
        self.size, self.komi, self.feature_set = self.core.size, float(komi), feature_set
        self.num_games = self.core.num_games
        self.rng = np.random.default_rng(config.seed)
        self._buffer = np.zeros((self.core.max_leaves, self.core.planes, self.size, self.size), np.float32)
        self.evaluations = 0
        """Leaves the evaluator has scored so far."""
        self.rounds = 0
        """Evaluator calls so far."""

    def reset(self, game: int, board) -> None:
        """Game `game` starts from (a copy of) `board`, with an empty tree."""
        self.core.reset(game, board)

    def play(self, game: int, move: int) -> None:
        """Plays `move` in game `game` (IllegalMove if it is not legal there)."""
        self.core.play(game, move)

    def board(self, game: int):
        """A copy of game `game`'s position."""
        return self.core.board(game)

    def _game_ids(self, game_ids) -> np.ndarray:
        if game_ids is None:
            return np.arange(self.num_games, dtype=np.int64)
        if isinstance(game_ids, (str, bytes)):
            raise GoError(f"search: game_ids must be a sequence of game indices, got {_shown(game_ids)}")
        try:   # more ids than games must repeat one: the core says which
            ids = list(itertools.islice(game_ids, self.num_games + 1))
        except Exception as err:   # not iterable, or its items cannot be read
            raise GoError(f"search: game_ids must be a sequence of game indices, got {_shown(game_ids)} "
                          f"({type(err).__name__})") from None
        for g in ids:
            if isinstance(g, (bool, np.bool_)) or not isinstance(g, (int, np.integer)):
                raise GoError(f"search: game_ids must be integers, got {_shown(g)}")
            if not 0 <= g < self.num_games:
                raise GoError(f"search: game {_shown(g)} is not in 0..{self.num_games - 1}")
        return np.asarray(ids, np.int64).reshape(-1)

    def _visits(self, visits, count: int) -> np.ndarray:
        values = [visits] * count if isinstance(visits, (int, np.integer)) else visits
        if isinstance(values, (str, bytes)):
            raise GoError(f"search: visits must be an integer or one per game, got {_shown(visits)}")
        try:
            values = list(itertools.islice(values, count + 1))
        except Exception as err:   # not iterable, or its items cannot be read
            raise GoError(f"search: visits must be an integer or one per game, got {_shown(visits)} "
                          f"({type(err).__name__})") from None
        if len(values) != count:
            raise GoError(f"search: visits must be an integer or one per game ({count}), got {len(values)}")
        for v in values:
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
                raise GoError(f"search: visits must be integers, got {_shown(v)}")
            if not 1 <= v <= _core.Search.max_visits:
                raise GoError(f"search: visits must be in 1..{_core.Search.max_visits}, got {_shown(v)}")
        return np.asarray(values, np.int64).reshape(-1)

    def run(self, game_ids: Sequence[int] | None = None,
            visits: int | Sequence[int] | None = None) -> list[SearchResult]:
        """Searches the listed games (default all) together; one SearchResult each, in order.

        visits overrides the playout cap (one number or one per game): those runs are full
        searches without noise unless the config's noise applies (it does to every run here).
        If the evaluator fails (or returns what the core refuses), the round's leaves are
        cancelled before the error goes on: the search stays usable.
        """
        ids = self._game_ids(game_ids)
        if visits is None:
            full = self.rng.random(len(ids)) < self.config.full_search_prob
            targets = np.where(full, self.config.full, self.config.fast).astype(np.int64)
        else:
            targets = self._visits(visits, len(ids))
            full = np.ones(len(ids), bool)
        self.core.begin(ids, targets, full)
        try:
            while True:
                n = self.core.select(self._buffer)
                if n == 0:
                    break
                logits, values = self._evaluate(n)
                self.core.backup(logits, values)
                self.evaluations += n
                self.rounds += 1
        except BaseException:
            if self.core.awaiting_backup:
                self.core.cancel()
            raise
        return [self.result(int(g), bool(f)) for g, f in zip(ids, full)]

    def _evaluate(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        out = self.evaluator.evaluate(self._buffer[:n])
        try:
            logits, values = out
            return (np.ascontiguousarray(logits, np.float32),
                    np.ascontiguousarray(np.reshape(values, -1), np.float32))
        except (TypeError, ValueError) as err:
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise GoError(f"search: the evaluator must return (logits [L, N*N+1], values [L]) as float arrays "
                          f"({first})") from None

    def result(self, game: int, is_full_search: bool = True) -> SearchResult:
        """The statistics of game `game`'s tree as they stand."""
        visits, prior, q = self.core.root_stats(game)
        return SearchResult(visits=visits, prior=prior, q=q, root_value=float(self.core.root_value(game)),
                            root_visits=int(self.core.root_visits(game)), best_move=int(self.core.best_move(game)),
                            principal_variation=tuple(self.core.principal_variation(game)),
                            is_full_search=is_full_search)

    def choose_move(self, game: int, result: SearchResult, move_number: int) -> int:
        """The move to play: sampled with the temperature in the opening, else the best move."""
        cfg = self.config
        if cfg.temperature > 0 and move_number < cfg.temperature_moves:
            return sample_with_temperature(result, cfg.temperature, self.rng)
        return result.best_move


def sample_with_temperature(result: SearchResult, temperature: float, rng: np.random.Generator) -> int:
    """A move drawn with probability proportional to visits^(1/temperature)."""
    visits = np.asarray(result.visits, np.float64)
    if visits.sum() <= 0:
        return result.best_move
    weights = np.power(visits / visits.max(), 1.0 / temperature)
    return int(rng.choice(len(weights), p=weights / weights.sum()))


def search_position(board, evaluator, visits: int | None = None,
                    config: SearchConfig = SearchConfig()) -> SearchResult:
    """One search of one position (no tree kept): `visits` (default config.visits) root visits."""
    if not isinstance(board, Board):
        raise GoError(f"search: board must be an envs.go.Board, got {type(board).__name__}")
    visits = config.visits if visits is None else visits
    search = BatchedSearch(evaluator, board.size, board.komi, config.feature_set, config, 1)
    search.reset(0, board)
    return search.run([0], visits=visits)[0]
