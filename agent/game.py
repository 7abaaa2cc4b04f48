"""One game as front-ends see it: the current Board plus the history needed for undo and SGF.

Used by `komi gtp`, `komi play` and the tournament referee. The Board is rebuilt from the setup
stones and the move list when something is taken back (games are short; replay is native-fast).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from komi.errors import KomiError


def give_turn(board, color: int) -> None:
    """Make `color` the side to move on `board` (GTP and setup positions may ask either side)."""
    if board.to_play != color:
        board.set_to_play(color)


class GameError(KomiError):
    """A request the current game cannot honour (undo with no moves, handicap on a full board...)."""


@dataclass
class GameState:
    """Board + history: size, komi, setup stones and the (color, move) list."""

    size: int = 19
    """Board side."""
    komi: float = 7.5
    """Komi (points for White)."""
    superko: str = "positional"
    """Superko rule of the Board."""
    setup_black: list[int] = field(default_factory=list)
    """Black setup stones (handicap), placed before the first move."""
    setup_white: list[int] = field(default_factory=list)
    """White setup stones."""
    handicap: int = 0
    """Number of handicap stones (0 = none)."""
    moves: list[tuple[int, int]] = field(default_factory=list)
    """(color, move) in order; pass = size*size."""
    first_to_play: int = 1
    """Colour to move after the setup (White after a handicap)."""

    def __post_init__(self) -> None:
        self.board = self._fresh_board()
        self.rebuild()

    # --- changes ---------------------------------------------------------------------------------
    def clear(self, size: int | None = None, komi: float | None = None) -> None:
        """Empty board (optionally a new size / komi); history forgotten."""
        if size is not None:
            self.size = size
        if komi is not None:
            self.komi = komi
        self.setup_black, self.setup_white, self.moves = [], [], []
        self.handicap, self.first_to_play = 0, 1
        self.board = self._fresh_board()

    def set_komi(self, komi: float) -> None:
        """Change komi, keeping the position."""
        self.komi = komi
        self.rebuild()

    def place_fixed_handicap(self, stones: int) -> list[int]:
        """Standard handicap points for `stones` (board must be empty); returns them."""
        self._require_empty()
        points = [int(p) for p in self.board.place_handicap(stones)]
        self.setup_black, self.handicap, self.first_to_play = points, stones, -1
        self.rebuild()
        return points

    def set_setup(self, black: Sequence[int], white: Sequence[int] = (), handicap: int | None = None,
                  first_to_play: int | None = None) -> None:
        """Setup stones on an empty board (free handicap, SGF AB/AW)."""
        self._require_empty()
        self.setup_black, self.setup_white = [int(m) for m in black], [int(m) for m in white]
        self.handicap = len(self.setup_black) if handicap is None else handicap
        if first_to_play is None:
            first_to_play = -1 if self.handicap and not self.setup_white else 1
        self.first_to_play = first_to_play
        self.rebuild()

    def play(self, move: int, color: int | None = None) -> None:
        """Play a move (raises envs.go.IllegalMove and leaves everything unchanged if illegal)."""
        color = self.to_play if color is None else color
        if color != self.board.to_play:
            self._give_turn_to(color)
        self.board.play(move, color)
        self.moves.append((color, int(move)))

    def undo(self) -> tuple[int, int]:
        """Take back the last move; returns it."""
        if not self.moves:
            raise GameError("no move to undo")
        last = self.moves.pop()
        self.rebuild()
        return last

    # --- views -----------------------------------------------------------------------------------
    @property
    def to_play(self) -> int:
        return self.board.to_play

    @property
    def pass_move(self) -> int:
        return self.size * self.size

    def is_empty(self) -> bool:
        return not (self.moves or self.setup_black or self.setup_white)

    def copy_board(self):
        return self.board.copy()

    def rebuild(self, upto: int | None = None) -> None:
        """Recreate the Board from setup + moves (the first `upto` moves; history truncated to them)."""
        if upto is not None:
            del self.moves[upto:]
        board = self._fresh_board()
        if self.setup_black or self.setup_white:
            board.set_stones(black=self.setup_black, white=self.setup_white)
        self.board = board
        self._give_turn_to(self.first_to_play)
        moves, self.moves = self.moves, []
        for color, move in moves:
            self.play(move, color)

    def _fresh_board(self):
        from envs.go import Board

        return Board(size=self.size, komi=self.komi, superko=self.superko)

    def _give_turn_to(self, color: int) -> None:
        give_turn(self.board, color)

    def _require_empty(self) -> None:
        if not self.is_empty():
            raise GameError("board not empty")
