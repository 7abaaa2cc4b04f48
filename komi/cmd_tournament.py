"""`komi tournament`: rated games among checkpoints, the random player and external GTP engines."""
from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "tournament", help="play a round robin or gauntlet and fit Elo ratings",
        description="Play N games per pair (colours alternated) among players, save every game as "
                    "SGF, and fit maximum-likelihood Elo ratings. A player is `random`, a checkpoint "
                    "(stem or file), or an external GTP engine command such as "
                    "'gnugo --mode gtp --level 10'; prefix NAME= to name it (e.g. "
                    "'gnugo-l10=gnugo --mode gtp --level 10'). Rerunning with the same --out resumes: "
                    "games already in its results.json are not replayed.")
    from komi.options import KOMI, int_range, positive_float

    p.add_argument("players", nargs="*", metavar="PLAYER", help="players (see above)")
    p.add_argument("--checkpoints", metavar="DIR", help="also add every checkpoint in DIR (Elo-vs-step plot)")
    p.add_argument("--games", type=int_range(1), default=2, metavar="N", help="games per pair (default 2)")
    p.add_argument("--gauntlet", metavar="NAME", help="only NAME's games against each other player")
    p.add_argument("--size", type=int_range(2, 19), default=9, metavar="N", help="board size, 2..19 (default 9)")
    p.add_argument("--komi", type=KOMI, default=7.5, help="komi (default 7.5)")
    p.add_argument("--seconds-per-move", type=positive_float, default=None, metavar="SECONDS",
                   help="time per move for external engines (GTP time_settings; default: their own)")
    p.add_argument("--move-timeout", type=positive_float, default=60.0, metavar="SECONDS",
                   help="a move taking longer loses the game (default 60)")
    p.add_argument("--max-moves", type=int_range(1), default=None, metavar="N",
                   help="move cap (default 3 * size^2)")
    p.add_argument("--visits", type=int_range(1), default=1, metavar="N",
                   help="visits per move for checkpoints (default 1: the network alone)")
    p.add_argument("--parallel", type=int_range(1, 256), default=1, metavar="N",
                   help="games at once, each in a process (default 1)")
    p.add_argument("--device", default="cpu", help="torch device for checkpoints (default cpu)")
    p.add_argument("--anchor", default=None, metavar="NAME[=ELO]",
                   help="player whose rating is fixed (default random=0 if present, else the first)")
    p.add_argument("--out", default="runs/tournament", metavar="DIR",
                   help="results folder (default runs/tournament)")
    p.add_argument("--seed", type=int_range(0, 2**63 - 1), default=0, help="base random seed (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from agent.checkpoint import check_network
    from agent.players import parse_player_spec
    from komi.errors import KomiError
    from komi.options import check_device, check_out_dir
    from selfplay.tournament import (TournamentConfig, check_players, format_summary, run_tournament,
                                     schedule, summarize, write_outputs)

    specs = [parse_player_spec(text) for text in args.players]
    if args.checkpoints:
        specs += _checkpoint_series(Path(args.checkpoints), parse_player_spec)
    anchor, anchor_elo = _parse_anchor(args.anchor)
    if anchor is not None and anchor not in {s.name for s in specs}:
        raise KomiError(f"--anchor {anchor!r} is not one of the players ({', '.join(s.name for s in specs)})")
    config = TournamentConfig(size=args.size, komi=args.komi, games_per_pair=args.games,
                              gauntlet=args.gauntlet, seconds_per_move=args.seconds_per_move,
                              visits=args.visits, move_timeout=args.move_timeout,
                              max_moves=args.max_moves, parallel=args.parallel, device=args.device,
                              seed=args.seed)
    # Everything that can be refused is refused before --out is created.
    schedule([s.name for s in specs], config)
    check_out_dir(args.out, "--out")
    if any(s.kind in ("checkpoint", "shipped") for s in specs):
        check_device(args.device)
    for spec in specs:
        if spec.kind == "checkpoint":
            try:
                check_network(spec.target)
            except KomiError as err:
                raise KomiError(f"player {spec.name}: {err}") from None
    check_players(specs, config)
    doc = run_tournament(specs, config, args.out, progress=not args.quiet)
    summary = summarize(doc, anchor=anchor, anchor_elo=anchor_elo)
    written = write_outputs(summary, args.out)
    print(format_summary(summary))
    print("written: " + ", ".join(str(p) for p in written) + f", {Path(args.out) / 'results.json'}, "
          f"{Path(args.out) / 'games'}/")
    return 0


def _checkpoint_series(directory, parse):
    from komi.errors import KomiError

    if not directory.is_dir():
        raise KomiError(f"--checkpoints {directory}: not a folder")
    stems = sorted({p.with_suffix("") for p in directory.glob("step-*.json") if not p.name.endswith(".optim.json")})
    if not stems:
        raise KomiError(f"--checkpoints {directory}: no checkpoints (step-*.json) there")
    return [parse(str(s)) for s in stems]


def _parse_anchor(text: str | None) -> tuple[str | None, float]:
    from komi.errors import KomiError

    if text is None:
        return None, 0.0
    name, sep, value = text.partition("=")
    if not sep:
        return name, 0.0
    try:
        return name, float(value)
    except ValueError:
        raise KomiError(f"--anchor {text!r}: the rating after '=' must be a number") from None
