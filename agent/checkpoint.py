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

A checkpoint is data from anywhere, so reading one trusts nothing: the JSON is read up to
MAX_METADATA_BYTES and must be an object whose known fields have their types and ranges; the
safetensors header (names, dtypes, shapes, offsets) is read and checked against the model before
any tensor is loaded or any network built; loaded weights must be finite. Every refusal is a
CheckpointError of one line naming the file and the field.
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

MAX_METADATA_BYTES = 16 << 20
"""Checkpoint metadata (and training-state) JSON larger than this is refused unread."""
MAX_HEADER_BYTES = 16 << 20
"""A safetensors header larger than this is refused (komi's are a few KB)."""

_CHECKPOINT_FORMAT = "komi reads only its own checkpoints: STEM.safetensors weights with STEM.json metadata"
_FLOAT_DTYPES = {"F16": 2, "BF16": 2, "F32": 4, "F64": 8}
_INT_DTYPES = {"I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1}
_DTYPE_BYTES = {**_FLOAT_DTYPES, **_INT_DTYPES, "BOOL": 1, "U16": 2, "U32": 4, "U64": 8,
                "F8_E4M3": 1, "F8_E5M2": 1}


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


def _show(value: Any, limit: int = 60) -> str:
    """repr(value), cut to `limit` characters (hostile metadata can hold megabytes)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _not_ours(path: Path) -> str:
    """What a file that is not a komi checkpoint file looks like, for the error message."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return "not a komi checkpoint"
    if head.startswith(b"PK\x03\x04"):
        return "a zip archive (PyTorch's torch.save format?), not a komi checkpoint; komi never unpickles"
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "a Python pickle (a PyTorch .pt/.pth file?), not a komi checkpoint; komi never unpickles"
    return "not a komi checkpoint"


def _read_json(path: Path, what: str) -> Any:
    """Parse a JSON file of at most MAX_METADATA_BYTES; CheckpointError naming `path` otherwise."""
    if not path.is_file():
        raise CheckpointError(f"{path}: not a regular file, so not {what}")
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_METADATA_BYTES + 1)
    except OSError as err:
        raise CheckpointError(f"{path}: unreadable {what} ({err.strerror or err})") from None
    if len(data) > MAX_METADATA_BYTES:
        raise CheckpointError(f"{path}: {what} larger than {MAX_METADATA_BYTES >> 20} MiB; not a komi checkpoint")
    if data[:1] == b"\x80" or data.startswith(b"PK\x03\x04"):
        raise CheckpointError(f"{path}: {_not_ours(path)}")
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise CheckpointError(f"{path}: unreadable {what} (not UTF-8 text)") from None
    except RecursionError:
        raise CheckpointError(f"{path}: unreadable {what} (JSON nested too deeply)") from None
    except ValueError as err:  # json.JSONDecodeError, or an integer of too many digits
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise CheckpointError(f"{path}: unreadable {what} ({first[:200]})") from None


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_fields(meta: dict[str, Any], where: Path) -> None:
    """Types and ranges of the metadata fields komi reads itself (others are kept as they are)."""
    version = meta.get("format_version", FORMAT_VERSION)
    if not _integer(version) or version < 1:
        raise CheckpointError(f"{where}: format_version must be a positive integer, got {_show(version)}")
    if version > FORMAT_VERSION:
        raise CheckpointError(f"{where}: format_version {version} was written by a newer komi "
                              f"(this one reads up to {FORMAT_VERSION}); upgrade komi")
    checks = {
        "board_size": (lambda v: _integer(v) and 2 <= v <= 25, "an integer between 2 and 25"),
        "step": (lambda v: _integer(v) and v >= 0, "an integer >= 0"),
        "data_seen": (lambda v: _integer(v) and v >= 0, "an integer >= 0"),
        "feature_set": (lambda v: isinstance(v, str), "a string"),
        "kind": (lambda v: isinstance(v, str), "a string"),
        "architecture": (lambda v: isinstance(v, dict), "a JSON object"),
        "config": (lambda v: isinstance(v, dict), "a JSON object"),
    }
    for name, (ok, what) in checks.items():
        if name in meta and not ok(meta[name]):
            raise CheckpointError(f"{where}: {name} must be {what}, got {_show(meta[name])}")


