"""DQN training throughput: komi vs Stable-Baselines3's DQN, same hyperparameters, same machine, same run.

    python benchmarks/dqn.py --envs cartpole minatar pong --threads 1 2 --json out.json

Each measurement runs in a fresh subprocess (so torch's thread count and memory are its own),
alternating komi and SB3. Reported per run: steps/s overall, before learning starts, and while
learning (wall clock, and per CPU-second, which is steadier on a shared machine); for komi also
where the time went (env, acting, replay writes, replay sampling, updates). Needs
``stable-baselines3`` (not a komi dependency) and, for MinAtar and Pong, ``komi[atari]``.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

# One set of hyperparameters per env, given to both libraries (SB3 names on the left).
SETTINGS = {
    # rl-baselines3-zoo's CartPole-v1 settings.
    "cartpole": dict(env="CartPole-v1", steps=20_000, learning_rate=2.3e-3, batch_size=64,
                     buffer_size=100_000, learning_starts=1_000, gamma=0.99, target_update_interval=10,
                     train_freq=256, gradient_steps=128, exploration_fraction=0.16,
                     exploration_final_eps=0.04, net_arch=[256, 256]),
    # MinAtar paper DQN (Adam), the paper's small CNN.
    "minatar": dict(env="MinAtar/Breakout-v1", steps=20_000, learning_rate=2.5e-4, batch_size=32,
                    buffer_size=100_000, learning_starts=5_000, gamma=0.99, target_update_interval=1_000,
                    train_freq=1, gradient_steps=1, exploration_fraction=0.1, exploration_final_eps=0.1),
    # SB3 zoo's Atari block on Pong (learning_starts lowered for timing), Nature CNN.
    "pong": dict(env="PongNoFrameskip-v4", steps=14_000, learning_rate=1e-4, batch_size=32,
                 buffer_size=100_000, learning_starts=10_000, gamma=0.99, target_update_interval=1_000,
                 train_freq=4, gradient_steps=1, exploration_fraction=0.1, exploration_final_eps=0.01),
}


def run_komi(name: str, threads: int, steps: int) -> dict:
    import tempfile

    from agent.dqn.config import PRESETS
    from agent.dqn.train import train

    s = SETTINGS[name]
    preset = {"cartpole": "cartpole", "minatar": "minatar", "pong": "atari"}[name]
    cfg = PRESETS[preset].replace(
        env_id=s["env"], total_steps=steps, learning_rate=s["learning_rate"], batch_size=s["batch_size"],
        buffer_size=s["buffer_size"], learning_starts=s["learning_starts"], gamma=s["gamma"],
        target_update=s["target_update_interval"], tau=1.0, train_frequency=s["train_freq"],
        gradient_steps=s["gradient_steps"], exploration_fraction=s["exploration_fraction"], anneal_lr=False,
        eps_start=1.0, eps_end=s["exploration_final_eps"], hidden=tuple(s.get("net_arch", (256, 256))),
        double=False, dueling=False, prioritized=False, n_step=1, noisy=False, atoms=1, adam_eps=1e-8,
        max_grad_norm=10.0, loss="huber", torch_threads=threads, checkpoint_every=10**12,
        eval_episodes=0)
    with tempfile.TemporaryDirectory() as tmp:
        r = train(cfg, tmp, progress=False, tensorboard=False)
    cpu = r.cpu_seconds
    t = r.timings
    total = t.total()
    out = _phases(steps, s["learning_starts"], r.seconds, r.seconds_before_learning)
    out.update(lib="komi", cpu_s=round(cpu, 1), steps_per_cpu_s=round(steps / cpu, 1), updates=r.updates,
               threads_used=r.threads,
               time_split={k: round(getattr(t, k) / total, 3)
                           for k in ("env", "act", "replay_add", "replay_sample", "update")},
               ms_per_update=round(1e3 * (t.update + t.replay_sample) / max(r.updates, 1), 3),
               ms_per_update_sample_only=round(1e3 * t.replay_sample / max(r.updates, 1), 3),
               last_100_mean_return=_mean([e[1] for e in r.episodes[-100:]]))
    return out


def sb3_minatar_torso():
    """An SB3 features extractor with the MinAtar paper's torso, the same as komi's "minatar" one."""
    import torch.nn as nn
    from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

    class SmallCNN(BaseFeaturesExtractor):
        def __init__(self, space, features_dim=128):
            super().__init__(space, features_dim)
            c, h, w = space.shape
            self.net = nn.Sequential(nn.Conv2d(c, 16, 3, 1), nn.ReLU(), nn.Flatten(),
                                     nn.Linear(16 * (h - 2) * (w - 2), features_dim), nn.ReLU())

        def forward(self, x):
            return self.net(x.float())

    return SmallCNN


def run_sb3(name: str, threads: int, steps: int) -> dict:
    import gymnasium as gym
    import torch
    from stable_baselines3 import DQN
    from stable_baselines3.common.callbacks import BaseCallback

    torch.set_num_threads(threads)
    s = SETTINGS[name]

    class LearningStartClock(BaseCallback):
        def _on_training_start(self):
            self.t0, self.at = time.perf_counter(), None

        def _on_step(self):
            if self.num_timesteps == s["learning_starts"]:
                self.at = time.perf_counter() - self.t0
            return True

    kw = {k: s[k] for k in ("learning_rate", "batch_size", "buffer_size", "learning_starts", "gamma",
                            "target_update_interval", "train_freq", "gradient_steps",
                            "exploration_fraction", "exploration_final_eps")}
    if name == "cartpole":
        env = gym.make(s["env"])
        model = DQN("MlpPolicy", env, seed=0, device="cpu", policy_kwargs=dict(net_arch=s["net_arch"]), **kw)
    elif name == "minatar":
        from envs.atari import make_env

        env = make_env(s["env"], 0, training=True)
        model = DQN("CnnPolicy", env, seed=0, device="cpu",
                    policy_kwargs=dict(features_extractor_class=sb3_minatar_torso(), net_arch=[],
                                       normalize_images=False), **kw)
    else:
        import ale_py
        from stable_baselines3.common.env_util import make_atari_env
        from stable_baselines3.common.vec_env import VecFrameStack

        gym.register_envs(ale_py)
        env = VecFrameStack(make_atari_env(s["env"], n_envs=1, seed=0), n_stack=4)
        model = DQN("CnnPolicy", env, seed=0, device="cpu", optimize_memory_usage=False, **kw)
    clock = LearningStartClock()
    c0, t0 = time.process_time(), time.perf_counter()
    model.learn(total_timesteps=steps, callback=clock)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    out = _phases(steps, s["learning_starts"], wall, clock.at)
    eps = [e["r"] for e in model.ep_info_buffer]
    out.update(lib="sb3", cpu_s=round(cpu, 1), steps_per_cpu_s=round(steps / cpu, 1),
               updates=model._n_updates, last_100_mean_return=_mean(eps))
    return out


def _phases(steps: int, learning_starts: int, wall: float, wall_at_start: float | None) -> dict:
    out = dict(steps=steps, wall_s=round(wall, 1), sps=round(steps / wall, 1))
    if wall_at_start:
        out["sps_before_learning"] = round(learning_starts / wall_at_start, 1)
        out["sps_learning"] = round((steps - learning_starts) / max(wall - wall_at_start, 1e-9), 1)
    return out


def _mean(xs):
    return round(sum(xs) / len(xs), 2) if xs else None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--envs", nargs="+", default=["cartpole", "minatar"], choices=list(SETTINGS))
    p.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    p.add_argument("--steps", type=int, default=None, help="override every env's step count")
    p.add_argument("--repeats", type=int, default=1, help="measurements per (env, threads, library)")
    p.add_argument("--json", default=None, help="write all results here")
    p.add_argument("--one", nargs=3, metavar=("LIB", "ENV", "THREADS"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        lib, name, threads = args.one
        steps = args.steps or SETTINGS[name]["steps"]
        fn = run_komi if lib == "komi" else run_sb3
        print("RESULT " + json.dumps(dict(env=name, threads=int(threads), **fn(name, int(threads), steps))))
        return
    results = []
    for name in args.envs:
        for threads in args.threads:
            for rep in range(args.repeats):
                order = ("sb3", "komi") if rep % 2 == 0 else ("komi", "sb3")
                pair = {}
                for lib in order:
                    cmd = [sys.executable, __file__, "--one", lib, name, str(threads)]
                    if args.steps:
                        cmd += ["--steps", str(args.steps)]
                    proc = subprocess.run(cmd, capture_output=True, text=True)
                    line = next((l for l in proc.stdout.splitlines() if l.startswith("RESULT ")), None)
                    if line is None:
                        print(f"{lib} {name} threads={threads} failed:\n{proc.stderr[-2000:]}", flush=True)
                        continue
                    pair[lib] = json.loads(line[7:])
                    results.append(pair[lib])
                    print(json.dumps(pair[lib]), flush=True)
                if len(pair) == 2:
                    k, b = pair["komi"], pair["sb3"]
                    ratio = lambda key: round(k[key] / b[key], 2) if k.get(key) and b.get(key) else None
                    print(f"== {name} threads={threads}: komi {k['sps']} vs SB3 {b['sps']} steps/s "
                          f"(x{ratio('sps')}); learning phase x{ratio('sps_learning')}; "
                          f"per CPU-second x{ratio('steps_per_cpu_s')}; komi time split {k['time_split']}",
                          flush=True)
    print("loadavg", open("/proc/loadavg").read().split()[:3])
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
