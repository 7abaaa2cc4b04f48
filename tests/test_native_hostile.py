"""The native core's boundary under hostile arguments: search parameters checked (a huge
fpu_reduction used to leave select_child without a child and select() in an endless loop), a
refused evaluation leaves a search usable (it used to poison it for good), every binding raises
GoError (or its documented subclasses) naming what was wrong, before allocating what a number
implies, and a bounded seeded fuzz run (benchmarks/fuzz_native.py runs millions) in a child
process, so that a crash or a hang is a failure rather than the end of the test run.
"""
from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from agent.search import BatchedSearch, SearchConfig, search_position
from envs.go import Board, GoError, IllegalMove, _core, features, random_games
from envs.go.errors import ArgumentTypeError

ROOT = Path(__file__).resolve().parent.parent
NAN, INF = float("nan"), float("inf")


def _fuzz_module():
    spec = importlib.util.spec_from_file_location("fuzz_native", ROOT / "benchmarks" / "fuzz_native.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_native"] = module
    spec.loader.exec_module(module)
    return module


class Uniform:
    """Uniform logits, value 0: any evaluator call succeeds."""

    def evaluate(self, planes):
        n = planes.shape[0]
        return np.zeros((n, planes.shape[-1] ** 2 + 1), np.float32), np.zeros(n, np.float32)


class Flaky(Uniform):
    """Returns a NaN value (or raises) on its first call, then behaves."""

    def __init__(self, failure: str = "nan") -> None:
        self.failure, self.calls = failure, 0

    def evaluate(self, planes):
        self.calls += 1
        logits, values = super().evaluate(planes)
        if self.calls == 1:
            if self.failure == "raise":
                raise RuntimeError("out of memory on the accelerator")
            values[0] = np.nan
        return logits, values


# ---- search parameters: refused up front, in SearchConfig and in the core ------------------------

BAD_CONFIGS = [
    ("fpu_reduction", 1e30), ("fpu_reduction", -1e30), ("fpu_reduction", NAN), ("fpu_reduction", INF),
    ("fpu_reduction", 2.5), ("c_puct", NAN), ("c_puct", INF), ("c_puct", 0.0), ("c_puct", -1.0), ("c_puct", 1e9),
    ("noise_fraction", NAN), ("noise_fraction", 1.5), ("noise_alpha", NAN), ("noise_alpha", -0.5),
    ("noise_alpha", 1e30), ("temperature", NAN), ("temperature", INF), ("full_search_prob", NAN),
    ("visits", 0), ("visits", 2**40), ("visits", 2.5), ("visits", True), ("fast_visits", 2**31),
    ("leaves_per_tree", 10**6), ("temperature_moves", -1), ("no_pass_before", -1), ("seed", -1),
    ("seed", 2**64), ("seed", "x"), ("tree_reuse", "yes"), ("feature_set", "nonsense"),
    ("feature_set", np.zeros(2)), ("max_tree_nodes", 10**12), ("c_puct", "1.5"),
]


@pytest.mark.parametrize("field, value", BAD_CONFIGS, ids=[f"{f}={v!r}" for f, v in BAD_CONFIGS])
def test_search_config_refuses_out_of_range_parameters(field, value):
    with pytest.raises(GoError, match=field) as err:
        SearchConfig(**{field: value})
    assert "\n" not in str(err.value)


CORE_BAD = [("fpu_reduction", 1e30), ("fpu_reduction", NAN), ("c_puct", 0.0), ("c_puct", INF),
            ("noise_fraction", NAN), ("noise_alpha", -1.0), ("noise_alpha", INF), ("leaves_per_tree", 2**40),
            ("seed", -1), ("max_tree_nodes", 2**63), ("tree_reuse", "no"), ("no_pass_before", 2**31)]


@pytest.mark.parametrize("field, value", CORE_BAD, ids=[f"{f}={v!r}" for f, v in CORE_BAD])
def test_the_core_refuses_out_of_range_search_parameters(field, value):
    with pytest.raises(GoError, match=field):
        _core.Search(1, 9, **{field: value})


def test_extreme_valid_parameters_still_finish_their_runs():
    """At the bounds (fpu_reduction +-2, c_puct from tiny to 1000) every descent finds a child."""
    for c_puct in (1e-6, 1.5, 1000.0):
        for fpu in (-2.0, 0.0, 2.0):
            cfg = SearchConfig(visits=60, c_puct=c_puct, fpu_reduction=fpu, leaves_per_tree=4)
            result = search_position(Board(5), Uniform(), config=cfg)
            assert result.root_visits == 60 and result.visits.sum() == 59


