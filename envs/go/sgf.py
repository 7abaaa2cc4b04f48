"""SGF (FF[4]) game records: a small strict reader and a writer for Go games.

Reading is iterative (no recursion, so deeply nested variations cannot exhaust the stack) and
bounded (file size, node count, board size); files are read by read_bytes, which refuses FIFOs,
devices and directories before opening them and never reads more than MAX_FILE_BYTES + 1. Only the main line (the first variation at every
branch) is kept. Text is decoded per value: UTF-8 first, then the charset named by CA[], then
GB18030, then Latin-1 (which never fails), because real collections mix all of them.

Every malformed, hostile or unusable input raises SGFError (a KomiError) with a one-line message
naming the source, the position or move number and the property; nothing else escapes the
reader, and replaying a record raises SGFError too.

Property identifiers: FF[4] allows only uppercase letters. FF[1]-FF[3] files may mix in
lowercase letters for readability ("AddBlack", "CoPyright"), which FF[3] says to ignore, so
lowercase letters are dropped ("AddBlack" reads as AB). An identifier with no uppercase letter
at all ("b[aa]", "x[aa]") is refused as a syntax error rather than guessed at: sgfmill refuses
every lowercase letter in an identifier and KataGo keeps such identifiers as unknown properties
(so it would silently drop a "b" move); refusing keeps a misread game out of a collection.

    records = read_sgf("game.sgf")            # list[GameRecord], one per game tree
    board = replay(records[0])                # the final position (what the engine refuses -> SGFError)
    for board, color, move in positions(records[0]): ...   # every position before a move
    text = write_sgf(records[0])              # parse_sgf(text)[0] == records[0]
"""
from __future__ import annotations

import codecs
import functools
import math
import operator
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from envs.go.coords import SGF_LETTERS
from komi.errors import KomiError

MAX_FILE_BYTES = 32 * 1024 * 1024
"""Larger files are refused rather than read."""
MAX_NODES = 100_000
"""Most nodes (all variations together) one file may hold."""
MAX_EXPANDED_POINTS = 1_000_000
"""Most points that compressed point lists ("aa:ss") of one file may add beyond their own count."""
MIN_SIZE, MAX_SIZE = 2, 25
"""Board sizes the engine plays."""
MAX_KOMI = 1000.0
"""Largest komi (in absolute value) the engine's Board accepts; KM beyond it is refused."""
_READ_CHUNK = 1 << 20
"""Bytes read from a file at a time (the size bound holds while reading)."""


class SGFError(KomiError):
    """A malformed, hostile or unusable SGF file; the message names the source and position.

    `reason` is a short category ("syntax error", "board size", "illegal move", ...) by which
    collection readers count the games and files they skip.
    """

    def __init__(self, message: str, reason: str = "malformed") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class GameRecord:
    """One game: the main line of an SGF game tree."""

    size: int = 19
    """Board side (SZ)."""
    komi: float = 7.5
    """Komi (KM); 0.0 when a file gives none."""
    handicap: int = 0
    """Handicap stones (HA) as the file states them; 0 when absent."""
    setup_black: list[int] = field(default_factory=list)
    """Black setup stones (AB, handicap placement) as move indices, placed before the first move."""
    setup_white: list[int] = field(default_factory=list)
    """White setup stones (AW) as move indices."""
    moves: list[tuple[int, int]] = field(default_factory=list)
    """(color, move) in order: color +1 Black / -1 White, move = row * size + col, pass = size*size."""
    result: str = ""
    """The result as written (RE), e.g. "B+R", "W+3.5", "0", "Void"."""
    winner: int | None = None
    """+1 Black, -1 White, 0 draw, None unknown; derived from `result` when not given."""
    rules: str = ""
    """Rule set name (RU)."""
    black_name: str = ""
    """PB."""
    white_name: str = ""
    """PW."""
    black_rank: str = ""
    """BR (a rank like "5d", or a rating on some servers)."""
    white_rank: str = ""
    """WR."""
    date: str = ""
    """DT, as written."""
    source: str = ""
    """Where the record came from: a file name, or "archive.tar.xz:member.sgf"."""

    def __post_init__(self) -> None:
        if self.winner is None:
            self.winner = winner_from_result(self.result)

    @property
    def ranks(self) -> tuple[str | None, str | None]:
        """(black rank, white rank), None where unknown."""
        return (self.black_rank or None, self.white_rank or None)


