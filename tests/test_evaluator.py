"""agent.evaluator: the uniform evaluator and TorchEvaluator (eager and traced CPU paths agree,
and the traced copy follows weight changes made to the net in place)."""
from __future__ import annotations

import numpy as np
import torch

from agent.evaluator import TorchEvaluator, UniformEvaluator
from agent.network import PolicyValueNet, preset


def planes(batch: int, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((batch, 30, 7, 7)) < 0.3).astype(np.float32)


def test_uniform_evaluator_shapes():
    logits, value = UniformEvaluator().evaluate(planes(3))
    assert logits.shape == (3, 50) and value.shape == (3,) and not logits.any() and not value.any()


def test_traced_and_eager_agree_for_any_batch_and_follow_weight_changes():
    torch.manual_seed(0)
    net = PolicyValueNet(preset("tiny", board_size=7, in_planes=30))
    fast, eager = TorchEvaluator(net), TorchEvaluator(net, optimize=False)
    assert fast.optimize and not eager.optimize
    for batch in (1, 6, 33):
        (a_logits, a_value), (b_logits, b_value) = fast.evaluate(planes(batch)), eager.evaluate(planes(batch))
        assert a_logits.shape == (batch, 50) and a_value.shape == (batch,)
        np.testing.assert_allclose(a_logits, b_logits, atol=1e-5)
        np.testing.assert_allclose(a_value, b_value, atol=1e-5)
    before = fast.evaluate(planes(4))[0]
    other = PolicyValueNet(preset("tiny", board_size=7, in_planes=30))
    net.load_state_dict(other.state_dict())  # as a self-play worker loads a new checkpoint
    after = fast.evaluate(planes(4))[0]
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after, TorchEvaluator(other, optimize=False).evaluate(planes(4))[0], atol=1e-5)
