"""envs.go.coords: GTP and SGF coordinates round trips and bad vertices."""
from __future__ import annotations

import pytest

from envs.go import CoordinateError, GoError
from envs.go.coords import from_gtp, from_sgf, to_gtp, to_sgf


@pytest.mark.parametrize("size", [2, 5, 9, 13, 19, 25])
def test_round_trips_over_every_point(size):
    for move in range(size * size + 1):
        assert from_gtp(to_gtp(move, size), size) == move
        assert from_sgf(to_sgf(move, size), size) == move


def test_known_points():
    assert to_gtp(0, 19) == "A19" and to_gtp(360, 19) == "T1" and to_gtp(361, 19) == "pass"
    assert to_gtp(8, 9) == "J9"                      # no I column
    assert from_gtp("d4", 19) == (19 - 4) * 19 + 3 and from_gtp(" Q16 ", 19) == 3 * 19 + 15
    assert from_gtp("PASS", 9) == 81
    assert to_sgf(0, 19) == "aa" and to_sgf(3 * 19 + 15, 19) == "pd" and to_sgf(361, 19) == ""
    assert from_sgf("tt", 19) == 361 and from_sgf("", 9) == 81
    assert from_sgf("tt", 21) == 19 * 21 + 19        # on big boards "tt" is a point


@pytest.mark.parametrize("vertex", ["I5", "Z1", "A0", "A20", "", "44", "D", "D4x", "pas", "A-1", "A٣"])
def test_garbage_gtp_vertices(vertex):
    with pytest.raises(CoordinateError):
        from_gtp(vertex, 19)


@pytest.mark.parametrize("point", ["a", "abc", "zz", "AA", "a1", "ta"])
def test_garbage_sgf_points(point):
    with pytest.raises(CoordinateError):
        from_sgf(point, 19)


def test_bad_sizes_and_moves():
    for bad in (0, 1, 26, -3):
        with pytest.raises(GoError):
            to_gtp(0, bad)
        with pytest.raises(GoError):
            from_sgf("aa", bad)
    with pytest.raises(CoordinateError, match="out of range"):
        to_gtp(82, 9)
    with pytest.raises(CoordinateError):
        to_sgf(-1, 9)
    with pytest.raises(CoordinateError):
        from_gtp(None, 9)
