"""Pretraining: symmetric encoding and targets, the split by game, and `komi pretrain` /
`komi eval-moves` end to end on SGFs written here."""
import json

import numpy as np
import pytest
import torch

from komi.cli import main
from selfplay.collection import GameFilter, build_shards, rank_value, split_hash, _symmetric_points
from selfplay.shards import GameTable, PositionSampler, encode_game, load_shards

SIZE = 9


def _has_sgf_reader() -> bool:
    try:
        import envs.go.sgf  # noqa: F401
    except ImportError:
        return False
    return True


needs_sgf = pytest.mark.skipif(not _has_sgf_reader(), reason="envs.go.sgf (the SGF reader) has not landed yet")
LETTERS = "abcdefghijklmnopqrs"


def random_game(rng: np.random.Generator, size: int = SIZE, moves: int = 40) -> list[tuple[int, int]]:
    """A legal random game (no passes) as [(color, move)]."""
    from envs.go import Board

    board, out = Board(size=size, komi=7.5), []
    for _ in range(moves):
        legal = [int(m) for m in board.legal_moves() if m != size * size]
        if not legal:
            break
        move = int(rng.choice(legal))
        out.append((board.to_play, move))
        board.play(move)
    return out


def sgf_text(moves, size: int = SIZE, result: str = "B+R", extra: str = "") -> str:
    nodes = "".join(f";{'B' if c == 1 else 'W'}[{LETTERS[m % size]}{LETTERS[m // size]}]" for c, m in moves)
    return f"(;GM[1]FF[4]SZ[{size}]KM[7.5]RE[{result}]{extra}{nodes})\n"


def _table(games) -> GameTable:
    codes = [encode_game(SIZE, g) for g in games]
    lengths = [len(c) for c in codes]
    n = len(codes)
    return GameTable(np.concatenate(codes), np.concatenate([[0], np.cumsum(lengths)]),
                     np.full(n, SIZE, np.int8), np.full(n, 7.5, np.float32),
                     np.ones(n, np.int8), np.zeros(n, np.int8))


def _dihedral(planes: np.ndarray, k: int, flip: bool) -> np.ndarray:
    out = np.rot90(planes, k, axes=(-2, -1))
    return np.flip(out, -1) if flip else out


def test_encoded_planes_and_targets_follow_the_symmetry():
    from envs.go import features

    rng = np.random.default_rng(1)
    table = _table([random_game(rng, moves=30)])
    ply = np.array([25])
    move = int(table.codes[25]) >> 2
    planes = features.num_planes("basic")
    base = np.zeros((1, planes, SIZE, SIZE), np.float32)
    features.encode_records(table.codes, table.offsets, np.array([0]), ply, SIZE, "basic",
                            np.array([0]), out=base)
    assert base.any()
    onehot = np.zeros((SIZE, SIZE), np.float32)
    onehot.flat[move] = 1
    for sym in range(8):
        got = np.zeros_like(base)
        features.encode_records(table.codes, table.offsets, np.array([0]), ply, SIZE, "basic",
                                np.array([sym]), out=got)
        # the planes of the transformed game are one of the 8 transforms of the planes...
        matches = [(k, f) for k in range(4) for f in (False, True)
                   if np.array_equal(got, _dihedral(base, k, f))]
        assert matches, f"symmetry {sym}: planes are not a rotation/reflection of the original"
        # ...and the move target maps with that same transform
        target = int(features.symmetry_map(SIZE, sym)[move])
        assert any(_dihedral(onehot, k, f).flat[target] == 1 for k, f in matches)
        assert features.symmetry_map(SIZE, sym)[SIZE * SIZE] == SIZE * SIZE


def test_split_hash_is_the_same_for_all_symmetric_copies():
    rng = np.random.default_rng(2)
    codes = encode_game(SIZE, [(1 if i % 2 == 0 else -1, int(m)) for i, m in
                               enumerate(rng.permutation(SIZE * SIZE)[:30])] + [(1, SIZE * SIZE)])
    low = codes.astype(np.int64) & 3
    hashes = {split_hash(((pts << 2) | low).astype(np.int16), SIZE)
              for pts in _symmetric_points(codes.astype(np.int64) >> 2, SIZE)}
    assert len(hashes) == 1
    other = codes.copy()
    other[3] = (int(other[3]) & 3) | (((int(other[3]) >> 2) + 1) % 81 << 2)
    assert split_hash(other, SIZE) != hashes.pop()


def test_rank_values_order_kyu_dan_pro():
    assert rank_value("20k") < rank_value("1k") < rank_value("1d") < rank_value("9d") < rank_value("1p")
    assert rank_value("?") is None


