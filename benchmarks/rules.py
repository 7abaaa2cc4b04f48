#!/usr/bin/env python3
"""Rules-engine speed: uniformly random Go games played to the end, one thread.

Measures, in the same run and interleaved round by round (the machine is shared, so each
engine's figure is the median over rounds):
  komi-py      Python loop: board.legal_moves() -> random.choice -> board.play(), simple ko
               (superko="none") and OpenSpiel's move cap (2*N*N), i.e. OpenSpiel's rules
  komi-py-psk  the same loop under komi's default positional superko
  komi-native  envs.go.random_games: the same random policy (uniform over legal moves and
               pass, same cap) with no Python in the loop
  openspiel    pyspiel go, the same Python loop over state.legal_actions()/apply_action()
  pettingzoo   pettingzoo.classic.go_v5 AEC loop, random legal action from the action mask
Prints a table with moves/s and the ratio to OpenSpiel. Targets: komi-py >= 1.5x, komi-native
>= 20x OpenSpiel's Python-driven rate.

    python benchmarks/rules.py --sizes 9 19 --seconds 2 --rounds 3
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")


def komi_py(size: int, komi: float, seconds: float, seed: int, superko: str = "none") -> tuple[int, float]:
    from envs.go import Board

    rng = random.Random(seed)
    cap = 2 * size * size
    moves = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        board = Board(size=size, komi=komi, superko=superko, max_moves=cap)
        while not board.is_over():
            board.play(rng.choice(board.legal_moves()))
            moves += 1
    return moves, time.perf_counter() - start


def komi_native(size: int, komi: float, seconds: float, seed: int) -> tuple[int, float]:
    from envs.go import random_games

    moves, games = 0, 16
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        lengths, _ = random_games(size, games, seed=seed + moves, komi=komi, superko="none",
                                  max_moves=2 * size * size)
        moves += int(lengths.sum())
        games *= 2
    return moves, time.perf_counter() - start


def openspiel(size: int, komi: float, seconds: float, seed: int) -> tuple[int, float]:
    import pyspiel

    game = pyspiel.load_game("go", {"board_size": size, "komi": komi})
    rng = random.Random(seed)
    moves = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        state = game.new_initial_state()
        while not state.is_terminal():
            state.apply_action(rng.choice(state.legal_actions()))
            moves += 1
    return moves, time.perf_counter() - start


def pettingzoo(size: int, komi: float, seconds: float, seed: int) -> tuple[int, float]:
    import warnings

    import numpy as np
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pettingzoo.classic import go_v5

    env = go_v5.env(board_size=size, komi=komi)
    rng = random.Random(seed)
    moves = games = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        env.reset(seed=seed + games)
        games += 1
        for _ in env.agent_iter():
            obs, _, terminated, truncated, _ = env.last()
            if terminated or truncated:
                env.step(None)
                continue
            env.step(rng.choice(np.flatnonzero(obs["action_mask"]).tolist()))
            moves += 1
    return moves, time.perf_counter() - start


ENGINES = {
    "komi-py": komi_py,
    "komi-py-psk": lambda size, komi, seconds, seed: komi_py(size, komi, seconds, seed, "positional"),
    "komi-native": komi_native,
    "openspiel": openspiel,
    "pettingzoo": pettingzoo,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[9, 19])
    ap.add_argument("--seconds", type=float, default=2.0, help="seconds per engine per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--komi", type=float, default=7.5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--engines", nargs="+", default=list(ENGINES), choices=list(ENGINES))
    args = ap.parse_args()

    print(f"| size | engine | moves/s (median of {args.rounds}) | x OpenSpiel |")
    print("|---|---|---|---|")
    for size in args.sizes:
        rates: dict[str, list[float]] = {name: [] for name in args.engines}
        for r in range(args.rounds):
            for name in args.engines:
                seconds = args.seconds if name != "pettingzoo" else max(1.0, args.seconds / 2)
                moves, elapsed = ENGINES[name](size, args.komi, seconds, args.seed + r)
                rates[name].append(moves / elapsed)
        median = {name: statistics.median(v) for name, v in rates.items()}
        base = median.get("openspiel")
        for name in args.engines:
            ratio = f"{median[name] / base:.2f}" if base else "-"
            print(f"| {size}x{size} | {name} | {median[name]:,.0f} | {ratio} |", flush=True)


if __name__ == "__main__":
    main()
