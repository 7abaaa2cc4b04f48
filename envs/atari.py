"""Atari-style environments for the DQN agents: ALE (standard protocol), MinAtar, any vector env.

Three families, told apart by the id:
- ``ALE/<Game>-v5`` and ``<Game>NoFrameskip-v4``: the Arcade Learning Environment with the standard
  DQN protocol: up to 30 no-op starts, frame skip 4 with a max over the last two frames, 84×84
  grayscale, a stack of 4 frames, fire on reset where the game needs it, and - for training only -
  terminal on life loss and rewards clipped to their sign. Sticky actions follow the id's default
  (0.25 for v5) unless overridden. Observations: uint8 ``[4, 84, 84]``.
- ``MinAtar/<Game>-v1``: the MinAtar games, observations uint8 ``[C, 10, 10]`` (channels first).
- any other registered Gymnasium id with a flat Box observation (CartPole-v1): float32 ``[D]``.

All families need a Discrete action space. Episode statistics (``info["episode"]``) always count the
whole game with unclipped rewards, also when training ends episodes on life loss.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Callable, Literal

import gymnasium as gym
import numpy as np

from komi.errors import KomiError

EnvFamily = Literal["atari", "minatar", "vector"]


class UnknownEnvError(KomiError):
    """The environment id is not registered (or its package is not installed)."""


class UnsupportedEnvError(KomiError):
    """The environment exists but its observation or action space is one DQN cannot handle."""


@dataclass(frozen=True)
class EnvOptions:
    """How environments are built; the ALE fields are ignored for other families."""

    frame_stack: int = 4
    """ALE only: number of 84×84 frames stacked into one observation."""
    noop_max: int = 30
    """ALE only: at most this many no-op actions after each reset (random start)."""
    sticky_action_prob: float | None = None
    """ALE only: probability that the previous action repeats; None keeps the id's default (v5: 0.25)."""
    terminal_on_life_loss: bool = True
    """ALE, training only: a lost life ends the training episode (the game goes on)."""
    clip_rewards: bool = True
    """ALE, training only: rewards clipped to their sign {-1, 0, +1}."""
    max_episode_steps: int | None = None
    """Truncate episodes after this many agent steps; None keeps the id's default."""


def _register_optional_families() -> None:
    """Registers ALE and MinAtar ids with Gymnasium when their packages are installed."""
    try:
        import ale_py

        gym.register_envs(ale_py)
    except ImportError:
        pass
    if not any(k.startswith("MinAtar/") for k in gym.registry):
        try:
            import minatar.gym

            minatar.gym.register_envs()
        except ImportError:
            pass


def env_family(env_id: str) -> EnvFamily:
    """The family of ``env_id``; raises UnknownEnvError (with close matches) if it is not registered."""
    _register_optional_families()
    if env_id not in gym.registry:
        hint = ""
        if env_id.startswith("ALE/") or "NoFrameskip" in env_id:
            hint = " (ALE games need `pip install komi[atari]`)" if not _has("ale_py") else ""
        elif env_id.startswith("MinAtar/"):
            hint = " (MinAtar games need `pip install komi[atari]`)" if not _has("minatar") else ""
        close = difflib.get_close_matches(env_id, list(gym.registry), n=3)
        if close:
            hint += f"; did you mean {', '.join(close)}?"
        raise UnknownEnvError(f"unknown environment id {env_id!r}{hint}")
    entry = str(gym.registry[env_id].entry_point)
    if env_id.startswith("ALE/") or "ale_py" in entry:
        return "atari"
    if env_id.startswith("MinAtar/") or "minatar" in entry:
        return "minatar"
    return "vector"


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


