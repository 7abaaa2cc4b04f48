"""Elo against self-play step: each chosen checkpoint of a run plays the run's first one with
the batched arena (equal visits, colours alternated, the first moves sampled), and the score
becomes an Elo difference with its 95% interval. Writes a JSON and a PNG (not run in CI).

    python benchmarks/selfplay_curve.py runs/sp9 --every 100 --games 40 --visits 64 \
        --json docs/selfplay9_recipe_curve.json --png docs/selfplay9_recipe_elo.png
"""
from __future__ import annotations

import argparse
import json
import math
import re
import time
from pathlib import Path


def elo_of(p: float, n: int) -> tuple[float, float, float]:
    """Elo difference for score fraction p over n games, with a Wilson 95% interval."""
    z = 1.96
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)

    def elo(q: float) -> float:
        q = min(max(q, 1e-3), 1 - 1e-3)
        return -400 * math.log10(1 / q - 1)

    return elo(p), elo(centre - half), elo(centre + half)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", help="a self-play output folder with step-XXXXXXXX checkpoints")
    ap.add_argument("--every", type=int, default=100, help="rate every N-th step (and the last)")
    ap.add_argument("--games", type=int, default=40)
    ap.add_argument("--visits", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None)
    ap.add_argument("--png", default=None)
    args = ap.parse_args()
    import torch

    from agent.checkpoint import load_network
    from agent.evaluator import TorchEvaluator
    from selfplay.arena import play_match
    from selfplay.loop import SelfPlayConfig

    torch.set_num_threads(args.threads)
    steps = sorted(int(m.group(1)) for p in Path(args.run).glob("step-*.json")
                   if (m := re.fullmatch(r"step-(\d{8})\.json", p.name)))
    if not steps:
        raise SystemExit(f"{args.run}: no step-XXXXXXXX checkpoints")
    base = steps[0]
    chosen = [s for s in steps[1:] if s % args.every == 0]
    if steps[-1] not in chosen and steps[-1] != base:
        chosen.append(steps[-1])
    stem = lambda s: Path(args.run) / f"step-{s:08d}"  # noqa: E731
    net_base, meta = load_network(stem(base))
    cfg = SelfPlayConfig(board_size=meta["board_size"], komi=float(meta.get("komi", 7.5) or 7.5),
                         feature_set=meta["feature_set"], eval_visits=args.visits)
    rows = [{"step": base, "games": 0, "score": 0.5, "elo": 0.0, "low": 0.0, "high": 0.0}]
    for s in chosen:
        net, _ = load_network(stem(s), board_size=meta["board_size"], feature_set=meta["feature_set"])
        start = time.perf_counter()
        points = play_match(TorchEvaluator(net), TorchEvaluator(net_base), cfg, args.games, seed=s)
        p = sum(points) / len(points)
        elo, low, high = elo_of(p, len(points))
        rows.append({"step": s, "games": len(points), "score": p, "elo": elo, "low": low, "high": high})
        print(f"step {s}: {sum(points):g}/{len(points)} = {p:.1%} against step {base}, "
              f"Elo {elo:+.0f} [{low:+.0f}, {high:+.0f}], {time.perf_counter() - start:.0f} s", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"run": args.run, "base": base, "visits": args.visits,
                                               "rows": rows}, indent=1) + "\n")
    if args.png:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(6, 3.5))
        xs = [r["step"] for r in rows]
        ax.errorbar(xs, [r["elo"] for r in rows],
                    yerr=[[r["elo"] - r["low"] for r in rows], [r["high"] - r["elo"] for r in rows]],
                    marker="o", capsize=3)
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_xlabel("self-play training step (256 positions each)")
        ax.set_ylabel(f"Elo vs step {base} ({args.visits} visits)")
        ax.set_title(f"{args.run}: {args.games} games per point")
        fig.tight_layout()
        fig.savefig(args.png, dpi=110)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
