"""Hostile checkpoint files against the loader: count what happens.

Each case starts from a valid tiny checkpoint and breaks it one way: truncated or byte-flipped
safetensors, tensors of the wrong shape or dtype, missing or extra tensors, NaN/inf weights,
pickles (with a payload that would leave a marker file if it ever ran) and torch.save archives
named .safetensors or .pt, safetensors headers with absurd lengths, shapes or offsets, and the
JSON metadata with wrong types, huge dimensions, missing fields, another root, deep nesting,
bad UTF-8 or truncation. Every case goes through `check_network` and `load_network` (and the
optimizer state through `load_training_state`), under a CPU-time alarm and an address-space
limit. Outcomes:

  refused      CheckpointError (a KomiError) of one line: what must happen to a broken file
  loaded       the mutation left a valid checkpoint (e.g. a flipped byte in a float); the net
               must then give finite outputs, else it is counted as `nan_output` (a bug)
  bug          any other exception type (counted by type, first examples printed)
  hang         over --case-seconds of CPU time
  multi_line   a CheckpointError whose message is not one line

plus `pickle_ran`, which must stay 0. With --cli K, K cases also go through `komi gtp
--checkpoint` in a subprocess and any traceback is counted.

    python benchmarks/fuzz_checkpoint.py --cases 20000 --seed 1 [--cli 200] [--json out.json]
"""
from __future__ import annotations

import argparse
import collections
import copy
import json
import os
import pickle
import random
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.checkpoint import (CheckpointError, check_network, load_network, load_training_state,  # noqa: E402
                              network_metadata, save_checkpoint)
from agent.network import PolicyValueNet, preset  # noqa: E402
from envs.go import features  # noqa: E402


class _Hang(Exception):
    pass


def _alarm(signum, frame):
    raise _Hang()


class _Payload:
    """Unpickling this writes a marker file: proof that a pickle ran (it must never exist)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


# --- the mutations --------------------------------------------------------------------------

HOSTILE_VALUES = [None, True, False, 0, -1, 1, 2, 16.0, 1e308, float("nan"), float("inf"), -7,
                  2**31, 2**63, 10**7, 200000, "", "9", "extended", "fc", [], [1, 2, 3], {}, {"a": 1},
                  "x" * 10000]


def _meta_mutations(meta: dict, rng: random.Random) -> tuple[str, str | bytes]:
    """(kind, JSON text or bytes) of a broken metadata file."""
    m = copy.deepcopy(meta)
    cfg = m["architecture"]["config"]
    kind = rng.choice(["config_value", "config_value", "top_value", "drop_field", "huge_dim", "root",
                       "deep", "truncated", "bad_utf8", "extra_config", "kind", "big_file"])
    if kind == "config_value":
        cfg[rng.choice(sorted(cfg))] = rng.choice(HOSTILE_VALUES)
    elif kind == "top_value":
        m[rng.choice(["board_size", "feature_set", "step", "format_version", "architecture", "data_seen",
                      "kind", "config"])] = rng.choice(HOSTILE_VALUES)
    elif kind == "drop_field":
        target = rng.choice([m, cfg, m["architecture"]])
        if target:
            target.pop(rng.choice(sorted(target)))
    elif kind == "huge_dim":
        cfg[rng.choice(["blocks", "channels", "policy_channels", "value_channels", "value_hidden",
                        "in_planes", "board_size"])] = rng.choice([65, 1025, 4097, 10**7, 2**40, 200000])
    elif kind == "root":
        return kind, rng.choice(["[1, 2, 3]", "null", "7", '"text"', "true", "[]"])
    elif kind == "deep":
        n = rng.choice([1000, 10_000, 100_000])
        return kind, rng.choice(["[", '{"a":']) * n + "1" + "]" * n
    elif kind == "truncated":
        text = json.dumps(m)
        return kind, text[: rng.randrange(len(text))]
    elif kind == "bad_utf8":
        raw = bytearray(json.dumps(m).encode())
        raw[rng.randrange(len(raw))] = rng.choice([0xFF, 0xC0, 0x80])
        return kind, bytes(raw)
    elif kind == "extra_config":
        cfg[rng.choice(["surprise", "__class__", "0"])] = 1
    elif kind == "kind":
        m["architecture"]["kind"] = rng.choice(HOSTILE_VALUES + ["ResNet", "QNetwork"])
    elif kind == "big_file":
        m["padding"] = "x" * (17 << 20)
    return kind, json.dumps(m)


def _weights_mutations(state: dict, raw: bytes, rng: random.Random, marker: str) -> tuple[str, bytes | dict]:
    """(kind, the weights file's bytes, or a state dict to save) of broken weights."""
    kind = rng.choice(["truncate", "flip_header", "flip_data", "shape", "dtype", "missing", "extra",
                       "nan", "inf", "pickle", "torch_zip", "header_length", "header_shape",
                       "header_offsets", "empty", "fp16", "negative_var"])
    names = sorted(state)
    s = {k: v.clone() for k, v in state.items()}
    if kind == "truncate":
        return kind, raw[: rng.randrange(len(raw))]
    if kind in ("flip_header", "flip_data"):
        b = bytearray(raw)
        n = struct.unpack("<Q", raw[:8])[0]
        lo, hi = (0, 8 + n) if kind == "flip_header" else (8 + n, len(raw))
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(lo, hi)] = rng.randrange(256)
        return kind, bytes(b)
    if kind == "shape":
        k = rng.choice(names)
        s[k] = torch.zeros(tuple(rng.randint(1, 5) for _ in range(rng.randint(0, 4))))
    elif kind == "dtype":
        k = rng.choice([n for n in names if s[n].is_floating_point()])
        s[k] = s[k].to(rng.choice([torch.int32, torch.int64, torch.uint8, torch.bool, torch.float64]))
    elif kind == "missing":
        s.pop(rng.choice(names))
    elif kind == "extra":
        s[rng.choice(["extra.weight", "tower.99.conv1.0.weight", "stem.0.weight2"])] = torch.zeros(3)
    elif kind in ("nan", "inf", "negative_var"):
        k = rng.choice([n for n in names if s[n].is_floating_point() and s[n].numel()
                        and (kind != "negative_var" or n.endswith("running_var"))])
        s[k].view(-1)[rng.randrange(s[k].numel())] = {"nan": float("nan"), "inf": float("inf"),
                                                     "negative_var": -1.0}[kind]
    elif kind == "fp16":
        s = {k: v.half() if v.is_floating_point() else v for k, v in s.items()}
    elif kind == "pickle":
        return kind, pickle.dumps({"weights": _Payload(marker)}, protocol=rng.choice([2, 4, 5]))
    elif kind == "torch_zip":
        path = Path(marker).with_suffix(".zip.tmp")
        torch.save({"w": _Payload(marker)}, path)
        data = path.read_bytes()
        path.unlink()
        return kind, data
    elif kind == "header_length":
        return kind, struct.pack("<Q", rng.choice([0, 1, 2**40, 2**63, len(raw) * 2])) + raw[8:]
    elif kind in ("header_shape", "header_offsets"):
        n = struct.unpack("<Q", raw[:8])[0]
        header = json.loads(raw[8:8 + n])
        k = rng.choice(names)
        if kind == "header_shape":
            header[k]["shape"] = rng.choice([[2**40, 2**40], [-1], [1.5], "x", [10**6] * 8, None])
        else:
            header[k]["data_offsets"] = rng.choice([[0, 2**62], [5, 3], [-4, 4], [0], None, ["a", "b"]])
        text = json.dumps(header).encode()
        return kind, struct.pack("<Q", len(text)) + text + raw[8 + n:]
    elif kind == "empty":
        return kind, b""
    return kind, s