class DirectAtariPreprocessing(gym.wrappers.AtariPreprocessing):
    """Gymnasium's AtariPreprocessing, whose 4 inner frames call the emulator directly.

    When the wrapped env is a plain ``AtariEnv`` with frame skip 1 (under Gymnasium's
    ``OrderEnforcing`` only), each inner frame is exactly the ``ale.act`` and the terminal and
    truncation checks that ``AtariEnv.step`` does: the same rewards, screens, flags and final
    ``info``, without a wrapper call, a screen copy and an info dict per frame (20% of an agent
    step). Anything else (a time limit below, life-loss terminals here, RGB) uses the original.
    """

    def __init__(self, env: gym.Env, **kwargs):
        super().__init__(env, **kwargs)
        from ale_py.env import AtariEnv

        inner = env.env if type(env) is gym.wrappers.OrderEnforcing else None
        # Private fields of ale-py and of the Gymnasium wrapper: another version without them
        # simply takes the original path.
        self._direct = (type(inner) is AtariEnv and not getattr(inner, "continuous", True)
                        and getattr(inner, "_frameskip", None) == 1 and hasattr(inner, "_action_set")
                        and hasattr(inner, "_get_info") and hasattr(self, "obs_buffer")
                        and self.grayscale_obs and not self.terminal_on_life_loss)

    def step(self, action):
        if not self._direct:
            return super().step(action)
        atari = self.env.unwrapped
        ale, action_idx = atari.ale, atari._action_set[action]
        total_reward, terminated, truncated = 0.0, False, False
        for t in range(self.frame_skip):
            total_reward += ale.act(action_idx, 1.0)
            terminated = ale.game_over(with_truncation=False)
            truncated = ale.game_truncated()
            self.game_over = terminated
            if terminated or truncated:
                break
            if t == self.frame_skip - 2:
                ale.getScreenGrayscale(self.obs_buffer[1])
            elif t == self.frame_skip - 1:
                ale.getScreenGrayscale(self.obs_buffer[0])
        return self._get_obs(), total_reward, terminated, truncated, atari._get_info()


class FireOnReset(gym.Wrapper):
    """Presses FIRE after each reset, for games that wait for it (Breakout, Pong...)."""

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        for action in (1, 2):  # FIRE, then a move: some games need both to start.
            obs, _, terminated, truncated, info = self.env.step(action)
            if terminated or truncated:
                obs, info = self.env.reset(**kwargs)
        return obs, info


class LifeLossTerminal(gym.Wrapper):
    """Training only: a lost life is reported as terminal, but the game is reset only when it is over."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self._lives = 0
        self._game_over = True

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._game_over = terminated or truncated
        lives = self.env.unwrapped.ale.lives()
        if 0 < lives < self._lives:
            terminated = True
        self._lives = lives
        return obs, reward, terminated, truncated, info

    def reset(self, **kwargs):
        if self._game_over:
            obs, info = self.env.reset(**kwargs)
        else:  # a life was lost: continue the same game with a no-op step
            obs, _, terminated, truncated, info = self.env.step(0)
            if terminated or truncated:
                obs, info = self.env.reset(**kwargs)
        self._lives = self.env.unwrapped.ale.lives()
        self._game_over = False
        return obs, info


class SignReward(gym.RewardWrapper):
    """Training only: clips rewards to their sign."""

    def reward(self, reward):
        return float(np.sign(reward))


class MinAtarChannelsFirst(gym.ObservationWrapper):
    """MinAtar's bool ``[10, 10, C]`` grids as uint8 ``[C, 10, 10]``."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        h, w, c = env.observation_space.shape
        self.observation_space = gym.spaces.Box(0, 1, (c, h, w), np.uint8)

    def observation(self, observation):
        return np.ascontiguousarray(observation.transpose(2, 0, 1), dtype=np.uint8)


def make_env(env_id: str, seed: int, *, training: bool, options: EnvOptions = EnvOptions(),
             render_mode: str | None = None) -> gym.Env:
    """One environment of any family with its standard wrappers (see the module docstring)."""
    family = env_family(env_id)
    kwargs: dict = {}
    if render_mode is not None:
        kwargs["render_mode"] = render_mode
    if options.max_episode_steps is not None:
        kwargs["max_episode_steps"] = options.max_episode_steps
    if family == "atari":
        kwargs["frameskip"] = 1  # AtariPreprocessing does the skip (with the max over two frames)
        # AtariPreprocessing reads the screens it needs from the emulator itself: the frame the env
        # returns at each of the 4 inner steps is thrown away, so let it be the cheap grayscale one
        # (the RGB screen costs ~3x more). The ALE envs need no Gymnasium API checker either: that
        # wrapper only adds a layer to each of those 4 inner steps.
        kwargs["obs_type"] = "grayscale"
        kwargs["disable_env_checker"] = True
        if options.sticky_action_prob is not None:
            kwargs["repeat_action_probability"] = options.sticky_action_prob
        env = gym.make(env_id, **kwargs)
        env = DirectAtariPreprocessing(env, noop_max=options.noop_max, frame_skip=4, screen_size=84,
                                       grayscale_obs=True, terminal_on_life_loss=False, scale_obs=False)
        env = gym.wrappers.RecordEpisodeStatistics(env)
        if training and options.terminal_on_life_loss:
            env = LifeLossTerminal(env)
        if "FIRE" in env.unwrapped.get_action_meanings()[1:2]:
            env = FireOnReset(env)
        if training and options.clip_rewards:
            env = SignReward(env)
        env = gym.wrappers.FrameStackObservation(env, options.frame_stack)
    elif family == "minatar":
        env = MinAtarChannelsFirst(gym.make(env_id, **kwargs))
        env = gym.wrappers.RecordEpisodeStatistics(env)
    else:
        env = gym.make(env_id, **kwargs)
        check_spaces(env_id, env)
        env = gym.wrappers.TransformObservation(
            env, lambda o: np.asarray(o, dtype=np.float32),
            gym.spaces.Box(env.observation_space.low.astype(np.float32),
                           env.observation_space.high.astype(np.float32), dtype=np.float32))
        env = gym.wrappers.RecordEpisodeStatistics(env)
    check_spaces(env_id, env)
    env.action_space.seed(seed)
    return env