def winner_from_result(result: str) -> int | None:
    """+1 / -1 / 0 / None (unknown) from an SGF RE value."""
    text = result.strip().upper()
    if text.startswith("B+"):
        return 1
    if text.startswith("W+"):
        return -1
    if text in ("0", "DRAW", "JIGO") or text.startswith("0"):
        return 0
    return None


def score_from_result(result: str) -> float | None:
    """Black's margin written in an SGF RE value ("B+3.5" -> 3.5, "W+7" -> -7.0, "0"/"Draw" ->
    0.0); None for resignations, time, forfeits and anything else without a number."""
    text = result.strip().upper()
    if text in ("0", "DRAW", "JIGO"):
        return 0.0
    if text[:2] in ("B+", "W+"):
        try:
            margin = float(text[2:])
        except ValueError:
            return None
        if margin != margin or margin in (float("inf"), float("-inf")):
            return None
        return margin if text[0] == "B" else -margin
    return None


# --- reading -----------------------------------------------------------------------------------

_TOKEN = re.compile(rb"""\s*(?:
    (\()                                                # 1: a game tree opens
  | (\))                                                # 2: a game tree closes
  | (;)                                                 # 3: a node
  | ([A-Za-z]+)\s*((?:\[[^\\\]]*(?:\\.[^\\\]]*)*\]\s*)+) # 4, 5: property ident and its values
  | (\S)                                                # 6: anything else (an error inside a tree)
)""", re.VERBOSE | re.DOTALL)
_VALUE = re.compile(rb"\[([^\\\]]*(?:\\.[^\\\]]*)*)\]", re.DOTALL)
_NODE_START = re.compile(rb"\s*;")
_TIME_LEFT = rb"(?:\s*(?:BL|WL|OB|OW)\[[0-9.]*\])*"   # clock properties a move node may carry (ignored)
_MOVE_RUN = re.compile(rb"(?:\s*;\s*[BW]\s*\[[a-z]{0,2}\]" + _TIME_LEFT + rb"(?=\s*[;()]))+")
_MOVE = re.compile(rb";\s*([BW])\s*\[([a-z]{0,2})\]")
_RUN = "<run>"
"""Key of a pseudo-node standing for a run of plain move nodes: [(b"B" | b"W", point), ...]
(no property identifier can be spelt with '<')."""
_ESCAPE = re.compile(rb"\\(\r\n|\n\r|\n|\r|.)", re.DOTALL)
_SOFT_LINEBREAK = {b"\r\n", b"\n\r", b"\n", b"\r"}
_TEXT_PROPS = ("PB", "PW", "BR", "WR", "RE", "RU", "DT")
_SETUP_PROPS = ("AB", "AW", "AE")

Node = tuple[int, dict[str, list[bytes]]]
"""(byte offset of the node's ';', ident -> raw values)."""


def _position(data: bytes, offset: int) -> str:
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return f"{line}:{column}"


def _show(raw: bytes | str, limit: int = 20) -> str:
    """A value as it may appear in a one-line message: control characters, surrogates and
    other unprintable characters escaped, at most `limit` characters and then '...'."""
    text = raw.decode("latin-1") if isinstance(raw, bytes) else raw
    cut = len(text) > limit
    text = text[:limit]
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)
    return text + "..." if cut else text


def display_name(path: str | os.PathLike) -> str:
    """A file name fit for a one-line message and a record's `source`: unchanged when it is
    printable, otherwise with unprintable characters (newlines, undecodable bytes) escaped;
    names longer than 300 characters are shortened in the middle."""
    name = os.fsdecode(path) if isinstance(path, bytes) else str(path)
    if not name.isprintable():
        name = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in name)
    if len(name) > 300:
        name = name[:150] + "..." + name[-147:]
    return name


