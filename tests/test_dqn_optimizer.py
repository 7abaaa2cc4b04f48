"""agent.dqn.train.OptimizerStep: the direct fused-Adam path computes what zero_grad, backward,
clip_grad_norm_ and optimizer.step compute, and falls back to the public path on a torch whose
private kernel does not take the call."""
from __future__ import annotations

import torch

from agent.dqn.train import OptimizerStep


def _run(step_fn_factory, steps: int = 5, loss_scale: float = 100.0) -> list[torch.Tensor]:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    x, y = torch.randn(32, 4), torch.randn(32, 2)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2, fused=True)
    step = step_fn_factory(net, opt)
    for _ in range(steps):
        step(((net(x) - y) ** 2).mean() * loss_scale)   # 100: large gradients, the clip is active
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


def test_direct_step_matches_when_the_clip_is_inactive():
    # Gradient norms far under the cap: the step skips the multiply by 1 and must change nothing.
    direct = _run(lambda net, opt: OptimizerStep(net, opt, 1.0), loss_scale=1e-3)
    reference = _run(_reference, loss_scale=1e-3)
    for a, b in zip(direct, reference):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


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


def test_pick_threads_keeps_the_faster_count_through_a_load_burst_and_touches_nothing(monkeypatch):
    from agent.dqn import train as train_mod
    from agent.dqn.config import PRESETS
    from agent.dqn.networks import NetworkSpec, QNetwork

    net = QNetwork(NetworkSpec(obs_shape=(4,), num_actions=2, hidden=(8,)))
    before = [p.detach().clone() for p in net.parameters()]
    rng = torch.get_rng_state()
    cfg = PRESETS["cartpole"].replace(train_frequency=1, gradient_steps=1, batch_size=4)
    # A clock on which every round with 2 threads takes 1 s and every round with 1 thread 2 s,
    # except one burst of 100 s on a 2-thread round: the fastest round decides, so 2 threads win.
    clock = {"calls": 0, "t": 0.0}

    def fake_clock():
        clock["calls"] += 1
        if clock["calls"] % 2 == 0:   # the end of a round
            burst = clock["calls"] == 4
            clock["t"] += 100.0 if burst else (1.0 if torch.get_num_threads() == 2 else 2.0)
        return clock["t"]

    threads = torch.get_num_threads()
    monkeypatch.setattr(train_mod.time, "perf_counter", fake_clock)
    try:
        assert train_mod.pick_threads(net, cfg, 2) == 2
    finally:
        monkeypatch.undo()
        torch.set_num_threads(threads)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))
    assert torch.equal(rng, torch.get_rng_state())