def check_spaces(env_id: str, env: gym.Env) -> None:
    """Raises UnsupportedEnvError unless actions are Discrete and observations a 1-D or 3-D Box."""
    if not isinstance(env.action_space, gym.spaces.Discrete):
        raise UnsupportedEnvError(f"{env_id}: DQN needs a Discrete action space, got {env.action_space}")
    space = env.observation_space
    if not isinstance(space, gym.spaces.Box) or len(space.shape) not in (1, 3):
        raise UnsupportedEnvError(
            f"{env_id}: DQN handles Box observations of shape [D] or [C, H, W], got {space}")


@dataclass
class VectorStep:
    """What one step of N environments returns (autoreset in the same step)."""

    obs: np.ndarray
    """[N, *obs_shape]: the next observation; for finished envs, the first one of the new episode."""
    reward: np.ndarray
    """[N] float32."""
    terminated: np.ndarray
    """[N] bool: the episode reached a terminal state (no bootstrapping)."""
    truncated: np.ndarray
    """[N] bool: the episode was cut by a time limit (bootstrap from final_obs)."""
    final_obs: dict[int, np.ndarray]
    """env index → last observation of the episode that just ended there."""
    episodes: list[tuple[float, int]]
    """(return, length) of each whole game that ended in this step (unclipped, all lives)."""


class VectorEnv:
    """N environments stepped in turn in this process, reset in the same step they finish."""

    def __init__(self, env_fns: list[Callable[[], gym.Env]]):
        self.envs = [fn() for fn in env_fns]
        self.num_envs = len(self.envs)
        self.single_observation_space = self.envs[0].observation_space
        self.single_action_space = self.envs[0].action_space

    def reset(self, seed: int) -> np.ndarray:
        """[N, *obs_shape]: first observations, env i seeded with ``seed + i``."""
        return np.stack([env.reset(seed=seed + i)[0] for i, env in enumerate(self.envs)])

    def step(self, actions: np.ndarray) -> VectorStep:
        n = self.num_envs
        obs = [None] * n
        reward = np.zeros(n, np.float32)
        terminated = np.zeros(n, bool)
        truncated = np.zeros(n, bool)
        final_obs: dict[int, np.ndarray] = {}
        episodes: list[tuple[float, int]] = []
        for i, env in enumerate(self.envs):
            o, r, term, trunc, info = env.step(int(actions[i]))
            reward[i], terminated[i], truncated[i] = r, term, trunc
            if "episode" in info:
                episodes.append((float(info["episode"]["r"]), int(info["episode"]["l"])))
            if term or trunc:
                final_obs[i] = np.asarray(o)
                o, _ = env.reset()
            obs[i] = o
        return VectorStep(np.stack(obs), reward, terminated, truncated, final_obs, episodes)

    def close(self) -> None:
        for env in self.envs:
            env.close()


def make_vector_env(env_id: str, num_envs: int, seed: int, *, training: bool,
                    options: EnvOptions = EnvOptions()) -> VectorEnv:
    """``num_envs`` copies of ``make_env`` (env i seeded with ``seed + i``)."""
    return VectorEnv([lambda i=i: make_env(env_id, seed + i, training=training, options=options)
                      for i in range(num_envs)])
