"""Pieces the subcommands share: options generated from config dataclasses, argument types that
refuse what no command can use, and checks of devices and output paths.

A config dataclass documents each field with the string literal under it; `komi selfplay` and
`komi dqn train` turn every field into an option whose help is that text, whose metavar says
what the value is (`metavar`: N, MINUTES, DIR, LR... from the field's name and type, never
INT/STR), and whose choices, where the field takes one of a set of names, are that set
(`choices`). Nothing here imports torch unless a check needs it.
"""
from __future__ import annotations

import argparse
import ast
import inspect
import math
import re
from pathlib import Path

from komi.errors import KomiError


def field_docs(cls) -> dict[str, str]:
    """The docstring under each field of a dataclass (the string literal after it), stripped."""
    tree = ast.parse(inspect.getsource(cls))
    body = tree.body[0].body
    docs = {}
    for node, nxt in zip(body, body[1:]):
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant)
                and isinstance(nxt.value.value, str)):
            docs[node.target.id] = " ".join(nxt.value.value.split())
    return docs


# (pattern on the field name, metavar): the first match wins; else by type (int N, float X).
_METAVARS: list[tuple[str, str]] = [
    (r"^(out|.*_dir)$", "DIR"),
    (r"^(checkpoint|init)$", "CKPT"),
    (r"minutes$", "MINUTES"),
    (r"(seconds|timeout)$", "SECONDS"),
    (r"^(device|seed|komi)$", None),    # the name itself: DEVICE, SEED, KOMI
    (r"^(lr|learning_rate)$", "LR"),
    (r"(_prob|fraction)$", "FRACTION"),
    (r"(_weight|^weight_decay)$", "WEIGHT"),
    (r"threshold$", "VALUE"),
    (r"^eps_|epsilon$", "EPSILON"),
    (r"^env_id$", "ENV"),
    (r"size$", "N"),
]


def metavar(name: str, kind: str) -> str:
    """What an option's value is, from its field name and type ("int", "float", "str")."""
    for pattern, label in _METAVARS:
        if re.search(pattern, name):
            return label or name.upper()
    return {"int": "N", "float": "X"}.get(kind, name.upper())


def choices(name: str) -> tuple[str, ...] | None:
    """The set of names a config field named `name` takes, from where each set is documented
    (None: any value). Shared by the config dataclasses of self-play, pretraining and DQN."""
    if name == "preset":
        from agent.presets import PRESETS  # torch-free: `komi selfplay --help` stays fast
        return tuple(PRESETS)
    if name == "feature_set":
        from envs.go.features import FEATURE_SETS
        return tuple(FEATURE_SETS)
    return {
        "evaluation": ("elo", "gating", "none"),   # selfplay.loop.SelfPlayConfig.evaluation
        "optimizer": ("adamw", "sgd"),            # SelfPlayConfig / PretrainConfig.optimizer
        "torso": ("auto", "nature", "minatar", "mlp"),  # agent.dqn.config.DQNConfig.torso
        "loss": ("huber", "mse"),                 # DQNConfig.loss
    }.get(name)


def default_text(doc: str, default) -> tuple[str, str]:
    """(help without a "(None = ...)" remark, the default as shown): a field whose default is None
    documents what None means, and that meaning is its default, shown once."""
    doc = doc.strip().rstrip(".")
    shown = "none" if default is None else str(default)
    match = re.search(r"\s*\(None = ([^)]*)\)", doc)
    if match:
        doc = (doc[:match.start()] + doc[match.end():]).strip()
        if default is None:
            shown = match.group(1).strip()
    return doc, shown


# --- argument types -------------------------------------------------------------------------

def _number(kind, text: str):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{'an integer' if kind is int else 'a number'} expected, "
                                         f"got {text!r}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"a finite number expected, got {text!r}")
    return value


def finite_float(text: str) -> float:
    """An argparse type: a number (NaN and infinities are refused, naming the flag)."""
    return _number(float, text)


def _bounded(kind, low=None, high=None, what=None):
    def parse(text: str):
        value = _number(kind, text)
        if (low is not None and value < low) or (high is not None and value > high):
            if low is not None and high is not None:
                bounds = f"in {low}..{high}"
            else:
                bounds = f">= {low}" if low is not None else f"<= {high}"
            raise argparse.ArgumentTypeError(f"must be {what or ('an integer' if kind is int else 'a number')} "
                                             f"{bounds}, got {text!r}")
        return value
    return parse


def int_range(low: int | None = None, high: int | None = None):
    """An argparse type: an integer in [low, high] (either bound may be None)."""
    return _bounded(int, low, high)


def float_range(low: float | None = None, high: float | None = None, what: str | None = None):
    """An argparse type: a finite number in [low, high]."""
    return _bounded(float, low, high, what)


KOMI = float_range(-1000, 1000)
"""The argparse type of every --komi: what the native board accepts."""


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0."""
    value = _number(float, text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}")
    return value


# --- checks shared by the commands ----------------------------------------------------------

def check_device(name: str, flag: str = "--device", allow_auto: bool = False) -> None:
    """KomiError unless torch knows the device and this machine has it ("auto" where allowed)."""
    if allow_auto and name == "auto":
        return
    import torch

    try:
        device = torch.device(name)
    except (RuntimeError, ValueError, TypeError):
        auto = "auto, " if allow_auto else ""
        raise KomiError(f"{flag} {name!r}: not a torch device ({auto}cpu, cuda, cuda:1, mps...)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise KomiError(f"{flag} {name}: torch sees no CUDA device on this machine")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise KomiError(f"{flag} {name}: torch sees {torch.cuda.device_count()} CUDA device(s)")
    if device.type not in ("cpu", "cuda", "mps"):
        raise KomiError(f"{flag} {name}: komi runs on cpu, cuda or mps devices")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise KomiError(f"{flag} {name}: torch sees no MPS device on this machine")


def check_out_dir(path: str | Path, flag: str) -> None:
    """KomiError if `path` (a folder the command will create or reuse) exists and is no folder,
    or cannot be created because something above it is a file."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise KomiError(f"{flag} {p}: exists and is not a folder")
    for parent in p.parents:
        if parent.exists():
            if not parent.is_dir():
                raise KomiError(f"{flag} {p}: {parent} is not a folder")
            break


def check_file_folder(path: str | Path, flag: str) -> None:
    """KomiError unless the folder a file will be written to exists (nothing is created)."""
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise KomiError(f"{flag} {p}: no such folder {parent}")
    if p.is_dir():
        raise KomiError(f"{flag} {p}: is a folder, not a file name")
