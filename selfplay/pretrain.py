"""Supervised pretraining: predict strong players' moves (policy) and the winner (value).

SGF collection -> cached shards (selfplay.collection) -> positions drawn by game and ply ->
training rows (selfplay.training: planes under a random symmetry, the move played, the outcome,
and KataGo's ownership and score targets for games counted at their end) -> the training core.
Loss = cross-entropy(policy) + value_weight * MSE(value) + ownership_weight * BCE(ownership)
+ score_weight * Huber(score).
The data order is a pure function of (seed, step), so --resume continues exactly where the last
checkpoint left off, even after a kill -9: the steps since that checkpoint are trained again (and
their TensorBoard points replaced), the temporary files the kill left in the checkpoint and cache
directories are removed, and no checkpoint is written twice.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from agent.checkpoint import (CheckpointError, checkpoint_name, latest_checkpoint, load_training_state,
                              load_weights, network_metadata, read_metadata, save_checkpoint)
from agent.network import PRESETS, PolicyValueNet, autocast_for, preset
from komi.errors import KomiError
from selfplay.collection import GameFilter, build_shards
from selfplay.shards import GameTable, PositionBatch, PositionSampler, load_shards
from selfplay.training import (LossWeights, PlaneEncoder, TrainCore, TrainingBatch, make_optimizer,
                               outcome_targets, side_to_move, symmetry_maps)


@dataclass(frozen=True)
class PretrainConfig:
    """One supervised pretraining run; saved in every checkpoint's metadata."""

    sgf: tuple[str, ...] = ()
    """SGF files, directories or archives."""
    filter: GameFilter = field(default_factory=GameFilter)
    """Which games are used (board size, moves, handicap, rank)."""
    val_fraction: float = 0.02
    """Fraction of games held out for validation (by game hash)."""
    preset: str = "cpu"
    """Network preset (agent.network.PRESETS)."""
    policy_head: str | None = None
    """Override the preset's policy head ("fc" or "conv"); None keeps the preset's."""
    feature_set: str = "extended"
    """Input feature set of the native encoder."""
    batch_size: int = 128
    """Positions per training step."""
    optimizer: str = "sgd"
    """"sgd" (Nesterov momentum) or "adamw"."""
    lr: float = 0.05
    """Peak learning rate (after warmup)."""
    momentum: float = 0.9
    """SGD momentum."""
    weight_decay: float = 1e-4
    """Weight decay (decoupled for AdamW, L2 for SGD)."""
    warmup_steps: int = 200
    """Linear warmup steps before the cosine decay."""
    final_lr_fraction: float = 0.02
    """The cosine decays to this fraction of the peak."""
    steps: int | None = None
    """Stop after this many steps (also the cosine horizon)."""
    minutes: float | None = None
    """Stop after this many minutes of training (the cosine horizon when steps is not set)."""
    value_weight: float = 0.25
    """Weight of the value MSE (positions of one game are correlated: keep it low)."""
    ownership_weight: float = 1.5
    """Weight of the ownership loss (per-point cross-entropy, mean over points; KataGo's 1.5)."""
    score_weight: float = 0.02
    """Weight of the score loss (Huber on margin / N)."""
    aux_heads: bool = True
    """Give the net KataGo's ownership and score heads (False: policy and value only)."""
    val_every: int = 500
    """Validate every N steps (and at the end)."""
    val_positions: int = 4096
    """Validation positions (a fixed random subset of the held-out games)."""
    checkpoint_every: int = 1000
    """Write a checkpoint every N steps (and at the end)."""
    checkpoint_minutes: float = 10.0
    """Also write one when this many minutes passed since the last (a kill loses at most that)."""
    checkpoint_dir: str = "checkpoints"
    """Where checkpoints go."""
    cache_dir: str = "checkpoints/shards"
    """Where converted shards are cached."""
    log_dir: str | None = "runs"
    """TensorBoard log directory (None = no logs)."""
    seed: int = 0
    """Seed of initial weights and data order."""
    threads: int | None = None
    """torch CPU threads (None = torch's default)."""
    device: str = "auto"
    """"cpu", "cuda" or "auto"."""
    compile: bool = False
    """Wrap the net in torch.compile."""

    def __post_init__(self) -> None:
        if self.steps is None and self.minutes is None:
            raise KomiError("give --steps or --minutes (or both) to bound the training run")
        if self.optimizer not in ("sgd", "adamw"):
            raise KomiError(f"optimizer must be sgd or adamw, not {self.optimizer!r}")
        if not 0 < self.val_fraction < 1:
            raise KomiError(f"validation fraction must be in (0, 1), got {self.val_fraction}")
        if self.batch_size < 1:
            raise KomiError(f"batch size must be >= 1, got {self.batch_size}")
        if self.preset not in PRESETS:
            raise KomiError(f"unknown network preset {self.preset!r}; choose from {', '.join(PRESETS)}")
        from envs.go.features import FEATURE_SETS

        if self.feature_set not in FEATURE_SETS:
            raise KomiError(f"unknown feature set {self.feature_set!r}; choose from {', '.join(FEATURE_SETS)}")


