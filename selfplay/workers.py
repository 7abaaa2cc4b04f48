"""Sources of self-play games for the learner: in its own process, or W worker processes.

Every source plays with the checkpoint named in out/player.json and switches when it changes.
`poll(timeout)` returns (finished games, moves played since the last poll).
"""
from __future__ import annotations

import multiprocessing as mp
import time
from collections.abc import Callable
from multiprocessing import connection as mp_connection
from multiprocessing.connection import Connection
from pathlib import Path

from selfplay.loop import SelfPlayConfig, device_of, read_player
from selfplay.replay import FinishedGame


class PlayerNetwork:
    """The network self-play uses, reloaded from out/<player> whenever player.json changes."""

    def __init__(self, cfg: SelfPlayConfig, out: Path, device: str = "cpu") -> None:
        from agent.checkpoint import load_network
        from agent.evaluator import TorchEvaluator

        self.out = out
        self.current = read_player(out)
        if self.current is None:
            raise RuntimeError(f"{out}/player.json names no checkpoint")
        net, _ = load_network(out / self.current, cfg.board_size, cfg.feature_set)
        self.evaluator = TorchEvaluator(net, device=device)

    def refresh(self) -> bool:
        """Load the player checkpoint if it changed; True if it did."""
        from agent.checkpoint import load_weights

        name = read_player(self.out)
        if name is None or name == self.current:
            return False
        load_weights(self.out / name, self.evaluator.net)
        self.current = name
        return True


class InProcessSource:
    """Plays in the learner's process: each poll is one search round over all games."""

    def __init__(self, cfg: SelfPlayConfig, out: Path, search_factory: Callable | None = None) -> None:
        self.cfg, self.out, self.search_factory = cfg, out, search_factory
        self.generator = None

    def start(self, seed: int) -> None:
        from selfplay.generate import GameGenerator

        self.player = PlayerNetwork(self.cfg, self.out, device=str(device_of(self.cfg.device)))
        self.generator = GameGenerator(self.player.evaluator, self.cfg, self.cfg.games_per_worker,
                                       seed=seed, search_factory=self.search_factory)

    def poll(self, timeout: float) -> tuple[list[FinishedGame], int]:
        self.player.refresh()
        before = self.generator.moves_played
        games = self.generator.step()
        return games, self.generator.moves_played - before

    def messages(self) -> list[str]:
        return []

    def close(self) -> None:
        pass


def worker_main(worker_id: int, cfg: SelfPlayConfig, out: str, conn, seed: int,
                search_factory: Callable | None = None) -> None:
    """A self-play worker process: play with the current player and send finished games down
    its own pipe until the pipe breaks (the learner closed it or died)."""
    import signal

    import torch

    from selfplay.generate import GameGenerator

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the learner stops us
    torch.set_num_threads(cfg.worker_threads)
    player = PlayerNetwork(cfg, Path(out), device=str(device_of(cfg.device)))
    generator = GameGenerator(player.evaluator, cfg, cfg.games_per_worker, seed=seed,
                              search_factory=search_factory)
    last_report, moves_reported = time.monotonic(), 0
    try:
        while True:
            player.refresh()
            for game in generator.step():
                conn.send(("game", game))
            if time.monotonic() - last_report > 1.0:
                conn.send(("moves", generator.moves_played - moves_reported))
                moves_reported, last_report = generator.moves_played, time.monotonic()
    except (BrokenPipeError, EOFError, ConnectionResetError):
        return


class ProcessSource:
    """W worker processes (spawned), each with its own GameGenerator and its own pipe to the
    learner (so a worker killed mid-send breaks nothing but its pipe); a dead one is restarted."""

    max_restarts = 20

    def __init__(self, cfg: SelfPlayConfig, out: Path, search_factory: Callable | None = None) -> None:
        self.cfg, self.out, self.search_factory = cfg, out, search_factory
        self.ctx = mp.get_context("spawn")
        self.procs: dict[int, mp.Process] = {}
        self.conns: dict[int, Connection] = {}
        self.restarts = 0
        self._messages: list[str] = []

    def _spawn(self, worker_id: int) -> None:
        seed = self.seed * 1000 + worker_id * 97 + self.restarts
        reader, writer = self.ctx.Pipe(duplex=False)
        proc = self.ctx.Process(target=worker_main, name=f"komi-selfplay-{worker_id}", daemon=True,
                                args=(worker_id, self.cfg, str(self.out), writer, seed, self.search_factory))
        proc.start()
        writer.close()  # the worker holds the only writer: its death means EOF here
        self.procs[worker_id], self.conns[worker_id] = proc, reader

    def start(self, seed: int) -> None:
        self.seed = seed
        for w in range(self.cfg.workers):
            self._spawn(w)

    def _restart_dead(self) -> None:
        from komi.errors import KomiError

        for w, proc in list(self.procs.items()):
            if proc.is_alive():
                continue
            proc.join(timeout=1)
            self.conns.pop(w).close()
            self.restarts += 1
            self._messages.append(f"self-play worker {w} died (exit code {proc.exitcode}); restarting it")
            if self.restarts > self.max_restarts:
                raise KomiError(f"self-play workers died {self.restarts} times; see the errors above")
            self._spawn(w)

    def poll(self, timeout: float) -> tuple[list[FinishedGame], int]:
        """Wait up to `timeout` seconds for messages, then take everything already sent."""
        self._restart_dead()
        games: list[FinishedGame] = []
        moves = 0
        for conn in mp_connection.wait(list(self.conns.values()), timeout=timeout):
            try:
                while conn.poll():
                    kind, payload = conn.recv()
                    if kind == "game":
                        games.append(payload)
                    else:
                        moves += payload
            except (EOFError, OSError):
                pass  # the worker died; _restart_dead replaces it on the next poll
        return games, moves

    def messages(self) -> list[str]:
        msgs, self._messages = self._messages, []
        return msgs

    def close(self) -> None:
        for conn in self.conns.values():
            conn.close()
        for proc in self.procs.values():
            proc.join(timeout=2)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
        self.procs.clear()
        self.conns.clear()
