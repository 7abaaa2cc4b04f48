"""Replay memory for DQN: each frame stored once, n-step returns at sampling, optional priorities.

Every environment of a vector env writes its own stream (a ring of ``capacity // num_envs`` slots).
Slot t holds the newest frame of observation t, the action taken there, its reward and whether the
episode ended after it. Frame stacks and next observations are not stored: they are rebuilt from
neighbouring slots when a batch is drawn, padded with the episode's first frame at its start (as
``gymnasium.wrappers.FrameStackObservation`` does). When an episode ends, one extra slot keeps its
last observation (needed to bootstrap after a time-limit truncation); it is never sampled as a start.
So an Atari buffer costs 84·84 bytes per transition: 1M transitions ≈ 7.1 GB.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass

import numpy as np

from agent.dqn.sum_tree import SumTree


def n_step_returns(rewards: np.ndarray, ended: np.ndarray, terminated: np.ndarray,
                   gamma: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Truncated n-step returns from the n rewards that follow each sampled start.

    rewards, ended, terminated: [B, n]; ``ended[b, k]`` means the episode ended right after step k
    (terminal or time limit), ``terminated[b, k]`` that it ended in a terminal state.
    Returns (returns [B], bootstrap discounts [B], steps [B]): the target is
    ``returns + discounts * max_a Q(s_{t+steps}, a)``, with discount γ^steps, or 0 after a terminal.
    """
    n = rewards.shape[1]
    alive = np.ones_like(rewards, dtype=np.float64)
    alive[:, 1:] = np.cumprod(1.0 - ended[:, :-1], axis=1)
    powers = gamma ** np.arange(n, dtype=np.float64)
    returns = (rewards * alive * powers).sum(axis=1)
    steps = alive.sum(axis=1).astype(np.int64)
    hit_terminal = (terminated * alive).any(axis=1)
    discounts = np.where(hit_terminal, 0.0, gamma ** steps.astype(np.float64))
    return returns.astype(np.float32), discounts.astype(np.float32), steps


@dataclass
class Batch:
    """A sampled minibatch (numpy arrays; B = batch size)."""

    obs: np.ndarray
    """[B, *obs_shape] observations (stacks rebuilt)."""
    actions: np.ndarray
    """[B] int64."""
    returns: np.ndarray
    """[B] float32 discounted n-step reward sums."""
    discounts: np.ndarray
    """[B] float32 γ^steps, 0 where a terminal state came within the n steps."""
    next_obs: np.ndarray
    """[B, *obs_shape] observations ``steps`` later (the episode's last one if it ended)."""
    weights: np.ndarray
    """[B] float32 importance-sampling weights (all 1 for uniform replay)."""
    indices: np.ndarray
    """[B] int64 buffer slots, to pass back to ``update_priorities``."""


