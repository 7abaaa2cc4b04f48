#!/usr/bin/env python
"""Long-run SGF fuzzer: envs.go.sgf and envs.go.collection must raise only SGFError (a KomiError)
with a one-line message, never hang, and read back what they write.

    nice -n 15 python benchmarks/fuzz_sgf.py --cases 1000000 --out /tmp/fuzz-sgf

Cases: random bytes (any byte, or SGF's own alphabet), mutations and splices of real records
(the first --seeds members of each archive in ../shared/data/go/ when present) and of built-in
ones, and structured hostile trees (identifiers without uppercase letters, huge or non-finite
numbers, compressed point lists, every codec name Python knows as CA[], deep nesting, many
games, text encodings other than UTF-8). Each case is parsed (as bytes, sometimes as str),
every game replayed on a Board, written back and read again (board size, komi, handicap, setup
and moves must match). Every --file-every-th case also goes through a file (read_sgf), and
every --archive-every cases are packed into a tar.gz or zip read with iter_games(check_legal).

A case using more than --hang-seconds (2 s) of CPU counts as a hang (CPU time, so that a
fuzzer run at low priority beside a training run is not blamed for the waits), and so does one
that runs past --kill-seconds of wall-clock time, which is interrupted (SIGALRM); cases over
2 s of wall-clock time are counted apart ("slow wall"). Sizes stay small enough (up to 20,000
moves or nesting levels, 1,000 games a case) that 2 s is far above any case's honest cost.
Any exception that is not a KomiError is a crash; a KomiError whose message spans lines or is
not printable as UTF-8 is a "bad message"; a record that does not read back equal is a
"mismatch". With --out, the first cases of each kind of failure are saved there. Prints running counts every --report-every cases and the
totals at the end; exit status 1 when anything failed.
"""
from __future__ import annotations

import argparse
import collections
import encodings.aliases
import faulthandler
import io
import os
import random
import signal
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

from envs.go.collection import iter_games
from envs.go.sgf import MAX_SIZE, SGFError, parse_games, parse_sgf, read_sgf, replay, write_sgf
from komi.errors import KomiError

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "go"

BUILTIN_SEEDS = [
    b"(;GM[1]FF[4]SZ[9]KM[7]RE[B+R];B[ee];W[cc];B[gg];W[])",
    b"(;GM[1]FF[4]CA[UTF-8]SZ[13]KM[6.5]HA[2]RU[Japanese]PB[Black \\] Player]PW[W]RE[W+3.5]AB[dd][jj]"
    b";W[cc]BL[30.5];B[kk]C[a comment\\\nwith an escape];W[dk](;B[];W[tt])(;B[ff]))",
    b"(;SZ[9]AB[aa:cc]AW[ee][ff]AE[bb];W[dd];B[gh];W[hg]TR[aa][bb])(;SZ[5];B[cc];W[])",
    b"(;FF[3]SiZe[19]KoMi[5.5]HA[3];W[pd];B[dp];W[pp];B[dd])",
    b"(;SZ[19]CA[GB2312]PB[\xc0\xee\xb2\xfd]KM[375];B[pd];W[dp];B[pq];W[dd];B[fq];W[cn];B[jp])",
    b"(;SZ[9]HA[2];W[ee];B[cc];W[gg];B[];W[])",
    b"(;SZ[25]KM[0.5];B[yy];W[aa];B[];W[])",
]
IDENTS = [b"B", b"W", b"AB", b"AW", b"AE", b"SZ", b"KM", b"HA", b"GM", b"FF", b"CA", b"RE", b"PB", b"PW",
          b"BR", b"WR", b"RU", b"DT", b"C", b"PL", b"MN", b"TR", b"BL", b"WL", b"OB", b"OW", b"KO",
          b"b", b"w", b"x", b"ab", b"AddBlack", b"bL", b"sz", b"Ha", b"Q" * 70, b"z" * 300]
