"""A Gymnasium single-agent Go environment: the agent plays one colour against an opponent.

    import gymnasium as gym
    import envs.go.gym_env  # registers "komi/Go9x9-v0", "komi/Go13x13-v0", "komi/Go19x19-v0"
    env = gym.make("komi/Go9x9-v0", color="white", opponent=my_policy)
    obs, info = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(int(np.flatnonzero(info["action_mask"])[0]))

Observation: float32 [C, N, N] feature planes from the agent's point of view. Action: a move
index, N*N = pass; the legal ones are marked in info["action_mask"] (int8 [N*N+1]). The opponent
is a callable board -> move index; by default it picks uniformly among the legal moves (pass
included) with the environment's seeded generator. Reward: +1 / -1 / 0 at the end of the game
(area score, komi included), 0 before. An illegal action loses the game (reward -1,
info["illegal_move"] = True) unless illegal_action="raise".
"""
from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.go import BLACK, WHITE, Board, IllegalMove
from envs.go.errors import GoError
from envs.go.observation import action_mask, check_feature_set, planes_for

Opponent = Callable[[Board], int]
"""A policy for the other side: given the board (its side to move), a legal move index."""


class GoEnv(gym.Env):
    """Go against a fixed opponent; see the module docstring."""

    metadata: ClassVar[dict] = {"render_modes": ["ansi", "human"], "render_fps": 4}

    def __init__(self, board_size: int = 9, komi: float = 7.5, color: str | int = "black",
                 opponent: Opponent | None = None, superko: str = "positional", max_moves: int | None = None,
                 feature_set: str = "agz", illegal_action: str = "lose", render_mode: str | None = None):
        colors = {"black": BLACK, "white": WHITE, BLACK: BLACK, WHITE: WHITE}
        if color not in colors:
            raise GoError(f"color must be 'black' or 'white', got {color!r}")
        if illegal_action not in ("lose", "raise"):
            raise GoError(f"illegal_action must be 'lose' or 'raise', got {illegal_action!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise GoError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        planes = check_feature_set(feature_set)
        self.board_options = {"size": board_size, "komi": komi, "superko": superko, "max_moves": max_moves}
        self.board = Board(**self.board_options)   # validates the options now
        self.color = colors[color]
        self.opponent = opponent or self._random_move
        self.feature_set = feature_set
        self.illegal_action = illegal_action
        self.render_mode = render_mode
        self.observation_space = spaces.Box(0.0, 1.0, (planes, board_size, board_size), np.float32)
        self.action_space = spaces.Discrete(board_size * board_size + 1)

    def _random_move(self, board: Board) -> int:
        return int(self.np_random.choice(board.legal_moves()))

    def _observation(self) -> np.ndarray:
        return planes_for(self.board, self.color, self.feature_set)

    def _info(self, **extra) -> dict:
        mask = action_mask(self.board) if self.board.to_play == self.color else \
            np.zeros(self.board.size * self.board.size + 1, np.int8)
        return {"action_mask": mask, **extra}

    def _opponent_moves(self) -> None:
        """The opponent plays while it is its turn and the game goes on."""
        while not self.board.is_over() and self.board.to_play != self.color:
            move = self.opponent(self.board)
            try:
                self.board.play(int(move), -self.color)
            except IllegalMove as err:
                raise GoError(f"the opponent chose an illegal move {move}: {err}") from None

    def _final(self) -> tuple[float, dict]:
        return float(self.board.winner() * self.color), {"score": self.board.score()}

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.board = Board(**self.board_options)
        self._opponent_moves()
        return self._observation(), self._info()

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        if self.board.is_over():
            raise GoError("step() after the game ended: call reset()")
        try:
            self.board.play(int(action), self.color)
        except IllegalMove:
            if self.illegal_action == "raise":
                raise
            self.board.resign(self.color)
            return self._observation(), -1.0, True, False, self._info(illegal_move=True)
        self._opponent_moves()
        if self.render_mode == "human":
            self.render()
        if self.board.is_over():
            reward, extra = self._final()
            return self._observation(), reward, True, False, self._info(**extra)
        return self._observation(), 0.0, False, False, self._info()

    def render(self) -> str | None:
        if self.render_mode is None:
            return None
        text = str(self.board)
        if self.render_mode == "human":
            print(text)
            return None
        return text


for _size in (9, 13, 19):
    _id = f"komi/Go{_size}x{_size}-v0"
    if _id not in gym.registry:
        gym.register(id=_id, entry_point="envs.go.gym_env:GoEnv", kwargs={"board_size": _size})
