"""Go: the native rules core with a Python API, coordinates, features, SGF and environments.

`Board` is the native class itself (no Python wrapper in the hot path). Moves are indices
`row * size + col` with row 0 the top line; pass is `size * size`. Colours: BLACK = 1,
WHITE = -1, EMPTY = 0. See the README section "Python API: envs.go".
"""
from envs.go._core import Board, random_games
from envs.go.errors import CoordinateError, GoError, IllegalMove

BLACK: int = 1
WHITE: int = -1
EMPTY: int = 0

__all__ = ["BLACK", "EMPTY", "WHITE", "Board", "CoordinateError", "GoError", "IllegalMove", "random_games"]
