"""envs.go PettingZoo and Gymnasium environments: the ecosystems' own checkers, full games, rewards."""
from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from pettingzoo.test import api_test

from envs.go import BLACK, WHITE, IllegalMove
from envs.go.errors import GoError
from envs.go.gym_env import GoEnv
from envs.go.observation import planes_for
from envs.go.pettingzoo_env import env as go_aec_env

CENTER_5X5, PASS_5X5 = 12, 25


@pytest.mark.parametrize("size", [5, 9])
def test_pettingzoo_api_test(size):
    api_test(go_aec_env(board_size=size), num_cycles=300, verbose_progress=False)


def play_aec(actions: list[int], **options) -> dict[str, float]:
    """Play the actions in turn; the final cumulative reward of each agent from last()."""
    e = go_aec_env(board_size=5, **options)
    e.reset(seed=0)
    moves = iter(actions)
    final = {}
    for agent in e.agent_iter():
        obs, reward, termination, truncation, _ = e.last()
        if termination or truncation:
            final[agent] = reward
            e.step(None)
        else:
            action = next(moves)
            assert obs["action_mask"][action] == 1
            e.step(action)
    return final


def test_pettingzoo_full_games_reward_the_winner():
    # Black takes the centre and both pass: Black owns the whole board
    assert play_aec([CENTER_5X5, PASS_5X5, PASS_5X5], komi=0.5) == {"black_0": 1.0, "white_0": -1.0}
    # Black passes, White takes the centre, then two passes: White wins
    assert play_aec([PASS_5X5, CENTER_5X5, PASS_5X5, PASS_5X5], komi=0.5) == {"black_0": -1.0, "white_0": 1.0}
    # an empty board with no komi is a draw
    assert play_aec([PASS_5X5, PASS_5X5], komi=0.0) == {"black_0": 0.0, "white_0": 0.0}


def test_pettingzoo_observations_are_per_agent_and_illegal_moves_raise():
    e = go_aec_env(board_size=5)
    e.reset()
    e.step(0)                                    # Black at the top-left corner
    white, black = e.observe("white_0"), e.observe("black_0")
    assert white["observation"][8, 0, 0] == 1 and white["observation"][0, 0, 0] == 0   # opponent's stone
    assert black["observation"][0, 0, 0] == 1 and black["observation"][16].max() == 1  # own stone, Black
    assert white["action_mask"][0] == 0 and white["action_mask"].sum() == 25 and black["action_mask"].sum() == 0
    with pytest.raises(IllegalMove):
        e.step(0)
    assert e.agent_selection == "white_0"        # nothing changed


@pytest.mark.parametrize("color", ["black", "white"])
def test_gymnasium_check_env(color):
    check_env(gym.make("komi/Go9x9-v0", color=color).unwrapped)
    check_env(GoEnv(board_size=5, color=color, feature_set="basic"))


def always_pass(board) -> int:
    return board.size * board.size


@pytest.mark.parametrize("color, actions", [("black", [CENTER_5X5, PASS_5X5]), ("white", [CENTER_5X5, PASS_5X5])])
def test_gymnasium_full_game_against_a_scripted_opponent(color, actions):
    env = GoEnv(board_size=5, komi=0.5, color=color, opponent=always_pass)
    obs, info = env.reset(seed=0)
    assert info["action_mask"].sum() == 26
    obs, reward, terminated, truncated, info = env.step(actions[0])
    assert (reward, terminated) == (0.0, False)
    assert obs[0, 2, 2] == 1                     # own stone in the agent's own-stones plane
    _, reward, terminated, truncated, info = env.step(actions[1])
    assert (reward, terminated, truncated) == (1.0, True, False)
    assert info["score"] == (25 - 0.5 if color == "black" else -25 - 0.5)


def test_gymnasium_random_games_reward_matches_the_board():
    for seed, color in enumerate(["black", "white"] * 3):
        env = GoEnv(board_size=5, color=color)
        obs, info = env.reset(seed=seed)
        rng = np.random.default_rng(seed)
        terminated, steps = False, 0
        while not terminated:
            obs, reward, terminated, truncated, info = env.step(int(rng.choice(np.flatnonzero(info["action_mask"]))))
            assert not truncated
            steps += 1
            assert steps < 2000
        agent = BLACK if color == "black" else WHITE
        assert reward == env.board.winner() * agent
        assert np.array_equal(obs, planes_for(env.board, agent))


def test_gymnasium_illegal_actions():
    env = GoEnv(board_size=5, opponent=lambda board: 0 if board.is_legal(0) else board.size ** 2)
    env.reset(seed=0)
    env.step(1)                                  # the opponent answers at 0
    _, reward, terminated, _, info = env.step(0)
    assert (reward, terminated, info["illegal_move"]) == (-1.0, True, True)
    env = GoEnv(board_size=5, illegal_action="raise")
    env.reset(seed=0)
    with pytest.raises(IllegalMove):
        env.step(26)


@pytest.mark.parametrize("options, message", [
    ({"feature_set": "extended"}, "feature set"), ({"color": "green"}, "color"),
    ({"board_size": 1}, "size"), ({"illegal_action": "ignore"}, "illegal_action"),
])
def test_gymnasium_bad_options(options, message):
    with pytest.raises(GoError, match=message):
        GoEnv(**options)


def test_opponent_illegal_move_is_a_clear_error():
    env = GoEnv(board_size=5, color="white", opponent=lambda board: 99)
    with pytest.raises(GoError, match="opponent chose an illegal move 99"):
        env.reset(seed=0)
