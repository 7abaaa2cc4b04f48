"""`komi pretrain`: supervised training of the policy/value network on SGF game records."""
from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pretrain", help="train the policy/value network on SGF game records",
        usage="%(prog)s --sgf PATH [PATH ...] [options]",
        description="Convert an SGF collection (files, directories, archives) into cached shards "
                    "once, then train the network to predict the moves and winners. Checkpoints go "
                    "to --checkpoint-dir; --resume continues from the latest one with the same data "
                    "order.")
    from komi.options import choices, float_range, int_range, positive_float

    n, at_least_0 = int_range(1), float_range(0)
    p.add_argument("--sgf", nargs="+", required=True, metavar="PATH",
                   help="SGF files, directories or archives (.zip, .tar, .tar.gz, .tar.xz...)")
    g = p.add_argument_group("games")
    g.add_argument("--board-size", type=int_range(2, 19), default=19, metavar="N",
                   help="board size of the games used, 2..19 (default 19)")
    g.add_argument("--min-moves", type=int_range(0), default=20, metavar="N",
                   help="skip games shorter than this (default 20)")
    g.add_argument("--handicap", choices=("include", "exclude", "only"), default="include",
                   help="handicap games (default include)")
    g.add_argument("--min-rank", default=None, metavar="RANK",
                   help="both players at least this rank, e.g. 5d (default: any)")
    g.add_argument("--val-fraction", type=float_range(0, 1), default=0.02, metavar="FRACTION",
                   help="fraction of games held out for validation, by game (default 0.02)")
    g.add_argument("--cache-dir", default="checkpoints/shards", metavar="DIR",
                   help="shard cache (default checkpoints/shards)")
    t = p.add_argument_group("training")
    t.add_argument("--preset", choices=choices("preset"), default="cpu", help="network preset (default cpu)")
    t.add_argument("--policy-head", choices=("fc", "conv"), default=None,
                   help="override the preset's policy head: fc (AlphaGo Zero) or conv (fully convolutional)")
    t.add_argument("--feature-set", choices=choices("feature_set"), default="extended",
                   help="input feature set (default extended)")
    t.add_argument("--batch-size", type=n, default=128, metavar="N", help="positions per step (default 128)")
    t.add_argument("--optimizer", choices=("sgd", "adamw"), default="sgd",
                   help="sgd (Nesterov momentum 0.9) or adamw (default sgd)")
    t.add_argument("--lr", type=positive_float, default=None, metavar="LR",
                   help="peak learning rate (default 0.05 sgd, 0.002 adamw)")
    t.add_argument("--weight-decay", type=at_least_0, default=1e-4, metavar="WEIGHT", help="(default 1e-4)")
    t.add_argument("--warmup-steps", type=int_range(0), default=200, metavar="N",
                   help="steps of linear learning-rate warm-up (default 200)")
    t.add_argument("--value-weight", type=at_least_0, default=0.25, metavar="WEIGHT",
                   help="weight of the value MSE (default 0.25)")
    t.add_argument("--ownership-weight", type=at_least_0, default=1.5, metavar="WEIGHT",
                   help="weight of the ownership loss, KataGo's target (default 1.5; 0 = off)")
    t.add_argument("--score-weight", type=at_least_0, default=0.02, metavar="WEIGHT",
                   help="weight of the score loss (default 0.02)")
    t.add_argument("--no-aux-heads", action="store_true",
                   help="a net without the ownership and score heads (as before they existed)")
    t.add_argument("--steps", type=n, default=None, metavar="N",
                   help="stop after this many steps (default: --minutes decides)")
    t.add_argument("--minutes", type=positive_float, default=None, metavar="MINUTES",
                   help="stop after this many minutes (default 60 when --steps is not given)")
    t.add_argument("--val-every", type=n, default=500, metavar="N", help="validate every N steps (default 500)")
    t.add_argument("--val-positions", type=n, default=4096, metavar="N", help="validation positions (default 4096)")
    t.add_argument("--checkpoint-every", type=n, default=1000, metavar="N",
                   help="checkpoint every N steps (default 1000)")
    t.add_argument("--checkpoint-minutes", type=positive_float, default=10.0, metavar="MINUTES",
                   help="also checkpoint when this many minutes passed since the last one (default 10)")
    t.add_argument("--checkpoint-dir", default="checkpoints", metavar="DIR", help="(default checkpoints)")
    t.add_argument("--log-dir", default="runs/pretrain", metavar="DIR",
                   help="TensorBoard logs (default runs/pretrain; '' = none)")
    t.add_argument("--seed", type=int_range(0, 2**63 - 1), default=0, help="(default 0)")
    t.add_argument("--threads", type=int_range(1, 1024), default=None, metavar="N",
                   help="torch CPU threads (default: torch's choice)")
    t.add_argument("--device", default="auto", help="cpu, cuda or auto (default auto)")
    t.add_argument("--compile", action="store_true", help="use torch.compile")
    t.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in --checkpoint-dir")
    t.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import signal

    from komi.options import check_device, check_out_dir
    from selfplay.collection import GameFilter
    from selfplay.pretrain import PretrainConfig, pretrain

    check_device(args.device, allow_auto=True)
    for flag, path in (("--checkpoint-dir", args.checkpoint_dir), ("--cache-dir", args.cache_dir),
                       ("--log-dir", args.log_dir)):
        if path:
            check_out_dir(path, flag)

    minutes = 60.0 if args.minutes is None and args.steps is None else args.minutes
    lr = args.lr if args.lr is not None else (0.05 if args.optimizer == "sgd" else 0.002)
    cfg = PretrainConfig(
        sgf=tuple(args.sgf),
        filter=GameFilter(board_size=args.board_size, min_moves=args.min_moves,
                          handicap=args.handicap, min_rank=args.min_rank),
        val_fraction=args.val_fraction, preset=args.preset, policy_head=args.policy_head,
        feature_set=args.feature_set,
        batch_size=args.batch_size, optimizer=args.optimizer, lr=lr, weight_decay=args.weight_decay,
        warmup_steps=args.warmup_steps, steps=args.steps, minutes=minutes,
        value_weight=args.value_weight, ownership_weight=args.ownership_weight,
        score_weight=args.score_weight, aux_heads=not args.no_aux_heads, val_every=args.val_every, val_positions=args.val_positions,
        checkpoint_every=args.checkpoint_every,
        checkpoint_minutes=args.checkpoint_minutes, checkpoint_dir=args.checkpoint_dir,
        cache_dir=args.cache_dir, log_dir=args.log_dir or None, seed=args.seed, threads=args.threads,
        device=args.device, compile=args.compile)

    def on_term(signum, frame):  # a kill saves a checkpoint like Ctrl-C does
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    pretrain(cfg, resume=args.resume, progress=not args.no_progress)
    return 0