class ReplayBuffer:
    """Frame-deduplicating replay with n-step returns; prioritised (sum tree) when ``alpha > 0``.

    ``obs_shape`` is the shape the agent sees. With ``frame_stack > 1`` it must be
    ``[frame_stack, *frame_shape]`` and only the newest frame of each observation is kept.
    """

    def __init__(self, capacity: int, obs_shape: tuple[int, ...], obs_dtype: np.dtype, *,
                 num_envs: int = 1, frame_stack: int = 1, n_step: int = 1, gamma: float = 0.99,
                 prioritized: bool = False, alpha: float = 0.5, priority_eps: float = 1e-6,
                 seed: int = 0, channels_last: bool = False):
        if frame_stack > 1 and obs_shape[0] != frame_stack:
            raise ValueError(f"obs_shape {obs_shape} does not start with frame_stack={frame_stack}")
        self.cap = capacity // num_envs
        if self.cap <= n_step + frame_stack + 1:
            raise ValueError(f"replay capacity {capacity} is too small for {num_envs} envs")
        self.num_envs, self.frame_stack, self.n_step, self.gamma = num_envs, frame_stack, n_step, gamma
        # Stacks are laid out [B, H, W, stack] in memory (still indexed [B, stack, H, W]): what a
        # channels-last network reads, saving it a slow uint8 transposition of every batch.
        self.channels_last = channels_last and frame_stack > 1
        self.obs_shape = tuple(obs_shape)
        frame_shape = self.obs_shape[1:] if frame_stack > 1 else self.obs_shape
        shape = (num_envs, self.cap)
        self.frames = np.zeros(shape + frame_shape, obs_dtype)
        self.actions = np.zeros(shape, np.int64)
        self.rewards = np.zeros(shape, np.float32)
        self.terminated = np.zeros(shape, bool)
        self.ended = np.zeros(shape, bool)
        self.first = np.zeros(shape, bool)
        self.is_start = np.zeros(shape, bool)   # a transition starts here (not an episode's last obs)
        self.valid = np.zeros(shape, bool)      # may be sampled now
        self.count = np.zeros(num_envs, np.int64)  # positions written per stream
        self.next_first = np.ones(num_envs, bool)
        self.prioritized = prioritized
        self.alpha, self.priority_eps = alpha, priority_eps
        self.max_priority = 1.0
        self.tree = SumTree(num_envs * self.cap) if prioritized else None
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return int(self.valid.sum())

    def _frame(self, obs: np.ndarray) -> np.ndarray:
        return obs[..., -1, :, :] if self.frame_stack > 1 else obs

    def add(self, obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray, terminated: np.ndarray,
            truncated: np.ndarray, final_obs: dict[int, np.ndarray]) -> None:
        """Records one vector step: ``obs`` [E, ...] is the observation the ``actions`` [E] were taken in."""
        if self.num_envs == 1:  # the common case, with scalar indexing (a tenth of the time)
            done = bool(terminated[0]) or bool(truncated[0])
            self._write_one(self._frame(obs)[0], actions[0], rewards[0], bool(terminated[0]), done,
                            bool(self.next_first[0]), True)
            if done:
                self._write_one(self._frame(final_obs[0][None])[0], 0, 0.0, False, False, False, False)
            self.next_first[0] = done
            return
        envs = np.arange(self.num_envs)
        ended = np.asarray(terminated) | np.asarray(truncated)
        self._write(envs, self._frame(obs), actions, rewards, terminated, ended, self.next_first, True)
        for e in np.flatnonzero(ended):
            self._write(np.array([e]), self._frame(final_obs[int(e)][None]), 0, 0.0, False, False,
                        False, False)
        self.next_first = ended.copy()

    def _write(self, envs, frames, actions, rewards, terminated, ended, first, is_start) -> None:
        pos = self.count[envs]
        slot = pos % self.cap
        self.frames[envs, slot] = frames
        self.actions[envs, slot] = actions
        self.rewards[envs, slot] = rewards
        self.terminated[envs, slot] = terminated
        self.ended[envs, slot] = ended
        self.first[envs, slot] = first
        self.is_start[envs, slot] = is_start
        self.count[envs] = pos + 1
        # The new slot is incomplete; the oldest slot whose stack needed the overwritten frame is lost;
        # the slot n positions back now has its whole n-step window and becomes sampleable.
        lost = (pos + self.frame_stack - 1) % self.cap
        ready_pos = pos - self.n_step
        ready = np.where(ready_pos >= 0, ready_pos % self.cap, slot)
        ready_ok = (ready_pos >= 0) & self.is_start[envs, ready] & (ready_pos > pos - self.cap + self.frame_stack - 1)
        self.valid[envs, slot] = False
        self.valid[envs, lost] = False
        self.valid[envs[ready_ok], ready[ready_ok]] = True
        if self.tree is not None:
            self.tree.update(envs * self.cap + slot, 0.0)
            self.tree.update(envs * self.cap + lost, 0.0)
            if ready_ok.any():
                self.tree.update(envs[ready_ok] * self.cap + ready[ready_ok], self.max_priority ** self.alpha)

    def _write_one(self, frame, action, reward, terminated, ended, first, is_start) -> None:
        """``_write`` for a single stream (env 0), the same bookkeeping with Python scalars."""
        cap = self.cap
        pos = int(self.count[0])
        slot = pos % cap
        self.frames[0, slot] = frame
        self.actions[0, slot] = action
        self.rewards[0, slot] = reward
        self.terminated[0, slot] = terminated
        self.ended[0, slot] = ended
        self.first[0, slot] = first
        self.is_start[0, slot] = is_start
        self.count[0] = pos + 1
        lost = (pos + self.frame_stack - 1) % cap
        ready_pos = pos - self.n_step
        ready = ready_pos % cap
        ready_ok = (ready_pos >= 0 and bool(self.is_start[0, ready])
                    and ready_pos > pos - cap + self.frame_stack - 1)
        self.valid[0, slot] = False
        self.valid[0, lost] = False
        if ready_ok:
            self.valid[0, ready] = True
        if self.tree is not None:
            self.tree.update(np.array([slot]), 0.0)
            self.tree.update(np.array([lost]), 0.0)
            if ready_ok:
                self.tree.update(np.array([ready]), self.max_priority ** self.alpha)

    def sample(self, batch_size: int, beta: float = 0.4) -> Batch:
        """A minibatch: uniform, or proportional to priority^α with IS weights (N·P(i))^-β / max."""
        if not self.valid.any():
            raise ValueError("replay buffer has no complete transition to sample yet")
        if self.tree is not None:
            idx = self.tree.sample_stratified(batch_size, self.rng)
            probs = self.tree.get(idx) / self.tree.total
            weights = (len(self) * probs) ** (-beta)
            weights = (weights / weights.max()).astype(np.float32)
        else:
            idx = self._sample_uniform(batch_size)
            weights = np.ones(batch_size, np.float32)
        return self._gather(idx, weights)

    def _sample_uniform(self, batch_size: int) -> np.ndarray:
        filled = int(min(self.count.min(), self.cap))
        chosen = np.empty(0, np.int64)
        while len(chosen) < batch_size:  # rejection: nearly every written slot is valid
            e = self.rng.integers(self.num_envs, size=2 * batch_size)
            s = self.rng.integers(max(filled, 1), size=2 * batch_size)
            ok = self.valid[e, s]
            if filled == 0 or not ok.any():  # streams of very unequal length: fall back to a scan
                return self.rng.choice(np.flatnonzero(self.valid), batch_size)
            chosen = np.concatenate([chosen, e[ok] * self.cap + s[ok]])
        return chosen[:batch_size]

    def _gather(self, idx: np.ndarray, weights: np.ndarray) -> Batch:
        e, s = idx // self.cap, idx % self.cap
        if self.n_step == 1:  # n_step_returns' arithmetic for one step, without the [B, n] arrays
            terminated = self.terminated[e, s]
            discounts = np.where(terminated, np.float32(0.0), np.float32(self.gamma))
            return Batch(obs=self._stack(e, s), actions=self.actions[e, s], returns=self.rewards[e, s],
                         discounts=discounts, next_obs=self._stack(e, (s + 1) % self.cap),
                         weights=weights, indices=idx)
        window = (s[:, None] + np.arange(self.n_step)) % self.cap
        returns, discounts, steps = n_step_returns(
            self.rewards[e[:, None], window], self.ended[e[:, None], window],
            self.terminated[e[:, None], window], self.gamma)
        return Batch(obs=self._stack(e, s), actions=self.actions[e, s], returns=returns,
                     discounts=discounts, next_obs=self._stack(e, (s + steps) % self.cap),
                     weights=weights, indices=idx)

    def _stack(self, e: np.ndarray, s: np.ndarray) -> np.ndarray:
        if self.frame_stack == 1:
            return self.frames[e, s]
        if self.channels_last:
            out = np.empty((len(e),) + self.frames.shape[2:] + (self.frame_stack,),
                           self.frames.dtype).transpose(0, 3, 1, 2)
        else:
            out = np.empty((len(e), self.frame_stack) + self.frames.shape[2:], self.frames.dtype)
        cur = s.copy()
        out[:, -1] = self.frames[e, cur]
        for k in range(2, self.frame_stack + 1):
            cur = np.where(self.first[e, cur], cur, (cur - 1) % self.cap)
            out[:, -k] = self.frames[e, cur]
        return out

    def update_priorities(self, indices: np.ndarray, td_errors: np.ndarray) -> None:
        """Sets the priorities of sampled ``indices`` [B] to (|td_errors| + ε)^α."""
        if self.tree is None:
            return
        priorities = np.abs(np.asarray(td_errors, np.float64)) + self.priority_eps
        still = self.valid.reshape(-1)[indices]
        self.max_priority = max(self.max_priority, float(priorities.max()))
        self.tree.update(indices[still], priorities[still] ** self.alpha)

    # -- saving (plain .npy arrays + JSON; never pickle) --------------------------------------------
    _ARRAYS = ("frames", "actions", "rewards", "terminated", "ended", "first", "is_start", "valid",
               "count", "next_first")

    def save(self, directory: str) -> None:
        """Writes the buffer to ``directory`` atomically (a temporary folder, then renamed)."""
        tmp = directory.rstrip("/") + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        for name in self._ARRAYS:
            np.save(os.path.join(tmp, name + ".npy"), getattr(self, name))
        if self.tree is not None:
            np.save(os.path.join(tmp, "tree.npy"), self.tree.nodes)
        meta = dict(cap=self.cap, num_envs=self.num_envs, frame_stack=self.frame_stack,
                    n_step=self.n_step, obs_shape=list(self.obs_shape), max_priority=self.max_priority,
                    rng=self.rng.bit_generator.state)
        with open(os.path.join(tmp, "replay.json"), "w") as f:
            json.dump(meta, f)
        old = directory.rstrip("/") + ".old"
        if os.path.exists(directory):
            os.replace(directory, old)
        os.replace(tmp, directory)
        shutil.rmtree(old, ignore_errors=True)

    def load(self, directory: str) -> None:
        """Restores a buffer written by ``save`` into this one (same shapes required)."""
        from komi.errors import KomiError

        with open(os.path.join(directory, "replay.json")) as f:
            meta = json.load(f)
        mine = dict(cap=self.cap, num_envs=self.num_envs, frame_stack=self.frame_stack,
                    n_step=self.n_step, obs_shape=list(self.obs_shape))
        theirs = {k: meta[k] for k in mine}
        if theirs != mine:
            raise KomiError(f"{directory}: saved replay buffer {theirs} does not match this run {mine}")
        for name in self._ARRAYS:
            getattr(self, name)[...] = np.load(os.path.join(directory, name + ".npy"), allow_pickle=False)
        if self.tree is not None:
            self.tree.nodes[...] = np.load(os.path.join(directory, "tree.npy"), allow_pickle=False)
        self.max_priority = meta["max_priority"]
        self.rng.bit_generator.state = meta["rng"]
