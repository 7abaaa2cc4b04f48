"""The one training core of pretraining and self-play: rows, targets, losses, optimizer, step.

A training row is a position of a stored game (game index, ply, symmetry) plus its targets:

    policy     [B, N*N+1]  the move played (records, one-hot) or the search's visit distribution
    value      [B]         game outcome for the side to move (+1 won, -1 lost, 0 draw/unknown)
    ownership  [B, N*N]    Tromp-Taylor owner of each point at the end, side to move's view
    score      [B]         final area margin for the side to move, komi included

Ownership and score (KataGo, Wu 2019) are known only for games played to the end whose final
position was counted (self-play games that were not resigned; records that end with two passes
and whose numeric result equals the Tromp-Taylor count); `ownership_mask` is 0 elsewhere. Both
pretraining (selfplay.pretrain) and self-play (selfplay.trainer) build these rows from their game
tables and train with `TrainCore`, so every target and loss exists once.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from envs.go.records import COLOR_BIT, SETUP_BIT


@dataclass(frozen=True)
class Outcomes:
    """Per-game end-of-game targets from Black's point of view."""

    ownership: np.ndarray
    """int8 [G, N*N]: +1 Black owns the point at the end, -1 White, 0 neither (0 where unknown)."""
    score: np.ndarray
    """float32 [G]: Black's area minus White's minus komi (0 where unknown)."""
    known: np.ndarray
    """bool [G]: the game was counted at its end, so ownership and score are exact."""


def game_outcomes(codes: np.ndarray, offsets: np.ndarray, size: int, komi: np.ndarray,
                  counted: np.ndarray) -> Outcomes:
    """Ownership and score of every game whose final position is its result (`counted`), from
    one native replay of all games."""
    from envs.go import features

    counted = np.asarray(counted, bool)
    ownership, margin = features.record_outcomes(np.ascontiguousarray(codes, np.int16),
                                                 np.ascontiguousarray(offsets, np.int64), size)
    ownership[~counted] = 0
    score = np.where(counted, margin - np.asarray(komi, np.float32), 0).astype(np.float32)
    return Outcomes(ownership, score, counted)


def ends_with_two_passes(codes: np.ndarray, offsets: np.ndarray, size: int) -> np.ndarray:
    """bool [G]: the last two moves (setup entries excluded) of each game are passes."""
    pass_code = (size * size) << 2
    out = np.zeros(len(offsets) - 1, bool)
    for g in range(len(offsets) - 1):
        game = codes[offsets[g]:offsets[g + 1]]
        moves = game[(game & SETUP_BIT) == 0]
        out[g] = len(moves) >= 2 and (moves[-1] & ~COLOR_BIT) == pass_code and (moves[-2] & ~COLOR_BIT) == pass_code
    return out


@dataclass
class TrainingBatch:
    """One batch of training rows as tensors (see the module docstring)."""

    planes: torch.Tensor
    """float32 [B, C, N, N]"""
    policy: torch.Tensor
    """float32 [B, N*N+1]: target distribution (rows sum to 1)."""
    value: torch.Tensor
    """float32 [B]"""
    value_mask: torch.Tensor
    """float32 [B]: 1 where the outcome is known."""
    ownership: torch.Tensor
    """float32 [B, N*N] in {-1, 0, 1}, side to move's view, under the row's symmetry."""
    ownership_mask: torch.Tensor
    """float32 [B]: 1 where ownership and score are known."""
    score: torch.Tensor
    """float32 [B]: area margin for the side to move, komi included (points)."""

    def to(self, device: torch.device) -> "TrainingBatch":
        return TrainingBatch(*(getattr(self, f).to(device, non_blocking=True) for f in self.__dataclass_fields__))


def outcome_targets(winner: np.ndarray, outcomes: Outcomes | None, game: np.ndarray, color: np.ndarray,
                    symmetry: np.ndarray, sym_maps: np.ndarray, value_known: np.ndarray | None = None
                    ) -> dict[str, np.ndarray]:
    """Value, ownership and score targets of rows (game [B], side to move color [B] = +1/-1,
    symmetry [B]) for the side to move, ownership mapped through each row's symmetry.

    winner: int8 [G] (+1 Black, -1 White, 0 draw/unknown). value_known: bool [G] (default:
    winner != 0, so draws and unknown results do not enter the value loss).
    """
    b = len(game)
    area = sym_maps.shape[1] - 1
    value = (winner[game].astype(np.int64) * color).astype(np.float32)
    known = (winner[game] != 0) if value_known is None else value_known[game]
    ownership = np.zeros((b, area), np.float32)
    own_mask = np.zeros(b, np.float32)
    score = np.zeros(b, np.float32)
    if outcomes is not None:
        own_mask = outcomes.known[game].astype(np.float32)
        points = sym_maps[symmetry][:, :area]  # [B, A]: where each point goes
        ownership[np.arange(b)[:, None], points] = outcomes.ownership[game].astype(np.float32) * color[:, None]
        score = outcomes.score[game] * color.astype(np.float32)
    return {"value": value, "value_mask": known.astype(np.float32), "ownership": ownership,
            "ownership_mask": own_mask, "score": score}


