"""A GTP version 2 engine around a Player: pure protocol logic, driven one line at a time.

`GTPEngine.handle(line)` returns the full response text (`=id result\\n\\n` or `?id error\\n\\n`),
or None for lines GTP says to ignore (empty, comments). Nothing here touches stdin/stdout, so
tests feed it strings or bytes; `komi gtp` (komi/cmd_gtp.py) wires it to the streams as bytes
(`decode_line`, `encode_response`), so no input can end the engine whatever the locale: bytes
that are not UTF-8 are kept as surrogate escapes (a Latin-1 file name still reaches the file
system) and shown escaped in responses. Every failure is one printable line, `? reason`. Analysis commands
(`lz-analyze`, `kata-analyze`) return a response that stays open: `handle` gives its first part
and `analysis_lines()` the `info ...` lines; the streaming loop ends it when the next command
arrives. Diagnostics go to `log` (stderr in `komi gtp`), never into responses.
"""
from __future__ import annotations

import errno
import os
import re
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from agent.game import GameError, GameState, board_for
from agent.players import RESIGN, Analysis, Player
from komi.errors import KomiError

BLACK, WHITE = 1, -1
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_ID = re.compile(r"[0-9]+")
MAX_LINE_BYTES = 1 << 20
"""Longest command line read (GTP lines are short; a longer one is refused, not buffered)."""
MAX_MESSAGE_CHARS = 300
"""Longest error message (a longer one, e.g. with a huge file name, is cut in the middle)."""


def decode_line(raw: bytes) -> str:
    """A command line's bytes as text: UTF-8, other bytes kept as surrogate escapes."""
    return raw.decode("utf-8", "surrogateescape")


def encode_response(text: str) -> bytes:
    """A response as UTF-8 bytes; nothing can fail to encode (lone surrogates are escaped)."""
    return text.encode("utf-8", "backslashreplace")


def parse_command(line: str) -> tuple[str, str | None, list[str]] | None:
    """(id, command name or None if missing, arguments) of one line; None for a line to ignore.

    GTP's preprocessing: control characters but HT and LF removed, a comment from `#` on cut,
    HT as a space; words are separated by ASCII spaces only and an id is ASCII digits only.
    """
    line = _CONTROL.sub("", line.split("\n", 1)[0]).split("#", 1)[0].replace("\t", " ")
    words = [w for w in line.split(" ") if w]
    if not words:
        return None
    cmd_id = words.pop(0) if _ID.fullmatch(words[0]) else ""
    return cmd_id, (words[0] if words else None), words[1:]


def printable(text: str) -> str:
    """`text` with control and other unprintable characters (lone surrogates too) escaped."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else (c.encode("unicode_escape").decode("ascii")
                                              if not 0xD800 <= ord(c) <= 0xDFFF else f"\\u{ord(c):04x}")
                   for c in text)


def one_line(message: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """An error message as GTP can carry it: its first line, printable, at most `limit` characters."""
    lines = [ln for ln in str(message).splitlines() if ln.strip()]
    text = _CONTROL.sub("", lines[0] if lines else "").strip()
    text = printable(text) or "failed"
    if len(text) > limit:
        text = text[: limit * 2 // 3] + "..." + text[-(limit // 3 - 3):]
    return text


def shown_path(path: str) -> str:
    """A file name for a message: printable and at most 120 characters."""
    return one_line(path, 120) if path else "''"


def _body(result: str) -> str:
    """A successful result framed safely: no control characters, no empty line inside, no trailing one."""
    text = _CONTROL.sub("", str(result))
    return re.sub(r"\n[ ]*(?=\n)", "", text).rstrip("\n")


def _os_reason(err: OSError) -> str:
    if err.errno == errno.ENAMETOOLONG:
        return "file name too long"
    if err.errno == errno.EISDIR:
        return "is a directory"
    if err.errno == errno.ENOENT:
        return "no such file"
    return err.strerror.lower() if err.strerror else str(err)


def _stderr_log(msg: str) -> None:
    """Write a diagnostic line to stderr; never fails (unencodable characters are escaped)."""
    stream = sys.stderr
    if stream is None:
        return
    try:
        encoding = getattr(stream, "encoding", None) or "utf-8"
        stream.write(msg.encode(encoding, "backslashreplace").decode(encoding, "replace") + "\n")
        stream.flush()
    except (OSError, ValueError, LookupError):
        pass


class GTPFailure(Exception):
    """A command failed: the message becomes the `? message` response."""


@dataclass(frozen=True)
class GTPConfig:
    """Engine settings fixed at start-up."""

    name: str = "komi"
    """What `name` answers."""
    version: str = ""
    """What `version` answers (default: the komi package version)."""
    size: int = 19
    """Board size before any `boardsize`."""
    komi: float = 7.5
    """Komi before any `komi` command."""
    max_size: int = 19
    """Largest accepted `boardsize` (GTP coordinates go up to 25)."""
    move_overhead: float = 0.2
    """Seconds kept back from every move's time budget for communication."""
    moves_left_estimate: float = 0.35
    """Fraction of the empty points still expected to be played by one side (absolute time)."""


