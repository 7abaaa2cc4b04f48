"""An external Go engine as a subprocess speaking GTP, wrapped as a Player.

Every command has a timeout; a hang, a crash (EOF on stdout) or a `?` answer raises EngineError
with a short reason, which the tournament records as a loss for that engine.
"""
from __future__ import annotations

import os
import queue
import subprocess
import threading
from typing import Sequence

from agent.players import RESIGN, Player
from komi.errors import KomiError


class EngineError(KomiError):
    """An external engine failed: `reason` is one of timeout, crashed, error, protocol, illegal."""

    def __init__(self, engine: str, reason: str, detail: str) -> None:
        super().__init__(f"engine {engine}: {reason}: {detail}")
        self.engine = engine
        self.reason = reason
        self.detail = detail


class GTPClient:
    """A GTP engine process: send one command, read its response, with a timeout."""

    def __init__(self, argv: Sequence[str], name: str = "engine", startup_timeout: float = 30.0,
                 stderr_path: str | None = None) -> None:
        self.name = name
        self.argv = list(argv)
        self._stderr = open(stderr_path, "ab") if stderr_path else subprocess.DEVNULL
        try:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=self._stderr, text=True, bufsize=1,
                                         start_new_session=True)
        except OSError as err:
            raise EngineError(name, "crashed", f"cannot start {self.argv[0]!r}: {err}") from None
        self.broken = False  # after a timeout the engine is not asked anything more
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.send("protocol_version", timeout=startup_timeout)

    def _read(self) -> None:
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def send(self, command: str, timeout: float = 30.0) -> str:
        """Send one command; return the response text after `= ` (EngineError on `?`, hang, EOF)."""
        if self.proc.poll() is not None:
            raise EngineError(self.name, "crashed", f"exited with status {self.proc.returncode} "
                              f"before {command!r}")
        try:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise EngineError(self.name, "crashed", f"closed its input before {command!r}") from None
        lines: list[str] = []
        while True:
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                self.broken = True
                raise EngineError(self.name, "timeout", f"no answer to {command!r} within {timeout:g}s") from None
            if line is None:
                self.broken = True
                raise EngineError(self.name, "crashed", f"exited while answering {command!r}")
            line = line.rstrip("\r\n")
            if not lines and not line.strip():
                continue  # stray blank lines between responses
            if not line.strip():
                break
            lines.append(line)
        first = lines[0]
        if first.startswith("?"):
            raise EngineError(self.name, "error", f"{command!r} -> {' '.join(lines)}")
        if not first.startswith("="):
            raise EngineError(self.name, "protocol", f"{command!r} -> {first!r} (expected '=' or '?')")
        text = "\n".join([first[1:].lstrip("0123456789")] + lines[1:])
        return text.strip()

    def close(self, timeout: float = 5.0) -> None:
        """Ask the engine to quit; kill it if it does not."""
        if self.proc.poll() is None and not self.broken:
            try:
                self.send("quit", timeout=timeout)
                self.proc.wait(timeout=timeout)
            except (EngineError, subprocess.TimeoutExpired):
                pass
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        if self._stderr not in (None, subprocess.DEVNULL):
            self._stderr.close()


class GTPEnginePlayer(Player):
    """An external GTP engine (e.g. `gnugo --mode gtp --level 10`) as a Player."""

    def __init__(self, argv: Sequence[str], name: str | None = None, move_timeout: float = 60.0,
                 seconds_per_move: float | None = None, stderr_path: str | None = None) -> None:
        self.name = name or os.path.basename(argv[0])
        self.move_timeout = move_timeout
        self.seconds_per_move = seconds_per_move
        self.client = GTPClient(argv, name=self.name, stderr_path=stderr_path)
        self.size = 19
        # Our rules score the board as it stands (area, no dead-stone removal), so once either
        # side has passed the engine is asked for kgs-genmove_cleanup moves, which capture dead
        # stones before passing (else pass-pass ends the game with dead stones counted alive).
        self.can_cleanup = self.client.send("known_command kgs-genmove_cleanup").strip() == "true"
        self.has_passed = False
        self.opponent_passed = False

    def reset(self, size: int, komi: float) -> None:
        from agent.gtp import format_komi

        self.size = size
        self.has_passed = self.opponent_passed = False
        self.client.send(f"boardsize {size}")
        self.client.send("clear_board")
        self.client.send(f"komi {format_komi(komi)}")
        if self.seconds_per_move:
            # No main time, byo-yomi of seconds_per_move for every single stone.
            try:
                self.client.send(f"time_settings 0 {max(1, round(self.seconds_per_move))} 1")
            except EngineError:
                pass  # time control is optional in GTP

    def setup(self, black: Sequence[int], white: Sequence[int]) -> None:
        from envs.go.coords import to_gtp

        if white:
            raise EngineError(self.name, "error", "GTP can only place black setup stones (handicap)")
        if black:
            self.client.send("set_free_handicap " + " ".join(to_gtp(m, self.size) for m in black))

    def play(self, move: int, color: int) -> None:
        from envs.go.coords import to_gtp

        vertex = to_gtp(move, self.size)
        self.opponent_passed = move == self.size * self.size
        try:
            self.client.send(f"play {_color(color)} {vertex}")
        except EngineError as err:
            if err.reason == "error":
                raise EngineError(self.name, "protocol", f"refused our legal move {vertex}: {err.detail}") from None
            raise

    def genmove(self, color: int) -> int:
        from envs.go.coords import from_gtp

        cleanup = self.can_cleanup and (self.has_passed or self.opponent_passed)
        command = "kgs-genmove_cleanup" if cleanup else "genmove"
        answer = self.client.send(f"{command} {_color(color)}", timeout=self.move_timeout)
        word = answer.split()[0].lower() if answer.split() else ""
        if word == "resign":
            return RESIGN
        if word == "pass":
            self.has_passed = True
            return self.size * self.size
        try:
            return from_gtp(word, self.size)
        except KomiError:
            raise EngineError(self.name, "illegal", f"genmove answered {answer!r}, not a vertex") from None

    def final_score(self) -> str | None:
        try:
            return self.client.send("final_score", timeout=self.move_timeout)
        except EngineError:
            return None

    def close(self) -> None:
        self.client.close()


def _color(color: int) -> str:
    return "b" if color == 1 else "w"
