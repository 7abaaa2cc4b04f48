"""`komi demo`: a random-vs-random game, printed as a board (needs no data, no network)."""
from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="play a random-vs-random game and print the board",
                       description="Play one game between two uniformly random players and print it.")
    p.add_argument("--size", type=int, default=9, help="board size (default 9)")
    p.add_argument("--komi", type=float, default=7.5, help="komi (default 7.5)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from envs.go import _core

    print(f"komi native core {_core.__version__}: rules not built yet (size {args.size}, seed {args.seed})")
    return 0
