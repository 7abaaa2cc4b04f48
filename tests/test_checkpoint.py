"""Checkpoints: round trips, exact resume of the optimizer, and mismatch errors."""
import json

import pytest
import torch

from agent.checkpoint import (CheckpointError, checkpoint_name, latest_checkpoint, load_network,
                              load_training_state, load_weights, network_metadata, read_metadata,
                              save_checkpoint)
from agent.network import PolicyValueNet, preset


def _net(size=5, planes=3, seed=0):
    torch.manual_seed(seed)
    return PolicyValueNet(preset("tiny", board_size=size, in_planes=planes))


def _train(net, opt, sched, steps, seed):
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x = torch.randn(4, 3, 5, 5, generator=g)
        target = torch.randint(0, 26, (4,), generator=g)
        loss = torch.nn.functional.cross_entropy(net(x)[0], target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()


def test_weights_and_metadata_round_trip(tmp_path):
    net = _net()
    net.train()
    net(torch.randn(8, 3, 5, 5))  # move BN running stats away from their initial values
    net.eval()
    stem = save_checkpoint(tmp_path / checkpoint_name(7), net,
                           network_metadata(net, "basic", step=7, metrics={"top1": 0.5}))
    loaded, meta = load_network(stem, board_size=5, feature_set="basic")
    x = torch.randn(2, 3, 5, 5)
    assert torch.equal(net(x)[0], loaded(x)[0])
    assert meta["step"] == 7 and meta["metrics"] == {"top1": 0.5}
    assert meta["architecture"]["config"]["channels"] == 16
    # the files are plain data: JSON metadata and safetensors weights
    assert json.loads((tmp_path / "step-00000007.json").read_text())["feature_set"] == "basic"


def test_training_resumes_exactly(tmp_path):
    def make():
        net = _net()
        opt = torch.optim.AdamW(net.parameters(), lr=1e-2, weight_decay=1e-4)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 / (1 + s))
        return net, opt, sched

    net, opt, sched = make()
    _train(net, opt, sched, 3, seed=1)
    save_checkpoint(tmp_path / "step-00000003", net, network_metadata(net, "basic", step=3),
                    {"optimizer": opt.state_dict(), "scheduler": sched.state_dict()})
    _train(net, opt, sched, 3, seed=2)

    net2, opt2, sched2 = make()
    load_weights(tmp_path / "step-00000003", net2)
    state = load_training_state(tmp_path / "step-00000003")
    opt2.load_state_dict(state["optimizer"])
    sched2.load_state_dict(state["scheduler"])
    _train(net2, opt2, sched2, 3, seed=2)
    for a, b in zip(net.state_dict().values(), net2.state_dict().values()):
        assert torch.equal(a, b)


def test_mismatched_metadata_names_the_mismatch(tmp_path):
    net = _net()
    stem = save_checkpoint(tmp_path / "step-00000001", net, network_metadata(net, "basic"))
    with pytest.raises(CheckpointError, match="board_size is 5, expected 9"):
        load_network(stem, board_size=9)
    with pytest.raises(CheckpointError, match="feature_set is 'basic', expected 'extended'"):
        load_network(stem, feature_set="extended")
    with pytest.raises(CheckpointError, match="do not fit the model"):
        load_weights(stem, _net(planes=4))


def test_missing_and_corrupt_files_are_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        read_metadata(tmp_path / "nothing")
    net = _net()
    stem = save_checkpoint(tmp_path / "step-00000001", net, network_metadata(net, "basic"))
    (tmp_path / "step-00000001.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="unreadable weights"):
        load_network(stem)
    with pytest.raises(CheckpointError, match="no training state"):
        load_training_state(stem)


def test_latest_checkpoint_skips_incomplete_ones(tmp_path):
    assert latest_checkpoint(tmp_path) is None
    net = _net()
    for step in (2, 10):
        save_checkpoint(tmp_path / checkpoint_name(step), net, network_metadata(net, "basic", step=step))
    # weights of step 11 were written but its metadata never was (killed mid-save)
    (tmp_path / "step-00000011.safetensors").write_bytes(b"")
    assert latest_checkpoint(tmp_path).name == "step-00000010"


def test_a_checkpoint_from_before_the_ownership_and_score_heads_still_loads(tmp_path):
    old = PolicyValueNet(preset("tiny", board_size=5, in_planes=3, ownership_head=False, score_head=False))
    meta = network_metadata(old, "basic", step=1)
    for key in ("ownership_head", "score_head"):  # such metadata never had these fields
        del meta["architecture"]["config"][key]
    stem = save_checkpoint(tmp_path / checkpoint_name(1), old, meta)
    loaded, _ = load_network(stem, board_size=5)
    assert not loaded.config.ownership_head and not loaded.config.score_head
    heads = loaded.forward_heads(torch.randn(2, 3, 5, 5))
    assert heads.ownership is None and heads.score is None and heads.policy_logits.shape == (2, 26)
    # a net with the heads gives them, and fits its own checkpoint only
    new = _net()
    heads = new.eval().forward_heads(torch.randn(2, 3, 5, 5))
    assert heads.ownership.shape == (2, 25) and heads.score.shape == (2,)
    with pytest.raises(CheckpointError, match="do not fit"):
        load_weights(stem, new)
