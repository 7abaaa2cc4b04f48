"""The DQN training loop, top to bottom (CleanRL style): act, store, learn, sync target, save.

All the Rainbow ingredients are switches of DQNConfig: Double DQN, dueling, prioritised replay,
n-step returns, noisy nets and C51. Checkpoints (safetensors + JSON, ``agent.checkpoint``) go to
the run directory together with ``episodes.csv``, ``learning_curve.png`` and TensorBoard logs.
"""
from __future__ import annotations

import copy
import csv
import dataclasses
import io
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from agent.checkpoint import (CheckpointError, checkpoint_name, latest_checkpoint, load_training_state,
                              load_weights, read_metadata, save_checkpoint)
from agent.dqn.config import DQNConfig
from agent.dqn.evaluate import env_options, run_episodes, write_learning_curve
from agent.dqn.losses import expected_loss, td_loss, td_targets
from agent.dqn.networks import NetworkSpec, QNetwork
from agent.dqn.replay import ReplayBuffer
from envs.atari import env_family, make_vector_env

KEEP_CHECKPOINTS = 2


@dataclass
class Timings:
    """Seconds spent in each part of the loop."""

    env: float = 0.0
    """Stepping the environments."""
    act: float = 0.0
    """Choosing actions (network forward, ε-greedy)."""
    replay_add: float = 0.0
    """Writing transitions into the replay buffer."""
    replay_sample: float = 0.0
    """Drawing minibatches (stacks, n-step returns, priorities)."""
    update: float = 0.0
    """Loss, backward pass, optimizer step, target sync."""

    def total(self) -> float:
        return self.env + self.act + self.replay_add + self.replay_sample + self.update


@dataclass
class TrainResult:
    """What a finished run returns."""

    checkpoint: Path
    """Stem of the final checkpoint."""
    steps: int
    """Environment steps done (over all runs of a resumed training)."""
    episodes: list[tuple[int, float, int]]
    """(step, return, length) of every finished game."""
    eval_returns: list[float]
    """Returns of the final evaluation episodes (empty if skipped)."""
    timings: Timings
    """Where this process's time went."""
    steps_per_second: float
    """Environment steps per wall-clock second in this process."""
    updates: int = 0
    """Gradient steps done in this process."""
    seconds: float = 0.0
    """Wall-clock seconds of the loop in this process."""
    cpu_seconds: float = 0.0
    """CPU seconds (all threads) of the loop in this process."""
    seconds_before_learning: float | None = None
    """Wall-clock seconds until the first gradient step (None if there was none)."""
    steps_before_learning: int | None = None
    """Environment steps done in this process before the first gradient step."""
    threads: int = 1
    """Intra-op threads the loop ran with (``pick_threads``: 1 or the torch_threads cap)."""


class OptimizerStep:
    """zero_grad + backward + clip_grad_norm_ + optimizer.step, with less Python around the kernels.

    The same arithmetic as ``clip_grad_norm_(params, max_norm, foreach=True)`` followed by
    ``optimizer.step()``: the per-tensor norms, their norm, the clamped coefficient, one foreach
    multiply; for a fused single-group Adam the step counters and ``torch._fused_adam_`` are called
    directly, on the optimizer's own state (so its ``state_dict`` is unchanged). Anything else goes
    through ``optimizer.step()``. On a small network this halves the time outside the matrix products.
    """

    def __init__(self, net: torch.nn.Module, optimizer: torch.optim.Optimizer, max_grad_norm: float):
        self.params = [p for p in net.parameters() if p.requires_grad]
        self.optimizer, self.max_grad_norm = optimizer, float(max_grad_norm)
        group = optimizer.param_groups[0]
        self._fused_adam = getattr(torch, "_fused_adam_", None)   # private: a torch may lack or change it
        self.direct = (type(optimizer) is torch.optim.Adam and self._fused_adam is not None
                       and len(optimizer.param_groups) == 1 and group["fused"]
                       and not (group["amsgrad"] or group["maximize"] or group["differentiable"]
                                or group["capturable"] or group.get("decoupled_weight_decay", False))
                       and not torch.is_tensor(group["lr"]) and len(group["params"]) == len(self.params)
                       and all(a is b for a, b in zip(group["params"], self.params)))
        self._state: tuple | None = None

    def __call__(self, loss: torch.Tensor) -> None:
        params = self.params
        for p in params:
            p.grad = None
        loss.backward()
        grads = [p.grad for p in params if p.grad is not None]  # as clip_grad_norm_ does
        if self.max_grad_norm > 0 and grads:
            total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads, 2.0)), 2.0)
            clip_coef = torch.clamp(self.max_grad_norm / (total + 1e-6), max=1.0)
            # On the CPU reading the coefficient costs nothing, and when it is 1 (the norm is under
            # the cap, the usual case) the multiply is an identity pass over every gradient.
            if total.device.type != "cpu" or clip_coef.item() < 1.0:
                torch._foreach_mul_(grads, clip_coef)
        if not self.direct or len(grads) < len(params) or len(self.optimizer.state) < len(params):
            self.optimizer.step()  # also the first step, which creates the optimizer state
            self._state = None
            return
        if self._state is None:
            states = [self.optimizer.state[p] for p in params]
            self._state = ([s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states],
                           [s["step"] for s in states], states)
        exp_avgs, exp_avg_sqs, steps, states = self._state
        if any(s["exp_avg"] is not e for s, e in zip(states, exp_avgs)):  # the state was reloaded
            self._state = None
            self.optimizer.step()
            return
        group = self.optimizer.param_groups[0]
        beta1, beta2 = group["betas"]
        torch._foreach_add_(steps, 1)
        try:
            self._fused_adam(params, grads, exp_avgs, exp_avg_sqs, [], steps, amsgrad=False, lr=group["lr"],
                             beta1=beta1, beta2=beta2, weight_decay=group["weight_decay"], eps=group["eps"],
                             maximize=False, grad_scale=None, found_inf=None)
        except (TypeError, RuntimeError):  # a torch whose private kernel differs: the public path from now on
            torch._foreach_add_(steps, -1)
            self.direct, self._state = False, None
            self.optimizer.step()


