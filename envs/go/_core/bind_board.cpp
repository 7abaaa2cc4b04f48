// Python face of komi::Board (envs.go.Board): thin, every argument checked at the boundary.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

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

// Checks a list of move indices for points (pass excluded) and converts them.
std::vector<int> point_list(const Board& b, const std::vector<int64_t>& moves, const char* what) {
    std::vector<int> out;
    out.reserve(moves.size());
    for (int64_t m : moves) {
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
    int c = 0;
    if (!nb::try_cast<int>(color, c) || (c != BLACK && c != WHITE))
        throw std::invalid_argument("color must be 1 (black), -1 (white) or None (side to move), got " +
                                    std::string(nb::str(nb::repr(color)).c_str()));
    return c;
}

void bind_board(nb::module_& m) {
    if (_import_array() < 0) throw nb::python_error();
    nb::class_<Board>(m, "Board",
        "A Go position with its history. Moves are indices row * size + col (row 0 = top), "
        "pass = size * size; colours BLACK = 1, WHITE = -1.")
        .def("__init__",
             [](Board* self, int size, double komi, const std::string& superko, bool allow_suicide,
                std::optional<int64_t> max_moves) {
                 if (!std::isfinite(komi) || std::fabs(komi) > 1000)
                     throw std::invalid_argument("komi must be a finite number, got " + std::to_string(komi));
                 int64_t cap = max_moves.value_or(0);
                 if (cap < 0 || cap > 1000000000 || (max_moves && cap == 0))
                     throw std::invalid_argument("max_moves must be a positive integer or None, got " +
                                                 std::to_string(cap));
                 new (self) Board(size, (float)komi, superko_from_name(superko), allow_suicide, (int)cap);
             },
             "size"_a = 19, "komi"_a = 7.5, "superko"_a = "positional", "allow_suicide"_a = false,
             "max_moves"_a = nb::none(),
             "A new empty board. superko: 'positional' (default), 'situational' or 'none' (simple "
             "ko only); allow_suicide: multi-stone suicide as in Tromp-Taylor; max_moves: the game "
             "ends after this many moves (passes count).")
        .def("play",
             [](Board& b, int move, nb::handle color) {
                 const int c = color_arg(b, color);
                 const int status = b.play(move, c);
                 if (status != kLegal) raise_illegal(b, move, c, status);
             },
             "move"_a, "color"_a = nb::none(),
             "Plays `move` for `color` (default: the side to move). Raises IllegalMove (with "
             ".reason) and leaves the board unchanged if the move is illegal.")
        .def("is_legal",
             [](const Board& b, int move, nb::handle color) { return b.check(move, color_arg(b, color)) == kLegal; },
             "move"_a, "color"_a = nb::none(), "Whether `move` is legal for `color` (default: side to move).")
        .def("illegal_reason",
             [](const Board& b, int move, nb::handle color) -> std::optional<std::string> {
                 const int status = b.check(move, color_arg(b, color));
                 if (status == kLegal) return std::nullopt;
                 return std::string(status_name(status));
             },
             "move"_a, "color"_a = nb::none(), "Why `move` is illegal ('occupied', 'ko', ...), or None if legal.")
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
             "Legal moves of the side to move, ascending, pass (size * size) last: int64 [K]. "
             "Empty once the game is over.")
        .def("is_over", &Board::is_over, "Two consecutive passes, a resignation or the move cap.")
        .def("score", &Board::area_score, "Area (Tromp-Taylor) score from Black's side, komi included.")
        .def("territory_score",
             [](const Board& b, const std::vector<int64_t>& dead) {
                 std::vector<int> pts = point_list(b, dead, "dead stones");
                 for (int p : pts)
                     if (b.color_at(b.point(p)) == EMPTY)
                         throw std::invalid_argument("dead stones: " + gtp_vertex(p, b.size()) + " is empty");
                 return b.territory_score(pts.data(), (int)pts.size());
             },
             "dead"_a = std::vector<int64_t>{},
             "Territory score from Black's side, komi included: territory + prisoners, with the "
             "`dead` stones removed and counted as prisoners.")
        .def("winner", &Board::winner,
             "+1 Black wins, -1 White wins, 0 draw: the resignation if any, else the area score's sign.")
        .def("resign",
             [](Board& b, nb::handle color) {
                 if (b.is_over()) throw std::invalid_argument("the game is already over");
                 b.resign(color_arg(b, color));
             },
             "color"_a = nb::none(), "`color` (default: the side to move) resigns; the game is over.")
        .def("copy", [](const Board& b) { return Board(b); }, "An independent copy.")
        .def("__copy__", [](const Board& b) { return Board(b); })
        .def("__deepcopy__", [](const Board& b, nb::handle) { return Board(b); }, "memo"_a)
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
             [](Board& b, int n) {
                 if (!board_empty(b) || b.move_number() != 0)
                     throw std::invalid_argument("handicap stones go on an empty board before the first move");
                 std::vector<int> pts = b.handicap_points(n);
                 if (pts.empty())
                     throw std::invalid_argument("no fixed handicap of " + std::to_string(n) + " stones on " +
                                                 std::to_string(b.size()) + "x" + std::to_string(b.size()) +
                                                 " (2..9 on odd sizes >= 9, 2..4 on 7x7 and even sizes >= 8)");
                 b.set_stones(pts.data(), (int)pts.size(), nullptr, 0, nullptr, 0);
                 b.set_to_play(WHITE);
                 return pts;
             },
             "n"_a, "Places the GTP fixed handicap of n stones on the empty board; White moves next. "
             "Returns the points.")
        .def("set_free_handicap",
             [](Board& b, const std::vector<int64_t>& moves) {
                 std::vector<int> pts = point_list(b, moves, "handicap");
                 if (!board_empty(b) || b.move_number() != 0)
                     throw std::invalid_argument("handicap stones go on an empty board before the first move");
                 if (pts.size() < 2 || (int)pts.size() >= b.size() * b.size())
                     throw std::invalid_argument("a free handicap has 2 to size*size-1 stones, got " +
                                                 std::to_string(pts.size()));
                 for (size_t i = 0; i < pts.size(); ++i)
                     for (size_t j = 0; j < i; ++j)
                         if (pts[i] == pts[j])
                             throw std::invalid_argument("handicap: " + gtp_vertex(pts[i], b.size()) + " given twice");
                 b.set_stones(pts.data(), (int)pts.size(), nullptr, 0, nullptr, 0);
                 b.set_to_play(WHITE);
             },
             "moves"_a, "Places free handicap stones (chosen points) on the empty board; White moves next.")
        .def("set_stones",
             [](Board& b, const std::vector<int64_t>& black, const std::vector<int64_t>& white,
                const std::vector<int64_t>& empty) {
                 std::vector<int> bl = point_list(b, black, "black stones");
                 std::vector<int> wh = point_list(b, white, "white stones");
                 std::vector<int> em = point_list(b, empty, "empty points");
                 for (int x : bl)
                     for (int y : wh)
                         if (x == y)
                             throw std::invalid_argument("setup: " + gtp_vertex(x, b.size()) + " is both black and white");
                 int dead = b.set_stones(bl.data(), (int)bl.size(), wh.data(), (int)wh.size(), em.data(), (int)em.size());
                 if (dead >= 0)
                     throw std::invalid_argument("setup leaves the chain at " + gtp_vertex(dead, b.size()) +
                                                 " without liberties");
             },
             "black"_a = std::vector<int64_t>{}, "white"_a = std::vector<int64_t>{},
             "empty"_a = std::vector<int64_t>{},
             "Setup stones (SGF AB/AW/AE): places them without playing moves; the side to move "
             "is kept. The result is a new starting position (superko and feature history restart).")
        .def("set_to_play",
             [](Board& b, int color) {
                 if (color != BLACK && color != WHITE)
                     throw std::invalid_argument("set_to_play: colour must be 1 (black) or -1 (white)");
                 if (b.is_over()) throw std::invalid_argument("set_to_play: the game is over");
                 b.set_to_play(color);
             },
             "color"_a, "Sets the side to move (setup positions, SGF PL).")
        .def("playout",
             [](Board& b, uint64_t seed, bool fill_own_eyes, int max_moves) {
                 if (max_moves < 0) throw std::invalid_argument("max_moves must be >= 0");
                 Rng rng(seed);
                 nb::gil_scoped_release release;
                 return b.playout(rng, fill_own_eyes, max_moves);
             },
             "seed"_a = 0, "fill_own_eyes"_a = true, "max_moves"_a = 0,
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
             [](const Board& b, int k) {
                 if (k < 0 || k > kLastMoves)
                     throw std::invalid_argument("last_moves keeps at most " + std::to_string(kLastMoves));
                 std::vector<int> out;
                 for (int i = 0; i < k && b.last_move(i) >= 0; ++i) out.push_back(b.last_move(i));
                 return out;
             },
             "k"_a = 4, "The last k moves, most recent first (at most 8).")
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
          [](int size, int n_games, uint64_t seed, double komi, bool fill_own_eyes,
             const std::string& superko, std::optional<int64_t> max_moves) {
              if (n_games < 0) throw std::invalid_argument("n_games must be >= 0");
              int64_t cap = max_moves.value_or(0);
              if (cap < 0 || cap > 1000000000) throw std::invalid_argument("max_moves must be positive or None");
              Board start(size, (float)komi, superko_from_name(superko), false, (int)cap);
              int64_t* lengths = new int64_t[n_games > 0 ? n_games : 1];
              int8_t* winners = new int8_t[n_games > 0 ? n_games : 1];
              {
                  nb::gil_scoped_release release;
                  Rng rng(seed);
                  for (int g = 0; g < n_games; ++g) {
                      Board b(start);
                      lengths[g] = b.playout(rng, fill_own_eyes, 0);
                      winners[g] = (int8_t)b.winner();
                  }
              }
              return std::make_pair(owned_array<int64_t>(lengths, {(size_t)n_games}),
                                    owned_array<int8_t>(winners, {(size_t)n_games}));
          },
          "size"_a, "n_games"_a, "seed"_a = 0, "komi"_a = 7.5, "fill_own_eyes"_a = true,
          "superko"_a = "none", "max_moves"_a = nb::none(),
          "Plays n_games random games natively (see Board.playout); returns (lengths int64 [G], "
          "winners int8 [G]).");
    m.def("zobrist_key", [](int color, int move, int size) {
              if (size < 2 || size > kMaxSize || move < 0 || move >= size * size || (color != BLACK && color != WHITE))
                  throw std::invalid_argument("zobrist_key: bad colour, move or size");
              return zobrist(color, (move / size + 1) * (size + 2) + move % size + 1);
          }, "color"_a, "move"_a, "size"_a, "Zobrist key of one stone (Board.hash XORs them).");
    m.attr("MAX_SIZE") = kMaxSize;
}

}  // namespace komi
