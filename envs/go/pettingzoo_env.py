"""A PettingZoo AEC environment for Go over the native `envs.go.Board`.

    from envs.go.pettingzoo_env import env
    e = env(board_size=9)
    e.reset(seed=0)
    for agent in e.agent_iter():
        obs, reward, termination, truncation, info = e.last()
        action = None if termination or truncation else int(np.flatnonzero(obs["action_mask"])[0])
        e.step(action)

Agents "black_0" and "white_0" alternate, Black first. Observation: {"observation": float32
[C, N, N] feature planes from that agent's point of view (envs.go.observation), "action_mask":
int8 [N*N+1]}. Actions are move indices, N*N = pass. Rewards: +1 / -1 to the winner / loser by
area score (komi included) when two passes or the move cap end the game, 0 for a draw. An
illegal action raises IllegalMove (use the action mask).
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv
from pettingzoo.utils import wrappers

from envs.go import BLACK, WHITE, Board
from envs.go.observation import action_mask, check_feature_set, planes_for

AGENTS = ("black_0", "white_0")
COLORS = {"black_0": BLACK, "white_0": WHITE}


class raw_env(AECEnv):
    """Go as a two-agent AEC game; see the module docstring."""

    metadata: ClassVar[dict] = {"render_modes": ["ansi", "human"], "name": "komi_go_v0", "is_parallelizable": False}

    def __init__(self, board_size: int = 19, komi: float = 7.5, superko: str = "positional",
                 max_moves: int | None = None, feature_set: str = "agz", render_mode: str | None = None):
        super().__init__()
        planes = check_feature_set(feature_set)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.board_options = {"size": board_size, "komi": komi, "superko": superko, "max_moves": max_moves}
        self.board = Board(**self.board_options)   # validates the options now
        self.feature_set = feature_set
        self.render_mode = render_mode
        n = board_size * board_size + 1
        self.possible_agents = list(AGENTS)
        self.action_spaces = {a: spaces.Discrete(n) for a in AGENTS}
        self.observation_spaces = {a: spaces.Dict({
            "observation": spaces.Box(0.0, 1.0, (planes, board_size, board_size), np.float32),
            "action_mask": spaces.Box(0, 1, (n,), np.int8),
        }) for a in AGENTS}

    def observation_space(self, agent: str) -> spaces.Space:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self.action_spaces[agent]

    def observe(self, agent: str) -> dict[str, np.ndarray]:
        mask = action_mask(self.board) if COLORS[agent] == self.board.to_play else \
            np.zeros(self.board.size * self.board.size + 1, np.int8)
        return {"observation": planes_for(self.board, COLORS[agent], self.feature_set), "action_mask": mask}

    def reset(self, seed: int | None = None, options: dict | None = None) -> None:
        self.board = Board(**self.board_options)
        self.agents = list(AGENTS)
        self.rewards = {a: 0.0 for a in AGENTS}
        self._cumulative_rewards = {a: 0.0 for a in AGENTS}
        self.terminations = {a: False for a in AGENTS}
        self.truncations = {a: False for a in AGENTS}
        self.infos = {a: {} for a in AGENTS}
        self.agent_selection = AGENTS[0]

    def step(self, action: int | None) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        self._cumulative_rewards[agent] = 0.0
        self.board.play(int(action), COLORS[agent])   # IllegalMove leaves the board unchanged
        if self.board.is_over():
            winner = self.board.winner()
            for a in AGENTS:
                self.rewards[a] = float(winner * COLORS[a])
                self.terminations[a] = True
                self.infos[a] = {"score": self.board.score()}
        self.agent_selection = AGENTS[1] if agent == AGENTS[0] else AGENTS[0]
        self._accumulate_rewards()
        if self.render_mode == "human":
            self.render()

    def render(self) -> str | None:
        if self.render_mode is None:
            return None
        text = str(self.board)
        if self.render_mode == "human":
            print(text)
            return None
        return text

    def close(self) -> None:
        pass


def env(**kwargs) -> AECEnv:
    """The Go AEC environment wrapped in PettingZoo's order-enforcing wrapper (kwargs: raw_env's)."""
    return wrappers.OrderEnforcingWrapper(raw_env(**kwargs))