def pick_threads(net: QNetwork, cfg: DQNConfig, cap: int, repeats: int = 3, min_seconds: float = 0.25) -> int:
    """The intra-op thread count, 1 or ``cap``, that runs this network's share of the loop faster
    (wall clock).

    ``torch_threads`` is a cap: small networks (and any network on a busy machine, where a second
    thread waits for a core at every parallel region) run slower with more threads. A copy of the
    network does rounds of the loop's network work on zero inputs, alternating the two counts: the
    greedy actions of ``train_frequency`` steps (a batch of ``num_envs``) and ``gradient_steps``
    forward/backward passes of the run's batch size. Each count gets at least ``repeats`` rounds
    and ``min_seconds``; its fastest round is its time, so that a burst of load from elsewhere
    during the probe (common on shared machines) does not decide the run's thread count.
    Acting counts: a second thread can speed up the updates of a small network and still slow the
    loop, whose single-observation forward passes it only burdens. Neither the run's weights nor
    its random streams are touched.
    """
    probe = copy.deepcopy(net)
    obs = torch.zeros((cfg.batch_size,) + tuple(net.spec.obs_shape))
    act_obs = torch.zeros((cfg.num_envs,) + tuple(net.spec.obs_shape))
    actions = torch.zeros(cfg.batch_size, dtype=torch.long)

    def update() -> None:
        for _ in range(cfg.train_frequency):
            with torch.inference_mode():
                probe(act_obs).argmax(dim=1)
        for _ in range(cfg.gradient_steps):
            with torch.no_grad():
                probe.logits(obs)
            probe(obs).gather(1, actions[:, None]).sum().backward()

    for n in (1, cap):  # warm-up (allocations, oneDNN primitives)
        torch.set_num_threads(n)
        update()
    times: dict[int, list[float]] = {1: [], cap: []}
    while len(times[1]) < repeats or min(sum(t) for t in times.values()) < min_seconds:
        for n, rounds in times.items():
            torch.set_num_threads(n)
            t0 = time.perf_counter()
            update()
            rounds.append(time.perf_counter() - t0)
    return cap if min(times[cap]) < 0.9 * min(times[1]) else 1  # more threads must pay clearly


def linear_schedule(start: float, end: float, duration: float, t: float) -> float:
    """Linear interpolation from start to end over duration, then end."""
    if duration <= 0:
        return end
    return start + (end - start) * min(1.0, t / duration)


def network_spec(cfg: DQNConfig, obs_shape: tuple[int, ...], num_actions: int, family: str) -> NetworkSpec:
    return NetworkSpec(obs_shape=tuple(obs_shape), num_actions=num_actions, torso=cfg.torso,
                       hidden=tuple(cfg.hidden), dueling=cfg.dueling, noisy=cfg.noisy, atoms=cfg.atoms,
                       v_min=cfg.v_min, v_max=cfg.v_max,
                       obs_scale=1.0 / 255.0 if family == "atari" else 1.0)