def _training_state_mutation(text: str, rng: random.Random) -> tuple[str, str]:
    kind = rng.choice(["tensor_ref", "dict_shape", "deep", "truncated", "root"])
    if kind == "tensor_ref":
        return kind, text.replace('"__tensor__": "', '"__tensor__": "missing-', 1)
    if kind == "dict_shape":
        return kind, rng.choice(['{"__dict__": 5}', '{"__dict__": [[1]]}', '{"__tuple__": 3}'])
    if kind == "deep":
        return kind, "[" * 100_000 + "]" * 100_000
    if kind == "truncated":
        return kind, text[: rng.randrange(len(text))]
    return kind, rng.choice(["null", "7", '"x"'])


# --- running ----------------------------------------------------------------------------------

def _try(fn, seconds: float):
    signal.setitimer(signal.ITIMER_PROF, seconds)  # CPU time: a loaded machine does not count
    try:
        return "ok", fn()
    except _Hang:
        return "hang", None
    except CheckpointError as err:
        return ("refused" if "\n" not in str(err) else "multi_line"), str(err)
    except Exception as err:  # noqa: BLE001 - counting every other type is the point
        return "bug", f"{type(err).__name__}: {str(err)[:200]}"
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", type=int, default=2000, help="hostile checkpoints to try (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--case-seconds", type=float, default=5.0, help="CPU seconds before a case is a hang")
    p.add_argument("--memory-gb", type=float, default=4.0, help="address-space limit of this process")
    p.add_argument("--cli", type=int, default=0, metavar="K", help="also run K cases through komi gtp")
    p.add_argument("--json", default=None, metavar="PATH", help="write the counts as JSON")
    args = p.parse_args(argv)

    limit = int(args.memory_gb * (1 << 30))
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
    signal.signal(signal.SIGPROF, _alarm)
    rng = random.Random(args.seed)
    torch.manual_seed(args.seed)
    work = Path(tempfile.mkdtemp(prefix="fuzz-ckpt-"))
    marker = str(work / "PICKLE-PAYLOAD-RAN")
    net = PolicyValueNet(preset("tiny", board_size=5, in_planes=features.num_planes("basic")))
    net.train()
    net(torch.randn(4, net.config.in_planes, 5, 5))  # running stats away from their initial values
    optimizer = torch.optim.AdamW(net.parameters())
    net.policy_pass.bias.sum().backward()
    optimizer.step()  # a state with tensors in it
    base = save_checkpoint(work / "base", net.eval(), network_metadata(net, "basic", step=1),
                           {"optimizer": optimizer.state_dict()})
    meta = json.loads((work / "base.json").read_text())
    raw = (work / "base.safetensors").read_bytes()
    state = load_file(str(work / "base.safetensors"))
    optim_text = (work / "base.optim.json").read_text()

    counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    examples: dict[str, list[str]] = collections.defaultdict(list)
    cli_cases: list[tuple[str, Path]] = []
    started = time.time()
    for i in range(args.cases):
        stem = work / f"case{i % 64}"
        for suffix in (".json", ".safetensors", ".optim.json", ".optim.safetensors"):
            shutil.copy(work / f"base{suffix}", stem.with_name(stem.name + suffix))
        target = rng.random()
        if target < 0.45:
            kind, data = _meta_mutations(meta, rng)
            kind = "json:" + kind
            Path(f"{stem}.json").write_bytes(data if isinstance(data, bytes) else data.encode())
        elif target < 0.95:
            kind, data = _weights_mutations(state, raw, rng, marker)
            kind = "weights:" + kind
            if isinstance(data, dict):
                save_file(data, f"{stem}.safetensors")
            else:
                Path(f"{stem}.safetensors").write_bytes(data)
        else:
            kind, data = _training_state_mutation(optim_text, rng)
            kind = "optim:" + kind
            Path(f"{stem}.optim.json").write_text(data)

        def attempt():
            if kind.startswith("optim:"):
                load_training_state(stem)
                return None
            check_network(stem)
            loaded, _ = load_network(stem)
            with torch.no_grad():
                heads = loaded.forward_heads(torch.randn(2, loaded.config.in_planes, 5, 5))
            return all(bool(torch.isfinite(t).all()) for t in heads if t is not None)

        outcome, detail = _try(attempt, args.case_seconds)
        if outcome == "ok":
            outcome = "loaded" if detail in (None, True) else "nan_output"
        counts[kind][outcome] += 1
        counts["total"][outcome] += 1
        if outcome not in ("refused", "loaded") and len(examples[outcome]) < 5:
            examples[outcome].append(f"{kind}: {detail}")
        if args.cli and len(cli_cases) < args.cli and outcome != "loaded" and not kind.startswith("optim:"):
            keep = work / f"cli{len(cli_cases)}"
            for suffix in (".json", ".safetensors"):
                shutil.copy(f"{stem}{suffix}", f"{keep}{suffix}")
            cli_cases.append((kind, keep))

    cli = collections.Counter()
    for kind, stem in cli_cases:
        res = subprocess.run([sys.executable, "-m", "komi", "gtp", "--checkpoint", str(stem)],
                             input="quit\n", capture_output=True, text=True, timeout=300, cwd=work)
        lines = [line for line in res.stderr.splitlines() if line.strip()]
        if "Traceback" in res.stderr:
            cli["traceback"] += 1
            if len(examples["cli_traceback"]) < 5:
                examples["cli_traceback"].append(f"{kind}: {lines[-1] if lines else ''}")
        elif res.returncode != 0 and len(lines) == 1 and lines[0].startswith("komi: error: "):
            cli["one_line_error"] += 1
        else:
            cli[f"other (exit {res.returncode}, {len(lines)} lines)"] += 1

    report = {
        "cases": args.cases, "seed": args.seed, "seconds": round(time.time() - started, 1),
        "outcomes": dict(counts["total"]),
        "by_kind": {k: dict(v) for k, v in sorted(counts.items()) if k != "total"},
        "pickle_ran": int(os.path.exists(marker)),
        "cli": dict(cli), "examples": {k: v for k, v in examples.items()},
    }
    shutil.rmtree(work, ignore_errors=True)
    print(f"{args.cases} hostile checkpoints (seed {args.seed}) in {report['seconds']} s: "
          + ", ".join(f"{k} {v}" for k, v in sorted(report["outcomes"].items()))
          + f"; pickle payloads run: {report['pickle_ran']}")
    for kind, c in report["by_kind"].items():
        print(f"  {kind:24s} " + ", ".join(f"{k} {v}" for k, v in sorted(c.items())))
    if cli_cases:
        print(f"komi gtp on {len(cli_cases)} of them: " + ", ".join(f"{k} {v}" for k, v in sorted(cli.items())))
    for outcome, lines in examples.items():
        print(f"{outcome} examples:")
        for line in lines:
            print("  " + line)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    bad = sum(report["outcomes"].get(k, 0) for k in ("bug", "hang", "multi_line", "nan_output"))
    return 1 if bad or report["pickle_ran"] or cli.get("traceback") else 0


if __name__ == "__main__":
    raise SystemExit(main())
