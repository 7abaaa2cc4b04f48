import subprocess
import sys

from komi.cli import main


def test_help_lists_subcommands(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "demo" in out


def test_console_entry_point_runs():
    res = subprocess.run([sys.executable, "-m", "komi", "--version"], capture_output=True, text=True)
    assert res.returncode == 0
    assert res.stdout.startswith("komi ")
