"""The Player seam: anything that can take part in a game — our networks, random, GTP engines.

A Player keeps its own copy of the game, like a GTP engine does:

    reset(size, komi)          new empty board
    setup(black, white)        setup stones (handicap) before the first move
    play(move, color)          the opponent's (or a forced) move
    genmove(color) -> move     choose a move for `color` AND play it on the player's own board
    analyze() -> Analysis      what the player thought of its last position (None if it cannot say)
    close()                    release processes/devices

Moves are indices row * size + col (row 0 = top), size*size = pass, RESIGN = -1.
The tournament, `komi play` and `komi gtp` only ever see Players.
"""
from __future__ import annotations

import shlex
import shutil
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from agent.endgame import end_of_game_move, own_eye_mask
from komi.errors import KomiError

RESIGN = -1
"""The move a player returns to resign."""


class PlayerError(KomiError):
    """A player cannot be built from its description, or cannot play the requested game."""


@dataclass(frozen=True)
class MoveInfo:
    """One candidate move in an analysis."""

    move: int
    """Move index (size*size = pass)."""
    visits: int
    """Search visits spent on it (0 for the network alone)."""
    winrate: float
    """Estimated probability that the side to move wins after this move, in [0, 1]."""
    prior: float
    """Network policy probability, in [0, 1]."""
    pv: tuple[int, ...] = ()
    """Principal variation starting with `move`."""


@dataclass(frozen=True)
class Analysis:
    """A player's view of one position, for hints, win-rate display and GTP analysis output."""

    to_play: int
    """Colour to move in the analysed position (BLACK=1 / WHITE=-1)."""
    winrate: float
    """Estimated probability that the side to move wins, in [0, 1]."""
    moves: tuple[MoveInfo, ...] = ()
    """Candidate moves, best first."""
    visits: int = 0
    """Total visits of the search (0 or 1 for the network alone)."""


class Player(ABC):
    """One participant in a game; see the module docstring for the protocol."""

    name: str = "player"

    @abstractmethod
    def reset(self, size: int, komi: float) -> None:
        """Start a new game on an empty board."""

    @abstractmethod
    def setup(self, black: Sequence[int], white: Sequence[int]) -> None:
        """Place setup stones (handicap) before the first move."""

    @abstractmethod
    def play(self, move: int, color: int) -> None:
        """Play a move for `color` on the player's board."""

    @abstractmethod
    def genmove(self, color: int) -> int:
        """Choose a move for `color`, play it on the player's own board and return it."""

    def analyze(self) -> Analysis | None:
        """The analysis behind the last genmove (None if this player has none)."""
        return None

    def set_move_time(self, seconds: float | None) -> None:
        """Time the next moves may take (from GTP time_left, `komi play --seconds`); None = no limit."""

    def final_score(self) -> str | None:
        """The player's own idea of the result ("B+3.5"), if it has one (GTP engines)."""
        return None

    def close(self) -> None:
        """Release processes or devices."""

    def __enter__(self) -> "Player":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class BoardPlayer(Player):
    """A Player that keeps the game (agent.game.GameState) and decides from its Board."""

    def __init__(self, superko: str = "positional") -> None:
        self.superko = superko
        self.game = None

    @property
    def board(self):
        """The player's current Board (None before reset)."""
        return None if self.game is None else self.game.board

    def reset(self, size: int, komi: float) -> None:
        from agent.game import GameState

        self.game = GameState(size=size, komi=komi, superko=self.superko)

    def setup(self, black: Sequence[int], white: Sequence[int]) -> None:
        self._need_game().set_setup(black, white)

    def play(self, move: int, color: int) -> None:
        self._need_game().play(move, color)

    def genmove(self, color: int) -> int:
        from agent.game import board_for

        game = self._need_game()
        move = self.choose(board_for(game.board, color))  # GTP may ask either colour to move
        if move != RESIGN:
            game.play(move, color)
        return move

    @abstractmethod
    def choose(self, board) -> int:
        """Pick a move for the side to move on `board` (do not play it)."""

    def _need_game(self):
        if self.game is None:
            raise PlayerError(f"{self.name}: reset(size, komi) must come before moves")
        return self.game


