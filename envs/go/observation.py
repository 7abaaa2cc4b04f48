"""Feature planes of a position as one colour sees it, for the Gymnasium and PettingZoo envs.

The native encoder always writes planes for the side to move. An environment must also show a
position to the player who is not to move (PettingZoo observes any agent at any time, and after
the last move of a game), so for the feature sets whose planes are symmetric in the two sides
the own/opponent planes are swapped and the black-to-move plane inverted.
"""
from __future__ import annotations

import numpy as np

from envs.go.errors import GoError
from envs.go.features import encode, num_planes

# feature set -> (own planes, opponent planes, black-to-move plane)
_SIDE_PLANES = {
    "agz": (list(range(8)), list(range(8, 16)), 16),
    "basic": ([0], [1], 3),
}
OBSERVATION_FEATURE_SETS: tuple[str, ...] = tuple(_SIDE_PLANES)
"""Feature sets an environment can observe with (those that can be seen from either side)."""


def check_feature_set(feature_set: str) -> int:
    """Number of planes; a GoError for a feature set the environments cannot use."""
    if feature_set not in _SIDE_PLANES:
        raise GoError(f"observation feature set must be one of {', '.join(OBSERVATION_FEATURE_SETS)}, "
                      f"got {feature_set!r} (the others describe only the side to move)")
    return num_planes(feature_set)


def planes_for(board, color: int, feature_set: str = "agz") -> np.ndarray:
    """float32 [C, N, N] planes of `board` from `color`'s point of view (whoever is to move)."""
    planes = encode([board], feature_set)[0]
    if board.to_play == color:
        return planes
    own, opponent, black_to_move = _SIDE_PLANES[feature_set]
    swapped = planes.copy()
    swapped[own], swapped[opponent] = planes[opponent], planes[own]
    swapped[black_to_move] = 1.0 - planes[black_to_move]
    return swapped


def action_mask(board) -> np.ndarray:
    """int8 [N*N+1]: 1 for the legal moves of the side to move (pass last); all 0 once the game is over."""
    mask = np.zeros(board.size * board.size + 1, np.int8)
    if not board.is_over():
        mask[board.legal_moves()] = 1
    return mask
