"""The native batched PUCT search (agent.search over envs.go._core.Search): known best moves with
a uniform network, visit accounting, virtual loss, symmetries, noise, temperature, tree reuse,
bounded memory and bad input."""
from __future__ import annotations

import numpy as np
import pytest
from go_boards import board_from

from agent.evaluator import UniformEvaluator
from agent.search import (
    BatchedSearch,
    SearchConfig,
    sample_with_temperature,
    search_position,
)
from envs.go import BLACK, Board, GoError, IllegalMove, coords, features

# Black to move, the game ends after two more moves (move cap), then area scoring decides.
# The white chain of six stones has one liberty, C1: capturing it is the one winning move.
CAPTURE_TO_WIN = """
O O O X .
X X O X .
. X O X .
. X O X .
. X . X .
"""
# Black's three stones A4 A3 B3 are in atari at B2; White captures them unless Black connects at
# B2 (reaching C2 D2 B1: liberties A1 and D1). Only B2 wins (komi -12: B+2 against W+2 or worse).
SAVE_THE_GROUP = """
O O O . O
X O O O .
X X O O O
O . X X O
. X O . O
"""


class CountingEvaluator:
    """Wraps an evaluator and records the batch size of every call."""

    def __init__(self, inner) -> None:
        self.inner, self.batches = inner, []

    def evaluate(self, planes):
        self.batches.append(planes.shape[0])
        return self.inner.evaluate(planes)


class NeighbourEvaluator:
    """An equivariant 'network': a point's logit is 2x its own-stone neighbours minus its opponent
    neighbours (planes 0 and 8 of the agz/extended sets), pass 0; value = tanh of the stone balance.
    Rotating the input rotates the output, so the search's priors must not depend on the symmetry
    it picked for each evaluation."""

    def evaluate(self, planes):
        own, opp = planes[:, 0], planes[:, 8]

        def neighbours(x):
            p = np.pad(x, ((0, 0), (1, 1), (1, 1)))
            return p[:, :-2, 1:-1] + p[:, 2:, 1:-1] + p[:, 1:-1, :-2] + p[:, 1:-1, 2:]

        logits = (2.0 * neighbours(own) - neighbours(opp)).reshape(len(planes), -1)
        logits = np.concatenate([logits, np.zeros((len(planes), 1), np.float32)], axis=1)
        value = np.tanh(0.1 * (own.sum(axis=(1, 2)) - opp.sum(axis=(1, 2))))
        return logits.astype(np.float32), value.astype(np.float32)


def softmax_over(logits: np.ndarray, legal: np.ndarray) -> np.ndarray:
    p = np.zeros_like(logits, dtype=np.float64)
    x = logits[legal] - logits[legal].max()
    p[legal] = np.exp(x) / np.exp(x).sum()
    return p


@pytest.mark.parametrize("art, komi, best", [(CAPTURE_TO_WIN, 15.5, "C1"), (SAVE_THE_GROUP, -12.0, "B2")])
@pytest.mark.parametrize("leaves", [1, 8])
def test_search_finds_the_known_best_move_with_a_uniform_network(art, komi, best, leaves):
    board = board_from(art, komi=komi, max_moves=2)
    result = search_position(board, UniformEvaluator(), visits=200,
                             config=SearchConfig(leaves_per_tree=leaves))
    assert coords.to_gtp(result.best_move, 5) == best
    move = coords.from_gtp(best, 5)
    assert result.visits[move] > 0.8 * result.visits.sum()
    assert result.q[move] > 0.9 and result.root_value > 0.8  # a sure win for Black, the side to move
    # every other move loses against White's best reply
    others = [m for m in np.flatnonzero(result.visits) if m != move]
    assert others and all(result.q[m] < 0.5 for m in others)


def test_without_the_winning_move_the_search_sees_a_loss():
    board = board_from(CAPTURE_TO_WIN, komi=15.5, max_moves=2, to_play=BLACK)
    board.play(coords.from_gtp("E5", 5))  # Black throws the move away: White to play, the cap is next
    result = search_position(board, UniformEvaluator(), visits=100)
    # every White move ends the game with White ahead: 99 wins and the root's own (uniform) 0
    assert result.root_value == pytest.approx(0.99)
    assert np.all(result.q[result.visits > 0] == 1.0)