@dataclass
class TimeControl:
    """Time settings from time_settings / kgs-time_settings and the clock from time_left."""

    main: float = 0.0
    byo_yomi: float = 0.0
    stones: int = 0
    left: dict | None = None  # color -> (seconds, stones)

    @property
    def unlimited(self) -> bool:
        return self.byo_yomi > 0 and self.stones == 0


def format_komi(komi: float) -> str:
    """Komi as GTP prints it: 7.5, 6, -0.5."""
    return f"{komi:g}"


def format_score(score: float) -> str:
    """An area score from Black's side as a result string: B+3.5, W+0.5, 0."""
    if score > 0:
        return f"B+{score:g}"
    if score < 0:
        return f"W+{-score:g}"
    return "0"


class GTPEngine:
    """The GTP command set over a GameState and a Player that generates moves."""

    def __init__(self, player: Player, config: GTPConfig = GTPConfig(),
                 log: Callable[[str], None] | None = None) -> None:
        self.player = player
        self.config = config
        self.log = log or _stderr_log
        self.game = GameState(size=config.size, komi=config.komi)
        self.time = TimeControl()
        self.quit = False
        self.pending_analysis: tuple[str, int, float] | None = None  # (format, color, interval s)
        self.analysis_ownership = False  # kata-analyze ... ownership true
        self._commands: dict[str, Callable[[list[str]], str]] = {
            "protocol_version": lambda a: "2",
            "name": lambda a: config.name,
            "version": self._version,
            "known_command": self._known_command,
            "list_commands": lambda a: "\n".join(self._commands),
            "quit": self._quit,
            "boardsize": self._boardsize,
            "clear_board": self._clear_board,
            "komi": self._komi,
            "play": self._play,
            "genmove": self._genmove,
            "reg_genmove": self._reg_genmove,
            "kgs-genmove_cleanup": self._genmove_cleanup,
            "undo": self._undo,
            "showboard": self._showboard,
            "final_score": self._final_score,
            "final_status_list": self._final_status_list,
            "fixed_handicap": self._fixed_handicap,
            "place_free_handicap": self._place_free_handicap,
            "set_free_handicap": self._set_free_handicap,
            "time_settings": self._time_settings,
            "kgs-time_settings": self._kgs_time_settings,
            "time_left": self._time_left,
            "loadsgf": self._loadsgf,
            "printsgf": self._printsgf,
            "lz-analyze": lambda a: self._analyze("lz", a),
            "kata-analyze": lambda a: self._analyze("kata", a),
        }
        self._sync_player()

    # --- the protocol ----------------------------------------------------------------------------
    def handle(self, line: str | bytes) -> str | None:
        """Respond to one command line (text, or bytes as read); None for lines to ignore."""
        if isinstance(line, (bytes, bytearray)):
            line = decode_line(bytes(line))
        parsed = parse_command(line)
        if parsed is None:
            return None
        cmd_id, name, args = parsed
        if name is None:
            return f"?{cmd_id} syntax error\n\n"
        handler = self._commands.get(name)
        if handler is None:
            return f"?{cmd_id} unknown command\n\n"
        self.pending_analysis = None
        try:
            result = handler(args)
        except GTPFailure as err:
            return f"?{cmd_id} {one_line(str(err))}\n\n"
        except KomiError as err:
            self.log(f"komi gtp: {printable(name)}: {one_line(str(err), 1000)}")
            return f"?{cmd_id} {one_line(str(err))}\n\n"
        except Exception as err:  # noqa: BLE001 - a bug must not take the engine down mid-game
            import traceback

            self.log(f"komi gtp: internal error in {line[:1000]!r}:\n{traceback.format_exc()}")
            return f"?{cmd_id} internal error: {type(err).__name__}\n\n"
        if self.pending_analysis is not None:
            return f"={cmd_id}\n"  # the response stays open for `info` lines
        return f"={cmd_id} {_body(result)}\n\n"

    def refuse(self, line: str | bytes, message: str) -> str:
        """A `? message` response to `line` without running it (a line too long to read whole)."""
        if isinstance(line, (bytes, bytearray)):
            line = decode_line(bytes(line))
        parsed = parse_command(line)
        cmd_id = parsed[0] if parsed else ""
        return f"?{cmd_id} {one_line(message)}\n\n"

    def known(self, name: str) -> bool:
        return name in self._commands

    # --- administrative --------------------------------------------------------------------------
    def _version(self, args: list[str]) -> str:
        from komi import __version__

        return self.config.version or __version__

    def _known_command(self, args: list[str]) -> str:
        _arity(args, 1)
        return "true" if args[0] in self._commands else "false"

    def _quit(self, args: list[str]) -> str:
        self.quit = True
        return ""

    # --- setup -----------------------------------------------------------------------------------
    def _boardsize(self, args: list[str]) -> str:
        _arity(args, 1)
        size = _int(args[0])
        if not 2 <= size <= self.config.max_size:
            raise GTPFailure("unacceptable size")
        try:
            self.player.reset(size, self.game.komi)
        except KomiError as err:
            self.log(f"komi gtp: boardsize {size}: {err}")
            self._sync_player()
            raise GTPFailure("unacceptable size") from None
        self.game.clear(size=size)
        self._sync_player()
        return ""

    def _clear_board(self, args: list[str]) -> str:
        _arity(args, 0)
        self.game.clear()
        self._sync_player()
        return ""

    def _komi(self, args: list[str]) -> str:
        _arity(args, 1)
        try:
            komi = float(args[0])
        except ValueError:
            raise GTPFailure("syntax error") from None
        if komi != komi or abs(komi) > 1000:
            raise GTPFailure("syntax error")
        self.game.set_komi(komi)
        self._sync_player()
        return ""

    def _fixed_handicap(self, args: list[str]) -> str:
        _arity(args, 1)
        stones = _int(args[0])
        if not self.game.is_empty():
            raise GTPFailure("board not empty")
        try:
            points = self.game.place_fixed_handicap(stones)
        except (KomiError, ValueError) as err:
            self.log(f"komi gtp: fixed_handicap {stones}: {err}")
            raise GTPFailure("invalid number of stones") from None
        self._sync_player()
        return " ".join(self._vertex(p) for p in points)

    def _place_free_handicap(self, args: list[str]) -> str:
        _arity(args, 1)
        stones = _int(args[0])
        if not self.game.is_empty():
            raise GTPFailure("board not empty")
        if not 2 <= stones < self.game.size * self.game.size:
            raise GTPFailure("invalid number of stones")
        # The fixed pattern where there is one; further stones spread greedily (each as far as
        # possible from the stones already placed).
        points: list[int] = []
        for n in range(min(stones, 9), 1, -1):
            try:
                points = [int(p) for p in self.game.copy_board().place_handicap(n)]
                break
            except (KomiError, ValueError):
                continue
        points = _spread_points(self.game.size, points, stones)
        self.game.set_setup(points, (), handicap=len(points))
        self._sync_player()
        return " ".join(self._vertex(p) for p in points)

    def _set_free_handicap(self, args: list[str]) -> str:
        if not self.game.is_empty():
            raise GTPFailure("board not empty")
        try:
            points = [self._parse_vertex(v) for v in args]
        except GTPFailure:
            raise GTPFailure("bad vertex list") from None
        if (len(points) < 2 or len(set(points)) != len(points) or self.game.pass_move in points
                or len(points) >= self.game.size * self.game.size):
            raise GTPFailure("bad vertex list")
        self.game.set_setup(points, (), handicap=len(points))
        self._sync_player()
        return ""

    # --- moves -----------------------------------------------------------------------------------
    def _play(self, args: list[str]) -> str:
        _arity(args, 2)
        color, move = _color(args[0]), self._parse_vertex(args[1])
        from envs.go import IllegalMove

        try:
            self.game.play(move, color)
        except IllegalMove as err:
            self.log(f"komi gtp: play {args[0]} {args[1]}: {err}")
            raise GTPFailure("illegal move") from None
        self._player_call(self.player.play, move, color)
        return ""

    def _genmove(self, args: list[str], cleanup: bool = False) -> str:
        _arity(args, 1)
        color = _color(args[0])
        self._set_move_time(color)
        move = self._player_call(self.player.genmove, color)
        if move == RESIGN:
            return "resign"
        if cleanup and move == self.game.pass_move:
            vertex = self._commit(self._cleanup_move(color), color)
            self._sync_player()  # the player had passed on its own board
            return vertex
        return self._commit(move, color)

    def _genmove_cleanup(self, args: list[str]) -> str:
        return self._genmove(args, cleanup=True)

    def _reg_genmove(self, args: list[str]) -> str:
        _arity(args, 1)
        color = _color(args[0])
        move = self._player_call(self.player.genmove, color)
        self._sync_player()  # the player played the move on its own board: take it back
        return "resign" if move == RESIGN else self._vertex(move)

    def _undo(self, args: list[str]) -> str:
        _arity(args, 0)
        try:
            self.game.undo()
        except GameError:
            raise GTPFailure("cannot undo") from None
        self._sync_player()
        return ""

    # --- scoring and display ---------------------------------------------------------------------
    def _showboard(self, args: list[str]) -> str:
        _arity(args, 0)
        return "\n" + str(self.game.board).rstrip("\n")

    def _final_score(self, args: list[str]) -> str:
        _arity(args, 0)
        return format_score(float(self.game.board.score()))

    def _final_status_list(self, args: list[str]) -> str:
        _arity(args, 1)
        status = args[0].lower()
        if status not in ("alive", "dead", "seki"):
            raise GTPFailure("syntax error")
        import numpy as np

        from agent.endgame import dead_stones

        board = self.game.board
        # With an ownership head, stones it gives to the other colour are dead; without one, area
        # scoring of the final position counts every stone on the board as alive.
        dead = dead_stones(board, self._ownership(board)) if self._has_ownership() else np.zeros(0, np.int64)
        if status == "seki":
            return ""
        if status == "dead":
            return " ".join(self._vertex(int(p)) for p in dead)
        stones = np.flatnonzero(np.asarray(board.stones()).reshape(-1) != 0)
        return " ".join(self._vertex(int(p)) for p in np.setdiff1d(stones, dead))

    # --- time ------------------------------------------------------------------------------------
    def _time_settings(self, args: list[str]) -> str:
        _arity(args, 3)
        main, byo, stones = (_int(a) for a in args)
        if main < 0 or byo < 0 or stones < 0:
            raise GTPFailure("syntax error")
        self.time = TimeControl(main=main, byo_yomi=byo, stones=stones)
        return ""

    def _kgs_time_settings(self, args: list[str]) -> str:
        if not args:
            raise GTPFailure("syntax error")
        kind, rest = args[0].lower(), [_int(a) for a in args[1:]]
        shapes = {"none": 0, "absolute": 1, "byoyomi": 3, "canadian": 3}
        if kind not in shapes or len(rest) != shapes[kind] or any(v < 0 for v in rest):
            raise GTPFailure("syntax error")
        if kind == "none":
            self.time = TimeControl(byo_yomi=1, stones=0)
        elif kind == "absolute":
            self.time = TimeControl(main=rest[0])
        elif kind == "byoyomi":  # main, period time, periods: one stone per period
            self.time = TimeControl(main=rest[0], byo_yomi=rest[1], stones=1)
        else:  # canadian: main, period time, stones per period
            self.time = TimeControl(main=rest[0], byo_yomi=rest[1], stones=rest[2])
        return ""

    def _time_left(self, args: list[str]) -> str:
        _arity(args, 3)
        color, seconds, stones = _color(args[0]), _int(args[1]), _int(args[2])
        if seconds < 0 or stones < 0:
            raise GTPFailure("syntax error")
        left = dict(self.time.left or {})
        left[color] = (float(seconds), stones)
        self.time.left = left
        return ""

    def move_seconds(self, color: int) -> float | None:
        """Seconds to spend on the next move of `color`, from time_left/time_settings (None = no limit)."""
        t = self.time
        if t.unlimited or (t.main == 0 and t.byo_yomi == 0 and not t.left):
            return None
        before_any_time_left = (t.main, 0) if t.main > 0 else (t.byo_yomi, t.stones)
        seconds, stones = (t.left or {}).get(color, before_any_time_left)
        if stones > 0:  # in byo-yomi: spread the period over its stones
            budget = seconds / stones
        else:
            empty = int((self.game.board.stones() == 0).sum())
            moves_left = max(10.0, self.config.moves_left_estimate * empty)
            budget = seconds / moves_left + (t.byo_yomi / max(t.stones, 1) if t.byo_yomi else 0.0)
        return max(0.05, budget - self.config.move_overhead)

    # --- SGF -------------------------------------------------------------------------------------
    def _loadsgf(self, args: list[str]) -> str:
        if not 1 <= len(args) <= 2:
            raise GTPFailure("syntax error")
        upto = _int(args[1]) if len(args) == 2 else None
        from agent.sgf_io import load_game

        path = args[0]

        def fail(reason: str) -> GTPFailure:
            self.log(f"komi gtp: loadsgf: {one_line(reason, 1000)}")
            return GTPFailure(f"cannot load file: {reason}")

        problem = _readable_file_problem(path)
        if problem:
            raise fail(problem)
        try:
            game = load_game(path, move_number=upto)
        except OSError as err:
            raise fail(_path_reason(path, err)) from None
        except KomiError as err:
            raise fail(str(err)) from None
        if game.size > self.config.max_size:
            raise fail(f"{shown_path(path)}: a {game.size}x{game.size} board is larger than "
                       f"{self.config.max_size}x{self.config.max_size}, the largest this engine plays")
        try:
            self.player.reset(game.size, game.komi)
        except KomiError as err:
            self._sync_player()
            raise fail(str(err)) from None
        self.game = game
        self._sync_player()
        return ""

    def _printsgf(self, args: list[str]) -> str:
        from agent.sgf_io import game_to_sgf, save_game

        if len(args) > 1:
            raise GTPFailure("syntax error")
        names = {"white": self.player.name, "black": self.player.name}
        if not args:
            return game_to_sgf(self.game, program=self.config.name, **names).strip()
        path = args[0]

        def fail(reason: str) -> GTPFailure:
            self.log(f"komi gtp: printsgf: {one_line(reason, 1000)}")
            return GTPFailure(f"cannot save file: {reason}")

        problem = _writable_file_problem(path)
        if problem:
            raise fail(problem)
        try:
            save_game(self.game, path, program=self.config.name, **names)
        except OSError as err:
            raise fail(_path_reason(path, err)) from None
        except KomiError as err:
            raise fail(str(err)) from None
        return ""

    # --- analysis --------------------------------------------------------------------------------
    def _analyze(self, fmt: str, args: list[str]) -> str:
        color, interval, ownership = self.game.to_play, 1.0, False
        rest = list(args)
        if rest and rest[0].lower() in ("b", "w", "black", "white"):
            color = _color(rest.pop(0))
        if rest and re.fullmatch(r"[0-9]+", rest[0]):
            interval = _centiseconds(rest.pop(0))
        while rest:  # key value options (interval N, minmoves N, maxmoves N, ownership b, ...)
            key = rest.pop(0).lower()
            if not rest:
                raise GTPFailure("syntax error")
            value = rest.pop(0)
            if key == "interval":
                interval = _centiseconds(value)
            elif key == "ownership":
                if value.lower() not in ("true", "false"):
                    raise GTPFailure("syntax error")
                ownership = value.lower() == "true" and fmt == "kata"
        if ownership and not self._has_ownership():
            raise GTPFailure("ownership needs a network with an ownership head; this one has none")
        self.analysis_ownership = ownership
        self.pending_analysis = (fmt, color, max(interval, 0.05))
        return ""

    def analysis_lines(self) -> list[str]:
        """The `info ...` lines of the open analysis response (one line, GUIs read it that way);
        none if the analysis fails (logged: the open response must still be closed)."""
        if self.pending_analysis is None:
            return []
        try:
            return self._analysis_lines()
        except Exception:  # noqa: BLE001 - a bug in the analysis must not end the response stream
            import traceback

            self.log(f"komi gtp: internal error in the analysis:\n{traceback.format_exc()}")
            return []

    def _analysis_lines(self) -> list[str]:
        fmt, color, _ = self.pending_analysis
        analysis = self._analysis_for(color)
        if analysis is None or not analysis.moves:
            return []
        parts = []
        board = board_for(self.game.board, color)
        ownership, score_lead = (self.player.estimate(board) if self._has_ownership() else (None, None))
        lead = 0.0 if score_lead is None else score_lead
        for order, m in enumerate(analysis.moves):
            pv = " ".join(self._vertex(p) for p in (m.pv or (m.move,)))
            visits = max(m.visits, 1 if analysis.visits <= 1 else m.visits)
            if fmt == "lz":
                parts.append(f"info move {self._vertex(m.move)} visits {visits} "
                             f"winrate {round(m.winrate * 10000)} prior {round(m.prior * 10000)} "
                             f"lcb {round(m.winrate * 10000)} order {order} pv {pv}")
            else:
                parts.append(f"info move {self._vertex(m.move)} visits {visits} "
                             f"utility {2 * m.winrate - 1:.6f} winrate {m.winrate:.6f} "
                             f"scoreMean {lead:.2f} scoreStdev 0 scoreLead {lead:.2f} scoreSelfplay {lead:.2f} "
                             f"prior {m.prior:.6f} lcb {m.winrate:.6f} utilityLcb {2 * m.winrate - 1:.6f} "
                             f"order {order} pv {pv}")
        if self.analysis_ownership and ownership is not None:
            # KataGo: size*size values for the side to move, row by row from the top
            parts.append("ownership " + " ".join(f"{v:.4f}" for v in ownership))
        return [" ".join(parts)]

    def _analysis_for(self, color: int) -> Analysis | None:
        analyze_position = getattr(self.player, "analyze_position", None)
        if analyze_position is None:
            return None
        return analyze_position(board_for(self.game.board, color))

    # --- helpers ---------------------------------------------------------------------------------
    def _vertex(self, move: int) -> str:
        from envs.go.coords import to_gtp

        return to_gtp(int(move), self.game.size)

    def _parse_vertex(self, text: str) -> int:
        from envs.go.coords import from_gtp

        if text.lower() == "pass":
            return self.game.pass_move
        try:
            return int(from_gtp(text, self.game.size))
        except (KomiError, ValueError):
            raise GTPFailure("syntax error") from None

    def _set_move_time(self, color: int) -> None:
        set_move_time = getattr(self.player, "set_move_time", None)
        if set_move_time is not None:
            set_move_time(self.move_seconds(color))

    def _commit(self, move: int, color: int) -> str:
        from envs.go import IllegalMove

        try:
            self.game.play(move, color)
        except IllegalMove as err:
            self.log(f"komi gtp: the player chose an illegal move {self._vertex(move)} ({err}); passing")
            move = self.game.pass_move
            self.game.play(move, color)
            self._sync_player()
        return self._vertex(move)

    def _cleanup_move(self, color: int) -> int:
        """kgs-genmove_cleanup: instead of passing, capture the opponent's dead stones (those the
        ownership head gives to `color`; without the head, a safe move next to opponent stones)."""
        import numpy as np

        from agent.endgame import cleanup_move

        g = self.game
        # Clean-up may follow two passes: look at the stones without the passes.
        view = GameState(size=g.size, komi=g.komi, superko=g.superko, setup_black=list(g.setup_black),
                         setup_white=list(g.setup_white), handicap=g.handicap,
                         moves=[(c, m) for c, m in g.moves if m != g.pass_move])
        board = board_for(view.board, color)
        ownership = self._ownership(board) if self._has_ownership() else None
        return cleanup_move(board, color, ownership, np.random.default_rng(len(g.moves)))

    def _has_ownership(self) -> bool:
        return bool(getattr(self.player, "has_ownership", False))

    def _ownership(self, board):
        """The player's ownership estimate [N*N] for the side to move of `board`."""
        return self.player.estimate(board)[0]

    def _player_call(self, fn, *args):
        try:
            return fn(*args)
        except KomiError as err:
            self.log(f"komi gtp: {self.player.name}: {err}")
            self._sync_player()
            raise GTPFailure(str(err).splitlines()[0]) from None

    def _sync_player(self) -> None:
        """Bring the player's board to the engine's position (after undo, setup, load...)."""
        sync_player(self.player, self.game)