def learning_rate(cfg: PretrainConfig, step: int, progress: float) -> float:
    """Linear warmup over warmup_steps, then cosine from lr to final_lr_fraction * lr."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    floor = cfg.final_lr_fraction
    return cfg.lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


class RecordRows:
    """Training rows (selfplay.training.TrainingBatch) of positions drawn from a GameTable of
    records: the policy target is the move played; ownership and score where the game was counted."""

    def __init__(self, table: GameTable, board_size: int, feature_set: str, max_batch: int) -> None:
        self.table, self.size = table, board_size
        self.encoder = PlaneEncoder(board_size, feature_set, max_batch)
        self.sym_maps = symmetry_maps(board_size)
        self.outcomes = table.outcomes()
        # an explicit draw (result "0", "Draw") is a known outcome too
        self.value_known = (table.winner != 0) | (np.asarray(table.result_score) == 0)

    def __call__(self, batch: PositionBatch) -> TrainingBatch:
        t = self.table
        planes = self.encoder(t.codes, t.offsets, batch.game_index, batch.ply, batch.symmetry)
        moves = self.sym_maps[batch.symmetry, batch.move]
        policy = np.zeros((len(moves), self.size * self.size + 1), np.float32)
        policy[np.arange(len(moves)), moves] = 1
        color = side_to_move(t.codes, t.offsets[batch.game_index] + batch.ply)
        targets = outcome_targets(t.winner, self.outcomes, batch.game_index, color, batch.symmetry,
                                  self.sym_maps, self.value_known)
        return TrainingBatch(planes, torch.from_numpy(policy),
                             **{k: torch.from_numpy(v) for k, v in targets.items()})


@torch.no_grad()
def evaluate_positions(net, table: GameTable, board_size: int, feature_set: str,
                       batch_size: int = 256, max_positions: int | None = None,
                       device: str | torch.device = "cpu") -> dict[str, float]:
    """Move-prediction and outcome metrics on (a fixed subset of) the positions of a table.

    Returns {"positions", "top1", "top5", "policy_loss", "value_mse"} and, for a net with the
    heads, "ownership_loss" (per-point cross-entropy) and "score_mae" (points), both over the
    positions of counted games (NaN if none); the value MSE is over positions of games with a
    known result (NaN if none).
    """
    was_training = net.training
    net.eval()
    rows = RecordRows(table, board_size, feature_set, batch_size)
    n = top1 = top5 = 0
    sums = {"policy": 0.0, "value": 0.0, "value_n": 0.0, "ownership": 0.0, "score": 0.0, "own_n": 0.0}
    for batch in PositionSampler(table).sequential(batch_size, max_positions):
        rb = rows(batch).to(torch.device(device))
        moves = rb.policy.argmax(dim=1)
        with autocast_for(device):
            heads = net.forward_heads(rb.planes)
        logits = heads.policy_logits
        best5 = logits.topk(5, dim=1).indices
        top1 += (best5[:, 0] == moves).sum().item()
        top5 += (best5 == moves[:, None]).any(dim=1).sum().item()
        sums["policy"] += F.cross_entropy(logits, moves, reduction="sum").item()
        sums["value"] += ((heads.value - rb.value) ** 2 * rb.value_mask).sum().item()
        sums["value_n"] += rb.value_mask.sum().item()
        sums["own_n"] += rb.ownership_mask.sum().item()
        if heads.ownership is not None:
            per_point = F.binary_cross_entropy_with_logits(heads.ownership, (rb.ownership + 1) / 2,
                                                           reduction="none").mean(dim=1)
            sums["ownership"] += (per_point * rb.ownership_mask).sum().item()
        if heads.score is not None:
            sums["score"] += ((heads.score * board_size - rb.score).abs() * rb.ownership_mask).sum().item()
        n += len(moves)
    net.train(was_training)
    if n == 0:
        raise KomiError("no positions to evaluate")
    nan = float("nan")
    out = {"positions": n, "top1": top1 / n, "top5": top5 / n, "policy_loss": sums["policy"] / n,
           "value_mse": sums["value"] / sums["value_n"] if sums["value_n"] else nan}
    config = getattr(net, "config", None)
    if getattr(config, "ownership_head", False):
        out["ownership_loss"] = sums["ownership"] / sums["own_n"] if sums["own_n"] else nan
    if getattr(config, "score_head", False):
        out["score_mae"] = sums["score"] / sums["own_n"] if sums["own_n"] else nan
    return out


def _peak_rss_mb() -> float:
    try:
        import resource
    except ImportError:  # not on Windows
        return float("nan")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise KomiError("device cuda asked for, but torch sees no CUDA device")
    return torch.device(name)


def _resume_point(cfg: PretrainConfig, net, optimizer) -> tuple[int, int, float]:
    """Load the latest checkpoint of cfg.checkpoint_dir; returns (step, data_seen, train_seconds)."""
    stem = latest_checkpoint(cfg.checkpoint_dir)
    if stem is None:
        raise KomiError(f"--resume: no checkpoint in {cfg.checkpoint_dir} (a run stopped before its "
                        "first checkpoint starts again without --resume)")
    meta = read_metadata(stem)
    expect = {"board_size": cfg.filter.board_size, "feature_set": cfg.feature_set}
    load_weights(stem, net, expect=expect)
    if meta.get("config", {}).get("preset") != cfg.preset:
        raise CheckpointError(f"{stem} does not fit: preset is {meta.get('config', {}).get('preset')!r}, "
                              f"expected {cfg.preset!r}")
    optimizer.load_state_dict(load_training_state(stem)["optimizer"])
    return int(meta["step"]), int(meta.get("data_seen", 0)), float(meta.get("train_seconds", 0.0))


def pretrain(cfg: PretrainConfig, resume: bool = False, progress: bool = True) -> dict:
    """Run (or resume) supervised pretraining; returns the last validation metrics with the path
    of the final checkpoint under "checkpoint"."""
    from tqdm import tqdm

    from envs.go import features

    from selfplay.loop import remove_stale_temporaries

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = _device(cfg.device)
    # what a kill -9 left mid-write: checkpoint files, converted shards, the cache manifest
    cache = Path(cfg.cache_dir)
    for directory in [Path(cfg.checkpoint_dir), cache, *(cache.iterdir() if cache.is_dir() else ())]:
        if directory.is_dir():
            remove_stale_temporaries(directory)
    size = cfg.filter.board_size
    shards = build_shards(cfg.sgf, cfg.filter, cfg.val_fraction, cfg.cache_dir, progress=progress)
    skipped = shards.manifest["skipped"]
    print(f"games: {shards.manifest['train_games']} train, {shards.manifest['val_games']} validation "
          f"(of {shards.manifest['games_read']} read); skipped: "
          + (", ".join(f"{n} {why}" for why, n in sorted(skipped.items(), key=lambda kv: -kv[1])) or "none"))
    train_table = load_shards(shards.train)
    val_table = load_shards(shards.val) if shards.val else None
    if train_table.num_games == 0:
        raise KomiError("no training game left after the validation split; add games or lower "
                        "--val-fraction")
    sampler = PositionSampler(train_table, seed=cfg.seed)

    torch.manual_seed(cfg.seed)
    overrides = {"policy_head": cfg.policy_head} if cfg.policy_head else {}
    if not cfg.aux_heads:
        overrides.update(ownership_head=False, score_head=False)
    net = PolicyValueNet(preset(cfg.preset, board_size=size, in_planes=features.num_planes(cfg.feature_set),
                                **overrides))
    optimizer = make_optimizer(net, cfg.optimizer, cfg.lr, cfg.weight_decay, cfg.momentum)
    step, data_seen, train_seconds = _resume_point(cfg, net, optimizer) if resume else (0, 0, 0.0)
    net = net.to(device)
    if device.type == "cuda":
        net = net.to(memory_format=torch.channels_last)
    model = torch.compile(net) if cfg.compile else net
    rows = RecordRows(train_table, size, cfg.feature_set, cfg.batch_size)
    core = TrainCore(net, optimizer, LossWeights(cfg.value_weight, cfg.ownership_weight, cfg.score_weight),
                     device, model)
    counted = int(rows.outcomes.known.sum())
    print(f"ownership and score targets: {counted} of {train_table.num_games} training games end with "
          "two passes and a result equal to the Tromp-Taylor count")

    writer = None
    if cfg.log_dir:
        from torch.utils.tensorboard import SummaryWriter

        # on resume, hide what a killed run logged after its checkpoint: those steps come again
        writer = SummaryWriter(cfg.log_dir, purge_step=step + 1 if resume else None)
        writer.add_text("config", "\n".join(f"    {k}: {v}" for k, v in asdict(cfg).items()), step)

    metrics: dict = {}

    def validate() -> None:
        nonlocal metrics
        if val_table is None:
            return
        metrics = evaluate_positions(net, val_table, size, cfg.feature_set, 256, cfg.val_positions, device)
        metrics["minutes"] = train_seconds / 60
        if writer:
            for k in ("top1", "top5", "policy_loss", "value_mse", "ownership_loss", "score_mae"):
                if k in metrics:
                    writer.add_scalar(f"val/{k}", metrics[k], step)
                    writer.add_scalar(f"val_by_positions/{k}", metrics[k], data_seen)
            writer.add_scalar("val/top1_by_minute", metrics["top1"], int(train_seconds))
        extra = "".join(f" {label} {metrics[k]:.3f}" for k, label in (("ownership_loss", "ownership loss"),
                                                                       ("score_mae", "score mae")) if k in metrics)
        tqdm.write(f"step {step}: validation top1 {metrics['top1']:.3f} top5 {metrics['top5']:.3f} "
                   f"policy loss {metrics['policy_loss']:.3f} value mse {metrics['value_mse']:.3f}{extra} "
                   f"({metrics['positions']} positions, {data_seen} seen, {train_seconds / 60:.1f} min)")

    def checkpoint() -> Path:
        meta = network_metadata(net, cfg.feature_set, step=step, data_seen=data_seen,
                                train_seconds=train_seconds, metrics=metrics, config=cfg,
                                shards={"cache": str(shards.directory), **shards.manifest["key"]},
                                games={"train": shards.manifest["train_games"],
                                       "val": shards.manifest["val_games"]})
        return save_checkpoint(Path(cfg.checkpoint_dir) / checkpoint_name(step), net, meta,
                               {"optimizer": optimizer.state_dict()})

    def done() -> bool:
        return ((cfg.steps is not None and step >= cfg.steps)
                or (cfg.minutes is not None and train_seconds >= cfg.minutes * 60))

    def progress_fraction() -> float:
        fractions = []
        if cfg.steps:
            fractions.append(step / cfg.steps)
        if cfg.minutes:
            fractions.append(train_seconds / (cfg.minutes * 60))
        return max(fractions)

    net.train()
    bar = tqdm(total=cfg.steps, initial=step, desc="pretrain", unit="step", disable=not progress)
    last_saved, last_saved_time = step, time.monotonic()
    try:
        while not done():
            t0 = time.perf_counter()
            lr = learning_rate(cfg, step, progress_fraction())
            losses = core.step(rows(sampler.sample(cfg.batch_size, step)), lr)
            step += 1
            data_seen += cfg.batch_size
            dt = time.perf_counter() - t0
            train_seconds += dt
            bar.update(1)
            if step % 10 == 0 or step == 1:
                bar.set_postfix(loss=f"{losses['loss']:.3f}", pos_s=f"{cfg.batch_size / dt:.0f}")
                if writer:
                    for k, v in losses.items():
                        writer.add_scalar(f"train/{k}", v, step)
                    writer.add_scalar("train/lr", lr, step)
                    writer.add_scalar("train/positions_per_s", cfg.batch_size / dt, step)
            if step % cfg.val_every == 0:
                validate()
            if ((step % cfg.checkpoint_every == 0
                 or time.monotonic() - last_saved_time >= cfg.checkpoint_minutes * 60)
                    and not done()):  # the last step's checkpoint comes after the final validation
                checkpoint()
                last_saved, last_saved_time = step, time.monotonic()
    except KeyboardInterrupt:
        if step > last_saved:
            tqdm.write(f"interrupted: saving a checkpoint at step {step}")
            checkpoint()
        raise
    finally:
        bar.close()
    if step % cfg.val_every != 0 or not metrics:
        validate()
    if step > last_saved or latest_checkpoint(cfg.checkpoint_dir) is None:
        path = checkpoint()
    else:  # resumed at its end: the checkpoint of this step is there, keep it as written
        path = Path(cfg.checkpoint_dir) / checkpoint_name(step)
    if writer:
        writer.close()
    print(f"final checkpoint: {path} (step {step}, {data_seen} positions, {train_seconds / 60:.1f} min "
          f"of training, peak memory {_peak_rss_mb():.0f} MB)")
    return {**metrics, "checkpoint": str(path), "step": step}
