"""The self-play trainer: the training core (selfplay.training) on rows of the replay window.

Positions come from the replay window (full searches only), each under a random symmetry; the
policy target is the search's visit distribution, the value target the game's outcome, and
games played out (not resigned) add KataGo's ownership and score targets.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from selfplay.replay import ReplaySampler, ReplayWindow
from selfplay.training import (LossWeights, PlaneEncoder, TrainCore, TrainingBatch, make_optimizer,
                               outcome_targets, side_to_move, symmetry_maps)

if TYPE_CHECKING:
    from selfplay.loop import SelfPlayConfig


class Trainer:
    """Owns the network being trained (through a TrainCore) and the replay window's rows."""

    def __init__(self, net: torch.nn.Module, cfg: SelfPlayConfig, device: torch.device) -> None:
        self.net, self.cfg, self.device = net, cfg, device
        self.core = TrainCore(net, make_optimizer(net, cfg.optimizer, cfg.lr, cfg.weight_decay),
                              LossWeights(cfg.value_weight, cfg.ownership_weight, cfg.score_weight), device)
        self.optimizer = self.core.optimizer
        self.sym_maps = symmetry_maps(cfg.board_size)
        self.encoder = PlaneEncoder(cfg.board_size, cfg.feature_set, cfg.batch_size)
        self.window: ReplayWindow | None = None
        self.sampler: ReplaySampler | None = None

    def set_window(self, window: ReplayWindow) -> None:
        """Train on this window from now on."""
        self.window = window
        self.sampler = ReplaySampler(window, self.sym_maps, seed=self.cfg.seed)

    def rows(self, step: int) -> TrainingBatch:
        """The training rows drawn for `step`."""
        w = self.window
        batch = self.sampler.sample(self.cfg.batch_size, step)
        planes = self.encoder(w.codes, w.offsets, batch.game_index, batch.ply, batch.symmetry)
        color = side_to_move(w.codes, w.offsets[batch.game_index] + batch.ply)
        targets = outcome_targets(w.winner, w.outcomes(), batch.game_index, color, batch.symmetry,
                                  self.sym_maps, value_known=np.ones(w.num_games, bool))  # draws too
        return TrainingBatch(planes, torch.from_numpy(batch.policy),
                             **{k: torch.from_numpy(v) for k, v in targets.items()})

    def train_step(self, step: int) -> dict[str, float]:
        """One optimizer step on a batch drawn for `step`; returns the losses."""
        return self.core.step(self.rows(step))

    def training_state(self) -> dict:
        return {"optimizer": self.optimizer.state_dict()}

    def load_training_state(self, stem: Path) -> None:
        from agent.checkpoint import load_training_state

        self.optimizer.load_state_dict(load_training_state(stem)["optimizer"])
