#!/usr/bin/env python
"""Long-run fuzzer of `komi gtp`: random bytes, mutated valid commands, known commands with hostile
arguments, sent through a real engine process's standard input.

    nice -n 15 python benchmarks/fuzz_gtp.py --lines 200000 --seed 1

The engine runs as `python -m komi gtp --checkpoint random` under PYTHONIOENCODING=utf-8:strict (a
desktop's UTF-8 locale, where undecodable input used to end the process), in a temporary folder
holding a few SGF files to load (valid, thousands of passes, malformed, a Latin-1 file name). After
every fuzzed line the fuzzer sends `<id> name` and waits for its answer, so each line's response is
known: it must be one well-formed GTP response (`=[id] ...` or `?[id] ...` ended by one empty line,
the id echoed, valid UTF-8) if the line is a command, and nothing if GTP says to ignore the line
(empty, comment, control characters only). Counted: lines, protocol violations, engine exits (the
process ended; it is restarted), hangs (no answer within --hang-seconds, 2 s by default; after
--kill-seconds the engine is killed and restarted) and internal errors (`? internal error: ...`,
the engine's net for its own bugs). Lines that would quit are not sent; paths given to
printsgf/loadsgf stay inside the temporary folder or a short read-only list.

tests/test_gtp_hostile.py drives the same generator and checker in-process (`run_in_process`).
"""
from __future__ import annotations

import argparse
import os
import random
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

NAME = "fuzz"
"""The engine name the sync command `name` answers."""
SYNC_BASE = 7_300_000_000_000
"""Ids of the sync commands (no generated line uses ids this long)."""
FRAME = re.compile(rb"([=?])(\d*)( [^\n]*)?\n([^\n]+\n)*\n")
"""One GTP response: status, optional id, first line, further non-empty lines, one empty line."""
_CONTROL = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]")

COMMANDS = [
    "protocol_version", "name", "version", "known_command", "list_commands", "boardsize",
    "clear_board", "komi", "play", "genmove", "reg_genmove", "kgs-genmove_cleanup", "undo",
    "showboard", "final_score", "final_status_list", "fixed_handicap", "place_free_handicap",
    "set_free_handicap", "time_settings", "kgs-time_settings", "time_left", "loadsgf", "printsgf",
    "lz-analyze", "kata-analyze",
]
"""The engine's commands but quit."""

VALID = [
    "protocol_version", "name", "version", "list_commands", "known_command play", "boardsize 9",
    "boardsize 5", "boardsize 13", "boardsize 19", "clear_board", "komi 6.5", "komi 0",
    "play b E5", "play w C3", "play black D4", "play white pass", "play b pass", "genmove b",
    "genmove w", "genmove black", "reg_genmove w", "kgs-genmove_cleanup b", "undo", "showboard",
    "final_score", "final_status_list alive", "final_status_list dead", "fixed_handicap 4",
    "place_free_handicap 5", "set_free_handicap C3 G7 E5", "time_settings 300 30 5",
    "kgs-time_settings byoyomi 300 30 5", "kgs-time_settings none", "time_left b 120 0",
    "loadsgf game.sgf", "loadsgf game.sgf 5", "loadsgf passes.sgf", "loadsgf handicap.sgf",
    "printsgf", "printsgf out.sgf", "lz-analyze b 50", "kata-analyze w interval 20 ownership true",
    "1 name", "22 genmove b", "333 play w A1",
]

NUMBERS = ["0", "1", "-1", "2", "3", "5", "9", "19", "20", "25", "26", "361", "2147483648",
           "99999999999999999999", "-2147483649", "1e309", "nan", "-nan", "inf", "-inf", "-0",
           "+5", "0x10", "1_000", "7.5", "1e3", "١٢", "²", "٣", "9" * 400, "0" * 50 + "9"]
VERTICES = ["A1", "a1", "T19", "t19", "J9", "I5", "i5", "A0", "A-1", "Z1", "Z25", "A26", "Y25",
            "pass", "PASS", "Pass", "resign", "A1A1", "1A", "AA1", "E5", "C3", "G7", "Ａ１",
            "A" + "9" * 30, "é5"]
