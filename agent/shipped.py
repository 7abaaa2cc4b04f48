"""The networks that ship with komi (package data in agent/models/) and the default player.

`komi play`, `komi gtp` and the tournament's `shipped` player use, when no checkpoint is named:
the newest checkpoint in `checkpoints/` if there is one, else the shipped network for the board
size, else (a size komi ships no network for) the random player. Each says on stderr what it
loaded. docs/networks.md describes the shipped networks.
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Sequence

from agent.checkpoint import CheckpointError, latest_checkpoint, read_metadata

MODELS_DIR = Path(__file__).resolve().parent / "models"
"""Where the shipped networks are installed (safetensors + JSON, one stem per board size)."""

SHIPPED_STEMS = {9: "komi-9x9", 19: "komi-19x19"}
"""Board size -> file stem of the network shipped for it."""

REINSTALL = "reinstall komi (pip install --force-reinstall komi, or pip install -e . in a clone)"


def shipped_sizes() -> list[int]:
    """Board sizes komi ships a network for in this installation."""
    return [n for n, stem in sorted(SHIPPED_STEMS.items()) if (MODELS_DIR / f"{stem}.json").is_file()]


def shipped_network(size: int) -> Path | None:
    """The stem of the network shipped for `size`, checked to be complete and readable; None if
    komi ships none for that size. A missing or corrupt file raises CheckpointError naming it."""
    stem_name = SHIPPED_STEMS.get(size)
    if stem_name is None:
        return None
    stem = MODELS_DIR / stem_name
    meta_path, weights = stem.with_name(stem_name + ".json"), stem.with_name(stem_name + ".safetensors")
    if not meta_path.is_file():
        return None
    if not weights.is_file():
        raise CheckpointError(f"{weights}: the network shipped with komi is missing; {REINSTALL}")
    from agent.checkpoint import check_network

    try:
        meta = check_network(stem)  # metadata, architecture and the weights' header
    except CheckpointError as err:
        raise CheckpointError(f"{err}; {REINSTALL}") from None
    if meta.get("board_size") != size:
        raise CheckpointError(f"{meta_path}: the shipped network is not for {size}x{size}; {REINSTALL}")
    return stem


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def default_checkpoint(size: int, checkpoint_dir: str | Path | None = "checkpoints") -> tuple[Path | None, str]:
    """(stem, where it came from) of the network a command uses when none is named: the newest
    checkpoint in `checkpoint_dir` for this size (None: not looked for), else the shipped one,
    else (None, why)."""
    found = latest_checkpoint(Path(checkpoint_dir)) if checkpoint_dir is not None else None
    if found is not None:
        try:
            if read_metadata(found).get("board_size") == size:
                return found, f"newest checkpoint in {checkpoint_dir}/"
        except CheckpointError:
            pass
    stem = shipped_network(size)
    if stem is not None:
        return stem, "shipped with komi"
    where = f" and {checkpoint_dir}/ has none for it" if checkpoint_dir is not None else ""
    return None, f"komi ships no {size}x{size} network{where}"


class DefaultPlayer:
    """A Player that, at each reset(size), plays with the default network for that size (built
    once per size by `make(stem)`) or the random player where there is none; says which on stderr.

    Everything else (play, genmove, analyze, estimate...) goes to the current player.
    """

    def __init__(self, make: Callable, make_random: Callable, checkpoint_dir: str | Path | None = "checkpoints",
                 name: str = "komi", log: Callable[[str], None] = say) -> None:
        self._make, self._make_random = make, make_random
        self.checkpoint_dir, self.name, self.log = checkpoint_dir, name, log
        self._players: dict[int, object] = {}
        self.current = None

    def player_for(self, size: int):
        if size not in self._players:
            stem, where = default_checkpoint(size, self.checkpoint_dir)
            if stem is None:
                self.log(f"komi: {size}x{size}: playing uniformly random moves ({where})")
                self._players[size] = self._make_random()
            else:
                self.log(f"komi: {size}x{size}: network {stem} ({where})")
                self._players[size] = self._make(stem)
        return self._players[size]

    def reset(self, size: int, komi: float) -> None:
        self.current = self.player_for(size)
        self.current.reset(size, komi)

    def setup(self, black: Sequence[int], white: Sequence[int]) -> None:
        self.current.setup(black, white)

    def play(self, move: int, color: int) -> None:
        self.current.play(move, color)

    def genmove(self, color: int) -> int:
        return self.current.genmove(color)

    def analyze(self):
        return self.current.analyze() if self.current is not None else None

    def set_move_time(self, seconds: float | None) -> None:
        for player in self._players.values():
            player.set_move_time(seconds)
        self._move_seconds = seconds

    def final_score(self) -> str | None:
        return None

    @property
    def has_ownership(self) -> bool:
        return bool(getattr(self.current, "has_ownership", False))

    @property
    def analyze_position(self):
        fn = getattr(self.current, "analyze_position", None)
        if fn is None:
            raise AttributeError("analyze_position")
        return fn

    def estimate(self, board):
        return self.current.estimate(board)

    @property
    def board(self):
        return getattr(self.current, "board", None)

    def close(self) -> None:
        for player in self._players.values():
            player.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def ship(checkpoint: str | Path, provenance: dict, models_dir: Path = MODELS_DIR) -> Path:
    """Copy a checkpoint's network into the package as the shipped one for its board size:
    fp16 weights (half the bytes; loaded back into fp32), its metadata plus `provenance` (the
    data, commands, CPU time and measured strength that made it). Returns the new stem."""
    import json

    import torch
    from safetensors.torch import load_file, save_file

    from agent.checkpoint import _stem, check_network

    src = _stem(checkpoint)
    meta = check_network(checkpoint)  # a network komi can play: fields, architecture, tensors
    size = meta["board_size"]
    if size not in SHIPPED_STEMS:
        raise CheckpointError(f"{src}: komi ships networks for {sorted(SHIPPED_STEMS)} only, not {size}x{size}")
    state = load_file(str(src.with_name(src.name + ".safetensors")))
    half = {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in state.items()}
    if any(not torch.isfinite(v.float()).all() for v in half.values() if v.is_floating_point()):
        raise CheckpointError(f"{src}: weights overflow fp16; ship it in fp32 instead")
    stem = models_dir / SHIPPED_STEMS[size]
    models_dir.mkdir(parents=True, exist_ok=True)
    weights = stem.with_name(stem.name + ".safetensors")
    save_file(half, str(weights))
    weights.chmod(0o644)  # package data: readable by every user of an installation
    shipped_meta = {k: v for k, v in meta.items() if k not in ("shards",)}
    shipped_meta["weights_dtype"] = "float16"
    shipped_meta["source_checkpoint"] = src.name
    shipped_meta["provenance"] = provenance
    stem.with_name(stem.name + ".json").write_text(json.dumps(shipped_meta, indent=1, sort_keys=True) + "\n")
    return stem


def _main(argv: list[str] | None = None) -> int:
    """python -m agent.shipped CHECKPOINT --provenance FILE.json: ship a network (maintainers)."""
    import argparse
    import json

    p = argparse.ArgumentParser(prog="python -m agent.shipped", description=_main.__doc__)
    p.add_argument("checkpoint")
    p.add_argument("--provenance", required=True, help="JSON file: data, commands, CPU time, strength")
    args = p.parse_args(argv)
    stem = ship(args.checkpoint, json.loads(Path(args.provenance).read_text()))
    print(f"shipped {stem}")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