NUMBERS = [b"", b"0", b"-0", b"1", b"2", b"9", b"19", b"25", b"26", b"-1", b"2147483647", b"2147483648",
           b"-2147483649", b"9223372036854775808", b"1" + b"0" * 40, b"9" * 5000, b"nan", b"NaN", b"inf",
           b"-inf", b"Infinity", b"1e9", b"1e308", b"1e309", b"-1e400", b"0x10", b"1_000", b"7.5",
           b"6.5.5", b" 7 ", b"\x007", b"+5", b"375", b"1000", b"1000.0001", b"-1000", b"9:9", b"19:13"]
TEXTS = [b"", b"B+R", b"W+3.5", b"0", b"Void", b"B+", b"W+nan", b"B+1e999", b"\\", b"\\\\", b"\\]",
         b"a\\\nb", b"\n\r\t\x0b\x0c", b"\xff\xfe\x00", b"\xe9t\xe9", b"\xc0\xee", b"\xed\xa0\x80",
         b"\x1b[31mred", "名人".encode(), b"\\N{LATIN SMALL LETTER E}", b"\\ud800", b"x" * 3000]
CODECS = sorted(set(encodings.aliases.aliases.values()) | set(encodings.aliases.aliases)) + [
    "utf-16", "utf-32", "idna", "punycode", "unicode_escape", "raw_unicode_escape", "undefined",
    "rot13", "zlib", "base64", "hex", "bz2", "uu", "quopri", "mbcs", "oem", "", " ", "\x00", "utf-8\n"]
PIECES = [b"(", b")", b";", b"[", b"]", b"\\", b":", b"B[aa]", b"W[]", b"W[tt]", b"AB[aa:ss]", b"AW[zz]",
          b"AE[aa]", b"b[aa]", b"x[]", b"SZ[", b"SZ[1]", b"SZ[26]", b"SZ[9:9]", b"HA[2147483648]", b"KM[nan]",
          b"KM[1e999]", b"CA[zlib]", b"CA[utf-16]", b"GM[2]", b"\x00", b"\xff\xfe", b"\n", b"\r", b" ",
          b"(((((((((;", b"))))", b"\\]", b"AddBlack[cc]", b"[" * 8, b"]" * 8, b"\xe9", b"\xed\xa0\x80",
          b";B[aa];W[aa]", b";B[ss]", b"AB[aa:ii]", b";;;;"]
SGF_ALPHABET = b"()[];\\:.+- \n\r\tABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


class Hang(Exception):
    """Raised by SIGALRM in a case that ran past --kill-seconds."""


def load_seeds(limit: int) -> list[bytes]:
    """The first `limit` SGF members of each archive in ../shared/data/go (none if absent)."""
    seeds: list[bytes] = []
    if not DATA.is_dir():
        return seeds
    for archive in sorted(DATA.glob("*.tar*")):
        n = 0
        try:
            with tarfile.open(archive, "r|*") as tar:
                for member in tar:
                    tar.members = []
                    if member.isfile() and member.name.lower().endswith(".sgf"):
                        stream = tar.extractfile(member)
                        if stream is not None:
                            seeds.append(stream.read(1 << 20))
                            n += 1
                            if n >= limit:
                                break
        except (tarfile.TarError, OSError, EOFError) as err:
            print(f"fuzz_sgf: {archive}: {err}", file=sys.stderr)
    return seeds


# --- case generators ---------------------------------------------------------------------------

def mutate(rng: random.Random, data: bytes, other: bytes) -> bytes:
    """A few random edits: flips, hostile inserts, deletions, duplications, splices, truncation."""
    out = bytearray(data)
    for _ in range(rng.choice([1, 1, 1, 2, 3, 8])):
        op = rng.randrange(7)
        pos = rng.randint(0, len(out))
        if op == 0 and out:
            out[min(pos, len(out) - 1)] = rng.randrange(256)
        elif op == 1:
            out[pos:pos] = rng.choice(PIECES)
        elif op == 2 and out:
            del out[pos:pos + rng.randint(1, 16)]
        elif op == 3 and out:
            start = rng.randrange(len(out))
            out[pos:pos] = out[start:start + rng.randint(1, 64)]
        elif op == 4 and other:
            start = rng.randrange(len(other))
            out[pos:pos] = other[start:start + rng.randint(1, 256)]
        elif op == 5:
            out[pos:pos] = structured_property(rng)
        else:
            del out[pos:]
    return bytes(out)


