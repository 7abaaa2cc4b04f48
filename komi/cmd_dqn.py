"""`komi dqn train|eval|play`: DQN / Rainbow agents for ALE, MinAtar and vector Gymnasium envs.

The train options are generated from DQNConfig's fields (help text = the field docstrings);
a preset per env family fills everything not given on the command line.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import typing


def _add_config_options(p: argparse.ArgumentParser) -> None:
    from agent.dqn.config import DQNConfig
    from komi.options import choices, field_docs, finite_float, int_range, metavar

    docs = field_docs(DQNConfig)
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
            group.add_argument(*flags, dest=f.name, type=int_range(1, 1 << 16), nargs="+", default=None,
                               metavar="N", help=help_text)
        else:
            base = next((t for t in typing.get_args(hint) if t is not type(None)), hint)
            kind = {int: "int", float: "float"}.get(base, "str")
            names = choices(f.name)
            group.add_argument(*flags, dest=f.name, default=None, choices=names,
                               type={"int": int_range(), "float": finite_float}.get(kind, base),
                               metavar=None if names else metavar(f.name, kind), help=help_text)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dqn", help="train, evaluate and watch DQN agents on Atari-style games",
                       description="DQN agents (with the Rainbow switches) for ALE, MinAtar and vector envs.")
    dqn_sub = p.add_subparsers(dest="dqn_command", metavar="ACTION", required=True)

    t = dqn_sub.add_parser("train", help="train an agent (resumable)",
                           usage="%(prog)s [options]",
                           description="Train DQN on one environment. Example: komi dqn train --env "
                                       "MinAtar/Breakout-v1 --steps 1000000")
    t.add_argument("--preset", choices=["cartpole", "minatar", "atari"], default=None,
                   help="settings to start from (default: chosen by the env family)")
    t.add_argument("--rainbow", action="store_true",
                   help="switch on Double, dueling, prioritised replay, 3-step returns, noisy nets and C51")
    t.add_argument("--out", default=None, metavar="DIR",
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
    from komi.options import float_range, int_range

    e.add_argument("checkpoint", metavar="CKPT",
                   help="checkpoint stem or file, or a run directory (its latest checkpoint)")
    e.add_argument("--episodes", type=int_range(1), default=30, metavar="N", help="episodes to play (default 30)")
    e.add_argument("--epsilon", type=float_range(0, 1), default=0.001, metavar="EPSILON",
                   help="ε during evaluation: 0.001 (Rainbow-era) or 0.05 (Nature DQN); default 0.001")
    e.add_argument("--env", default=None, metavar="ENV", help="fail unless the checkpoint was trained on this env id")
    e.add_argument("--seed", type=int_range(0, 2**31 - 1), default=12345, help="evaluation seed (default 12345)")
    e.add_argument("--json", default=None, metavar="PATH", help="also write the result as JSON ('-' = stdout)")
    e.add_argument("--device", default="cpu", help="torch device (default cpu)")
    e.set_defaults(func=run_eval)

    w = dqn_sub.add_parser("play", help="watch a checkpoint play; --record writes a GIF",
                           description="Play episodes with a checkpoint and optionally record them.")
    w.add_argument("checkpoint", metavar="CKPT", help="checkpoint stem or file, or a run directory")
    w.add_argument("--episodes", type=int_range(1), default=1, metavar="N", help="episodes to play (default 1)")
    w.add_argument("--epsilon", type=float_range(0, 1), default=0.0, metavar="EPSILON",
                   help="ε while playing (default 0)")
    w.add_argument("--record", default=None, metavar="OUT.gif", help="write the frames to this GIF")
    w.add_argument("--fps", type=int_range(1, 100), default=30, metavar="N", help="GIF frames per second (default 30)")
    w.add_argument("--seed", type=int_range(0, 2**31 - 1), default=0, help="seed (default 0)")
    w.set_defaults(func=run_play)


def _config_from_args(args: argparse.Namespace):
    """The run's DQNConfig: preset (or resumed run's settings) + --rainbow + explicit options."""
    from agent.checkpoint import CheckpointError, latest_checkpoint, read_metadata
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
            stored = read_metadata(stem).get("config")
            if not isinstance(stored, dict):
                raise CheckpointError(f"{stem}.json: config missing, so --resume cannot take its settings")
            try:
                base = config_from_dict(stored)
            except (TypeError, ValueError) as err:
                raise CheckpointError(f"{stem}.json: bad config ({str(err)[:120]})") from None
    if base is None:
        env_id = given.get("env_id", DQNConfig.env_id)
        base = PRESETS[args.preset or preset_for_family(env_family(env_id))].replace(env_id=env_id)
        if args.rainbow:
            base = base.replace(**RAINBOW)
    return base.replace(**given)


def run_train(args: argparse.Namespace) -> int:
    from agent.dqn.train import train

    from komi.options import check_device, check_out_dir

    cfg = _config_from_args(args)
    cfg.check()
    check_device(cfg.device)
    out = args.out or f"checkpoints/dqn/{cfg.env_id.replace('/', '_')}-seed{cfg.seed}"
    check_out_dir(out, "--out")
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


def _load_agent(path: str, env_id: str | None = None, device: str = "cpu"):
    """agent.dqn.evaluate.load_agent, with the checkpoint's architecture checked first: a DQN
    checkpoint's metadata is data, so a missing or mistyped field, or a network bigger than its
    weights file, is a CheckpointError naming the file, never a traceback or a huge allocation."""
    import torch

    from agent.checkpoint import CheckpointError, _expected_tensors, check_tensors_fit, read_metadata
    from agent.dqn.evaluate import load_agent, resolve_checkpoint
    from agent.dqn.networks import NetworkSpec, QNetwork

    stem = resolve_checkpoint(path)
    meta = read_metadata(stem)
    if meta.get("kind") == "dqn":
        try:
            values = dict(meta["architecture"]["spec"])
            values["obs_shape"] = tuple(values["obs_shape"])
            values["hidden"] = tuple(values["hidden"])
            with torch.device("meta"):  # nothing is allocated
                skeleton = QNetwork(NetworkSpec(**values))
        except CheckpointError:
            raise
        except (KeyError, TypeError, ValueError, OverflowError, RuntimeError) as err:
            raise CheckpointError(f"{stem}.json: bad DQN architecture ({type(err).__name__}: "
                                  f"{str(err)[:120]})") from None
        check_tensors_fit(stem.with_name(stem.name + ".safetensors"), _expected_tensors(skeleton))
    try:
        return load_agent(stem, env_id=env_id, device=device)
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{stem}.json: bad DQN checkpoint metadata ({type(err).__name__}: "
                              f"{str(err)[:120]})") from None


def run_eval(args: argparse.Namespace) -> int:
    from agent.dqn.evaluate import resolve_checkpoint, run_episodes
    from komi.options import check_device, check_file_folder

    check_device(args.device)
    if args.json and args.json != "-":
        check_file_folder(args.json, "--json")
    net, cfg, meta = _load_agent(args.checkpoint, env_id=args.env, device=args.device)
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
    from agent.dqn.evaluate import run_episodes, write_gif
    from komi.errors import KomiError
    from komi.options import check_file_folder

    if args.record and not args.record.lower().endswith(".gif"):
        raise KomiError(f"--record {args.record}: only .gif output is supported")
    if args.record:
        check_file_folder(args.record, "--record")
    net, cfg, _ = _load_agent(args.checkpoint)
    returns, frames = run_episodes(net, cfg, args.episodes, args.epsilon, args.seed,
                                   record=bool(args.record))
    for i, r in enumerate(returns):
        print(f"episode {i + 1}: return {r:g}")
    if args.record:
        write_gif(frames, args.record, fps=args.fps)
        print(f"wrote {len(frames)} frames to {args.record}", file=sys.stderr)
    return 0
