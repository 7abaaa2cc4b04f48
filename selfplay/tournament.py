"""Tournaments: games between Players refereed by our rules, a resumable results file, Elo.

    schedule(names, config)         every game to play (round robin or gauntlet, colours alternated)
    play_game(black, white, ...)    one refereed game -> GameResult (a failing player loses it)
    run_tournament(specs, config)   plays what the results file lacks (in parallel processes),
                                    rewriting the file atomically after every game
    summarize(results, ...)         per-pair table with 95% intervals + maximum-likelihood Elo

The referee is a GameState (envs.go Board): every move a player returns is checked there; an
illegal move, a crash, a hang or a protocol error loses that game and the reason is recorded.
Finished games are scored by area (our rules); an external engine's own `final_score` is asked
for and any disagreement is logged in the game's entry.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from agent.players import RESIGN, NetworkPlayerConfig, Player, PlayerSpec, build_player
from komi.errors import KomiError
from selfplay.elo import GameOutcome, fit_elo, win_rate_interval

RESULTS_FILE = "results.json"


class TournamentError(KomiError):
    """A tournament cannot run as asked (bad players, results file of another tournament...)."""


@dataclass(frozen=True)
class TournamentConfig:
    """Everything fixed once for all games of a tournament."""

    size: int = 9
    """Board size."""
    komi: float = 7.5
    """Komi."""
    games_per_pair: int = 2
    """Games for every pair of players that meet; colours alternate."""
    gauntlet: str | None = None
    """If set, only this player's games against each other player (else a round robin)."""
    seconds_per_move: float | None = None
    """Time per move given to external engines (time_settings) and to search players."""
    visits: int = 1
    """Visits per move for checkpoint players (1 = the network alone)."""
    move_timeout: float = 60.0
    """A player that takes longer than this for one move loses the game (hang)."""
    max_moves: int | None = None
    """Move cap (default 3 * size * size); a capped game is scored as it stands."""
    parallel: int = 1
    """Games played at once (each in its own process when > 1)."""
    device: str = "cpu"
    """Torch device for checkpoint players."""
    seed: int = 0
    """Base seed for the random player and sampling (game i uses seed + i)."""

    def move_cap(self) -> int:
        return self.max_moves or 3 * self.size * self.size


@dataclass(frozen=True)
class GameTask:
    """One scheduled game."""

    game_id: str
    """Stable id: `black~white~k` (k counts the games of that pair)."""
    index: int
    """Position in the schedule."""
    black: str
    """Name of the player with Black."""
    white: str
    """Name of the player with White."""


@dataclass(frozen=True)
class GameResult:
    """What one game produced (stored in the results file)."""

    game_id: str
    black: str
    white: str
    winner: str | None
    """Name of the winner, None for a draw."""
    result: str
    """SGF-style result: B+3.5, W+R, B+F (forfeit), 0 (draw)."""
    reason: str
    """How it ended: score, resign, move cap, or the failure (timeout, crashed, illegal move ...)."""
    moves: int
    score: float | None
    """Area score from Black's side incl. komi (None when the game did not end by scoring)."""
    sgf: str
    """Path of the saved game record ("" if it could not be written)."""
    engine_scores: dict
    """final_score as reported by external engines, by name."""
    disagreement: bool
    """True if an engine's final_score names another winner than ours."""
    seconds: float
    sgf_error: str = ""
    """Why the SGF could not be written ("" when it was)."""


def schedule(names: list[str], config: TournamentConfig) -> list[GameTask]:
    """All games of the tournament in a fixed order (pairs interleaved so early stops stay balanced)."""
    if len(set(names)) != len(names):
        raise TournamentError(f"player names must be unique: {', '.join(names)}")
    if len(names) < 2:
        raise TournamentError("a tournament needs at least two players")
    if config.gauntlet is not None:
        if config.gauntlet not in names:
            raise TournamentError(f"gauntlet player {config.gauntlet!r} is not among the players "
                                  f"({', '.join(names)})")
        pairs = [(config.gauntlet, n) for n in names if n != config.gauntlet]
    else:
        pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    tasks = []
    for k in range(config.games_per_pair):
        for a, b in pairs:
            black, white = (a, b) if k % 2 == 0 else (b, a)
            tasks.append(GameTask(f"{a}~{b}~{k}", len(tasks), black, white))
    return tasks


