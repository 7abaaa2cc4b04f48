"""The residual policy/value network (AlphaGo Zero tower, optional KataGo global-pooling bias).

Input: feature planes [B, C, N, N] float32 (from `envs.go.features.encode`).
Output of `forward`: `(policy_logits [B, N*N+1], value [B])`; `forward_heads` adds KataGo's
auxiliary heads where the net has them (`Heads.ownership [B, N*N]`, `Heads.score [B]`).

* policy_logits: unnormalised log-probabilities over the N*N points (move index = row * N + col,
  row 0 = top) followed by pass (index N*N).
* value: tanh output in [-1, 1], the expected game outcome for the SIDE TO MOVE in the input
  position (+1 = the side to move wins, -1 = it loses). Never Black's point of view.
* ownership (optional head): per point, the logit z of "the side to move owns this point at the
  end" (Tromp-Taylor); the expected ownership in [-1, 1] is tanh(z / 2).
* score (optional head): the final area margin for the side to move, komi included, divided by
  the board side N (so 9x9 and 19x19 targets have similar ranges).
"""
from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from agent.presets import PRESETS
from komi.errors import KomiError


class NetworkConfigError(KomiError, ValueError):
    """A NetworkConfig field has the wrong type or is out of range (or an unknown preset)."""


LIMITS: dict[str, tuple[int, int]] = {
    "board_size": (2, 25),        # what the native core plays
    "in_planes": (1, 256),        # the feature sets have at most 30
    "blocks": (1, 64),            # AlphaGo Zero's largest tower had 40
    "channels": (1, 1024),
    "global_pool_every": (0, 64),
    "policy_channels": (1, 1024),
    "value_channels": (1, 1024),
    "value_hidden": (1, 4096),
}
"""Inclusive bounds of the integer fields of NetworkConfig: far beyond any network komi trains,
small enough that a checkpoint's metadata can never ask for an absurd allocation."""


