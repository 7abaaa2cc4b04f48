"""The learner side of self-play: replay window, training, checkpoints, evaluation, reporting.

It takes finished games from a source (selfplay.workers or selfplay.distributed), writes them to
the replay buffer in shards, trains `replay_ratio` samples per new full-search position (once the
window holds `min_positions`), saves a checkpoint every `checkpoint_every` steps and every
`checkpoint_minutes`, and evaluates every `eval_every` steps.

The counters count the games written to shards: each shard records the run's running totals, the
sample SGFs of its games are written after it (named by the game's number, never overwriting a
file), then selfplay_state.json. A resume after a kill -9 takes the counters from the newest
shard when the state file is behind, adds back the training credit of the steps lost since the
checkpoint (so they are trained again), and removes the temporary files the kill left.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from komi.errors import KomiError
from selfplay.loop import (SelfPlayConfig, _atomic_json, device_of, initial_network, read_player,
                           remove_stale_temporaries, write_player)
from selfplay.replay import FinishedGame, ReplayBuffer, ReplayError, ReplayWindow, read_shard, shard_meta
from selfplay.trainer import Trainer

STATE_FILE = "selfplay_state.json"
_SGF_RE = re.compile(r"^game-(\d+)\.sgf$")


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
        self.resumed = resume
        for directory in (out, out / "sgf"):  # what a kill -9 left mid-write (player.json.tmp<pid>...)
            remove_stale_temporaries(directory)
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
        self._last_checkpoint_time = time.monotonic()
        self.losses: dict[str, float] = {}
        self._reconcile_with_disk()
        if not resume:
            name = self.save_checkpoint(init=init)
            self.state["best"] = name
            self.state["rated"] = [name]
            self._save_state()
        elif cfg.evaluation != "gating" and read_player(out) != existing.name:
            # killed between a checkpoint and player.json: play the latest net, as the run would
            write_player(out, existing.name)
            if cfg.evaluation == "none":
                self.state["best"] = existing.name
        if read_player(out) is None:
            write_player(out, self.state["best"] or self._name(self.step))
        self.pending: list[FinishedGame] = []
        self._pending_positions = 0
        self.writer = None
        self._sgf_warned = False

    def _reconcile_with_disk(self) -> None:
        """Continue the counters from what is on disk when the state file is behind it (a kill
        after a shard or a sample SGF was written and before the state was), and give back the
        training credit of the steps since the checkpoint, which were lost with the kill."""
        state, cfg = self.state, self.cfg
        if self.resumed and isinstance(state.get("step"), int):
            state["credit"] = float(state.get("credit", 0.0)) + state["step"] - self.step
        disk_games, meta = self.buffer.games_on_disk()
        games = int(state.get("games", 0))
        if meta and meta["games_end"] > games:
            positions = meta.get("positions_end")
            if isinstance(positions, int) and positions > state.get("positions", 0):
                state["credit"] = (float(state.get("credit", 0.0))
                                   + (positions - state.get("positions", 0)) * cfg.replay_ratio / cfg.batch_size)
                state["positions"] = positions
            if isinstance(meta.get("resign"), dict):
                state["resign"] = meta["resign"]
        counted = max(games, disk_games or 0, self._highest_sgf())
        if counted != games:
            print(f"note: {self.out} holds {counted} games; selfplay_state.json counted {games} "
                  "(a kill before the state was saved); counting on from there")
        state["games"] = counted
        state["step"] = self.step
        if self.resumed:
            self._write_missing_samples()

    def _write_missing_samples(self) -> None:
        """Write the sample SGFs of the newest shard that a kill right after the shard cost."""
        shards = self.buffer.shards()
        if not shards or not self.cfg.sgf_every:
            return
        path = shards[-1][2]
        meta = shard_meta(path)
        first, end = meta.get("first_game"), meta.get("games_end")
        if not (isinstance(first, int) and isinstance(end, int)):
            return
        every = self.cfg.sgf_every
        missing = [n for n in range(first, end + 1)
                   if n % every == 0 and not (self.out / "sgf" / f"game-{n:07d}.sgf").exists()]
        if not missing:
            return
        try:
            w = read_shard(path)
        except ReplayError:
            return
        if w.num_games != end - first + 1:
            return
        for n in missing:
            g = n - first
            codes = w.codes[w.offsets[g]:w.offsets[g + 1]]
            game = FinishedGame(codes, w.full[w.offsets[g]:w.offsets[g + 1]].astype(bool), [],
                                int(w.size[g]), float(w.komi[g]), int(w.winner[g]), int(w.resigned[g]),
                                info={"player": meta.get("player")})
            game.info["result"] = self._result_of(game)
            self._save_sgf(game, n)

    def _result_of(self, game: FinishedGame) -> str:
        """The SGF result of a stored game, as the generator states it (B+R, W+3.5, 0)."""
        if game.resigned:
            return "B+R" if game.resigned < 0 else "W+R"
        from envs.go import Board

        board = Board(game.size, game.komi, max_moves=self.cfg.move_cap)
        for code in game.codes.astype(np.int64):
            board.play(int(code >> 2))
        score = float(board.score())
        return "0" if score == 0 else (f"B+{score:g}" if score > 0 else f"W+{-score:g}")

    def _highest_sgf(self) -> int:
        """The highest game number of the sample SGFs in out/sgf (0 if none)."""
        try:
            names = [p.name for p in (self.out / "sgf").iterdir()]
        except OSError:
            return 0
        numbers = [int(m.group(1)) for m in map(_SGF_RE.match, names) if m]
        return max(numbers, default=0)

    @property
    def games_played(self) -> int:
        """Games finished in this run so far: those in shards plus those waiting for one."""
        return self.state["games"] + len(self.pending)

    # --- bookkeeping ---------------------------------------------------------------------------

    @staticmethod
    def _name(step: int) -> str:
        from agent.checkpoint import checkpoint_name

        return checkpoint_name(step)

    def _save_state(self) -> None:
        self.state["seconds"] = self.elapsed_seconds()
        self.state["step"] = self.step  # the credit of steps after the checkpoint comes back on resume
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
        self._last_checkpoint_time = time.monotonic()
        return stem.name

    def elapsed_seconds(self) -> float:
        """Wall-clock seconds this run has been going, over all its resumes."""
        return self._base_seconds + time.monotonic() - self._run_start

    def false_resign_rate(self) -> float:
        r = self.state["resign"]
        return r["false"] / r["would_resign"] if r["would_resign"] else float("nan")

    def _record(self, game: FinishedGame) -> None:
        """Take a finished game; it is counted when flush() has written it to a shard."""
        game.info.setdefault("player", read_player(self.out))
        self.pending.append(game)
        self._pending_positions += len(game.policy)

    def _count_resign(self, games: list[FinishedGame]) -> dict:
        """The resignation statistics with these games added (a new dict)."""
        r = dict(self.state["resign"])
        for game in games:
            r["resigned"] += int(game.resigned != 0)
            if game.info.get("resign_disabled"):
                r["disabled_games"] += 1
                r["would_resign"] += int(game.info.get("would_resign", 0) != 0)
                r["false"] += int(bool(game.info.get("false_resign")))
        return r

    def _save_sgf(self, game: FinishedGame, number: int) -> None:
        """Write game number `number` as out/sgf/game-<number>.sgf; an existing file is kept."""
        try:
            from envs.go.sgf import GameRecord, write_sgf
        except ImportError:
            if not self._sgf_warned:
                print("note: envs.go.sgf is not available; no SGF saved")
                self._sgf_warned = True
            return
        codes = game.codes.astype(np.int64)
        moves = [(-1 if c & 2 else 1, int(c >> 2)) for c in codes]
        player = f"komi {game.info.get('player') or read_player(self.out)}"
        record = GameRecord(size=game.size, komi=game.komi, moves=moves, result=game.info.get("result", ""),
                            winner=game.winner, rules="Chinese", black_name=player, white_name=player,
                            source="komi selfplay")
        path = self.out / "sgf" / f"game-{number:07d}.sgf"
        if path.exists():  # never overwrite an earlier sample (the counter is behind the disk)
            self._say(f"note: {path} exists; not overwriting it with game {number} of this run")
            return
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_name(path.name + f".tmp{os.getpid()}")
        try:
            tmp.write_text(write_sgf(record))
            tmp.replace(path)
        except OSError as err:
            tmp.unlink(missing_ok=True)
            self._say(f"cannot write sample game {path} ({err.strerror or err})")

    def flush(self) -> None:
        """Write the pending games as a shard (with the run's running totals), count them, add
        them to the training window, write their sample SGFs, then the state."""
        if not self.pending:
            return
        cfg, state = self.cfg, self.state
        new = ReplayWindow.from_games(self.pending)
        first = state["games"] + 1
        resign = self._count_resign(self.pending)
        meta = {"player": read_player(self.out), "step": self.step, "first_game": first,
                "games_end": first - 1 + len(self.pending),
                "positions_end": int(state["positions"]) + new.num_positions, "resign": resign}
        try:
            self.buffer.add(self.pending, meta=meta)
        except ReplayError as err:
            self._say(f"{err}; keeping {len(self.pending)} games in memory and retrying later")
            return
        games, self.pending, self._pending_positions = self.pending, [], 0
        state["games"] = meta["games_end"]
        state["positions"] = meta["positions_end"]
        state["resign"] = resign
        state["credit"] += new.num_positions * cfg.replay_ratio / cfg.batch_size
        self.window = ReplayWindow.concatenate([self.window, new]).last_games(cfg.window_games)
        if self.window.num_positions:
            self.trainer.set_window(self.window)
        if cfg.sgf_every:
            for number, game in enumerate(games, start=first):
                if number % cfg.sgf_every == 0:
                    self._save_sgf(game, number)
        try:
            self._save_state()
        except OSError as err:  # the shard holds the totals: a resume still counts right
            self._say(f"cannot write {self.out / STATE_FILE} ({err.strerror or err}); will retry")

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
                or (cfg.games is not None and self.games_played >= cfg.games)
                or (cfg.minutes is not None and time.monotonic() - started >= cfg.minutes * 60))

    def _time_for_checkpoint(self) -> bool:
        """checkpoint_minutes passed since the last checkpoint and the net trained since."""
        minutes = self.cfg.checkpoint_minutes
        return (minutes is not None and self.step > self.last_saved
                and time.monotonic() - self._last_checkpoint_time >= minutes * 60)

    def _status(self, moves_per_s: float) -> str:
        """The progress bar's postfix: what the run waits for, or how training goes."""
        cfg = self.cfg
        if self.window.num_positions < cfg.min_positions:
            have = min(self.window.num_positions + self._pending_positions, cfg.min_positions)
            return (f"filling replay buffer {have}/{cfg.min_positions} positions before training, "
                    f"{moves_per_s:.0f} moves/s")
        loss = f", loss={self.losses['loss']:.3f}" if "loss" in self.losses else ""
        return f"step={self.step}{loss}, buffer={self.window.num_games} games, {moves_per_s:.0f} moves/s"

    def run(self, source) -> dict:
        """Run until a limit of the config is reached (or Ctrl-C); returns a summary."""
        from tqdm import tqdm

        cfg = self.cfg
        log_dir = cfg.tensorboard_dir()
        if log_dir is not None:
            from torch.utils.tensorboard import SummaryWriter

            # On resume, hide what was logged after the checkpoint: those steps are trained again.
            self.writer = SummaryWriter(str(log_dir), purge_step=self.step + 1 if self.resumed else None)
            self.writer.add_text("config", "\n".join(f"    {k}: {v}" for k, v in
                                                     dataclasses.asdict(cfg).items()), self.step)
        filling = self.window.num_positions < cfg.min_positions
        if filling:
            self._say(f"training starts when the replay buffer holds {cfg.min_positions} full-search "
                      f"positions (--min-positions; it holds {self.window.num_positions}); until then "
                      "the network plays its first games")
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
                # the first shard goes out as soon as its games let training start
                first_fill = filling and (self.window.num_positions + self._pending_positions
                                          >= cfg.min_positions)
                if (len(self.pending) >= cfg.games_per_shard or (self.pending and now - last_flush > 60)
                        or (self.pending and first_fill)):
                    self.flush()
                    last_flush = now
                    if self.writer:
                        self.writer.add_scalar("selfplay/games", self.state["games"], self.step)
                        self.writer.add_scalar("selfplay/buffer_games", self.window.num_games, self.step)
                        self.writer.add_scalar("selfplay/false_resign_rate", self.false_resign_rate(),
                                               self.step)
                if filling and self.window.num_positions >= cfg.min_positions:
                    filling = False
                    self._say(f"replay buffer: {self.window.num_positions} positions from "
                              f"{self.window.num_games} games; training starts")
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
                if self._time_for_checkpoint() and not self.done(started):
                    self._last_checkpoint_time = time.monotonic()  # a failed save waits a period too
                    self.checkpoint_and_evaluate()
                    if self.last_saved == self.step:
                        self._say(f"checkpoint {self.out / self._name(self.step)} "
                                  f"(every {cfg.checkpoint_minutes:g} minutes)")
                bar.set_postfix_str(self._status(moves_per_s), refresh=False)
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