def _write_collection(tmp_path, n_games=24, seed=0):
    rng = np.random.default_rng(seed)
    d = tmp_path / "games"
    d.mkdir()
    games = []
    for i in range(n_games):
        moves = random_game(rng, moves=int(rng.integers(25, 45)))
        games.append(moves)
        (d / f"g{i:03d}.sgf").write_text(sgf_text(moves, result="B+R" if i % 2 else "W+3.5"))
    # a duplicate, and a rotated duplicate (same game, other orientation): same side of the split
    (d / "dup.sgf").write_text(sgf_text(games[0]))
    rot = [(c, (m % SIZE) * SIZE + (SIZE - 1 - m // SIZE)) for c, m in games[1]]
    (d / "rot.sgf").write_text(sgf_text(rot))
    (d / "corrupt.sgf").write_bytes(b"(;GM[1]SZ[9];B[zz;W")
    (d / "small.sgf").write_text(sgf_text(random_game(rng, size=7, moves=10), size=7))
    return d, games


@needs_sgf
def test_split_never_puts_a_game_on_both_sides(tmp_path):
    d, games = _write_collection(tmp_path)
    shards = build_shards([d], GameFilter(board_size=SIZE, min_moves=5), 0.3, tmp_path / "cache",
                          games_per_shard=5, progress=False)
    train, val = load_shards(shards.train), load_shards(shards.val)
    assert train.num_games > 0 and val.num_games > 0
    assert train.num_games + val.num_games == len(games) + 2
    key = lambda t, g: split_hash(t.game_codes(g), SIZE)
    train_keys = {key(train, g) for g in range(train.num_games)}
    val_keys = {key(val, g) for g in range(val.num_games)}
    assert not train_keys & val_keys
    assert len(train_keys | val_keys) == len(games)
    assert shards.manifest["skipped"].get("board size 7") == 1
    # a rerun reuses the cache
    again = build_shards([d], GameFilter(board_size=SIZE, min_moves=5), 0.3, tmp_path / "cache",
                         progress=False)
    assert again.directory == shards.directory and again.train == shards.train


@needs_sgf
def test_pretrain_and_eval_moves_end_to_end(tmp_path, capsys):
    d, _ = _write_collection(tmp_path)
    ckpt = tmp_path / "ckpt"
    common = ["pretrain", "--sgf", str(d), "--board-size", "9", "--min-moves", "5", "--preset", "tiny",
              "--feature-set", "basic", "--batch-size", "16", "--val-fraction", "0.3",
              "--val-every", "2", "--checkpoint-every", "2", "--checkpoint-dir", str(ckpt),
              "--cache-dir", str(tmp_path / "cache"), "--log-dir", str(tmp_path / "runs"),
              "--warmup-steps", "2", "--no-progress", "--threads", "1"]
    assert main(common + ["--steps", "4"]) == 0
    out = capsys.readouterr().out
    assert "skipped:" in out and "final checkpoint" in out
    assert (ckpt / "step-00000004.json").is_file() and (ckpt / "step-00000002.json").is_file()
    assert list((tmp_path / "runs").iterdir())

    assert main(["eval-moves", "--checkpoint", str(ckpt / "step-00000004"), "--sgf", str(d), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(result) == {"positions", "top1", "top5", "policy_loss", "value_mse", "ownership_loss", "score_mae"}
    assert result["positions"] > 500 and 0 <= result["top1"] <= result["top5"] <= 1
    assert result["policy_loss"] > 0

    # resuming from step 2 reproduces step 4 exactly (same data order, optimizer state restored)
    for suffix in (".json", ".safetensors", ".optim.json", ".optim.safetensors"):
        (ckpt / f"step-00000004{suffix}").rename(tmp_path / f"first{suffix}")
    assert main(common + ["--steps", "4", "--resume"]) == 0
    from safetensors.torch import load_file
    a, b = load_file(str(tmp_path / "first.safetensors")), load_file(str(ckpt / "step-00000004.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)


@needs_sgf
def test_collection_without_usable_games_is_a_clear_error(tmp_path, capsys):
    d = tmp_path / "bad"
    d.mkdir()
    (d / "x.sgf").write_bytes(b"garbage")
    assert main(["pretrain", "--sgf", str(d), "--steps", "1", "--cache-dir", str(tmp_path / "c"),
                 "--checkpoint-dir", str(tmp_path / "k"), "--no-progress"]) == 2
    assert "no usable game" in capsys.readouterr().err


@needs_sgf
def test_tiny_net_learns_a_fixed_opening(tmp_path):
    """Every game opens B tengen, W 3-3 point, B opposite 3-3 point, then goes random."""
    from envs.go import Board, features

    from agent.checkpoint import load_network
    from selfplay.pretrain import PretrainConfig, pretrain

    rng = np.random.default_rng(5)
    d = tmp_path / "games"
    d.mkdir()
    opening = [(1, 40), (-1, 30), (1, 50)]
    for i in range(40):
        board = Board(size=SIZE, komi=7.5)
        for _, m in opening:
            board.play(m)
        rest = []
        for _ in range(10):
            move = int(rng.choice([m for m in board.legal_moves() if m != SIZE * SIZE]))
            rest.append((board.to_play, move))
            board.play(move)
        (d / f"{i}.sgf").write_text(sgf_text(opening + rest))
    cfg = PretrainConfig(sgf=(str(d),), filter=GameFilter(board_size=SIZE, min_moves=3),
                         val_fraction=0.2, preset="tiny", feature_set="basic", batch_size=32,
                         optimizer="adamw", lr=0.01, warmup_steps=5, steps=80, val_every=1000,
                         checkpoint_every=1000, checkpoint_dir=str(tmp_path / "k"),
                         cache_dir=str(tmp_path / "c"), log_dir=None, threads=1)
    net, meta = load_network(pretrain(cfg, progress=False)["checkpoint"])
    assert meta["config"]["preset"] == "tiny" and meta["step"] == 80

    table = _table([opening])
    x = np.zeros((3, features.num_planes("basic"), SIZE, SIZE), np.float32)
    features.encode_records(table.codes, table.offsets, np.zeros(3, np.int64), np.arange(3),
                            SIZE, "basic", np.zeros(3, np.int64), out=x)
    probs = torch.softmax(net(torch.from_numpy(x))[0], dim=1).detach().numpy()
    assert probs[0].argmax() == 40 and probs[2].argmax() == 50
    # after tengen the board is symmetric: any of the four 3-3 points is the same move
    assert probs[1][[30, 32, 48, 50]].sum() > 0.6  # 0.05 before training
