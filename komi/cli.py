"""The `komi` console command: argument parsing only; each subcommand calls one function.

Subcommand modules are imported lazily so that `komi --help` stays fast and never imports torch.
Each module named in SUBCOMMANDS defines `add_parser(subparsers)`, which registers its parser and
sets `func` (called with the parsed namespace; returns an exit status or None).
"""
from __future__ import annotations

import argparse
import importlib
import sys

from komi import __version__
from komi.errors import KomiError

# (module, subcommand names it registers); the module is imported when its command is used.
SUBCOMMANDS: list[tuple[str, tuple[str, ...]]] = [
    ("komi.cmd_demo", ("demo",)),
    ("komi.cmd_play", ("play",)), ("komi.cmd_gtp", ("gtp",)), ("komi.cmd_tournament", ("tournament",)),
    ("komi.cmd_pretrain", ("pretrain",)),
    ("komi.cmd_eval_moves", ("eval-moves",)),
    ("komi.cmd_dqn", ("dqn",)),
    ("komi.cmd_selfplay", ("selfplay",)),
]


def _build_parser(only: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="komi",
        description="komi: an AlphaGo-style Go agent and DQN agents for Atari-style games.",
    )
    parser.add_argument("--version", action="version", version=f"komi {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name, names in SUBCOMMANDS:
        if only is not None and only not in names:
            # Cheap placeholder so the command is listed in `komi --help` without importing it.
            for name in names:
                sub.add_parser(name, help=_HELP.get(name, ""), add_help=False)
            continue
        importlib.import_module(module_name).add_parser(sub)
    return parser


_HELP: dict[str, str] = {
    "demo": "play a random-vs-random game and print the board",
    "play": "play a game against komi in the terminal", "gtp": "run as a GTP engine (for Go GUIs and tournaments)", "tournament": "play a round robin or gauntlet and fit Elo ratings",
    "pretrain": "train the policy/value network on SGF game records",
    "eval-moves": "move-prediction accuracy of a checkpoint on SGF games",
    "dqn": "train, evaluate and watch DQN agents on Atari-style games",
    "selfplay": "improve a network by self-play with tree search",
}


def one_line(message: str) -> str:
    """An error message as one line, without a `komi:` / `komi: error:` prefix of its own (the CLI
    adds one): lines joined with "; "."""
    text = "; ".join(line.strip() for line in message.splitlines() if line.strip())
    for prefix in ("komi: error: ", "komi: "):
        if text.startswith(prefix):
            text = text[len(prefix):]
    return text or "unknown error"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    known = {name for _, names in SUBCOMMANDS for name in names}
    chosen = next((a for a in argv if not a.startswith("-")), None)
    parser = _build_parser(chosen if chosen in known else None)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        status = args.func(args)
    except KomiError as err:
        print(f"komi: error: {one_line(str(err))}", file=sys.stderr)
        return 2
    except OSError as err:  # a path the user gave: unwritable, full disk, a file where a folder goes
        where = f"{err.filename}: " if err.filename is not None else ""
        print(f"komi: error: {one_line(where + (err.strerror or str(err)))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("komi: interrupted", file=sys.stderr)
        return 130
    return int(status or 0)
