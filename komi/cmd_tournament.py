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
    p.add_argument("players", nargs="*", metavar="PLAYER", help="players (see above)")
    p.add_argument("--checkpoints", metavar="DIR", help="also add every checkpoint in DIR (Elo-vs-step plot)")
    p.add_argument("--games", type=int, default=2, help="games per pair (default 2)")
    p.add_argument("--gauntlet", metavar="NAME", help="only NAME's games against each other player")
    p.add_argument("--size", type=int, default=9, help="board size (default 9)")
    p.add_argument("--komi", type=float, default=7.5, help="komi (default 7.5)")
    p.add_argument("--seconds-per-move", type=float, default=None,
                   help="time per move for external engines (GTP time_settings; default: their own)")
    p.add_argument("--move-timeout", type=float, default=60.0,
                   help="a move taking longer loses the game (default 60 s)")
    p.add_argument("--max-moves", type=int, default=None, help="move cap (default 3 * size^2)")
    p.add_argument("--visits", type=int, default=1, help="visits per move for checkpoints (1 = network alone)")
    p.add_argument("--parallel", type=int, default=1, help="games at once, each in a process (default 1)")
    p.add_argument("--device", default="cpu", help="torch device for checkpoints (default cpu)")
    p.add_argument("--anchor", default=None, metavar="NAME[=ELO]",
                   help="player whose rating is fixed (default random=0 if present, else the first)")
    p.add_argument("--out", default="runs/tournament", help="results folder (default runs/tournament)")
    p.add_argument("--seed", type=int, default=0, help="base random seed (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from agent.players import parse_player_spec
    from komi.errors import KomiError
    from selfplay.tournament import (TournamentConfig, format_summary, run_tournament, summarize,
                                     write_outputs)

    specs = [parse_player_spec(text) for text in args.players]
    if args.checkpoints:
        specs += _checkpoint_series(Path(args.checkpoints), parse_player_spec)
    if args.games < 1:
        raise KomiError(f"--games must be at least 1, not {args.games}")
    if not 2 <= args.size <= 19:
        raise KomiError(f"--size must be between 2 and 19, not {args.size}")
    anchor, anchor_elo = _parse_anchor(args.anchor)
    if anchor is not None and anchor not in {s.name for s in specs}:
        raise KomiError(f"--anchor {anchor!r} is not one of the players ({', '.join(s.name for s in specs)})")
    config = TournamentConfig(size=args.size, komi=args.komi, games_per_pair=args.games,
                              gauntlet=args.gauntlet, seconds_per_move=args.seconds_per_move,
                              visits=args.visits, move_timeout=args.move_timeout,
                              max_moves=args.max_moves, parallel=args.parallel, device=args.device,
                              seed=args.seed)
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
