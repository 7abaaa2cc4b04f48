"""The self-play training loop: generate games with search, train on them, evaluate, repeat.

    network (player) --W workers x N games, BatchedSearch--> finished games
        --> replay buffer on disk (last K games) --> trainer (8 symmetries) --> checkpoint
        --> evaluation: Elo tracking (AlphaZero; default) or gating (AlphaGo Zero) --> player

Everything lives under `out` (default checkpoints/): step-*.safetensors/.json checkpoints (with
optimizer state), replay/ shards, sgf/ sample games, tb/ TensorBoard logs, player.json (the
checkpoint the workers play with) and selfplay_state.json (counters, evaluation results). Each is
written atomically, so a kill (even kill -9) loses at most the games not yet in a shard and the
steps since the last checkpoint, and `resume=True` continues from the latest checkpoint with the
same step count: the game counter continues from the games the shards on disk account for (every
shard records the running total), sample SGF names continue from there and never overwrite an
earlier one, the training steps lost since the checkpoint are trained again, and temporary files
a kill left behind are removed.
"""
from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from komi.errors import KomiError


@dataclass(frozen=True)
class SelfPlayConfig:
    """One self-play run; saved in every checkpoint's metadata."""

    board_size: int = 9
    """Board side N."""
    komi: float = 7.5
    """Komi (area scoring; a half point means no draws)."""
    max_moves: int | None = None
    """Move cap per game (None = 3 * N * N); a capped game is scored as it stands."""
    preset: str = "cpu"
    """Network preset for a run from scratch (agent.network.PRESETS)."""
    feature_set: str = "extended"
    """Input feature set of the native encoder."""
    full_visits: int = 200
    """Visits of a full search (its visit distribution becomes a policy target)."""
    fast_visits: int = 40
    """Visits of a fast search (playout-cap randomisation; not a training target)."""
    full_search_prob: float = 0.25
    """Probability that a move gets a full search."""
    c_puct: float = 1.5
    """PUCT exploration constant."""
    fpu_reduction: float = 0.25
    """First-play urgency: unvisited children get the parent's value minus this."""
    noise_fraction: float = 0.25
    """Weight of the Dirichlet noise at the root of full searches (alpha scales with the board)."""
    leaves_per_tree: int = 8
    """Leaves selected per tree and round (virtual loss)."""
    temperature: float = 1.0
    """Move-choice temperature for the opening moves."""
    temperature_moves: int | None = None
    """Moves played with temperature before argmax (None = N * N // 8)."""
    no_pass_before: int | None = None
    """No pass before this move while another move is legal (None = N*N // 2; keeps early nets playing)."""
    games_per_worker: int = 16
    """Games each worker searches at once (one network call per round over all of them)."""
    workers: int = 1
    """Self-play worker processes (0 = play in the learner's process, alternating with training)."""
    worker_threads: int = 1
    """torch threads per worker process."""
    resign_threshold: float = -0.9
    """Resign when the root value for the side to move is below this (-1 = never resign)."""
    resign_disabled_fraction: float = 0.1
    """Fraction of games played out without resignation to measure the false-resign rate."""
    window_games: int = 20_000
    """Replay window: train on the last K games."""
    games_per_shard: int = 16
    """Finished games collected before they are written as one replay shard."""
    batch_size: int = 256
    """Positions per training step."""
    optimizer: str = "adamw"
    """"adamw" or "sgd" (Nesterov momentum 0.9)."""
    lr: float = 1e-3
    """Learning rate."""
    weight_decay: float = 1e-4
    """Weight decay (not on biases and batch-norm parameters)."""
    value_weight: float = 1.0
    """Weight of the value MSE in the loss."""
    ownership_weight: float = 1.5
    """Weight of the ownership loss (games played out; a net without the head ignores it)."""
    score_weight: float = 0.02
    """Weight of the score loss (Huber on margin / N)."""
    replay_ratio: float = 4.0
    """Training samples drawn per new full-search position (sets the train/self-play balance)."""
    min_positions: int = 256
    """Full-search positions in the window before training starts (about 15 games on 9x9)."""
    checkpoint_every: int = 50
    """Training steps between checkpoints (the workers switch to each new one in Elo mode)."""
    checkpoint_minutes: float | None = 10.0
    """Also checkpoint when this many minutes passed since the last one and the net has trained
    since (a kill loses at most that much training; None = by steps only)."""
    evaluation: str = "elo"
    """"elo" (AlphaZero: always play the latest net, rate it) , "gating" (AlphaGo Zero), "none"."""
    eval_every: int = 100
    """Training steps between evaluations (a multiple of checkpoint_every)."""
    eval_games: int = 20
    """Games per evaluation match."""
    eval_visits: int = 64
    """Visits per move in evaluation games."""
    eval_temperature_moves: int = 4
    """Opening moves sampled with temperature 1 in evaluation games (for variety)."""
    gate_threshold: float = 0.55
    """Gating: the candidate replaces the best network at this score or better."""
    sgf_every: int = 50
    """Save every k-th finished game as SGF under out/sgf (0 = none)."""
    steps: int | None = None
    """Stop after this many training steps (None = no limit)."""
    games: int | None = None
    """Stop after this many self-play games (None = no limit)."""
    minutes: float | None = None
    """Stop after this many minutes (None = no limit; run until interrupted)."""
    out: str = "checkpoints"
    """Output directory (checkpoints, replay buffer, SGF, state)."""
    log_dir: str | None = "<out>/tb"
    """TensorBoard log directory; "<out>" stands for the out directory (None or "" = no logs)."""
    device: str = "auto"
    """Device of the learner and workers: "cpu", "cuda" or "auto"."""
    threads: int | None = None
    """torch threads of the learner (None = the cores the workers leave, at least 1)."""
    seed: int = 0
    """Seed of the initial weights, games and data order."""

    def __post_init__(self) -> None:
        def need(ok: bool, what: str) -> None:
            if not ok:
                raise KomiError(f"selfplay: {what}")

        need(2 <= self.board_size <= 19, f"board size must be 2..19, got {self.board_size}")
        need(self.full_visits >= 1 and self.fast_visits >= 1, "visits must be >= 1")
        need(0.0 <= self.full_search_prob <= 1.0, "full-search probability must be in [0, 1]")
        need(self.games_per_worker >= 1, "games per worker must be >= 1")
        need(self.workers >= 0, "workers must be >= 0")
        need(self.window_games >= 1, "the replay window must hold at least 1 game")
        need(self.batch_size >= 1, "batch size must be >= 1")
        need(self.optimizer in ("adamw", "sgd"), f"optimizer must be adamw or sgd, not {self.optimizer!r}")
        need(self.evaluation in ("elo", "gating", "none"),
             f"evaluation must be elo, gating or none, not {self.evaluation!r}")
        need(self.checkpoint_every >= 1, "checkpoint-every must be >= 1")
        need(self.checkpoint_minutes is None or self.checkpoint_minutes > 0,
             f"checkpoint-minutes must be > 0 (or none), got {self.checkpoint_minutes}")
        need(self.min_positions >= 1, f"min-positions must be >= 1, got {self.min_positions}")
        need(self.eval_every % self.checkpoint_every == 0,
             "eval-every must be a multiple of checkpoint-every")
        need(self.eval_games >= 1, "eval games must be >= 1")
        need(-1.0 <= self.resign_threshold <= 1.0, "resign threshold must be in [-1, 1]")

    def tensorboard_dir(self) -> Path | None:
        """The TensorBoard log directory with "<out>" filled in (None = no logs)."""
        if not self.log_dir:
            return None
        return Path(self.log_dir.replace("<out>", self.out))

    @property
    def move_cap(self) -> int:
        """The move cap per game."""
        return self.max_moves if self.max_moves is not None else 3 * self.board_size ** 2

    @property
    def first_pass_move(self) -> int:
        """The first move number at which self-play may pass."""
        return self.no_pass_before if self.no_pass_before is not None else self.board_size ** 2 // 2

    @property
    def opening_moves(self) -> int:
        """Moves played with temperature before argmax."""
        return self.temperature_moves if self.temperature_moves is not None else self.board_size ** 2 // 8


