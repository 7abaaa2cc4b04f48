"""`komi dqn train|eval|play` end to end on tiny CartPole runs; bad input gives one-line errors."""
import importlib.util
import json

import pytest

from agent.checkpoint import latest_checkpoint, read_metadata
from komi.cli import main

TINY = ["--steps", "300", "--learning-starts", "100", "--batch-size", "16", "--hidden", "16",
        "--checkpoint-every", "200", "--eval-episodes", "0", "--no-progress", "--no-tensorboard"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("dqn") / "cartpole"
    assert main(["dqn", "train", "--env", "CartPole-v1", "--out", str(out), *TINY]) == 0
    return out


def test_train_writes_checkpoint_curve_and_episode_log(run_dir, capsys):
    stem = latest_checkpoint(run_dir)
    meta = read_metadata(stem)
    assert meta["step"] == 300 and meta["env_id"] == "CartPole-v1" and meta["kind"] == "dqn"
    assert meta["config"]["hidden"] == [16] and meta["config"]["batch_size"] == 16
    assert (run_dir / "learning_curve.png").is_file()
    assert (run_dir / "episodes.csv").read_text().startswith("step,return,length")


def test_eval_prints_json_with_raw_returns(run_dir, capsys, tmp_path):
    out = tmp_path / "eval.json"
    assert main(["dqn", "eval", str(run_dir), "--episodes", "3", "--epsilon", "0.05",
                 "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert len(result["returns"]) == 3 and result["epsilon"] == 0.05
    assert result["mean"] == pytest.approx(sum(result["returns"]) / 3, abs=1e-3)
    assert "±" in capsys.readouterr().out


def test_checkpoint_for_another_env_is_refused(run_dir, capsys):
    assert main(["dqn", "eval", str(run_dir), "--env", "MountainCar-v0"]) == 2
    assert "trained on CartPole-v1" in capsys.readouterr().err
    assert main(["dqn", "train", "--env", "Acrobot-v1", "--out", str(run_dir), "--resume", *TINY]) == 2
    assert "cannot resume" in capsys.readouterr().err


def test_unknown_env_fails_before_training(tmp_path, capsys):
    assert main(["dqn", "train", "--env", "NoSuchGame-v0", "--out", str(tmp_path / "x"), *TINY]) == 2
    err = capsys.readouterr().err
    assert err.startswith("komi: error: unknown environment id 'NoSuchGame-v0'")
    assert not (tmp_path / "x").exists()


def test_resume_continues_from_the_last_checkpoint(run_dir, capsys):
    args = ["dqn", "train", "--out", str(run_dir), "--resume", "--steps", "500", "--save-replay",
            "--no-progress", "--no-tensorboard"]
    assert main(args) == 0
    captured = capsys.readouterr().out
    assert "resuming CartPole-v1" in captured and "at step 300" in captured
    meta = read_metadata(latest_checkpoint(run_dir))
    assert meta["step"] == 500 and meta["config"]["hidden"] == [16]  # settings come from the checkpoint
    assert (run_dir / "replay" / "replay.json").is_file()


@pytest.mark.skipif(importlib.util.find_spec("pygame") is None, reason="CartPole rendering needs pygame")
def test_play_records_a_gif(run_dir, tmp_path):
    gif = tmp_path / "play.gif"
    assert main(["dqn", "play", str(run_dir), "--record", str(gif)]) == 0
    assert gif.read_bytes()[:6] in (b"GIF87a", b"GIF89a")