def sync_player(player: Player, game: GameState) -> None:
    """Replay `game` (setup stones and moves) into a Player from an empty board."""
    player.reset(game.size, game.komi)
    if game.setup_black or game.setup_white:
        player.setup(game.setup_black, game.setup_white)
    for color, move in game.moves:
        player.play(move, color)


def _spread_points(size: int, points: list[int], total: int) -> list[int]:
    """Extend `points` to `total` points, each new one as far as possible from the others."""
    import numpy as np

    rows, cols = np.divmod(np.arange(size * size), size)
    edge = np.minimum(np.minimum(rows, cols), np.minimum(size - 1 - rows, size - 1 - cols))
    points = list(points)
    while len(points) < total:
        if points:
            pr, pc = np.divmod(np.asarray(points), size)
            dist = np.min(np.abs(rows[:, None] - pr) + np.abs(cols[:, None] - pc), axis=1).astype(float)
        else:
            dist = np.full(size * size, float(size))
        dist[points] = -1.0
        dist += 0.1 * np.minimum(edge, 3)  # prefer the third/fourth line over the edge
        points.append(int(np.argmax(dist)))
    return points


def _path_reason(path: str, err: OSError | ValueError) -> str:
    """Why `path` cannot be used, from the error of an attempt: `x.sgf: permission denied`."""
    if isinstance(err, OSError) and err.errno == errno.ENAMETOOLONG:
        return f"file name too long ({len(path)} characters)"
    if isinstance(err, UnicodeError):
        return f"{shown_path(path)}: the file name cannot be encoded for this file system"
    reason = _os_reason(err) if isinstance(err, OSError) else str(err)
    return f"{shown_path(path)}: {reason}"


