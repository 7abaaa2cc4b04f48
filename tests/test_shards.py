"""Shards: compact game storage round trips, and the position sampler's targets."""
import numpy as np
import pytest

from selfplay.shards import (GameTable, PositionSampler, ShardError, ShardWriter, encode_game,
                             load_shard, load_shards)


def _games():
    # (size, komi, winner, handicap, setup_black, setup_white, moves)
    return [
        (9, 7.5, 1, 0, [], [], [(1, 40), (-1, 41), (1, 81)]),
        (9, 0.5, -1, 2, [20, 60], [], [(-1, 30), (1, 31)]),
        (19, 6.5, 0, 0, [], [3], [(1, 0), (-1, 361), (1, 360)]),
    ]


def test_encode_game_codes():
    codes = encode_game(9, [(1, 40), (-1, 81)], setup_black=[3], setup_white=[4])
    assert codes.dtype == np.int16
    assert codes.tolist() == [(3 << 2) | 1, (4 << 2) | 2 | 1, 40 << 2, (81 << 2) | 2]


def test_shards_round_trip(tmp_path):
    writer = ShardWriter(tmp_path, "train", games_per_shard=2, meta={"source": "test"})
    for size, komi, winner, hcp, sb, sw, moves in _games():
        writer.add(encode_game(size, moves, sb, sw), size, komi, winner, hcp)
    writer.flush()
    assert [p.name for p in writer.paths] == ["train-00000.npz", "train-00001.npz"]
    assert not list(tmp_path.glob("*.tmp*"))
    table = load_shards(writer.paths)
    assert table.num_games == 3
    for g, (size, komi, winner, hcp, sb, sw, moves) in enumerate(_games()):
        assert table.game_codes(g).tolist() == encode_game(size, moves, sb, sw).tolist()
        assert (table.size[g], table.komi[g], table.winner[g], table.handicap[g]) == (size, komi, winner, hcp)
    assert table.meta == {"source": "test"}
    assert np.isnan(table.result_score).all()  # no result score given
    # a few bytes per move (plus a fixed ~250 bytes of zip header per per-game array)
    assert (tmp_path / "train-00000.npz").stat().st_size < 2400


def test_unreadable_shard_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ShardError, match="bad.npz: unreadable shard"):
        load_shard(bad)


def _table():
    writer_games = [encode_game(s, m, sb, sw) for s, _, _, _, sb, sw, m in _games()]
    lengths = [len(c) for c in writer_games]
    return GameTable(np.concatenate(writer_games), np.concatenate([[0], np.cumsum(lengths)]),
                     np.array([9, 9, 19], np.int8), np.array([7.5, 0.5, 6.5], np.float32),
                     np.array([1, -1, 0], np.int8), np.array([0, 2, 0], np.int8))


def test_sampler_targets_and_side_to_move_values():
    sampler = PositionSampler(_table(), seed=3)
    assert sampler.num_positions == 8  # setup stones are not positions
    batch = next(iter(sampler.sequential(100)))
    assert batch.game_index.tolist() == [0, 0, 0, 1, 1, 2, 2, 2]
    assert batch.ply.tolist() == [0, 1, 2, 2, 3, 1, 2, 3]
    assert batch.move.tolist() == [40, 41, 81, 30, 31, 0, 361, 360]
    # game 0 won by Black, game 1 by White (White moves first after handicap), game 2 unknown
    assert batch.value.tolist() == [1, -1, 1, 1, -1, 0, 0, 0]


def test_sampler_is_deterministic_per_step_and_covers_all_positions():
    a, b = PositionSampler(_table(), seed=1), PositionSampler(_table(), seed=1)
    for step in (0, 5):
        x, y = a.sample(16, step), b.sample(16, step)
        assert np.array_equal(x.ply, y.ply) and np.array_equal(x.symmetry, y.symmetry)
    assert not np.array_equal(a.sample(16, 0).game_index, a.sample(16, 1).game_index) or \
        not np.array_equal(a.sample(16, 0).ply, a.sample(16, 1).ply)
    seen = {(g, p) for s in range(50) for g, p in zip(a.sample(16, s).game_index, a.sample(16, s).ply)}
    assert len(seen) == 8
    assert set(np.concatenate([a.sample(64, s).symmetry for s in range(4)])) == set(range(8))


def test_sampler_on_empty_collection_is_a_clear_error():
    with pytest.raises(Exception, match="no positions"):
        PositionSampler(GameTable.empty())