def point(rng: random.Random) -> bytes:
    r = rng.random()
    if r < 0.7:
        return bytes([97 + rng.randrange(26), 97 + rng.randrange(26)])
    if r < 0.8:
        return rng.choice([b"", b"tt", b"zz", b"a", b"aaa", b"AA", b"\x00\x00", b"`a"])
    return point(rng) + b":" + point(rng)


def structured_property(rng: random.Random) -> bytes:
    ident = rng.choice(IDENTS)
    kind = rng.randrange(4)
    if ident in (b"B", b"W", b"AB", b"AW", b"AE", b"TR", b"b", b"w", b"AddBlack") or kind == 0:
        values = [point(rng) for _ in range(rng.choice([1, 1, 1, 2, 5, 50]))]
    elif ident == b"CA":
        values = [rng.choice(CODECS).encode("utf-8", "replace")]
    elif ident in (b"SZ", b"KM", b"HA", b"GM", b"FF", b"MN", b"BL", b"WL") or kind == 1:
        values = [rng.choice(NUMBERS)]
    else:
        values = [rng.choice(TEXTS) for _ in range(rng.choice([1, 1, 2]))]
    return ident + b"".join(b"[" + v + b"]" for v in values)


def big(rng: random.Random, small: list[int], large: int) -> int:
    """One of the small sizes, or (one time in 50) the large one: large cases cost the most."""
    return large if rng.random() < 0.02 else rng.choice(small)