@pytest.mark.parametrize("visits, leaves", [(1, 8), (2, 1), (50, 1), (50, 8), (333, 16)])
def test_visits_sum_to_the_playouts(visits, leaves):
    board = Board(9)
    for m in (40, 41, 30):
        board.play(m)
    result = search_position(board, NeighbourEvaluator(), visits=visits,
                             config=SearchConfig(leaves_per_tree=leaves))
    assert result.root_visits == visits
    assert int(result.visits.sum()) == visits - 1  # the root's own evaluation is the first visit
    assert np.all(result.visits[np.asarray(board.legal_moves())] >= 0)
    illegal = np.setdiff1d(np.arange(82), board.legal_moves())
    assert np.all(result.visits[illegal] == 0) and np.all(result.prior[illegal] == 0)
    assert result.prior.sum() == pytest.approx(1.0, abs=1e-5)


def test_one_visit_is_the_network_alone():
    board = Board(9)
    board.play(40)
    evaluator = NeighbourEvaluator()
    result = search_position(board, evaluator, visits=1)
    planes = features.encode([board], "extended")
    logits, value = evaluator.evaluate(planes)
    prior = softmax_over(logits[0], np.asarray(board.legal_moves()))
    assert result.best_move == int(np.argmax(prior))
    assert result.root_value == pytest.approx(float(value[0]), abs=1e-6)
    assert result.visits.sum() == 0


def test_virtual_loss_is_fully_undone_after_each_backup():
    search = BatchedSearch(NeighbourEvaluator(), 9, 7.5, "extended", SearchConfig(leaves_per_tree=8), 3)
    for g in range(3):
        search.reset(g, Board(9))
    core = search.core
    core.begin(np.arange(3), np.array([64, 100, 7]), np.zeros(3, bool))
    buf = np.zeros((core.max_leaves, core.planes, 9, 9), np.float32)
    rounds, seen_loss = 0, False
    while (n := core.select(buf)) > 0:
        assert n <= core.max_leaves
        seen_loss |= sum(core.virtual_loss_total(g) for g in range(3)) > 0
        logits, values = search.evaluator.evaluate(buf[:n])
        core.backup(logits, values)
        assert all(core.virtual_loss_total(g) == 0 for g in range(3))
        rounds += 1
    assert seen_loss and rounds > 1
    assert [core.root_visits(g) for g in range(3)] == [64, 100, 7]


def test_priors_map_back_through_the_random_symmetries():
    board = Board(9)
    for m in (10, 11, 20, 12, 60, 61, 2):  # a lopsided position: every symmetry gives other planes
        board.play(m)
    evaluator = NeighbourEvaluator()
    logits, _ = evaluator.evaluate(features.encode([board], "extended"))
    expected = softmax_over(logits[0], np.asarray(board.legal_moves()))
    for seed in range(12):  # each search evaluates its root under a random symmetry
        result = search_position(board, evaluator, visits=1, config=SearchConfig(seed=seed))
        np.testing.assert_allclose(result.prior, expected, atol=1e-5)


def test_batches_cover_many_games_with_one_evaluator_call_per_round():
    evaluator = CountingEvaluator(UniformEvaluator())
    search = BatchedSearch(evaluator, 9, 7.5, "extended", SearchConfig(visits=40, leaves_per_tree=4), 8)
    for g in range(8):
        search.reset(g, Board(9))
    results = search.run()
    assert len(results) == 8 and all(r.root_visits == 40 for r in results)
    assert max(evaluator.batches) == 32  # 8 trees x 4 leaves in one call
    assert sum(evaluator.batches) == 8 * 40 and len(evaluator.batches) < 20


def test_root_noise_has_the_dirichlet_mean_and_spread():
    board = Board(5)
    k = len(board.legal_moves())  # 26
    eps = 0.25
    search = BatchedSearch(UniformEvaluator(), 5, 7.5, "extended",
                           SearchConfig(visits=2, noise_fraction=eps, seed=7), 1)
    samples = []
    for _ in range(600):
        search.reset(0, board)
        result = search.run(visits=2)[0]
        noisy = search.core.root_search_prior(0)
        samples.append(noisy[:k])
        np.testing.assert_allclose(result.prior[:k], 1.0 / k, atol=1e-6)  # results report clean priors
    samples = np.asarray(samples, np.float64)
    np.testing.assert_allclose(samples.sum(axis=1), 1.0, atol=1e-5)
    alpha = 10.83 / k
    var = eps ** 2 * (1 / k) * (1 - 1 / k) / (k * alpha + 1)
    assert samples.mean() == pytest.approx(1 / k, rel=1e-3)
    assert samples.var(axis=0).mean() == pytest.approx(var, rel=0.2)


