#!/usr/bin/env python
"""kill -9 at random moments: self-play and pretraining resume with everything accounted for.

    python benchmarks/killtest.py selfplay --kills 5 [--seed 0] [--out DIR]
    python benchmarks/killtest.py pretrain --kills 5
    python benchmarks/killtest.py both --kills 5

selfplay: a tiny 5x5 run (`komi selfplay`, one process) is started, killed with SIGKILL after a
random wait, resumed with --resume, killed again, ... --kills times, then resumed until it has
played --extra-games more games. After each kill: the sample SGFs and the checkpoints written
before it are unchanged (content and mtime), the games in the shards never decrease. At the end:
the state's game count equals the games in the shards, the sample SGFs are exactly every
--sgf-every-th game of those (none missing, none overwritten, all distinct), the checkpoints
continue past the last one before each kill, and no temporary file is left.

pretrain: `komi pretrain` on a collection of random 9x9 games written here, killed the same way and
resumed until --steps; then every checkpoint from step k to --steps in steps of k exists, none
written before a kill was rewritten, no temporary file is left, the final weights equal those of
an uninterrupted run of the same config (the data order is a function of (seed, step)), and a
--resume of the finished run rewrites nothing.

Prints one line per kill and a summary; exits 1 if anything was not accounted for.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def snapshot(paths) -> dict[str, tuple[str, int]]:
    """name -> (sha256, mtime in ns) of each file."""
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) for p in paths}


def temporaries(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if ".tmp" in p.name]


def run_and_kill(cmd: list[str], wait_s: float, log) -> bool:
    """Start cmd, SIGKILL it after wait_s seconds; False if it ended by itself first."""
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        proc.wait(timeout=wait_s)
        return False
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        return True


class Checks:
    """Collects what was not accounted for."""

    def __init__(self) -> None:
        self.failures: list[str] = []

    def __call__(self, ok: bool, what: str) -> None:
        if not ok:
            self.failures.append(what)
            print(f"  NOT ACCOUNTED FOR: {what}", flush=True)


def unchanged(before: dict, after: dict) -> list[str]:
    """Names in `before` that are gone or changed in `after`."""
    return [name for name, sig in before.items() if after.get(name) != sig]


# --- self-play ---------------------------------------------------------------------------------

SELFPLAY_ARGS = ["--board-size", "5", "--preset", "tiny", "--full-visits", "4", "--fast-visits", "2",
                 "--full-search-prob", "0.5", "--leaves-per-tree", "2", "--games-per-worker", "8",
                 "--workers", "0", "--threads", "1", "--batch-size", "16", "--min-positions", "16",
                 "--replay-ratio", "2", "--checkpoint-every", "5", "--evaluation", "none",
                 "--eval-every", "5", "--games-per-shard", "2", "--resign-threshold", "-0.98",
                 "--log-dir", "", "--no-progress"]


def selfplay_killtest(out: Path, kills: int, rng: random.Random, wait: tuple[float, float],
                      extra_games: int, sgf_every: int) -> Checks:
    from agent.checkpoint import latest_checkpoint
    from selfplay.replay import ReplayBuffer

    check = Checks()
    run = out / "run"
    cmd = [sys.executable, "-m", "komi", "selfplay", *SELFPLAY_ARGS, "--sgf-every", str(sgf_every),
           "--out", str(run)]
    log = open(out / "selfplay.log", "ab")

    def shard_games() -> int:
        return ReplayBuffer(run / "replay", 10**9).total_games if (run / "replay").is_dir() else 0

    def ckpt_files() -> dict:  # optimizer state is kept for the newest checkpoint only: weights + meta
        return snapshot(p for p in run.glob("step-*") if ".optim." not in p.name and ".tmp" not in p.name)

    def latest_step() -> int:
        stem = latest_checkpoint(run) if run.is_dir() else None
        return int(stem.name[5:]) if stem is not None else -1

    sgfs_before: dict = {}
    ckpts_before: dict = {}
    games_before, step_before = 0, -1
    print(f"selfplay: {kills} kills, waits {wait[0]:g}..{wait[1]:g} s, out {run}", flush=True)
    print("  kill  after_s  games_in_shards  state_games  sgf_files  latest_ckpt  tmp_left", flush=True)
    for k in range(1, kills + 1):
        wait_s = rng.uniform(*wait)
        resume = latest_step() >= 0
        killed = run_and_kill(cmd + (["--resume"] if resume else []), wait_s, log)
        check(killed, f"kill {k}: the run ended by itself before {wait_s:.1f} s")
        games = shard_games()
        state = json.loads((run / "selfplay_state.json").read_text()) if (run / "selfplay_state.json").exists() else {}
        sgfs = snapshot(sorted((run / "sgf").glob("*.sgf"))) if (run / "sgf").is_dir() else {}
        ckpts = ckpt_files()
        step = latest_step()
        print(f"  {k:4d}  {wait_s:7.1f}  {games:15d}  {state.get('games', '-'):>11}  {len(sgfs):9d}  "
              f"{step:11d}  {len(temporaries(run)) if run.is_dir() else 0:8d}", flush=True)
        check(games >= games_before, f"kill {k}: games in shards went down ({games_before} -> {games})")
        check(step >= step_before, f"kill {k}: latest checkpoint went back ({step_before} -> {step})")
        lost = unchanged(sgfs_before, sgfs)
        check(not lost, f"kill {k}: sample SGFs changed or gone: {lost[:5]}")
        lost = unchanged(ckpts_before, ckpts)
        check(not lost, f"kill {k}: checkpoints changed or gone: {lost[:5]}")
        sgfs_before, ckpts_before, games_before, step_before = sgfs, ckpts, games, step
    if latest_step() < 0:
        check(False, "no checkpoint after the kills: the waits are too short to start a run")
        return check
    target = max(games_before, json.loads((run / "selfplay_state.json").read_text())["games"]) + extra_games
    done = subprocess.run(cmd + ["--resume", "--games", str(target)], cwd=ROOT, stdout=log,
                          stderr=subprocess.STDOUT, timeout=1800)
    check(done.returncode == 0, f"the final resume failed (exit {done.returncode}; see {out / 'selfplay.log'})")
    state = json.loads((run / "selfplay_state.json").read_text())
    total = shard_games()
    sgfs = snapshot(sorted((run / "sgf").glob("*.sgf")))
    numbers = sorted(int(name[5:12]) for name in sgfs)
    expected = list(range(sgf_every, total + 1, sgf_every))
    check(state["games"] == total, f"state counts {state['games']} games, the shards hold {total}")
    check(total >= target, f"{total} games in shards, asked for {target}")
    check(numbers == expected, f"sample SGF numbers {numbers[:3]}...{numbers[-3:]} (of {len(numbers)}) "
                               f"are not every {sgf_every}th of {total} games")
    check(len({sig[0] for sig in sgfs.values()}) == len(sgfs), "two sample SGFs have the same content")
    lost = unchanged(sgfs_before, sgfs)
    check(not lost, f"sample SGFs changed at the final resume: {lost[:5]}")
    lost = unchanged(ckpts_before, ckpt_files())
    check(not lost, f"checkpoints changed at the final resume: {lost[:5]}")
    check(latest_step() >= step_before, "the final resume's checkpoint is behind the last one")
    left = temporaries(run)
    check(not left, f"temporary files left: {[p.name for p in left[:5]]}")
    print(f"selfplay accounted for: {total} games in shards = {state['games']} counted; "
          f"{len(sgfs)} sample SGFs = every {sgf_every}th game, none overwritten; checkpoints up to "
          f"step {latest_step()}; {len(left)} temporary files left", flush=True)
    return check


# --- pretraining -------------------------------------------------------------------------------

def write_collection(directory: Path, games: int, size: int = 9, seed: int = 0) -> None:
    import numpy as np

    from envs.go import Board

    letters = "abcdefghijklmnopqrs"
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    for i in range(games):
        board, nodes = Board(size=size, komi=7.5), []
        for _ in range(40):
            move = int(rng.choice([m for m in board.legal_moves() if m != size * size]))
            nodes.append(f";{'B' if board.to_play == 1 else 'W'}[{letters[move % size]}{letters[move // size]}]")
            board.play(move)
        result = "B+R" if i % 2 else "W+R"
        (directory / f"g{i}.sgf").write_text(f"(;GM[1]FF[4]SZ[{size}]KM[7.5]RE[{result}]{''.join(nodes)})\n")


def pretrain_killtest(out: Path, kills: int, rng: random.Random, wait: tuple[float, float],
                      steps: int, every: int) -> Checks:
    import torch
    from safetensors.torch import load_file

    from agent.checkpoint import latest_checkpoint

    check = Checks()
    sgf = out / "sgf"
    if not sgf.is_dir():
        write_collection(sgf, 150)

    def command(ckpt: Path, tb: Path) -> list[str]:
        return [sys.executable, "-m", "komi", "pretrain", "--sgf", str(sgf), "--board-size", "9",
                "--min-moves", "5", "--preset", "tiny", "--feature-set", "basic", "--batch-size", "32",
                "--val-fraction", "0.1", "--val-every", "100", "--val-positions", "256",
                "--checkpoint-every", str(every), "--checkpoint-dir", str(ckpt), "--cache-dir",
                str(out / "cache"), "--log-dir", str(tb), "--warmup-steps", "20", "--threads", "1",
                "--no-progress", "--steps", str(steps)]

    ckpt = out / "ckpt"
    cmd = command(ckpt, out / "tb")
    log = open(out / "pretrain.log", "ab")

    def latest_step() -> int:
        stem = latest_checkpoint(ckpt) if ckpt.is_dir() else None
        return int(stem.name[5:]) if stem is not None else -1

    def files() -> dict:
        return snapshot(p for p in ckpt.glob("step-*") if ".tmp" not in p.name) if ckpt.is_dir() else {}

    before: dict = {}
    step_before = -1
    print(f"pretrain: {kills} kills, waits {wait[0]:g}..{wait[1]:g} s, {steps} steps, out {ckpt}", flush=True)
    print("  kill  after_s  latest_ckpt  checkpoints  tmp_left", flush=True)
    for k in range(1, kills + 1):
        wait_s = rng.uniform(*wait)
        resume = latest_step() >= 0
        killed = run_and_kill(cmd + (["--resume"] if resume else []), wait_s, log)
        if not killed and latest_step() >= steps:
            print(f"  the run finished before kill {k}; stopping the kills", flush=True)
            break
        now = files()
        step = latest_step()
        print(f"  {k:4d}  {wait_s:7.1f}  {step:11d}  {len([n for n in now if n.endswith('.json') and '.optim' not in n]):11d}"
              f"  {len(temporaries(ckpt)) if ckpt.is_dir() else 0:8d}", flush=True)
        check(step >= step_before, f"kill {k}: latest checkpoint went back ({step_before} -> {step})")
        lost = unchanged(before, now)
        check(not lost, f"kill {k}: checkpoint files changed or gone: {lost[:5]}")
        before, step_before = now, step
    final = subprocess.run(cmd + (["--resume"] if latest_step() >= 0 else []), cwd=ROOT, stdout=log,
                           stderr=subprocess.STDOUT, timeout=3600)
    check(final.returncode == 0, f"the final resume failed (exit {final.returncode}; see {out / 'pretrain.log'})")
    after = files()
    lost = unchanged(before, after)
    check(not lost, f"checkpoint files changed at the final resume: {lost[:5]}")
    stems = sorted({name.split(".")[0] for name in after})
    expected = [f"step-{s:08d}" for s in range(every, steps + 1, every)]
    check(set(expected) <= set(stems), f"checkpoints missing: {sorted(set(expected) - set(stems))[:5]}")
    check(latest_step() == steps, f"the final checkpoint is step {latest_step()}, not {steps}")
    left = temporaries(ckpt) + temporaries(out / "cache")
    check(not left, f"temporary files left: {[p.name for p in left[:5]]}")
    again = subprocess.run(cmd + ["--resume"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, timeout=600)
    check(again.returncode == 0 and files() == after, "a --resume of the finished run rewrote a checkpoint")
    # the same config without kills: the same weights at the end
    reference = out / "reference"
    if not (reference / f"step-{steps:08d}.json").exists():
        subprocess.run(command(reference, out / "tb-reference"), cwd=ROOT, stdout=log,
                       stderr=subprocess.STDOUT, timeout=3600, check=True)
    a = load_file(str(ckpt / f"step-{steps:08d}.safetensors"))
    b = load_file(str(reference / f"step-{steps:08d}.safetensors"))
    same = a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a)
    check(same, "the final weights differ from an uninterrupted run of the same config")
    print(f"pretrain accounted for: checkpoints every {every} steps to {steps}, none rewritten; final "
          f"weights {'equal to' if same else 'DIFFERENT from'} the uninterrupted run's; {len(left)} "
          "temporary files left", flush=True)
    return check


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("selfplay", "pretrain", "both"))
    parser.add_argument("--kills", type=int, default=5, metavar="N", help="kills per run (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the kill moments (default 0)")
    parser.add_argument("--out", metavar="DIR", help="work directory (default: a new one under /tmp)")
    parser.add_argument("--min-wait", type=float, default=3.0, metavar="S",
                        help="shortest time before a kill, seconds (default 3; startup included)")
    parser.add_argument("--max-wait", type=float, default=40.0, metavar="S",
                        help="longest time before a kill, seconds (default 40; a start takes 5-15 s here)")
    parser.add_argument("--extra-games", type=int, default=20, metavar="N",
                        help="self-play games the final resume plays (default 20)")
    parser.add_argument("--sgf-every", type=int, default=2, metavar="K", help="self-play sample SGFs (default 2)")
    parser.add_argument("--steps", type=int, default=1000, help="pretraining steps (default 1000)")
    parser.add_argument("--checkpoint-every", type=int, default=25, metavar="K",
                        help="pretraining checkpoint interval (default 25)")
    args = parser.parse_args()
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="komi-killtest-"))
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    wait = (args.min_wait, args.max_wait)
    failures: list[str] = []
    started = time.monotonic()
    if args.what in ("selfplay", "both"):
        (out / "selfplay").mkdir(exist_ok=True)
        failures += selfplay_killtest(out / "selfplay", args.kills, rng, wait, args.extra_games,
                                      args.sgf_every).failures
    if args.what in ("pretrain", "both"):
        (out / "pretrain").mkdir(exist_ok=True)
        failures += pretrain_killtest(out / "pretrain", args.kills, rng, wait, args.steps,
                                      args.checkpoint_every).failures
    print(f"{len(failures)} things not accounted for ({time.monotonic() - started:.0f} s; work in {out})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
