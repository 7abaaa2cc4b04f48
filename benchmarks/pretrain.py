"""Training and inference speed of each network preset, against the machine's matmul peak.

For torch thread counts 1 and 2 (or --threads), measures:
  * peak: best fp32 GFLOP/s of large square matmuls (the machine's practical ceiling),
  * train pos/s: forward + backward + SGD step on random planes (batch --batch; median step),
  * infer pos/s: forward under inference_mode (batch --infer-batch; median call),
  * %peak: training FLOP rate (3 x forward FLOPs per position: forward, grad of inputs, grad of
    weights) over the measured peak,
  * encode pos/s: the native batched feature encoder (when envs.go.features is built).
On a shared machine the numbers move with the load: compare rows of one run only.

    python benchmarks/pretrain.py [--presets tiny cpu small] [--seconds 3] [--device cpu]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from agent.network import PRESETS, PolicyValueNet, autocast_for, preset


def _timed(fn, seconds: float, min_iters: int = 3, best: bool = False) -> float:
    """Seconds per call of fn after one warm-up call: the median over about `seconds` of calls
    (or the fastest call with best=True). Medians and minima shrug off bursts of load from
    other users of a shared machine."""
    fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < min_iters or time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times) if best else float(np.median(times))


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def matmul_peak_gflops(device: torch.device, seconds: float) -> float:
    """Best fp32 GFLOP/s of square matmuls of a few sizes (the machine's practical ceiling)."""
    rates = []
    for n in (1024, 2048, 3072):
        a = torch.randn(n, n, device=device)
        b = torch.randn(n, n, device=device)

        def step():
            a @ b
            _sync(device)

        rates.append(2 * n ** 3 / _timed(step, seconds / 3, best=True) / 1e9)
    return max(rates)


def train_positions_per_s(net: PolicyValueNet, batch: int, device: torch.device, seconds: float) -> float:
    n, c = net.config.board_size, net.config.in_planes
    x = (torch.rand(batch, c, n, n, device=device) < 0.2).float()
    moves = torch.randint(0, n * n + 1, (batch,), device=device)
    value = torch.rand(batch, device=device) * 2 - 1
    opt = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9)
    net.train()

    def step():
        with autocast_for(device):
            logits, v = net(x)
        loss = torch.nn.functional.cross_entropy(logits, moves) + ((v - value) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        _sync(device)

    return batch / _timed(step, seconds)


def infer_positions_per_s(net: PolicyValueNet, batch: int, device: torch.device, seconds: float) -> float:
    n, c = net.config.board_size, net.config.in_planes
    x = (torch.rand(batch, c, n, n, device=device) < 0.2).float()
    net.eval()

    def step():
        with torch.inference_mode(), autocast_for(device):
            net(x)
        _sync(device)

    return batch / _timed(step, seconds)


def encode_positions_per_s(size: int, feature_set: str, batch: int, seconds: float) -> float | None:
    try:
        from envs.go import features
        from selfplay.shards import GameTable, PositionSampler, encode_game
    except ImportError:
        return None
    rng = np.random.default_rng(0)
    games = []
    for _ in range(64):  # random move sequences: the encoder replays them (legality not needed
        pts = rng.permutation(size * size)[:150]  # for a speed test, but keep them plausible)
        games.append(encode_game(size, [(1 if i % 2 == 0 else -1, int(p)) for i, p in enumerate(pts)]))
    lengths = [len(g) for g in games]
    table = GameTable(np.concatenate(games), np.concatenate([[0], np.cumsum(lengths)]),
                      np.full(64, size, np.int8), np.zeros(64, np.float32), np.zeros(64, np.int8),
                      np.zeros(64, np.int8))
    sampler = PositionSampler(table)
    out = np.zeros((batch, features.num_planes(feature_set), size, size), np.float32)
    b = sampler.sample(batch, 0)

    def step():
        features.encode_records(table.codes, table.offsets, b.game_index, b.ply, size, feature_set,
                                b.symmetry, out=out)

    return batch / _timed(step, seconds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--presets", nargs="+", default=["tiny", "cpu", "cpu-gp", "small", "medium", "agz"])
    ap.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--board-size", type=int, default=19)
    ap.add_argument("--feature-set", default="extended")
    ap.add_argument("--in-planes", type=int, default=None, help="default: planes of --feature-set")
    ap.add_argument("--batch", type=int, default=64, help="training batch (default 64)")
    ap.add_argument("--infer-batch", type=int, default=128, help="inference batch (default 128)")
    ap.add_argument("--seconds", type=float, default=3.0, help="time per measurement (default 3)")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()

    device = torch.device(args.device)
    planes = args.in_planes
    if planes is None:
        try:
            from envs.go import features
            planes = features.num_planes(args.feature_set)
        except (ImportError, AttributeError, ValueError):
            planes = 18
    print(f"device {device}, board {args.board_size}, {planes} input planes, train batch {args.batch}, "
          f"inference batch {args.infer_batch}; shared machine: numbers vary with load")
    for threads in args.threads if device.type == "cpu" else [torch.get_num_threads()]:
        torch.set_num_threads(threads)
        peak = matmul_peak_gflops(device, args.seconds)
        enc = encode_positions_per_s(args.board_size, args.feature_set, 256, args.seconds) \
            if device.type == "cpu" else None
        enc_text = f", native encoder {enc:,.0f} pos/s" if enc else ""
        print(f"\nthreads {threads}: matmul peak {peak:.1f} GFLOP/s{enc_text}")
        print(f"{'preset':8} {'blocks×ch':>9} {'MFLOP/pos':>10} {'train pos/s':>12} {'infer pos/s':>12} {'%peak':>6}")
        for name in args.presets:
            torch.manual_seed(0)
            net = PolicyValueNet(preset(name, board_size=args.board_size, in_planes=planes)).to(device)
            if device.type == "cuda":
                net = net.to(memory_format=torch.channels_last)
            flops = net.flops_per_position()
            # big nets on a CPU: smaller batches so one step stays within a few seconds
            scale = max(1, flops // 400_000_000)
            train = train_positions_per_s(net, max(8, args.batch // scale), device, args.seconds)
            infer = infer_positions_per_s(net, max(8, args.infer_batch // scale), device, args.seconds)
            frac = 3 * flops * train / (peak * 1e9)
            cfg = net.config
            print(f"{name:8} {cfg.blocks:>4}×{cfg.channels:<4} {flops / 1e6:>10.0f} {train:>12.1f} "
                  f"{infer:>12.1f} {100 * frac:>5.0f}%")


if __name__ == "__main__":
    main()
