"""DQN learning on MinAtar: komi against Stable-Baselines3's DQN, same network, settings and budget.

    python benchmarks/dqn_learning.py run --lib komi --env MinAtar/Breakout-v1 --out runs/dqnlearn
    python benchmarks/dqn_learning.py run --lib sb3 --env MinAtar/Breakout-v1 --out runs/dqnlearn
    python benchmarks/dqn_learning.py report runs/dqnlearn --png docs/dqn_minatar_curves.png

Both libraries get komi's ``minatar`` preset (the MinAtar paper's DQN with Adam: batch 32, 100k
buffer, 5k steps before learning, target copy every 1k steps, ε 1 → 0.1 over the first 10%) and the
paper's small CNN. ``run`` writes ``<lib>-<env>-seed<N>.run/episodes.csv`` (step, return, length of
every training episode; komi's is rewritten at each checkpoint, SB3's flushed as it goes, so a run
cut short still has its curve) and, at the end, ``<lib>-<env>-seed<N>.json`` with the greedy
evaluation (100 episodes). ``report`` prints a table and draws the curves (mean return of the
last 100 training episodes against environment steps). Needs ``stable-baselines3`` and ``komi[atari]``.
"""
from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

EVAL_EPISODES = 100


def _stem(out: Path, lib: str, env_id: str, seed: int) -> Path:
    return out / f"{lib}-{env_id.replace('/', '_')}-seed{seed}"


def run_komi(env_id: str, steps: int, seed: int, stem: Path) -> dict:
    from agent.dqn.config import PRESETS
    from agent.dqn.train import train

    cfg = PRESETS["minatar"].replace(env_id=env_id, total_steps=steps, seed=seed, torch_threads=1,
                                     eval_episodes=EVAL_EPISODES, eval_epsilon=0.0)
    run_dir = stem.with_suffix(".run")
    r = train(cfg, run_dir, resume=run_dir.exists(), progress=False, tensorboard=False)
    return dict(eval_returns=[float(x) for x in r.eval_returns], cpu_s=r.cpu_seconds, wall_s=r.seconds)


def run_sb3(env_id: str, steps: int, seed: int, stem: Path) -> dict:
    import numpy as np
    import torch
    from dqn import sb3_minatar_torso  # benchmarks/dqn.py
    from stable_baselines3 import DQN
    from stable_baselines3.common.callbacks import BaseCallback

    from agent.dqn.config import PRESETS
    from envs.atari import make_env

    torch.set_num_threads(1)
    p = PRESETS["minatar"]

    stem.with_suffix(".run").mkdir(exist_ok=True)
    log = open(stem.with_suffix(".run") / "episodes.csv", "w", newline="")
    writer = csv.writer(log)
    writer.writerow(["step", "return", "length"])

    class EpisodeLog(BaseCallback):
        def _on_step(self):
            for info in self.locals["infos"]:
                if "episode" in info:
                    writer.writerow((self.num_timesteps, float(info["episode"]["r"]), int(info["episode"]["l"])))
                    log.flush()
            return True

    env = make_env(env_id, seed, training=True)
    model = DQN("CnnPolicy", env, seed=seed, device="cpu", learning_rate=p.learning_rate,
                batch_size=p.batch_size, buffer_size=p.buffer_size, learning_starts=p.learning_starts,
                gamma=p.gamma, target_update_interval=p.target_update, train_freq=p.train_frequency,
                gradient_steps=p.gradient_steps, exploration_fraction=p.exploration_fraction,
                exploration_initial_eps=p.eps_start, exploration_final_eps=p.eps_end,
                max_grad_norm=p.max_grad_norm,
                policy_kwargs=dict(features_extractor_class=sb3_minatar_torso(), net_arch=[],
                                   normalize_images=False))
    c0, t0 = time.process_time(), time.perf_counter()
    model.learn(total_timesteps=steps, callback=EpisodeLog())
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    log.close()
    eval_env = make_env(env_id, seed + 10_000, training=False)
    returns = []
    for _ in range(EVAL_EPISODES):
        obs, _ = eval_env.reset()
        done, total = False, 0.0
        while not done:
            action, _ = model.predict(np.asarray(obs), deterministic=True)
            obs, reward, term, trunc, _ = eval_env.step(int(action))
            total += float(reward)
            done = term or trunc
        returns.append(total)
    return dict(eval_returns=returns, cpu_s=cpu, wall_s=wall)


def read_curve(path: Path) -> list[tuple[int, float]]:
    with open(path) as f:
        return [(int(row[0]), float(row[1])) for row in list(csv.reader(f))[1:]]


def report(out: Path, png: str | None) -> None:
    import numpy as np

    rows = []
    curves = {}
    for path in sorted(out.glob("*.run/episodes.csv")):
        stem = path.parent.with_suffix("")
        curve = read_curve(path)
        curves[stem.name] = curve
        result = stem.with_suffix(".json")
        ev = json.loads(result.read_text()) if result.exists() else {}
        last = [r for _, r in curve[-100:]]
        evr = ev.get("eval_returns", [])
        rows.append(dict(run=stem.name, steps=curve[-1][0] if curve else 0, episodes=len(curve),
                         last_100=round(float(np.mean(last)), 2) if last else None,
                         greedy_mean=round(float(np.mean(evr)), 2) if evr else None,
                         greedy_std=round(float(np.std(evr)), 2) if evr else None,
                         cpu_min=round(ev["cpu_s"] / 60, 1) if ev else None))
    for r in rows:
        print(json.dumps(r))
    if png and curves:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        envs = sorted({k.split("-", 2)[1] for k in curves})
        fig, axes = plt.subplots(1, len(envs), figsize=(6 * len(envs), 4), squeeze=False)
        for ax, env in zip(axes[0], envs):
            for key, curve in sorted(curves.items()):
                if key.split("-", 2)[1] != env or len(curve) < 2:
                    continue
                steps = np.array([s for s, _ in curve])
                rets = np.array([r for _, r in curve])
                window = min(100, len(rets))
                smooth = np.convolve(rets, np.ones(window) / window, mode="valid")
                ax.plot(steps[window - 1:], smooth, label=key.split("-", 1)[0] + " " + key.rsplit("-", 1)[1])
            ax.set_title(env.replace("_", "/"))
            ax.set_xlabel("environment steps")
            ax.set_ylabel("return (mean of last 100 episodes)")
            ax.legend()
        fig.tight_layout()
        fig.savefig(png, dpi=100)
        print("wrote", png)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="one training run")
    r.add_argument("--lib", choices=["komi", "sb3"], required=True)
    r.add_argument("--env", default="MinAtar/Breakout-v1")
    r.add_argument("--steps", type=int, default=1_000_000)
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--out", default="runs/dqnlearn")
    s = sub.add_parser("report", help="table and curves of the runs in a folder")
    s.add_argument("out")
    s.add_argument("--png", default=None)
    args = p.parse_args()
    if args.cmd == "report":
        report(Path(args.out), args.png)
        return
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = _stem(out, args.lib, args.env, args.seed)
    fn = run_komi if args.lib == "komi" else run_sb3
    result = dict(lib=args.lib, env=args.env, steps=args.steps, seed=args.seed,
                  **fn(args.env, args.steps, args.seed, stem))
    tmp = stem.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result))
    tmp.replace(stem.with_suffix(".json"))
    print(json.dumps({k: v for k, v in result.items() if k != "eval_returns"}))


if __name__ == "__main__":
    main()
