"""Checkpoints as data: safetensors weights + JSON metadata, optimizer state kept separately.

A checkpoint is a group of files sharing a stem, e.g. `checkpoints/step-00001000`:

    step-00001000.safetensors        model weights (state_dict tensors)
    step-00001000.json               metadata: architecture, board size, feature set, step,
                                     data seen, metrics, the run's config dataclass as a dict
    step-00001000.optim.safetensors  optimizer/scheduler/RNG tensors      (optional)
    step-00001000.optim.json         the rest of their state, tensors replaced by references

Every file is written to a temporary name and moved into place with os.replace; the metadata
JSON is written last, so a checkpoint without it is incomplete and `latest_checkpoint` skips it.
Nothing is ever unpickled. Generic: used by the Go network and the DQN agents alike.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from komi.errors import KomiError

FORMAT_VERSION = 1
_STEM_RE = re.compile(r"^step-(\d+)$")


class CheckpointError(KomiError):
    """A checkpoint is missing, unreadable, or does not fit what the caller expects."""


def _stem(path: str | os.PathLike) -> Path:
    """Accepts the stem or any of its files and returns the stem."""
    p = Path(path)
    for suffix in (".optim.safetensors", ".optim.json", ".safetensors", ".json"):
        if p.name.endswith(suffix):
            return p.with_name(p.name[: -len(suffix)])
    return p


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _atomic_save_tensors(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp))
    os.replace(tmp, path)


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
        return value.item()
    return value


# --- nested state (optimizer.state_dict(), scheduler.state_dict()) <-> tensors + JSON -----------

def _split_state(obj: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """Replace tensors in a nested structure by {"__tensor__": key}; keep key types exactly."""
    if isinstance(obj, torch.Tensor):
        key = prefix or "t"
        tensors[key] = obj
        return {"__tensor__": key}
    if isinstance(obj, dict):
        return {"__dict__": [[_split_state(k, "", {}), _split_state(v, f"{prefix}.{i}", tensors)]
                             for i, (k, v) in enumerate(obj.items())]}
    if isinstance(obj, tuple):
        return {"__tuple__": [_split_state(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_split_state(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise CheckpointError(f"cannot store a {type(obj).__name__} in a checkpoint state (only "
                          "tensors, numbers, strings, lists and dicts)")


def _join_state(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        if "__dict__" in obj:
            return {_join_state(k, tensors): _join_state(v, tensors) for k, v in obj["__dict__"]}
        if "__tuple__" in obj:
            return tuple(_join_state(v, tensors) for v in obj["__tuple__"])
    if isinstance(obj, list):
        return [_join_state(v, tensors) for v in obj]
    return obj


# --- save / load --------------------------------------------------------------------------------

def save_checkpoint(path: str | os.PathLike, model: torch.nn.Module, metadata: dict[str, Any],
                    training_state: dict[str, Any] | None = None) -> Path:
    """Write weights, metadata and (optionally) training state under the stem `path`.

    metadata: JSON-able dict (dataclasses are converted); conventionally holds "architecture"
    ({"kind": ..., "config": {...}}), "board_size", "feature_set", "step", "data_seen",
    "metrics", "config". training_state: e.g. {"optimizer": opt.state_dict(), "scheduler":
    sched.state_dict(), "torch_rng": torch.get_rng_state()} (tensors go to safetensors).
    Returns the stem.
    """
    stem = _stem(path)
    stem.parent.mkdir(parents=True, exist_ok=True)
    if training_state is not None:
        tensors: dict[str, torch.Tensor] = {}
        skeleton = _split_state(training_state, "s", tensors)
        _atomic_save_tensors(stem.with_name(stem.name + ".optim.safetensors"), tensors)
        _atomic_write_bytes(stem.with_name(stem.name + ".optim.json"),
                            json.dumps(skeleton).encode())
    module = getattr(model, "_orig_mod", model)  # unwrap torch.compile
    _atomic_save_tensors(stem.with_name(stem.name + ".safetensors"), module.state_dict())
    meta = {"format_version": FORMAT_VERSION, **_jsonable(metadata)}
    _atomic_write_bytes(stem.with_name(stem.name + ".json"),
                        json.dumps(meta, indent=1, sort_keys=True).encode())
    return stem


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The JSON metadata of a checkpoint (stem or any of its files)."""
    stem = _stem(path)
    meta_path = stem.with_name(stem.name + ".json")
    if not meta_path.is_file():
        raise CheckpointError(f"{meta_path}: no such checkpoint metadata file")
    try:
        return json.loads(meta_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{meta_path}: unreadable checkpoint metadata ({err})") from None


def check_metadata(meta: dict[str, Any], expect: dict[str, Any], where: str = "checkpoint") -> None:
    """Raise CheckpointError naming every key whose stored value differs from `expect`."""
    bad = [f"{k} is {meta.get(k)!r}, expected {v!r}" for k, v in expect.items()
           if v is not None and _jsonable(v) != meta.get(k)]
    if bad:
        raise CheckpointError(f"{where} does not fit: " + "; ".join(bad))


def load_weights(path: str | os.PathLike, model: torch.nn.Module,
                 expect: dict[str, Any] | None = None) -> dict[str, Any]:
    """Load weights into `model` after checking metadata against `expect`; returns metadata."""
    stem = _stem(path)
    meta = read_metadata(stem)
    check_metadata(meta, expect or {}, where=str(stem))
    weights_path = stem.with_name(stem.name + ".safetensors")
    try:
        state = load_file(str(weights_path))
    except (OSError, SafetensorError) as err:
        raise CheckpointError(f"{weights_path}: unreadable weights ({err})") from None
    module = getattr(model, "_orig_mod", model)
    try:
        module.load_state_dict(state)
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0]
        raise CheckpointError(f"{weights_path}: weights do not fit the model: {first}") from None
    return meta


