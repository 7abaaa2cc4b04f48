"""Learning curves of `komi pretrain` runs from their logs: held-out top-1, value MSE and
ownership loss against positions seen, one line per run, as one PNG.

    python benchmarks/pretrain_curves.py runs/pt9-aux.log runs/pt9-noaux.log \
        --labels "with ownership+score" "policy+value only" --png docs/pretrain9_curves.png
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

LINE = re.compile(r"step (\d+): validation top1 ([\d.]+) top5 ([\d.]+) policy loss ([\d.]+) value mse ([\d.nan]+)"
                  r"(?: ownership loss ([\d.nan]+))?(?: score mae ([\d.nan]+))? \((\d+) positions, (\d+) seen")


def read_curve(path: Path) -> list[dict]:
    """One dict per validation line of a pretraining log."""
    rows = []
    for m in LINE.finditer(path.read_text(errors="replace")):
        rows.append({"step": int(m.group(1)), "top1": float(m.group(2)), "value_mse": float(m.group(5)),
                     "ownership_loss": float(m.group(6)) if m.group(6) else None, "seen": int(m.group(9))})
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("logs", nargs="+", type=Path)
    ap.add_argument("--labels", nargs="*", default=None)
    ap.add_argument("--png", type=Path, required=True)
    ap.add_argument("--title", default="komi pretrain: held-out metrics against positions seen")
    args = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = args.labels or [p.stem for p in args.logs]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for path, label in zip(args.logs, labels):
        rows = read_curve(path)
        seen = [r["seen"] / 1000 for r in rows]
        axes[0].plot(seen, [r["top1"] for r in rows], marker=".", label=label)
        axes[1].plot(seen, [r["value_mse"] for r in rows], marker=".", label=label)
        own = [(s, r["ownership_loss"]) for s, r in zip(seen, rows) if r["ownership_loss"] is not None]
        if own:
            axes[2].plot(*zip(*own), marker=".", label=label)
        last = rows[-1] if rows else None
        if last:
            print(f"{label}: {len(rows)} points, last at {last['seen']} positions: top1 {last['top1']:.3f}, "
                  f"value MSE {last['value_mse']:.3f}")
    for ax, name in zip(axes, ("held-out top-1", "held-out value MSE", "held-out ownership loss (BCE)")):
        ax.set_xlabel("positions seen (thousands)")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(args.title)
    fig.tight_layout()
    args.png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.png, dpi=90)
    print(f"written {args.png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