COLOURS = ["b", "w", "B", "W", "black", "white", "BLACK", "x", "empty", "bw", "", "é"]
WORDS = ["true", "false", "alive", "dead", "seki", "none", "absolute", "byoyomi", "canadian",
         "interval", "ownership", "minmoves", "maxmoves", "quit", "name", "%s%n", "\u202e",
         "\u2028", "\ufeff", "\x85", "\xa0", "\udcff", "-", "--", "=", "?", "'", '"', "\\",
         "a" * 5000, "é" * 300]
PATHS = ["game.sgf", "passes.sgf", "handicap.sgf", "lower.sgf", "huge-ha.sgf", "binary.sgf",
         "empty.sgf", "caf\udce9.sgf", "missing.sgf", "sub", "sub/", ".", "..", "./", "no/such/dir/x.sgf",
         "out.sgf", "out2.sgf", "a" * 300, "a" * 5000, "/".join(["d"] * 2000), "/", "/dev/zero",
         "/dev/null", "/nonexistent-komi.sgf", "/proc", "é.sgf", "\u202egame.sgf", "sub/out.sgf"]
READ_ONLY_ABSOLUTE = {"/", "/dev/zero", "/dev/null", "/nonexistent-komi.sgf", "/proc"}
"""Absolute paths a generated loadsgf may name (nothing large is read); printsgf gets only `/`."""
CONTROL_BYTES = [bytes([b]) for b in list(range(0, 9)) + list(range(11, 32)) + [127]]


