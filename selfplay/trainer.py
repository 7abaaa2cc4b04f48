"""The self-play trainer: policy cross-entropy on search visit distributions + value MSE.

Positions come from the replay window (full searches only), each under a random symmetry; the
planes are encoded natively from the game records (envs.go.features.encode_records).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from selfplay.replay import ReplayBatch, ReplaySampler, ReplayWindow

if TYPE_CHECKING:
    from selfplay.loop import SelfPlayConfig


def symmetry_maps(size: int) -> np.ndarray:
    """int64 [8, N*N+1]: move index under each of the 8 symmetries."""
    from envs.go import features

    return np.stack([features.symmetry_map(size, s) for s in range(8)])


def policy_value_loss(logits: torch.Tensor, value: torch.Tensor, target_policy: torch.Tensor,
                      target_value: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(cross-entropy against the visit distribution, MSE against the outcome)."""
    policy_loss = -(target_policy * F.log_softmax(logits, dim=1)).sum(dim=1).mean()
    value_loss = F.mse_loss(value, target_value)
    return policy_loss, value_loss


class Trainer:
    """Owns the network being trained, its optimizer and the feature buffer."""

    def __init__(self, net: torch.nn.Module, cfg: SelfPlayConfig, device: torch.device) -> None:
        from envs.go import features

        self.net, self.cfg, self.device = net, cfg, device
        self.features = features
        decay = [p for p in net.parameters() if p.dim() > 1]
        no_decay = [p for p in net.parameters() if p.dim() <= 1]
        groups = [{"params": decay, "weight_decay": cfg.weight_decay},
                  {"params": no_decay, "weight_decay": 0.0}]
        if cfg.optimizer == "sgd":
            self.optimizer: torch.optim.Optimizer = torch.optim.SGD(groups, lr=cfg.lr, momentum=0.9,
                                                                    nesterov=True)
        else:
            self.optimizer = torch.optim.AdamW(groups, lr=cfg.lr)
        self.sym_maps = symmetry_maps(cfg.board_size)
        planes = features.num_planes(cfg.feature_set)
        n = cfg.board_size
        self.buffer = np.zeros((cfg.batch_size, planes, n, n), np.float32)
        self.window: ReplayWindow | None = None
        self.sampler: ReplaySampler | None = None

    def set_window(self, window: ReplayWindow) -> None:
        """Train on this window from now on."""
        self.window = window
        self.sampler = ReplaySampler(window, self.sym_maps, seed=self.cfg.seed)

    def encode(self, batch: ReplayBatch) -> torch.Tensor:
        w = self.window
        out = self.buffer[:len(batch.ply)]
        self.features.encode_records(w.codes, w.offsets, batch.game_index, batch.ply, self.cfg.board_size,
                                     self.cfg.feature_set, batch.symmetry, out=out)
        return torch.from_numpy(out)

    def train_step(self, step: int) -> dict[str, float]:
        """One optimizer step on a batch drawn for `step`; returns the losses."""
        from agent.network import autocast_for

        batch = self.sampler.sample(self.cfg.batch_size, step)
        x = self.encode(batch).to(self.device)
        target_policy = torch.from_numpy(batch.policy).to(self.device)
        target_value = torch.from_numpy(batch.value).to(self.device)
        self.net.train()
        with autocast_for(self.device):
            logits, value = self.net(x)
        policy_loss, value_loss = policy_value_loss(logits.float(), value.float(), target_policy,
                                                    target_value)
        loss = policy_loss + self.cfg.value_weight * value_loss
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return {"loss": loss.item(), "policy_loss": policy_loss.item(), "value_mse": value_loss.item()}

    def training_state(self) -> dict:
        return {"optimizer": self.optimizer.state_dict()}

    def load_training_state(self, stem: Path) -> None:
        from agent.checkpoint import load_training_state

        self.optimizer.load_state_dict(load_training_state(stem)["optimizer"])