def check_players(specs: list[PlayerSpec], config: TournamentConfig) -> None:
    """Fail before the first game if a checkpoint cannot play this tournament at all."""
    for spec in specs:
        if spec.kind != "checkpoint":
            continue
        from agent.checkpoint import read_metadata

        size = read_metadata(spec.target).get("board_size")
        if size != config.size:
            raise TournamentError(f"player {spec.name}: checkpoint {spec.target} plays {size}x{size}, "
                                  f"not {config.size}x{config.size}")
        if config.visits > 1:
            try:
                import agent.search  # noqa: F401
            except ImportError:
                raise TournamentError(f"--visits {config.visits} needs the tree search (agent.search), "
                                      "which this build lacks; use --visits 1") from None


def play_game(black: Player, white: Player, size: int, komi: float, max_moves: int,
              log: Callable[[str], None] = lambda s: None):
    """Referee one game; returns (GameResult fields as a dict without ids/paths, GameState)."""
    from agent.game import GameState
    from agent.gtp import format_score
    from envs.go import IllegalMove

    game = GameState(size=size, komi=komi)
    players = {1: black, -1: white}
    letter = {1: "B", -1: "W"}

    def forfeit(loser: int, reason: str) -> dict:
        return {"winner_color": -loser, "result": f"{letter[-loser]}+F", "reason": reason, "score": None}

    for color, p in players.items():
        try:
            p.reset(size, komi)
        except KomiError as err:
            return forfeit(color, f"{p.name} failed to start the game: {err}"), game
    outcome = None
    while outcome is None:
        color = game.to_play
        mover, other = players[color], players[-color]
        try:
            move = mover.genmove(color)
        except KomiError as err:
            outcome = forfeit(color, _failure(mover, err))
            break
        if move == RESIGN:
            outcome = {"winner_color": -color, "result": f"{letter[-color]}+R", "reason": "resign",
                       "score": None}
            break
        try:
            game.play(move, color)
        except (IllegalMove, KomiError) as err:
            outcome = forfeit(color, f"illegal move {_vertex(move, size)} by {mover.name} ({err})")
            break
        try:
            other.play(move, color)
        except KomiError as err:
            outcome = forfeit(-color, _failure(other, err))
            break
        if game.board.is_over() or len(game.moves) >= max_moves:
            score = float(game.board.score())
            winner = 1 if score > 0 else -1 if score < 0 else 0
            outcome = {"winner_color": winner, "result": format_score(score),
                       "reason": "score" if game.board.is_over() else "move cap", "score": score}
    return outcome, game


def run_game(task: GameTask, specs: dict[str, PlayerSpec], config: TournamentConfig,
             out_dir: str) -> GameResult:
    """Build both players, play the task's game, save its SGF; never raises for player failures."""
    from agent.sgf_io import save_game

    start = time.time()
    net_cfg = NetworkPlayerConfig(visits=config.visits, device=config.device,
                                  seed=config.seed + task.index)
    built: dict[int, Player] = {}
    if config.parallel > 1 and any(specs[n].kind == "checkpoint" for n in (task.black, task.white)):
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 1) // config.parallel))  # no oversubscription
    outcome = None
    game = None
    try:
        for color, name in ((1, task.black), (-1, task.white)):
            try:
                built[color] = build_player(specs[name], net_cfg, move_timeout=config.move_timeout,
                                            seconds_per_move=config.seconds_per_move)
            except KomiError as err:
                outcome = {"winner_color": -color, "result": f"{'WB'[color == -1]}+F",
                           "reason": f"{name} could not start: {err}", "score": None}
                break
        if outcome is None:
            for p in built.values():
                p.set_move_time(config.seconds_per_move)
            outcome, game = play_game(built[1], built[-1], config.size, config.komi, config.move_cap())
        engine_scores = {}
        if game is not None and outcome["reason"] in ("score", "move cap"):
            for p in built.values():
                reported = p.final_score()
                if reported is not None:
                    engine_scores[p.name] = reported
    finally:
        for p in built.values():
            try:
                p.close()
            except Exception:  # noqa: BLE001 - a player failing to close must not lose the result
                pass
    sgf_path, sgf_error = "", ""
    if game is not None:
        path = Path(out_dir) / "games" / f"{task.index:05d}-{_safe(task.black)}-vs-{_safe(task.white)}.sgf"
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            save_game(game, path, black=task.black, white=task.white, result=outcome["result"],
                      program="komi tournament")
            sgf_path = str(path)
        except KomiError as err:
            sgf_error = str(err)
    winner = {1: task.black, -1: task.white}.get(outcome["winner_color"])
    disagreement = any(_winner_letter(s) not in (None, outcome["result"][0]) for s in engine_scores.values())
    return GameResult(game_id=task.game_id, black=task.black, white=task.white, winner=winner,
                      result=outcome["result"], reason=outcome["reason"],
                      moves=len(game.moves) if game is not None else 0, score=outcome["score"],
                      sgf=sgf_path, engine_scores=engine_scores, disagreement=disagreement,
                      seconds=round(time.time() - start, 3), sgf_error=sgf_error)


