"""`komi dqn train|eval|play`: DQN / Rainbow agents for ALE, MinAtar and vector Gymnasium envs.

The train options are generated from DQNConfig's fields (help text = the field docstrings);
a preset per env family fills everything not given on the command line.
"""
from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import json
import sys
import typing


def _field_docs(cls) -> dict[str, str]:
    """Attribute docstrings of a dataclass (the string literal under each field)."""
    tree = ast.parse(inspect.getsource(cls))
    body = tree.body[0].body
    docs = {}
    for node, nxt in zip(body, body[1:]):
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant)):
            docs[node.target.id] = str(nxt.value.value).strip()
    return docs


def _add_config_options(p: argparse.ArgumentParser) -> None:
    from agent.dqn.config import DQNConfig

    docs = _field_docs(DQNConfig)
    hints = typing.get_type_hints(DQNConfig)
    aliases = {"env_id": ["--env"], "total_steps": ["--steps"]}
    group = p.add_argument_group("training settings (default: the preset's value)")
    for f in dataclasses.fields(DQNConfig):
        flags = aliases.get(f.name, []) + ["--" + f.name.replace("_", "-")]
        hint = hints[f.name]
        help_text = docs.get(f.name, "").replace("%", "%%")
        if hint is bool:
            group.add_argument(*flags, dest=f.name, action=argparse.BooleanOptionalAction, default=None,
                               help=help_text)
        elif f.name == "hidden":
            group.add_argument(*flags, dest=f.name, type=int, nargs="+", default=None, help=help_text)
        else:
            base = next((t for t in typing.get_args(hint) if t is not type(None)), hint)
            group.add_argument(*flags, dest=f.name, type=base, default=None, metavar=f.name.upper(),
                               help=help_text)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dqn", help="train, evaluate and watch DQN agents on Atari-style games",
                       description="DQN agents (with the Rainbow switches) for ALE, MinAtar and vector envs.")
    dqn_sub = p.add_subparsers(dest="dqn_command", metavar="ACTION", required=True)

    t = dqn_sub.add_parser("train", help="train an agent (resumable)",
                           description="Train DQN on one environment. Example: komi dqn train --env "
                                       "MinAtar/Breakout-v1 --steps 1000000")
    t.add_argument("--preset", choices=["cartpole", "minatar", "atari"], default=None,
                   help="settings to start from (default: chosen by the env family)")
    t.add_argument("--rainbow", action="store_true",
                   help="switch on Double, dueling, prioritised replay, 3-step returns, noisy nets and C51")
    t.add_argument("--out", default=None,
                   help="run directory for checkpoints, curves, logs (default checkpoints/dqn/<env>-seed<seed>)")
    t.add_argument("--resume", action="store_true",
                   help="continue from the latest checkpoint in --out (its settings, unless overridden)")
    t.add_argument("--no-progress", action="store_true", help="no tqdm progress bar")
    t.add_argument("--no-tensorboard", action="store_true", help="no TensorBoard logs")
    _add_config_options(t)
    t.set_defaults(func=run_train)

    e = dqn_sub.add_parser("eval", help="evaluate a checkpoint over N episodes (JSON output)",
                           description="Play N whole games with ε-greedy actions; print mean ± std and "
                                       "the raw returns.")
    e.add_argument("checkpoint", help="checkpoint stem or file, or a run directory (its latest checkpoint)")
    e.add_argument("--episodes", type=int, default=30, help="episodes to play (default 30)")
    e.add_argument("--epsilon", type=float, default=0.001,
                   help="ε during evaluation: 0.001 (Rainbow-era) or 0.05 (Nature DQN); default 0.001")
    e.add_argument("--env", default=None, help="fail unless the checkpoint was trained on this env id")
    e.add_argument("--seed", type=int, default=12345, help="evaluation seed (default 12345)")
    e.add_argument("--json", default=None, metavar="PATH", help="also write the result as JSON ('-' = stdout)")
    e.add_argument("--device", default="cpu", help="torch device (default cpu)")
    e.set_defaults(func=run_eval)

    w = dqn_sub.add_parser("play", help="watch a checkpoint play; --record writes a GIF",
                           description="Play episodes with a checkpoint and optionally record them.")
    w.add_argument("checkpoint", help="checkpoint stem or file, or a run directory")
    w.add_argument("--episodes", type=int, default=1, help="episodes to play (default 1)")
    w.add_argument("--epsilon", type=float, default=0.0, help="ε while playing (default 0)")
    w.add_argument("--record", default=None, metavar="OUT.gif", help="write the frames to this GIF")
    w.add_argument("--fps", type=int, default=30, help="GIF frames per second (default 30)")
    w.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    w.set_defaults(func=run_play)


