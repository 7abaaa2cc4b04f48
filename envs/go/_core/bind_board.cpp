// Python face of komi::Board (envs.go.Board): thin, every argument checked at the boundary.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <climits>
#include <cmath>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "bind_util.h"

// The NumPy C API builds legal_moves()' array far faster than a generic ndarray export.
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>

namespace komi {

using namespace nb::literals;

PyObject* error_class(const char* name) {
    // Leaked on purpose: the class must outlive every error raised, up to interpreter exit.
    nb::object cls = nb::module_::import_("envs.go.errors").attr(name);
    return cls.release().ptr();
}

namespace {

PyObject* illegal_move_class() {
    static PyObject* cls = error_class("IllegalMove");
    return cls;
}

const char* kColumns = "ABCDEFGHJKLMNOPQRSTUVWXYZ";

// random_games() plays at most this many games per call (about 10 s of 19x19 games).
constexpr int kMaxRandomGames = 1000000;

const char* color_name(int color) { return color == BLACK ? "black" : "white"; }

Superko superko_from_name(const std::string& name) {
    if (name == "positional") return Superko::Positional;
    if (name == "situational") return Superko::Situational;
    if (name == "none") return Superko::None;
    throw std::invalid_argument("unknown superko rule '" + name +
                                "' (choose 'positional', 'situational' or 'none')");
}

const char* superko_name(Superko s) {
    return s == Superko::Positional ? "positional" : (s == Superko::Situational ? "situational" : "none");
}

template <typename T>
nb::ndarray<nb::numpy, T> owned_array(T* data, std::initializer_list<size_t> shape) {
    nb::capsule owner(data, [](void* p) noexcept { delete[] static_cast<T*>(p); });
    return nb::ndarray<nb::numpy, T>(data, shape, owner);
}

using Int64Vector = nb::ndarray<const int64_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

// Checks a list (or 1-D integer array) of move indices for points (pass excluded) and converts
// them. More entries than points must repeat one: refused before anything is converted.
std::vector<int> point_list(const Board& b, nb::handle list, const char* what) {
    const int nn = b.size() * b.size();
    const std::string want = "a list of move indices (integers)";
    nb::object items = nb::borrow(list);
    const bool array_like = PyObject_HasAttrString(list.ptr(), "__array__") ||
                            PyObject_HasAttrString(list.ptr(), "__array_interface__");
    if (!array_like && !PyUnicode_Check(list.ptr()) && !PyBytes_Check(list.ptr()) && PySequence_Check(list.ptr())) {
        // A sequence (list, tuple, range): its length is checked before it is read.
        const Py_ssize_t len = PySequence_Size(list.ptr());
        if (len < 0) {
            PyErr_Clear();
            bad_type(std::string(what) + " must be " + want + ", got " + describe(list));
        }
        if (len > nn)
            bad_value(std::string(what) + ": " + std::to_string(len) + " points, more than a " +
                      std::to_string(b.size()) + "x" + std::to_string(b.size()) + " board has");
        if (!PyList_Check(list.ptr()) && !PyTuple_Check(list.ptr())) {
            // Item by item up to its length (an iterator might not end).
            nb::object tuple = nb::steal(PyTuple_New(len));
            for (Py_ssize_t i = 0; tuple.is_valid() && i < len; ++i) {
                PyObject* item = PySequence_GetItem(list.ptr(), i);
                if (!item) {
                    PyErr_Clear();
                    bad_type(std::string(what) + " must be " + want + ", got " + describe(list));
                }
                PyTuple_SET_ITEM(tuple.ptr(), i, item);
            }
            if (!tuple.is_valid()) throw nb::python_error();
            items = tuple;
        }
    }
    Int64Vector arr = array_arg<Int64Vector>(items, what, "iu", "int64", 1, want.c_str());
    if (arr.shape(0) > (size_t)nn)
        bad_value(std::string(what) + ": " + std::to_string(arr.shape(0)) + " points, more than a " +
                  std::to_string(b.size()) + "x" + std::to_string(b.size()) + " board has");
    std::vector<int> out;
    out.reserve(arr.shape(0));
    for (size_t i = 0; i < arr.shape(0); ++i) {
        const int64_t m = arr(i);
        if (m < 0 || m >= (int64_t)b.size() * b.size())
            throw std::invalid_argument(std::string(what) + ": point " + std::to_string(m) +
                                        " is not on a " + std::to_string(b.size()) + "x" +
                                        std::to_string(b.size()) + " board (0.." +
                                        std::to_string(b.size() * b.size() - 1) + ")");
        out.push_back((int)m);
    }
    return out;
}

bool board_empty(const Board& b) {
    for (int m = 0; m < b.size() * b.size(); ++m)
        if (b.color_at(b.point(m)) != EMPTY) return false;
    return true;
}

std::string board_string(const Board& b) {
    const int n = b.size();
    std::string cols = "   ";
    for (int c = 0; c < n; ++c) { cols += kColumns[c]; if (c + 1 < n) cols += ' '; }
    std::string s = cols + "\n";
    const int last = b.last_move();
    for (int r = 0; r < n; ++r) {
        std::string row = std::to_string(n - r);
        s += std::string(2 - std::min<size_t>(2, row.size()), ' ') + row;
        for (int c = 0; c < n; ++c) {
            const int m = r * n + c;
            const int8_t col = b.color_at(b.point(m));
            s += (m == last) ? '(' : (m - 1 == last && c > 0 ? ')' : ' ');
            s += col == BLACK ? 'X' : (col == WHITE ? 'O' : '.');
        }
        s += (r * n + n - 1 == last) ? ')' : ' ';
        s += row + "\n";
    }
    return s + cols;
}

}  // namespace

std::string gtp_vertex(int move, int size) {
    if (move == size * size) return "pass";
    if (move < 0 || move > size * size || size > 25) return "#" + std::to_string(move);
    return std::string(1, kColumns[move % size]) + std::to_string(size - move / size);
}

void raise_illegal(const Board& b, int move, int color, int status) {
    std::string msg;
    if (status == kOutOfRange) {
        const int nn = b.size() * b.size();
        msg = "illegal move " + std::to_string(move) + ": out of range for a " + std::to_string(b.size()) +
              "x" + std::to_string(b.size()) + " board (0.." + std::to_string(nn) + ", " +
              std::to_string(nn) + " = pass)";
    } else {
        msg = "illegal move " + gtp_vertex(move, b.size()) + " (" + std::to_string(move) + ") for " +
              color_name(color) + ": " + status_name(status);
    }
    nb::handle cls(illegal_move_class());
    nb::object exc = cls(msg, status_name(status), move);
    PyErr_SetObject(cls.ptr(), exc.ptr());
    throw nb::python_error();
}

int color_arg(const Board& b, nb::handle color) {
    if (color.is_none()) return b.to_play();
    bool overflow = false;
    const int64_t c = (PyLong_Check(color.ptr()) || PyIndex_Check(color.ptr())) && !PyBool_Check(color.ptr())
                          ? int_value(color, "color", &overflow) : 0;
    if (overflow || (c != BLACK && c != WHITE))
        bad_value("color must be 1 (black), -1 (white) or None (side to move), got " + describe(color));
    return (int)c;
}

namespace {

// A move argument: any integer; kOutOfRangeMove stands for one outside int (never on a board).
constexpr int kOutOfRangeMove = -1;

int move_arg(nb::handle move) {
    bool overflow = false;
    const int64_t m = int_value(move, "move", &overflow);
    if (overflow || m < INT_MIN || m > INT_MAX) return kOutOfRangeMove;
    return (int)m;
}

}  // namespace

void raise_out_of_range(const Board& b, nb::handle move) {
    const int nn = b.size() * b.size();
    const std::string msg = "illegal move " + describe(move) + ": out of range for a " + std::to_string(b.size()) +
                            "x" + std::to_string(b.size()) + " board (0.." + std::to_string(nn) + ", " +
                            std::to_string(nn) + " = pass)";
    nb::handle cls(illegal_move_class());
    nb::object exc = cls(msg, "out of range", move);
    PyErr_SetObject(cls.ptr(), exc.ptr());
    throw nb::python_error();
}

namespace {

Superko superko_arg(nb::handle h) { return superko_from_name(str_arg(h, "superko")); }

double komi_arg(nb::handle h) { return float_arg(h, "komi", -1000.0, 1000.0); }

// max_moves of a board: None (no cap) or 1..10^9.
int max_moves_arg(nb::handle h) {
    if (h.is_none()) return 0;
    return (int)int_arg(h, "max_moves (None: no cap)", 1, 1000000000);
}

int size_arg(nb::handle h) { return (int)int_arg(h, "board size", 2, kMaxSize); }

}  // namespace

void bind_board(nb::module_& m) {
    if (_import_array() < 0) throw nb::python_error();
    nb::class_<Board>(m, "Board",
        "A Go position with its history. Moves are indices row * size + col (row 0 = top), "
        "pass = size * size; colours BLACK = 1, WHITE = -1.")
        .def("__init__",
             [](Board* self, nb::handle size, nb::handle komi, nb::handle superko, nb::handle allow_suicide,
                nb::handle max_moves) {
                 const int n = size_arg(size);
                 const double k = komi_arg(komi);
                 const Superko sk = superko_arg(superko);
                 const bool suicide = bool_arg(allow_suicide, "allow_suicide");
                 const int cap = max_moves_arg(max_moves);
                 new (self) Board(n, (float)k, sk, suicide, cap);
             },
             nb::arg("size").none() = 19, nb::arg("komi").none() = 7.5, nb::arg("superko").none() = "positional", nb::arg("allow_suicide").none() = false,
             nb::arg("max_moves").none() = nb::none(),
             nb::sig("def __init__(self, size: int = 19, komi: float = 7.5, superko: str = 'positional', "
                     "allow_suicide: bool = False, max_moves: int | None = None) -> None"),
             "A new empty board. superko: 'positional' (default), 'situational' or 'none' (simple "
             "ko only); allow_suicide: multi-stone suicide as in Tromp-Taylor; max_moves: the game "
             "ends after this many moves (passes count).")
        .def("play",
             [](Board& b, nb::handle move, nb::handle color) {
                 const int mv = move_arg(move);
                 const int c = color_arg(b, color);
                 const int status = b.play(mv, c);
                 if (status == kOutOfRange) raise_out_of_range(b, move);
                 if (status != kLegal) raise_illegal(b, mv, c, status);
             },
             nb::arg("move").none(), nb::arg("color").none() = nb::none(),
             nb::sig("def play(self, move: int, color: int | None = None) -> None"),
             "Plays `move` for `color` (default: the side to move). Raises IllegalMove (with "
             ".reason) and leaves the board unchanged if the move is illegal.")
        .def("is_legal",
             [](const Board& b, nb::handle move, nb::handle color) {
                 const int mv = move_arg(move);
                 return b.check(mv, color_arg(b, color)) == kLegal;
             },
             nb::arg("move").none(), nb::arg("color").none() = nb::none(),
             nb::sig("def is_legal(self, move: int, color: int | None = None) -> bool"),
             "Whether `move` is legal for `color` (default: side to move).")
        .def("illegal_reason",
             [](const Board& b, nb::handle move, nb::handle color) -> std::optional<std::string> {
                 const int mv = move_arg(move);
                 const int status = b.check(mv, color_arg(b, color));
                 if (status == kLegal) return std::nullopt;
                 return std::string(status_name(status));
             },
             nb::arg("move").none(), nb::arg("color").none() = nb::none(),
             nb::sig("def illegal_reason(self, move: int, color: int | None = None) -> str | None"),
             "Why `move` is illegal ('occupied', 'ko', ...), or None if legal.")
        .def("legal_moves",
             [](const Board& b) {
                 int32_t buf[kMaxPoints + 1];
                 const int k = b.legal_moves(buf);
                 npy_intp dims[1] = {k};
                 PyObject* arr = PyArray_SimpleNew(1, dims, NPY_INT64);
                 if (!arr) throw nb::python_error();
                 int64_t* data = static_cast<int64_t*>(PyArray_DATA(reinterpret_cast<PyArrayObject*>(arr)));
                 for (int i = 0; i < k; ++i) data[i] = buf[i];
                 return nb::steal(arr);
             },
             nb::sig("def legal_moves(self) -> numpy.ndarray[dtype=int64]"),
             "Legal moves of the side to move, ascending, pass (size * size) last: int64 [K]. "
             "Empty once the game is over.")
        .def("is_over", &Board::is_over, "Two consecutive passes, a resignation or the move cap.")
        .def("score", &Board::area_score, "Area (Tromp-Taylor) score from Black's side, komi included.")
        .def("territory_score",
             [](const Board& b, nb::handle dead) {
                 std::vector<int> pts = point_list(b, dead, "dead stones");
                 for (int p : pts)
                     if (b.color_at(b.point(p)) == EMPTY)
                         throw std::invalid_argument("dead stones: " + gtp_vertex(p, b.size()) + " is empty");
                 return b.territory_score(pts.data(), (int)pts.size());
             },
             nb::arg("dead").none() = nb::make_tuple(),
             nb::sig("def territory_score(self, dead: Sequence[int] = ()) -> float"),
             "Territory score from Black's side, komi included: territory + prisoners, with the "
             "`dead` stones removed and counted as prisoners.")
        .def("winner", &Board::winner,
             "+1 Black wins, -1 White wins, 0 draw: the resignation if any, else the area score's sign.")
        .def("resign",
             [](Board& b, nb::handle color) {
                 const int c = color_arg(b, color);
                 if (b.is_over()) throw std::invalid_argument("the game is already over");
                 b.resign(c);
             },
             nb::arg("color").none() = nb::none(), nb::sig("def resign(self, color: int | None = None) -> None"),
             "`color` (default: the side to move) resigns; the game is over.")
        .def("copy", [](const Board& b) { return Board(b); }, "An independent copy.")
        .def("__copy__", [](const Board& b) { return Board(b); })
        .def("__deepcopy__", [](const Board& b, nb::handle) { return Board(b); }, nb::arg("memo").none())
        .def("stones",
             [](const Board& b) {
                 const int n = b.size();
                 int8_t* data = new int8_t[n * n];
                 for (int m = 0; m < n * n; ++m) data[m] = b.color_at(b.point(m));
                 return owned_array<int8_t>(data, {(size_t)n, (size_t)n});
             },
             "Stones as int8 [size, size]: 1 black, -1 white, 0 empty (row 0 = top).")
        .def("ownership",
             [](const Board& b) {
                 const int n = b.size();
                 int8_t* data = new int8_t[n * n];
                 b.area_owner(data);
                 return owned_array<int8_t>(data, {(size_t)n, (size_t)n});
             },
             "Tromp-Taylor owner of each point as int8 [size, size] from Black's view: 1 Black (a "
             "stone or an empty region reaching only Black), -1 White, 0 neither (row 0 = top).")
        .def("liberties",
             [](const Board& b) {
                 const int n = b.size();
                 int16_t* data = new int16_t[n * n];
                 for (int m = 0; m < n * n; ++m) {
                     const int p = b.point(m);
                     data[m] = b.color_at(p) == EMPTY ? 0 : (int16_t)b.chain_liberties(p);
                 }
                 return owned_array<int16_t>(data, {(size_t)n, (size_t)n});
             },
             "Liberties of the chain through each point as int16 [size, size] (0 on empty points).")
        .def("place_handicap",
             [](Board& b, nb::handle count) {
                 bool overflow = false;
                 const int64_t n = int_value(count, "handicap", &overflow);
                 if (!board_empty(b) || b.move_number() != 0)
                     throw std::invalid_argument("handicap stones go on an empty board before the first move");
                 std::vector<int> pts = (overflow || n < 2 || n > 9) ? std::vector<int>() : b.handicap_points((int)n);
                 if (pts.empty())
                     throw std::invalid_argument("no fixed handicap of " + describe(count) + " stones on " +
                                                 std::to_string(b.size()) + "x" + std::to_string(b.size()) +
                                                 " (2..9 on odd sizes >= 9, 2..4 on 7x7 and even sizes >= 8)");
                 b.set_stones(pts.data(), (int)pts.size(), nullptr, 0, nullptr, 0);
                 b.set_to_play(WHITE);
                 return pts;
             },
             nb::arg("n").none(), nb::sig("def place_handicap(self, n: int) -> list[int]"),
             "Places the GTP fixed handicap of n stones on the empty board; White moves next. "
             "Returns the points.")
        .def("set_free_handicap",
             [](Board& b, nb::handle moves) {
                 std::vector<int> pts = point_list(b, moves, "handicap");
                 if (!board_empty(b) || b.move_number() != 0)
                     throw std::invalid_argument("handicap stones go on an empty board before the first move");
                 if (pts.size() < 2 || (int)pts.size() >= b.size() * b.size())
                     throw std::invalid_argument("a free handicap has 2 to size*size-1 stones, got " +
                                                 std::to_string(pts.size()));
                 std::vector<uint8_t> seen((size_t)b.size() * b.size(), 0);
                 for (int p : pts)
                     if (seen[p]++) throw std::invalid_argument("handicap: " + gtp_vertex(p, b.size()) + " given twice");
                 b.set_stones(pts.data(), (int)pts.size(), nullptr, 0, nullptr, 0);
                 b.set_to_play(WHITE);
             },
             nb::arg("moves").none(), nb::sig("def set_free_handicap(self, moves: Sequence[int]) -> None"),
             "Places free handicap stones (chosen points) on the empty board; White moves next.")
        .def("set_stones",
             [](Board& b, nb::handle black, nb::handle white, nb::handle empty) {
                 std::vector<int> bl = point_list(b, black, "black stones");
                 std::vector<int> wh = point_list(b, white, "white stones");
                 std::vector<int> em = point_list(b, empty, "empty points");
                 std::vector<uint8_t> is_black((size_t)b.size() * b.size(), 0);
                 for (int x : bl) is_black[x] = 1;
                 for (int y : wh)
                     if (is_black[y])
                         throw std::invalid_argument("setup: " + gtp_vertex(y, b.size()) + " is both black and white");
                 int dead = b.set_stones(bl.data(), (int)bl.size(), wh.data(), (int)wh.size(), em.data(), (int)em.size());
                 if (dead >= 0)
                     throw std::invalid_argument("setup leaves the chain at " + gtp_vertex(dead, b.size()) +
                                                 " without liberties");
             },
             nb::arg("black").none() = nb::make_tuple(), nb::arg("white").none() = nb::make_tuple(), nb::arg("empty").none() = nb::make_tuple(),
             nb::sig("def set_stones(self, black: Sequence[int] = (), white: Sequence[int] = (), "
                     "empty: Sequence[int] = ()) -> None"),
             "Setup stones (SGF AB/AW/AE): places them without playing moves; the side to move "
             "is kept. The result is a new starting position (superko and feature history restart).")
        .def("set_to_play",
             [](Board& b, nb::handle color) {
                 if (color.is_none()) bad_value("set_to_play: colour must be 1 (black) or -1 (white), got None");
                 const int c = color_arg(b, color);
                 if (b.is_over()) throw std::invalid_argument("set_to_play: the game is over");
                 b.set_to_play(c);
             },
             nb::arg("color").none(), nb::sig("def set_to_play(self, color: int) -> None"),
             "Sets the side to move (setup positions, SGF PL).")
        .def("playout",
             [](Board& b, nb::handle seed, nb::handle fill_own_eyes, nb::handle max_moves) {
                 const uint64_t sd = seed_arg(seed, "seed");
                 const bool fill = bool_arg(fill_own_eyes, "fill_own_eyes");
                 const int cap = (int)int_arg(max_moves, "max_moves", 0, 1000000000);
                 Rng rng(sd);
                 nb::gil_scoped_release release;
                 return b.playout(rng, fill, cap);
             },
             nb::arg("seed").none() = 0, nb::arg("fill_own_eyes").none() = true, nb::arg("max_moves").none() = 0,
             nb::sig("def playout(self, seed: int = 0, fill_own_eyes: bool = True, max_moves: int = 0) -> int"),
             "Plays on at random natively until the game is over: uniform over legal moves and "
             "pass, or (fill_own_eyes=False) over legal moves that do not fill an own eye, passing "
             "only when none is left. Stops after max_moves moves (0: 4*size*size unless the "
             "board has its own cap). Returns the number of moves played.")
        .def_prop_ro("size", &Board::size)
        .def_prop_ro("komi", &Board::komi)
        .def_prop_ro("to_play", &Board::to_play, "The side to move: 1 black, -1 white.")
        .def_prop_ro("move_number", &Board::move_number, "Moves played so far (passes included).")
        .def_prop_ro("last_move",
                     [](const Board& b) -> std::optional<int> {
                         int mv = b.last_move();
                         return mv < 0 ? std::nullopt : std::optional<int>(mv);
                     },
                     "The last move played (pass = size*size), or None.")
        .def("last_moves",
             [](const Board& b, nb::handle count) {
                 const int k = (int)int_arg(count, "last_moves: k", 0, kLastMoves);
                 std::vector<int> out;
                 for (int i = 0; i < k && b.last_move(i) >= 0; ++i) out.push_back(b.last_move(i));
                 return out;
             },
             nb::arg("k").none() = 4, nb::sig("def last_moves(self, k: int = 4) -> list[int]"),
             "The last k moves, most recent first (at most 8).")
        .def_prop_ro("captures",
                     [](const Board& b) { return std::make_pair(b.captures(BLACK), b.captures(WHITE)); },
                     "Stones captured (by Black, by White).")
        .def_prop_ro("ko_point",
                     [](const Board& b) -> std::optional<int> {
                         int mv = b.ko_move();
                         return mv < 0 ? std::nullopt : std::optional<int>(mv);
                     },
                     "The point the side to move may not take because of simple ko, or None.")
        .def_prop_ro("consecutive_passes", &Board::consecutive_passes)
        .def_prop_ro("resigned", &Board::resigned, "The colour that resigned, 0 if none.")
        .def_prop_ro("hash", &Board::hash, "Zobrist hash of the stones (64-bit).")
        .def_prop_ro("superko", [](const Board& b) { return std::string(superko_name(b.superko())); })
        .def_prop_ro("allow_suicide", &Board::allow_suicide)
        .def_prop_ro("max_moves",
                     [](const Board& b) -> std::optional<int> {
                         return b.max_moves() ? std::optional<int>(b.max_moves()) : std::nullopt;
                     })
        .def("__str__", &board_string)
        .def("__repr__", [](const Board& b) {
            return "<Board " + std::to_string(b.size()) + "x" + std::to_string(b.size()) + " move " +
                   std::to_string(b.move_number()) + ", " + (b.to_play() == BLACK ? "black" : "white") +
                   " to play" + (b.is_over() ? ", over" : "") + ">";
        });

    m.def("random_games",
          [](nb::handle size, nb::handle n_games, nb::handle seed, nb::handle komi, nb::handle fill_own_eyes,
             nb::handle superko, nb::handle max_moves) {
              // Checked as Board() checks them, before anything is allocated.
              const int n = size_arg(size);
              const int games = (int)int_arg(n_games, "n_games", 0, kMaxRandomGames);
              const uint64_t sd = seed_arg(seed, "seed");
              const double k = komi_arg(komi);
              const bool fill = bool_arg(fill_own_eyes, "fill_own_eyes");
              const Superko sk = superko_arg(superko);
              const int cap = max_moves_arg(max_moves);
              Board start(n, (float)k, sk, false, cap);
              int64_t* lengths = new int64_t[games > 0 ? games : 1];
              int8_t* winners = new int8_t[games > 0 ? games : 1];
              auto lengths_array = owned_array<int64_t>(lengths, {(size_t)games});
              auto winners_array = owned_array<int8_t>(winners, {(size_t)games});
              {
                  nb::gil_scoped_release release;
                  Rng rng(sd);
                  for (int g = 0; g < games; ++g) {
                      Board b(start);
                      lengths[g] = b.playout(rng, fill, 0);
                      winners[g] = (int8_t)b.winner();
                  }
              }
              return std::make_pair(lengths_array, winners_array);
          },
          nb::arg("size").none(), nb::arg("n_games").none(), nb::arg("seed").none() = 0, nb::arg("komi").none() = 7.5, nb::arg("fill_own_eyes").none() = true,
          nb::arg("superko").none() = "none", nb::arg("max_moves").none() = nb::none(),
          nb::sig("def random_games(size: int, n_games: int, seed: int = 0, komi: float = 7.5, "
                  "fill_own_eyes: bool = True, superko: str = 'none', max_moves: int | None = None) -> "
                  "tuple[numpy.ndarray[dtype=int64], numpy.ndarray[dtype=int8]]"),
          "Plays n_games random games natively (see Board.playout; at most 10^6 per call); returns "
          "(lengths int64 [G], winners int8 [G]).");
    m.def("zobrist_key",
          [](nb::handle color, nb::handle move, nb::handle size) {
              const int n = size_arg(size);
              const int c = (int)int_arg(color, "color", -1, 1);
              if (c != BLACK && c != WHITE) bad_value("color must be 1 (black) or -1 (white), got 0");
              const int mv = (int)int_arg(move, "move (a point)", 0, n * n - 1);
              return zobrist(c, (mv / n + 1) * (n + 2) + mv % n + 1);
          },
          nb::arg("color").none(), nb::arg("move").none(), nb::arg("size").none(), nb::sig("def zobrist_key(color: int, move: int, size: int) -> int"),
          "Zobrist key of one stone (Board.hash XORs them).");
    m.attr("MAX_SIZE") = kMaxSize;
}

}  // namespace komi