def test_the_core_bounds_are_the_configs_bounds():
    core = _core.Search
    assert core.max_fpu_reduction == 2 and core.max_c_puct == 1000 and core.max_visits == 2**30
    SearchConfig(fpu_reduction=2.0, c_puct=1000.0, visits=2**30, noise_alpha=1000.0)   # accepted at the bounds
    _core.Search(1, 5, fpu_reduction=-2.0, c_puct=1000.0, noise_alpha=1000.0)


def test_the_planes_buffer_a_search_implies_is_bounded_before_it_is_allocated():
    with pytest.raises(GoError, match="leaves"):
        BatchedSearch(Uniform(), 19, 7.5, "extended", SearchConfig(leaves_per_tree=1024), 65536)
    with pytest.raises(GoError, match="4 GiB"):
        _core.Search(4096, 25, leaves_per_tree=64)


# ---- a refused evaluation leaves the search usable ------------------------------------------------

@pytest.mark.parametrize("failure", ["nan", "raise"])
def test_one_bad_evaluation_does_not_poison_a_batched_search(failure):
    search = BatchedSearch(Flaky(failure), 5, 7.5, "basic", SearchConfig(visits=30), 2)
    for g in range(2):
        search.reset(g, Board(5))
    with pytest.raises(GoError if failure == "nan" else RuntimeError):
        search.run()
    assert not search.core.awaiting_backup
    assert all(search.core.virtual_loss_total(g) == 0 for g in range(2))
    results = search.run()                      # used to fail: "the leaves of the last select() await backup()"
    assert [r.root_visits for r in results] == [30, 30]
    search.reset(0, Board(5))                   # so did reset()
    assert search.run([0])[0].root_visits == 30


def test_a_refused_backup_changes_nothing_and_the_leaves_can_still_be_backed_up():
    core = _core.Search(1, 5, feature_set="basic", leaves_per_tree=4)
    core.reset(0, Board(5))
    core.begin(np.array([0]), np.array([20]), np.array([False]))
    buf = np.zeros((core.max_leaves, core.planes, 5, 5), np.float32)
    n = core.select(buf)
    assert n > 0 and core.awaiting_backup
    for logits, values, message in [
            (np.zeros((n, 26), np.float32), np.full(n, np.nan, np.float32), "non-finite value"),
            (np.full((n, 26), np.inf, np.float32), np.zeros(n, np.float32), "non-finite policy"),
            (np.zeros((n + 1, 26), np.float32), np.zeros(n + 1, np.float32), "expects"),
            (np.zeros((n, 25), np.float32), np.zeros(n, np.float32), "shape")]:
        with pytest.raises(GoError, match=message):
            core.backup(logits, values)
        assert core.awaiting_backup and core.root_visits(0) == 0
    core.backup(np.zeros((n, 26), np.float32), np.zeros(n, np.float32))
    assert not core.awaiting_backup and core.virtual_loss_total(0) == 0 and core.root_visits(0) == 1


def test_cancel_and_reset_drop_pending_leaves_and_their_virtual_loss():
    core = _core.Search(2, 5, feature_set="basic", leaves_per_tree=4)
    for g in range(2):
        core.reset(g, Board(5))
    buf = np.zeros((core.max_leaves, core.planes, 5, 5), np.float32)

    def rounds(stop_pending: bool):
        core.begin(np.array([0, 1]), np.array([40, 40]), np.array([False, False]))
        while True:
            n = core.select(buf)
            if n == 0:
                return
            if stop_pending and core.root_visits(0) > 5:
                return   # leaves left pending
            core.backup(np.zeros((n, 26), np.float32), np.zeros(n, np.float32))

    rounds(stop_pending=True)
    assert core.awaiting_backup and core.virtual_loss_total(0) > 0
    with pytest.raises(GoError, match="cancel"):
        core.begin(np.array([0]), np.array([5]), np.array([False]))
    core.cancel()
    assert not core.awaiting_backup and core.virtual_loss_total(0) == core.virtual_loss_total(1) == 0
    rounds(stop_pending=False)                  # the same trees go on to their targets
    assert core.root_visits(0) == 40 and core.root_visits(1) == 40
    rounds(stop_pending=True)
    core.reset(1, Board(5))                     # reset works with leaves pending: it cancels them
    assert not core.awaiting_backup and core.virtual_loss_total(0) == 0 and core.root_visits(1) == 0


# ---- the right error type, up front ---------------------------------------------------------------

