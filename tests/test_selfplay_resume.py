"""Self-play and pretraining after a kill -9: games, counters, sample SGFs and checkpoints continue
from what is on disk and nothing earlier is overwritten; and the first minutes of a new run (what
it waits for, training from the first games, checkpoints by time, logs under --out)."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from agent.checkpoint import latest_checkpoint
from selfplay.learner import STATE_FILE, Learner
from selfplay.loop import SelfPlayConfig, remove_stale_temporaries, run_selfplay
from selfplay.replay import FinishedGame, ReplayBuffer


@pytest.fixture(autouse=True)
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny(out: Path, **overrides) -> SelfPlayConfig:
    """A 5x5 run small enough to play dozens of games in seconds."""
    fields = {"board_size": 5, "preset": "tiny", "full_visits": 4, "fast_visits": 2, "full_search_prob": 0.5,
              "leaves_per_tree": 2, "games_per_worker": 8, "workers": 0, "threads": 1, "batch_size": 16,
              "min_positions": 16, "replay_ratio": 2.0, "checkpoint_every": 5, "eval_every": 5,
              "evaluation": "none", "games_per_shard": 2, "sgf_every": 2, "out": str(out),
              "log_dir": None, "resign_threshold": -0.98, "seed": 3}
    fields.update(overrides)
    return SelfPlayConfig(**fields)


def shard_games(out: Path) -> int:
    """Games in the shards on disk (the tests' windows are large enough that none is pruned)."""
    return ReplayBuffer(out / "replay", 10**6).total_games


def sgf_snapshot(out: Path) -> dict[str, tuple[str, int]]:
    """name -> (content hash, mtime in ns) of every sample SGF."""
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted((out / "sgf").glob("*.sgf"))}


