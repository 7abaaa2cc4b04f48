"""The self-play replay buffer: shard round trip, sliding window, atomicity, symmetric sampling."""
from __future__ import annotations

import numpy as np
import pytest

from selfplay.replay import FinishedGame, ReplayBuffer, ReplayError, ReplaySampler, ReplayWindow, read_shard

SIZE = 3
PASS = SIZE * SIZE


def make_game(moves: list[int], winner: int, full_every: int = 1, tag: int = 0) -> FinishedGame:
    """A game whose full-search targets put all visits on the move played (plus `tag` on pass)."""
    codes = np.array([(m << 2) | ((i % 2) << 1) for i, m in enumerate(moves)], np.int16)
    full = np.array([i % full_every == 0 for i in range(len(moves))])
    policy = []
    for i, m in enumerate(moves):
        if full[i]:
            if tag and m != PASS:
                policy.append((np.array([m, PASS], np.int16), np.array([0.75, 0.25], np.float32)))
            else:
                policy.append((np.array([m], np.int16), np.array([1.0], np.float32)))
    return FinishedGame(codes, full, policy, SIZE, 7.5, winner)


def identity_and_flip() -> np.ndarray:
    """Symmetry maps for the tests: even symmetries identity, odd ones mirror the columns."""
    ident = np.arange(PASS + 1)
    flip = np.array([r * SIZE + (SIZE - 1 - c) for r in range(SIZE) for c in range(SIZE)] + [PASS])
    return np.stack([ident if s % 2 == 0 else flip for s in range(8)])


def test_shard_round_trip(tmp_path):
    games = [make_game([0, 4, 8], 1), make_game([1, 2, PASS, PASS], -1, full_every=2, tag=1)]
    buf = ReplayBuffer(tmp_path, window_games=10)
    path = buf.add(games, meta={"step": 3})
    w = read_shard(path)
    assert w.num_games == 2
    assert w.num_positions == 3 + 2
    np.testing.assert_array_equal(w.codes, np.concatenate([g.codes for g in games]))
    np.testing.assert_array_equal(w.winner, [1, -1])
    # second game: full searches at entries 0 and 2 -> rows 3 and 4
    np.testing.assert_array_equal(w.policy_move[w.policy_ptr[3]:w.policy_ptr[4]], [1, PASS])
    np.testing.assert_allclose(w.policy_prob[w.policy_ptr[3]:w.policy_ptr[4]], [0.75, 0.25])


def test_window_keeps_last_games_and_prunes_old_shards(tmp_path):
    buf = ReplayBuffer(tmp_path, window_games=5)
    for k in range(6):  # 6 shards of 2 games; game id encoded in its first move
        buf.add([make_game([2 * k % PASS, 4], 1), make_game([(2 * k + 1) % PASS, 4], -1)])
    window = buf.load_window()
    assert window.num_games == 5
    first_moves = [int(window.codes[window.offsets[g]]) >> 2 for g in range(5)]
    assert first_moves == [(g % PASS) for g in range(7, 12)]
    # games 7..11 are the window: shard 3 (games 6, 7) is kept, shards 0..2 are deleted
    assert [seq for seq, _, _ in buf.shards()] == [3, 4, 5]


def test_broken_and_partial_shards_are_skipped(tmp_path):
    buf = ReplayBuffer(tmp_path, window_games=100)
    buf.add([make_game([0, 1], 1)])
    good = buf.add([make_game([2, 3], -1)])
    broken = tmp_path / "games-00000002-00001.npz"
    broken.write_bytes(good.read_bytes()[:50])  # a torn write under a real name
    (tmp_path / "games-00000003-00001.npz.tmp123").write_bytes(b"junk")  # a kill mid-write
    with pytest.warns(UserWarning, match="unreadable replay shard"):
        window = ReplayBuffer(tmp_path, window_games=100).load_window()
    assert window.num_games == 2
    assert not list(tmp_path.glob("*.tmp*"))


def test_failed_write_leaves_no_shard(tmp_path, monkeypatch):
    buf = ReplayBuffer(tmp_path, window_games=10)
    buf.add([make_game([0, 1], 1)])

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", disk_full)
    with pytest.raises(ReplayError, match="No space left"):
        buf.add([make_game([2, 3], 1)])
    monkeypatch.undo()
    assert len(buf.shards()) == 1 and not list(tmp_path.glob("*.tmp*"))
    assert buf.load_window().num_games == 1


def test_sampler_targets_values_and_symmetry():
    # Black plays 0 (top-left) then 1, White plays 4; Black wins. Targets put 0.75 on the move.
    window = ReplayWindow.from_games([make_game([0, 4, 1], 1, tag=1)])
    sampler = ReplaySampler(window, identity_and_flip(), seed=1)
    batch = sampler.sample(256, step=0)
    assert set(batch.symmetry.tolist()) == set(range(8))
    for ply, sym, policy, value in zip(batch.ply, batch.symmetry, batch.policy, batch.value):
        move = [0, 4, 1][ply]
        mapped = identity_and_flip()[sym, move]
        assert policy[mapped] == pytest.approx(0.75)
        assert policy[PASS] == pytest.approx(0.25)
        assert policy.sum() == pytest.approx(1.0)
        assert value == (1.0 if ply % 2 == 0 else -1.0)  # Black to move at plies 0 and 2
    again = sampler.sample(256, step=0)
    np.testing.assert_array_equal(again.policy, batch.policy)


def test_sampler_draws_only_full_search_positions():
    window = ReplayWindow.from_games([make_game([0, 1, 2, 3, 5, 6], -1, full_every=3)])
    batch = ReplaySampler(window, identity_and_flip()).sample(200, step=7, symmetries=False)
    assert set(batch.ply.tolist()) == {0, 3}


def test_empty_window_is_a_clear_error(tmp_path):
    with pytest.raises(ReplayError, match="no position"):
        ReplaySampler(ReplayBuffer(tmp_path, 10).load_window(), identity_and_flip())
