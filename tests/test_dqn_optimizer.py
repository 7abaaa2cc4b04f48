"""agent.dqn.train.OptimizerStep: the direct fused-Adam path computes what zero_grad, backward,
clip_grad_norm_ and optimizer.step compute, and falls back to the public path on a torch whose
private kernel does not take the call."""
from __future__ import annotations

import torch

from agent.dqn.train import OptimizerStep


def _run(step_fn_factory, steps: int = 5) -> list[torch.Tensor]:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    x, y = torch.randn(32, 4), torch.randn(32, 2)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2, fused=True)
    step = step_fn_factory(net, opt)
    for _ in range(steps):
        step(((net(x) - y) ** 2).mean() * 100)   # large gradients: the clip is active
    return [p.detach().clone() for p in net.parameters()]


def _reference(net, opt):
    def step(loss):
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
    return step


def test_direct_step_matches_the_public_calls():
    direct = _run(lambda net, opt: OptimizerStep(net, opt, 1.0))
    reference = _run(_reference)
    for a, b in zip(direct, reference):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


def test_a_kernel_that_refuses_the_call_falls_back_to_the_public_path():
    def refuse(*args, **kwargs):
        raise TypeError("unexpected keyword")

    def refusing(net, opt):
        step = OptimizerStep(net, opt, 1.0)
        step._fused_adam = refuse   # as on a torch whose private kernel changed its signature
        return step

    fallback = _run(refusing)
    reference = _run(_reference)
    for a, b in zip(fallback, reference):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
