"""One game as front-ends see it: the current Board plus the history needed for undo and SGF.

Used by `komi gtp`, `komi play`, our own players and the tournament referee. Moves carry their
colour, so either side may move twice (GTP allows it). The Board is rebuilt from the setup
stones and the move list when something is taken back (games are short; replay is native-fast).
GTP also lets play go on after two passes (the clean-up phase); the Board would call the game
over, so a pass that would end the game is left off the Board (never off the record) when more
moves follow it. For that, a copy of the Board from before each game-ending pass is kept, so a
move after it costs one copy, not a replay (a file of 4,000 passes used to replay 4,000 times).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from komi.errors import KomiError


class GameError(KomiError):
    """A request the current game cannot honour (undo with no moves, handicap on a full board...)."""


def board_for(board, color: int):
    """`board` if `color` is to move, else a copy where it is (the other side passes first).

    For choosing a move when GTP asks the side that is not to move (the Board has no way to
    hand over the turn without a move); the copy is only looked at, never played on for real.
    """
    if board.to_play == color:
        return board
    view = board.copy()
    if not view.is_over():
        view.play(board.size * board.size, -color)
    return view


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
    """White setup stones (SGF AW)."""
    handicap: int = 0
    """Number of handicap stones (0 = none); with handicap stones White moves first."""
    moves: list[tuple[int, int]] = field(default_factory=list)
    """(color, move) in order; pass = size*size."""

    def __post_init__(self) -> None:
        self._before_end = None  # the Board before its game-ending last pass (None: not over by passes)
        self.rebuild()

    # --- changes ---------------------------------------------------------------------------------
    def clear(self, size: int | None = None, komi: float | None = None) -> None:
        """Empty board (optionally a new size / komi); history forgotten."""
        if size is not None:
            self.size = size
        if komi is not None:
            self.komi = komi
        self.setup_black, self.setup_white, self.moves, self.handicap = [], [], [], 0
        self.rebuild()

    def set_komi(self, komi: float) -> None:
        """Change komi, keeping the position."""
        self.komi = komi
        self.rebuild()

    def place_fixed_handicap(self, stones: int) -> list[int]:
        """Standard handicap points for `stones` (board must be empty); returns them."""
        self._require_empty()
        points = [int(p) for p in self._fresh_board().place_handicap(stones)]
        self.setup_black, self.handicap = points, stones
        self.rebuild()
        return points

    def set_setup(self, black: Sequence[int], white: Sequence[int] = (), handicap: int | None = None) -> None:
        """Setup stones on an empty board (free handicap, SGF AB/AW)."""
        self._require_empty()
        old = (self.setup_black, self.setup_white, self.handicap)
        self.setup_black, self.setup_white = [int(m) for m in black], [int(m) for m in white]
        self.handicap = (len(self.setup_black) if not self.setup_white else 0) if handicap is None else handicap
        try:
            self.rebuild()
        except KomiError:
            self.setup_black, self.setup_white, self.handicap = old
            self.rebuild()
            raise

    def play(self, move: int, color: int | None = None) -> None:
        """Play a move (raises envs.go.IllegalMove and leaves everything unchanged if illegal)."""
        color = self.to_play if color is None else color
        board = self.board
        if board.is_over() and not board.resigned:
            board = self._reopened()
        ending = board.copy() if self._ends_game(board, move) else None
        board.play(move, color)
        self.board, self._before_end = board, ending
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

    def rebuild(self, upto: int | None = None, reopen: bool = False) -> None:
        """Recreate the Board from setup + moves (the first `upto` moves; history truncated to them).

        reopen: a move is about to follow the last one, so a game-ending last pass stays off too.
        """
        if upto is not None:
            del self.moves[upto:]
        self.board, self._before_end = self._build(reopen)

    def _build(self, reopen: bool):
        """(Board from setup + moves, the Board before its game-ending last pass or None)."""
        board = self._fresh_board()
        if self.setup_black and not self.setup_white and self.handicap:
            board.set_free_handicap(self.setup_black)  # White moves next
        elif self.setup_black or self.setup_white:
            board.set_stones(black=self.setup_black, white=self.setup_white)
        before_end = None
        last = len(self.moves) - (0 if reopen else 1)
        for i, (color, move) in enumerate(self.moves):
            if self._ends_game(board, move):
                if i < last:
                    continue  # a game-ending pass followed by clean-up moves: keep it off the Board
                before_end = board.copy()
            board.play(move, color)
        return board, before_end

    def _ends_game(self, board, move: int) -> bool:
        return move == self.pass_move and board.consecutive_passes >= 1

    def _reopened(self):
        """A new Board for the move after a game-ending pass: the position without that pass."""
        if self._before_end is not None:
            return self._before_end.copy()
        return self._build(reopen=True)[0]

    def _fresh_board(self):
        from envs.go import Board

        return Board(size=self.size, komi=self.komi, superko=self.superko)

    def _require_empty(self) -> None:
        if not self.is_empty():
            raise GameError("board not empty")
