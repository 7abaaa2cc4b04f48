"""Knowing when the game is over: when to pass, what to play instead, dead stones, clean-up.

All rules are for area scoring (Tromp-Taylor counts what is on the board). "Own area" is the
Tromp-Taylor owner of the current position (envs.go.Board.ownership): a stone, or an empty point
of a region that reaches only one colour. Ownership estimates (the network's ownership head) are
float [N*N] in [-1, 1] from the SIDE TO MOVE's view.
"""
from __future__ import annotations

import numpy as np



def own_eye_mask(stones: np.ndarray, color: int) -> np.ndarray:
    """bool [N*N]: empty points that are true eyes of `color` (the usual playout rule).

    An eye: every orthogonal neighbour is `color` (or off the board), and of the diagonal
    neighbours at most one is the opponent's in the centre, none on the edge or in a corner.
    """
    n = stones.shape[0]
    off = 2
    pad = np.full((n + 2, n + 2), off, dtype=np.int8)
    pad[1:-1, 1:-1] = stones
    centre = pad[1:-1, 1:-1]
    orth = [pad[:-2, 1:-1], pad[2:, 1:-1], pad[1:-1, :-2], pad[1:-1, 2:]]
    diag = [pad[:-2, :-2], pad[:-2, 2:], pad[2:, :-2], pad[2:, 2:]]
    surrounded = np.logical_and.reduce([(o == color) | (o == off) for o in orth])
    opponent_diag = sum((d == -color).astype(np.int8) for d in diag)
    on_edge = np.logical_or.reduce([d == off for d in diag])
    eye = (centre == 0) & surrounded & (opponent_diag <= np.where(on_edge, 0, 1))
    return eye.reshape(-1)


def _candidates(board, color: int) -> np.ndarray:
    """Legal moves other than pass that neither fill an own true eye nor an empty point of
    the mover's own area (which can never gain a point under area scoring)."""
    n2 = board.size * board.size
    legal = np.asarray(board.legal_moves())
    legal = legal[legal < n2]
    if legal.size == 0:
        return legal
    stones = np.asarray(board.stones())
    area = np.asarray(board.ownership()).reshape(-1)
    empty = stones.reshape(-1) == 0
    own_territory = empty & (area == color)
    bad = own_eye_mask(stones, color) | own_territory
    return legal[~bad[legal]]


def pass_wins(board) -> bool:
    """A pass by the side to move ends or leaves a game it wins on the area count as it stands."""
    return float(board.score()) * board.to_play > 0


def end_of_game_move(board, move: int, preference: np.ndarray, late: bool | None = None) -> int:
    """The move to play instead of `move` near the end of a game, or `move` itself.

    * The opponent just passed and a pass wins on the count: pass (the game ends, won).
    * `move` is a pass that loses on the count: the preferred useful move (not an own eye, not
      the own area), or the pass if no useful move is left.
    * Late in the game (`late`; default: half the board's points played), `move` only fills the
      mover's own area while a pass wins on the count: pass.
    preference: [N*N+1] scores (policy, visits); higher is better.
    """
    n2 = board.size * board.size
    color = board.to_play
    winning = pass_wins(board)
    if winning and board.last_move == n2:
        return n2
    if move == n2:
        if winning:
            return n2
        useful = _candidates(board, color)
        if useful.size == 0:
            return n2
        return int(useful[np.argmax(np.asarray(preference, np.float64)[useful])])
    if late is None:
        late = board.move_number >= n2 // 2
    if late and winning and 0 <= move < n2:
        area = np.asarray(board.ownership()).reshape(-1)
        if area[move] == color:  # an empty point already counted as the mover's
            return n2
    return move


def dead_stones(board, ownership: np.ndarray | None) -> np.ndarray:
    """Move indices of the stones the ownership estimate gives to the other colour at the end.

    ownership: [N*N] for the side to move of `board` (None: no estimate, so no stone is dead).
    """
    if ownership is None:
        return np.zeros(0, np.int64)
    stones = np.asarray(board.stones()).reshape(-1).astype(np.float64)
    black_view = np.asarray(ownership, np.float64).reshape(-1) * board.to_play
    return np.flatnonzero((stones != 0) & (stones * black_view < 0))


def cleanup_move(board, color: int, ownership: np.ndarray | None, rng: np.random.Generator) -> int:
    """kgs-genmove_cleanup: a move that helps capture the opponent's dead stones, else pass.

    `board` has `color` to move; ownership [N*N] from `color`'s view (None: no estimate, then a
    safe move next to any opponent stone, as a plain engine does).
    """
    n2 = board.size * board.size
    useful = _candidates(board, color)
    legal = np.asarray(board.legal_moves())
    legal = legal[legal < n2]
    if legal.size:
        legal = legal[~own_eye_mask(np.asarray(board.stones()), color)[legal]]
    stones = np.asarray(board.stones())
    if ownership is not None:
        dead = dead_stones(board, ownership)
        target = np.zeros(n2, bool)
        target[dead[stones.reshape(-1)[dead] == -color]] = True
        if not target.any():
            return n2
        grid = np.pad(target.reshape(stones.shape), 1)
        near = (grid[:-2, 1:-1] | grid[2:, 1:-1] | grid[1:-1, :-2] | grid[1:-1, 2:]).reshape(-1)
        choice = legal[near[legal]] if legal.size else legal
        if choice.size == 0:
            return n2
        return int(choice[np.argmax(np.asarray(ownership)[choice])])  # the surest own point first
    pool = useful if useful.size else legal
    if pool.size == 0:
        return n2
    grid = np.pad(stones == -color, 1)
    near = (grid[:-2, 1:-1] | grid[2:, 1:-1] | grid[1:-1, :-2] | grid[1:-1, 2:]).reshape(-1)
    candidates = pool[near[pool]] if near[pool].any() else pool
    return int(rng.choice(candidates))