def _search():
    return _core.Search(1, 9, feature_set="basic")


WRONG_ERRORS = {   # each raised MemoryError, OverflowError, AttributeError, a bare ValueError or TypeError,
    # or was accepted
    "Board(size 2**40)": (lambda: Board(2**40), "board size"),
    "Board(komi 10**400)": (lambda: Board(9, komi=10**400), "komi"),
    "Board('nine')": (lambda: Board("nine"), "board size"),
    "play(2**70)": (lambda: Board(9).play(2**70), "out of range"),
    "play(-2**300)": (lambda: Board(9).play(-2**300), "out of range"),
    "play(color 2**80)": (lambda: Board(9).play(3, 2**80), "color"),
    "last_moves(None)": (lambda: Board(9).last_moves(None), "k"),
    "playout(seed 2**64)": (lambda: Board(9).playout(seed=2**64), "seed"),
    "playout(seed -1)": (lambda: Board(9).playout(seed=-1), "seed"),
    "place_handicap(2**31)": (lambda: Board(19).place_handicap(2**31), "handicap"),
    "territory_score(['a'])": (lambda: Board(9).territory_score(["a"]), "dead stones"),
    "set_stones(range(10**12))": (lambda: Board(9).set_stones(black=range(10**12)), "black stones"),
    "set_stones(uint64 2**63)": (lambda: Board(9).set_stones(black=np.array([2**63], np.uint64)), "black stones"),
    "set_stones(float)": (lambda: Board(9).set_stones(black=np.array([3.7])), "black stones"),
    "random_games(komi nan)": (lambda: random_games(9, 1, komi=NAN), "komi"),
    "random_games(n 2**31)": (lambda: random_games(9, 2**31), "n_games"),
    "random_games(seed -1)": (lambda: random_games(9, 1, seed=-1), "seed"),
    "zobrist_key(2**70)": (lambda: _core.zobrist_key(1, 2**70, 9), "move"),
    "features.encode([1, 2])": (lambda: features.encode([1, 2]), "Board"),
    "features.encode(5)": (lambda: features.encode(5), "boards"),
    "_core.encode([1, 2])": (lambda: _core.encode([1, 2], "basic", np.zeros(2, np.int64),
                                                  np.zeros((2, 4, 9, 9), np.float32)), "Board"),
    "inverse_symmetry('a')": (lambda: features.inverse_symmetry("a"), "symmetry"),
    "symmetries 'ab'": (lambda: features.encode([Board(9)], symmetries="ab"), "symmetries"),
    "symmetries [1.5]": (lambda: features.encode([Board(9)], symmetries=[1.5]), "symmetries"),
    "symmetry_map(9, 2**70)": (lambda: features.symmetry_map(9, 2**70), "symmetry"),
    "encode_records(size 10**6)": (lambda: features.encode_records([0], [0, 1], [0], [0], 10**6, "basic"), "size"),
    "encode_records(batch 10**6 on 19x19)": (
        lambda: features.encode_records([0], [0, 1], np.zeros(10**6, np.int64), np.zeros(10**6, np.int64), 19),
        "4 GiB"),
    "encode_records(threads 2**40)": (
        lambda: features.encode_records([0], [0, 1], [0], [0], 9, "basic", threads=2**40), "threads"),
    "record_outcomes(int16 wrap)": (lambda: _core.record_outcomes(np.array([40000]), [0, 1], 9), "codes"),
    "record_outcomes(offsets nan)": (lambda: features.record_outcomes([0], [0.0, NAN], 9), "offsets"),
    "Search(seed -1)": (lambda: _core.Search(1, 9, seed=-1), "seed"),
    "Search(num_games 2**40)": (lambda: _core.Search(2**40, 9), "num_games"),
    "Search.begin(float games)": (lambda: _search().begin([0.5], [3], [True]), "games"),
    "Search.begin(games 2**70)": (lambda: _search().begin([2**70], [3], [True]), "games"),
    "Search.play(2**70)": (lambda: _search().play(0, 2**70), "out of range"),
    "Search.reset(game 2**70)": (lambda: _search().reset(2**70, Board(9)), "game"),
    "Search.reset(not a board)": (lambda: _search().reset(0, "board"), "Board"),
    "Search.select(float64)": (lambda: _search().select(np.zeros((8, 4, 9, 9))), "out"),
    "Search.principal_variation(-1)": (lambda: _search().principal_variation(0, -1), "max_len"),
    "BatchedSearch.reset(None)": (lambda: BatchedSearch(Uniform(), 5, 7.5, "basic", SearchConfig(), 1).reset(0, None),
                                  "Board"),
    "BatchedSearch(komi nan)": (lambda: BatchedSearch(Uniform(), 5, NAN, "basic", SearchConfig(), 1), "komi"),
    "BatchedSearch(board_size 'x')": (lambda: BatchedSearch(Uniform(), "x", 7.5, "basic", SearchConfig(), 1),
                                      "board size"),
    "BatchedSearch.run(visits 'x')": (
        lambda: BatchedSearch(Uniform(), 5, 7.5, "basic", SearchConfig(), 1).run(visits="x"), "visits"),
    "BatchedSearch.run(game_ids [9])": (
        lambda: BatchedSearch(Uniform(), 5, 7.5, "basic", SearchConfig(), 1).run([9]), "game"),
    "search_position(visits 'x')": (lambda: search_position(Board(5), Uniform(), visits="x"), "visits"),
}