def _main_lines(data: bytes, source: str) -> list[list[Node]]:
    """The main-line nodes of every game tree in `data`, scanning tokens without recursion.

    Text outside game trees is skipped. Inside a tree the first ')' ends the main line: all
    later nodes of the tree belong to other variations and are only counted.
    """
    games: list[list[Node]] = []
    idents: dict[bytes, str] = {}
    total_nodes = 0

    def fail(offset: int, what: str, reason: str = "syntax error") -> SGFError:
        return SGFError(f"{source}:{_position(data, offset)}: {what}", reason)

    pos = data.find(b"(")
    while pos >= 0:
        if not _NODE_START.match(data, pos + 1):
            raise fail(pos, "a game tree must start with a node ';'")
        pos += 1
        depth, nodes, main_done = 1, [], False
        node_props: dict[str, list[bytes]] | None = None
        while depth > 0:
            m = _TOKEN.match(data, pos)
            if m is None:
                raise fail(len(data), f"file ends inside a game tree ({depth} unclosed '(')")
            pos = m.end()
            kind = m.lastindex
            if kind == 3 and not main_done:
                run = _MOVE_RUN.match(data, m.start(3))
                if run is not None:     # fast path: a run of nodes that hold one move and nothing else
                    moves = _MOVE.findall(data, run.start(), run.end())
                    nodes.append((run.start(), {_RUN: moves}))
                    node_props = None
                    total_nodes += len(moves)
                    if total_nodes > MAX_NODES:
                        raise fail(m.start(3), f"more than {MAX_NODES} nodes in one file", "too many nodes")
                    pos = run.end()
                    continue
            if kind == 3:
                total_nodes += 1
                if total_nodes > MAX_NODES:
                    raise fail(m.start(3), f"more than {MAX_NODES} nodes in one file", "too many nodes")
                node_props = None if main_done else {}
                if node_props is not None:
                    nodes.append((m.start(3), node_props))
            elif kind == 5:   # an ident and its values (lastindex is the values group)
                if node_props is None:
                    if not main_done:
                        raise fail(m.start(4), "property outside a node (missing ';')")
                    continue
                raw = m.group(4)
                ident = idents.get(raw)
                if ident is None:
                    ident = bytes(ch for ch in raw if 65 <= ch <= 90).decode("ascii")
                    if not ident:
                        raise fail(m.start(4), f"property identifier '{_show(raw)}' has no uppercase "
                                               "letter (FF[3] ignores lowercase letters in identifiers, "
                                               "leaving none)")
                    idents[raw] = ident
                node_props.setdefault(ident, []).extend(_VALUE.findall(m.group(5)))
            elif kind == 1:
                depth += 1
                node_props = None
            elif kind == 2:
                depth -= 1
                main_done = True
                node_props = None
            else:
                ch = m.group(6)
                if ch == b"[":
                    raise fail(m.start(6), "property value without a property name, or an unterminated '['")
                if ch.isalpha():
                    raise fail(m.start(6), "property without a value, or with an unterminated '[' value")
                shown = chr(ch[0]) if 32 < ch[0] < 127 else f"byte 0x{ch[0]:02x}"
                raise fail(m.start(6), f"unexpected {shown!r} inside a game tree")
        games.append(nodes)
        pos = data.find(b"(", pos)
    if not games:
        raise SGFError(f"{source}: no SGF game tree found", "no game")
    return games


def _unescape(raw: bytes) -> bytes:
    """Escapes resolved, soft line breaks (backslash + newline) removed."""
    if b"\\" not in raw:
        return raw
    return _ESCAPE.sub(lambda m: b"" if m.group(1) in _SOFT_LINEBREAK else m.group(1), raw)


def _charset(raw: bytes | None) -> str | None:
    """A Python codec name for a CA[] value, or None if unknown."""
    if not raw:
        return None
    try:
        name = codecs.lookup(raw.decode("ascii", "replace").strip()).name
        b"".decode(name)        # refuses bytes-to-bytes codecs such as "zlib" or "base64"
        return name
    except (LookupError, ValueError):   # unknown name, or one codecs cannot even look up
        return None


def _decode(raw: bytes, charset: str | None) -> str:
    for codec in ("utf-8", charset, "gb18030"):
        if codec:
            try:
                return raw.decode(codec)
            except (UnicodeError, LookupError):
                pass
    return raw.decode("latin-1")