def write_files(folder: Path) -> None:
    """The SGF files the generated loadsgf commands name (the engine runs in `folder`)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sub").mkdir(exist_ok=True)
    (folder / "game.sgf").write_text("(;GM[1]FF[4]SZ[9]KM[7.5];B[ee];W[cc];B[gg];W[cg];B[gc];W[];B[])")
    passes = "".join(f";{'BW'[i % 2]}[]" for i in range(4000))
    (folder / "passes.sgf").write_text(f"(;GM[1]SZ[9]KM[7]{passes})")
    (folder / "handicap.sgf").write_text("(;GM[1]SZ[9]HA[2]AB[cc][gg];W[ee];B[ce])")
    (folder / "lower.sgf").write_text("(;b[aa];W[cc])")
    (folder / "huge-ha.sgf").write_text("(;SZ[9]HA[2147483648];W[aa])")
    (folder / "binary.sgf").write_bytes(bytes(random.Random(5).randrange(256) for _ in range(4000)))
    (folder / "empty.sgf").write_bytes(b"")
    (folder / os.fsdecode(b"caf\xe9.sgf")).write_text("(;SZ[9];B[aa];W[bb])")


def _safe(line: bytes) -> bytes:
    """`line` with absolute paths outside READ_ONLY_ABSOLUTE and paths through `..` made relative,
    and for printsgf every absolute path but `/` (so a fuzzed printsgf cannot write outside the
    fuzzing folder, even through an engine that would replace /dev/null, nor loadsgf read a huge
    file)."""
    allowed = {"/"} if command_of(line) == b"printsgf" else READ_ONLY_ABSOLUTE
    parts = re.split(rb"([ \t])", line)
    for i, w in enumerate(parts):
        text = os.fsdecode(_CONTROL.sub(b"", w)).split("#")[0]
        outside = text.startswith("/") and text not in allowed
        if outside or (".." in text and text not in ("..", "../")):
            parts[i] = b"x" + w.replace(b"/", b"_").replace(b"..", b"_")
    return b"".join(parts)


def gtp_tokens(line: bytes) -> list[bytes]:
    """The words of a line after GTP's preprocessing (control characters removed, comment cut,
    tabs as spaces), written from the spec, independently of the engine."""
    line = _CONTROL.sub(b"", line).split(b"#", 1)[0].replace(b"\t", b" ")
    return [w for w in line.split(b" ") if w]


def expects_response(line: bytes) -> bool:
    """Whether GTP wants an answer to `line` (anything but empty lines and comments)."""
    return bool(gtp_tokens(line))


def command_of(line: bytes) -> bytes | None:
    words = gtp_tokens(line)
    if words and re.fullmatch(rb"\d+", words[0]):
        words = words[1:]
    return words[0] if words else None


class LineMaker:
    """Seeded hostile GTP lines (bytes, without the newline)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def line(self) -> bytes:
        r = self.rng.random()
        if r < 0.3:
            line = self.random_bytes()
        elif r < 0.65:
            line = self.mutated()
        else:
            line = self.hostile()
        line = _safe(line.replace(b"\n", b" "))
        if command_of(line) == b"quit":
            line = b"name"
        return line

    def random_bytes(self) -> bytes:
        rng = self.rng
        n = rng.choice([0, 1, 2, 5, 20, 80, 300])
        if rng.random() < 0.5:
            return bytes(rng.randrange(256) for _ in range(n))
        alphabet = b"abcdefgh ABCDE 0123456789 \t#-+.=?\xff\xfe\xc3\xa9\x80\xe2\x80\xae\x00\x1b\r"
        return bytes(rng.choice(alphabet) for _ in range(n))

    def mutated(self) -> bytes:
        rng = self.rng
        data = bytearray(rng.choice(VALID).encode())
        for _ in range(rng.randint(1, 4)):
            op = rng.randrange(7)
            pos = rng.randrange(len(data) + 1)
            if op == 0 and data:  # flip a bit
                i = rng.randrange(len(data))
                data[i] ^= 1 << rng.randrange(8)
            elif op == 1:  # insert a random byte
                data[pos:pos] = bytes([rng.randrange(256)])
            elif op == 2 and data:  # delete
                del data[rng.randrange(len(data))]
            elif op == 3:  # a control character or a comment
                data[pos:pos] = rng.choice(CONTROL_BYTES + [b"#", b"\t", b"\r"])
            elif op == 4:  # a hostile word
                data[pos:pos] = b" " + self._word() + b" "
            elif op == 5:  # truncate
                del data[pos:]
            else:  # a numeric id in front
                data[0:0] = str(rng.choice([0, 1, 42, 10**9])).encode() + b" "
        return bytes(data)

    def hostile(self) -> bytes:
        rng = self.rng
        cmd = rng.choice(COMMANDS)
        pools = {
            "boardsize": [NUMBERS], "komi": [NUMBERS], "fixed_handicap": [NUMBERS],
            "place_free_handicap": [NUMBERS], "play": [COLOURS, VERTICES], "genmove": [COLOURS],
            "reg_genmove": [COLOURS], "kgs-genmove_cleanup": [COLOURS], "known_command": [WORDS],
            "final_status_list": [WORDS], "time_settings": [NUMBERS, NUMBERS, NUMBERS],
            "kgs-time_settings": [WORDS, NUMBERS, NUMBERS, NUMBERS],
            "time_left": [COLOURS, NUMBERS, NUMBERS], "loadsgf": [PATHS, NUMBERS],
            "printsgf": [PATHS], "lz-analyze": [COLOURS, NUMBERS, WORDS, NUMBERS],
            "kata-analyze": [COLOURS, NUMBERS, WORDS, WORDS],
            "set_free_handicap": [VERTICES] * rng.randint(0, 30),
        }.get(cmd, [])
        args = [rng.choice(pool) for pool in pools]
        if args and rng.random() < 0.3:
            del args[rng.randrange(len(args)):]  # too few arguments
        if rng.random() < 0.2:
            args.append(rng.choice(WORDS + NUMBERS + VERTICES))  # too many
        if rng.random() < 0.2 and args:
            args[rng.randrange(len(args))] = rng.choice(WORDS + NUMBERS + VERTICES + PATHS)
        words = [cmd] + args
        if rng.random() < 0.3:
            words.insert(0, str(rng.randrange(10**6)))
        sep = rng.choice([" ", " ", "  ", "\t", " \t "])
        return sep.join(words).encode("utf-8", "surrogateescape")

    def _word(self) -> bytes:
        return self.rng.choice(WORDS + NUMBERS + VERTICES + PATHS).encode("utf-8", "surrogateescape")


