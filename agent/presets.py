"""The named network presets, kept free of torch so that the command line can list them fast.

`agent.network.PRESETS` is this dict; `agent.network.preset` builds a NetworkConfig from a name.
"""
from __future__ import annotations

# name -> (blocks, channels, global_pool_every); all use the convolutional policy head, which on
# 19x19 game records learns ~10x faster per position than AlphaGo Zero's fc head (measured:
# tiny net, 19,200 positions: 24% vs 2% held-out top-1).
PRESETS: dict[str, tuple[int, int, int]] = {
    "tiny": (2, 16, 0),      # tests
    "mini": (4, 32, 0),      # small boards on a CPU (7x7 self-play from scratch)
    "cpu": (6, 64, 0),       # the CPU default
    "cpu-gp": (6, 64, 3),    # the CPU tower with two global-pooling bias blocks
    "small": (10, 128, 0),
    "medium": (15, 192, 0),
    "agz": (20, 256, 0),     # AlphaGo Zero's 20-block tower
}