class RandomPlayer(BoardPlayer):
    """Uniformly random legal moves that do not fill its own true eyes; passes when none is left."""

    def __init__(self, seed: int | None = None, name: str = "random") -> None:
        super().__init__()
        self.name = name
        self.rng = np.random.default_rng(seed)

    def choose(self, board) -> int:
        n2 = board.size * board.size
        legal = np.asarray(board.legal_moves())
        legal = legal[legal < n2]
        if legal.size:
            legal = legal[~own_eye_mask(np.asarray(board.stones()), board.to_play)[legal]]
        if legal.size == 0:
            return n2
        return int(self.rng.choice(legal))


@dataclass(frozen=True)
class NetworkPlayerConfig:
    """How a checkpoint player chooses moves."""

    visits: int = 1
    """Search visits per move; 1 = the network alone (argmax of the policy over legal moves)."""
    temperature: float = 0.0
    """0 = always the most likely legal move; > 0 samples the policy ** (1 / temperature)."""
    resign_threshold: float = 0.0
    """Resign when the estimated win rate falls below this (0 = never resign)."""
    pass_safety: bool = True
    """End the game like a careful human (agent.endgame): pass after the opponent's pass when the
    count wins; never pass while a pass loses the count, but play a useful move instead (not an
    own eye, not the own area) and pass when none is left; late in the game pass rather than fill
    the own area while the count wins. False: pass whenever the network or search prefers it."""
    resign_after: int = 20
    """Never resign before this many moves have been played."""
    resign_consecutive: int = 2
    """Resign only after this many own moves in a row below the threshold (one bad evaluation
    never resigns a game)."""
    device: str = "cpu"
    """Torch device for the network."""
    seed: int | None = None
    """Random seed for sampling."""
    top_moves: int = 10
    """How many candidate moves an analysis keeps."""


class PolicyPlayer(BoardPlayer):
    """A checkpoint's network alone: one evaluation per move, best legal move of the policy."""

    def __init__(self, checkpoint: str | Path, config: NetworkPlayerConfig = NetworkPlayerConfig(),
                 name: str | None = None) -> None:
        from agent.checkpoint import load_network
        from agent.evaluator import TorchEvaluator

        super().__init__()
        self.config = config
        self.checkpoint = Path(checkpoint)
        net, meta = load_network(checkpoint, device=config.device)
        self.net, self.meta = net, meta
        self.board_size = int(meta["board_size"])
        self.feature_set = str(meta.get("feature_set", "extended"))
        self.step = meta.get("step")
        self.evaluator = TorchEvaluator(net, device=config.device)
        self.name = name or self.checkpoint.name
        self.rng = np.random.default_rng(config.seed)
        self._analysis: Analysis | None = None
        self._low_in_a_row = 0

    @property
    def has_ownership(self) -> bool:
        """The network has KataGo's ownership head."""
        return bool(getattr(self.net.config, "ownership_head", False))

    def reset(self, size: int, komi: float) -> None:
        if size != self.board_size:
            raise PlayerError(f"{self.name}: checkpoint plays {self.board_size}x{self.board_size}, "
                              f"not {size}x{size}")
        super().reset(size, komi)
        self._analysis = None
        self._low_in_a_row = 0

    def estimate(self, board) -> tuple[np.ndarray | None, float | None]:
        """(ownership float [N*N] in [-1, 1], score lead in points), both for the side to move of
        `board` from the ownership and score heads; None for a head the network lacks."""
        import torch

        from envs.go import features

        planes = torch.from_numpy(features.encode([board], feature_set=self.feature_set))
        with torch.no_grad():
            heads = self.net.forward_heads(planes.to(next(self.net.parameters()).device))
        ownership = None if heads.ownership is None else torch.tanh(heads.ownership[0] / 2).cpu().numpy()
        score = None if heads.score is None else float(heads.score[0]) * board.size
        return ownership, score
    def evaluate(self, board) -> tuple[np.ndarray, float]:
        """Policy probabilities over legal moves [N*N+1] (illegal = 0) and the side to move's win rate."""
        from envs.go import features

        planes = features.encode([board], feature_set=self.feature_set)
        logits, value = self.evaluator.evaluate(planes)
        logits = logits[0].astype(np.float64)
        legal = np.asarray(board.legal_moves())
        mask = np.full(logits.shape, -np.inf)
        mask[legal if legal.size else board.size * board.size] = 0.0  # game over: only pass
        logits = logits + mask
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        return probs, float((value[0] + 1.0) / 2.0)

    def choose(self, board) -> int:
        probs, winrate = self.evaluate(board)
        order = np.argsort(-probs)[: self.config.top_moves]
        self._analysis = Analysis(
            to_play=board.to_play, winrate=winrate, visits=1,
            moves=tuple(MoveInfo(move=int(m), visits=0, winrate=winrate, prior=float(probs[m]), pv=(int(m),))
                        for m in order if probs[m] > 0))
        if self._should_resign(board, winrate):
            return RESIGN
        if self.config.temperature > 0:
            p = probs ** (1.0 / self.config.temperature)
            move = int(self.rng.choice(len(p), p=p / p.sum()))
        else:
            move = int(order[0])
        return end_of_game_move(board, move, probs) if self.config.pass_safety else move

    def analyze(self) -> Analysis | None:
        return self._analysis

    def analyze_position(self, board) -> Analysis:
        """Analyse `board` without playing (hints, win rates, GTP analysis).

        Beyond genmove's single evaluation, the position after each candidate move is evaluated
        too (one batch), so every candidate gets its own win rate.
        """
        from envs.go import features

        probs, winrate = self.evaluate(board)
        order = [int(m) for m in np.argsort(-probs)[: self.config.top_moves] if probs[m] > 0]
        children = []
        for m in order:
            child = board.copy()
            child.play(m)
            children.append(child)
        _, values = self.evaluator.evaluate(features.encode(children, feature_set=self.feature_set))
        infos = []
        for m, child, v in zip(order, children, values):
            if child.is_over():
                w = {board.to_play: 1.0, -board.to_play: 0.0}.get(child.winner(), 0.5)
            else:
                w = float((1.0 - v) / 2.0)  # v is the opponent's outlook after the move
            infos.append(MoveInfo(move=m, visits=1, winrate=w, prior=float(probs[m]), pv=(m,)))
        return Analysis(to_play=board.to_play, winrate=winrate, moves=tuple(infos), visits=len(infos) + 1)

    def _should_resign(self, board, winrate: float) -> bool:
        low = (self.config.resign_threshold > 0 and board.move_number >= self.config.resign_after
               and winrate < self.config.resign_threshold)
        self._low_in_a_row = self._low_in_a_row + 1 if low else 0
        return self._low_in_a_row >= max(1, self.config.resign_consecutive)