def _metadata_path(path: str | os.PathLike) -> Path:
    """The metadata file of the checkpoint `path` names; CheckpointError naming `path` (the file
    the user gave) when it is no komi checkpoint: a folder, a pickle, any other file."""
    p = Path(path)
    stem = _stem(p)
    meta_path = stem.with_name(stem.name + ".json")
    if meta_path.is_file():
        return meta_path
    weights = stem.with_name(stem.name + ".safetensors")
    if p.is_dir():
        raise CheckpointError(f"{p}: a folder, not a checkpoint; name a checkpoint in it, e.g. "
                              f"{p / 'step-00001000'} ({_CHECKPOINT_FORMAT})")
    if p.exists() and p != stem:  # a .json or .safetensors the user named, without its partner
        raise CheckpointError(f"{meta_path}: no such checkpoint metadata file ({p.name} has none next "
                              f"to it; {_CHECKPOINT_FORMAT})")
    if p.exists():
        raise CheckpointError(f"{p}: {_not_ours(p)} ({_CHECKPOINT_FORMAT})")
    if weights.is_file():
        raise CheckpointError(f"{meta_path}: no such checkpoint metadata file (the weights {weights.name} "
                              "have none; an interrupted save?)")
    raise CheckpointError(f"{p}: no such checkpoint ({_CHECKPOINT_FORMAT}; {meta_path.name} not found)")


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The JSON metadata of a checkpoint (stem or any of its files), checked to be a JSON object
    whose fields komi reads (board_size, step, feature_set, architecture...) have sane types."""
    meta_path = _metadata_path(path)
    meta = _read_json(meta_path, "checkpoint metadata")
    if not isinstance(meta, dict):
        raise CheckpointError(f"{meta_path}: checkpoint metadata must be a JSON object, not "
                              f"{'null' if meta is None else type(meta).__name__}")
    _check_fields(meta, meta_path)
    return meta


def check_metadata(meta: dict[str, Any], expect: dict[str, Any], where: str = "checkpoint") -> None:
    """Raise CheckpointError naming every key whose stored value differs from `expect`."""
    bad = [f"{k} is {meta.get(k)!r}, expected {v!r}" for k, v in expect.items()
           if v is not None and _jsonable(v) != meta.get(k)]
    if bad:
        raise CheckpointError(f"{where} does not fit: " + "; ".join(bad))


def read_tensor_header(path: str | os.PathLike) -> dict[str, tuple[str, tuple[int, ...]]]:
    """{name: (dtype, shape)} of a safetensors file, read from its header alone (no tensor is
    loaded); the header is checked to describe exactly the bytes of the file."""
    p = Path(path)
    if not p.is_file():
        what = "missing" if not p.exists() else "not a regular file"
        raise CheckpointError(f"{p}: weights file {what}")
    try:
        with open(p, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(8)
            n = int.from_bytes(head, "little") if len(head) == 8 else -1
            if n < 2 or n > MAX_HEADER_BYTES or 8 + n > size:
                kind = _not_ours(p)
                why = kind if kind != "not a komi checkpoint" else (
                    f"truncated or not safetensors ({size} bytes, header length {n if n >= 0 else '?'})")
                raise CheckpointError(f"{p}: unreadable weights: {why}")
            raw = f.read(n)
    except OSError as err:
        raise CheckpointError(f"{p}: unreadable weights ({err.strerror or err})") from None
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise CheckpointError(f"{p}: unreadable weights: the safetensors header is not JSON") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{p}: unreadable weights: the safetensors header is not a JSON object")
    data_bytes = size - 8 - n
    tensors: dict[str, tuple[str, tuple[int, ...]]] = {}
    spans = []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if not (isinstance(entry, dict) and isinstance(entry.get("dtype"), str)
                and isinstance(entry.get("shape"), list) and isinstance(entry.get("data_offsets"), list)):
            raise CheckpointError(f"{p}: unreadable weights: tensor {_show(name)} has no dtype, shape "
                                  "and data_offsets")
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if dtype not in _DTYPE_BYTES:
            raise CheckpointError(f"{p}: tensor {_show(name)} has unknown dtype {_show(dtype)}")
        if not all(_integer(d) and 0 <= d < 1 << 40 for d in shape) or len(shape) > 8:
            raise CheckpointError(f"{p}: tensor {_show(name)} has a bad shape {_show(shape)}")
        if len(offsets) != 2 or not all(_integer(o) for o in offsets):
            raise CheckpointError(f"{p}: tensor {_show(name)} has bad data_offsets {_show(offsets)}")
        numel = 1
        for d in shape:
            numel *= d
        begin, end = offsets
        if not 0 <= begin <= end <= data_bytes or end - begin != numel * _DTYPE_BYTES[dtype]:
            raise CheckpointError(f"{p}: unreadable weights: tensor {_show(name)} ({dtype} {shape}) does not "
                                  f"fit its data_offsets {offsets} in a file of {size} bytes (truncated?)")
        tensors[name] = (dtype, tuple(shape))
        spans.append((begin, end))
    spans.sort()
    if any(a[1] > b[0] for a, b in zip(spans, spans[1:])):
        raise CheckpointError(f"{p}: unreadable weights: tensors overlap in the file")
    return tensors


def _expected_tensors(model: torch.nn.Module) -> dict[str, tuple[bool, tuple[int, ...]]]:
    """{name: (is floating point, shape)} of a model's state_dict (works on the meta device)."""
    module = getattr(model, "_orig_mod", model)
    return {k: (v.is_floating_point(), tuple(v.shape)) for k, v in module.state_dict().items()}


