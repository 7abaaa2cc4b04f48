"""The learner side of self-play: replay window, training, checkpoints, evaluation, reporting.

It takes finished games from a source (selfplay.workers or selfplay.distributed), writes them to
the replay buffer in shards, trains `replay_ratio` samples per new full-search position, saves a
checkpoint every `checkpoint_every` steps and evaluates every `eval_every` steps.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from komi.errors import KomiError
from selfplay.loop import SelfPlayConfig, _atomic_json, device_of, initial_network, read_player, write_player
from selfplay.replay import FinishedGame, ReplayBuffer, ReplayError, ReplayWindow
from selfplay.trainer import Trainer

STATE_FILE = "selfplay_state.json"


def _fresh_state() -> dict:
    return {"games": 0, "positions": 0, "credit": 0.0, "best": None, "rated": [], "outcomes": [],
            "resign": {"resigned": 0, "disabled_games": 0, "would_resign": 0, "false": 0},
            "evaluations": []}


class Learner:
    """Trains the network on the games a source produces; see the module docstring."""

    def __init__(self, cfg: SelfPlayConfig, out: Path, init: str | None = None, resume: bool = False,
                 progress: bool = True, search_factory: Callable | None = None) -> None:
        from agent.checkpoint import latest_checkpoint, load_network

        self.cfg, self.out, self.progress, self.search_factory = cfg, out, progress, search_factory
        # By default the learner takes the cores the workers leave (no oversubscription).
        threads = cfg.threads or max(1, (os.cpu_count() or 1) - cfg.workers * cfg.worker_threads)
        torch.set_num_threads(threads)
        self.device = device_of(cfg.device)
        existing = latest_checkpoint(out)
        if resume:
            if existing is None:
                raise KomiError(f"--resume: no checkpoint in {out}")
            net, meta = load_network(existing, cfg.board_size, cfg.feature_set)
            self.step = int(meta.get("step", 0))
            try:
                self.state = json.loads((out / STATE_FILE).read_text())
            except (OSError, ValueError):
                self.state = _fresh_state()
        else:
            if existing is not None:
                raise KomiError(f"{out} already holds a self-play run (latest {existing.name}); pass "
                                "--resume to continue it, or choose another --out")
            net = initial_network(cfg, init)
            self.step, self.state = 0, _fresh_state()
        self.net = net.to(self.device)
        self.trainer = Trainer(self.net, cfg, self.device)
        if resume:
            try:
                self.trainer.load_training_state(existing)
            except KomiError as err:
                print(f"note: {err}; starting a fresh optimizer")
        out.mkdir(parents=True, exist_ok=True)
        self.buffer = ReplayBuffer(out / "replay", cfg.window_games)
        self.window = self.buffer.load_window()
        if self.window.num_positions:
            self.trainer.set_window(self.window)
        self.last_saved = self.step if resume else -1
        self._base_seconds, self._run_start = float(self.state.get("seconds", 0.0)), time.monotonic()
        self.losses: dict[str, float] = {}
        if not resume:
            name = self.save_checkpoint(init=init)
            self.state["best"] = name
            self.state["rated"] = [name]
            self._save_state()
        if read_player(out) is None:
            write_player(out, self.state["best"] or self._name(self.step))
        self.pending: list[FinishedGame] = []
        self.writer = None
        self._sgf_warned = False

    # --- bookkeeping ---------------------------------------------------------------------------

    @staticmethod
    def _name(step: int) -> str:
        from agent.checkpoint import checkpoint_name

        return checkpoint_name(step)

    def _save_state(self) -> None:
        self.state["seconds"] = self.elapsed_seconds()
        _atomic_json(self.out / STATE_FILE, self.state)

    def save_checkpoint(self, init: str | None = None) -> str:
        from agent.checkpoint import network_metadata, save_checkpoint

        run = {"minutes": round(self.elapsed_seconds() / 60, 2)}  # wall-clock, resumes included
        if init:
            run["init"] = init
        meta = network_metadata(self.net, self.cfg.feature_set, step=self.step, config=self.cfg,
                                games=self.state["games"], metrics=self.losses, selfplay=run)
        stem = save_checkpoint(self.out / self._name(self.step), self.net, meta,
                               self.trainer.training_state())
        # Weights of every checkpoint stay (Elo history); optimizer state only for the newest.
        for old in self.out.glob("step-*.optim.*"):
            if not old.name.startswith(stem.name + "."):
                old.unlink(missing_ok=True)
        self.last_saved = self.step
        return stem.name

    def elapsed_seconds(self) -> float:
        """Wall-clock seconds this run has been going, over all its resumes."""
        return self._base_seconds + time.monotonic() - self._run_start

    def false_resign_rate(self) -> float:
        r = self.state["resign"]
        return r["false"] / r["would_resign"] if r["would_resign"] else float("nan")

    def _record(self, game: FinishedGame) -> None:
        self.pending.append(game)
        self.state["games"] += 1
        r = self.state["resign"]
        r["resigned"] += int(game.resigned != 0)
        if game.info.get("resign_disabled"):
            r["disabled_games"] += 1
            r["would_resign"] += int(game.info.get("would_resign", 0) != 0)
            r["false"] += int(bool(game.info.get("false_resign")))
        if self.cfg.sgf_every and self.state["games"] % self.cfg.sgf_every == 0:
            self._save_sgf(game)

    def _save_sgf(self, game: FinishedGame) -> None:
        try:
            from envs.go.sgf import GameRecord, write_sgf
        except ImportError:
            if not self._sgf_warned:
                print("note: envs.go.sgf is not available; no SGF saved")
                self._sgf_warned = True
            return
        codes = game.codes.astype(np.int64)
        moves = [(-1 if c & 2 else 1, int(c >> 2)) for c in codes]
        player = f"komi {read_player(self.out)}"
        record = GameRecord(size=game.size, komi=game.komi, moves=moves, result=game.info.get("result", ""),
                            winner=game.winner, rules="Chinese", black_name=player, white_name=player,
                            source="komi selfplay")
        path = self.out / "sgf" / f"game-{self.state['games']:07d}.sgf"
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(write_sgf(record))
        tmp.replace(path)

    def flush(self) -> None:
        """Write the pending games as a shard and add them to the training window."""
        if not self.pending:
            return
        try:
            self.buffer.add(self.pending, meta={"player": read_player(self.out), "step": self.step})
        except ReplayError as err:
            self._say(f"{err}; keeping {len(self.pending)} games in memory and retrying later")
            return
        new = ReplayWindow.from_games(self.pending)
        self.pending = []
        self.window = ReplayWindow.concatenate([self.window, new]).last_games(self.cfg.window_games)
        self.state["positions"] += new.num_positions
        self.state["credit"] += new.num_positions * self.cfg.replay_ratio / self.cfg.batch_size
        if self.window.num_positions:
            self.trainer.set_window(self.window)

    def _say(self, text: str) -> None:
        from tqdm import tqdm

        tqdm.write(text)

    # --- evaluation ------------------------------------------------------------------------------

    def evaluate(self, candidate: str) -> dict:
        """Play the candidate against the best (gating) or the last rated net (Elo); update state."""
        from agent.checkpoint import load_network
        from agent.evaluator import TorchEvaluator
        from selfplay.arena import play_match
        from selfplay.elo import GameOutcome, fit_elo

        cfg = self.cfg
        opponent = self.state["best"] if cfg.evaluation == "gating" else self.state["rated"][-1]
        nets = [load_network(self.out / name, cfg.board_size, cfg.feature_set)[0]
                for name in (candidate, opponent)]
        evaluators = [TorchEvaluator(n, device=str(self.device)) for n in nets]
        scores = play_match(evaluators[0], evaluators[1], cfg, cfg.eval_games, seed=cfg.seed + self.step,
                            search_factory=self.search_factory)
        score = float(np.mean(scores))
        self.state["outcomes"] += [[candidate, opponent, s] for s in scores]
        self.state["rated"].append(candidate)
        result = {"step": self.step, "candidate": candidate, "opponent": opponent, "score": score,
                  "games": len(scores)}
        if cfg.evaluation == "gating":
            result["accepted"] = score >= cfg.gate_threshold
            if result["accepted"]:
                self.state["best"] = candidate
                write_player(self.out, candidate)
        outcomes = [GameOutcome(a, b, s) for a, b, s in self.state["outcomes"]]
        ratings = fit_elo(outcomes, anchor=self.state["rated"][0])
        result["elo"] = ratings[candidate].elo
        result["elo_ci95"] = ratings[candidate].ci95
        self.state["evaluations"].append(result)
        verdict = ""
        if cfg.evaluation == "gating":
            verdict = " -> new best" if result["accepted"] else " -> rejected"
        self._say(f"step {self.step}: {candidate} scored {score:.2f} against {opponent} over {len(scores)} "
                  f"games; Elo {result['elo']:+.0f} ± {result['elo_ci95']:.0f} (vs {self.state['rated'][0]})"
                  + verdict)
        if self.writer:
            self.writer.add_scalar("eval/score_vs_opponent", score, self.step)
            self.writer.add_scalar("eval/elo", result["elo"], self.step)
        return result

    def checkpoint_and_evaluate(self) -> None:
        try:
            name = self.save_checkpoint()
        except OSError as err:  # e.g. a full disk: the previous checkpoint is intact
            for tmp in self.out.glob("step-*.tmp*"):
                tmp.unlink(missing_ok=True)
            self._say(f"cannot write checkpoint {self._name(self.step)} ({err.strerror or err}); "
                      "training on, will retry at the next one")
            return
        if self.cfg.evaluation == "elo" or self.cfg.evaluation == "none":
            write_player(self.out, name)
            if self.cfg.evaluation == "none":
                self.state["best"] = name
        if self.cfg.evaluation != "none" and self.step % self.cfg.eval_every == 0:
            self.evaluate(name)
            if self.cfg.evaluation == "elo":
                self.state["best"] = name
        self._save_state()

    # --- the loop --------------------------------------------------------------------------------

    def done(self, started: float) -> bool:
        cfg = self.cfg
        return ((cfg.steps is not None and self.step >= cfg.steps)
                or (cfg.games is not None and self.state["games"] >= cfg.games)
                or (cfg.minutes is not None and time.monotonic() - started >= cfg.minutes * 60))

    def run(self, source) -> dict:
        """Run until a limit of the config is reached (or Ctrl-C); returns a summary."""
        from tqdm import tqdm

        cfg = self.cfg
        if cfg.log_dir:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(cfg.log_dir)
            self.writer.add_text("config", "\n".join(f"    {k}: {v}" for k, v in
                                                     dataclasses.asdict(cfg).items()), self.step)
        started = time.monotonic()
        source.start(seed=cfg.seed * 7919 + self.step)
        bar = tqdm(desc="selfplay", unit="game", initial=self.state["games"], disable=not self.progress,
                   dynamic_ncols=True)
        moves_recent, rate_since, last_flush = 0, time.monotonic(), time.monotonic()
        moves_per_s, last_redraw = 0.0, time.monotonic()
        try:
            while not self.done(started):
                games, moves = source.poll(timeout=1.0)
                for message in source.messages():
                    self._say(message)
                for game in games:
                    self._record(game)
                bar.update(len(games))
                moves_recent += moves
                now = time.monotonic()
                if now - rate_since >= 5.0:
                    moves_per_s = moves_recent / (now - rate_since)
                    moves_recent, rate_since = 0, now
                    if self.writer:
                        self.writer.add_scalar("selfplay/moves_per_s", moves_per_s, self.step)
                if len(self.pending) >= cfg.games_per_shard or (self.pending and now - last_flush > 60):
                    self.flush()
                    last_flush = now
                    if self.writer:
                        self.writer.add_scalar("selfplay/games", self.state["games"], self.step)
                        self.writer.add_scalar("selfplay/buffer_games", self.window.num_games, self.step)
                        self.writer.add_scalar("selfplay/false_resign_rate", self.false_resign_rate(),
                                               self.step)
                while (self.state["credit"] >= 1 and self.window.num_positions >= cfg.min_positions
                       and not self.done(started)):
                    self.losses = self.trainer.train_step(self.step)
                    self.step += 1
                    self.state["credit"] -= 1
                    if self.writer and self.step % 10 == 0:
                        for k, v in self.losses.items():
                            self.writer.add_scalar(f"train/{k}", v, self.step)
                    if self.step % cfg.checkpoint_every == 0:
                        self.checkpoint_and_evaluate()
                bar.set_postfix(step=self.step, moves_s=f"{moves_per_s:.0f}",
                                buffer=self.window.num_games,
                                loss=f"{self.losses.get('loss', float('nan')):.3f}", refresh=False)
                if now - last_redraw >= 5.0:  # moves/s shows before the first game ends
                    bar.refresh()
                    last_redraw = now
        except KeyboardInterrupt:
            self._say("interrupted: saving the replay buffer and a checkpoint")
            self._close(source, bar)
            raise
        self._close(source, bar)
        rate = self.false_resign_rate()
        summary = {"step": self.step, "games": self.state["games"], "checkpoint": str(self.out / self._name(self.last_saved)),
                   "losses": self.losses, "false_resign_rate": rate, "resign": self.state["resign"],
                   "evaluations": self.state["evaluations"], "best": self.state["best"]}
        print(f"self-play: {self.state['games']} games, step {self.step}, latest checkpoint "
              f"{self._name(self.last_saved)}; false-resign rate "
              + (f"{rate:.1%} ({self.state['resign']['false']}/{self.state['resign']['would_resign']})"
                 if not math.isnan(rate) else "n/a (no resign-disabled game would have resigned)"))
        return summary

    def _close(self, source, bar) -> None:
        try:
            source.close()
        finally:
            bar.close()
            self.flush()
            if self.step > self.last_saved:
                self.save_checkpoint()
                if self.cfg.evaluation != "gating":
                    write_player(self.out, self._name(self.step))
            self._save_state()
            if self.writer:
                self.writer.close()
