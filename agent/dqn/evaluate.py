"""Loading a DQN checkpoint and running it: evaluation episodes, recorded play, learning curves."""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import torch

from agent.checkpoint import CheckpointError, latest_checkpoint, load_weights, read_metadata
from agent.dqn.config import DQNConfig, config_from_dict
from agent.dqn.networks import NetworkSpec, QNetwork
from envs.atari import EnvOptions, make_env


def env_options(cfg: DQNConfig) -> EnvOptions:
    """The environment settings of a run."""
    return EnvOptions(frame_stack=cfg.frame_stack, noop_max=cfg.noop_max,
                      sticky_action_prob=cfg.sticky_action_prob,
                      terminal_on_life_loss=cfg.terminal_on_life_loss, clip_rewards=cfg.clip_rewards)


def resolve_checkpoint(path: str | os.PathLike) -> Path:
    """A checkpoint stem from a stem, one of its files, or a run directory (its latest checkpoint)."""
    p = Path(path)
    if p.is_dir():
        stem = latest_checkpoint(p)
        if stem is None:
            raise CheckpointError(f"{p}: no complete checkpoint in this directory")
        return stem
    return p


def load_agent(path: str | os.PathLike, env_id: str | None = None,
               device: str = "cpu") -> tuple[QNetwork, DQNConfig, dict]:
    """(network in eval mode, the run's config, metadata); CheckpointError if it is for another env."""
    stem = resolve_checkpoint(path)
    meta = read_metadata(stem)
    if meta.get("kind") != "dqn":
        raise CheckpointError(f"{stem}: not a DQN checkpoint (kind {meta.get('kind')!r})")
    if env_id is not None and meta.get("env_id") != env_id:
        raise CheckpointError(f"{stem}: checkpoint was trained on {meta.get('env_id')}, not {env_id}")
    spec_values = dict(meta["architecture"]["spec"])
    spec_values["obs_shape"] = tuple(spec_values["obs_shape"])
    spec_values["hidden"] = tuple(spec_values["hidden"])
    net = QNetwork(NetworkSpec(**spec_values))
    load_weights(stem, net)
    return net.to(device).eval(), config_from_dict(meta["config"]), meta


def greedy_actions(net: QNetwork, obs: np.ndarray, device: str = "cpu") -> np.ndarray:
    """[N] argmax actions for observations [N, *obs_shape]."""
    with torch.inference_mode():
        return net(torch.as_tensor(obs, device=device)).argmax(dim=1).cpu().numpy()


def run_episodes(net: QNetwork, cfg: DQNConfig, episodes: int, epsilon: float, seed: int,
                 device: str = "cpu", record: bool = False) -> tuple[list[float], list[np.ndarray]]:
    """Plays whole games (evaluation protocol: no life-loss terminals, unclipped rewards).

    Returns the episode returns and, with ``record``, the RGB frames of every step.
    """
    env = make_env(cfg.env_id, seed, training=False, options=env_options(cfg),
                   render_mode="rgb_array" if record else None)
    rng = np.random.default_rng(seed)
    returns, frames = [], []
    was_training = net.training
    net.eval()
    try:
        for i in range(episodes):
            obs, _ = env.reset(seed=seed + i)
            total, done = 0.0, False
            while not done:
                if record:
                    frames.append(np.asarray(env.render()))
                if rng.random() < epsilon:
                    action = int(rng.integers(env.action_space.n))
                else:
                    action = int(greedy_actions(net, obs[None], device)[0])
                obs, reward, terminated, truncated, _ = env.step(action)
                total += float(reward)
                done = terminated or truncated
            returns.append(total)
    finally:
        env.close()
        net.train(was_training)
    return returns, frames


def write_gif(frames: list[np.ndarray], path: str | os.PathLike, fps: int = 30) -> None:
    """Writes RGB frames [H, W, 3] uint8 as an animated GIF (atomically)."""
    from PIL import Image

    if not frames:
        raise CheckpointError("no frames to record")
    images = [Image.fromarray(_as_rgb8(f)) for f in frames]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:],
                   duration=max(1, int(1000 / fps)), loop=0)
    _atomic_write(Path(path), buf.getvalue())


def _as_rgb8(frame: np.ndarray) -> np.ndarray:
    """uint8 RGB, floats in [0, 1] scaled; tiny frames (MinAtar's 10×10) enlarged to ≥ 160 px."""
    frame = np.asarray(frame)
    if frame.dtype != np.uint8:
        frame = (np.clip(frame, 0.0, 1.0) * 255).astype(np.uint8)
    scale = max(1, -(-160 // max(frame.shape[:2])))
    if scale > 1:
        frame = frame.repeat(scale, axis=0).repeat(scale, axis=1)
    return np.ascontiguousarray(frame)


def write_learning_curve(episodes: list[tuple[int, float, int]], path: str | os.PathLike,
                         title: str) -> None:
    """A PNG of episode returns against environment steps, with a moving average."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    if episodes:
        steps = np.array([e[0] for e in episodes])
        rets = np.array([e[1] for e in episodes])
        ax.plot(steps, rets, ".", alpha=0.25, markersize=3, label="episode return")
        window = max(1, min(100, len(rets) // 10))
        smooth = np.convolve(rets, np.ones(window) / window, mode="valid")
        ax.plot(steps[window - 1:], smooth, label=f"mean of last {window}")
        ax.legend(loc="lower right")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("episode return")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    _atomic_write(Path(path), buf.getvalue())


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)