def check_tensors_fit(path: str | os.PathLike, expected: dict[str, tuple[bool, tuple[int, ...]]]) -> None:
    """The safetensors file at `path` holds exactly the tensors `expected` names, with their
    shapes and a float dtype where floats are expected (an integer one elsewhere), before
    anything is loaded."""
    p = Path(path)
    found = read_tensor_header(p)
    missing = [k for k in expected if k not in found]
    unexpected = [k for k in found if k not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing[:3])}" + (f" and {len(missing) - 3} more" if len(missing) > 3 else ""))
        if unexpected:
            parts.append(f"unexpected {', '.join(_show(k, 40) for k in unexpected[:3])}"
                         + (f" and {len(unexpected) - 3} more" if len(unexpected) > 3 else ""))
        raise CheckpointError(f"{p}: weights do not fit the model: {'; '.join(parts)}")
    for name, (is_float, shape) in expected.items():
        dtype, stored = found[name]
        if stored != shape:
            raise CheckpointError(f"{p}: weights do not fit the model: {name} has shape {list(stored)}, "
                                  f"the architecture needs {list(shape)}")
        if (dtype in _FLOAT_DTYPES) != is_float or (not is_float and dtype not in _INT_DTYPES):
            raise CheckpointError(f"{p}: weights do not fit the model: {name} is {dtype}, the architecture "
                                  f"needs {'a float (F16, BF16, F32, F64)' if is_float else 'an integer'} tensor")


def _check_finite(path: Path, state: dict[str, torch.Tensor]) -> None:
    for name, t in state.items():
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise CheckpointError(f"{path}: tensor {name} holds NaN or infinite values (a diverged run?); "
                                  "use an earlier checkpoint")
        if name.endswith("running_var") and t.numel() and float(t.min()) < 0:
            raise CheckpointError(f"{path}: tensor {name} holds negative variances")


def load_weights(path: str | os.PathLike, model: torch.nn.Module,
                 expect: dict[str, Any] | None = None) -> dict[str, Any]:
    """Load weights into `model` after checking metadata against `expect`, the file's tensors
    against the model (names, shapes, dtypes, before loading) and their values (finite);
    returns the metadata."""
    stem = _stem(path)
    meta = read_metadata(path)
    check_metadata(meta, expect or {}, where=str(stem))
    weights_path = stem.with_name(stem.name + ".safetensors")
    check_tensors_fit(weights_path, _expected_tensors(model))
    try:
        state = load_file(str(weights_path))
    except (OSError, SafetensorError) as err:
        raise CheckpointError(f"{weights_path}: unreadable weights ({err})") from None
    _check_finite(weights_path, state)
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
    skeleton = _read_json(json_path, "training state")
    read_tensor_header(tensor_path)
    try:
        tensors = load_file(str(tensor_path))
    except (OSError, SafetensorError) as err:
        raise CheckpointError(f"{tensor_path}: unreadable training state ({err})") from None
    try:
        state = _join_state(skeleton, tensors)
    except (KeyError, TypeError, ValueError, RecursionError) as err:
        raise CheckpointError(f"{json_path}: malformed training state ({type(err).__name__}: "
                              f"{_show(str(err), 80)})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{json_path}: malformed training state (a {type(state).__name__}, "
                              "not a dict of states)")
    return state


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


