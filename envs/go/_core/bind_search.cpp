// Python face of komi::Search (envs.go._core.Search), driven by agent.search.BatchedSearch.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "bind_util.h"
#include "search.h"

namespace komi {

using namespace nb::literals;

namespace {

using Planes = nb::ndarray<float, nb::ndim<4>, nb::c_contig, nb::device::cpu>;
using Matrix = nb::ndarray<const float, nb::ndim<2>, nb::c_contig, nb::device::cpu>;
template <typename T>
using Vector = nb::ndarray<const T, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

template <typename T>
nb::ndarray<nb::numpy, T> owned_vector(size_t n) {
    T* data = new T[n];
    nb::capsule owner(data, [](void* p) noexcept { delete[] static_cast<T*>(p); });
    return nb::ndarray<nb::numpy, T>(data, {n}, owner);
}

// Marks a Search in use for a call that releases the GIL (select, backup), so that another
// thread's call on the same object is refused rather than racing with it.
struct Busy {
    Search& s;
    explicit Busy(Search& search) : s(search) {
        if (s.busy) bad_value("this Search is in use by another thread");
        s.busy = true;
    }
    ~Busy() { s.busy = false; }
};

const Search& idle(const Search& s) {
    if (s.busy) bad_value("this Search is in use by another thread");
    return s;
}
Search& idle(Search& s) {
    if (s.busy) bad_value("this Search is in use by another thread");
    return s;
}

int game_arg(const Search& s, nb::handle g) {
    bool overflow = false;
    const int64_t v = int_value(g, "game", &overflow);
    if (overflow || v < 0 || v >= s.num_games())
        bad_value("game " + describe(g) + " is not in 0.." + std::to_string(s.num_games() - 1));
    return (int)v;
}

}  // namespace

void bind_search(nb::module_& m) {
    nb::class_<Search>(m, "Search",
                       "Batched PUCT search over many games (one tree each); see agent.search for the Python API. "
                       "feature_set 'none' writes no planes (tree-only measurements).")
        .def("__init__",
             [](Search* self, nb::handle num_games, nb::handle size, nb::handle feature_set, nb::handle c_puct,
                nb::handle fpu_reduction, nb::handle noise_fraction, nb::handle noise_alpha, nb::handle leaves_per_tree,
                nb::handle no_pass_before, nb::handle tree_reuse, nb::handle seed, nb::handle max_tree_nodes) {
                 const int games = (int)int_arg(num_games, "num_games", 1, kMaxGames);
                 const int n = (int)int_arg(size, "board size", 2, kMaxSize);
                 const std::string fs = str_arg(feature_set, "feature_set");
                 SearchParams p;
                 p.write_planes = fs != "none";
                 p.feature_set = p.write_planes ? feature_set_from_name(fs) : FeatureSet::Basic;
                 p.c_puct = (float)float_arg(c_puct, "c_puct", 0.0, kMaxCPuct, "(0, 1000]");
                 if (!(p.c_puct > 0.0f)) bad_value("c_puct must be a finite number in (0, 1000], got " + describe(c_puct));
                 p.fpu_reduction = (float)float_arg(fpu_reduction, "fpu_reduction", -kMaxFpuReduction, kMaxFpuReduction,
                                                    "[-2, 2] (values are in [-1, 1])");
                 p.noise_fraction = (float)float_arg(noise_fraction, "noise_fraction", 0.0, 1.0);
                 p.noise_alpha = (float)float_arg(noise_alpha, "noise_alpha (0: 10.83 / legal moves)", 0.0, kMaxNoiseAlpha);
                 p.leaves_per_tree = (int)int_arg(leaves_per_tree, "leaves_per_tree", 1, kMaxLeavesPerTree);
                 p.no_pass_before = (int)int_arg(no_pass_before, "no_pass_before", 0, INT32_MAX);
                 p.tree_reuse = bool_arg(tree_reuse, "tree_reuse");
                 p.seed = seed_arg(seed, "seed");
                 p.max_tree_nodes = int_arg(max_tree_nodes, "max_tree_nodes (0: the most)", 0, Search::kMaxTreeNodes);
                 new (self) Search(games, n, p);
             },
             nb::arg("num_games").none(), nb::arg("size").none(), nb::arg("feature_set").none() = "extended", nb::arg("c_puct").none() = 1.5, nb::arg("fpu_reduction").none() = 0.25,
             nb::arg("noise_fraction").none() = 0.0, nb::arg("noise_alpha").none() = 0.0, nb::arg("leaves_per_tree").none() = 8, nb::arg("no_pass_before").none() = 0,
             nb::arg("tree_reuse").none() = true, nb::arg("seed").none() = 0, nb::arg("max_tree_nodes").none() = 0,
             nb::sig("def __init__(self, num_games: int, size: int, feature_set: str = 'extended', c_puct: float = 1.5, "
                     "fpu_reduction: float = 0.25, noise_fraction: float = 0.0, noise_alpha: float = 0.0, "
                     "leaves_per_tree: int = 8, no_pass_before: int = 0, tree_reuse: bool = True, seed: int = 0, "
                     "max_tree_nodes: int = 0) -> None"))
        .def_ro_static("max_tree_nodes_limit", &Search::kMaxTreeNodes, "Most nodes one tree can hold.")
        .def_ro_static("max_games", &kMaxGames, "Most games one Search holds.")
        .def_ro_static("max_leaves_per_tree", &kMaxLeavesPerTree)
        .def_ro_static("max_leaves_limit", &kMaxLeaves, "Most leaves of one select() (games x leaves per tree).")
        .def_ro_static("max_visits", &kMaxVisits, "Most visits of one run.")
        .def_ro_static("max_c_puct", &kMaxCPuct, "c_puct is in (0, max_c_puct].")
        .def_ro_static("max_fpu_reduction", &kMaxFpuReduction, "fpu_reduction is in [-max, max].")
        .def_ro_static("max_noise_alpha", &kMaxNoiseAlpha, "noise_alpha is in [0, max] (0: the default).")
        .def_prop_ro("num_games", &Search::num_games)
        .def_prop_ro("size", &Search::size)
        .def_prop_ro("planes", &Search::planes)
        .def_prop_ro("max_leaves", &Search::max_leaves, "Most leaves one select() writes (games x leaves per tree).")
        .def_prop_ro("awaiting_backup", [](const Search& s) { return idle(s).awaiting_backup(); },
                     "Whether the leaves of the last select() await backup().")
        .def("reset",
             [](Search& s, nb::handle g, nb::handle board) {
                 const int gi = game_arg(idle(s), g);
                 s.reset(gi, board_arg(board, "board"));
             },
             nb::arg("game").none(), nb::arg("board").none(), nb::sig("def reset(self, game: int, board: Board) -> None"),
             "Game `game` starts from a copy of `board` with an empty tree. Leaves of the last select() "
             "that await backup() are cancelled (see cancel()).")
        .def("cancel", [](Search& s) { idle(s).cancel(); },
             "Drops the leaves of the last select() that await backup() (their virtual loss undone), e.g. "
             "after the evaluator failed; nothing else changes.")
        .def("play",
             [](Search& s, nb::handle g, nb::handle move) {
                 const int gi = game_arg(idle(s), g);
                 bool overflow = false;
                 const int64_t mv64 = int_value(move, "move", &overflow);
                 const int mv = (int)std::clamp<int64_t>(mv64, -1, 1 << 30);
                 const int status = s.play(gi, mv);
                 if (status == kOutOfRange) raise_out_of_range(s.board(gi), move);
                 if (status != kLegal) raise_illegal(s.board(gi), mv, s.board(gi).to_play(), status);
             },
             nb::arg("game").none(), nb::arg("move").none(), nb::sig("def play(self, game: int, move: int) -> None"),
             "Plays `move` in game `game`, keeping its subtree when tree reuse is on.")
        .def("board", [](const Search& s, nb::handle g) { return Board(s.board(game_arg(idle(s), g))); }, nb::arg("game").none(),
             nb::sig("def board(self, game: int) -> Board"), "A copy of game `game`'s current position.")
        .def("begin",
             [](Search& s, nb::handle games_h, nb::handle visits_h, nb::handle noisy_h) {
                 idle(s);
                 auto games = array_arg<Vector<int64_t>>(games_h, "games", "iu", "int64", 1,
                                                         "a 1-D array (or list) of game indices");
                 auto visits = array_arg<Vector<int64_t>>(visits_h, "visits", "iu", "int64", 1,
                                                          "a 1-D array (or list) of integers");
                 auto noisy = array_arg<Vector<bool>>(noisy_h, "noisy", "biu", "bool", 1,
                                                      "a 1-D array (or list) of bools");
                 const size_t n = games.shape(0);
                 if (visits.shape(0) != n || noisy.shape(0) != n)
                     throw std::invalid_argument("games, visits and noisy must have the same length, got " +
                                                 std::to_string(n) + ", " + std::to_string(visits.shape(0)) + " and " +
                                                 std::to_string(noisy.shape(0)));
                 if (n > (size_t)s.num_games())
                     throw std::invalid_argument("begin: " + std::to_string(n) + " games listed, the search has " +
                                                 std::to_string(s.num_games()));
                 std::vector<int> g(n), v(n);
                 std::vector<uint8_t> z(n);
                 std::vector<uint8_t> seen((size_t)s.num_games(), 0);
                 for (size_t k = 0; k < n; ++k) {
                     if (games(k) < 0 || games(k) >= s.num_games())
                         throw std::invalid_argument("game " + std::to_string(games(k)) + " is not in 0.." +
                                                     std::to_string(s.num_games() - 1));
                     g[k] = (int)games(k);
                     if (seen[g[k]]++) throw std::invalid_argument("game " + std::to_string(g[k]) + " is listed twice");
                     if (visits(k) < 1 || visits(k) > kMaxVisits)
                         throw std::invalid_argument("visits must be in 1..2^30, got " + std::to_string(visits(k)));
                     v[k] = (int)visits(k);
                     z[k] = noisy(k) ? 1 : 0;
                 }
                 s.begin(g.data(), v.data(), z.data(), (int)n);
             },
             nb::arg("games").none(), nb::arg("visits").none(), nb::arg("noisy").none(),
             nb::sig("def begin(self, games: numpy.ndarray[dtype=int64], visits: numpy.ndarray[dtype=int64], "
                     "noisy: numpy.ndarray[dtype=bool]) -> None"),
             "Starts a run: each listed game searches until its root has that many visits.")
        .def("select",
             [](Search& s, nb::handle out_h) {
                 Planes out = out_arg<Planes>(out_h, "select: out", "a writeable C-contiguous float32 array [L, C, N, N]");
                 if (out.shape(0) < (size_t)s.max_leaves() || out.shape(1) != (size_t)s.planes() ||
                     out.shape(2) != (size_t)s.size() || out.shape(3) != (size_t)s.size())
                     throw std::invalid_argument("select: out must have shape [>= " + std::to_string(s.max_leaves()) +
                                                 ", " + std::to_string(s.planes()) + ", " + std::to_string(s.size()) +
                                                 ", " + std::to_string(s.size()) + "]");
                 Busy busy(s);
                 nb::gil_scoped_release release;
                 return s.select(out.data());
             },
             nb::arg("out").none(), nb::sig("def select(self, out: numpy.ndarray[dtype=float32]) -> int"),
             "Selects leaves in every tree of the run and writes their planes into out; returns how many "
             "(0: the run is finished).")
        .def("backup",
             [](Search& s, nb::handle logits_h, nb::handle values_h) {
                 idle(s);
                 auto logits = array_arg<Matrix>(logits_h, "backup: logits", "fiu", "float32", 2,
                                                 "a 2-D float array [L, N*N+1]");
                 auto values = array_arg<Vector<float>>(values_h, "backup: values", "fiu", "float32", 1,
                                                        "a 1-D float array [L]");
                 const size_t n = values.shape(0);
                 if (logits.shape(0) != n || logits.shape(1) != (size_t)(s.size() * s.size() + 1))
                     throw std::invalid_argument("backup: logits must have shape [" + std::to_string(n) + ", " +
                                                 std::to_string(s.size() * s.size() + 1) + "], got [" +
                                                 std::to_string(logits.shape(0)) + ", " +
                                                 std::to_string(logits.shape(1)) + "]");
                 if (n > (size_t)s.max_leaves())
                     throw std::invalid_argument("backup: " + std::to_string(n) + " evaluations, more than a select() gives");
                 Busy busy(s);
                 nb::gil_scoped_release release;
                 s.backup(logits.data(), values.data(), (int)n);
             },
             nb::arg("logits").none(), nb::arg("values").none(),
             nb::sig("def backup(self, logits: numpy.ndarray[dtype=float32], values: numpy.ndarray[dtype=float32]) "
                     "-> None"),
             "Expands the selected leaves with the evaluator's policy logits [L, N*N+1] and values [L] "
             "(for the side to move) and backs the values up. Refused input (a wrong count, a non-finite "
             "number) changes nothing: the leaves still await backup (or cancel()).")
        .def("root_stats",
             [](const Search& s, nb::handle g) {
                 const int gi = game_arg(idle(s), g);
                 const size_t moves = (size_t)(s.size() * s.size() + 1);
                 auto visits = owned_vector<int32_t>(moves);
                 auto prior = owned_vector<float>(moves);
                 auto q = owned_vector<float>(moves);
                 s.root_stats(gi, visits.data(), prior.data(), q.data());
                 return nb::make_tuple(visits, prior, q);
             },
             nb::arg("game").none(), nb::sig("def root_stats(self, game: int) -> tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]"),
             "(visits int32 [N*N+1], prior float32 (without noise), q float32 (for the side to move at the "
             "root; 0 where unvisited)).")
        .def("root_search_prior",
             [](const Search& s, nb::handle g) {
                 const int gi = game_arg(idle(s), g);
                 auto prior = owned_vector<float>((size_t)(s.size() * s.size() + 1));
                 s.root_search_prior(gi, prior.data());
                 return prior;
             },
             nb::arg("game").none(), nb::sig("def root_search_prior(self, game: int) -> numpy.ndarray[dtype=float32]"),
             "The root priors this run's selection uses (with its Dirichlet noise, if any).")
        .def("root_visits", [](const Search& s, nb::handle g) { return s.root_visits(game_arg(idle(s), g)); },
             nb::arg("game").none(), nb::sig("def root_visits(self, game: int) -> int"))
        .def("root_value", [](const Search& s, nb::handle g) { return s.root_value(game_arg(idle(s), g)); },
             nb::arg("game").none(), nb::sig("def root_value(self, game: int) -> float"),
             "Mean value of the tree for the side to move at the root (-1..1).")
        .def("best_move", [](const Search& s, nb::handle g) { return s.best_move(game_arg(idle(s), g)); },
             nb::arg("game").none(), nb::sig("def best_move(self, game: int) -> int"),
             "Most visited root move (ties: higher prior); pass when the root is not expanded.")
        .def("principal_variation",
             [](const Search& s, nb::handle g, nb::handle max_len) {
                 const int gi = game_arg(idle(s), g);
                 return s.principal_variation(gi, (int)int_arg(max_len, "max_len", 0, INT32_MAX));
             },
             nb::arg("game").none(), nb::arg("max_len").none() = 32,
             nb::sig("def principal_variation(self, game: int, max_len: int = 32) -> list[int]"))
        .def("virtual_loss_total",
             [](const Search& s, nb::handle g) { return s.virtual_loss_total(game_arg(idle(s), g)); }, nb::arg("game").none(),
             nb::sig("def virtual_loss_total(self, game: int) -> int"),
             "Sum of virtual losses in the tree (0 between rounds).")
        .def("node_count", [](const Search& s, nb::handle g) { return s.node_count(game_arg(idle(s), g)); },
             nb::arg("game").none(), nb::sig("def node_count(self, game: int) -> int"))
        .def("edge_count", [](const Search& s, nb::handle g) { return s.edge_count(game_arg(idle(s), g)); },
             nb::arg("game").none(), nb::sig("def edge_count(self, game: int) -> int"));
}

}  // namespace komi
