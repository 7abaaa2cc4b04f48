"""DQNConfig: every knob of a DQN run, with presets per environment family."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from komi.errors import KomiError


@dataclass(frozen=True)
class DQNConfig:
    """One DQN / Rainbow training run (saved into every checkpoint's metadata)."""

    env_id: str = "CartPole-v1"
    """Gymnasium id: ALE/<Game>-v5, <Game>NoFrameskip-v4, MinAtar/<Game>-v1, or a vector env."""
    seed: int = 1
    """Seeds torch, numpy, the environments (env i gets seed + i) and the replay sampler."""
    total_steps: int = 50_000
    """Environment steps to train for (summed over the vector envs)."""
    num_envs: int = 1
    """Environments stepped together (one batched forward pass picks all their actions)."""
    buffer_size: int = 50_000
    """Replay capacity in transitions."""
    batch_size: int = 64
    """Transitions per gradient step."""
    learning_rate: float = 1e-3
    """Adam learning rate."""
    anneal_lr: bool = False
    """Decay the learning rate linearly to 0 at total_steps (steadies the final policy)."""
    adam_eps: float = 1e-8
    """Adam epsilon (Rainbow used 1.5e-4 with lr 6.25e-5)."""
    gamma: float = 0.99
    """Discount factor."""
    learning_starts: int = 1_000
    """Environment steps of pure collection before the first update."""
    train_frequency: int = 1
    """Environment steps between rounds of updates."""
    gradient_steps: int = 1
    """Gradient steps per round."""
    target_update: int = 500
    """Environment steps between target-network updates."""
    tau: float = 1.0
    """Target update θ' ← τθ + (1-τ)θ': 1 is a hard copy, below 1 Polyak averaging."""
    eps_start: float = 1.0
    """Initial ε of ε-greedy exploration (ignored with noisy nets: ε is 0)."""
    eps_end: float = 0.05
    """Final ε."""
    exploration_fraction: float = 0.2
    """Fraction of total_steps over which ε decays linearly."""
    double: bool = True
    """Double DQN: the online net picks the next action, the target net values it."""
    dueling: bool = True
    """Dueling head: Q = V + A - mean(A)."""
    prioritized: bool = False
    """Prioritised replay (proportional, sum tree) with importance-sampling weights."""
    per_alpha: float = 0.5
    """Prioritised replay: priority exponent α."""
    per_beta0: float = 0.4
    """Prioritised replay: initial IS exponent β, annealed linearly to 1 at the end of training."""
    n_step: int = 3
    """n-step returns (1 = one-step TD)."""
    noisy: bool = False
    """Noisy linear layers in the head instead of ε-greedy exploration."""
    atoms: int = 1
    """1 for expected values; 51 for the C51 distributional head."""
    v_min: float = -10.0
    """C51 support minimum."""
    v_max: float = 10.0
    """C51 support maximum."""
    torso: str = "auto"
    """Network torso: auto (by observation shape), nature, minatar or mlp."""
    hidden: tuple[int, ...] = (256, 256)
    """MLP torso hidden sizes."""
    max_grad_norm: float = 10.0
    """Gradient-norm clip (0 disables)."""
    loss: str = "huber"
    """TD loss for expected-value heads: huber or mse (C51 uses cross-entropy)."""
    frame_stack: int = 4
    """ALE: frames per observation."""
    noop_max: int = 30
    """ALE: random no-op starts."""
    sticky_action_prob: float | None = None
    """ALE: repeat-action probability; None keeps the id's default (v5: 0.25)."""
    terminal_on_life_loss: bool = True
    """ALE: a lost life ends the training episode."""
    clip_rewards: bool = True
    """ALE: clip training rewards to their sign."""
    torch_threads: int = 1
    """torch.set_num_threads for this process (0 keeps torch's default)."""
    device: str = "cpu"
    """Torch device for the networks: cpu, cuda, cuda:1..."""
    checkpoint_every: int = 25_000
    """Environment steps between checkpoints (one is always written at the end)."""
    save_replay: bool = False
    """Also save the replay buffer with each checkpoint so --resume continues it exactly."""
    eval_episodes: int = 20
    """Greedy evaluation episodes at the end of training (0 skips it)."""
    eval_epsilon: float = 0.0
    """ε during that evaluation (0.001 or 0.05 are the Atari conventions)."""

    def replace(self, **changes) -> "DQNConfig":
        return dataclasses.replace(self, **changes)

    def check(self) -> None:
        """Raises KomiError on inconsistent values, before anything is built."""
        problems = []
        if self.total_steps <= 0:
            problems.append("total_steps must be positive")
        if self.num_envs < 1:
            problems.append("num_envs must be at least 1")
        if self.batch_size < 1 or self.n_step < 1 or self.train_frequency < 1 or self.target_update < 1:
            problems.append("batch_size, n_step, train_frequency and target_update must be positive")
        if not 0 < self.tau <= 1:
            problems.append("tau must be in (0, 1]")
        if self.atoms < 1 or self.atoms == 2 or self.v_min >= self.v_max:
            problems.append("atoms must be 1 or at least 3, with v_min < v_max")
        if self.loss not in ("huber", "mse"):
            problems.append(f"loss {self.loss!r} is not huber or mse")
        if self.buffer_size // self.num_envs <= self.n_step + self.frame_stack + 1:
            problems.append("buffer_size is too small for num_envs, n_step and frame_stack")
        if problems:
            raise KomiError("bad DQN settings: " + "; ".join(problems))


RAINBOW = dict(double=True, dueling=True, prioritized=True, n_step=3, noisy=True, atoms=51)
"""The Rainbow switches (Hessel et al. 2018), applied on top of a preset with --rainbow."""

PRESETS: dict[str, DQNConfig] = {
    # Vector envs such as CartPole-v1: Double + dueling + 3-step on a 128×128 MLP; the annealed
    # learning rate keeps the final greedy policy at 500 (a constant one drifts off it late).
    "cartpole": DQNConfig(hidden=(128, 128), anneal_lr=True),
    # MinAtar paper (Young & Tian 2019) DQN settings, with Adam.
    "minatar": DQNConfig(env_id="MinAtar/Breakout-v1", total_steps=1_000_000, buffer_size=100_000,
                         batch_size=32, learning_rate=2.5e-4, learning_starts=5_000, target_update=1_000,
                         eps_end=0.1, exploration_fraction=0.1, double=False, dueling=False, n_step=1,
                         checkpoint_every=100_000, eval_episodes=100, eval_epsilon=0.0),
    # Nature DQN protocol with CleanRL's dqn_atari settings (10M steps, 1M buffer).
    "atari": DQNConfig(env_id="ALE/Breakout-v5", total_steps=10_000_000, buffer_size=1_000_000,
                       batch_size=32, learning_rate=1e-4, adam_eps=1.5e-4, learning_starts=80_000,
                       train_frequency=4, target_update=1_000, eps_end=0.01, exploration_fraction=0.1,
                       double=False, dueling=False, n_step=1, checkpoint_every=250_000,
                       eval_episodes=30, eval_epsilon=0.001),
}


def preset_for_family(family: str) -> str:
    """The preset name used for an env family when none is given."""
    return {"atari": "atari", "minatar": "minatar"}.get(family, "cartpole")


def config_from_dict(values: dict) -> DQNConfig:
    """Rebuilds a DQNConfig from checkpoint metadata (unknown keys are an error)."""
    names = {f.name for f in dataclasses.fields(DQNConfig)}
    unknown = set(values) - names
    if unknown:
        raise KomiError(f"checkpoint config has unknown DQN settings: {sorted(unknown)}")
    values = dict(values)
    if "hidden" in values:
        values["hidden"] = tuple(values["hidden"])
    return DQNConfig(**values)