def _simple_text(raw: bytes, charset: str | None) -> str:
    """SimpleText: escapes resolved, every whitespace character a space."""
    text = _decode(_unescape(raw), charset)
    return re.sub(r"[\t\n\r\v\f]", " ", text)


def _number(raw: bytes, kind: type, name: str, where: object) -> int | float:
    text = raw.decode("latin-1").strip()
    if text == "" and kind is float:
        return 0.0
    try:
        return kind(text)
    except ValueError:      # also an integer of more digits than Python converts
        raise SGFError(f"{where}: {name}[{_show(text)}] is not a number", "bad property value") from None


def _point(raw: bytes, size: int) -> int | None:
    """Move index of a point value, `size*size` for a pass, None if it is no point of the board."""
    if raw == b"" or (raw == b"tt" and size <= 19):
        return size * size
    if len(raw) == 2 and raw[0] - 97 < size and raw[1] - 97 < size and raw[0] >= 97 and raw[1] >= 97:
        return (raw[1] - 97) * size + (raw[0] - 97)
    return None


@functools.cache
def _point_table(size: int) -> dict[bytes, int]:
    """Move index of every point value of a board, passes included."""
    table = {bytes([97 + col, 97 + row]): row * size + col for row in range(size) for col in range(size)}
    table[b""] = size * size
    if size <= 19:
        table[b"tt"] = size * size
    return table


def _point_list(values: list[bytes], size: int, where: object, name: str, budget: list[int]) -> list[int]:
    """Points of a setup property, compressed rectangles ("aa:cc") expanded. budget[0] is what
    rectangles may still add in this file (a few bytes of "AB[aa:yy]" stand for 625 points)."""
    points: list[int] = []
    for raw in values:
        corners = raw.split(b":")
        idx = [_point(c, size) for c in corners]
        if len(corners) > 2 or any(p is None or p == size * size for p in idx):
            raise SGFError(f"{where}: {name}[{_show(raw, 10)}] is not a point "
                           f"of a {size}x{size} board", "bad setup point")
        (r0, c0), (r1, c1) = divmod(idx[0], size), divmod(idx[-1], size)
        budget[0] -= (abs(r1 - r0) + 1) * (abs(c1 - c0) + 1) - 1
        if budget[0] < 0:
            raise SGFError(f"{where}: compressed point lists expand to more than {MAX_EXPANDED_POINTS} "
                           "points in one file", "too many setup points")
        points.extend(r * size + c for r in range(min(r0, r1), max(r0, r1) + 1)
                      for c in range(min(c0, c1), max(c0, c1) + 1))
    return points


class _Where:
    """"source:line:column" of a byte offset, worked out only when an error message is formatted."""

    __slots__ = ("data", "offset", "source")

    def __init__(self, source: str, data: bytes, offset: int) -> None:
        self.source, self.data, self.offset = source, data, offset

    def __str__(self) -> str:
        return f"{self.source}:{_position(self.data, self.offset)}"


