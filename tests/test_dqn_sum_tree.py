"""SumTree: totals, interval lookup, proportional sampling, updates; replay IS weights."""
import numpy as np
import pytest

from agent.dqn.replay import ReplayBuffer
from agent.dqn.sum_tree import SumTree


def test_find_maps_cumulative_values_to_slots():
    tree = SumTree(4)
    tree.update(np.arange(4), np.array([1.0, 2.0, 3.0, 4.0]))
    assert tree.total == 10.0
    # intervals: [0,1) -> 0, [1,3) -> 1, [3,6) -> 2, [6,10) -> 3
    values = np.array([0.0, 0.99, 1.0, 2.99, 3.0, 5.99, 6.0, 9.99])
    assert tree.find(values).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]


def test_non_power_of_two_capacity_and_zero_priorities_never_sampled():
    tree = SumTree(5)
    tree.update(np.array([0, 2, 4]), np.array([1.0, 0.0, 3.0]))
    slots = tree.sample_stratified(4000, np.random.default_rng(0))
    assert set(slots.tolist()) == {0, 4}
    assert 0.2 < np.mean(slots == 0) < 0.3


def test_sampling_proportions_match_priorities():
    rng = np.random.default_rng(1)
    priorities = rng.uniform(0.0, 5.0, size=37)
    tree = SumTree(37)
    tree.update(np.arange(37), priorities)
    counts = np.bincount(np.concatenate([tree.sample_stratified(512, rng) for _ in range(400)]),
                         minlength=37)
    expected = priorities / priorities.sum() * counts.sum()
    # stratified sampling is less noisy than multinomial: a 4-sigma multinomial bound is generous
    assert np.all(np.abs(counts - expected) <= 4 * np.sqrt(expected) + 2)


def test_updates_propagate_and_last_duplicate_wins():
    tree = SumTree(8)
    tree.update(np.arange(8), np.ones(8))
    tree.update(np.array([3, 3, 5]), np.array([10.0, 2.0, 0.0]))
    assert tree.total == pytest.approx(6 * 1.0 + 2.0)
    assert tree.get(np.array([3, 5])).tolist() == [2.0, 0.0]
    assert tree.nodes[1] == pytest.approx(tree.nodes[2] + tree.nodes[3])
    with pytest.raises(ValueError):
        tree.update(np.array([0]), np.array([-1.0]))


def _filled_buffer(alpha: float) -> ReplayBuffer:
    buf = ReplayBuffer(64, (2,), np.float32, n_step=1, prioritized=True, alpha=alpha, seed=0)
    for t in range(40):
        buf.add(np.full((1, 2), t, np.float32), np.array([0]), np.array([1.0]), np.array([False]),
                np.array([False]), {})
    return buf


def test_importance_weights_follow_priorities():
    buf = _filled_buffer(alpha=0.5)
    n = len(buf)
    slots = np.flatnonzero(buf.valid.reshape(-1))
    td = np.linspace(0.1, 4.0, len(slots))
    buf.update_priorities(slots, td)
    batch = buf.sample(32, beta=0.6)
    p = (np.abs(td) + buf.priority_eps) ** 0.5
    prob = dict(zip(slots.tolist(), p / p.sum()))
    w = np.array([(n * prob[i]) ** -0.6 for i in batch.indices])
    np.testing.assert_allclose(batch.weights, w / w.max(), rtol=1e-5)
    # the lowest-priority sample gets the largest weight (1 after normalisation)
    lowest = np.argmin([prob[i] for i in batch.indices])
    assert batch.weights[lowest] == pytest.approx(1.0)


def test_new_transitions_enter_with_max_priority():
    buf = _filled_buffer(alpha=1.0)
    slots = np.flatnonzero(buf.valid.reshape(-1))
    buf.update_priorities(slots[:3], np.array([7.0, 0.5, 0.5]))
    assert buf.max_priority == pytest.approx(7.0 + buf.priority_eps)
    for t in range(3):
        buf.add(np.zeros((1, 2), np.float32), np.array([0]), np.array([0.0]), np.array([False]),
                np.array([False]), {})
    newest = np.flatnonzero(buf.valid.reshape(-1)).max()
    assert buf.tree.get(np.array([newest]))[0] == pytest.approx(7.0 + buf.priority_eps)
