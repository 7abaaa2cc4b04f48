"""GameState <-> SGF files, through envs.go.sgf (the project's parser and writer)."""
from __future__ import annotations

import os
from pathlib import Path

from agent.game import GameState
from komi.errors import KomiError


class GameFileError(KomiError):
    """An SGF file cannot be loaded as a game here, or a game cannot be written."""


def _sgf():
    try:
        from envs.go import sgf
    except ImportError:
        raise GameFileError("SGF support (envs.go.sgf) is missing from this installation") from None
    return sgf


def game_to_record(game: GameState, black: str = "", white: str = "", result: str | None = None,
                   program: str = "komi"):
    """The envs.go.sgf GameRecord of a game."""
    return _sgf().GameRecord(size=game.size, komi=game.komi, handicap=game.handicap,
                      setup_black=list(game.setup_black), setup_white=list(game.setup_white),
                      moves=list(game.moves), result=result or "", black_name=black,
                      white_name=white, source=program)


def game_to_sgf(game: GameState, black: str = "", white: str = "", result: str | None = None,
                program: str = "komi") -> str:
    """SGF text of a game."""
    return _sgf().write_sgf(game_to_record(game, black, white, result, program))


def save_game(game: GameState, path: str | Path, black: str = "", white: str = "",
              result: str | None = None, program: str = "komi") -> Path:
    """Write a game as SGF (atomically: temp file + os.replace)."""
    path = Path(path)
    text = game_to_sgf(game, black, white, result, program)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    try:
        if path.parent != Path(""):
            path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as err:
        raise GameFileError(f"{path}: cannot write the game ({err.strerror or err})") from None
    return path


def load_game(path: str | Path, move_number: int | None = None, superko: str = "positional") -> GameState:
    """Read the first game of an SGF file; with move_number, the position before that move (1-based)."""
    from envs.go import IllegalMove
    read_sgf = _sgf().read_sgf
    path = Path(path)
    if not path.is_file():
        raise GameFileError(f"{path}: no such file")
    records = read_sgf(path)
    if not records:
        raise GameFileError(f"{path}: no game in the file")
    rec = records[0]
    game = GameState(size=rec.size, komi=float(rec.komi), superko=superko)
    if rec.setup_black or rec.setup_white:
        game.set_setup(rec.setup_black, rec.setup_white, handicap=rec.handicap or 0)
    moves = rec.moves if move_number is None else rec.moves[: max(0, move_number - 1)]
    for i, (color, move) in enumerate(moves, start=1):
        try:
            game.play(move, color)
        except IllegalMove as err:
            raise GameFileError(f"{path}: move {i} is illegal ({err})") from None
    return game
