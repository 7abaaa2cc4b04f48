"""`komi selfplay`: improve a network by playing itself with tree search (selfplay.loop)."""
from __future__ import annotations

import argparse
import dataclasses
import os
import signal

_DESCRIPTION = """\
Self-play training: W worker processes each search N games at once with the batched tree
search, finished games go to a replay buffer on disk (the last K games), the trainer samples
positions with the 8 symmetries (policy cross-entropy on the visit distributions of full searches
+ value MSE) and saves checkpoints; new checkpoints are evaluated.

Evaluation (--evaluation): "elo" (the default, as AlphaZero) - the workers always play the latest
checkpoint, and every --eval-every steps it plays the previously rated one and gets an Elo rating
relative to the starting network; "gating" (as AlphaGo Zero) - the workers play the best network
only, and a candidate replaces it when it scores at least --gate-threshold over --eval-games;
"none". With no arguments: 9x9, the "cpu" network preset, 200-visit full searches (40-visit fast
ones), writing to checkpoints/ until Ctrl-C; --resume continues a run after a stop or a kill
(even kill -9: games, counters and sample SGFs continue from what is on disk).

The first games fill the replay buffer: training starts once it holds --min-positions full-search
positions (the progress bar says how far it is), and a checkpoint is written every
--checkpoint-every steps and every --checkpoint-minutes, so a run stopped early still leaves a
trained network. TensorBoard logs go to <out>/tb (--log-dir)."""


def _parse_value(kind: str, optional: bool):
    from komi.options import finite_float, int_range

    int_type = int_range()

    base = {"int": int_type, "float": finite_float, "str": str}[kind]

    def parse(text: str):
        if optional and text.lower() == "none":
            return None
        return base(text)
    return parse


def add_parser(sub: argparse._SubParsersAction) -> None:
    from komi.options import choices, default_text, field_docs, metavar
    from selfplay.loop import SelfPlayConfig

    p = sub.add_parser("selfplay", help="improve a network by self-play with tree search",
                       usage="%(prog)s [options]", description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--init", metavar="CKPT", help="start from this checkpoint (e.g. a pretrained "
                   "one) instead of random weights")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its latest "
                   "checkpoint and replay buffer")
    p.add_argument("--ray-address", metavar="ADDR", help="run the self-play actors on this Ray cluster")
    p.add_argument("--ray-local", action="store_true", help="start a local Ray instance for the actors")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    docs = field_docs(SelfPlayConfig)
    for f in dataclasses.fields(SelfPlayConfig):
        kind = str(f.type).split("|")[0].strip()
        optional = "None" in str(f.type)
        if f.name == "workers":
            p.add_argument("--workers", type=int, default=None, metavar="N",
                           help=f"{docs[f.name].rstrip('.')} (default: half the CPU cores, at least 1)")
            continue
        doc, shown = default_text(docs.get(f.name, ""), f.default)
        names = choices(f.name)
        p.add_argument("--" + f.name.replace("_", "-"), dest=f.name, default=f.default,
                       type=_parse_value(kind, optional), choices=names,
                       metavar=None if names else metavar(f.name, kind),
                       help=f"{doc} (default: {shown})".replace("%", "%%"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from selfplay.loop import SelfPlayConfig, run_selfplay

    fields = {f.name: getattr(args, f.name) for f in dataclasses.fields(SelfPlayConfig)}
    if fields["workers"] is None:
        fields["workers"] = max(1, (os.cpu_count() or 2) // 2)
    cfg = SelfPlayConfig(**fields)
    from komi.options import check_device, check_out_dir

    check_device(cfg.device, allow_auto=True)
    check_out_dir(cfg.out, "--out")
    ray_address = "local" if args.ray_local else args.ray_address
    print(f"self-play on {cfg.board_size}x{cfg.board_size}: "
          + ("resuming" if args.resume else f"from {args.init}" if args.init
             else f"preset {cfg.preset} from scratch")
          + f", {cfg.workers} worker(s) x {cfg.games_per_worker} games, {cfg.full_visits}/{cfg.fast_visits}"
          f" visits, evaluation {cfg.evaluation}, writing to {cfg.out}/", flush=True)
    # A plain `kill` stops the run like Ctrl-C: buffer flushed, a last checkpoint written.
    signal.signal(signal.SIGTERM, _interrupt)
    run_selfplay(cfg, init=args.init, resume=args.resume, progress=not args.no_progress,
                 ray_address=ray_address)
    return 0


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt
