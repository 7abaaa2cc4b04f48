"""`komi demo`: a random game printed as a board, and a one-line error for a bad size."""
from __future__ import annotations

from komi.cli import main


def test_demo_prints_a_finished_game(capsys):
    assert main(["demo", "--size", "7", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "A B C D E F G" in out and "area score (komi 7.5)" in out
    assert ("B+" in out) or ("W+" in out) or ("draw" in out)


def test_demo_rejects_a_bad_size_in_one_line(capsys):
    assert main(["demo", "--size", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("komi: error:") and "size" in err and "\n" not in err