def _atomic_json(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


_TMP_RE = re.compile(r"\.tmp(\d*)(\.[A-Za-z0-9]+)?$")


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # called before this process writes anything: a reused pid of a killed run
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, not ours
    return True


def remove_stale_temporaries(directory: Path) -> list[Path]:
    """Delete the temporary files (`<name>.tmp<pid>`, `<name>.tmp`) a killed writer left in
    `directory`, except those of another process still running; returns what was deleted.
    Call it before this process writes there (at the start of a run or a resume)."""
    removed: list[Path] = []
    try:
        entries = list(directory.iterdir())
    except OSError:
        return removed
    for p in entries:
        m = _TMP_RE.search(p.name)
        if m is None or not p.is_file():
            continue
        if m.group(1) and _process_alive(int(m.group(1))):
            continue
        try:
            p.unlink()
        except OSError:
            continue
        removed.append(p)
    return removed


def read_player(out: Path) -> str | None:
    """Stem name of the checkpoint the workers should play with (out/player.json)."""
    try:
        return json.loads((out / "player.json").read_text())["checkpoint"]
    except (OSError, ValueError, KeyError):
        return None


def write_player(out: Path, stem_name: str) -> None:
    _atomic_json(out / "player.json", {"checkpoint": stem_name})


def device_of(name: str):
    """The torch.device for "cpu", "cuda" or "auto"."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise KomiError("device cuda asked for, but torch sees no CUDA device")
    return torch.device(name)


def initial_network(cfg: SelfPlayConfig, init: str | None):
    """A fresh network (preset, seeded) or the --init checkpoint's; checks size and feature set."""
    import torch

    from agent.checkpoint import load_network
    from agent.network import PolicyValueNet, preset
    from envs.go import features

    if init is not None:
        net, _ = load_network(init, board_size=cfg.board_size, feature_set=cfg.feature_set)
        return net
    torch.manual_seed(cfg.seed)
    return PolicyValueNet(preset(cfg.preset, board_size=cfg.board_size,
                                 in_planes=features.num_planes(cfg.feature_set)))


def run_selfplay(cfg: SelfPlayConfig, init: str | None = None, resume: bool = False,
                 progress: bool = True, search_factory: Callable | None = None,
                 ray_address: str | None = None) -> dict:
    """Run (or resume) self-play training until a limit in cfg is reached or Ctrl-C.

    search_factory: builds the batched search (default agent.search.BatchedSearch); it must be
    picklable (a module-level class or function) to reach worker processes and Ray actors.
    ray_address: run the self-play actors on Ray ("local" starts a local instance).
    Returns a summary: step, games, checkpoint, losses, Elo/gating results, false-resign rate.
    """
    from selfplay.learner import Learner

    out = Path(cfg.out)
    learner = Learner(cfg, out, init=init, resume=resume, progress=progress,
                      search_factory=search_factory)
    if ray_address is not None:
        from selfplay.distributed import RaySource

        source = RaySource(cfg, out, ray_address, search_factory=search_factory)
    elif cfg.workers == 0:
        from selfplay.workers import InProcessSource

        source = InProcessSource(cfg, out, search_factory=search_factory)
    else:
        from selfplay.workers import ProcessSource

        source = ProcessSource(cfg, out, search_factory=search_factory)
    return learner.run(source)

