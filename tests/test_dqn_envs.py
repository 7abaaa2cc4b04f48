"""Environment construction: shapes, dtypes, training-only wrappers, clear errors for bad ids."""
import importlib.util

import numpy as np
import pytest

from envs.atari import (EnvOptions, UnknownEnvError, UnsupportedEnvError, env_family, make_env,
                        make_vector_env)

needs_ale = pytest.mark.skipif(importlib.util.find_spec("ale_py") is None
                               or importlib.util.find_spec("cv2") is None,
                               reason="ale-py / opencv not installed (pip install komi[atari])")
needs_minatar = pytest.mark.skipif(importlib.util.find_spec("minatar") is None,
                                   reason="minatar not installed (pip install komi[atari])")


def test_vector_env_observations_are_float32_vectors():
    env = make_env("CartPole-v1", seed=0, training=True)
    obs, _ = env.reset(seed=0)
    assert env_family("CartPole-v1") == "vector"
    assert obs.shape == (4,) and obs.dtype == np.float32
    assert env.observation_space.dtype == np.float32


def test_unknown_id_and_unsupported_spaces_are_clear_errors():
    with pytest.raises(UnknownEnvError, match="CartPole-v1"):
        env_family("CartPol-v1")  # suggests the close match
    with pytest.raises(UnsupportedEnvError, match="Discrete"):
        make_env("Pendulum-v1", seed=0, training=True)


def test_vector_env_resets_in_the_same_step_and_reports_whole_episodes():
    envs = make_vector_env("CartPole-v1", 2, seed=0, training=True)
    obs = envs.reset(seed=0)
    assert obs.shape == (2, 4)
    finished, steps = [], 0
    while len(finished) < 3:
        step = envs.step(np.zeros(2, np.int64))  # always push left: short episodes
        steps += 2
        for i in step.final_obs:
            assert step.terminated[i] or step.truncated[i]
            assert not np.array_equal(step.final_obs[i], step.obs[i])  # new episode's first obs
        finished += step.episodes
    assert all(length == ret for ret, length in finished)  # CartPole pays 1 per step


@needs_minatar
def test_minatar_observations_are_uint8_channels_first():
    env = make_env("MinAtar/Breakout-v1", seed=0, training=True)
    obs, _ = env.reset(seed=0)
    assert env_family("MinAtar/Breakout-v1") == "minatar"
    assert obs.shape == (4, 10, 10) and obs.dtype == np.uint8
    assert set(np.unique(obs)) <= {0, 1}


@needs_ale
def test_atari_protocol_shapes_and_training_only_wrappers():
    train_env = make_env("ALE/Breakout-v5", seed=0, training=True, options=EnvOptions(sticky_action_prob=0.0))
    obs, _ = train_env.reset(seed=0)
    assert env_family("ALE/Breakout-v5") == "atari"
    assert obs.shape == (4, 84, 84) and obs.dtype == np.uint8
    rng = np.random.default_rng(0)
    rewards, life_loss_terminal = set(), False
    for _ in range(400):
        obs, r, term, trunc, info = train_env.step(int(rng.integers(4)))
        rewards.add(r)
        if term:
            life_loss_terminal = "episode" not in info  # a life lost, the game not over
            break
    assert rewards <= {-1.0, 0.0, 1.0}
    assert life_loss_terminal, "training Breakout should end an episode when a life is lost"
    obs, _ = train_env.reset()
    assert train_env.unwrapped.ale.lives() == 4  # same game goes on after the life loss

    eval_env = make_env("ALE/Breakout-v5", seed=0, training=False)
    eval_env.reset(seed=0)
    for _ in range(400):
        _, _, term, trunc, _ = eval_env.step(int(rng.integers(4)))
        assert not term or eval_env.unwrapped.ale.lives() == 0
        if term or trunc:
            break


@needs_ale
@pytest.mark.parametrize("env_id", ["PongNoFrameskip-v4", "ALE/Breakout-v5"])
def test_direct_frame_skip_matches_gymnasium_preprocessing(env_id):
    import gymnasium as gym

    from envs.atari import DirectAtariPreprocessing

    def make(cls):
        env = gym.make(env_id, frameskip=1, obs_type="grayscale", disable_env_checker=True)
        return cls(env, noop_max=30, frame_skip=4, screen_size=84, grayscale_obs=True,
                   terminal_on_life_loss=False, scale_obs=False)

    direct, reference = make(DirectAtariPreprocessing), make(gym.wrappers.AtariPreprocessing)
    assert direct._direct
    for env in (direct, reference):
        env.reset(seed=5)
    rng = np.random.default_rng(0)
    for _ in range(600):  # sticky actions (v5) draw from each emulator's own seeded generator
        action = int(rng.integers(direct.action_space.n))
        a, b = direct.step(action), reference.step(action)
        np.testing.assert_array_equal(a[0], b[0])
        assert a[1:] == b[1:]
        if a[2] or a[3]:
            for env in (direct, reference):
                env.reset(seed=6)
