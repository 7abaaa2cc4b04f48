"""`komi demo`: a random-vs-random game, printed as a board (needs no data, no network)."""
from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="play a random-vs-random game and print the board",
                       description="Play one game between two uniformly random players that never "
                                   "fill their own eyes, natively, and print the final board and score.")
    from komi.options import KOMI

    p.add_argument("--size", type=int, default=9, metavar="N", help="board size, 2..25 (default 9)")
    p.add_argument("--komi", type=KOMI, default=7.5, help="komi, -1000..1000 (default 7.5)")
    p.add_argument("--seed", type=int, default=0, help="random seed, 0..2^64-1 (default 0)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from envs.go import Board
    from komi.errors import KomiError

    if not 2 <= args.size <= 25:  # before the native core sees a number it cannot hold
        raise KomiError(f"--size must be between 2 and 25, got {args.size}")
    if not 0 <= args.seed < 2**64:
        raise KomiError(f"--seed must be between 0 and 2^64-1, got {args.seed}")
    board = Board(size=args.size, komi=args.komi)
    moves = board.playout(seed=args.seed, fill_own_eyes=False)
    print(board)
    score = board.score()
    if score == 0:
        result = "draw"
    else:
        result = f"{'B' if score > 0 else 'W'}+{abs(score):g}"
    print(f"{moves} moves, area score (komi {args.komi:g}): {result}")
    return 0
