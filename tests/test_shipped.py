"""The networks shipped with komi (agent/models/): they load, match their metadata, play, and
are what `komi gtp` / `komi play` use when no checkpoint is named."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from agent import shipped
from agent.checkpoint import CheckpointError, load_network, read_metadata
from envs.go import Board, features


@pytest.mark.parametrize("size", [9, 19])
def test_each_shipped_network_loads_matches_its_metadata_and_plays_a_legal_move(size):
    stem = shipped.shipped_network(size)
    assert stem is not None, f"komi ships a {size}x{size} network"
    weights = stem.with_name(stem.name + ".safetensors")
    assert weights.stat().st_size <= 5 * 2**20  # at most 5 MB
    meta = read_metadata(stem)
    net, _ = load_network(stem, board_size=size)
    assert net.config.to_dict() == meta["architecture"]["config"]
    for key in ("data", "commands", "cpu_hours", "strength"):
        assert meta["provenance"].get(key), f"{stem}.json names its {key}"
    import torch

    board = Board(size)
    with torch.no_grad():
        logits, value = net(torch.from_numpy(features.encode([board], meta["feature_set"])))
    move = int(logits[0].argmax())
    assert board.is_legal(move) and -1 <= float(value[0]) <= 1


def _gtp(args, commands, cwd):
    return subprocess.run([sys.executable, "-m", "komi", "gtp", *args], input=commands, cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_gtp_without_a_checkpoint_picks_the_shipped_network_for_9x9_and_19x19(tmp_path):
    out = _gtp(["--checkpoint-dir", str(tmp_path / "none")],
               "genmove b\nboardsize 9\nclear_board\ngenmove b\nquit\n", tmp_path)
    assert out.returncode == 0, out.stderr
    assert f"network {shipped.MODELS_DIR / 'komi-19x19'} (shipped with komi" in out.stderr
    assert f"network {shipped.MODELS_DIR / 'komi-9x9'} (shipped with komi" in out.stderr
    replies = [r for r in out.stdout.split("\n\n") if r.strip()]
    assert len(replies) == 5 and all(r.startswith("=") for r in replies)
    assert replies[0] != "= resign" and replies[3] != "= resign"
    random = _gtp(["--checkpoint", "random"], "genmove b\nquit\n", tmp_path)
    assert "uniformly random" in random.stderr and random.stdout.startswith("= ")


def test_a_missing_or_corrupt_shipped_file_is_one_clear_line(tmp_path, monkeypatch):
    import shutil

    src = shipped.shipped_network(9)
    for suffix in (".json", ".safetensors"):
        shutil.copy(src.with_name(src.name + suffix), tmp_path / f"komi-9x9{suffix}")
    monkeypatch.setattr(shipped, "MODELS_DIR", tmp_path)
    assert shipped.shipped_network(9) == tmp_path / "komi-9x9"
    (tmp_path / "komi-9x9.json").write_text("{not json")
    with pytest.raises(CheckpointError, match=r"komi-9x9\.json.*reinstall komi"):
        shipped.shipped_network(9)
    (tmp_path / "komi-9x9.json").write_text(json.dumps({"board_size": 9}))
    (tmp_path / "komi-9x9.safetensors").unlink()
    with pytest.raises(CheckpointError, match=r"komi-9x9\.safetensors: the network shipped with komi is missing"):
        shipped.shipped_network(9)
    assert shipped.shipped_network(13) is None  # no 13x13 network: the random player


def test_default_player_switches_network_with_the_board_size(tmp_path):
    from agent.players import RandomPlayer
    from agent.shipped import DefaultPlayer

    made, said = [], []
    player = DefaultPlayer(lambda stem: made.append(stem) or RandomPlayer(seed=0), lambda: RandomPlayer(seed=1),
                           checkpoint_dir=tmp_path, log=said.append)
    for size in (9, 19, 9, 13):
        player.reset(size, 7.5)
        move = player.genmove(1)
        assert 0 <= move <= size * size
    assert [m.name for m in made] == ["komi-9x9", "komi-19x19"]  # built once per size
    assert len(said) == 3 and "13x13: playing uniformly random moves" in said[2]
    assert np.asarray(player.board.stones()).shape == (13, 13)