def train(cfg: DQNConfig, run_dir: str | os.PathLike, *, resume: bool = False, progress: bool = True,
          tensorboard: bool = True) -> TrainResult:
    """Trains (or, with ``resume``, continues training) a DQN agent; returns the final checkpoint."""
    cfg.check()
    family = env_family(cfg.env_id)  # unknown ids fail here, before anything is built
    run_dir = Path(run_dir)
    start = _find_resume_point(run_dir, cfg) if resume else None

    if cfg.torch_threads > 0:
        torch.set_num_threads(cfg.torch_threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    device = torch.device(cfg.device)

    envs = make_vector_env(cfg.env_id, cfg.num_envs, cfg.seed, training=True, options=env_options(cfg))
    obs_shape = envs.single_observation_space.shape
    num_actions = int(envs.single_action_space.n)
    spec = network_spec(cfg, obs_shape, num_actions, family)
    online = QNetwork(spec).to(device)
    target = copy.deepcopy(online)
    optimizer = torch.optim.Adam(online.parameters(), lr=cfg.learning_rate, eps=cfg.adam_eps, fused=True)
    replay = ReplayBuffer(cfg.buffer_size, obs_shape, envs.single_observation_space.dtype,
                          num_envs=cfg.num_envs, frame_stack=cfg.frame_stack if family == "atari" else 1,
                          n_step=cfg.n_step, gamma=cfg.gamma, prioritized=cfg.prioritized,
                          alpha=cfg.per_alpha, seed=cfg.seed, channels_last=online.channels_last)

    if device.type == "cpu" and torch.get_num_threads() > 1:
        torch.set_num_threads(pick_threads(online, cfg, torch.get_num_threads()))
    global_step, episodes, learn_from = 0, [], cfg.learning_starts
    if start is not None:
        global_step, episodes, learn_from = _restore(start, run_dir, online, target, optimizer, replay, rng)
        print(f"resuming {cfg.env_id} from {start} at step {global_step}")

    writer = _writer(run_dir, cfg) if tensorboard else None
    meta = dict(kind="dqn", env_id=cfg.env_id, family=family,
                architecture=dict(kind="QNetwork", spec=dataclasses.asdict(spec)),
                config=dataclasses.asdict(cfg))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=cfg.total_steps, initial=global_step, unit="step", dynamic_ncols=True,
                   desc=cfg.env_id)

    timings, updates = Timings(), 0
    last_loss_t = last_q_t = torch.full((), float("nan"))
    expected = cfg.atoms == 1
    optimizer_step = OptimizerStep(online, optimizer, cfg.max_grad_norm)
    to_tensor = torch.from_numpy if device.type == "cpu" else (lambda x: torch.as_tensor(x, device=device))
    first_update_at: tuple[float, int] | None = None
    next_target = (global_step // cfg.target_update + 1) * cfg.target_update
    first_train = max(learn_from, global_step + 1)
    next_train = -(-first_train // cfg.train_frequency) * cfg.train_frequency
    next_save = (global_step // cfg.checkpoint_every + 1) * cfg.checkpoint_every
    obs = envs.reset(seed=cfg.seed + global_step)
    t_start, cpu_start, steps_at_start = time.perf_counter(), time.process_time(), global_step
    online.train()
    target.train()

    while global_step < cfg.total_steps:
        # 1. Act: ε-greedy (noisy nets explore through their weights instead).
        t0 = time.perf_counter()
        epsilon = 0.0 if cfg.noisy else linear_schedule(
            cfg.eps_start, cfg.eps_end, cfg.exploration_fraction * cfg.total_steps, global_step)
        explore = rng.random(cfg.num_envs) < epsilon
        if global_step < learn_from:  # nothing learnt yet: uniform random actions, no forward pass
            explore[:] = True
        actions = rng.integers(num_actions, size=cfg.num_envs)
        if not explore.all():
            if cfg.noisy:
                online.reset_noise()
            with torch.inference_mode():
                greedy = online(to_tensor(obs)).argmax(dim=1)
            greedy = greedy.numpy() if device.type == "cpu" else greedy.cpu().numpy()
            actions = np.where(explore, actions, greedy)
        t1 = time.perf_counter()

        # 2. Step the environments and store the transitions.
        step = envs.step(actions)
        t2 = time.perf_counter()
        replay.add(obs, actions, step.reward, step.terminated, step.truncated, step.final_obs)
        obs = step.obs
        global_step += cfg.num_envs
        t3 = time.perf_counter()
        timings.act += t1 - t0
        timings.env += t2 - t1
        timings.replay_add += t3 - t2
        for ret, length in step.episodes:
            episodes.append((global_step, ret, length))
            if writer is not None:
                writer.add_scalar("charts/episodic_return", ret, global_step)
                writer.add_scalar("charts/episodic_length", length, global_step)

        # 3. Learn: gradient_steps updates every train_frequency steps once learning has started.
        while global_step >= next_train and replay.count.min() > cfg.n_step:
            if first_update_at is None:
                first_update_at = (time.perf_counter() - t_start, global_step - steps_at_start)
            next_train += cfg.train_frequency
            beta = linear_schedule(cfg.per_beta0, 1.0, cfg.total_steps, global_step)
            if cfg.anneal_lr:
                for group in optimizer.param_groups:
                    group["lr"] = linear_schedule(cfg.learning_rate, 0.0, cfg.total_steps, global_step)
            # Without priorities or noise, a round's batches do not depend on its updates and the
            # target net is fixed during the round: draw them all at once, run the target net once
            # (and, without Double DQN, compute all the round's TD targets in one go).
            bulk = cfg.gradient_steps > 1 and not (cfg.prioritized or cfg.noisy)
            size = cfg.batch_size
            for g in range(cfg.gradient_steps):
                t0 = time.perf_counter()
                if g == 0 or not bulk:
                    batch = replay.sample(size * cfg.gradient_steps if bulk else size, beta)
                    arrays = [batch.obs, batch.actions, batch.returns, batch.discounts, batch.next_obs]
                    if cfg.prioritized:
                        arrays.append(batch.weights)  # uniform replay: all 1, left out of the loss
                    tensors = [to_tensor(x) for x in arrays]
                    t1 = time.perf_counter()
                    if cfg.noisy:
                        online.reset_noise()
                        target.reset_noise()
                    with torch.no_grad():
                        tensors.append(target.logits(tensors[4]))
                    if expected and not cfg.double:
                        tensors.append(td_targets(online, tensors[4], tensors[-1], tensors[2], tensors[3],
                                                  double=False))
                    parts = list(zip(*(t.split(size) for t in tensors))) if bulk else [tensors]
                else:
                    t1 = t0
                obs_t, actions_t, returns_t, discounts_t, next_obs_t, *rest = parts[g if bulk else 0]
                weights_t = rest.pop(0) if cfg.prioritized else None
                if expected:
                    y_t = rest[1] if not cfg.double else td_targets(online, next_obs_t, rest[0], returns_t,
                                                                    discounts_t, double=True)
                    loss, q_t = expected_loss(online, obs_t, actions_t, y_t, weights_t, loss=cfg.loss)
                else:
                    loss, priorities, q_t = td_loss(online, obs_t, actions_t, returns_t, discounts_t,
                                                    next_obs_t, rest[0], weights_t, double=cfg.double)
                optimizer_step(loss)
                if cfg.prioritized:
                    if expected:
                        priorities = (y_t - q_t).abs()
                    replay.update_priorities(batch.indices, priorities.cpu().numpy())
                updates += 1
                t2 = time.perf_counter()
                timings.replay_sample += t1 - t0
                timings.update += t2 - t1
            last_loss_t, last_q_t = loss.detach(), q_t  # read (.item()) only when logged

        # 4. Sync the target network (hard copy, or Polyak averaging with tau < 1).
        if global_step >= next_target:
            next_target += cfg.target_update
            t0 = time.perf_counter()
            with torch.no_grad():
                for p_target, p in zip(target.parameters(), online.parameters()):
                    p_target.lerp_(p, cfg.tau)
            timings.update += time.perf_counter() - t0

        # 5. Log and save.
        if bar is not None:
            bar.update(cfg.num_envs)
            if step.episodes or global_step % 1000 < cfg.num_envs:
                recent = [e[1] for e in episodes[-20:]]
                sps = (global_step - steps_at_start) / max(1e-9, time.perf_counter() - t_start)
                bar.set_postfix(ret=f"{np.mean(recent):.1f}" if recent else "-", sps=f"{sps:.0f}",
                                eps=f"{epsilon:.2f}", refresh=False)
        if writer is not None and global_step % 1000 < cfg.num_envs:
            sps = (global_step - steps_at_start) / max(1e-9, time.perf_counter() - t_start)
            writer.add_scalar("charts/SPS", sps, global_step)
            writer.add_scalar("charts/epsilon", epsilon, global_step)
            if updates:
                writer.add_scalar("losses/td_loss", last_loss_t.item(), global_step)
                writer.add_scalar("losses/q_values", last_q_t.mean().item(), global_step)
            total = max(1e-9, timings.total())
            for part in ("env", "act", "replay_add", "replay_sample", "update"):
                writer.add_scalar(f"time/{part}_fraction", getattr(timings, part) / total, global_step)
        if global_step >= next_save and global_step < cfg.total_steps:
            next_save += cfg.checkpoint_every
            _save(run_dir, meta, global_step, episodes, online, target, optimizer, replay, rng, cfg)

    seconds, cpu_seconds = time.perf_counter() - t_start, time.process_time() - cpu_start
    if bar is not None:
        bar.close()
    envs.close()
    stem = _save(run_dir, meta, global_step, episodes, online, target, optimizer, replay, rng, cfg)
    eval_returns: list[float] = []
    if cfg.eval_episodes > 0:
        eval_returns, _ = run_episodes(online, cfg, cfg.eval_episodes, cfg.eval_epsilon,
                                       seed=cfg.seed + 10_000, device=str(device))
        if writer is not None:
            writer.add_scalar("eval/mean_return", float(np.mean(eval_returns)), global_step)
    if writer is not None:
        writer.close()
    return TrainResult(checkpoint=stem, steps=global_step, episodes=episodes, eval_returns=eval_returns,
                       timings=timings, steps_per_second=(global_step - steps_at_start) / max(seconds, 1e-9),
                       updates=updates, seconds=seconds, cpu_seconds=cpu_seconds,
                       seconds_before_learning=first_update_at and first_update_at[0],
                       steps_before_learning=first_update_at and first_update_at[1],
                       threads=torch.get_num_threads())


def _writer(run_dir: Path, cfg: DQNConfig):
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(run_dir / "tb"))
    rows = "\n".join(f"|{k}|{v}|" for k, v in dataclasses.asdict(cfg).items())
    writer.add_text("hyperparameters", f"|param|value|\n|-|-|\n{rows}")
    return writer


def _find_resume_point(run_dir: Path, cfg: DQNConfig) -> Path | None:
    """The checkpoint to resume from (None: start fresh); CheckpointError if it is for another env."""
    stem = latest_checkpoint(run_dir)
    if stem is None:
        return None
    meta = read_metadata(stem)
    if meta.get("kind") != "dqn" or meta.get("env_id") != cfg.env_id:
        raise CheckpointError(f"{stem}: cannot resume: it was trained on {meta.get('env_id')!r}, "
                              f"this run is for {cfg.env_id!r}")
    return stem


def _save(run_dir: Path, meta: dict, step: int, episodes, online, target, optimizer, replay, rng,
          cfg: DQNConfig) -> Path:
    recent = [e[1] for e in episodes[-100:]]
    metrics = dict(episodes=len(episodes), mean_return_last_100=float(np.mean(recent)) if recent else None)
    state = dict(optimizer=optimizer.state_dict(), target=target.state_dict(),
                 torch_rng=torch.get_rng_state(), numpy_rng=rng.bit_generator.state)
    if cfg.save_replay:
        replay.save(str(run_dir / "replay"))
        state["replay_step"] = step
    _write_episodes(run_dir / "episodes.csv", episodes)
    stem = save_checkpoint(run_dir / checkpoint_name(step), online, dict(meta, step=step, metrics=metrics),
                           training_state=state)
    write_learning_curve(episodes, run_dir / "learning_curve.png", title=f"DQN on {cfg.env_id}")
    older = sorted(p for p in run_dir.glob("step-*.json") if not p.name.endswith(".optim.json"))
    for old in older[:-KEEP_CHECKPOINTS]:
        base = old.with_suffix("")
        for suffix in (".json", ".safetensors", ".optim.json", ".optim.safetensors"):
            base.with_name(base.name + suffix).unlink(missing_ok=True)
    return stem


def _restore(stem: Path, run_dir: Path, online, target, optimizer, replay: ReplayBuffer, rng):
    meta = load_weights(stem, online)
    state = load_training_state(stem)
    target.load_state_dict(state["target"])
    optimizer.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["torch_rng"])
    rng.bit_generator.state = state["numpy_rng"]
    step = int(meta["step"])
    episodes = _read_episodes(run_dir / "episodes.csv", up_to=step)
    learn_from = step + meta["config"]["learning_starts"]  # refill an empty buffer first
    if state.get("replay_step") == step and (run_dir / "replay").is_dir():
        replay.load(str(run_dir / "replay"))
        learn_from = step
    return step, episodes, learn_from


def _write_episodes(path: Path, episodes) -> None:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["step", "return", "length"])
    w.writerows(episodes)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text(buf.getvalue())
    os.replace(tmp, path)


def _read_episodes(path: Path, up_to: int) -> list[tuple[int, float, int]]:
    if not path.is_file():
        return []
    with open(path) as f:
        rows = list(csv.reader(f))[1:]
    return [(int(s), float(r), int(n)) for s, r, n in rows if int(s) <= up_to]