def load_training_state(path: str | os.PathLike) -> dict[str, Any]:
    """The training state saved with a checkpoint (optimizer, scheduler, RNG...)."""
    stem = _stem(path)
    json_path = stem.with_name(stem.name + ".optim.json")
    tensor_path = stem.with_name(stem.name + ".optim.safetensors")
    if not json_path.is_file() or not tensor_path.is_file():
        raise CheckpointError(f"{stem}: no training state saved with this checkpoint")
    try:
        skeleton = json.loads(json_path.read_text())
        tensors = load_file(str(tensor_path))
    except (OSError, json.JSONDecodeError, SafetensorError) as err:
        raise CheckpointError(f"{stem}: unreadable training state ({err})") from None
    return _join_state(skeleton, tensors)


def checkpoint_name(step: int) -> str:
    return f"step-{step:08d}"


def latest_checkpoint(directory: str | os.PathLike) -> Path | None:
    """The stem of the complete checkpoint with the highest step in `directory`, or None."""
    d = Path(directory)
    if not d.is_dir():
        return None
    best: tuple[int, Path] | None = None
    for meta in d.glob("step-*.json"):
        if meta.name.endswith(".optim.json"):
            continue
        stem = _stem(meta)
        m = _STEM_RE.match(stem.name)
        if m and stem.with_name(stem.name + ".safetensors").is_file():
            step = int(m.group(1))
            if best is None or step > best[0]:
                best = (step, stem)
    return None if best is None else best[1]


# --- the Go policy/value network ----------------------------------------------------------------

def network_metadata(net: torch.nn.Module, feature_set: str, **extra: Any) -> dict[str, Any]:
    """Metadata describing a PolicyValueNet, plus any extra fields (step, metrics, config...)."""
    cfg = getattr(net, "_orig_mod", net).config
    return {"architecture": {"kind": "PolicyValueNet", "config": cfg.to_dict()},
            "board_size": cfg.board_size, "feature_set": feature_set, **extra}


def load_network(path: str | os.PathLike, board_size: int | None = None,
                 feature_set: str | None = None, device: str = "cpu"):
    """Build a PolicyValueNet from a checkpoint's metadata and load its weights.

    Raises CheckpointError when board_size / feature_set are given and do not match.
    Returns (net in eval mode, metadata).
    """
    from agent.network import NetworkConfig, PolicyValueNet

    meta = read_metadata(path)
    check_metadata(meta, {"board_size": board_size, "feature_set": feature_set}, where=str(_stem(path)))
    arch = meta.get("architecture") or {}
    if arch.get("kind") != "PolicyValueNet":
        raise CheckpointError(f"{_stem(path)}: not a PolicyValueNet checkpoint "
                              f"(architecture kind {arch.get('kind')!r})")
    try:
        config = NetworkConfig.from_dict(arch["config"])
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{_stem(path)}: bad architecture config ({err})") from None
    if config.board_size != meta.get("board_size"):
        raise CheckpointError(f"{_stem(path)}: architecture board size {config.board_size} "
                              f"disagrees with metadata board_size {meta.get('board_size')}")
    net = PolicyValueNet(config)
    load_weights(path, net)
    return net.to(device).eval(), meta