def test_noise_only_on_full_searches_and_alpha_sets_its_concentration():
    board = Board(9)
    cfg = SearchConfig(full_visits=4, fast_visits=4, full_search_prob=0.0, noise_fraction=1.0, noise_alpha=0.03)
    search = BatchedSearch(UniformEvaluator(), 9, 7.5, "extended", cfg, 1)
    search.reset(0, board)
    assert not search.run()[0].is_full_search
    np.testing.assert_allclose(search.core.root_search_prior(0), 1 / 82, atol=1e-6)  # fast: no noise
    def median_top(alpha):
        search = BatchedSearch(UniformEvaluator(), 9, 7.5, "extended",
                               SearchConfig(noise_fraction=1.0, noise_alpha=alpha), 1)
        tops = []
        for _ in range(100):
            search.reset(0, board)
            search.run(visits=4)
            tops.append(search.core.root_search_prior(0).max())
        return float(np.median(tops))

    concentrated, default = median_top(0.03), median_top(None)  # total concentration 2.5 vs 10.8
    assert concentrated > 0.3 and concentrated > 2 * default


def test_playout_cap_randomisation():
    cfg = SearchConfig(full_visits=12, fast_visits=3, full_search_prob=0.5, seed=1)
    search = BatchedSearch(UniformEvaluator(), 5, 7.5, "extended", cfg, 64)
    for g in range(64):
        search.reset(g, Board(5))
    results = search.run()
    full = [r.is_full_search for r in results]
    assert {r.root_visits for r, f in zip(results, full) if f} == {12}
    assert {r.root_visits for r, f in zip(results, full) if not f} == {3}
    assert 16 <= sum(full) <= 48


def test_temperature_sampling_follows_visits_to_the_power_one_over_t():
    from agent.search import SearchResult

    visits = np.array([0, 1, 2, 3, 4], np.int32)
    result = SearchResult(visits=visits, prior=np.zeros(5, np.float32), q=np.zeros(5, np.float32),
                          root_value=0.0, root_visits=11, best_move=4, principal_variation=(4,),
                          is_full_search=True)
    rng = np.random.default_rng(0)
    for t, expected in [(1.0, visits / 10), (0.5, visits ** 2 / 30)]:
        draws = np.bincount([sample_with_temperature(result, t, rng) for _ in range(20000)], minlength=5) / 20000
        np.testing.assert_allclose(draws, expected, atol=0.012)
    search = BatchedSearch(UniformEvaluator(), 5, 7.5, "extended",
                           SearchConfig(temperature=1.0, temperature_moves=3), 1)
    assert {search.choose_move(0, result, 3) for _ in range(50)} == {4}  # after the opening: the best
    assert len({search.choose_move(0, result, 0) for _ in range(200)}) == 4


def test_tree_reuse_keeps_the_subtree_of_the_move_played():
    cfg = SearchConfig(visits=200)
    search = BatchedSearch(NeighbourEvaluator(), 9, 7.5, "extended", cfg, 1)
    board = Board(9)
    search.reset(0, board)
    first = search.run()[0]
    move = first.best_move
    search.play(0, move)
    board.play(move)
    assert search.core.root_visits(0) == first.visits[move]
    assert str(search.board(0)) == str(board)
    second = search.run()[0]
    assert second.root_visits == 200  # topped up to the target, not 200 more
    fresh = BatchedSearch(NeighbourEvaluator(), 9, 7.5, "extended",
                          SearchConfig(visits=200, tree_reuse=False), 1)
    fresh.reset(0, Board(9))
    fresh.run()
    fresh.play(0, move)
    assert fresh.core.root_visits(0) == 0 and fresh.core.node_count(0) == 1


def test_a_full_tree_stops_its_search_with_consistent_statistics():
    cap = 300
    search = BatchedSearch(NeighbourEvaluator(), 9, 7.5, "extended",
                           SearchConfig(visits=5000, max_tree_nodes=cap), 2)
    for g in range(2):
        search.reset(g, Board(9))
    for g, result in enumerate(search.run()):
        assert cap - 8 < search.core.node_count(g) <= cap    # stopped when a round might overflow it
        assert 1 < result.root_visits < 5000
        assert result.visits.sum() == result.root_visits - 1
        assert search.core.virtual_loss_total(g) == 0
    search.play(0, search.run([0])[0].best_move)              # full, reused tree: still no overflow
    search.run([0])
    assert search.core.node_count(0) <= cap
    with pytest.raises(GoError, match="max_tree_nodes"):
        SearchConfig(max_tree_nodes=1)