class SearchPlayer(PolicyPlayer):
    """A checkpoint's network guiding the native tree search (agent.search) for `visits` visits."""

    def __init__(self, checkpoint: str | Path, config: NetworkPlayerConfig, name: str | None = None) -> None:
        try:
            from agent import search  # noqa: F401
        except ImportError:
            raise PlayerError("tree search (agent.search) is not available in this build; "
                              "use --visits 1 for the network alone") from None
        super().__init__(checkpoint, config, name=name)

    move_seconds: float | None = None
    _visits_per_second: float | None = None

    def set_move_time(self, seconds: float | None) -> None:
        self.move_seconds = seconds

    def choose(self, board) -> int:
        import time

        from agent.search import SearchConfig, search_position

        visits = self.config.visits
        if self.move_seconds is not None and self._visits_per_second:
            visits = max(1, min(visits, int(self._visits_per_second * self.move_seconds)))
        start = time.perf_counter()
        # Fewer leaves per round on small searches: each one in flight widens the search.
        leaves = max(1, min(8, visits // 16))
        result = search_position(board, self.evaluator, visits=visits,
                                 config=SearchConfig(feature_set=self.feature_set, temperature=0.0,
                                                     leaves_per_tree=leaves))
        self._visits_per_second = visits / max(time.perf_counter() - start, 1e-6)
        visits = np.asarray(result.visits)
        q = np.asarray(result.q)
        prior = np.asarray(result.prior)
        winrate = float((result.root_value + 1.0) / 2.0)
        order = [int(m) for m in np.lexsort((-prior, -visits))[: self.config.top_moves] if visits[m] > 0]
        pv = tuple(int(m) for m in result.principal_variation)
        self._analysis = Analysis(
            to_play=board.to_play, winrate=winrate, visits=int(visits.sum()),
            moves=tuple(MoveInfo(move=m, visits=int(visits[m]), winrate=float((q[m] + 1.0) / 2.0),
                                 prior=float(prior[m]), pv=pv if pv and pv[0] == m else (m,))
                        for m in order))
        if self._should_resign(board, winrate):
            return RESIGN
        move = int(result.best_move)
        if self.config.pass_safety:
            move = end_of_game_move(board, move, visits + prior)  # visits first, the prior breaks ties
        return move

    def analyze_position(self, board) -> Analysis:
        self.choose(board)
        return self._analysis


def network_player(checkpoint: str | Path, config: NetworkPlayerConfig = NetworkPlayerConfig(),
                   name: str | None = None) -> PolicyPlayer:
    """The network alone for visits <= 1, else the search player."""
    if config.visits > 1:
        return SearchPlayer(checkpoint, config, name=name)
    return PolicyPlayer(checkpoint, config, name=name)


@dataclass(frozen=True)
class PlayerSpec:
    """A player as written on a command line: `random`, a checkpoint path, or a GTP command."""

    name: str
    """Display name (the part before `=` in `name=spec`, else derived from the spec)."""
    kind: str
    """"random", "shipped", "checkpoint" or "gtp"."""
    target: str
    """The checkpoint path or the engine command line ("" for random)."""
    options: dict = field(default_factory=dict, compare=False)
    """Extra settings (visits, device, ...) applied when the player is built."""


def parse_player_spec(text: str) -> PlayerSpec:
    """`random`, `shipped` (the network komi ships for the board size), a checkpoint (stem or
    file), any of these as `NAME=...`, or a GTP command.

    A command is anything else: `gnugo --mode gtp --level 10`, `gnugo-l10=gnugo --mode gtp`.
    """
    text = text.strip()
    if not text:
        raise PlayerError("empty player description")
    name = None
    head, sep, rest = text.partition("=")
    if sep and head and " " not in head and "/" not in head and not head.startswith("-"):
        name, text = head, rest.strip()
    if text == "random":
        return PlayerSpec(name or "random", "random", "")
    if text == "shipped":
        return PlayerSpec(name or "shipped", "shipped", "")
    stem = _checkpoint_stem(text)
    if stem is not None:
        return PlayerSpec(name or stem.name, "checkpoint", str(stem))
    try:
        argv = shlex.split(text)
    except ValueError as err:
        raise PlayerError(f"player {text!r}: cannot split the command line ({err})") from None
    if not argv:
        raise PlayerError(f"player {text!r}: empty command")
    if shutil.which(argv[0]) is None and not Path(argv[0]).is_file():
        raise PlayerError(f"player {text!r}: neither 'random', a checkpoint, nor a runnable command "
                          f"({argv[0]!r} not found)")
    return PlayerSpec(name or _engine_name(argv), "gtp", text)


def _checkpoint_stem(text: str) -> Path | None:
    """The checkpoint stem `text` names (the stem itself or one of its files), if it exists."""
    p = Path(text)
    for suffix in (".safetensors", ".json"):
        if p.name.endswith(suffix) and not p.name.endswith(".optim" + suffix):
            p = p.with_name(p.name[: -len(suffix)])
            break
    if p.name and p.with_name(p.name + ".json").is_file() and p.with_name(p.name + ".safetensors").is_file():
        return p
    return None


def _engine_name(argv: list[str]) -> str:
    name = Path(argv[0]).name
    for i, a in enumerate(argv):
        if a in ("--level", "-l") and i + 1 < len(argv):
            name += f"-l{argv[i + 1]}"
    return name


def build_player(spec: PlayerSpec, config: NetworkPlayerConfig = NetworkPlayerConfig(),
                 move_timeout: float = 60.0, seconds_per_move: float | None = None) -> Player:
    """Construct the Player a spec describes."""
    if spec.kind == "random":
        return RandomPlayer(seed=config.seed, name=spec.name)
    if spec.kind == "checkpoint":
        return network_player(spec.target, config, name=spec.name)
    if spec.kind == "shipped":
        from agent.shipped import DefaultPlayer

        return DefaultPlayer(lambda stem: network_player(stem, config, name=spec.name),
                             lambda: RandomPlayer(seed=config.seed, name=spec.name), checkpoint_dir=None,
                             name=spec.name)
    from agent.gtp_client import GTPEnginePlayer

    return GTPEnginePlayer(shlex.split(spec.target), name=spec.name, move_timeout=move_timeout,
                           seconds_per_move=seconds_per_move)