def dead_pid() -> int:
    """The pid of a process that has ended."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# --- kill -9 in a subprocess, twice, then resume to completion --------------------------------------

_SCRIPT = """\
import json, sys, torch
torch.set_num_threads(1)
from selfplay.loop import SelfPlayConfig, run_selfplay
cfg = SelfPlayConfig(**json.loads(sys.argv[1]))
run_selfplay(cfg, resume=sys.argv[2] == "resume", progress=False)
"""


def _start(cfg: SelfPlayConfig, resume: bool) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", _SCRIPT, json.dumps(dataclasses.asdict(cfg)),
                             "resume" if resume else "new"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            cwd=Path(__file__).resolve().parents[1])


def _kill_when(proc: subprocess.Popen, ready, what: str, limit_s: float = 120) -> None:
    """SIGKILL the process once ready() holds (a hang guard, not a timing assert)."""
    deadline = time.monotonic() + limit_s
    try:
        while not ready():
            if proc.poll() is not None:
                pytest.fail(f"the run ended before {what}: {proc.stderr.read().decode()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} within {limit_s:.0f} s")
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stderr.close()


def test_kill_9_twice_then_resume_keeps_every_game_sample_and_checkpoint(tmp_path):
    out = tmp_path / "run"
    cfg = tiny(out, steps=None, games=None)
    # 1: a fresh run, killed once a few shards and samples exist (likely before any state save
    # but the first, so the state file is far behind the shards)
    _kill_when(_start(cfg, resume=False),
               lambda: shard_games(out) >= 6 and len(list((out / "sgf").glob("*.sgf"))) >= 2,
               "6 games in shards")
    first = sgf_snapshot(out)
    games_1 = shard_games(out)
    # 2: resumed, killed again after it wrote more games
    _kill_when(_start(cfg, resume=True), lambda: shard_games(out) >= games_1 + 6, "6 more games")
    games_2 = shard_games(out)
    step_2 = int(latest_checkpoint(out).name.split("-")[1])
    second = sgf_snapshot(out)
    # 3: resumed to completion
    target = games_2 + 6
    proc = _start(dataclasses.replace(cfg, games=target), resume=True)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()[-2000:]

    state = json.loads((out / STATE_FILE).read_text())
    total = shard_games(out)
    assert state["games"] == total >= target  # every game counted once, none lost from the count
    assert ReplayBuffer(out / "replay", 10**6).games_on_disk()[0] == total
    final = sgf_snapshot(out)
    for before in (first, second):  # nothing earlier overwritten
        assert all(final[name] == sig for name, sig in before.items())
    numbers = sorted(int(name[5:12]) for name in final)
    # numbered by the games in the shards, none missing (a resume writes those a kill right
    # after their shard cost), none past them
    assert numbers == list(range(cfg.sgf_every, total + 1, cfg.sgf_every))
    assert len({sig[0] for sig in final.values()}) == len(final)
    assert int(latest_checkpoint(out).name.split("-")[1]) >= step_2
    assert not [p for p in out.rglob("*") if ".tmp" in p.name]


# --- the same, in process: a state file behind the disk -------------------------------------------

def test_resume_counts_on_from_the_shards_when_the_state_is_behind(tmp_path):
    out = tmp_path / "run"
    cfg = tiny(out, steps=6)
    start_state = {}

    def keep_first_state(self):  # the state file as the start of the run wrote it
        original_save(self)
        if not start_state:
            start_state.update(json.loads((out / STATE_FILE).read_text()))

    original_save = Learner._save_state
    Learner._save_state = keep_first_state
    try:
        run_selfplay(cfg, progress=False)
    finally:
        Learner._save_state = original_save
    games = shard_games(out)
    samples = sgf_snapshot(out)
    assert games >= 4 and samples and start_state["games"] == 0
    # what a kill -9 before any later state save leaves: the state of the start of the run
    (out / STATE_FILE).write_text(json.dumps(start_state))
    learner = Learner(cfg, out, resume=True, progress=False)
    assert learner.state["games"] == games
    summary = run_selfplay(dataclasses.replace(cfg, steps=None, games=games + 6), resume=True,
                           progress=False)
    assert summary["games"] == shard_games(out) >= games + 6
    final = sgf_snapshot(out)
    assert all(final[name] == sig for name, sig in samples.items())
    assert len(final) == shard_games(out) // cfg.sgf_every


def test_resume_writes_the_samples_a_kill_after_their_shard_cost(tmp_path):
    out = tmp_path / "run"
    cfg = tiny(out, steps=3, sgf_every=1)
    run_selfplay(cfg, progress=False)
    newest = ReplayBuffer(out / "replay", 10**6).shards()[-1][2]
    from selfplay.replay import shard_meta

    meta = shard_meta(newest)
    lost = {n: (out / "sgf" / f"game-{n:07d}.sgf").read_bytes()
            for n in range(meta["first_game"], meta["games_end"] + 1)}
    for n in lost:
        (out / "sgf" / f"game-{n:07d}.sgf").unlink()
    Learner(cfg, out, resume=True, progress=False)
    assert {n: (out / "sgf" / f"game-{n:07d}.sgf").read_bytes() for n in lost} == lost


def test_shards_record_running_totals_and_old_shards_are_counted(tmp_path):
    games = [FinishedGame(np.array([0, 6], np.int16), np.array([True, False]),
                          [(np.array([1], np.int16), np.array([1.0], np.float32))], 5, 7.5, 1)] * 3
    buffer = ReplayBuffer(tmp_path / "new", 100)
    assert buffer.games_on_disk() == (0, {})
    buffer.add(games, meta={"games_end": 3, "positions_end": 3})
    buffer.add(games[:2], meta={"games_end": 5, "positions_end": 5})
    assert buffer.games_on_disk() == (5, {"games_end": 5, "positions_end": 5})
    # shards of older runs have no totals: all of them count while none was pruned
    old = ReplayBuffer(tmp_path / "old", 4)
    old.add(games, meta={"step": 0})
    old.add(games[:2], meta={"step": 0})
    assert old.games_on_disk() == (5, {})
    old.add(games, meta={"step": 0})  # prunes the first shard: the count is no longer known
    assert old.games_on_disk() == (None, {})
    old.add(games, meta={"step": 0, "games_end": 11})  # a new shard after the old ones
    assert old.games_on_disk() == (11, {"step": 0, "games_end": 11})


def test_resume_removes_the_temporary_files_a_kill_left(tmp_path):
    out = tmp_path / "run"
    cfg = tiny(out, steps=2, sgf_every=1)
    run_selfplay(cfg, progress=False)
    pid = dead_pid()
    stale = [out / f"player.json.tmp{pid}", out / f"{STATE_FILE}.tmp{pid}",
             out / f"step-00000004.safetensors.tmp{pid}", out / "sgf" / "game-0000099.sgf.tmp",
             out / "sgf" / f"game-0000100.sgf.tmp{pid}", out / "replay" / f"games-00000099-00002.npz.tmp{pid}"]
    for p in stale:
        p.write_text("half written")
    live = out / f"player.json.tmp{os.getppid()}"  # a running process's file stays
    live.write_text("being written")
    Learner(cfg, out, resume=True, progress=False)
    assert [p.name for p in stale if p.exists()] == []
    assert live.exists()
    assert remove_stale_temporaries(tmp_path / "no-such-dir") == []


def test_resume_gives_back_the_credit_of_steps_lost_since_the_checkpoint(tmp_path):
    out = tmp_path / "run"
    cfg = tiny(out, steps=5, checkpoint_every=5)
    run_selfplay(cfg, progress=False)
    state = json.loads((out / STATE_FILE).read_text())
    assert state["step"] == 5
    state.update(step=9, credit=0.5)  # trained to step 9, then killed: steps 6..9 are lost
    (out / STATE_FILE).write_text(json.dumps(state))
    learner = Learner(cfg, out, resume=True, progress=False)
    assert learner.step == 5 and learner.state["credit"] == pytest.approx(4.5)


def test_a_sample_sgf_is_never_overwritten(tmp_path):
    out = tmp_path / "run"
    cfg = tiny(out, steps=1, sgf_every=1)
    run_selfplay(cfg, progress=False)
    learner = Learner(cfg, out, resume=True, progress=False)
    path = out / "sgf" / "game-0000001.sgf"
    before = path.read_bytes()
    messages = []
    learner._say = messages.append
    game = FinishedGame(np.array([0], np.int16), np.array([False]), [], 5, 7.5, 1)
    learner._save_sgf(game, 1)
    assert path.read_bytes() == before and any("not overwriting" in m for m in messages)


# --- the first minutes ---------------------------------------------------------------------------

def test_defaults_train_from_the_first_games_and_checkpoint_by_time():
    cfg = SelfPlayConfig()
    assert cfg.min_positions <= 256
    assert cfg.checkpoint_minutes == 10.0
    assert cfg.log_dir == "<out>/tb" and cfg.tensorboard_dir() == Path("checkpoints/tb")
    assert SelfPlayConfig(out="x", log_dir="").tensorboard_dir() is None


def test_the_bar_says_what_the_run_waits_for(tmp_path):
    cfg = tiny(tmp_path / "run", min_positions=10**6)
    learner = Learner(cfg, tmp_path / "run", progress=False)
    status = learner._status(12.0)
    assert status.startswith("filling replay buffer 0/1000000 positions") and "nan" not in status
    learner.cfg = dataclasses.replace(cfg, min_positions=1)
    learner.window = learner.window.from_games(
        [FinishedGame(np.array([0], np.int16), np.array([True]),
                      [(np.array([1], np.int16), np.array([1.0], np.float32))], 5, 7.5, 1)])
    assert learner._status(12.0) == "step=0, buffer=1 games, 12 moves/s"


def test_checkpoints_by_time_and_logs_under_out(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "run"
    cfg = tiny(out, steps=40, replay_ratio=8.0, checkpoint_every=10**6, eval_every=10**6,
               checkpoint_minutes=1e-9, log_dir=SelfPlayConfig.log_dir)
    messages = []
    monkeypatch.setattr(Learner, "_say", lambda self, text: messages.append(text))
    run_selfplay(cfg, progress=False)
    steps = sorted(int(p.name[5:13]) for p in out.glob("step-*.json") if ".optim" not in p.name)
    assert steps[0] == 0 and steps[-1] == 40 and len(steps) > 2  # time-based ones before the last
    assert any("training starts when the replay buffer holds 16" in m for m in messages)
    assert any(m.endswith("training starts") for m in messages)
    assert list((out / "tb").iterdir()) and not (tmp_path / "runs").exists()


def test_selfplay_help_text(capsys):
    from komi.cli import main

    with pytest.raises(SystemExit):
        main(["selfplay", "--help"])
    lines = capsys.readouterr().out.splitlines()
    for option, default in (("--checkpoint-minutes", "10"), ("--log-dir", "<out>/tb"), ("--min-positions", "256")):
        start = next(i for i, line in enumerate(lines) if line.strip().startswith(option + " "))
        end = next((i for i in range(start + 1, len(lines)) if lines[i].strip().startswith("-")), len(lines))
        help_of = " ".join(" ".join(lines[start:end]).split())  # the option's own entry
        assert f"(default: {default}" in help_of, help_of


# --- pretraining killed with -9 -------------------------------------------------------------------

def _write_sgf_collection(directory: Path, games: int = 40, size: int = 9) -> None:
    from envs.go import Board

    letters = "abcdefghijklmnopqrs"
    rng = np.random.default_rng(7)
    directory.mkdir()
    for i in range(games):
        board, nodes = Board(size=size, komi=7.5), []
        for _ in range(30):
            move = int(rng.choice([m for m in board.legal_moves() if m != size * size]))
            nodes.append(f";{'B' if board.to_play == 1 else 'W'}[{letters[move % size]}{letters[move // size]}]")
            board.play(move)
        result = "B+R" if i % 2 else "W+R"
        (directory / f"g{i}.sgf").write_text(f"(;GM[1]FF[4]SZ[{size}]KM[7.5]RE[{result}]{''.join(nodes)})\n")


def _checkpoint_files(directory: Path) -> dict[str, tuple[str, int]]:
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(directory.glob("step-*"))}


def test_pretrain_killed_with_9_resumes_without_overwriting_a_checkpoint(tmp_path):
    _write_sgf_collection(tmp_path / "sgf")
    ckpt = tmp_path / "ckpt"
    steps = 60
    args = ["pretrain", "--sgf", str(tmp_path / "sgf"), "--board-size", "9",
            "--min-moves", "5", "--preset", "tiny", "--feature-set", "basic", "--batch-size", "8",
            "--val-fraction", "0.2", "--val-every", "20", "--val-positions", "64", "--checkpoint-every", "5",
            "--checkpoint-dir", str(ckpt), "--cache-dir", str(tmp_path / "cache"),
            "--log-dir", str(tmp_path / "tb"), "--warmup-steps", "2", "--no-progress", "--threads", "1",
            "--steps", str(steps)]
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "komi", *args], cwd=root, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _kill_when(proc, lambda: latest_checkpoint(ckpt) is not None
               and int(latest_checkpoint(ckpt).name[5:]) >= 10, "a checkpoint at step 10")
    before = _checkpoint_files(ckpt)
    killed_at = int(latest_checkpoint(ckpt).name[5:])
    pid = dead_pid()  # what a kill in the middle of a save leaves
    stale = [ckpt / f"step-{killed_at + 5:08d}.safetensors.tmp{pid}",
             next((tmp_path / "cache").iterdir()) / f"train-00009.npz.tmp{pid}.npz"]
    for p in stale:
        p.write_text("half written")
    from komi.cli import main

    assert main(args + ["--resume"]) == 0
    after = _checkpoint_files(ckpt)
    assert all(after[name] == sig for name, sig in before.items())  # nothing earlier rewritten
    stems = sorted({name.split(".")[0] for name in after})
    assert stems == [f"step-{s:08d}" for s in range(5, steps + 1, 5)]  # the counter went on
    assert not [p for p in stale if p.exists()]
    # resuming a finished run trains nothing and rewrites nothing
    assert main(args + ["--resume"]) == 0
    assert _checkpoint_files(ckpt) == after