def _network_config(path: str | os.PathLike, meta: dict[str, Any], where: Path):
    """The NetworkConfig of a checkpoint's metadata, every field checked (CheckpointError)."""
    from agent.network import NetworkConfig, NetworkConfigError
    from envs.go.features import FEATURE_SETS

    arch = meta.get("architecture")
    if arch is None:
        raise CheckpointError(f"{where}: no architecture field, so not a network checkpoint")
    if arch.get("kind") != "PolicyValueNet":
        raise CheckpointError(f"{where}: not a PolicyValueNet checkpoint "
                              f"(architecture.kind {_show(arch.get('kind'))})")
    if "config" not in arch:
        raise CheckpointError(f"{where}: architecture.config missing")
    try:
        config = NetworkConfig.from_dict(arch["config"])
    except (NetworkConfigError, TypeError) as err:
        text = str(err).replace("NetworkConfig.", "architecture.config.").replace("NetworkConfig", "architecture.config")
        raise CheckpointError(f"{where}: {text}") from None
    if "board_size" not in meta:
        raise CheckpointError(f"{where}: board_size missing")
    if config.board_size != meta["board_size"]:
        raise CheckpointError(f"{where}: architecture board size {config.board_size} "
                              f"disagrees with metadata board_size {meta['board_size']}")
    if "feature_set" not in meta:
        raise CheckpointError(f"{where}: feature_set missing (one of {', '.join(FEATURE_SETS)})")
    if meta["feature_set"] not in FEATURE_SETS:
        raise CheckpointError(f"{where}: feature_set must be one of {', '.join(FEATURE_SETS)}, "
                              f"got {_show(meta['feature_set'])}")
    return config


def _check_network_files(path: str | os.PathLike, board_size: int | None, feature_set: str | None):
    """(metadata, NetworkConfig) of a network checkpoint, its metadata and the names, shapes and
    dtypes of its weights checked against the architecture (a skeleton on torch's meta device,
    so nothing is allocated); no tensor is loaded."""
    from agent.network import PolicyValueNet

    meta = read_metadata(path)
    where = _metadata_path(path)
    config = _network_config(path, meta, where)
    check_metadata(meta, {"board_size": board_size, "feature_set": feature_set}, where=str(_stem(path)))
    with torch.device("meta"):
        skeleton = PolicyValueNet(config)
    stem = _stem(path)
    check_tensors_fit(stem.with_name(stem.name + ".safetensors"), _expected_tensors(skeleton))
    return meta, config


def check_network(path: str | os.PathLike, board_size: int | None = None,
                  feature_set: str | None = None) -> dict[str, Any]:
    """Check a network checkpoint without building it: metadata, architecture, the weights'
    names, shapes and dtypes, their values (finite), and that its feature set gives the
    network's input planes, which playing needs; returns the metadata. CheckpointError names
    the file and the field."""
    from envs.go.features import num_planes

    meta, config = _check_network_files(path, board_size, feature_set)
    planes = num_planes(meta["feature_set"])
    if config.in_planes != planes:
        raise CheckpointError(f"{_metadata_path(path)}: architecture.config.in_planes is {config.in_planes}, "
                              f"but feature_set {meta['feature_set']!r} gives {planes} planes")
    stem = _stem(path)
    weights_path = stem.with_name(stem.name + ".safetensors")
    try:
        state = load_file(str(weights_path))
    except (OSError, SafetensorError) as err:
        raise CheckpointError(f"{weights_path}: unreadable weights ({err})") from None
    _check_finite(weights_path, state)
    return meta


def load_network(path: str | os.PathLike, board_size: int | None = None,
                 feature_set: str | None = None, device: str = "cpu"):
    """Build a PolicyValueNet from a checkpoint's metadata and load its weights.

    Everything is checked before the network is built: the metadata's fields (types, ranges,
    the architecture's limits), then the weights' names, shapes and dtypes against the
    architecture; the loaded weights must be finite. Raises CheckpointError when board_size /
    feature_set are given and do not match. Returns (net in eval mode, metadata).
    """
    from agent.network import PolicyValueNet

    _, config = _check_network_files(path, board_size, feature_set)
    net = PolicyValueNet(config)
    meta = load_weights(path, net)
    return net.to(device).eval(), meta
