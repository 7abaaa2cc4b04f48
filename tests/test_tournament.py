import json
import shutil
from pathlib import Path

import pytest

from agent.players import PlayerSpec
from selfplay.tournament import TournamentConfig, TournamentError, schedule

envs_go = pytest.importorskip("envs.go")
needs_board = pytest.mark.skipif(not hasattr(envs_go, "Board"), reason="envs.go.Board not built yet")
GNUGO = shutil.which("gnugo") or ("/usr/games/gnugo" if Path("/usr/games/gnugo").exists() else None)


def test_schedule_round_robin_alternates_colours():
    tasks = schedule(["a", "b", "c"], TournamentConfig(games_per_pair=4))
    assert len(tasks) == 12
    for pair in [("a", "b"), ("a", "c"), ("b", "c")]:
        games = [t for t in tasks if {t.black, t.white} == set(pair)]
        assert len(games) == 4
        assert sum(t.black == pair[0] for t in games) == 2
    assert len({t.game_id for t in tasks}) == 12
    assert [t.index for t in tasks] == list(range(12))


def test_schedule_gauntlet_and_errors():
    tasks = schedule(["hero", "x", "y"], TournamentConfig(games_per_pair=2, gauntlet="hero"))
    assert len(tasks) == 4 and all("hero" in (t.black, t.white) for t in tasks)
    with pytest.raises(TournamentError, match="unique"):
        schedule(["a", "a"], TournamentConfig())
    with pytest.raises(TournamentError, match="gauntlet player 'z'"):
        schedule(["a", "b"], TournamentConfig(gauntlet="z"))


@needs_board
def test_random_vs_random_in_parallel_resumes_without_replaying(tmp_path):
    from selfplay.tournament import run_tournament, summarize

    specs = [PlayerSpec("random", "random", ""), PlayerSpec("random2", "random", "")]
    config = TournamentConfig(size=5, komi=0.5, games_per_pair=4, parallel=2, seed=3)
    doc = run_tournament(specs, config, tmp_path, progress=False, log=lambda s: None)
    assert len(doc["games"]) == 4
    stored = json.loads((tmp_path / "results.json").read_text())
    assert len(stored["games"]) == 4
    for g in stored["games"]:
        assert g["reason"] in ("score", "move cap") and g["result"][0] in "BW0"
        assert Path(g["sgf"]).read_text().startswith("(;")
    # Pretend the run was interrupted after two games: a rerun plays only the missing two.
    stored["games"] = stored["games"][:2]
    (tmp_path / "results.json").write_text(json.dumps(stored))
    messages = []
    config1 = TournamentConfig(size=5, komi=0.5, games_per_pair=4, parallel=1, seed=3)
    doc = run_tournament(specs, config1, tmp_path, progress=False, log=messages.append)
    assert len(doc["games"]) == 4 and "2 games already" in messages[0]
    assert sorted(g["game_id"] for g in doc["games"]) == sorted(t.game_id for t in schedule(["random", "random2"], config1))
    # A complete tournament replays nothing.
    doc2 = run_tournament(specs, config1, tmp_path, progress=False, log=lambda s: None)
    assert doc2["games"] == doc["games"]
    summary = summarize(doc2)
    assert summary["anchor"] == "random" and summary["ratings"]["random"]["elo"] == 0.0
    with pytest.raises(TournamentError, match="size 5, not 7"):
        run_tournament(specs, TournamentConfig(size=7), tmp_path, progress=False)


@needs_board
@pytest.mark.parametrize("mode,reason", [("hang", "timeout"), ("crash", "crashed"),
                                         ("illegal", "illegal move")])
def test_broken_engine_loses_and_the_tournament_goes_on(tmp_path, mode, reason):
    from helpers_play import fake_engine_command
    from selfplay.tournament import run_tournament

    cmd = " ".join(fake_engine_command(tmp_path, mode))
    specs = [PlayerSpec("random", "random", ""), PlayerSpec(mode, "gtp", cmd)]
    config = TournamentConfig(size=5, komi=0.5, games_per_pair=2, move_timeout=1.0)
    doc = run_tournament(specs, config, tmp_path / "t", progress=False, log=lambda s: None)
    assert len(doc["games"]) == 2
    for g in doc["games"]:
        assert g["winner"] == "random", g
        assert reason in g["reason"] and mode in g["reason"]


