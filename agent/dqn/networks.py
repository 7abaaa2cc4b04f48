"""Q-networks: a torso chosen by observation shape, and a plain / dueling / noisy / C51 head.

Torsos: Nature CNN (Mnih et al. 2015) for 84×84 frame stacks, the MinAtar paper's small CNN
(one 3×3 conv of 16 channels, 128 units) for 10×10 grids, an MLP for vectors. Each ends in a
hidden layer of ``torso.out_features`` units that the head reads.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from komi.errors import KomiError


@dataclass(frozen=True)
class NetworkSpec:
    """Everything needed to rebuild a Q-network (saved in checkpoint metadata)."""

    obs_shape: tuple[int, ...]
    """Shape of one observation: [D] for vectors, [C, H, W] for images."""
    num_actions: int
    """Number of discrete actions."""
    torso: str = "auto"
    """"nature", "minatar", "mlp", or "auto" (84×84 images → nature, other images → minatar, vectors → mlp)."""
    hidden: tuple[int, ...] = (256, 256)
    """MLP torso: hidden layer sizes."""
    dueling: bool = False
    """Separate value and advantage streams, Q = V + A - mean(A)."""
    noisy: bool = False
    """Factorised Gaussian noisy linear layers in the head (exploration without ε)."""
    noisy_sigma0: float = 0.5
    """Initial noise scale σ0 of the noisy layers."""
    atoms: int = 1
    """1 for expected Q-values; >1 for a C51 distributional head with this many atoms."""
    v_min: float = -10.0
    """C51: smallest support value."""
    v_max: float = 10.0
    """C51: largest support value."""
    obs_scale: float = 1.0
    """Inputs are multiplied by this (1/255 for uint8 frames)."""

    def resolved_torso(self) -> str:
        if self.torso != "auto":
            return self.torso
        if len(self.obs_shape) == 1:
            return "mlp"
        if len(self.obs_shape) == 3:
            return "nature" if self.obs_shape[1:] == (84, 84) else "minatar"
        raise KomiError(f"no network for observations of shape {self.obs_shape}: need [D] or [C, H, W]")


class NoisyLinear(nn.Module):
    """Linear layer with factorised Gaussian noise on weights and biases (Fortunato et al. 2018)."""

    def __init__(self, in_features: int, out_features: int, sigma0: float = 0.5):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        bound = 1.0 / math.sqrt(in_features)
        self.weight_mu = nn.Parameter(torch.empty(out_features, in_features).uniform_(-bound, bound))
        self.weight_sigma = nn.Parameter(torch.full((out_features, in_features), sigma0 * bound))
        self.bias_mu = nn.Parameter(torch.empty(out_features).uniform_(-bound, bound))
        self.bias_sigma = nn.Parameter(torch.full((out_features,), sigma0 * bound))
        self.register_buffer("eps_in", torch.zeros(in_features), persistent=False)
        self.register_buffer("eps_out", torch.zeros(out_features), persistent=False)
        self.reset_noise()

    @staticmethod
    def _scaled(n: int) -> torch.Tensor:
        x = torch.randn(n)
        return x.sign() * x.abs().sqrt()

    def reset_noise(self) -> None:
        """Draws fresh noise (used until the next call)."""
        self.eps_in.copy_(self._scaled(self.in_features))
        self.eps_out.copy_(self._scaled(self.out_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return F.linear(x, self.weight_mu, self.bias_mu)
        weight = self.weight_mu + self.weight_sigma * torch.outer(self.eps_out, self.eps_in)
        bias = self.bias_mu + self.bias_sigma * self.eps_out
        return F.linear(x, weight, bias)


def _torso(spec: NetworkSpec) -> tuple[nn.Module, int]:
    kind = spec.resolved_torso()
    if kind == "mlp":
        if len(spec.obs_shape) != 1:
            raise KomiError(f"the MLP torso needs vector observations, got shape {spec.obs_shape}")
        layers: list[nn.Module] = []
        width = spec.obs_shape[0]
        for h in spec.hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        return nn.Sequential(*layers), width
    if len(spec.obs_shape) != 3:
        raise KomiError(f"the {kind} CNN needs image observations [C, H, W], got {spec.obs_shape}")
    c, h, w = spec.obs_shape
    if kind == "nature":
        convs = nn.Sequential(nn.Conv2d(c, 32, 8, 4), nn.ReLU(), nn.Conv2d(32, 64, 4, 2), nn.ReLU(),
                              nn.Conv2d(64, 64, 3, 1), nn.ReLU(), nn.Flatten())
        width = 512
    elif kind == "minatar":
        convs = nn.Sequential(nn.Conv2d(c, 16, 3, 1), nn.ReLU(), nn.Flatten())
        width = 128
    else:
        raise KomiError(f"unknown torso {kind!r}: choose nature, minatar, mlp or auto")
    with torch.no_grad():
        flat = convs(torch.zeros(1, c, h, w)).shape[1]
    return nn.Sequential(convs, nn.Linear(flat, width), nn.ReLU()), width


class QNetwork(nn.Module):
    """Maps observations [B, *obs_shape] to Q-values [B, A] (and, for C51, atom logits [B, A, atoms])."""

    def __init__(self, spec: NetworkSpec):
        super().__init__()
        self.spec = spec
        self.torso, width = _torso(spec)
        linear = (lambda i, o: NoisyLinear(i, o, spec.noisy_sigma0)) if spec.noisy else nn.Linear
        a, k = spec.num_actions, spec.atoms
        self.advantage = linear(width, a * k)
        self.value = linear(width, k) if spec.dueling else None
        # oneDNN runs the Nature CNN about 10% faster on CPU in channels-last layout (the small
        # MinAtar CNN is slower that way).
        self.channels_last = spec.resolved_torso() == "nature"
        if self.channels_last:
            self.torso.to(memory_format=torch.channels_last)
        self.register_buffer("support", torch.linspace(spec.v_min, spec.v_max, k) if k > 1 else torch.zeros(1))
        # The torso's layers in order, run as plain functional calls: the same operations as calling
        # the modules, without nn.Module's per-call bookkeeping (it cost ~10% of a small net's step).
        self._layers = [m for m in self.torso.modules() if not isinstance(m, nn.Sequential)]
        self._plain = all(type(m) in (nn.Linear, nn.ReLU, nn.Conv2d, nn.Flatten) for m in self._layers) and all(
            m.padding_mode == "zeros" for m in self._layers if isinstance(m, nn.Conv2d))

    def _run_torso(self, x: torch.Tensor) -> torch.Tensor:
        if not self._plain:
            return self.torso(x)
        for m in self._layers:
            kind = type(m)
            if kind is nn.Linear:
                x = F.linear(x, m.weight, m.bias)
            elif kind is nn.ReLU:
                x = torch.relu(x)
            elif kind is nn.Conv2d:
                x = F.conv2d(x, m.weight, m.bias, m.stride, m.padding, m.dilation, m.groups)
            else:
                x = x.flatten(m.start_dim, m.end_dim)
        return x

    def _features(self, obs: torch.Tensor) -> torch.Tensor:
        if self.channels_last:  # a no-op for batches the replay already stacked channels-last
            obs = obs.contiguous(memory_format=torch.channels_last)
        x = obs.float()
        if self.spec.obs_scale != 1.0:
            x = x.mul_(self.spec.obs_scale) if x is not obs else x * self.spec.obs_scale
        return self._run_torso(x)

    def _head(self, layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return layer(x) if self.spec.noisy else F.linear(x, layer.weight, layer.bias)

    def logits(self, obs: torch.Tensor) -> torch.Tensor:
        """[B, A, atoms]: Q-values (atoms = 1) or per-action atom logits (C51)."""
        return self._dueling(self._features(obs), atoms_axis=True)

    def _dueling(self, x: torch.Tensor, *, atoms_axis: bool) -> torch.Tensor:
        """The heads on torso features: A, or V + A - mean(A) with a dueling head."""
        adv = self._head(self.advantage, x)
        if atoms_axis:
            adv = adv.view(-1, self.spec.num_actions, self.spec.atoms)
        if self.value is None:
            return adv
        value = self._head(self.value, x)
        if atoms_axis:
            value = value.view(-1, 1, self.spec.atoms)
        return value + adv - adv.mean(dim=1, keepdim=True)

    def q_values(self, logits: torch.Tensor) -> torch.Tensor:
        """[B, A] expected Q-values from ``logits`` [B, A, atoms]."""
        if self.spec.atoms == 1:
            return logits.squeeze(-1)
        return (logits.softmax(dim=-1) * self.support).sum(dim=-1)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """[B, A] Q-values."""
        if self.spec.atoms > 1:
            return self.q_values(self.logits(obs))
        return self._dueling(self._features(obs), atoms_axis=False)   # no atoms axis to squeeze

    def reset_noise(self) -> None:
        for m in self.modules():
            if isinstance(m, NoisyLinear):
                m.reset_noise()