def _record(data: bytes, nodes: list[Node], source: str, budget: list[int]) -> GameRecord:
    """A GameRecord from the main-line nodes of one game tree."""
    if not nodes:
        raise SGFError(f"{source}: empty game tree", "empty game")
    root_pos, root = nodes[0]
    where = _Where(source, data, root_pos)
    if root.get("GM", [b"1"])[0].strip() not in (b"1", b""):
        raise SGFError(f"{where}: GM[{_show(root['GM'][0], 10)}] is not a Go game", "not a Go game")
    size_raw = root.get("SZ", [b"19"])[0]
    if b":" in size_raw:
        raise SGFError(f"{where}: rectangular boards (SZ[{_show(size_raw)}]) are not supported", "board size")
    size = _number(size_raw, int, "SZ", where)
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise SGFError(f"{where}: board size SZ[{size}] is outside {MIN_SIZE}..{MAX_SIZE}", "board size")
    charset = _charset(root.get("CA", [None])[0])
    text = {p: _simple_text(root[p][0], charset) if p in root else "" for p in _TEXT_PROPS}
    komi = float(_number(root.get("KM", [b""])[0], float, "KM", where))
    if not math.isfinite(komi) or abs(komi) > MAX_KOMI:
        raise SGFError(f"{where}: KM[{_show(root['KM'][0])}] is not a komi (a finite number within "
                       f"+-{MAX_KOMI:g})", "bad property value")
    handicap = int(_number(root.get("HA", [b"0"])[0] or b"0", int, "HA", where))
    if not 0 <= handicap <= MAX_SIZE * MAX_SIZE:   # HA is only stated; a fixed placement checks more
        raise SGFError(f"{where}: HA[{_show(root['HA'][0])}] is not a number of handicap stones "
                       f"(0..{MAX_SIZE * MAX_SIZE})", "bad handicap")
    record = GameRecord(size=size, komi=komi, handicap=handicap,
                        result=text["RE"], rules=text["RU"], black_name=text["PB"], white_name=text["PW"],
                        black_rank=text["BR"], white_rank=text["WR"], date=text["DT"], source=source)
    setup: dict[int, int] = {}     # point -> colour, in placement order
    moves = record.moves
    points = _point_table(size)
    for pos, props in nodes:
        if _RUN in props:
            run = props[_RUN]
            try:
                moves.extend([(1 if color == b"B" else -1, points[point]) for color, point in run])
            except KeyError:
                first_bad = next(i for i, (_, point) in enumerate(run) if point not in points)
                color, point = run[first_bad]
                offset = [m.start() for m in _MOVE.finditer(data, pos)][first_bad]
                raise SGFError(f"{source}:{_position(data, offset)}: move {len(moves) + first_bad + 1} "
                               f"{color.decode()}[{point.decode()}] is not a point of a {size}x{size} board",
                               "bad move") from None
            continue
        if "AB" in props or "AW" in props or "AE" in props:
            if moves:
                raise SGFError(f"{source}:{_position(data, pos)}: setup stones (AB/AW/AE) after move "
                               f"{len(moves)} are not supported (main line only holds plain games)",
                               "setup after moves")
            for name, color in (("AE", 0), ("AB", 1), ("AW", -1)):
                for p in _point_list(props.get(name, []), size, _Where(source, data, pos), name, budget):
                    setup.pop(p, None)
                    if color:
                        setup[p] = color
        for name, color in (("B", 1), ("W", -1)):
            if name in props:
                values = props[name]
                point = _point(values[0].strip(), size) if len(values) == 1 else None
                if point is None:
                    shown = _show(b"][".join(values), 10)
                    raise SGFError(f"{source}:{_position(data, pos)}: move {len(moves) + 1} "
                                   f"{name}[{shown}] is not a point of a {size}x{size} board", "bad move")
                moves.append((color, point))
        if "B" in props and "W" in props:
            raise SGFError(f"{source}:{_position(data, pos)}: a node holds both a B and a W move", "bad move")
    record.setup_black = [p for p, c in setup.items() if c == 1]
    record.setup_white = [p for p, c in setup.items() if c == -1]
    if record.handicap >= 2 and not setup and moves and moves[0][0] == -1:
        record.setup_black = _fixed_handicap(size, record.handicap, where)
    return record


def _fixed_handicap(size: int, stones: int, where: str) -> list[int]:
    """The fixed placement of HA stones, for files that give HA and let White start but have no AB."""
    from envs.go import Board, GoError

    try:
        return [int(p) for p in Board(size=size).place_handicap(stones)]
    except GoError as err:
        raise SGFError(f"{where}: HA[{stones}] without AB stones and no fixed placement for it ({err})",
                       "bad handicap") from None


def parse_games(data: bytes | str, source: str = "<string>") -> list[GameRecord | SGFError]:
    """Each game tree of an SGF text as a GameRecord, or the SGFError that game alone raised.

    A file that cannot be read as a whole (syntax, size, node count) raises SGFError. For
    collection readers, which skip the bad games of a multi-game file and keep the rest.
    """
    if isinstance(data, str):
        try:    # surrogateescape gives back the bytes of text decoded that way
            data = data.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            data = data.encode("utf-8", "replace")
    if len(data) > MAX_FILE_BYTES:
        raise SGFError(f"{source}: {len(data)} bytes is larger than the {MAX_FILE_BYTES}-byte limit",
                       "file too large")
    data = bytes(data)
    games: list[GameRecord | SGFError] = []
    budget = [MAX_EXPANDED_POINTS]
    for nodes in _main_lines(data, source):
        try:
            games.append(_record(data, nodes, source, budget))
        except SGFError as err:
            games.append(err)
    return games


