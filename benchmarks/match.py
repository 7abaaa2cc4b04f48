"""Two checkpoints against each other with the batched self-play arena (selfplay.arena): all
games searched at once, equal visits, colours alternated, the first moves sampled so the games
differ. Prints A's score with its 95% interval.

    python benchmarks/match.py runs/sp9/step-00000108 runs/sp9/step-00000000 --games 100 --visits 64
"""
from __future__ import annotations

import argparse
import math
import time


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--games", type=int, default=100)
    ap.add_argument("--visits", type=int, default=64)
    ap.add_argument("--temperature-moves", type=int, default=4)
    ap.add_argument("--komi", type=float, default=7.5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    import torch

    from agent.checkpoint import load_network
    from agent.evaluator import TorchEvaluator
    from selfplay.arena import play_match
    from selfplay.loop import SelfPlayConfig

    torch.set_num_threads(args.threads)
    net_a, meta = load_network(args.a)
    net_b, _ = load_network(args.b, board_size=meta["board_size"], feature_set=meta["feature_set"])
    cfg = SelfPlayConfig(board_size=meta["board_size"], komi=args.komi, feature_set=meta["feature_set"],
                         eval_visits=args.visits, eval_temperature_moves=args.temperature_moves)
    start = time.perf_counter()
    points = play_match(TorchEvaluator(net_a), TorchEvaluator(net_b), cfg, args.games, seed=args.seed)
    n, score = len(points), sum(points)
    p = score / n
    half = 1.96 * math.sqrt(max(p * (1 - p), 1e-9) / n)
    black = sum(points[0::2]) / max(1, len(points[0::2]))
    white = sum(points[1::2]) / max(1, len(points[1::2]))
    print(f"{args.a} vs {args.b}: {score:g} / {n} = {p:.1%} (95% ±{half:.1%}); as Black {black:.1%}, "
          f"as White {white:.1%}; {args.visits} visits each, {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
