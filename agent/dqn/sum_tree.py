"""A sum tree over non-negative priorities: O(log n) batched updates and proportional sampling."""
from __future__ import annotations

import numpy as np


class SumTree:
    """Priorities of ``capacity`` slots in a complete binary tree stored in one array.

    Node 1 is the root, node k has children 2k and 2k+1, and leaf i lives at node ``size + i``
    (``size`` is capacity rounded up to a power of two; padding leaves stay 0). All operations take
    batches and walk the tree level by level with numpy, never slot by slot.
    """

    def __init__(self, capacity: int):
        if capacity < 1:
            raise ValueError("SumTree capacity must be positive")
        self.capacity = capacity
        self.size = 1 << max(0, int(capacity - 1).bit_length())
        self.depth = self.size.bit_length() - 1
        self.nodes = np.zeros(2 * self.size, np.float64)

    @property
    def total(self) -> float:
        """Sum of all priorities."""
        return float(self.nodes[1])

    def get(self, slots: np.ndarray) -> np.ndarray:
        """[B] priorities of ``slots``."""
        return self.nodes[self.size + np.asarray(slots)]

    def update(self, slots: np.ndarray, priorities: np.ndarray) -> None:
        """Sets ``priorities`` [B] at ``slots`` [B]; with repeated slots the last value wins."""
        slots = np.asarray(slots, np.int64)
        priorities = np.broadcast_to(np.asarray(priorities, np.float64), slots.shape)
        if np.any(priorities < 0) or not np.all(np.isfinite(priorities)):
            raise ValueError("priorities must be finite and non-negative")
        nodes = self.size + slots
        self.nodes[nodes] = priorities
        nodes = np.unique(nodes // 2)
        while nodes[0] >= 1:
            self.nodes[nodes] = self.nodes[2 * nodes] + self.nodes[2 * nodes + 1]
            if nodes[0] == 1:
                break
            nodes = np.unique(nodes // 2)

    def find(self, values: np.ndarray) -> np.ndarray:
        """[B] slots whose cumulative-priority interval contains each of ``values`` [B] in [0, total)."""
        values = np.array(values, np.float64)
        nodes = np.ones(values.shape, np.int64)
        for _ in range(self.depth):
            left = 2 * nodes
            left_sum = self.nodes[left]
            go_right = values >= left_sum
            values = np.where(go_right, values - left_sum, values)
            nodes = np.where(go_right, left + 1, left)
        slots = nodes - self.size
        # Float round-off can land on a zero-priority leaf at an interval edge: step back to a live one.
        bad = self.nodes[nodes] <= 0
        if np.any(bad):
            slots[bad] = self._nearest_positive(slots[bad])
        return slots

    def _nearest_positive(self, slots: np.ndarray) -> np.ndarray:
        live = np.flatnonzero(self.nodes[self.size:self.size + self.capacity] > 0)
        pos = np.clip(np.searchsorted(live, slots), 0, len(live) - 1)
        return live[pos]

    def sample_stratified(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        """[batch_size] slots drawn proportionally to priority, one from each of B equal strata."""
        if self.total <= 0:
            raise ValueError("cannot sample from a sum tree whose priorities are all zero")
        bounds = np.linspace(0.0, self.total, batch_size + 1)
        values = rng.uniform(bounds[:-1], bounds[1:])
        return self.find(np.minimum(values, np.nextafter(self.total, 0)))