def run_tournament(specs: list[PlayerSpec], config: TournamentConfig, out_dir: str | Path,
                   progress: bool = True, log: Callable[[str], None] = print) -> dict:
    """Play every scheduled game not yet in out_dir/results.json; returns the results document."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    by_name = {s.name: s for s in specs}
    tasks = schedule([s.name for s in specs], config)
    check_players(specs, config)
    doc = _load_results(out / RESULTS_FILE, config, specs)
    done = {g["game_id"] for g in doc["games"]}
    todo = [t for t in tasks if t.game_id not in done]
    if done:
        log(f"resuming: {len(done)} games already in {out / RESULTS_FILE}, {len(todo)} to play")

    def record(result: GameResult) -> None:
        doc["games"].append(dataclasses.asdict(result))
        _write_json_atomic(out / RESULTS_FILE, doc)
        if result.sgf_error:
            log(f"game {result.game_id} not saved as SGF: {result.sgf_error}")
        if result.disagreement:
            log(f"score disagreement in {result.game_id}: ours {result.result}, "
                f"engine {result.engine_scores}")

    bar = _progress(len(tasks), len(done), progress)
    try:
        if config.parallel <= 1:
            for t in todo:
                result = run_game(t, by_name, config, str(out))
                record(result)
                bar.update(1)
                bar.set_postfix_str(f"{result.black} vs {result.white}: {result.result}")
        else:
            import multiprocessing

            ctx = multiprocessing.get_context("spawn")  # never fork a process holding torch threads
            with ProcessPoolExecutor(max_workers=config.parallel, mp_context=ctx) as pool:
                pending = {pool.submit(run_game, t, by_name, config, str(out)) for t in todo}
                try:
                    while pending:
                        finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                        for f in finished:
                            result = f.result()
                            record(result)
                            bar.update(1)
                            bar.set_postfix_str(f"{result.black} vs {result.white}: {result.result}")
                except BaseException:
                    for f in pending:
                        f.cancel()
                    raise
    finally:
        bar.close()
    return doc


def summarize(doc: dict, anchor: str | None = None, anchor_elo: float = 0.0) -> dict:
    """Pair table (wins, losses, draws, win rate with 95% interval) and Elo ratings."""
    names = [p["name"] for p in doc["players"]]
    games = doc["games"]
    pairs: dict[tuple[str, str], dict] = {}
    outcomes = []
    for g in games:
        a, b = sorted((g["black"], g["white"]), key=names.index)
        row = pairs.setdefault((a, b), {"player": a, "opponent": b, "wins": 0, "losses": 0, "draws": 0})
        if g["winner"] is None:
            row["draws"] += 1
            score = 0.5
        elif g["winner"] == a:
            row["wins"] += 1
            score = 1.0
        else:
            row["losses"] += 1
            score = 0.0
        outcomes.append(GameOutcome(a, b, score))
    table = []
    for row in pairs.values():
        n = row["wins"] + row["losses"] + row["draws"]
        rate, lo, hi = win_rate_interval(row["wins"] + 0.5 * row["draws"], n)
        table.append({**row, "games": n, "win_rate": rate, "ci95_low": lo, "ci95_high": hi})
    ratings = {}
    if outcomes:
        played = {o.first for o in outcomes} | {o.second for o in outcomes}
        if anchor is None:
            anchor = "random" if "random" in played else next(n for n in names if n in played)
        fitted = fit_elo(outcomes, anchor=anchor, anchor_elo=anchor_elo)
        steps = {p["name"]: p.get("step") for p in doc["players"]}
        ratings = {n: {**dataclasses.asdict(r), "step": steps.get(n)} for n, r in fitted.items()}
    failures = [{"game_id": g["game_id"], "reason": g["reason"]} for g in games
                if g["reason"] not in ("score", "resign", "move cap")]
    return {"anchor": anchor, "anchor_elo": anchor_elo, "games": len(games), "pairs": table,
            "ratings": ratings, "failures": failures,
            "disagreements": [g["game_id"] for g in games if g.get("disagreement")]}


def format_summary(summary: dict) -> str:
    """The tables as text for the terminal."""
    lines = [f"{'player':<24} {'opponent':<24} {'W':>4} {'L':>4} {'D':>3} {'win rate':>9}  95% interval"]
    for r in summary["pairs"]:
        lines.append(f"{r['player']:<24} {r['opponent']:<24} {r['wins']:>4} {r['losses']:>4} {r['draws']:>3} "
                     f"{r['win_rate']:>9.1%}  [{r['ci95_low']:.1%}, {r['ci95_high']:.1%}]")
    lines.append("")
    lines.append(f"Elo (maximum likelihood over {summary['games']} games, "
                 f"{summary['anchor']} = {summary['anchor_elo']:g})")
    ranked = sorted(summary["ratings"].values(),
                    key=lambda r: -r["elo"] if math.isfinite(r["elo"]) else math.inf)
    for r in ranked:
        lines.append(f"  {r['name']:<24} {r['elo']:>8.1f} ± {r['ci95']:<6.1f} ({r['games']} games, "
                     f"score {r['score']:g})")
    if summary["failures"]:
        lines.append(f"{len(summary['failures'])} games lost by failure (see results.json 'reason')")
    if summary["disagreements"]:
        lines.append(f"{len(summary['disagreements'])} games where an engine's final_score disagreed")
    return "\n".join(lines)


def write_outputs(summary: dict, out_dir: str | Path) -> list[Path]:
    """summary.json, ratings.csv, pairs.csv (and elo_vs_step.png when checkpoints have steps)."""
    out = Path(out_dir)
    written = [out / "summary.json", out / "ratings.csv", out / "pairs.csv"]
    _write_json_atomic(written[0], summary)
    _write_text_atomic(written[1], _csv(["name", "elo", "ci95", "games", "score", "step"],
                                        summary["ratings"].values()))
    _write_text_atomic(written[2], _csv(["player", "opponent", "games", "wins", "losses", "draws",
                                         "win_rate", "ci95_low", "ci95_high"], summary["pairs"]))
    series = [r for r in summary["ratings"].values() if r.get("step") is not None and math.isfinite(r["elo"])]
    if len(series) >= 2:
        written.append(plot_elo_vs_step(series, out / "elo_vs_step.png"))
    return written


def plot_elo_vs_step(ratings: Iterable[dict], path: str | Path) -> Path:
    """PNG of Elo (with 95% error bars) against training step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = sorted(ratings, key=lambda r: r["step"])
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.errorbar([r["step"] for r in pts], [r["elo"] for r in pts], yerr=[r["ci95"] for r in pts],
                marker="o", capsize=3)
    ax.set_xlabel("training step")
    ax.set_ylabel("Elo")
    ax.set_title("Elo against training step")
    ax.grid(alpha=0.3)
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)
    return path