@dataclass(frozen=True)
class LossWeights:
    """How much each head's loss counts next to the policy cross-entropy (weight 1)."""

    value: float = 1.0
    """Value MSE."""
    ownership: float = 1.5
    """Ownership: per-point binary cross-entropy, mean over the points (KataGo: 1.5 / N^2 summed)."""
    score: float = 0.02
    """Score: Huber loss of (margin / N), in units of N points (KataGo weighs its score belief 0.02)."""


def compute_losses(heads, batch: TrainingBatch, weights: LossWeights) -> dict[str, torch.Tensor]:
    """Every loss of one batch: {"loss" (weighted total), "policy", "value", "ownership", "score"}.

    `heads` is agent.network.Heads; a head the net lacks contributes nothing.
    """
    logp = F.log_softmax(heads.policy_logits.float(), dim=1)
    policy = -(batch.policy * logp).sum(dim=1).mean()
    value = ((heads.value.float() - batch.value) ** 2 * batch.value_mask).sum() / batch.value_mask.sum().clamp(min=1)
    total = policy + weights.value * value
    out = {"policy": policy, "value": value}
    own_n = batch.ownership_mask.sum().clamp(min=1)
    if heads.ownership is not None:
        per_point = F.binary_cross_entropy_with_logits(heads.ownership.float(), (batch.ownership + 1) / 2,
                                                       reduction="none").mean(dim=1)
        out["ownership"] = (per_point * batch.ownership_mask).sum() / own_n
        total = total + weights.ownership * out["ownership"]
    if heads.score is not None:
        n = math.isqrt(batch.ownership.shape[1])
        per_row = F.huber_loss(heads.score.float(), batch.score / n, reduction="none", delta=1.0)
        out["score"] = (per_row * batch.ownership_mask).sum() / own_n
        total = total + weights.score * out["score"]
    out["loss"] = total
    return out


def make_optimizer(net: torch.nn.Module, name: str, lr: float, weight_decay: float,
                   momentum: float = 0.9) -> torch.optim.Optimizer:
    """SGD (Nesterov) or AdamW; no weight decay on biases and batch-norm parameters."""
    decay = [p for p in net.parameters() if p.dim() > 1]
    no_decay = [p for p in net.parameters() if p.dim() <= 1]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=momentum, nesterov=True)
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr)
    raise ValueError(f"optimizer must be sgd or adamw, not {name!r}")


class TrainCore:
    """The network being trained, its optimizer and loss weights: one step per batch.

    `model` may be a torch.compile wrapper of `net`; checkpoints save `net`.
    """

    def __init__(self, net: torch.nn.Module, optimizer: torch.optim.Optimizer, weights: LossWeights,
                 device: torch.device, model: torch.nn.Module | None = None) -> None:
        self.net, self.optimizer, self.weights, self.device = net, optimizer, weights, device
        self.model = model or net

    def step(self, batch: TrainingBatch, lr: float | None = None) -> dict[str, float]:
        """One optimizer step; returns the losses as floats."""
        from agent.network import autocast_for

        if lr is not None:
            for group in self.optimizer.param_groups:
                group["lr"] = lr
        batch = batch.to(self.device)
        x = batch.planes
        if self.device.type == "cuda":
            x = x.to(memory_format=torch.channels_last)
        self.net.train()
        with autocast_for(self.device):
            heads = _forward_heads(self.model, self.net, x)
        losses = compute_losses(heads, batch, self.weights)
        self.optimizer.zero_grad(set_to_none=True)
        losses["loss"].backward()
        self.optimizer.step()
        return {k: v.item() for k, v in losses.items()}


def _forward_heads(model: torch.nn.Module, net: torch.nn.Module, x: torch.Tensor):
    if model is net:
        return net.forward_heads(x)
    return model.forward_heads(x) if hasattr(model, "forward_heads") else net.forward_heads(x)


def symmetry_maps(size: int) -> np.ndarray:
    """int64 [8, N*N+1]: move index under each of the 8 symmetries."""
    from envs.go import features

    return np.stack([features.symmetry_map(size, s) for s in range(8)])


def side_to_move(codes: np.ndarray, entries: np.ndarray) -> np.ndarray:
    """int64 [B]: +1 / -1, the colour of the move at each entry (the side to move before it)."""
    return np.where(codes[entries].astype(np.int64) & COLOR_BIT, -1, 1)


class PlaneEncoder:
    """Feature planes of (game, ply, symmetry) rows of a table, encoded natively into one buffer."""

    def __init__(self, board_size: int, feature_set: str, max_batch: int) -> None:
        from envs.go import features

        self.features, self.size, self.feature_set = features, board_size, feature_set
        self.buffer = np.zeros((max_batch, features.num_planes(feature_set), board_size, board_size), np.float32)

    def __call__(self, codes: np.ndarray, offsets: np.ndarray, game: np.ndarray, ply: np.ndarray,
                 symmetry: np.ndarray) -> torch.Tensor:
        if len(game) > len(self.buffer):
            self.buffer = np.zeros((len(game), *self.buffer.shape[1:]), np.float32)
        out = self.buffer[:len(game)]
        self.features.encode_records(codes, offsets, game, ply, self.size, self.feature_set, symmetry, out=out)
        return torch.from_numpy(out)