@dataclass
class Counts:
    """What a fuzzing run saw."""

    lines: int = 0
    responses: int = 0
    violations: int = 0
    exits: int = 0
    hangs: int = 0
    internal_errors: int = 0
    slowest: float = 0.0
    examples: dict[str, list[str]] = field(default_factory=dict)

    def note(self, kind: str, line: bytes, detail: str = "", keep: int = 5) -> None:
        shown = self.examples.setdefault(kind, [])
        if len(shown) < keep:
            text = repr(line[:160]) + (f" -> {detail[:300]}" if detail else "")
            shown.append(text)

    def summary(self) -> str:
        return (f"lines {self.lines}, responses {self.responses}, protocol violations {self.violations}, "
                f"engine exits {self.exits}, hangs {self.hangs}, internal errors {self.internal_errors}, "
                f"slowest line {self.slowest:.2f} s")


def sync_line(i: int) -> bytes:
    return b"%d name" % (SYNC_BASE + i)


def sync_response(i: int) -> bytes:
    return b"=%d %s\n\n" % (SYNC_BASE + i, NAME.encode())


def check_output(line: bytes, out: bytes, counts: Counts) -> None:
    """Check what the engine wrote for one fuzzed line (everything before its sync response)."""
    expected = expects_response(line)
    if not out:
        if expected:
            counts.violations += 1
            counts.note("violation", line, "no response")
        return
    m = FRAME.fullmatch(out)
    if m is None or not expected:
        counts.violations += 1
        counts.note("violation", line, "unexpected response " + repr(out[:200]) if m else "badly framed " + repr(out[:300]))
        return
    counts.responses += 1
    words = gtp_tokens(line)
    want_id = words[0] if words and re.fullmatch(rb"\d+", words[0]) else b""
    try:
        out.decode("utf-8")
    except UnicodeDecodeError:
        counts.violations += 1
        counts.note("violation", line, "not UTF-8 " + repr(out[:200]))
        return
    if m.group(2) != want_id:
        counts.violations += 1
        counts.note("violation", line, "id not echoed " + repr(out[:200]))
    if out.startswith(b"?") and b"internal error" in out.split(b"\n", 1)[0]:
        counts.internal_errors += 1
        counts.note("internal error", line, out.decode("utf-8", "replace").strip())


def run_in_process(lines: list[bytes], engine) -> tuple[Counts, bytes]:
    """Feed `lines` (each followed by a sync command) through komi.cmd_gtp.serve over byte streams,
    as `komi gtp` reads them; returns the counts and the raw output."""
    import io

    from komi.cmd_gtp import serve

    data = b"".join(line + b"\n" + sync_line(i) + b"\n" for i, line in enumerate(lines))
    stdout = io.BytesIO()
    counts = Counts()
    try:
        serve(engine, io.BytesIO(data), stdout)
    except Exception as err:  # noqa: BLE001 - counted: the engine would have died here
        counts.note("exception", b"", f"{type(err).__name__}: {err}")
    out = stdout.getvalue()
    pos = 0
    for i, line in enumerate(lines):
        counts.lines += 1
        end = out.find(sync_response(i), pos)
        if end < 0:
            counts.exits += 1
            counts.note("exit", line, "no answer to the sync command after this line")
            break
        check_output(line, out[pos:end], counts)
        pos = end + len(sync_response(i))
    return counts, out


class Engine:
    """A `komi gtp --checkpoint random` process with a byte pipe each way."""

    def __init__(self, folder: Path, strict: bool = True) -> None:
        env = dict(os.environ)
        if strict:
            env["PYTHONIOENCODING"] = "utf-8:strict"
        root = Path(__file__).resolve().parent.parent
        env["PYTHONPATH"] = str(root) + os.pathsep + env.get("PYTHONPATH", "")
        self.stderr = open(folder / "engine-stderr.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "komi", "gtp", "--checkpoint", "random", "--size", "9",
             "--name", NAME, "--seed", "1"],
            cwd=folder, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr)
        self.buffer = b""

    def send(self, data: bytes) -> bool:
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
            return True
        except (BrokenPipeError, OSError):
            return False

    def read_until(self, marker: bytes, seconds: float) -> tuple[bytes | None, bool]:
        """(everything before `marker`, consumed with it) or (None, alive) after `seconds`."""
        deadline = time.monotonic() + seconds
        fd = self.proc.stdout.fileno()
        while True:
            at = self.buffer.find(marker)
            if at >= 0:
                out, self.buffer = self.buffer[:at], self.buffer[at + len(marker):]
                return out, True
            left = deadline - time.monotonic()
            if left <= 0:
                return None, self.proc.poll() is None
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    return None, False
                self.buffer += chunk

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.send_signal(signal.SIGKILL)
                self.proc.wait()
        self.stderr.close()


