"""KataGo's ownership and score targets (selfplay.training): exact counts, masks, symmetries,
and a tiny network that learns ownership."""
from __future__ import annotations

import numpy as np
import torch
from go_boards import parse

from agent.network import PolicyValueNet, preset
from envs.go import Board, features
from envs.go.records import pack_record
from envs.go.sgf import score_from_result
from selfplay.shards import GameTable
from selfplay.training import (LossWeights, Outcomes, TrainCore, TrainingBatch, game_outcomes, make_optimizer,
                               outcome_targets, symmetry_maps)

# A played-out 5x5 game's final position: Black owns the left, White the right, c3 is dame-free
# territory of neither because it touches both colours.
FINAL = """
    . X O . .
    X X O . .
    . X O O .
    X X . O .
    . X O . .
"""
EXPECTED_OWNER = """
    X X O O O
    X X O O O
    X X O O O
    X X . O O
    X X O O O
"""


def _record_of(art: str, size: int) -> np.ndarray:
    """A record that reaches `art` by alternating moves (passes fill in), then two passes."""
    stones = parse(art).reshape(-1)
    black = [int(p) for p in np.flatnonzero(stones == 1)]
    white = [int(p) for p in np.flatnonzero(stones == -1)]
    moves, pass_move = [], size * size
    while black or white:
        moves.append((1, black.pop(0) if black else pass_move))
        moves.append((-1, white.pop(0) if white else pass_move))
    moves += [(1, pass_move), (-1, pass_move)]
    return pack_record(moves, size)


def test_board_ownership_is_the_tromp_taylor_count_point_by_point():
    b = Board(5, komi=0.5)
    stones = parse(FINAL)
    b.set_stones(black=np.flatnonzero(stones.reshape(-1) == 1).tolist(),
                 white=np.flatnonzero(stones.reshape(-1) == -1).tolist())
    owner = b.ownership()
    assert owner.tolist() == parse(EXPECTED_OWNER).tolist()
    assert owner.sum() - b.komi == b.score()


def test_record_outcomes_replay_to_the_end_and_count():
    codes = _record_of(FINAL, 5)
    own, margin = features.record_outcomes(codes, np.array([0, len(codes)]), 5)
    assert own.shape == (1, 25) and own.dtype == np.int8
    assert own[0].reshape(5, 5).tolist() == parse(EXPECTED_OWNER).tolist()
    assert margin.tolist() == [float(parse(EXPECTED_OWNER).sum())]  # 10 - 14 = -4


def test_score_target_is_the_area_score_and_unknown_games_are_masked():
    played = _record_of(FINAL, 5)
    resigned = pack_record([(1, 12), (-1, 13)], 5)  # no two passes at the end
    codes = np.concatenate([played, resigned])
    offsets = np.array([0, len(played), len(codes)])
    komi = np.array([0.5, 0.5], np.float32)
    out = game_outcomes(codes, offsets, 5, komi, counted=np.array([True, False]))
    assert out.score.tolist() == [-4.5, 0.0]
    assert out.known.tolist() == [True, False]
    assert not out.ownership[1].any()
    # through a GameTable: the stated result must equal the count, a resignation never counts
    table = GameTable(codes, offsets, np.array([5, 5], np.int8), komi, np.array([-1, 1], np.int8),
                      np.zeros(2, np.int8), {}, np.array([score_from_result("W+4.5"), np.nan], np.float32))
    assert table.counted().tolist() == [True, False]
    wrong = GameTable(codes, offsets, np.array([5, 5], np.int8), komi, np.array([-1, 1], np.int8),
                      np.zeros(2, np.int8), {}, np.array([-2.5, np.nan], np.float32))
    assert wrong.counted().tolist() == [False, False]  # W+2.5 disagrees with the board: no target


def test_score_from_result():
    assert score_from_result("B+3.5") == 3.5 and score_from_result("W+7") == -7.0
    assert score_from_result("Draw") == 0.0 and score_from_result("0") == 0.0
    for text in ("B+R", "W+Resign", "B+T", "Void", "", "W+nan", "B+inf"):
        assert score_from_result(text) is None


def test_targets_are_for_the_side_to_move_under_each_symmetry():
    size = 5
    own = parse(EXPECTED_OWNER).reshape(1, -1).astype(np.int8)
    outcomes = Outcomes(own, np.array([-4.5], np.float32), np.array([True]))
    maps = symmetry_maps(size)
    game = np.zeros(16, np.int64)
    color = np.array([1, -1] * 8)
    sym = np.repeat(np.arange(8), 2)
    t = outcome_targets(np.array([-1], np.int8), outcomes, game, color, sym, maps)
    assert t["value"].tolist() == [-1, 1] * 8 and t["score"].tolist() == [-4.5, 4.5] * 8
    assert t["ownership_mask"].tolist() == [1.0] * 16
    for i in range(16):
        expect = np.zeros(size * size)
        expect[maps[sym[i], :size * size]] = own[0] * color[i]
        assert t["ownership"][i].tolist() == expect.tolist()
    # the planes' symmetry agrees: Black's stones of the encoded board sit where ownership says
    b = Board(size)
    stones = parse(FINAL).reshape(-1)
    b.set_stones(black=np.flatnonzero(stones == 1).tolist(), white=np.flatnonzero(stones == -1).tolist())
    planes = features.encode([b] * 8, "basic", np.arange(8))
    for s in range(8):
        black_stones = planes[s, 0].reshape(-1) > 0  # own stones, Black to move
        assert (t["ownership"][2 * s][black_stones] == 1).all()


def test_a_tiny_network_overfits_ownership_on_a_handful_of_positions():
    torch.manual_seed(0)
    size, n = 5, 8
    rng = np.random.default_rng(0)
    boards = []
    for _ in range(n):
        b = Board(size)
        b.playout(int(rng.integers(1 << 30)))  # a random game to the end: a counted final position
        boards.append(b)
    planes = torch.from_numpy(features.encode(boards, "basic", np.zeros(n, np.int64)))
    color = np.array([b.to_play for b in boards])
    ownership = np.stack([b.ownership().reshape(-1) for b in boards]).astype(np.float32) * color[:, None]
    batch = TrainingBatch(planes, torch.full((n, size * size + 1), 1 / (size * size + 1)), torch.zeros(n),
                          torch.zeros(n), torch.from_numpy(ownership), torch.ones(n), torch.zeros(n))
    net = PolicyValueNet(preset("tiny", board_size=size, in_planes=4))
    core = TrainCore(net, make_optimizer(net, "adamw", 3e-3, 0.0), LossWeights(0.0, 1.0, 0.0), torch.device("cpu"))
    first = core.step(batch)["ownership"]
    for _ in range(300):
        last = core.step(batch)["ownership"]
    net.eval()
    with torch.no_grad():
        predicted = torch.tanh(net.forward_heads(planes).ownership / 2).numpy()
    assert last < 0.25 * first
    decided = ownership != 0
    assert (np.sign(predicted[decided]) == ownership[decided]).mean() > 0.97
