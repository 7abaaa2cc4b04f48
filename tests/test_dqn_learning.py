"""Tiny learning runs that must learn: a chain MDP (every switch combination) and CartPole."""
import gymnasium as gym
import numpy as np
import pytest

from agent.dqn.config import PRESETS, RAINBOW
from agent.dqn.train import train

CHAIN = 6


class ChainMDP(gym.Env):
    """States 0..5 (one-hot), start at 0; action 1 moves right, 0 left; +1 for reaching state 5.

    Episodes are cut after 30 steps (truncation, so bootstrapping matters); a small reward for
    bumping into the left wall is a trap that an agent fitting only one-step rewards falls into.
    """

    observation_space = gym.spaces.Box(0.0, 1.0, (CHAIN,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.s = 0
        return self._obs(), {}

    def _obs(self):
        o = np.zeros(CHAIN, np.float32)
        o[self.s] = 1.0
        return o

    def step(self, action):
        self.s = min(CHAIN - 1, self.s + 1) if action == 1 else max(0, self.s - 1)
        done = self.s == CHAIN - 1
        reward = 1.0 if done else (0.002 if self.s == 0 and action == 0 else 0.0)
        return self._obs(), reward, done, False, {}


if "KomiChain-v0" not in gym.registry:
    gym.register("KomiChain-v0", entry_point=ChainMDP, max_episode_steps=30)

CHAIN_BASE = PRESETS["cartpole"].replace(
    env_id="KomiChain-v0", total_steps=2000, learning_starts=300, buffer_size=5000, batch_size=32,
    gamma=0.9, hidden=(32,), target_update=100, exploration_fraction=0.5, eval_episodes=3, checkpoint_every=10**9)


@pytest.mark.parametrize("switches", [
    dict(double=False, dueling=False, n_step=1),               # Nature-style DQN
    dict(double=True, dueling=True, n_step=3, num_envs=2),      # our default, vectorised
    dict(prioritized=True, n_step=1, tau=0.05, target_update=1),  # PER + Polyak averaging
    dict(RAINBOW, v_min=-2.0, v_max=2.0),                       # noisy nets + C51 + all the rest
], ids=["dqn", "double-dueling-nstep-vec", "per-polyak", "rainbow"])
def test_chain_mdp_is_solved(tmp_path, switches):
    result = train(CHAIN_BASE.replace(**switches), tmp_path, progress=False, tensorboard=False)
    # optimal greedy play walks straight right: return 1 in every episode
    assert result.eval_returns == [1.0, 1.0, 1.0]


def test_cartpole_improves_clearly_over_random(tmp_path):
    cfg = PRESETS["cartpole"].replace(total_steps=4000, eval_episodes=5, seed=3)
    result = train(cfg, tmp_path, progress=False, tensorboard=False)
    assert np.mean(result.eval_returns) > 150  # random play averages about 22
    assert (tmp_path / "learning_curve.png").stat().st_size > 1000