def run_process(n_lines: int, seed: int, folder: Path, hang_seconds: float, kill_seconds: float,
                progress_every: int = 10000, strict: bool = True) -> Counts:
    """Fuzz a real engine process with `n_lines` generated lines."""
    write_files(folder)
    maker = LineMaker(seed)
    counts = Counts()
    engine = _start(folder, strict)
    started = time.monotonic()
    for i in range(n_lines):
        line = maker.line()
        counts.lines += 1
        t0 = time.monotonic()
        ok = engine.send(line + b"\n" + sync_line(i) + b"\n")
        out, alive = engine.read_until(sync_response(i), hang_seconds) if ok else (None, False)
        if out is None and alive:  # slower than the hang limit: a hang; wait a while longer
            counts.hangs += 1
            counts.note("hang", line)
            out, alive = engine.read_until(sync_response(i), kill_seconds)
        elapsed = time.monotonic() - t0
        counts.slowest = max(counts.slowest, elapsed)
        if out is None:
            if alive:
                counts.note("hang", line, f"killed after {kill_seconds + hang_seconds:.0f} s")
            else:
                counts.exits += 1
                counts.note("exit", line, f"exit status {engine.proc.poll()}")
            engine.proc.kill()
            engine.close()
            engine = _start(folder, strict)
            continue
        check_output(line, out, counts)
        if progress_every and (i + 1) % progress_every == 0:
            rate = (i + 1) / (time.monotonic() - started)
            print(f"[{i + 1}/{n_lines}, {rate:.0f} lines/s] {counts.summary()}", flush=True)
    engine.close()
    return counts


def _start(folder: Path, strict: bool) -> Engine:
    """A started engine that has answered once (start-up is not counted as a hang)."""
    engine = Engine(folder, strict)
    if engine.send(b"%d name\n" % (SYNC_BASE - 1)):
        engine.read_until(b"=%d %s\n\n" % (SYNC_BASE - 1, NAME.encode()), 300)
    return engine


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--lines", type=int, default=200_000, metavar="N", help="fuzzed lines to send (default 200000)")
    p.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    p.add_argument("--hang-seconds", type=float, default=2.0, metavar="S",
                   help="a line answered later than this counts as a hang (default 2)")
    p.add_argument("--kill-seconds", type=float, default=60.0, metavar="S",
                   help="after a hang, wait this much longer before killing the engine (default 60)")
    p.add_argument("--folder", type=Path, default=None, metavar="DIR",
                   help="where the engine runs and writes (default: a new temporary folder)")
    p.add_argument("--progress-every", type=int, default=10000, metavar="N", help="print counts every N lines")
    p.add_argument("--locale-default", action="store_true",
                   help="leave PYTHONIOENCODING alone (default: utf-8:strict, a desktop locale)")
    args = p.parse_args(argv)
    folder = args.folder or Path(tempfile.mkdtemp(prefix="komi-fuzz-gtp-"))
    print(f"fuzzing komi gtp with {args.lines} lines (seed {args.seed}) in {folder}", flush=True)
    t0 = time.monotonic()
    counts = run_process(args.lines, args.seed, folder, args.hang_seconds, args.kill_seconds,
                         args.progress_every, strict=not args.locale_default)
    print(f"done in {time.monotonic() - t0:.0f} s: {counts.summary()}")
    for kind, shown in counts.examples.items():
        print(f"{kind}:")
        for text in shown:
            print(f"  {text}")
    bad = counts.violations + counts.exits + counts.hangs + counts.internal_errors
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
