"""`komi play`: a game against a checkpoint (or the random player) in the terminal."""
from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "play", help="play a game against komi in the terminal",
        description="Play Go in the terminal against komi: the network shipped for the board size "
                    "(9x9, 19x19), the newest checkpoint in checkpoints/, or --checkpoint. Type moves "
                    "like D4, or 'help'.")
    from komi.options import KOMI, int_range, positive_float

    p.add_argument("--checkpoint", metavar="CKPT",
                   help="checkpoint stem or file to play against, or 'random' (default: newest "
                        "in checkpoints/ for the size, else the shipped network)")
    p.add_argument("--size", type=int_range(2, 19), default=None, metavar="N",
                   help="board size, 2..19 (default: the checkpoint's, else 9, a quick first game; "
                        "komi gtp starts at 19, as GTP controllers expect, and follows boardsize)")
    p.add_argument("--color", choices=("black", "white", "random"), default="black",
                   help="your colour (default black)")
    p.add_argument("--komi", type=KOMI, default=None, help="komi (default 7.5, 0.5 with handicap)")
    p.add_argument("--handicap", type=int_range(0, 9), default=0, metavar="N",
                   help="handicap stones for Black, 2..9 (default 0: none)")
    p.add_argument("--visits", type=int_range(1), default=400, metavar="N",
                   help="agent's search visits per move (default 400; 1 = the network alone)")
    p.add_argument("--seconds", type=positive_float, default=None, metavar="SECONDS",
                   help="agent's time per move, search only (default: none, --visits decides)")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument("--save", metavar="FILE.sgf", default=None,
                   help="where the game is saved at the end (default komi-game-DATE-TIME.sgf)")
    p.add_argument("--plain", action="store_true", help="X/O board without Unicode or colour")
    p.add_argument("--seed", type=int_range(0, 2**64 - 1), default=None, help="random seed (default: none)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import random

    from agent.checkpoint import check_network
    from agent.players import NetworkPlayerConfig, RandomPlayer, network_player
    from komi.errors import KomiError
    from komi.options import check_device, check_file_folder
    from komi.terminal import PlaySession, Style

    if args.handicap == 1:
        raise KomiError("--handicap must be 0 (none) or between 2 and 9, not 1")
    if args.save is not None:
        check_file_folder(args.save, "--save")
    if args.checkpoint != "random":
        check_device(args.device)
    config = NetworkPlayerConfig(visits=args.visits, device=args.device, seed=args.seed, resign_threshold=0.05)
    if args.checkpoint and args.checkpoint != "random":
        n = check_network(args.checkpoint)["board_size"]  # before anything is built or said
        if args.size is not None and args.size != n:
            raise KomiError(f"--size {args.size} does not fit checkpoint {args.checkpoint}, which plays "
                            f"{n}x{n}; leave out --size, or give a {args.size}x{args.size} checkpoint")
        if not 2 <= n <= 19:
            raise KomiError(f"checkpoint {args.checkpoint} plays {n}x{n}; komi play plays 2x2 to 19x19")
        agent = network_player(args.checkpoint, config, name="komi")
        size = agent.board_size
        label = "komi"
    else:
        from agent.shipped import default_checkpoint, say

        size = args.size or 9
        stem, where = (None, "--checkpoint random") if args.checkpoint == "random" else default_checkpoint(size)
        if stem is None:
            say(f"komi play: playing uniformly random moves ({where})")
            agent, label = RandomPlayer(seed=args.seed, name="random"), "random player"
        else:
            say(f"komi play: network {stem} ({where})")
            agent, label = network_player(stem, config, name="komi"), "komi"
    set_move_time = getattr(agent, "set_move_time", None)
    if args.seconds is not None and set_move_time is not None:
        set_move_time(args.seconds)
    human = {"black": 1, "white": -1}.get(args.color) or random.Random(args.seed).choice((1, -1))
    komi = args.komi if args.komi is not None else (0.5 if args.handicap else 7.5)
    tty = sys.stdout.isatty()
    style = Style(unicode=tty and not args.plain and _can_encode("●○·"), colour=tty and not args.plain)
    session = PlaySession(agent, human, size, komi, handicap=args.handicap, style=style,
                          save_path=args.save, agent_label=label)
    try:
        print(session.start(), flush=True)
        while not session.finished:
            try:
                out = session.handle(input(session.prompt()))
            except EOFError:
                print()
                print(session.handle("quit"))
                break
            except KeyboardInterrupt:  # at the prompt or while the agent thinks
                print()
                _offer_to_save(session)
                return 130
            if out:
                print(out, flush=True)
    finally:
        agent.close()
    return 0


def _offer_to_save(session) -> None:
    try:
        answer = input(f"Save the game to {session.save_path} before quitting? [Y/n] ")
    except (EOFError, KeyboardInterrupt):
        print("\nNot saved.")
        return
    if answer.strip().lower() in ("", "y", "yes"):
        print(session.handle("save"))
    else:
        print("Not saved.")


def _can_encode(text: str) -> bool:
    try:
        text.encode(sys.stdout.encoding or "ascii")
        return True
    except (UnicodeEncodeError, LookupError):
        return False
