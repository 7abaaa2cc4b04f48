"""The self-play loop: a tiny end-to-end run on 5x5, resume after an interruption, a checkpoint
that does not fit, and the trainer learning from a fixed buffer."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from agent.checkpoint import (
    CheckpointError,
    latest_checkpoint,
    load_network,
    network_metadata,
    save_checkpoint,
)
from komi.cli import main as komi_main
from komi.errors import KomiError
from selfplay.learner import Learner
from selfplay.loop import SelfPlayConfig, run_selfplay
from selfplay.replay import FinishedGame, ReplayBuffer, ReplayWindow
from selfplay.trainer import Trainer

SEARCH = None  # search_factory: None = the real native agent.search.BatchedSearch


@pytest.fixture(autouse=True)
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_config(tmp_path, **overrides) -> SelfPlayConfig:
    fields = {"board_size": 5, "preset": "tiny", "full_visits": 8, "fast_visits": 2, "full_search_prob": 0.5,
                  "leaves_per_tree": 2, "games_per_worker": 8, "workers": 0, "batch_size": 32, "min_positions": 32,
                  "replay_ratio": 2.0, "checkpoint_every": 4, "eval_every": 8, "eval_games": 4, "eval_visits": 4,
                  "games_per_shard": 4, "steps": 8, "sgf_every": 3, "out": str(tmp_path / "run"),
                  "log_dir": str(tmp_path / "tb"), "resign_threshold": -0.98, "seed": 3}
    fields.update(overrides)
    return SelfPlayConfig(**fields)


def test_tiny_run_writes_checkpoints_replay_and_sgf(tmp_path):
    cfg = tiny_config(tmp_path)
    summary = run_selfplay(cfg, progress=False, search_factory=SEARCH)
    assert summary["step"] == 8
    out = tmp_path / "run"
    stem = latest_checkpoint(out)
    assert stem.name == "step-00000008"
    net, meta = load_network(stem, board_size=5, feature_set="extended")
    assert meta["config"]["board_size"] == 5 and meta["step"] == 8
    logits, value = net(torch.zeros(2, net.config.in_planes, 5, 5))
    assert logits.shape == (2, 26) and value.shape == (2,)
    window = ReplayBuffer(out / "replay", cfg.window_games).load_window()
    assert window.num_games == summary["games"] >= 4
    assert window.num_positions >= cfg.min_positions
    # every stored game is a legal game under our rules, with the stored winner
    from envs.go import Board
    for g in range(window.num_games):
        board = Board(5, cfg.komi, max_moves=cfg.move_cap)
        for code in window.codes[window.offsets[g]:window.offsets[g + 1]]:
            color = -1 if code & 2 else 1
            assert board.to_play == color
            board.play(int(code) >> 2)
        if not window.resigned[g]:
            assert board.winner() == window.winner[g]
        moves = window.codes[window.offsets[g]:window.offsets[g + 1]] >> 2
        assert 25 not in moves[:cfg.first_pass_move].tolist()  # no early pass (other moves are legal)
    state = json.loads((out / "selfplay_state.json").read_text())
    assert len(state["evaluations"]) == 1 and state["evaluations"][0]["games"] == 4
    assert json.loads((out / "player.json").read_text())["checkpoint"] == "step-00000008"
    from envs.go.sgf import parse_sgf
    sgfs = sorted((out / "sgf").glob("*.sgf"))
    assert sgfs[0].name == "game-0000003.sgf"  # every 3rd game
    record = parse_sgf(sgfs[0].read_text())[0]
    codes = window.codes[window.offsets[2]:window.offsets[3]].astype(int)
    assert record.size == 5 and record.komi == cfg.komi
    assert record.moves == [(-1 if c & 2 else 1, c >> 2) for c in codes]
    assert record.winner == window.winner[2]


def test_interrupted_run_resumes_from_its_last_checkpoint(tmp_path, monkeypatch):
    cfg = tiny_config(tmp_path, steps=12, evaluation="none")
    original = Trainer.train_step

    def failing_step(self, step):
        if step == 6:
            raise RuntimeError("simulated crash")
        return original(self, step)

    monkeypatch.setattr(Trainer, "train_step", failing_step)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_selfplay(cfg, progress=False, search_factory=SEARCH)
    monkeypatch.setattr(Trainer, "train_step", original)
    out = tmp_path / "run"
    assert latest_checkpoint(out).name == "step-00000004"
    games_before = json.loads((out / "selfplay_state.json").read_text())["games"]
    with pytest.raises(KomiError, match="--resume"):
        run_selfplay(cfg, progress=False, search_factory=SEARCH)
    learner = Learner(cfg, out, resume=True, progress=False, search_factory=SEARCH)
    assert learner.step == 4
    assert learner.window.num_games >= 4  # the replay buffer survived
    summary = run_selfplay(cfg, resume=True, progress=False, search_factory=SEARCH)
    assert summary["step"] == 12
    assert summary["games"] > games_before
    assert latest_checkpoint(out).name == "step-00000012"


def test_ctrl_c_saves_a_checkpoint_that_resume_continues(tmp_path, monkeypatch):
    cfg = tiny_config(tmp_path, steps=9, evaluation="none", checkpoint_every=100, eval_every=100)
    original = Trainer.train_step

    def interrupted_step(self, step):
        if step == 5:
            raise KeyboardInterrupt
        return original(self, step)

    monkeypatch.setattr(Trainer, "train_step", interrupted_step)
    with pytest.raises(KeyboardInterrupt):
        run_selfplay(cfg, progress=False, search_factory=SEARCH)
    monkeypatch.setattr(Trainer, "train_step", original)
    assert latest_checkpoint(tmp_path / "run").name == "step-00000005"
    assert run_selfplay(cfg, resume=True, progress=False, search_factory=SEARCH)["step"] == 9


def test_checkpoint_for_another_board_size_fails_before_any_game(tmp_path):
    from agent.network import PolicyValueNet, preset
    from envs.go import features

    net = PolicyValueNet(preset("tiny", board_size=7, in_planes=features.num_planes("extended")))
    save_checkpoint(tmp_path / "init" / "step-00000000", net, network_metadata(net, "extended", step=0))
    cfg = tiny_config(tmp_path)
    with pytest.raises(CheckpointError, match="board_size is 7, expected 5"):
        run_selfplay(cfg, init=str(tmp_path / "init" / "step-00000000"), progress=False,
                     search_factory=SEARCH)
    assert not (tmp_path / "run" / "replay").exists() or not list((tmp_path / "run" / "replay").iterdir())
    status = komi_main(["selfplay", "--board-size", "5", "--init", str(tmp_path / "init" / "step-00000000"),
                        "--out", str(tmp_path / "run2"), "--no-progress"])
    assert status == 2


def _fixed_games(size: int, n_games: int, seed: int) -> list[FinishedGame]:
    """Games whose policy targets follow a simple rule the net can learn: always the point right
    of the last move (wrapping), and Black always wins."""
    rng = np.random.default_rng(seed)
    games = []
    for _ in range(n_games):
        codes, policy = [], []
        point = int(rng.integers(size * size))
        for ply in range(6):
            codes.append((point << 2) | ((ply % 2) << 1))
            nxt = (point + 1) % (size * size)
            policy.append((np.array([nxt], np.int16), np.array([1.0], np.float32)))
            point = nxt
        games.append(FinishedGame(np.array(codes, np.int16), np.ones(6, bool), policy[:-1] + [policy[-1]],
                                  size, 7.0, 1))
    return games


def test_trainer_loss_falls_on_a_fixed_buffer(tmp_path):
    from agent.network import PolicyValueNet, preset
    from envs.go import features

    cfg = tiny_config(tmp_path, batch_size=32, lr=1e-2)
    torch.manual_seed(0)
    net = PolicyValueNet(preset("tiny", board_size=5, in_planes=features.num_planes("extended")))
    trainer = Trainer(net, cfg, torch.device("cpu"))
    trainer.set_window(ReplayWindow.from_games(_fixed_games(5, 40, seed=1)))
    first = np.mean([trainer.train_step(s)["loss"] for s in range(3)])
    for s in range(3, 60):
        trainer.train_step(s)
    last = np.mean([trainer.train_step(s)["loss"] for s in range(60, 63)])
    assert last < 0.5 * first, (first, last)


def test_config_rejects_bad_values():
    with pytest.raises(KomiError, match="evaluation"):
        SelfPlayConfig(evaluation="arena")
    with pytest.raises(KomiError, match="multiple"):
        SelfPlayConfig(checkpoint_every=200, eval_every=300)
    assert dataclasses.replace(SelfPlayConfig(), board_size=5).move_cap == 75


def test_worker_processes_feed_the_learner_and_a_killed_worker_is_restarted(tmp_path, monkeypatch):
    import os
    import signal

    from selfplay import workers

    cfg = tiny_config(tmp_path, workers=2, games_per_worker=4, steps=6, evaluation="none")
    killed = []
    original_poll = workers.ProcessSource.poll

    def poll_and_kill_once(self, timeout):
        games, moves = original_poll(self, timeout)
        if games and not killed:
            proc = self.procs[0]
            os.kill(proc.pid, signal.SIGKILL)
            proc.join(timeout=10)
            killed.append(proc.pid)
        return games, moves

    monkeypatch.setattr(workers.ProcessSource, "poll", poll_and_kill_once)
    messages = []
    monkeypatch.setattr(Learner, "_say", lambda self, text: messages.append(text))
    summary = run_selfplay(cfg, progress=False, search_factory=SEARCH)
    assert summary["step"] == 6 and summary["games"] >= 4
    assert killed and any("worker 0 died" in m and "restarting" in m for m in messages), messages


def test_ray_actors_feed_the_learner(tmp_path):
    ray = pytest.importorskip("ray")
    cfg = tiny_config(tmp_path, workers=2, games_per_worker=4, steps=4, evaluation="none")
    try:
        summary = run_selfplay(cfg, progress=False, search_factory=SEARCH, ray_address="local")
    finally:
        if ray.is_initialized():
            ray.shutdown()
    assert summary["step"] == 4 and summary["games"] >= 4
    assert latest_checkpoint(tmp_path / "run").name == "step-00000004"


def test_a_full_disk_at_a_checkpoint_is_reported_and_training_goes_on(tmp_path, monkeypatch):
    import selfplay.learner as learner_module

    cfg = tiny_config(tmp_path, evaluation="none")
    original = Learner.save_checkpoint
    calls = []

    def disk_full_once(self, init=None):
        calls.append(self.step)
        if self.step == 4:
            raise OSError(28, "No space left on device")
        return original(self, init)

    monkeypatch.setattr(learner_module.Learner, "save_checkpoint", disk_full_once)
    messages = []
    monkeypatch.setattr(Learner, "_say", lambda self, text: messages.append(text))
    assert run_selfplay(cfg, progress=False, search_factory=SEARCH)["step"] == 8
    out = tmp_path / "run"
    assert not (out / "step-00000004.json").exists() and latest_checkpoint(out).name == "step-00000008"
    assert any("No space left" in m for m in messages)


@pytest.mark.parametrize("threshold, best", [(0.0, "step-00000008"), (1.1, "step-00000000")])
def test_gating_switches_the_player_only_when_the_candidate_passes(tmp_path, threshold, best):
    cfg = tiny_config(tmp_path, evaluation="gating", gate_threshold=threshold)
    summary = run_selfplay(cfg, progress=False, search_factory=SEARCH)
    out = tmp_path / "run"
    assert summary["best"] == best
    assert json.loads((out / "player.json").read_text())["checkpoint"] == best
    evaluation = summary["evaluations"][0]
    assert evaluation["opponent"] == "step-00000000" and evaluation["accepted"] == (threshold == 0.0)
    assert latest_checkpoint(out).name == "step-00000008"


def test_a_killed_run_resumes_from_its_last_checkpoint(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time
    import warnings

    cfg = tiny_config(tmp_path, steps=10_000, evaluation="none")
    script = (
        f"import sys, torch; sys.path.insert(0, {os.path.dirname(__file__)!r}); torch.set_num_threads(1)\n"
        "from test_selfplay import SEARCH, tiny_config\n"
        "from pathlib import Path\n"
        "from selfplay.loop import run_selfplay\n"
        f"run_selfplay(tiny_config(Path({str(tmp_path)!r}), steps=10_000, evaluation='none'), progress=False,"
        " search_factory=SEARCH)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.DEVNULL)
    out = tmp_path / "run"
    deadline = time.monotonic() + 120
    try:
        while not (out / "step-00000008.json").exists():
            assert proc.poll() is None, "the run ended early"
            assert time.monotonic() < deadline, "no checkpoint at step 8 within 2 minutes"
            time.sleep(0.2)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    killed_at = latest_checkpoint(out)
    step = int(killed_at.name.split("-")[1])
    assert step >= 8
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no torn shard, no broken file
        learner = Learner(cfg, out, resume=True, progress=False, search_factory=SEARCH)
    assert learner.step == step
    resumed = dataclasses.replace(cfg, steps=step + 4)
    assert run_selfplay(resumed, resume=True, progress=False, search_factory=SEARCH)["step"] == step + 4