def _config_from_args(args: argparse.Namespace):
    """The run's DQNConfig: preset (or resumed run's settings) + --rainbow + explicit options."""
    from agent.checkpoint import latest_checkpoint, read_metadata
    from agent.dqn.config import PRESETS, RAINBOW, DQNConfig, config_from_dict, preset_for_family
    from envs.atari import env_family

    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(DQNConfig)
             if getattr(args, f.name) is not None}
    if "hidden" in given:
        given["hidden"] = tuple(given["hidden"])
    base = None
    if args.resume and args.out:
        stem = latest_checkpoint(args.out)
        if stem is not None:
            base = config_from_dict(read_metadata(stem)["config"])
    if base is None:
        env_id = given.get("env_id", DQNConfig.env_id)
        base = PRESETS[args.preset or preset_for_family(env_family(env_id))].replace(env_id=env_id)
        if args.rainbow:
            base = base.replace(**RAINBOW)
    return base.replace(**given)


def run_train(args: argparse.Namespace) -> int:
    from agent.dqn.train import train

    cfg = _config_from_args(args)
    cfg.check()
    out = args.out or f"checkpoints/dqn/{cfg.env_id.replace('/', '_')}-seed{cfg.seed}"
    result = train(cfg, out, resume=args.resume, progress=not args.no_progress,
                   tensorboard=not args.no_tensorboard)
    t = result.timings
    total = max(t.total(), 1e-9)
    summary = dict(checkpoint=str(result.checkpoint), steps=result.steps, updates=result.updates,
                   steps_per_second=round(result.steps_per_second, 1),
                   time_fraction={k: round(getattr(t, k) / total, 3) for k in
                                  ("env", "act", "replay_add", "replay_sample", "update")})
    if result.eval_returns:
        summary.update(eval_mean=_mean(result.eval_returns), eval_std=_std(result.eval_returns),
                       eval_episodes=len(result.eval_returns), eval_epsilon=cfg.eval_epsilon)
    print(json.dumps(summary))
    return 0


def _mean(xs):
    return round(sum(xs) / len(xs), 3)


def _std(xs):
    m = sum(xs) / len(xs)
    return round((sum((x - m) ** 2 for x in xs) / len(xs)) ** 0.5, 3)


def run_eval(args: argparse.Namespace) -> int:
    from agent.dqn.evaluate import load_agent, resolve_checkpoint, run_episodes
    from komi.errors import KomiError

    if args.episodes < 1 or not 0.0 <= args.epsilon <= 1.0:
        raise KomiError("--episodes must be at least 1 and --epsilon in [0, 1]")
    net, cfg, meta = load_agent(args.checkpoint, env_id=args.env, device=args.device)
    returns, _ = run_episodes(net, cfg, args.episodes, args.epsilon, args.seed, device=args.device)
    result = dict(checkpoint=str(resolve_checkpoint(args.checkpoint)), env_id=cfg.env_id,
                  step=meta.get("step"), episodes=len(returns), epsilon=args.epsilon,
                  mean=_mean(returns), std=_std(returns), returns=returns)
    print(f"{cfg.env_id} step {meta.get('step')}: {result['mean']:.2f} ± {result['std']:.2f} "
          f"over {len(returns)} episodes (ε={args.epsilon})")
    print("returns: " + " ".join(f"{r:g}" for r in returns))
    if args.json == "-":
        print(json.dumps(result))
    elif args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return 0


def run_play(args: argparse.Namespace) -> int:
    from agent.dqn.evaluate import load_agent, run_episodes, write_gif
    from komi.errors import KomiError

    if args.record and not args.record.lower().endswith(".gif"):
        raise KomiError(f"--record {args.record}: only .gif output is supported")
    net, cfg, _ = load_agent(args.checkpoint)
    returns, frames = run_episodes(net, cfg, args.episodes, args.epsilon, args.seed,
                                   record=bool(args.record))
    for i, r in enumerate(returns):
        print(f"episode {i + 1}: return {r:g}")
    if args.record:
        write_gif(frames, args.record, fps=args.fps)
        print(f"wrote {len(frames)} frames to {args.record}", file=sys.stderr)
    return 0
