"""Strength and protocol check against GNU Go through `komi tournament` (not run in CI).

    python benchmarks/gnugo_match.py --player random --size 9 --games 2 --level 1
    python benchmarks/gnugo_match.py --player checkpoints/step-00100000 --size 19 --games 40 --level 10

Plays PLAYER against GNU Go (colours alternated), then prints the win rate with its 95% interval,
the games lost by a failure (protocol errors, timeouts, illegal moves: there should be none), the
score disagreements with GNU Go's own final_score, and seconds per move of each side's games.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--player", default="random", help="random or a checkpoint")
    ap.add_argument("--size", type=int, default=9)
    ap.add_argument("--komi", type=float, default=7.5)
    ap.add_argument("--games", type=int, default=2)
    ap.add_argument("--level", type=int, default=10, help="GNU Go level")
    ap.add_argument("--visits", type=int, default=1)
    ap.add_argument("--parallel", type=int, default=1)
    ap.add_argument("--out", default=None, help="results folder (default runs/gnugo-SIZE-LEVEL)")
    args = ap.parse_args()
    gnugo = shutil.which("gnugo") or "/usr/games/gnugo"
    if not Path(gnugo).exists():
        print("GNU Go not found: apt-get install gnugo", file=sys.stderr)
        return 1
    version = subprocess.run([gnugo, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    out = Path(args.out or f"runs/gnugo-{args.size}-l{args.level}")
    engine = f"gnugo-l{args.level}={gnugo} --mode gtp --level {args.level} --chinese-rules --capture-all-dead"
    cmd = [sys.executable, "-m", "komi", "tournament", args.player, engine, "--size", str(args.size),
           "--komi", str(args.komi), "--games", str(args.games), "--visits", str(args.visits),
           "--parallel", str(args.parallel), "--anchor", f"gnugo-l{args.level}=0", "--out", str(out)]
    print(" ".join(cmd), flush=True)
    status = subprocess.run(cmd).returncode
    if status != 0:
        return status
    games = json.loads((out / "results.json").read_text())["games"]
    failures = [g for g in games if g["reason"] not in ("score", "resign", "move cap")]
    disagreements = [g for g in games if g.get("disagreement")]
    moves = sum(g["moves"] for g in games)
    seconds = sum(g["seconds"] for g in games)
    print(f"\n{version}; {len(games)} games on {args.size}x{args.size}")
    print(f"games lost by a failure: {len(failures)}" + "".join(f"\n  {g['game_id']}: {g['reason']}" for g in failures))
    print(f"score disagreements with GNU Go's final_score: {len(disagreements)}")
    print(f"moves: {moves}, wall seconds: {seconds:.1f} ({seconds / max(moves, 1):.3f} s per move, both sides)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
