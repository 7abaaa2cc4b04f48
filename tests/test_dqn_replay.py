"""Replay: n-step arithmetic, exact frame-stack reconstruction (episode ends, wrap-around, vector envs)."""
import gymnasium as gym
import numpy as np
import pytest

from agent.dqn.replay import ReplayBuffer, n_step_returns
from envs.atari import VectorEnv


def test_n_step_returns_hand_computed():
    rewards = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [0.0, 0.0, 5.0]])
    ended = np.array([[0, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1]], bool)
    terminated = np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0], [0, 0, 1]], bool)
    returns, discounts, steps = n_step_returns(rewards, ended, terminated, gamma=0.5)
    # no end: 1 + .5*2 + .25*3, bootstrap .5^3 after 3 steps
    # terminal after step 1: 1 + .5*2, no bootstrap, next obs 2 steps on
    # time-limit truncation after step 0: 1, bootstrap with .5 from the final observation
    # terminal at the last step: .25*5, no bootstrap
    np.testing.assert_allclose(returns, [2.75, 2.0, 1.0, 1.25])
    np.testing.assert_allclose(discounts, [0.125, 0.0, 0.5, 0.0])
    assert steps.tolist() == [3, 2, 1, 3]


def test_one_step_returns_are_plain_td_targets():
    returns, discounts, steps = n_step_returns(np.array([[4.0], [4.0]]), np.array([[0], [1]], bool),
                                               np.array([[0], [1]], bool), gamma=0.9)
    np.testing.assert_allclose(returns, [4.0, 4.0])
    np.testing.assert_allclose(discounts, [0.9, 0.0])
    assert steps.tolist() == [1, 1]


class _TaggedFrames(gym.Env):
    """3×3 uint8 frames tagged with (env, episode, t); random episode lengths, some truncated."""

    observation_space = gym.spaces.Box(0, 255, (3, 3), np.uint8)
    action_space = gym.spaces.Discrete(3)

    def __init__(self, tag: int):
        self.tag, self.episode, self.t = tag, -1, 0
        self.rng = np.random.default_rng(tag)

    def _frame(self):
        f = np.zeros((3, 3), np.uint8)
        f[0, 0], f[0, 1], f[0, 2] = self.tag, self.episode % 256, self.t
        return f

    def reset(self, *, seed=None, options=None):
        self.episode += 1
        self.t = 0
        self.length = int(self.rng.integers(1, 9))
        self.truncate = bool(self.rng.random() < 0.4)
        return self._frame(), {}

    def step(self, action):
        self.t += 1
        done = self.t >= self.length
        reward = float(self.t * 10 + action)
        return self._frame(), reward, done and not self.truncate, done and self.truncate, {}


def _run(num_envs, capacity, stack, n_step, gamma, steps, prioritized, channels_last=False):
    def make(i):
        env = _TaggedFrames(i)
        return gym.wrappers.FrameStackObservation(env, stack) if stack > 1 else env

    envs = VectorEnv([lambda i=i: make(i) for i in range(num_envs)])
    buf = ReplayBuffer(capacity, envs.single_observation_space.shape, np.uint8, num_envs=num_envs,
                       frame_stack=stack, n_step=n_step, gamma=gamma, prioritized=prioritized, seed=3,
                       channels_last=channels_last)
    rng = np.random.default_rng(0)
    log = [[] for _ in range(num_envs)]  # per env: every slot the buffer should hold, in order
    obs = envs.reset(seed=0)
    for _ in range(steps):
        actions = rng.integers(3, size=num_envs)
        step = envs.step(actions)
        buf.add(obs, actions, step.reward, step.terminated, step.truncated, step.final_obs)
        for e in range(num_envs):
            ended = bool(step.terminated[e] or step.truncated[e])
            log[e].append(dict(obs=obs[e], a=actions[e], r=step.reward[e], term=bool(step.terminated[e]),
                               ended=ended))
            if ended:
                log[e].append(dict(obs=step.final_obs[e], a=None, r=0.0, term=False, ended=False))
        obs = step.obs
    return buf, log


@pytest.mark.parametrize("num_envs,stack,n_step,prioritized,channels_last", [
    (1, 4, 1, False, False), (2, 4, 3, False, False), (3, 4, 3, True, False), (2, 1, 2, False, False),
    (1, 4, 1, False, True), (2, 4, 3, True, True), (1, 1, 3, True, False)])
def test_sampled_transitions_match_what_the_env_produced(num_envs, stack, n_step, prioritized, channels_last):
    gamma = 0.9
    capacity = 60 * num_envs  # small: the rings wrap around several times
    buf, log = _run(num_envs, capacity, stack, n_step, gamma, steps=300, prioritized=prioritized,
                    channels_last=channels_last)
    checked = 0
    for _ in range(20):
        batch = buf.sample(32, beta=0.5)
        if channels_last:  # [B, stack, H, W] indexing over [B, H, W, stack] memory
            assert batch.obs.transpose(0, 2, 3, 1).flags.c_contiguous
            assert batch.next_obs.transpose(0, 2, 3, 1).flags.c_contiguous
        for j, idx in enumerate(batch.indices):
            e, s = divmod(int(idx), buf.cap)
            pos = int(buf.count[e]) - 1 - ((int(buf.count[e]) - 1 - s) % buf.cap)
            entry = log[e][pos]
            assert entry["a"] is not None, "an episode's final observation was sampled as a start"
            np.testing.assert_array_equal(batch.obs[j], entry["obs"])
            assert batch.actions[j] == entry["a"]
            ret, k = 0.0, 0
            while True:
                ret += gamma ** k * log[e][pos + k]["r"]
                k += 1
                if log[e][pos + k - 1]["ended"] or k == n_step:
                    break
            disc = 0.0 if log[e][pos + k - 1]["term"] else gamma ** k
            assert batch.returns[j] == pytest.approx(ret, rel=1e-5)
            assert batch.discounts[j] == pytest.approx(disc, rel=1e-5)
            np.testing.assert_array_equal(batch.next_obs[j], log[e][pos + k]["obs"])
            checked += 1
    assert checked == 640


def test_atari_sized_buffer_stores_one_byte_per_pixel_per_transition():
    buf = ReplayBuffer(10_000, (4, 84, 84), np.uint8, frame_stack=4)
    assert buf.frames.nbytes == 10_000 * 84 * 84  # 1M transitions -> 7.06 GB


def test_save_and_load_round_trip(tmp_path):
    buf, _ = _run(2, 120, 4, 3, 0.9, steps=100, prioritized=True)
    buf.save(str(tmp_path / "replay"))
    other = ReplayBuffer(120, (4, 3, 3), np.uint8, num_envs=2, frame_stack=4, n_step=3, gamma=0.9,
                         prioritized=True, seed=99)
    other.load(str(tmp_path / "replay"))
    a, b = buf.sample(16), other.sample(16)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.obs, b.obs)