# --- helpers -------------------------------------------------------------------------------------
def _load_results(path: Path, config: TournamentConfig, specs: list[PlayerSpec]) -> dict:
    players = [{"name": s.name, "kind": s.kind, "target": s.target, "step": _step(s)} for s in specs]
    fixed = {"size": config.size, "komi": config.komi}
    if not path.exists():
        return {"format": 1, "config": {**dataclasses.asdict(config)}, "players": players, "games": []}
    try:
        doc = json.loads(path.read_text())
        games = doc["games"]
        old = doc["config"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise TournamentError(f"{path}: not a readable tournament results file ({err})") from None
    for key, value in fixed.items():
        if old.get(key) != value:
            raise TournamentError(f"{path}: was played with {key} {old.get(key)}, not {value}; "
                                  "use another --out folder")
    current = {p["name"] for p in players}
    # Players of earlier runs stay listed so their games keep counting in the ratings.
    doc["players"] = players + [p for p in doc.get("players", []) if p.get("name") not in current]
    doc["config"] = {**dataclasses.asdict(config)}
    doc["games"] = [g for g in games if isinstance(g, dict) and "game_id" in g]
    return doc


def _step(spec: PlayerSpec) -> int | None:
    if spec.kind != "checkpoint":
        return None
    from agent.checkpoint import read_metadata

    try:
        step = read_metadata(spec.target).get("step")
    except KomiError:
        return None
    return int(step) if isinstance(step, (int, float)) else None


def _failure(player: Player, err: KomiError) -> str:
    reason = getattr(err, "reason", None)
    prefix = f"{reason}: " if reason else ""
    return f"{player.name} failed: {prefix}{err}"


def _winner_letter(score: str) -> str | None:
    s = score.strip().upper()
    if s.startswith("B+"):
        return "B"
    if s.startswith("W+"):
        return "W"
    if s in ("0", "DRAW", "JIGO"):
        return "0"
    return None


def _vertex(move: int, size: int) -> str:
    try:
        from envs.go.coords import to_gtp

        return to_gtp(int(move), size)
    except (KomiError, ValueError, TypeError):
        return repr(move)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:40]


def _csv(fields: list[str], rows: Iterable[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    return buf.getvalue()


def _write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def _write_json_atomic(path: Path, doc: dict) -> None:
    _write_text_atomic(path, json.dumps(doc, indent=1))


def _progress(total: int, initial: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, disable=not enabled, unit="game", desc="tournament")