def structured(rng: random.Random) -> bytes:
    """A hostile but well-formed-looking game tree (or collection of them)."""
    shape = rng.randrange(10)
    if shape == 0:      # deep nesting
        depth = big(rng, [10, 100, 1000], 20_000)
        return b"(;SZ[9]" + b"(;B[aa]" * depth + b")" * rng.choice([depth + 1, depth, 1])
    if shape == 1:      # many games, many nodes
        games = big(rng, [2, 10, 100], 1000)
        return b"".join(b"(;SZ[9];B[%c%c])" % (97 + i % 9, 97 + i // 9 % 9) for i in range(games))
    if shape == 2:      # a long run of moves, maybe past the node limit
        n = big(rng, [30, 300, 1000], 20_000)
        moves = b"".join(b";%s[%s]" % (b"BW"[i % 2:i % 2 + 1], point(rng)) for i in range(n))
        return b"(;SZ[19]" + moves + b")"
    if shape == 3:      # the same text in another encoding
        text = rng.choice(BUILTIN_SEEDS).decode("latin-1")
        codec = rng.choice(["utf-16", "utf-16-le", "utf-32", "utf-8-sig", "cp037", "utf-7"])
        return text.encode(codec, "replace")
    root = b"".join(structured_property(rng) for _ in range(rng.randint(0, 6)))
    nodes = b"".join(b";" + b"".join(structured_property(rng) for _ in range(rng.randint(0, 3)))
                     for _ in range(rng.randint(0, 12)))
    size = rng.choice([b"", b"SZ[9]", b"SZ[19]", b"SZ[2]", b"SZ[25]", b"SZ[%s]" % rng.choice(NUMBERS)])
    tail = rng.choice([b")", b")", b"", b"(;B[aa]))", b")junk(;", b")\x00"])
    return rng.choice([b"", b"junk ", b"\xef\xbb\xbf"]) + b"(;" + size + root + nodes + tail


def random_bytes(rng: random.Random) -> bytes:
    n = rng.choice([0, 1, 8, 64, 512, 4096])
    if rng.random() < 0.5:
        return rng.randbytes(n)
    return b"(;" + bytes(rng.choices(SGF_ALPHABET, k=n))


def make_case(rng: random.Random, seeds: list[bytes]) -> bytes:
    r = rng.random()
    if r < 0.15:
        return random_bytes(rng)
    if r < 0.35:
        return structured(rng)
    return mutate(rng, rng.choice(seeds), rng.choice(seeds))


# --- running one case --------------------------------------------------------------------------

def good_message(err: BaseException) -> bool:
    text = str(err)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return bool(text.strip()) and "\n" not in text and "\r" not in text


def exercise(data: bytes, as_text: bool) -> str:
    """Parse, replay, write back and re-read one case; 'ok', 'mismatch', or raises."""
    games = parse_games(data.decode("utf-8", "surrogateescape") if as_text else data, source="fuzz.sgf")
    first_error: SGFError | None = None
    for game in games:
        if isinstance(game, SGFError):
            first_error = first_error or game
            continue
        replay(game, superko="none")
        if game.size <= MAX_SIZE:
            (again,) = parse_sgf(write_sgf(game), source="again.sgf")
            same = (again.size, again.handicap, again.moves, again.setup_black, again.setup_white) == \
                   (game.size, game.handicap, game.moves, game.setup_black, game.setup_white)
            if not same or again.komi != game.komi:     # komi is finite: the reader refuses the rest
                return "mismatch"
    if first_error is not None:
        raise first_error
    return "ok"


def through_file(data: bytes, folder: Path) -> None:
    path = folder / "case.sgf"
    path.write_bytes(data)
    for game in read_sgf(path):
        replay(game, superko="none")


def through_archive(cases: list[bytes], folder: Path, rng: random.Random) -> str | None:
    """Pack cases into an archive and read it with iter_games; what went wrong, if anything."""
    kind = rng.choice(["tar.gz", "zip"])
    path = folder / f"cases.{kind}"
    if kind == "zip":
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
            for i, data in enumerate(cases):
                z.writestr(f"c{i}.sgf", data)
    else:
        with tarfile.open(path, "w:gz") as t:
            for i, data in enumerate(cases):
                info = tarfile.TarInfo(f"c{i}.sgf")
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
    games = iter_games(path, check_legal=True, max_warnings=0)
    for _ in games:
        pass
    if games.stats.files != len(cases):
        return f"iter_games read {games.stats.files} of {len(cases)} members"
    return None


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", type=int, default=100_000, help="cases to run (default 100000)")
    p.add_argument("--seed", type=int, default=16, help="random seed (default 16)")
    p.add_argument("--seeds", type=int, default=2000, metavar="N",
                   help="real records taken from each archive of ../shared/data/go (default 2000)")
    p.add_argument("--hang-seconds", type=float, default=2.0,
                   help="a case using more CPU seconds than this is a hang (default 2)")
    p.add_argument("--kill-seconds", type=float, default=60.0,
                   help="interrupt a case after this many wall-clock seconds, a hang too (default 60)")
    p.add_argument("--file-every", type=int, default=50, metavar="K", help="every K-th case also via a file")
    p.add_argument("--archive-every", type=int, default=2000, metavar="K",
                   help="pack the last 50 cases into an archive every K cases")
    p.add_argument("--report-every", type=int, default=50_000, metavar="K", help="print counts every K cases")
    p.add_argument("--out", type=Path, default=None, help="save failing cases here (first 20 of each kind)")
    args = p.parse_args()
    if args.cases < 1:
        p.error("--cases must be >= 1")

    faulthandler.enable()
    rng = random.Random(args.seed)
    real = load_seeds(args.seeds)
    seeds = BUILTIN_SEEDS + real
    print(f"fuzz_sgf: {args.cases} cases, seed {args.seed}, {len(real)} real records from {DATA}", flush=True)

    armed = [False]     # the alarm interrupts only the case itself, never the bookkeeping

    def on_alarm(signum, frame):
        if armed[0]:
            armed[0] = False
            raise Hang()

    def run_case(data: bytes, as_text: bool, via_file: bool,
                 folder: Path) -> tuple[str | None, BaseException | None]:
        """(outcome, None) or (None, the exception); a Hang is caught here too, so that an alarm
        arriving as the case ends cannot escape into the loop."""
        try:
            try:
                armed[0] = True
                signal.setitimer(signal.ITIMER_REAL, args.kill_seconds)
                outcome = exercise(data, as_text)
                if via_file:
                    through_file(data, folder)
                return outcome, None
            finally:
                armed[0] = False
                signal.setitimer(signal.ITIMER_REAL, 0)
        except BaseException as err:     # noqa: BLE001 - sorted by the caller
            if isinstance(err, KeyboardInterrupt):
                raise
            return None, err

    signal.signal(signal.SIGALRM, on_alarm)
    counts: collections.Counter = collections.Counter()
    reasons: collections.Counter = collections.Counter()
    saved: collections.Counter = collections.Counter()
    slowest = (0.0, b"")
    recent: list[bytes] = []
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)

    def save(kind: str, data: bytes, note: str) -> None:
        if args.out and saved[kind] < 20:
            saved[kind] += 1
            (args.out / f"{kind}-{saved[kind]:02d}.sgf").write_bytes(data)
            (args.out / f"{kind}-{saved[kind]:02d}.txt").write_text(note + "\n", errors="backslashreplace")

    def report(final: bool) -> None:
        done = counts["cases"]
        rate = done / max(time.perf_counter() - start, 1e-9)
        by_type = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if k.startswith("exc:"))
        print(f"{'total' if final else 'so far'}: cases {done}, ok {counts['ok']}, "
              f"{by_type or 'no exceptions'}; "
              f"crashes {counts['crash']}, hangs {counts['hang']}, bad messages {counts['bad message']}, "
              f"mismatches {counts['mismatch']}, archive problems {counts['archive']}; "
              f"slowest case {slowest[0]:.3f} s CPU, {counts['slow wall']} over 2 s wall; "
              f"{rate:.0f} cases/s", flush=True)
        if final:
            print("SGFError reasons: " + ", ".join(f"{k} {v}" for k, v in reasons.most_common()), flush=True)

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fuzz_sgf-") as tmp:
        folder = Path(tmp)
        for i in range(args.cases):
            data = make_case(rng, seeds)
            recent.append(data)
            del recent[:-50]
            t0, c0 = time.perf_counter(), time.process_time()
            outcome, err = run_case(data, rng.random() < 0.1, i % args.file_every == 0, folder)
            if isinstance(err, Hang):
                outcome = "exc:Hang"
            elif isinstance(err, SGFError):
                outcome = "exc:SGFError"
                reasons[err.reason] += 1
            elif err is not None:
                outcome = f"exc:{type(err).__name__}"
                if not isinstance(err, KomiError):
                    counts["crash"] += 1
                    save("crash", data, f"{type(err).__name__}: {err}")
            if isinstance(err, KomiError) and not good_message(err):
                counts["bad message"] += 1
                save("message", data, repr(str(err)))
            elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
            counts["cases"] += 1
            counts[outcome] += 1
            if outcome == "mismatch":
                save("mismatch", data, "the record did not read back equal")
            if cpu > slowest[0]:
                slowest = (cpu, data)
            if cpu > args.hang_seconds or outcome == "exc:Hang":
                counts["hang"] += 1
                save("hang", data, f"{cpu:.2f} s CPU, {elapsed:.2f} s wall")
            elif elapsed > 2.0:
                counts["slow wall"] += 1
            if args.archive_every and (i + 1) % args.archive_every == 0:
                try:
                    problem = through_archive(recent, folder, rng)
                except Exception as err:     # noqa: BLE001
                    problem = f"{type(err).__name__}: {err}"
                if problem:
                    counts["archive"] += 1
                    save("archive", b"".join(recent), problem)
            if args.report_every and (i + 1) % args.report_every == 0:
                report(final=False)
    report(final=True)
    failed = counts["crash"] + counts["hang"] + counts["bad message"] + counts["mismatch"] + counts["archive"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
