"""Shared helpers for the players / GTP / tournament / terminal tests (not a test module)."""
from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import numpy as np

# A deliberately broken GTP engine: plays the first empty point it knows of, except that on
# genmove it hangs, crashes, answers an occupied point or answers garbage, as MODE says.
FAKE_ENGINE = textwrap.dedent('''
    import sys, time
    mode = sys.argv[1]
    size = 9
    taken = set()
    cols = "ABCDEFGHJKLMNOPQRST"
    def out(s):
        sys.stdout.write(s + "\\n\\n"); sys.stdout.flush()
    for line in sys.stdin:
        w = line.split()
        if not w:
            continue
        cmd = w[0]
        if cmd == "boardsize":
            size = int(w[1]); taken = set(); out("= ")
        elif cmd == "clear_board":
            taken = set(); out("= ")
        elif cmd == "play":
            taken.add(w[2].upper()); out("= ")
        elif cmd == "genmove":
            if mode == "hang":
                time.sleep(3600)
            if mode == "crash":
                sys.exit(3)
            if mode == "garbage":
                out("= banana"); continue
            if mode == "illegal" and taken:
                out("= " + sorted(taken)[0]); continue
            free = [c + str(r) for r in range(1, size + 1) for c in cols[:size] if c + str(r) not in taken]
            v = free[0] if free else "pass"
            taken.add(v); out("= " + v)
        elif cmd == "final_score":
            out("= W+999")
        elif cmd == "quit":
            out("= "); break
        else:
            out("= ")
''')


def fake_engine_command(tmp_path: Path, mode: str) -> list[str]:
    script = tmp_path / "fake_gtp_engine.py"
    script.write_text(FAKE_ENGINE)
    return [sys.executable, str(script), mode]


def tiny_checkpoint(directory: Path, size: int = 9, step: int = 0, seed: int = 0,
                    aux_heads: bool = True) -> Path | None:
    """A tiny random-weight checkpoint (None if the network/features are not available yet)."""
    try:
        import torch

        from agent.checkpoint import checkpoint_name, network_metadata, save_checkpoint
        from agent.network import PolicyValueNet, preset
        from envs.go import features
    except ImportError:
        return None
    torch.manual_seed(seed)
    feature_set = "agz"
    net = PolicyValueNet(preset("tiny", board_size=size, in_planes=features.num_planes(feature_set),
                                ownership_head=aux_heads, score_head=aux_heads))
    return save_checkpoint(directory / checkpoint_name(step), net,
                           network_metadata(net, feature_set, step=step))


def stones_from_ascii(art: str) -> np.ndarray:
    """'X' black, 'O' white, '.' empty -> int8 [N, N] (row 0 = top)."""
    rows = [r.split() for r in textwrap.dedent(art).strip().splitlines()]
    table = {"X": 1, "O": -1, ".": 0}
    return np.array([[table[c] for c in r] for r in rows], dtype=np.int8)
