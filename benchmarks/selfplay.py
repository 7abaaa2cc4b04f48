#!/usr/bin/env python
"""Self-play measurements: learning on 7x7 from scratch within a CPU budget, and 9x9 games/hour.

    python benchmarks/selfplay.py learn [--cpu-minutes 20] [--out /tmp/komi-7x7]
    python benchmarks/selfplay.py evaluate [--out /tmp/komi-7x7]     (only the evaluation)
    python benchmarks/selfplay.py speed [--minutes 5]

learn: `komi selfplay` on 7x7 from scratch, in one process (games and training alternate, one
torch thread) until the process has used --cpu-minutes of CPU time; then the final network
(a) with 1 visit against a uniformly random player (legal non-pass moves) and (b) with 64
visits against the initial network with 64 visits. Targets: (a) >= 98%, (b) >= 90%.
speed: the default 9x9 self-play settings (cpu preset, random weights, one process) for
--minutes; games/hour and moves/s.
"""
from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np


def learn_config(out: str, **overrides):
    from selfplay.loop import SelfPlayConfig

    # Measured 2026-12-02 (20 CPU-min each): the 6x64 "cpu" net at 64/16 visits played 438 games
    # (1 visit vs random: 76%, 99% with the players' pass safety); the 4x32 "mini" net at 32/8
    # played 2,927 games and scored 100% vs random, 100% vs its initial net at 64 visits.
    fields = {"board_size": 7, "komi": 7.0, "preset": "mini", "full_visits": 32, "fast_visits": 8,
                  "full_search_prob": 0.5, "games_per_worker": 32, "workers": 0, "batch_size": 128,
                  "min_positions": 512, "replay_ratio": 8.0, "window_games": 2000, "checkpoint_every": 100,
                  "evaluation": "none", "eval_every": 100, "sgf_every": 0, "out": out, "log_dir": f"{out}/tb",
                  "threads": 1, "seed": 1}
    fields.update(overrides)
    return SelfPlayConfig(**fields)


def play_vs_random(evaluator, cfg, games: int, visits: int, seed: int, safe_pass: bool = False) -> float:
    """Score of the network (search with `visits`) against a uniformly random player.

    safe_pass: the network passes only when passing now wins on the area count, as the komi
    players do by default (agent.players.safe_pass; a random opponent never passes, so a pass
    does not end the game, it only hands over a move).
    """
    from agent import players
    from envs.go import BLACK, WHITE, Board
    from selfplay.arena import match_config
    from selfplay.generate import default_search_factory, move_instead_of_pass

    mcfg = dataclasses.replace(match_config(dataclasses.replace(cfg, eval_visits=visits)),
                               temperature_moves=0)
    search = default_search_factory(evaluator, mcfg, games, seed)
    rng = np.random.default_rng(seed)
    boards = [Board(cfg.board_size, cfg.komi, max_moves=cfg.move_cap) for _ in range(games)]
    net_color = [BLACK if g % 2 == 0 else WHITE for g in range(games)]
    for g, b in enumerate(boards):
        search.reset(g, b)
    active = set(range(games))
    pass_move = cfg.board_size ** 2
    while active:
        ids = sorted(g for g in active if boards[g].to_play == net_color[g])
        moves = {}
        if ids:
            for g, r in zip(ids, search.run(ids)):
                m = int(search.choose_move(g, r, boards[g].move_number))
                if m == pass_move and boards[g].move_number < cfg.first_pass_move:
                    m = move_instead_of_pass(boards[g], r)
                if safe_pass:
                    m = players.safe_pass(boards[g], m, np.asarray(r.visits) + np.asarray(r.prior))
                moves[g] = m
        for g in sorted(active - set(ids)):
            legal = np.asarray(boards[g].legal_moves())
            non_pass = legal[legal != pass_move]
            moves[g] = int(rng.choice(non_pass)) if len(non_pass) else pass_move
        for g, m in moves.items():
            boards[g].play(m)
            if boards[g].is_over():
                active.discard(g)
            else:
                search.play(g, m)
    wins = [0.5 if b.winner() == 0 else float(b.winner() == c) for b, c in zip(boards, net_color)]
    return float(np.mean(wins))


