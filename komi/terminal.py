"""The terminal game behind `komi play`: drawing the board and handling what the user types.

`PlaySession.handle(line)` takes one line of user input and returns the text to show, so the
whole dialogue is testable without a terminal; komi/cmd_play.py only reads lines and prints.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agent.game import GameError, GameState
from agent.players import RESIGN, Player
from komi.errors import KomiError

BLACK, WHITE = 1, -1
COLUMNS = "ABCDEFGHJKLMNOPQRSTUVWXYZ"
NAMES = {BLACK: "Black", WHITE: "White"}

HELP = """commands:
  D4, q16 ...      play there            pass        pass
  undo             take back your last move (and the reply)
  resign           give up               hint        the agent's top moves for you
  score            count the board now   help        this text
  save FILE.sgf    write the game        load FILE.sgf   continue a saved game
  quit             stop (the game is saved)"""


@dataclass(frozen=True)
class Style:
    """How the board is drawn."""

    unicode: bool = False
    """Unicode stones (● ○) and grid dots instead of X / O / '.'."""
    colour: bool = False
    """ANSI colours (only on a terminal)."""


def render_board(board, last_move: int | None = None, style: Style = Style()) -> str:
    """The board with A–T (no I) and 1–N coordinates; the last move is bracketed."""
    n = board.size
    stones = np.asarray(board.stones())
    if style.unicode:
        glyph = {BLACK: "●", WHITE: "○", 0: "·"}
    else:
        glyph = {BLACK: "X", WHITE: "O", 0: "."}
    stars = _star_points(n)
    cols = COLUMNS[:n]
    header = "    " + " ".join(cols)
    lines = [header]
    for row in range(n):
        label = n - row
        cells = []
        for col in range(n):
            v = int(stones[row, col])
            ch = glyph[v]
            if v == 0 and (row, col) in stars:
                ch = "+"
            if style.colour and v != 0:
                ch = ("\x1b[1;30;43m" if v == BLACK else "\x1b[1;97;43m") + ch + "\x1b[0m"
            cells.append(ch)
        seps = [" "] * (n + 1)  # seps[c] is drawn just before column c
        if last_move is not None and last_move // n == row:
            seps[last_move % n], seps[last_move % n + 1] = "(", ")"
        body = "".join(seps[c] + cells[c] for c in range(n)) + seps[n]
        lines.append(f"{label:>2} {body} {label}")
    lines.append(header)
    return "\n".join(lines)


def territory_map(board, ownership_black: np.ndarray, settled: float = 0.3) -> str:
    """The board with each point's estimated owner: stones as on the board where the estimate
    keeps them (X/O), lower-case where it calls them dead, b/w for empty points it gives to
    Black/White and ? where |ownership| < `settled`."""
    n = board.size
    stones = np.asarray(board.stones()).reshape(-1)
    own = np.asarray(ownership_black, np.float64).reshape(-1)
    lines = ["    " + " ".join(COLUMNS[:n])]
    for row in range(n):
        cells = []
        for col in range(n):
            p = row * n + col
            owner = 0 if abs(own[p]) < settled else (BLACK if own[p] > 0 else WHITE)
            if stones[p] == BLACK:
                cells.append("X" if owner != WHITE else "x")
            elif stones[p] == WHITE:
                cells.append("O" if owner != BLACK else "o")
            else:
                cells.append({BLACK: "b", WHITE: "w", 0: "?"}[owner])
        lines.append(f"{n - row:>2}  " + " ".join(cells) + f"  {n - row}")
    lines.append(lines[0])
    return "\n".join(lines)


def _star_points(n: int) -> set[tuple[int, int]]:
    if n < 7:
        return set()
    edge = 2 if n < 13 else 3
    far = n - 1 - edge
    pts = {(edge, edge), (edge, far), (far, edge), (far, far)}
    if n % 2 == 1 and n >= 9:
        mid = n // 2
        pts.add((mid, mid))
        if n >= 13:
            pts |= {(edge, mid), (mid, edge), (far, mid), (mid, far)}
    return pts


class PlaySession:
    """A game between the user and an agent Player, driven by lines of input."""

    def __init__(self, agent: Player, human: int, size: int, komi: float, handicap: int = 0,
                 style: Style = Style(), save_path: str | Path | None = None,
                 agent_label: str = "komi") -> None:
        self.agent = agent
        self.human = human
        self.style = style
        self.agent_label = agent_label
        self.game = GameState(size=size, komi=komi)
        self.save_path = Path(save_path) if save_path else Path(time.strftime("komi-game-%Y%m%d-%H%M%S.sgf"))
        self.result: str | None = None
        self.finished = False
        self.saved_to: Path | None = None
        self.last_winrate: float | None = None  # agent's estimate that IT wins
        if handicap:
            self.game.place_fixed_handicap(handicap)
        self._sync_agent()

    # --- the dialogue ----------------------------------------------------------------------------
    def start(self) -> str:
        """Opening text: the board, and the agent's first move if it starts."""
        out = [f"You play {NAMES[self.human]}. Type 'help' for commands."]
        if self.game.to_play != self.human:
            out.append(self._agent_moves())
        out.append(self.status())
        return "\n".join(s for s in out if s)

    def prompt(self) -> str:
        return f"{NAMES[self.human]} to play> " if not self.finished else "> "

    def handle(self, line: str) -> str:
        """Act on one line of input; returns what to print. Never raises for bad input."""
        words = line.strip().split()
        if not words:
            return ""
        cmd, args = words[0].lower(), words[1:]
        try:
            if cmd in ("help", "?", "h"):
                return HELP
            if cmd in ("quit", "exit", "q"):
                return self._quit()
            if cmd == "save":
                return self._save(args)
            if cmd == "load":
                return self._load(args)
            if cmd == "score":
                return self._score_text()
            if self.finished:
                return "The game is over: 'save FILE.sgf', 'load FILE.sgf', 'undo' or 'quit'." \
                    if cmd != "undo" else self._undo()
            if cmd == "undo":
                return self._undo()
            if cmd == "resign":
                return self._finish(f"{NAMES[-self.human][0]}+R", "You resigned.")
            if cmd == "hint":
                return self._hint()
            if cmd == "pass":
                return self._human_move(self.game.pass_move)
            if len(words) == 1:
                return self._human_move(self._parse_vertex(cmd))
            return f"Unknown command {line.strip()!r}: type a vertex like D4, or 'help'."
        except _InputError as err:
            return str(err)
        except KomiError as err:
            return f"Cannot do that: {err}"
        except (OSError, UnicodeError) as err:
            return f"Cannot do that: {err}"

    def status(self) -> str:
        b = self.game.board
        taken_by_black, taken_by_white = b.captures
        cap_text = f"   captured: by Black {taken_by_black}, by White {taken_by_white}"
        last = self.game.moves[-1] if self.game.moves else None
        last_text = ""
        if last is not None:
            last_text = f"   last: {NAMES[last[0]]} {self._vertex(last[1])}"
        lines = [render_board(b, last[1] if last and last[1] != self.game.pass_move else None, self.style),
                 f"move {len(self.game.moves)}, komi {self.game.komi:g}{cap_text}{last_text}"]
        if self.last_winrate is not None:
            lines.append(f"{self.agent_label} ({NAMES[-self.human]}) estimates its winning chances at "
                         f"{self.last_winrate:.0%}")
        if not self.finished:
            lines.append(f"{NAMES[self.game.to_play]} to play"
                         f"{' (you)' if self.game.to_play == self.human else ''}.")
        return "\n".join(lines)

    def finish_text(self) -> str:
        """The end-of-game report: result, score, where the game is saved (saves if needed)."""
        try:
            saved = self._save([])
        except _InputError as err:
            saved = str(err)
        except KomiError as err:
            saved = f"Could not save the game: {err}"
        return f"Result: {self.result or 'unfinished'}. {self._score_text()}\n{saved}"

    # --- commands --------------------------------------------------------------------------------
    def _human_move(self, move: int) -> str:
        from envs.go import IllegalMove

        if self.game.to_play != self.human:
            return "It is not your turn."
        try:
            self.game.play(move, self.human)
        except IllegalMove as err:
            return f"Illegal move {self._vertex(move)}: {_reason_text(err)}."
        self.agent.play(move, self.human)
        if self._game_over():
            return self._end_by_passes()
        reply = self._agent_moves()
        if self.finished:
            return reply
        if self._game_over():
            return reply + "\n" + self._end_by_passes()
        return reply + "\n" + self.status()

    def _agent_moves(self) -> str:
        from envs.go import IllegalMove

        color = -self.human
        move = self.agent.genmove(color)
        analysis = self.agent.analyze()
        if analysis is not None:
            self.last_winrate = analysis.winrate
        if move == RESIGN:
            return self._finish(f"{NAMES[self.human][0]}+R", f"{self.agent_label} resigns. You win!")
        try:
            self.game.play(move, color)
        except IllegalMove as err:  # the agent is ours: a bug, but the user's game goes on
            self.game.play(self.game.pass_move, color)
            self._sync_agent()
            return f"{self.agent_label} chose an illegal move ({err}) and passes instead."
        return f"{self.agent_label} plays {self._vertex(move)}."

    def _undo(self) -> str:
        if not self.game.moves:
            return "Nothing to undo."
        self.finished, self.result = False, None
        try:
            self.game.undo()
            while self.game.moves and self.game.to_play != self.human:
                self.game.undo()
        except GameError as err:
            return f"Cannot undo: {err}"
        self._sync_agent()
        if self.game.to_play != self.human:  # the agent moved first in this game
            return self._agent_moves() + "\n" + self.status()
        return "Taken back.\n" + self.status()

    def _hint(self) -> str:
        analyze_position = getattr(self.agent, "analyze_position", None)
        if analyze_position is None:
            return f"No hints: {self.agent_label} has no network (give --checkpoint)."
        analysis = analyze_position(self.game.copy_board())
        if analysis is None or not analysis.moves:
            return "No hint for this position."
        lines = ["hint (move, visits, win rate for you, prior):"]
        for m in analysis.moves[:5]:
            lines.append(f"  {self._vertex(m.move):>5} {m.visits:>6} {m.winrate:>6.0%} {m.prior:>6.1%}")
        territory = self._territory_text()
        return "\n".join(lines) + (f"\n{territory}" if territory else "")

    def _score_text(self) -> str:
        from agent.gtp import format_score

        score = float(self.game.board.score())
        territory = self._territory_text()
        return f"Area count now: {format_score(score)} (komi {self.game.komi:g})." + (
            f"\n{territory}" if territory else "")

    def _territory_text(self) -> str:
        """The agent's estimate of the final territory (its ownership head) and score, if it has one."""
        if not getattr(self.agent, "has_ownership", False):
            return ""
        from agent.gtp import format_score

        board = self.game.copy_board()
        ownership, lead = self.agent.estimate(board)
        black_view = np.asarray(ownership) * board.to_play
        estimated = float(np.sign(np.where(np.abs(black_view) > 0.3, black_view, 0)).sum()) - self.game.komi
        text = f"{self.agent_label}'s estimate of the end: {format_score(estimated)}"
        if lead is not None:
            text += f" (score head: {format_score(lead * board.to_play)})"
        return text + "; territory (b Black, w White, ? unsettled):\n" + territory_map(board, black_view)

    def _save(self, args: list[str]) -> str:
        from agent.sgf_io import save_game

        if len(args) > 1:
            raise _InputError("Usage: save FILE.sgf")
        path = Path(args[0]) if args else self.save_path
        folder = path.parent if str(path.parent) else Path(".")
        if not folder.is_dir():  # never create folders for a typo
            raise _InputError(f"Cannot save to {path}: no such folder {folder}.")
        if path.is_dir():
            raise _InputError(f"Cannot save to {path}: it is a folder; give a file name like game.sgf.")
        names = {BLACK: "you", WHITE: "you"}
        names[-self.human] = self.agent_label
        save_game(self.game, path, black=names[BLACK], white=names[WHITE], result=self.result,
                  program="komi play")
        self.saved_to = path
        return f"Game saved to {path}."

    def _load(self, args: list[str]) -> str:
        from agent.sgf_io import load_game

        if len(args) != 1:
            raise _InputError("Usage: load FILE.sgf")
        game = load_game(args[0])
        old = self.game
        self.game = game
        try:
            self._sync_agent()
        except KomiError as err:
            self.game = old
            self._sync_agent()
            return f"Cannot continue that game here: {err}"
        self.finished, self.result, self.last_winrate = False, None, None
        text = f"Loaded {args[0]} ({game.size}x{game.size}, {len(game.moves)} moves)."
        if self.game.board.is_over():
            return text + "\n" + self._end_by_passes()
        if self.game.to_play != self.human:
            text += "\n" + self._agent_moves()
        return text + "\n" + self.status()

    def _quit(self) -> str:
        self.finished = True
        return self.finish_text()

    # --- helpers ---------------------------------------------------------------------------------
    def _game_over(self) -> bool:
        return bool(self.game.board.is_over())

    def _end_by_passes(self) -> str:
        from agent.gtp import format_score

        score = float(self.game.board.score())
        return self._finish(format_score(score), "Both sides passed: the game is over.")

    def _finish(self, result: str, message: str) -> str:
        self.result = result
        self.finished = True
        return f"{message}\n{self.status()}\n{self.finish_text()}"

    def _sync_agent(self) -> None:
        from agent.gtp import sync_player

        sync_player(self.agent, self.game)

    def _vertex(self, move: int) -> str:
        from envs.go.coords import to_gtp

        return to_gtp(int(move), self.game.size)

    def _parse_vertex(self, text: str) -> int:
        from envs.go.coords import from_gtp

        try:
            return int(from_gtp(text, self.game.size))
        except (KomiError, ValueError):
            cols = COLUMNS[: self.game.size]
            raise _InputError(f"{text!r} is not a move or command: moves look like D4 "
                              f"(columns {cols[0]}-{cols[-1]} without I, rows 1-{self.game.size}); "
                              "type 'help'.") from None


class _InputError(Exception):
    """Input the session answers with a one-line explanation."""


def _reason_text(err) -> str:
    reason = getattr(err, "reason", "")
    return {"occupied": "that point is already taken",
            "suicide": "it would have no liberties (suicide)",
            "ko": "it retakes a ko at once (play elsewhere first)",
            "superko": "it repeats an earlier position (superko)",
            "game over": "the game is over",
            "out of range": "that point is off the board"}.get(reason, str(err))
