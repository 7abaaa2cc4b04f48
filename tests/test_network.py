"""The residual policy/value network: shapes, presets, and that it can learn."""
import numpy as np
import pytest
import torch

from agent.evaluator import TorchEvaluator, UniformEvaluator
from agent.network import PRESETS, NetworkConfig, PolicyValueNet, preset


@pytest.mark.parametrize("size", [5, 9, 19])
@pytest.mark.parametrize("head", ["conv", "fc"])
def test_output_shapes_any_board_size(size, head):
    net = PolicyValueNet(preset("tiny", board_size=size, in_planes=7, policy_head=head))
    logits, value = net(torch.randn(3, 7, size, size))
    assert logits.shape == (3, size * size + 1)
    assert value.shape == (3,)
    assert torch.all(value.abs() <= 1)


def test_presets_have_expected_towers():
    assert PRESETS["cpu"][:2] == (6, 64)
    assert PRESETS["agz"][:2] == (20, 256)
    cfg = preset("small", board_size=9, in_planes=4)
    assert (cfg.blocks, cfg.channels, cfg.board_size) == (10, 128, 9)
    with pytest.raises(ValueError, match="unknown network preset"):
        preset("huge")


def test_global_pool_blocks_are_placed_every_kth_block():
    cfg = preset("tiny", board_size=5, in_planes=3, global_pool_every=1)
    net = PolicyValueNet(cfg)
    assert sum(type(b.pool).__name__ == "GlobalPoolBias" for b in net.tower) == cfg.blocks


def test_conv_policy_head_shares_weights_across_board_sizes():
    small = PolicyValueNet(preset("tiny", board_size=9, in_planes=3))
    big = PolicyValueNet(preset("tiny", board_size=13, in_planes=3))
    value_head = ("value_fc1.weight",)  # the value head's fc layer still depends on the size
    mismatched = [k for k, v in small.state_dict().items() if v.shape != big.state_dict()[k].shape]
    assert tuple(mismatched) == value_head


def test_wrong_input_shape_is_a_clear_error():
    net = PolicyValueNet(preset("tiny", board_size=5, in_planes=3))
    with pytest.raises(ValueError, match=r"expected features \[B, 3, 5, 5\]"):
        net(torch.zeros(1, 4, 5, 5))


def test_config_round_trips_through_dict():
    cfg = preset("cpu-gp", board_size=13, in_planes=11)
    assert NetworkConfig.from_dict(cfg.to_dict()) == cfg


def test_tiny_net_overfits_a_handful_of_positions():
    torch.manual_seed(0)
    size, planes, n = 5, 4, 12
    x = (torch.rand(n, planes, size, size) < 0.3).float()
    moves = torch.randint(0, size * size + 1, (n,))
    outcome = torch.where(torch.arange(n) % 2 == 0, 1.0, -1.0)
    net = PolicyValueNet(preset("tiny", board_size=size, in_planes=planes))
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(300):
        logits, value = net(x)
        loss = torch.nn.functional.cross_entropy(logits, moves) + ((value - outcome) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    logits, value = TorchEvaluator(net).evaluate(x.numpy())
    assert (logits.argmax(1) == moves.numpy()).mean() == 1.0
    assert np.all(np.sign(value) == outcome.numpy())


def test_flops_count_matches_a_hand_count():
    cfg = NetworkConfig(board_size=3, in_planes=2, blocks=1, channels=4, policy_head="fc",
                        policy_channels=1, value_channels=1, value_hidden=5)
    net = PolicyValueNet(cfg)
    a = 9
    convs = 2 * a * (2 * 4 * 9 + 2 * 4 * 4 * 9 + 4 * 1 + 4 * 1)
    linears = 2 * (9 * 10 + 9 * 5 + 5 * 1)
    assert net.flops_per_position() == convs + linears


def test_evaluators_return_float32_with_the_seam_shapes():
    feats = np.zeros((4, 3, 5, 5), np.float32)
    for ev in (UniformEvaluator(), TorchEvaluator(PolicyValueNet(preset("tiny", 5, 3)), max_batch=3)):
        logits, value = ev.evaluate(feats)
        assert logits.shape == (4, 26) and logits.dtype == np.float32
        assert value.shape == (4,) and value.dtype == np.float32