def test_memory_stays_bounded_over_a_whole_game():
    search = BatchedSearch(NeighbourEvaluator(), 7, 7.5, "extended",
                           SearchConfig(visits=64, temperature=1.0, temperature_moves=10), 2)
    boards = [Board(7, max_moves=120), Board(7, max_moves=120)]
    for g in range(2):
        search.reset(g, boards[g])
    while not all(b.is_over() for b in boards):
        ids = [g for g in range(2) if not boards[g].is_over()]
        for g, result in zip(ids, search.run(ids)):
            # every visit adds at most one node; the kept subtree holds no more than the last search
            assert search.core.node_count(g) <= result.root_visits + 1
            assert search.core.edge_count(g) <= search.core.node_count(g) * 50
            move = search.choose_move(g, result, boards[g].move_number)
            boards[g].play(move)
            if not boards[g].is_over():
                search.play(g, move)
                assert str(search.board(g)) == str(boards[g])


def test_a_finished_game_is_not_searched():
    board = Board(5)
    board.play(25)
    board.play(25)
    result = search_position(board, UniformEvaluator(), visits=50)
    assert result.best_move == 25 and result.visits.sum() == 0


def test_searches_are_reproducible_for_a_seed():
    board = Board(9)
    cfg = SearchConfig(visits=100, noise_fraction=0.25, seed=5)
    a = search_position(board, NeighbourEvaluator(), config=cfg)
    b = search_position(board, NeighbourEvaluator(), config=cfg)
    np.testing.assert_array_equal(a.visits, b.visits)


class BrokenEvaluator:
    def __init__(self, kind: str) -> None:
        self.kind = kind

    def evaluate(self, planes):
        n = planes.shape[0]
        size = planes.shape[-1]
        if self.kind == "nan":
            return np.full((n, size * size + 1), np.nan, np.float32), np.zeros(n, np.float32)
        if self.kind == "shape":
            return np.zeros((n, size * size), np.float32), np.zeros(n, np.float32)
        return np.zeros((n + 1, size * size + 1), np.float32), np.zeros(n + 1, np.float32)


@pytest.mark.parametrize("kind, message", [("nan", "non-finite"), ("shape", "logits must have shape"),
                                           ("count", "backup expects")])
def test_a_broken_evaluator_is_a_clear_error(kind, message):
    with pytest.raises(GoError, match=message):
        search_position(Board(5), BrokenEvaluator(kind), visits=10)


def test_bad_moves_games_and_boards_are_refused():
    search = BatchedSearch(UniformEvaluator(), 5, 7.5, "extended", SearchConfig(visits=10), 2)
    search.reset(0, Board(5))
    search.play(0, 12)
    before = str(search.board(0))
    with pytest.raises(IllegalMove, match="occupied"):
        search.play(0, 12)
    with pytest.raises(IllegalMove, match="out of range"):
        search.play(0, 26)
    with pytest.raises(IllegalMove, match="out of range"):
        search.play(0, -3)
    assert str(search.board(0)) == before
    with pytest.raises(GoError, match="game 2"):
        search.play(2, 0)
    with pytest.raises(GoError, match="board size"):
        search.reset(1, Board(9))
    with pytest.raises(GoError, match="listed twice"):
        search.run([0, 0])
    core = search.core
    buf = np.zeros((core.max_leaves, core.planes, 5, 5), np.float32)
    core.begin(np.array([0]), np.array([10]), np.array([False]))
    assert core.select(buf) > 0
    with pytest.raises(GoError, match="await backup"):
        core.select(buf)
    with pytest.raises(GoError, match="out must have shape"):
        BatchedSearch(UniformEvaluator(), 5, 7.5, "extended", SearchConfig(), 1).core.select(np.zeros((8, 4, 5, 5), np.float32))
    with pytest.raises(GoError, match="leaves_per_tree"):
        SearchConfig(leaves_per_tree=0)
    with pytest.raises(GoError, match="feature set"):
        BatchedSearch(UniformEvaluator(), 5, 7.5, "nonsense", SearchConfig(), 1)


def test_no_pass_before_keeps_early_passes_out_of_the_tree():
    cfg = SearchConfig(visits=300, no_pass_before=4)
    result = search_position(Board(5), UniformEvaluator(), config=cfg)
    assert result.visits[25] == 0 and result.prior[25] == 0
    assert search_position(Board(5), UniformEvaluator(), visits=300).visits[25] > 0  # the rule off
    late = Board(5)
    for m in (0, 24, 4, 20):
        late.play(m)
    assert search_position(late, UniformEvaluator(), config=cfg).prior[25] > 0  # move 4: passing allowed


def test_a_search_without_planes_gives_the_same_tree():
    board = board_from(SAVE_THE_GROUP, komi=-12.0, max_moves=2)
    results = []
    for feature_set in ("extended", "none"):
        search = BatchedSearch(UniformEvaluator(), 5, -12.0, feature_set, SearchConfig(visits=150), 1)
        search.reset(0, board)
        results.append(search.run()[0])
    assert search._buffer.shape[1] == 0
    np.testing.assert_array_equal(results[0].visits, results[1].visits)