def overrides(args) -> dict:
    """--set FIELD=VALUE pairs as SelfPlayConfig overrides (values parsed as Python literals)."""
    import ast

    out = {}
    for item in args.set or []:
        key, _, value = item.partition("=")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def learn(args) -> None:
    import torch

    from selfplay.learner import Learner
    from selfplay.workers import InProcessSource

    torch.set_num_threads(1)
    cfg = learn_config(args.out, **overrides(args))
    budget = args.cpu_minutes * 60

    class CpuBudgetLearner(Learner):
        def done(self, started: float) -> bool:
            return time.process_time() - cpu0 >= budget

    cpu0, wall0 = time.process_time(), time.monotonic()
    learner = CpuBudgetLearner(cfg, Path(cfg.out), resume=args.resume, progress=not args.no_progress)
    summary = learner.run(InProcessSource(cfg, Path(cfg.out)))
    cpu = time.process_time() - cpu0
    print(f"trained: {summary['games']} games, {summary['step']} steps, {cpu / 60:.1f} CPU-min "
          f"({(time.monotonic() - wall0) / 60:.1f} wall-min on a shared machine)", flush=True)
    evaluate(args)


def evaluate(args) -> None:
    """(a) and (b) for the latest checkpoint of a `learn` run in --out."""
    import torch

    from agent.checkpoint import latest_checkpoint, load_network
    from agent.evaluator import TorchEvaluator
    from selfplay.arena import play_match

    torch.set_num_threads(1)
    cfg = learn_config(args.out, **overrides(args))
    final, meta = load_network(latest_checkpoint(cfg.out), cfg.board_size, cfg.feature_set)
    print(f"evaluating {latest_checkpoint(cfg.out).name} ({meta.get('games')} games of self-play)", flush=True)
    initial, _ = load_network(Path(cfg.out) / "step-00000000", cfg.board_size, cfg.feature_set)
    final_ev, initial_ev = TorchEvaluator(final), TorchEvaluator(initial)
    vs_random = play_vs_random(final_ev, cfg, args.games, visits=1, seed=11)
    print(f"(a) final net, 1 visit vs uniform random: {vs_random:.1%} over {args.games} games (target >= 98%)",
          flush=True)
    init_random = play_vs_random(initial_ev, cfg, args.games, visits=1, seed=11)
    print(f"    initial net, 1 visit vs uniform random: {init_random:.1%} (reference)", flush=True)
    safe = play_vs_random(final_ev, cfg, args.games, visits=1, seed=11, safe_pass=True)
    print(f"    final net, 1 visit, passing only when a pass wins on the count (the players' default): "
          f"{safe:.1%}", flush=True)
    mcfg = dataclasses.replace(cfg, eval_visits=64, resign_threshold=-1.0)
    scores = play_match(final_ev, initial_ev, mcfg, args.match_games, seed=12)
    print(f"(b) final net vs initial net, 64 visits each: {np.mean(scores):.1%} over {args.match_games} "
          "games (target >= 90%)")


def speed(args) -> None:
    import torch

    from agent.evaluator import TorchEvaluator
    from selfplay.generate import GameGenerator
    from selfplay.loop import SelfPlayConfig, initial_network

    torch.set_num_threads(1)
    cfg = SelfPlayConfig()
    generator = GameGenerator(TorchEvaluator(initial_network(cfg, None).eval()), cfg, cfg.games_per_worker)
    start, cpu0, games, lengths = time.monotonic(), time.process_time(), 0, []
    while time.monotonic() - start < args.minutes * 60:
        for g in generator.step():
            games += 1
            lengths.append(g.num_moves)
    wall, cpu = time.monotonic() - start, time.process_time() - cpu0
    print(f"9x9 defaults ({cfg.preset} preset, random weights, {cfg.full_visits}/{cfg.fast_visits} visits, "
          f"p_full {cfg.full_search_prob}, {cfg.games_per_worker} games at once, 1 process, 1 thread): "
          f"{generator.moves_played / wall:.1f} moves/s, {games} games in {wall / 60:.1f} min "
          f"(mean {np.mean(lengths) if lengths else float('nan'):.0f} moves) = {games * 3600 / wall:.0f} "
          f"games/hour wall, {games * 3600 / cpu:.0f} games per CPU-hour")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("learn")
    p.add_argument("--cpu-minutes", type=float, default=20.0)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--no-progress", action="store_true")
    for q in (p, sub.add_parser("evaluate")):
        q.add_argument("--games", type=int, default=100, help="games against the random player")
        q.add_argument("--match-games", type=int, default=40, help="games against the initial network")
        q.add_argument("--out", default="/tmp/komi-selfplay-7x7")
        q.add_argument("--set", nargs="*", metavar="FIELD=VALUE", help="override a field of the learn config")
    p = sub.add_parser("speed")
    p.add_argument("--minutes", type=float, default=5.0)
    args = parser.parse_args()
    {"learn": learn, "evaluate": evaluate, "speed": speed}[args.what](args)


if __name__ == "__main__":
    main()
