"""`komi gtp`: a GTP version 2 engine on stdin/stdout for Go GUIs (Sabaki, GoGui, Lizzie, q5Go)."""
from __future__ import annotations

import argparse
import io
import os
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "gtp", help="run as a GTP engine (for Go GUIs and tournaments)",
        description="Speak the Go Text Protocol (version 2) on stdin/stdout. With no --checkpoint "
                    "the newest checkpoint in checkpoints/ for the board size is used, else the "
                    "network shipped with komi for it (9x9, 19x19), else uniformly random moves that "
                    "do not fill the engine's own eyes. Diagnostics go to stderr only.")
    from komi.options import KOMI, float_range, int_range

    p.add_argument("--checkpoint", metavar="CKPT",
                   help="checkpoint stem or file, or 'random' (default: newest in --checkpoint-dir, "
                        "else the shipped network)")
    p.add_argument("--checkpoint-dir", default="checkpoints", metavar="DIR",
                   help="where to look for the newest checkpoint (default checkpoints)")
    p.add_argument("--random", action="store_true", help="play random moves even if a checkpoint exists")
    p.add_argument("--visits", type=int_range(1), default=400, metavar="N",
                   help="search visits per move (default 400: about 0.5 s a move on 9x9, 2 s on 19x19 with two "
                        "CPU cores; 1 = the network alone)")
    p.add_argument("--threads", type=int_range(1, 1024), default=1, metavar="N", help="torch CPU threads (default 1)")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda (default cpu)")
    p.add_argument("--resign-threshold", type=float_range(0, 1), default=0.05, metavar="WINRATE",
                   help="resign when the estimated win rate is below this, 0..1 (0 = never; default 0.05)")
    p.add_argument("--dumb-pass", action="store_true",
                   help="pass whenever the network or search prefers it, even when a pass loses on the count")
    p.add_argument("--size", type=int_range(2, 19), default=None, metavar="N",
                   help="board size until the controller sends boardsize, 2..19 (default: the checkpoint's, "
                        "else 19, as GTP controllers expect; komi play starts at 9 instead, a quick game at a terminal)")
    p.add_argument("--komi", type=KOMI, default=7.5, help="komi until the controller sends komi (default 7.5)")
    p.add_argument("--name", default="komi", help="engine name reported by `name` (default komi)")
    p.add_argument("--seed", type=int_range(0, 2**64 - 1), default=None, help="random seed (default: none)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from agent.gtp import GTPConfig, GTPEngine

    player, size = make_engine_player(args)
    engine = GTPEngine(player, GTPConfig(name=args.name, size=size, komi=args.komi))
    try:
        # Bytes both ways, whatever the locale: junk that is not UTF-8 gets `? ...`, never a
        # UnicodeDecodeError, and no response can fail to encode.
        serve(engine, sys.stdin.buffer, sys.stdout.buffer)
    except BrokenPipeError:  # the controller went away: nothing left to answer
        _silence_stdout()
    finally:
        player.close()
    return 0


def make_engine_player(args: argparse.Namespace):
    """The Player behind the engine, and the board size it starts with; says which on stderr."""
    from pathlib import Path

    from agent.checkpoint import check_network
    from agent.players import NetworkPlayerConfig, RandomPlayer, network_player
    from komi.errors import KomiError
    from komi.options import check_device

    checkpoint = args.checkpoint
    if Path(args.checkpoint_dir).exists() and not Path(args.checkpoint_dir).is_dir():
        raise KomiError(f"--checkpoint-dir {args.checkpoint_dir}: not a folder")
    if args.random or checkpoint == "random":
        why = "--random given" if args.random else "--checkpoint random"
        _say(f"komi gtp: playing uniformly random moves that do not fill own eyes ({why})")
        return RandomPlayer(seed=args.seed, name=args.name), args.size or 19
    check_device(args.device)
    if checkpoint is not None:
        n = check_network(checkpoint)["board_size"]  # the file and field, before anything is built or said
        if args.size is not None and args.size != n:
            raise KomiError(f"--size {args.size} does not fit checkpoint {checkpoint}, which plays {n}x{n}; "
                            "leave out --size")
        if not 2 <= n <= 19:
            raise KomiError(f"checkpoint {checkpoint} plays {n}x{n}; komi gtp plays 2x2 to 19x19")
    import torch

    torch.set_num_threads(args.threads)
    config = NetworkPlayerConfig(visits=args.visits, device=args.device, seed=args.seed,
                                 resign_threshold=args.resign_threshold, pass_safety=not args.dumb_pass)
    kind = "network alone (1 visit)" if args.visits <= 1 else f"search, {args.visits} visits"
    if checkpoint is None:
        from agent.shipped import DefaultPlayer

        def make(stem):
            try:
                return network_player(stem, config, name=args.name)
            except KomiError as err:
                raise KomiError(f"cannot use checkpoint {stem}: {err}") from None

        player = DefaultPlayer(make, lambda: RandomPlayer(seed=args.seed, name=args.name), args.checkpoint_dir,
                               name=args.name, log=lambda m: _say(f"{m}, {kind}" if ": network " in m else m))
        size = args.size or 19
        player.player_for(size)  # load (and name on stderr) the network of the first board now
        return player, size
    try:
        player = network_player(checkpoint, config, name=args.name)
    except KomiError as err:
        raise KomiError(f"cannot use checkpoint {checkpoint}: {err}") from None
    _say(f"komi gtp: checkpoint {checkpoint} ({player.board_size}x{player.board_size}, {kind})")
    if args.size is not None and args.size != player.board_size:
        raise KomiError(f"--size {args.size} does not fit checkpoint {checkpoint} "
                        f"({player.board_size}x{player.board_size})")
    return player, player.board_size


def serve(engine, stdin, stdout) -> None:
    """Read commands until `quit` or end of input.

    The streams may be binary (`komi gtp`: sys.stdin.buffer, sys.stdout.buffer; lines decoded by
    agent.gtp.decode_line, responses written as UTF-8) or text (tests). A line longer than
    agent.gtp.MAX_LINE_BYTES is refused (`? command line too long`) and skipped, never buffered.
    An analysis response (lz-analyze, kata-analyze) stays open after its `info` line until the
    controller sends its next line; that line ends it and is then handled as a command.
    """
    binary_out = not isinstance(stdout, io.TextIOBase)

    def write(text: str) -> None:
        from agent.gtp import encode_response

        stdout.write(encode_response(text) if binary_out else text)

    carried = None
    while not engine.quit:
        line = carried if carried is not None else _read_line(stdin)
        carried = None
        if not line:
            break
        if isinstance(line, _TooLong):
            from agent.gtp import MAX_LINE_BYTES

            write(engine.refuse(line.start, f"command line too long (over {MAX_LINE_BYTES} bytes)"))
            stdout.flush()
            continue
        response = engine.handle(line)
        if response is None:
            continue
        write(response)
        if engine.pending_analysis is not None:
            for info in engine.analysis_lines():
                write(info + "\n")
            stdout.flush()
            carried = _read_line(stdin)
            write("\n")
            engine.pending_analysis = None
            if not carried:
                carried = None
                stdout.flush()
                break
        stdout.flush()


class _TooLong:
    """A line over agent.gtp.MAX_LINE_BYTES (its start kept for the id); the rest was skipped."""

    def __init__(self, start) -> None:
        self.start = start


def _read_line(stdin):
    """The next line (bytes or str, as the stream gives), empty at the end, or a _TooLong."""
    from agent.gtp import MAX_LINE_BYTES

    line = stdin.readline(MAX_LINE_BYTES + 1)
    if len(line) <= MAX_LINE_BYTES or line[-1:] in (b"\n", "\n"):
        return line
    rest = line
    while rest and rest[-1:] not in (b"\n", "\n"):  # skip to the end of the line
        rest = stdin.readline(MAX_LINE_BYTES)
    return _TooLong(line[:MAX_LINE_BYTES])


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's final flush cannot fail on a closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)