@needs_board
def test_mini_tournament_with_tiny_checkpoints_cli(tmp_path, capsys):
    from helpers_play import tiny_checkpoint
    from komi.cli import main

    ckdir = tmp_path / "ck"
    a = tiny_checkpoint(ckdir, size=5, step=100, seed=1)
    if a is None:
        pytest.skip("network / features not available yet")
    tiny_checkpoint(ckdir, size=5, step=200, seed=2)
    out = tmp_path / "out"
    argv = ["tournament", "random", "--checkpoints", str(ckdir), "--size", "5", "--max-moves", "40", "--games", "2",
            "--out", str(out), "--quiet", "--anchor", "random=0"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "Elo (maximum likelihood over 6 games, random = 0)" in text
    summary = json.loads((out / "summary.json").read_text())
    assert summary["games"] == 6 and set(summary["ratings"]) == {"random", "step-00000100", "step-00000200"}
    assert summary["ratings"]["step-00000200"]["step"] == 200
    assert (out / "ratings.csv").read_text().startswith("name,elo,ci95")
    assert (out / "pairs.csv").read_text().startswith("player,opponent")
    assert (out / "elo_vs_step.png").read_bytes()[:4] == b"\x89PNG"
    assert len(list((out / "games").glob("*.sgf"))) == 6
    # rerun: resumes, plays nothing new
    assert main(argv) == 0
    assert json.loads((out / "summary.json").read_text())["games"] == 6


def test_cli_rejects_bad_players(tmp_path):
    from komi.cli import main

    assert main(["tournament", "random", "no-such-engine-xyz --gtp", "--out", str(tmp_path)]) == 2
    assert main(["tournament", "random", "random", "--out", str(tmp_path)]) == 2  # duplicate names
    assert main(["tournament", "random", "r2=random", "--anchor", "nobody", "--out", str(tmp_path)]) == 2


@needs_board
@pytest.mark.skipif(GNUGO is None, reason="GNU Go not installed (apt-get install gnugo)")
def test_short_game_against_gnugo(tmp_path, capsys):
    from komi.cli import main

    out = tmp_path / "out"
    assert main(["tournament", "random", f"gnugo-l1={GNUGO} --mode gtp --level 1 --chinese-rules", "--size", "9",
                 "--games", "1", "--out", str(out), "--quiet"]) == 0
    game = json.loads((out / "results.json").read_text())["games"][0]
    assert game["reason"] in ("score", "resign", "move cap"), game  # no protocol failure
    assert game["winner"] == "gnugo-l1"
    if game["reason"] == "score":  # GNU Go counts by area with --chinese-rules: same winner as ours
        assert game["engine_scores"]["gnugo-l1"].startswith(game["result"][:2]) and not game["disagreement"]


@needs_board
def test_checkpoint_of_another_board_size_is_refused_before_playing(tmp_path):
    from helpers_play import tiny_checkpoint
    from selfplay.tournament import run_tournament

    ckpt = tiny_checkpoint(tmp_path / "ck", size=9)
    if ckpt is None:
        pytest.skip("network not available")
    specs = [PlayerSpec("random", "random", ""), PlayerSpec("net", "checkpoint", str(ckpt))]
    with pytest.raises(TournamentError, match="plays 9x9, not 5x5"):
        run_tournament(specs, TournamentConfig(size=5), tmp_path / "t", progress=False)
    assert not (tmp_path / "t" / "results.json").exists()


def test_an_engine_cleans_up_dead_stones_once_either_side_has_passed():
    # Area scoring counts what stands on the board: after the opponent's pass, a plain genmove
    # lets an engine pass too and leave dead stones that our count would take as alive.
    from agent.gtp_client import GTPEnginePlayer

    class Recorder:
        def __init__(self):
            self.sent = []

        def send(self, command, timeout=None):
            self.sent.append(command)
            return "pass" if "genmove" in command else ""

    engine = GTPEnginePlayer.__new__(GTPEnginePlayer)
    engine.name, engine.move_timeout, engine.seconds_per_move = "e", 1.0, None
    engine.client, engine.can_cleanup, engine.size = Recorder(), True, 9
    engine.reset(9, 7.5)
    engine.play(40, -1)
    engine.genmove(1)
    assert engine.client.sent[-1] == "genmove b"
    engine.reset(9, 7.5)
    engine.play(81, -1)                      # the opponent passes first
    engine.genmove(1)
    assert engine.client.sent[-1] == "kgs-genmove_cleanup b"
    engine.can_cleanup = False               # an engine without the extension: plain genmove
    engine.reset(9, 7.5)
    engine.play(81, -1)
    engine.genmove(1)
    assert engine.client.sent[-1] == "genmove b"
