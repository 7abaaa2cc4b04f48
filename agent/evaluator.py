"""The Evaluator seam: what the tree search calls once per batch of leaf positions.

    evaluate(features: np.float32[B, C, N, N]) -> (policy_logits np.float32[B, N*N+1],
                                                   value np.float32[B])

value is the expected outcome for the side to move in each position (+1 = it wins). The search
never sees torch; the network never sees trees.
"""
from __future__ import annotations

from typing import Protocol

import numpy as np


class Evaluator(Protocol):
    """Anything that scores a batch of encoded positions."""

    def evaluate(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """features [B, C, N, N] float32 -> (policy_logits [B, N*N+1], value [B]), float32."""
        ...


class UniformEvaluator:
    """Zero logits (a uniform prior after softmax) and zero value: fast, exact search tests."""

    def evaluate(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        b, n = features.shape[0], features.shape[-1]
        return np.zeros((b, n * n + 1), np.float32), np.zeros(b, np.float32)


class TorchEvaluator:
    """A PolicyValueNet on a device: inference_mode, bf16 autocast + channels_last on CUDA.

    max_batch splits very large batches so device memory stays bounded.
    """

    def __init__(self, net, device: str = "cpu", compile: bool = False, max_batch: int = 1024) -> None:
        import torch

        from agent.network import prepare_for_device

        self.device = torch.device(device)
        self.net = prepare_for_device(net.eval(), self.device, compile=compile)
        self.max_batch = max_batch

    def evaluate(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import torch

        from agent.network import autocast_for

        if features.ndim != 4:
            raise ValueError(f"expected features [B, C, N, N], got shape {features.shape}")
        logits_out, value_out = [], []
        with torch.inference_mode(), autocast_for(self.device):
            for start in range(0, features.shape[0], self.max_batch):
                x = torch.from_numpy(np.ascontiguousarray(features[start:start + self.max_batch],
                                                          dtype=np.float32)).to(self.device)
                if self.device.type == "cuda":
                    x = x.to(memory_format=torch.channels_last)
                logits, value = self.net(x)
                logits_out.append(logits.float().cpu().numpy())
                value_out.append(value.float().cpu().numpy())
        if not logits_out:
            n = features.shape[-1]
            return np.zeros((0, n * n + 1), np.float32), np.zeros(0, np.float32)
        return np.concatenate(logits_out), np.concatenate(value_out)