def _readable_file_problem(path: str) -> str | None:
    """Why loadsgf cannot read `path` (None if it is a regular file)."""
    try:
        st = os.stat(path)
    except (OSError, ValueError) as err:
        return _path_reason(path, err)
    if stat.S_ISDIR(st.st_mode):
        return f"{shown_path(path)}: is a directory"
    if not stat.S_ISREG(st.st_mode):
        return f"{shown_path(path)}: not a regular file"
    return None


def _writable_file_problem(path: str) -> str | None:
    """Why printsgf cannot write `path` (None if it may try): folders are never made on the way."""
    p = Path(path)
    try:
        if p.is_dir() or p.name in ("", ".", ".."):
            return f"{shown_path(path)}: is a directory"
        if p.exists() and not p.is_file():
            return f"{shown_path(path)}: not a regular file"
        parent = p.parent
        if not parent.is_dir():
            what = "not a folder" if parent.exists() else "no such folder"
            return f"{shown_path(str(parent))}: {what}"
    except (OSError, ValueError) as err:
        return _path_reason(path, err)
    return None


def _arity(args: list[str], n: int) -> None:
    if len(args) != n:
        raise GTPFailure("syntax error")


def _int(text: str) -> int:
    if not re.fullmatch(r"[+-]?[0-9]{1,9}", text):
        raise GTPFailure("syntax error")
    return int(text)


def _centiseconds(text: str) -> float:
    """An analysis interval in centiseconds as seconds; a huge one means a day (no overflow)."""
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise GTPFailure("syntax error")
    digits = text.lstrip("+-").lstrip("0") or "0"
    value = (int(digits) if len(digits) <= 12 else 10**12) * (-1 if text.startswith("-") else 1)
    return max(-1, min(value, 8_640_000)) / 100.0


def _color(text: str) -> int:
    t = text.lower()
    if t in ("b", "black"):
        return BLACK
    if t in ("w", "white"):
        return WHITE
    raise GTPFailure("syntax error")
