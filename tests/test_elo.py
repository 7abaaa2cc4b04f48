import math
import random

import pytest

from selfplay.elo import EloError, GameOutcome, expected_score, fit_elo, win_rate_interval

TRUE = {"random": 0.0, "a": 250.0, "b": -120.0, "c": 480.0}


def simulate(games_per_pair: int, seed: int = 1) -> list[GameOutcome]:
    rng = random.Random(seed)
    names = sorted(TRUE)
    out = []
    for i, x in enumerate(names):
        for y in names[i + 1:]:
            p = expected_score(TRUE[x], TRUE[y])
            for _ in range(games_per_pair):
                out.append(GameOutcome(x, y, 1.0 if rng.random() < p else 0.0))
    return out


def test_fit_recovers_known_ratings():
    ratings = fit_elo(simulate(600), anchor="random", anchor_elo=0.0)
    assert ratings["random"].elo == 0.0 and ratings["random"].ci95 == 0.0
    for name, true in TRUE.items():
        r = ratings[name]
        # within the reported 95% interval, with a little slack for the 1-in-20 miss
        assert abs(r.elo - true) <= 1.5 * r.ci95 + 1e-9, (name, r, true)
        if name != "random":
            assert 10 < r.ci95 < 60
    assert ratings["c"].elo > ratings["a"].elo > ratings["random"].elo > ratings["b"].elo


def test_interval_shrinks_with_more_games():
    small = fit_elo(simulate(50), anchor="random")
    large = fit_elo(simulate(800), anchor="random")
    assert large["a"].ci95 < small["a"].ci95 / 2


def test_anchor_shifts_all_ratings_equally():
    outcomes = simulate(100)
    r0 = fit_elo(outcomes, anchor="random", anchor_elo=0.0)
    r1 = fit_elo(outcomes, anchor="a", anchor_elo=1000.0)
    shift = 1000.0 - r0["a"].elo
    for name in TRUE:
        assert r1[name].elo == pytest.approx(r0[name].elo + shift, abs=1e-6)


def test_order_of_games_does_not_matter():
    outcomes = simulate(30)
    shuffled = outcomes[:]
    random.Random(5).shuffle(shuffled)
    a, b = fit_elo(outcomes, anchor="random"), fit_elo(shuffled, anchor="random")
    for name in TRUE:
        assert a[name].elo == pytest.approx(b[name].elo, abs=1e-6)


def test_perfect_score_stays_finite_and_positive():
    outcomes = [GameOutcome("strong", "random", 1.0) for _ in range(10)]
    r = fit_elo(outcomes, anchor="random")
    assert math.isfinite(r["strong"].elo) and r["strong"].elo > 200
    assert r["strong"].games == 10 and r["strong"].score == 10


def test_draws_mean_equal_ratings():
    outcomes = [GameOutcome("x", "y", 0.5) for _ in range(20)]
    assert fit_elo(outcomes, anchor="y")["x"].elo == pytest.approx(0.0, abs=1e-9)


def test_disconnected_player_is_nan_and_unknown_anchor_errors():
    outcomes = [GameOutcome("a", "b", 1.0), GameOutcome("c", "d", 0.0)]
    r = fit_elo(outcomes, anchor="a")
    assert math.isnan(r["c"].elo) and math.isfinite(r["b"].elo)
    with pytest.raises(EloError, match="anchor 'zz'"):
        fit_elo(outcomes, anchor="zz")


def test_wilson_interval():
    rate, lo, hi = win_rate_interval(5, 10)
    assert rate == 0.5 and lo == pytest.approx(0.2366, abs=1e-3) and hi == pytest.approx(0.7634, abs=1e-3)
    rate, lo, hi = win_rate_interval(10, 10)
    assert rate == 1.0 and hi == 1.0 and lo == pytest.approx(0.7225, abs=1e-3)
    assert math.isnan(win_rate_interval(0, 0)[0])