def parse_sgf(data: bytes | str, source: str = "<string>") -> list[GameRecord]:
    """Every game tree of an SGF text (main lines); raises SGFError naming source and line:column."""
    games = parse_games(data, source)
    for game in games:
        if isinstance(game, SGFError):
            raise game
    return games


def read_bytes(path: str | os.PathLike) -> bytes:
    """The bytes of an SGF file, refusing what would hang or never end, at most MAX_FILE_BYTES.

    Symlinks are followed; anything but a regular file (FIFO, device such as /dev/zero,
    directory, socket) is refused before it is opened. The file is opened non-blocking (a FIFO
    swapped in after the check cannot hang the reader), checked again, and read in chunks, never
    more than MAX_FILE_BYTES + 1 bytes whatever its size says. Raises SGFError ("not a file",
    "file too large", "unreadable").
    """
    shown = display_name(path)

    def unreadable(err: OSError | ValueError) -> SGFError:
        why = getattr(err, "strerror", None) or str(err)
        return SGFError(f"{shown}: cannot read ({why})", "unreadable")

    def check(mode: int, size: int) -> None:
        if not stat.S_ISREG(mode):
            kind = ("a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
                    else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                    else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
            raise SGFError(f"{shown}: not a regular file ({kind})", "not a file")
        if size > MAX_FILE_BYTES:
            raise SGFError(f"{shown}: {size} bytes is larger than the {MAX_FILE_BYTES}-byte limit",
                           "file too large")

    try:
        info = os.stat(path)        # follows symlinks: a link to /dev/zero is a device
    except (OSError, ValueError) as err:     # ValueError: a NUL byte in the name
        raise unreadable(err) from None
    check(info.st_mode, info.st_size)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    flags |= getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except (OSError, ValueError) as err:
        raise unreadable(err) from None
    try:
        info = os.fstat(fd)
        check(info.st_mode, info.st_size)
        chunks: list[bytes] = []
        total = 0
        while total <= MAX_FILE_BYTES:
            chunk = os.read(fd, min(_READ_CHUNK, MAX_FILE_BYTES + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as err:
        raise unreadable(err) from None
    finally:
        os.close(fd)
    if total > MAX_FILE_BYTES:
        raise SGFError(f"{shown}: more than {MAX_FILE_BYTES} bytes (the file grew while read, or its size "
                       "is not known in advance)", "file too large")
    return b"".join(chunks)


def read_sgf(path: str | os.PathLike) -> list[GameRecord]:
    """The games of an SGF file (see parse_sgf and read_bytes); SGFError names the file."""
    return parse_sgf(read_bytes(path), source=display_name(path))


# --- writing -----------------------------------------------------------------------------------

def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("]", "\\]")


def _point_text(move: int, size: int) -> str:
    if not 0 <= move <= size * size:
        raise SGFError(f"move {move} is out of range for a {size}x{size} board")
    if move == size * size:
        return ""
    row, col = divmod(move, size)
    return SGF_LETTERS[col] + SGF_LETTERS[row]


def _komi_text(komi: float) -> str:
    if not math.isfinite(komi) or abs(komi) > MAX_KOMI:
        raise SGFError(f"cannot write komi {komi!r} (a finite number within +-{MAX_KOMI:g})")
    text = repr(float(komi))
    return text.removesuffix(".0")


def write_sgf(record: GameRecord) -> str:
    """SGF FF[4] text of a record (UTF-8, passes as empty values); parse_sgf reads it back equal."""
    size = record.size
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise SGFError(f"cannot write a {size}x{size} board (sizes {MIN_SIZE}..{MAX_SIZE})")
    root = [f"GM[1]FF[4]CA[UTF-8]AP[komi]SZ[{size}]KM[{_komi_text(record.komi)}]"]
    if record.handicap:
        root.append(f"HA[{int(record.handicap)}]")
    for name, value in (("RU", record.rules), ("PB", record.black_name), ("BR", record.black_rank),
                        ("PW", record.white_name), ("WR", record.white_rank), ("DT", record.date),
                        ("RE", record.result)):
        if value:
            root.append(f"{name}[{_escape(value)}]")
    for name, points in (("AB", record.setup_black), ("AW", record.setup_white)):
        if points:
            root.append(name + "".join(f"[{_point_text(p, size)}]" for p in points))
    lines = ["(;" + "".join(root)]
    line = ""
    for color, move in record.moves:
        line += f";{'B' if color == 1 else 'W'}[{_point_text(int(move), size)}]"
        if len(line) >= 72:
            lines.append(line)
            line = ""
    if line:
        lines.append(line)
    return "\n".join(lines) + ")\n"


# --- replaying ---------------------------------------------------------------------------------

def _first_line(err: BaseException) -> str:
    """The first line of an exception's message (a binding's TypeError lists the signatures)."""
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


def _start_board(record: GameRecord, **board_options):
    """The Board before the first move. What the record holds that the engine refuses (a size,
    a komi, setup stones that leave a chain without liberties) raises SGFError; a bad board
    option is the caller's and raises GoError."""
    from envs.go import Board, GoError

    source = record.source or "<record>"
    try:
        size = operator.index(record.size)
    except TypeError:
        size = None
    if size is None or not MIN_SIZE <= size <= MAX_SIZE:
        raise SGFError(f"{source}: board size {record.size!r} is outside {MIN_SIZE}..{MAX_SIZE}",
                       "board size")
    try:
        komi = float(record.komi)
    except (TypeError, ValueError):
        komi = math.nan
    if not math.isfinite(komi) or abs(komi) > MAX_KOMI:
        raise SGFError(f"{source}: komi {record.komi!r} is not a finite number within +-{MAX_KOMI:g}",
                       "bad property value")
    board = Board(size=size, komi=komi, **board_options)
    if record.setup_black or record.setup_white:
        try:
            board.set_stones(black=[int(p) for p in record.setup_black],
                             white=[int(p) for p in record.setup_white])
            if record.moves:
                board.set_to_play(int(record.moves[0][0]))
        except (GoError, TypeError, OverflowError) as err:
            raise SGFError(f"{source}: the setup stones (AB/AW) are not a position komi can play "
                           f"({_first_line(err)})",
                           "bad setup") from None
    return board


def _play(board, record: GameRecord, number: int, color: int, move: int) -> None:
    from envs.go import GoError, IllegalMove
    from envs.go.coords import to_gtp

    try:
        board.play(move, color)
    except IllegalMove as err:
        name = "B" if color == 1 else "W"
        try:
            vertex = to_gtp(move, record.size)
        except GoError:
            vertex = repr(move)
        raise SGFError(f"{record.source or '<record>'}: move {number} {name} "
                       f"{vertex} is illegal ({err.reason})", "illegal move") from None
    except (GoError, TypeError, OverflowError) as err:    # a move or colour no board has
        raise SGFError(f"{record.source or '<record>'}: move {number} ({color!r}, {move!r}) cannot be "
                       f"played ({_first_line(err)})", "bad move") from None


def positions(record: GameRecord, **board_options) -> Iterator[tuple[object, int, int]]:
    """(board, color, move) before every move of the record; the board is reused, copy it to keep it.

    Board options (superko, allow_suicide, ...) go to `envs.go.Board`. An illegal move, or a
    komi or setup the engine refuses, raises SGFError naming the source (and the move number).
    """
    board = _start_board(record, **board_options)
    for number, (color, move) in enumerate(record.moves, start=1):
        yield board, color, move
        _play(board, record, number, color, move)


def replay(record: GameRecord, **board_options):
    """The Board after all moves of the record (setup stones first); SGFError naming the source
    on an illegal move, or on a komi or setup the engine refuses."""
    board = _start_board(record, **board_options)
    for number, (color, move) in enumerate(record.moves, start=1):
        _play(board, record, number, color, move)
    return board


def iter_games(paths, **options):
    """Games of SGF files, directories and archives; see envs.go.collection.iter_games."""
    from envs.go.collection import iter_games as _iter_games

    return _iter_games(paths, **options)
