"""Self-play actors on a Ray cluster feeding the learner (imported only with --ray-address/--ray-local).

Each actor holds a GameGenerator (N games, one BatchedSearch) and a copy of the player network;
the learner ships new weights through the object store (no shared disk needed), keeps one
`play(rounds)` call in flight per actor and collects finished games with `ray.wait`. An actor
that dies is reported and replaced. One actor per `worker_threads` CPUs (or per GPU with
--device cuda).
"""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from komi.errors import KomiError
from selfplay.loop import SelfPlayConfig, read_player
from selfplay.replay import FinishedGame

ROUNDS_PER_CALL = 8
"""Search rounds (one move in every game of the actor) per remote call."""


class SelfPlayActor:
    """The body of a Ray actor: plays self-play games with the weights it was last sent."""

    def __init__(self, cfg: SelfPlayConfig, seed: int, search_factory: Callable | None = None) -> None:
        import torch

        from selfplay.loop import device_of

        torch.set_num_threads(cfg.worker_threads)
        self.cfg, self.seed, self.search_factory = cfg, seed, search_factory
        self.device = str(device_of(cfg.device))
        self.evaluator = None
        self.generator = None
        self.weights_name: str | None = None

    def set_weights(self, name: str, architecture: dict, weights: dict[str, np.ndarray]) -> str:
        """Load a network (its config and weights); the first call also starts the games."""
        import torch

        from agent.evaluator import TorchEvaluator
        from agent.network import NetworkConfig, PolicyValueNet
        from selfplay.generate import GameGenerator

        config = NetworkConfig.from_dict(architecture)
        if self.evaluator is None or self.evaluator.net.config != config:
            self.evaluator = TorchEvaluator(PolicyValueNet(config), device=self.device)
            self.generator = None
        self.evaluator.net.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
        if self.generator is None:
            self.generator = GameGenerator(self.evaluator, self.cfg, self.cfg.games_per_worker,
                                           seed=self.seed, search_factory=self.search_factory)
        self.weights_name = name
        return name

    def play(self, rounds: int) -> tuple[list[FinishedGame], int]:
        """Run `rounds` search rounds; returns the finished games and the moves played."""
        before = self.generator.moves_played
        games: list[FinishedGame] = []
        for _ in range(rounds):
            games += self.generator.step()
        return games, self.generator.moves_played - before


class RaySource:
    """Self-play actors on Ray (`address` "local" starts a local instance)."""

    def __init__(self, cfg: SelfPlayConfig, out: Path, address: str,
                 search_factory: Callable | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise KomiError("--ray-address/--ray-local need Ray: pip install ray") from None
        self.ray, self.cfg, self.out, self.address = ray, cfg, out, address
        self.search_factory = search_factory
        self.actors: dict[int, object] = {}
        self.in_flight: dict[object, int] = {}
        self.current: str | None = None
        self._messages: list[str] = []
        self.restarts = 0

    def start(self, seed: int) -> None:
        ray = self.ray
        if not ray.is_initialized():
            if self.address == "local":
                ray.init(num_cpus=max(os.cpu_count() or 1, self.cfg.workers * self.cfg.worker_threads),
                         include_dashboard=False, log_to_driver=True)
            else:
                ray.init(address=self.address)
        self.seed = seed
        self._remote = ray.remote(num_cpus=self.cfg.worker_threads,
                                  num_gpus=1 if self.cfg.device.startswith("cuda") else 0)(SelfPlayActor)
        for a in range(max(1, self.cfg.workers)):
            self._spawn(a)

    def _weights(self):
        from safetensors.numpy import load_file

        from agent.checkpoint import read_metadata

        name = read_player(self.out)
        meta = read_metadata(self.out / name)
        weights = load_file(str(self.out / f"{name}.safetensors"))
        return name, meta["architecture"]["config"], self.ray.put(weights)

    def _spawn(self, a: int) -> None:
        actor = self._remote.remote(self.cfg, self.seed * 1000 + a * 97 + self.restarts, self.search_factory)
        name, arch, weights = self._weights()
        self.ray.get(actor.set_weights.remote(name, arch, weights))
        self.current = name
        self.actors[a] = actor
        self.in_flight[actor.play.remote(ROUNDS_PER_CALL)] = a

    def poll(self, timeout: float) -> tuple[list[FinishedGame], int]:
        ray = self.ray
        if read_player(self.out) != self.current:
            name, arch, weights = self._weights()
            for actor in self.actors.values():
                actor.set_weights.remote(name, arch, weights)  # ordered before its next play call
            self.current = name
        ready, _ = ray.wait(list(self.in_flight), num_returns=1, timeout=timeout)
        games: list[FinishedGame] = []
        moves = 0
        for ref in ready:
            a = self.in_flight.pop(ref)
            try:
                got, n = ray.get(ref)
            except (ray.exceptions.RayActorError, ray.exceptions.RayTaskError) as err:
                self.restarts += 1
                self._messages.append(f"Ray self-play actor {a} failed ({type(err).__name__}); replacing it")
                if self.restarts > 20:
                    raise KomiError("Ray self-play actors failed 20 times; see the errors above") from None
                ray.kill(self.actors.pop(a), no_restart=True)
                self._spawn(a)
                continue
            games += got
            moves += n
            self.in_flight[self.actors[a].play.remote(ROUNDS_PER_CALL)] = a
        return games, moves

    def messages(self) -> list[str]:
        msgs, self._messages = self._messages, []
        return msgs

    def close(self) -> None:
        for actor in self.actors.values():
            self.ray.kill(actor)
        self.actors.clear()
        self.in_flight.clear()
        if self.address == "local":
            self.ray.shutdown()