@pytest.mark.parametrize("name", sorted(WRONG_ERRORS))
def test_hostile_arguments_raise_a_one_line_go_error_naming_them(name):
    call, words = WRONG_ERRORS[name]
    with pytest.raises(GoError, match=words) as err:
        call()
    assert "\n" not in str(err.value)


def test_a_wrong_type_is_an_argument_type_error_which_is_also_a_type_error():
    for call in (lambda: Board("nine"), lambda: Board(9).play("D4"), lambda: _core.num_planes(3)):
        with pytest.raises(ArgumentTypeError) as err:
            call()
        assert isinstance(err.value, TypeError) and isinstance(err.value, GoError)


def test_an_out_of_range_move_keeps_its_illegal_move_reason():
    b = Board(9)
    with pytest.raises(IllegalMove) as err:
        b.play(2**70)
    assert err.value.reason == "out of range" and err.value.move == 2**70
    assert not b.is_legal(2**70) and b.illegal_reason(-2**70) == "out of range"
    assert b.move_number == 0


def test_numpy_scalars_and_lists_are_still_fine():
    b = Board(np.int64(9), komi=np.float32(6.5), allow_suicide=np.bool_(False))
    b.play(np.int32(40), np.int64(1))
    b.set_stones(black=(0, 1), white=range(9, 11))
    assert b.stones()[0, 0] == 1 and b.stones()[1, 0] == -1 and math.isclose(b.komi, 6.5)
    lengths, winners = random_games(np.int64(5), np.int16(3), seed=np.uint64(2**63), komi=np.float64(0.5))
    assert lengths.shape == (3,) and winners.dtype == np.int8
    planes = features.encode([b, b.copy()], "basic", symmetries=np.int8(3))
    assert planes.shape == (2, 4, 9, 9)
    codes = np.array([40 << 2, 41 << 2 | 2], np.int32)   # a wider dtype whose values fit
    out = features.encode_records(codes, [0, 2], np.array([0], np.int32), [2], 9, "basic")
    assert out.shape == (1, 4, 9, 9)


def test_every_binding_is_fuzzed():
    fuzz = _fuzz_module()
    board_api = {n for n in dir(_core.Board) if not n.startswith("_") or n in ("__copy__", "__deepcopy__")}
    covered = set(fuzz.BOARD_METHODS) | set(fuzz.BOARD_PROPERTIES)
    assert board_api - {"__init__"} <= covered, board_api - covered
    search_api = {n for n in dir(_core.Search) if not n.startswith("_")}
    limits = {n for n in search_api if n.startswith("max_") and n != "max_leaves"}
    assert search_api - limits <= set(fuzz.SEARCH_METHODS) | set(fuzz.SEARCH_PROPERTIES), search_api
    functions = {n for n in dir(_core) if callable(getattr(_core, n)) and not n.startswith("_")}
    assert functions == {"Board", "Search", "random_games", "zobrist_key", "num_planes", "symmetry_map",
                         "inverse_symmetry", "encode", "encode_records", "record_outcomes"}, functions


def test_a_bounded_fuzz_run_raises_only_go_errors_and_never_crashes_or_hangs():
    """3,000 seeded hostile calls in a child process (a crash or a hang over 10 s is counted, not fatal)."""
    fuzz = _fuzz_module()
    summary = fuzz.run(3000, seed=16, hang_seconds=10.0, memory_gb=8.0)
    assert summary["unexpected"] == {}, summary["examples"]
    counts = summary["counts"]
    assert sum(counts.values()) == 3000
    assert counts.get("ok", 0) > 500 and counts.get("GoError", 0) > 300 and counts.get("ArgumentTypeError", 0) > 300
