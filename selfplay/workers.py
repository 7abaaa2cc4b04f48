"""Sources of self-play games for the learner: in its own process, or W worker processes.

Every source plays with the checkpoint named in out/player.json and switches when it changes.
`poll(timeout)` returns (finished games, moves played since the last poll).
"""
from __future__ import annotations

import multiprocessing as mp
import queue as queue_mod
import time
from pathlib import Path
from typing import Callable

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


def worker_main(worker_id: int, cfg: SelfPlayConfig, out: str, games_out, stop, seed: int) -> None:
    """A self-play worker process: play forever with the current player, send finished games."""
    import torch

    from selfplay.generate import GameGenerator

    torch.set_num_threads(cfg.worker_threads)
    player = PlayerNetwork(cfg, Path(out), device=str(device_of(cfg.device)))
    generator = GameGenerator(player.evaluator, cfg, cfg.games_per_worker, seed=seed)
    last_report, moves_reported = time.monotonic(), 0
    while not stop.is_set():
        player.refresh()
        for game in generator.step():
            games_out.put(("game", worker_id, game))
        if time.monotonic() - last_report > 1.0:
            games_out.put(("moves", worker_id, generator.moves_played - moves_reported))
            moves_reported, last_report = generator.moves_played, time.monotonic()


class ProcessSource:
    """W worker processes (spawned), each with its own GameGenerator; a dead one is restarted."""

    max_restarts = 20

    def __init__(self, cfg: SelfPlayConfig, out: Path) -> None:
        self.cfg, self.out = cfg, out
        self.ctx = mp.get_context("spawn")
        self.queue = self.ctx.Queue()
        self.stop = self.ctx.Event()
        self.procs: dict[int, mp.Process] = {}
        self.restarts = 0
        self._messages: list[str] = []

    def _spawn(self, worker_id: int) -> None:
        seed = self.seed * 1000 + worker_id * 97 + self.restarts
        proc = self.ctx.Process(target=worker_main, name=f"komi-selfplay-{worker_id}", daemon=True,
                                args=(worker_id, self.cfg, str(self.out), self.queue, self.stop, seed))
        proc.start()
        self.procs[worker_id] = proc

    def start(self, seed: int) -> None:
        self.seed = seed
        for w in range(self.cfg.workers):
            self._spawn(w)

    def _check_workers(self) -> None:
        from komi.errors import KomiError

        for w, proc in list(self.procs.items()):
            if proc.is_alive():
                continue
            self.restarts += 1
            self._messages.append(f"self-play worker {w} died (exit code {proc.exitcode}); restarting it")
            if self.restarts > self.max_restarts:
                raise KomiError(f"self-play workers died {self.restarts} times; see the errors above")
            self._spawn(w)

    def poll(self, timeout: float) -> tuple[list[FinishedGame], int]:
        """Wait up to `timeout` seconds for a message, then take everything already queued."""
        self._check_workers()
        games: list[FinishedGame] = []
        moves = 0
        try:
            message = self.queue.get(timeout=timeout)
        except queue_mod.Empty:
            return games, moves
        while True:
            kind, _, payload = message
            if kind == "game":
                games.append(payload)
            else:
                moves += payload
            try:
                message = self.queue.get_nowait()
            except queue_mod.Empty:
                return games, moves

    def messages(self) -> list[str]:
        msgs, self._messages = self._messages, []
        return msgs

    def close(self) -> None:
        self.stop.set()
        for proc in self.procs.values():
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
        self.queue.cancel_join_thread()
        self.procs.clear()
