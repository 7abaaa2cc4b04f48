"""TD losses: expected-value DQN (optionally Double) and C51's categorical cross-entropy."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from agent.dqn.networks import QNetwork


def td_loss(online: QNetwork, obs: torch.Tensor, actions: torch.Tensor, returns: torch.Tensor,
            discounts: torch.Tensor, next_obs: torch.Tensor, next_target_logits: torch.Tensor,
            weights: torch.Tensor | None, *, double: bool, loss: str = "huber"
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(scalar weighted loss, per-sample priorities [B], mean predicted Q) for one batch.

    ``next_target_logits`` [B, A, atoms] is the target network's output on ``next_obs`` (the caller
    computes it, possibly for many batches in one pass). Target y = returns + discounts ·
    Q_target(s', a*), a* = argmax of the online net (Double DQN) or of the target net.
    For C51 heads, the target distribution is projected onto the support. ``weights`` None means
    all 1 (uniform replay).
    """
    if online.spec.atoms > 1:
        if weights is None:
            weights = torch.ones_like(returns)
        return _categorical_loss(online, obs, actions, returns, discounts, next_obs, next_target_logits,
                                 weights, double=double)
    y = td_targets(online, next_obs, next_target_logits, returns, discounts, double=double)
    value, q = expected_loss(online, obs, actions, y, weights, loss=loss)
    return value, (y - q).abs(), q.mean()


def td_targets(online: QNetwork, next_obs: torch.Tensor, next_target_logits: torch.Tensor,
               returns: torch.Tensor, discounts: torch.Tensor, *, double: bool) -> torch.Tensor:
    """Expected-value heads: y [B] = returns + discounts · Q_target(s', a*), without gradient.

    Without Double DQN y depends only on the target net, so the caller may compute it for all the
    batches of a round of updates at once (element-wise, so the values are the same).
    """
    with torch.no_grad():
        next_target = next_target_logits.squeeze(-1)
        if double:
            next_value = next_target.gather(1, online(next_obs).argmax(dim=1, keepdim=True)).squeeze(1)
        else:
            next_value = next_target.max(dim=1).values
        return returns + discounts * next_value


def expected_loss(online: QNetwork, obs: torch.Tensor, actions: torch.Tensor, y: torch.Tensor,
                  weights: torch.Tensor | None, *, loss: str = "huber") -> tuple[torch.Tensor, torch.Tensor]:
    """(scalar loss, detached predicted Q(s, a) [B]): Huber or squared TD error, IS-weighted if given."""
    q = online(obs).gather(1, actions[:, None]).squeeze(1)
    fn = F.smooth_l1_loss if loss == "huber" else F.mse_loss
    if weights is None:
        return fn(q, y), q.detach()
    return (fn(q, y, reduction="none") * weights).mean(), q.detach()


def project_distribution(next_probs: torch.Tensor, returns: torch.Tensor, discounts: torch.Tensor,
                         support: torch.Tensor) -> torch.Tensor:
    """C51 projection: the distribution of returns + discounts·z (z ~ next_probs [B, K]) on ``support`` [K]."""
    k = support.numel()
    v_min, v_max = support[0].item(), support[-1].item()
    dz = (v_max - v_min) / (k - 1)
    tz = (returns[:, None] + discounts[:, None] * support[None, :]).clamp(v_min, v_max)
    b = (tz - v_min) / dz
    lower, upper = b.floor().long(), b.ceil().long()
    # When b lands exactly on an atom, lower == upper: give it all the mass.
    lower_w = (upper.float() - b) + (lower == upper).float()
    upper_w = b - lower.float()
    out = torch.zeros_like(next_probs)
    out.scatter_add_(1, lower, next_probs * lower_w)
    out.scatter_add_(1, upper, next_probs * upper_w)
    return out


def _categorical_loss(online, obs, actions, returns, discounts, next_obs, next_logits, weights, *, double):
    logits = online.logits(obs)
    log_p = logits[torch.arange(len(actions)), actions].log_softmax(dim=-1)
    with torch.no_grad():
        if double:
            best = online(next_obs).argmax(dim=1)
        else:
            best = online.q_values(next_logits).argmax(dim=1)
        next_probs = next_logits[torch.arange(len(best)), best].softmax(dim=-1)
        m = project_distribution(next_probs, returns, discounts, online.support)
    per_sample = -(m * log_p).sum(dim=-1)
    q = (log_p.exp() * online.support).sum(dim=-1)
    return (per_sample * weights).mean(), per_sample.detach(), q.detach().mean()
