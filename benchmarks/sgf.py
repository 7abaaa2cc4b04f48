#!/usr/bin/env python
"""SGF reading speed: komi's reader (envs.go.sgf) and sgfmill on the same files, in the same run.

    python benchmarks/sgf.py ../shared/data/go/train-19x19.tar.xz --games 5000
    python benchmarks/sgf.py games/ --games 2000 --check-legal

The archive or directory is read once into memory (first --games SGF members), then each reader
parses every file to a list of moves (and, with --check-legal, komi also replays it on a Board);
medians of --rounds interleaved rounds. sgfmill (pip install sgfmill) is the peer when installed.
Also prints the whole-collection streaming time of envs.go.collection.iter_games with --stream.
"""
from __future__ import annotations

import argparse
import statistics
import tarfile
import time
import zipfile
from pathlib import Path


def load_files(path: Path, limit: int) -> list[tuple[str, bytes]]:
    files: list[tuple[str, bytes]] = []
    if path.is_dir():
        for f in sorted(path.rglob("*.sgf"))[:limit]:
            files.append((str(f), f.read_bytes()))
    elif path.name.endswith(".zip"):
        with zipfile.ZipFile(path) as z:
            for name in [n for n in z.namelist() if n.endswith(".sgf")][:limit]:
                files.append((name, z.read(name)))
    else:
        with tarfile.open(path, "r|*") as t:
            for m in t:
                if m.isfile() and m.name.endswith(".sgf"):
                    files.append((m.name, t.extractfile(m).read()))
                    if len(files) >= limit:
                        break
    return files


def komi_reader(check_legal: bool):
    from envs.go.sgf import SGFError, parse_sgf, replay

    def read(name: str, data: bytes) -> int:
        try:
            games = parse_sgf(data, name)
            if check_legal:
                for g in games:
                    replay(g, superko="none")
            return sum(len(g.moves) for g in games)
        except SGFError:
            return 0
    return read


def sgfmill_reader():
    try:
        from sgfmill import sgf
    except ImportError:
        return None

    def read(name: str, data: bytes) -> int:
        try:
            game = sgf.Sgf_game.from_bytes(data)
            return sum(1 for node in game.get_main_sequence() if node.get_move()[0] is not None)
        except ValueError:
            return 0
    return read


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("path", type=Path, help="SGF archive or directory")
    p.add_argument("--games", type=int, default=3000, help="files to read (default 3000)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--check-legal", action="store_true", help="komi also replays every game")
    p.add_argument("--stream", action="store_true", help="also time iter_games over the whole collection")
    args = p.parse_args()

    files = load_files(args.path, args.games)
    readers = {"komi": komi_reader(args.check_legal), "sgfmill": sgfmill_reader()}
    readers = {k: v for k, v in readers.items() if v is not None}
    times: dict[str, list[float]] = {k: [] for k in readers}
    moves: dict[str, int] = {}
    for _ in range(args.rounds):
        for name, read in readers.items():
            start = time.perf_counter()
            moves[name] = sum(read(n, d) for n, d in files)
            times[name].append(time.perf_counter() - start)
    print(f"{len(files)} files from {args.path}" + (" (komi replays each game)" if args.check_legal else ""))
    base = statistics.median(times["komi"])
    for name in readers:
        t = statistics.median(times[name])
        print(f"  {name:8s} {len(files) / t:8.0f} files/s  {moves[name] / t:10.0f} moves/s  "
              f"({base and t / base:.2f}x komi's time; {moves[name]} moves)")
    if args.stream:
        from envs.go.collection import iter_games

        start = time.perf_counter()
        games = iter_games([args.path], check_legal=args.check_legal)
        n = sum(1 for _ in games)
        print(f"iter_games over the whole collection: {n} games in {time.perf_counter() - start:.1f} s; "
              f"{games.stats.summary()}")


if __name__ == "__main__":
    main()