@dataclass(frozen=True)
class NetworkConfig:
    """Architecture of a PolicyValueNet; saved in every checkpoint's metadata."""

    board_size: int = 19
    """Board side N; the policy has N*N+1 outputs."""
    in_planes: int = 18
    """Number of input feature planes C (see envs.go.features.num_planes)."""
    blocks: int = 6
    """Number of residual blocks in the tower."""
    channels: int = 64
    """Width of the tower (channels of every 3x3 conv)."""
    global_pool_every: int = 0
    """Every k-th block is a global-pooling bias block (KataGo); 0 = none."""
    policy_head: str = "conv"
    """"fc": AlphaGo Zero's head (1x1 conv, then a fully connected layer to N*N+1 logits);
    "conv": fully convolutional (a 1x1 conv gives each point's logit, pass comes from globally
    pooled head features), which shares what it learns across the board."""
    policy_channels: int = 16
    """Channels of the 1x1 conv in the policy head (AlphaGo Zero's fc head: 2)."""
    value_channels: int = 1
    """Channels of the 1x1 conv in the value head (AlphaGo Zero: 1)."""
    value_hidden: int = 256
    """Width of the hidden fully connected layer of the value head."""
    ownership_head: bool = False
    """KataGo's ownership head (a 1x1 conv: who owns each point at the end). False in old
    checkpoints, which have no such head."""
    score_head: bool = False
    """KataGo's score head (final area margin / N, from the value head's hidden layer)."""

    def __post_init__(self) -> None:
        for name, (lo, hi) in LIMITS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise NetworkConfigError(f"NetworkConfig.{name} must be an integer, got {value!r}")
            if not lo <= value <= hi:
                raise NetworkConfigError(f"NetworkConfig.{name} must be between {lo} and {hi}, got {value}")
        for name in ("ownership_head", "score_head"):
            if not isinstance(getattr(self, name), bool):
                raise NetworkConfigError(f"NetworkConfig.{name} must be true or false, got "
                                         f"{getattr(self, name)!r}")
        if self.policy_head not in ("fc", "conv"):
            raise NetworkConfigError(f"NetworkConfig.policy_head must be 'fc' or 'conv', got {self.policy_head!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "NetworkConfig":
        """The config stored by to_dict (fields left out take their defaults); NetworkConfigError
        names the first unknown, mistyped or out-of-range field."""
        if not isinstance(d, dict):
            raise NetworkConfigError(f"NetworkConfig must be a JSON object, not {type(d).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise NetworkConfigError(f"unknown NetworkConfig fields: {sorted(map(str, unknown))}")
        return cls(**d)


def preset(name: str, board_size: int = 19, in_planes: int = 18, **overrides) -> NetworkConfig:
    """The NetworkConfig of a named preset (see PRESETS) for a board size and input planes."""
    if name not in PRESETS:
        raise NetworkConfigError(f"unknown network preset {name!r}; choose from {', '.join(PRESETS)}")
    blocks, channels, gp = PRESETS[name]
    fields = dict(board_size=board_size, in_planes=in_planes, blocks=blocks, channels=channels,
                  global_pool_every=gp, ownership_head=True, score_head=True)
    if overrides.get("policy_head") == "fc":
        fields["policy_channels"] = 2  # AlphaGo Zero's: the fc layer grows with these channels
    fields.update(overrides)
    return NetworkConfig(**fields)


def _conv_bn(c_in: int, c_out: int, k: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False), nn.BatchNorm2d(c_out))


class GlobalPoolBias(nn.Module):
    """Adds a per-channel bias computed from the board-wide mean and max of the activations.

    Lets a convolutional tower see whole-board state (ko threats, who is ahead) in one block.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.fc = nn.Linear(2 * channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1)  # [B, 2C]
        return x + self.fc(pooled)[:, :, None, None]


class ResidualBlock(nn.Module):
    """conv3x3-BN-ReLU-(global bias)-conv3x3-BN, plus the skip connection, then ReLU."""

    def __init__(self, channels: int, global_pool: bool = False) -> None:
        super().__init__()
        self.conv1 = _conv_bn(channels, channels, 3)
        self.pool = GlobalPoolBias(channels) if global_pool else nn.Identity()
        self.conv2 = _conv_bn(channels, channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.pool(F.relu(self.conv1(x)))
        return F.relu(x + self.conv2(y))


class Heads(NamedTuple):
    """Every output of one forward pass; None for a head the net does not have."""

    policy_logits: torch.Tensor
    """[B, N*N+1] float32, pass last."""
    value: torch.Tensor
    """[B] float32 in [-1, 1], for the side to move."""
    ownership: torch.Tensor | None
    """[B, N*N] float32 logits: the side to move owns the point (expected ownership tanh(z/2))."""
    score: torch.Tensor | None
    """[B] float32: final area margin for the side to move, komi included, divided by N."""


class PolicyValueNet(nn.Module):
    """Residual tower with a policy head (N*N+1 logits, pass last) and a tanh value head.

    forward(x [B, C, N, N]) -> (policy_logits [B, N*N+1], value [B]); value is the expected
    outcome for the side to move in x (+1 win, -1 loss).
    """

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        self.config = config
        c, n = config.channels, config.board_size
        k = config.global_pool_every
        self.stem = _conv_bn(config.in_planes, c, 3)
        self.tower = nn.Sequential(*[ResidualBlock(c, global_pool=k > 0 and (i + 1) % k == 0)
                                     for i in range(config.blocks)])
        self.policy_conv = _conv_bn(c, config.policy_channels, 1)
        if config.policy_head == "fc":
            self.policy_fc = nn.Linear(config.policy_channels * n * n, n * n + 1)
        else:
            self.policy_point = nn.Conv2d(config.policy_channels, 1, 1)
            self.policy_pass = nn.Linear(2 * config.policy_channels, 1)
        self.value_conv = _conv_bn(c, config.value_channels, 1)
        self.value_fc1 = nn.Linear(config.value_channels * n * n, config.value_hidden)
        self.value_fc2 = nn.Linear(config.value_hidden, 1)
        if config.ownership_head:
            self.ownership_conv = nn.Conv2d(c, 1, 1)
        if config.score_head:
            self.score_fc = nn.Linear(config.value_hidden, 1)
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        # Start each residual branch near zero so the deep tower begins close to identity.
        for block in self.tower:
            nn.init.zeros_(block.conv2[1].weight)
        last = [self.policy_fc] if self.config.policy_head == "fc" else [self.policy_point, self.policy_pass]
        last += [getattr(self, name) for name in ("ownership_conv", "score_fc") if hasattr(self, name)]
        for layer in last + [self.value_fc2]:
            nn.init.normal_(layer.weight, std=0.01)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        heads = self.forward_heads(x, auxiliary=False)
        return heads.policy_logits, heads.value

    def forward_heads(self, x: torch.Tensor, auxiliary: bool = True) -> Heads:
        """All heads of the net (ownership and score only with `auxiliary` and when present)."""
        n = self.config.board_size
        if x.dim() != 4 or x.shape[1] != self.config.in_planes or x.shape[2:] != (n, n):
            raise ValueError(f"expected features [B, {self.config.in_planes}, {n}, {n}], "
                             f"got {list(x.shape)}")
        h = self.tower(F.relu(self.stem(x)))
        p = F.relu(self.policy_conv(h))
        if self.config.policy_head == "fc":
            policy_logits = self.policy_fc(p.flatten(1))
        else:
            pooled = torch.cat([p.mean(dim=(2, 3)), p.amax(dim=(2, 3))], dim=1)
            policy_logits = torch.cat([self.policy_point(p).flatten(1), self.policy_pass(pooled)], dim=1)
        v = F.relu(self.value_conv(h)).flatten(1)
        hidden = F.relu(self.value_fc1(v))
        value = torch.tanh(self.value_fc2(hidden)).squeeze(1)
        ownership = score = None
        if auxiliary and self.config.ownership_head:
            ownership = self.ownership_conv(h).flatten(1).float()
        if auxiliary and self.config.score_head:
            score = self.score_fc(hidden).squeeze(1).float()
        return Heads(policy_logits.float(), value.float(), ownership, score)

    def flops_per_position(self) -> int:
        """Multiply-adds x 2 of one forward pass (convs and linears; BN/ReLU ignored)."""
        area = self.config.board_size ** 2
        total = 0
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                total += 2 * area * m.in_channels * m.out_channels * m.kernel_size[0] * m.kernel_size[1]
            elif isinstance(m, nn.Linear):
                total += 2 * m.in_features * m.out_features
        return total


def prepare_for_device(net: PolicyValueNet, device: str | torch.device = "cpu",
                       compile: bool = False) -> nn.Module:
    """Move the net to a device: channels_last memory format on CUDA; optional torch.compile.

    Mixed precision is applied where the net is called (see `autocast_for`), not here.
    """
    device = torch.device(device)
    net = net.to(device)
    if device.type == "cuda":
        net = net.to(memory_format=torch.channels_last)
    if compile:
        return torch.compile(net)
    return net


def autocast_for(device: str | torch.device):
    """bf16 autocast on CUDA, a no-op context on CPU (fp32)."""
    device = torch.device(device)
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
