"""`komi eval-moves`: how well a checkpoint predicts the moves and winners of an SGF collection."""
from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval-moves", help="move-prediction accuracy of a checkpoint on SGF games",
        description="Evaluate a checkpoint on every position of the games of an SGF collection: "
                    "top-1 and top-5 move accuracy, policy loss, and value MSE.")
    from komi.options import int_range

    p.add_argument("--checkpoint", required=True, metavar="CKPT", help="checkpoint (stem or any of its files)")
    p.add_argument("--sgf", nargs="+", required=True, metavar="PATH", help="SGF files, directories or archives")
    p.add_argument("--min-moves", type=int_range(0), default=1, metavar="N",
                   help="skip games shorter than this (default 1)")
    p.add_argument("--max-positions", type=int_range(1), default=None, metavar="N",
                   help="evaluate a random subset of this many positions (default: all)")
    p.add_argument("--batch-size", type=int_range(1), default=256, metavar="N",
                   help="positions per forward pass (default 256)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from agent.checkpoint import check_network, load_network
    from komi.options import check_device
    from selfplay.collection import GameFilter, load_games
    from selfplay.pretrain import evaluate_positions

    check_device(args.device)
    check_network(args.checkpoint)  # fields, architecture, tensors, and the feature set's planes
    net, meta = load_network(args.checkpoint, device=args.device)
    size, feature_set = meta["board_size"], meta["feature_set"]
    table, stats = load_games(args.sgf, GameFilter(board_size=size, min_moves=args.min_moves))
    result = evaluate_positions(net, table, size, feature_set, args.batch_size, args.max_positions,
                                args.device)
    if args.json:
        print(json.dumps({k: result[k] for k in ("positions", "top1", "top5", "policy_loss", "value_mse",
                                                  "ownership_loss", "score_mae") if k in result}))
    else:
        print(f"games: {stats.summary()}")
        print(f"positions:   {result['positions']}")
        print(f"top-1:       {result['top1']:.4f}")
        print(f"top-5:       {result['top5']:.4f}")
        print(f"policy loss: {result['policy_loss']:.4f}")
        print(f"value MSE:   {result['value_mse']:.4f}")
        if "ownership_loss" in result:  # over the games counted at their end (NaN if none)
            print(f"ownership:   {result['ownership_loss']:.4f} (cross-entropy per point)")
            print(f"score MAE:   {result.get('score_mae', float('nan')):.2f} points")
    return 0
