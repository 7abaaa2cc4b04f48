#!/usr/bin/env python
"""Tree-search speed against the peers, measured in the same run.

    python benchmarks/search.py tree    [--sizes 9 19] [--rounds 3] [--seconds 2]
    python benchmarks/search.py network [--visits 800] [--threads 1 2] [--rounds 3] [--leelaz /usr/games/leelaz]
    python benchmarks/search.py games   [--minutes 5]

tree: simulations per second of the tree alone (agent.search.BatchedSearch, one thread, a
uniform evaluator: zero logits and value, so no network runs) from the empty board, against
OpenSpiel's Python MCTS (open_spiel.python.algorithms.mcts.MCTSBot) with a trivial evaluator
(uniform prior, zero value). OpenSpiel's UCT tries every unvisited child first, so komi runs
with the same tree shape ("breadth": unvisited children valued at the parent's value + 1) and
with its own default (first-play urgency: parent's value - 0.25, which with zero values grows
long narrow lines); with no input planes at all (the tree alone: like OpenSpiel's trivial
evaluator, nothing reads an observation), the 4 "basic" planes and the default 30 "extended". For reference, OpenSpiel's all-C++
MCTSBot with one random rollout per leaf (it cannot take an evaluator from Python).

network: network playouts per second on 19x19 with a random 6-block x 64-filter network (the
"cpu" preset) on this machine's CPU cores, one search from the empty board (leaves per round
8 or 16) and 8 games searched at once, against Leela Zero 0.17 (--cpu-only) with a random
network of the same size in its own weights format (written by ../shared/peers/gen_lz_weights.py
unless --lz-weights is given), at the same thread counts; plus the fraction of the machine's
measured fp32 matmul rate that our network evaluation reaches.

games: self-play games per hour on 9x9 with the `komi selfplay` defaults (benchmarks/selfplay.py speed).
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

HERE = Path(__file__).resolve().parent
PEERS = HERE.parent.parent / "shared" / "peers"


# ---------------------------------------------------------------- tree-only
def komi_tree_rate(size: int, feature_set: str, fpu_reduction: float, seconds: float,
                   games: int = 16, visits: int = 1000) -> tuple[float, float]:
    """Simulations per second and per CPU-second of BatchedSearch with a uniform evaluator, after
    a warm-up run (the trees' arrays keep their capacity between searches, as in self-play)."""
    from agent.evaluator import UniformEvaluator
    from agent.search import BatchedSearch, SearchConfig
    from envs.go import Board

    cfg = SearchConfig(visits=visits, leaves_per_tree=8, fpu_reduction=fpu_reduction)
    search = BatchedSearch(UniformEvaluator(), size, 7.5, feature_set, cfg, games)
    board = Board(size)

    def one_run() -> tuple[float, float]:
        for g in range(games):
            search.reset(g, board)
        t0, c0 = time.perf_counter(), time.process_time()
        search.run()
        sims = games * (visits - 1)
        return sims / (time.perf_counter() - t0), sims / (time.process_time() - c0)

    one_run()
    rates, start = [], time.perf_counter()
    while len(rates) < 3 or time.perf_counter() - start < seconds:
        rates.append(one_run())
    return statistics.median(r[0] for r in rates), statistics.median(r[1] for r in rates)


def openspiel_tree_rate(size: int, sims: int, reps: int, evaluator: str = "trivial") -> tuple[float, float] | None:
    """Simulations per second and per CPU-second of OpenSpiel's Python MCTS (trivial evaluator)
    or C++ MCTS (1 rollout), from the empty board."""
    try:
        import pyspiel
        from open_spiel.python.algorithms import mcts
    except ImportError:
        return None

    class Trivial(mcts.Evaluator):
        def evaluate(self, state):
            return np.zeros(2)

        def prior(self, state):
            legal = state.legal_actions(state.current_player())
            return [(a, 1.0 / len(legal)) for a in legal]

    game = pyspiel.load_game("go", {"board_size": size, "komi": 7.5})
    rates = []
    for rep in range(reps):
        if evaluator == "trivial":
            bot = mcts.MCTSBot(game, 2.0, sims, Trivial(), solve=False,
                               random_state=np.random.RandomState(rep))
        else:
            rollout = pyspiel.RandomRolloutEvaluator(1, rep)
            bot = pyspiel.MCTSBot(game, rollout, 2.0, sims, 4000, False, rep, False)
        state = game.new_initial_state()
        t0, c0 = time.perf_counter(), time.process_time()
        bot.step(state)
        rates.append((sims / (time.perf_counter() - t0), sims / (time.process_time() - c0)))
    return statistics.median(r[0] for r in rates), statistics.median(r[1] for r in rates)


TREE_CONFIGS = [(shape, fpu, fs) for shape, fpu in (("breadth", -1.0), ("default", 0.25))
                for fs in ("none", "basic", "extended")]


def tree(args) -> None:
    print(f"tree-only simulations/s, one thread, from the empty board. This machine's speed drifts "
          f"from minute to minute: each of {args.rounds} rounds runs OpenSpiel and then every komi "
          f"configuration back to back; ratios are per round, per second and per CPU-second; medians shown")
    for size in args.sizes:
        sims = 4000 if size <= 9 else 1500
        cpp = openspiel_tree_rate(size, sims, args.reps, evaluator="rollout")
        peers, rates = [], {c: [] for c in TREE_CONFIGS}
        ratios = {c: ([], []) for c in TREE_CONFIGS}
        for _ in range(args.rounds):
            peer = openspiel_tree_rate(size, sims, args.reps)
            if peer:
                peers.append(peer)
            for config in TREE_CONFIGS:
                rate = komi_tree_rate(size, config[2], config[1], args.seconds)
                rates[config].append(rate)
                if peer:
                    ratios[config][0].append(rate[0] / peer[0])
                    ratios[config][1].append(rate[1] / peer[1])
        med = lambda xs: statistics.median(xs)  # noqa: E731
        if peers:
            peer_text = (f"{med(p[0] for p in peers):,.0f} sims/s, {med(p[1] for p in peers):,.0f} per CPU-s "
                         f"(rounds: {', '.join(f'{p[0]:,.0f}' for p in peers)})")
        else:
            peer_text = "n/a (pip install open_spiel)"
        print(f"\n{size}x{size}: OpenSpiel Python MCTS, trivial evaluator: {peer_text}"
              + (f"; OpenSpiel C++ MCTS, 1 random rollout: {cpp[0]:,.0f}" if cpp else ""))
        for config in TREE_CONFIGS:
            shape, _, feature_set = config
            rate = med(r[0] for r in rates[config])
            wall, cpu = ratios[config]
            ratio = (f" = {med(wall):.0f}x OpenSpiel Python (rounds {min(wall):.0f}-{max(wall):.0f}), "
                     f"{med(cpu):.0f}x per CPU-s" if wall else "")
            planes = "no planes (tree alone)" if feature_set == "none" else f"{feature_set} planes"
            print(f"  komi BatchedSearch, {shape:7} tree, {planes:22}: {rate:>10,.0f} sims/s{ratio}")


# ---------------------------------------------------------------- with the network
def leelaz_rate(leelaz: str, weights: Path, threads: int, visits: int) -> float | None:
    """Leela Zero's own playouts/s ('N n/s') from its --benchmark run (the empty board)."""
    cmd = [leelaz, "--benchmark", "--cpu-only", "-t", str(threads), "-v", str(visits), "-w", str(weights)]
    try:
        out = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as err:
        print(f"  Leela Zero did not run: {err}")
        return None
    found = re.findall(r"(\d+) playouts, (\d+) n/s", out.stdout + out.stderr)
    return float(found[-1][1]) if found else None


def lz_weights(path: str | None) -> Path | None:
    if path:
        return Path(path)
    script = PEERS / "gen_lz_weights.py"
    if not script.is_file():
        return None
    out = Path("/tmp/komi-bench-lz_6x64.txt")
    if not out.is_file():
        subprocess.run([sys.executable, str(script), "--blocks", "6", "--filters", "64", "--out", str(out)],
                       check=True, capture_output=True)
    return out


def komi_network_rate(net, threads: int, visits: int, games: int, leaves: int) -> float:
    """Network evaluations/s of BatchedSearch on 19x19 from the empty board."""
    import torch

    from agent.evaluator import TorchEvaluator
    from agent.search import BatchedSearch, SearchConfig
    from envs.go import Board

    torch.set_num_threads(threads)
    evaluator = TorchEvaluator(net)
    search = BatchedSearch(evaluator, 19, 7.5, "extended", SearchConfig(visits=visits, leaves_per_tree=leaves), games)
    for g in range(games):
        search.reset(g, Board(19))
    search.run(visits=min(visits, 2 * leaves + 1))  # warm-up: allocations, oneDNN kernels
    for g in range(games):
        search.reset(g, Board(19))
    before = search.evaluations
    t0 = time.perf_counter()
    search.run()
    return (search.evaluations - before) / (time.perf_counter() - t0)


def network(args) -> None:
    import torch

    from agent.network import PolicyValueNet, preset
    from envs.go import features

    sys.path.insert(0, str(HERE))
    from pretrain import matmul_peak_gflops

    torch.manual_seed(0)
    net = PolicyValueNet(preset("cpu", board_size=19, in_planes=features.num_planes("extended"))).eval()
    mflop = net.flops_per_position() / 1e6
    weights = lz_weights(args.lz_weights)
    have_lz = weights is not None and Path(args.leelaz).is_file()
    print(f"19x19, random 6x64 networks (komi: {mflop:.0f} MFLOP per evaluation, 30 input planes; "
          f"Leela Zero: 18 planes, fc policy head), {args.visits} visits from the empty board")
    configs = ((1, 8), (1, 16), (8, 8))
    for threads in args.threads:
        torch.set_num_threads(threads)
        peak = matmul_peak_gflops(torch.device("cpu"), 3.0)
        # This machine's speed drifts by tens of percent from minute to minute: each round runs
        # Leela Zero and then every komi config back to back, and the ratios are per round.
        lz_rates: list[float] = []
        rates: dict[tuple[int, int], list[float]] = {c: [] for c in configs}
        ratios: dict[tuple[int, int], list[float]] = {c: [] for c in configs}
        for _ in range(args.rounds):
            lz = leelaz_rate(args.leelaz, weights, threads, args.visits) if have_lz else None
            if lz:
                lz_rates.append(lz)
            for games, leaves in configs:
                rate = komi_network_rate(net, threads, args.visits, games, leaves)
                rates[(games, leaves)].append(rate)
                if lz:
                    ratios[(games, leaves)].append(rate / lz)
        lz_text = (f"{statistics.median(lz_rates):.0f} playouts/s (rounds: {', '.join(f'{r:.0f}' for r in lz_rates)})"
                   if lz_rates else "n/a (apt-get install leela-zero)")
        print(f"\nthreads {threads}: matmul peak {peak:.0f} GFLOP/s; Leela Zero 0.17 --cpu-only: {lz_text}; "
              f"medians of {args.rounds} rounds")
        for games, leaves in configs:
            rate = statistics.median(rates[(games, leaves)])
            frac = rate * mflop * 1e6 / (peak * 1e9)
            r = ratios[(games, leaves)]
            ratio = (f" = {statistics.median(r):.2f}x Leela Zero (rounds {min(r):.2f}-{max(r):.2f})" if r else "")
            print(f"  komi, {games} game(s) x {leaves:2} leaves per round: {rate:6.0f} playouts/s{ratio}, "
                  f"{100 * frac:.0f}% of the matmul peak")


def games(args) -> None:
    import importlib.util

    # benchmarks/selfplay.py, loaded under another name: "selfplay" is the package it measures
    spec = importlib.util.spec_from_file_location("selfplay_benchmark", HERE / "selfplay.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.speed(args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("tree")
    p.add_argument("--sizes", nargs="+", type=int, default=[9, 19])
    p.add_argument("--seconds", type=float, default=2.0, help="komi: seconds per configuration and round")
    p.add_argument("--reps", type=int, default=3, help="OpenSpiel: searches per round (median)")
    p.add_argument("--rounds", type=int, default=3, help="OpenSpiel + komi runs back to back; medians reported")
    p = sub.add_parser("network")
    p.add_argument("--visits", type=int, default=800)
    p.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    p.add_argument("--leelaz", default="/usr/games/leelaz")
    p.add_argument("--lz-weights", default=None, help="Leela Zero weights file (default: a random 6x64 one)")
    p.add_argument("--rounds", type=int, default=3, help="Leela Zero + komi runs back to back; medians reported")
    p = sub.add_parser("games")
    p.add_argument("--minutes", type=float, default=5.0)
    args = parser.parse_args()
    {"tree": tree, "network": network, "games": games}[args.what](args)


if __name__ == "__main__":
    main()
