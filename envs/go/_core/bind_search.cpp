// Python face of komi::Search (envs.go._core.Search), driven by agent.search.BatchedSearch.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
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

int game_arg(const Search& s, int64_t g) {
    if (g < 0 || g >= s.num_games())
        throw std::invalid_argument("game " + std::to_string(g) + " is not in 0.." + std::to_string(s.num_games() - 1));
    return (int)g;
}

}  // namespace

void bind_search(nb::module_& m) {
    nb::class_<Search>(m, "Search",
                       "Batched PUCT search over many games (one tree each); see agent.search for the Python API. "
                       "feature_set 'none' writes no planes (tree-only measurements).")
        .def("__init__",
             [](Search* self, int num_games, int size, const std::string& feature_set, float c_puct,
                float fpu_reduction, float noise_fraction, float noise_alpha, int leaves_per_tree, int no_pass_before,
                bool tree_reuse, uint64_t seed, int64_t max_tree_nodes) {
                 SearchParams p;
                 p.write_planes = feature_set != "none";
                 p.feature_set = p.write_planes ? feature_set_from_name(feature_set) : FeatureSet::Basic;
                 p.c_puct = c_puct;
                 p.fpu_reduction = fpu_reduction;
                 p.noise_fraction = noise_fraction;
                 p.noise_alpha = noise_alpha;
                 p.leaves_per_tree = leaves_per_tree;
                 p.no_pass_before = no_pass_before;
                 p.tree_reuse = tree_reuse;
                 p.seed = seed;
                 p.max_tree_nodes = max_tree_nodes;
                 new (self) Search(num_games, size, p);
             },
             "num_games"_a, "size"_a, "feature_set"_a = "extended", "c_puct"_a = 1.5f, "fpu_reduction"_a = 0.25f,
             "noise_fraction"_a = 0.0f, "noise_alpha"_a = 0.0f, "leaves_per_tree"_a = 8, "no_pass_before"_a = 0,
             "tree_reuse"_a = true,
             "seed"_a = 0, "max_tree_nodes"_a = 0)
        .def_ro_static("max_tree_nodes_limit", &Search::kMaxTreeNodes, "Most nodes one tree can hold.")
        .def_prop_ro("num_games", &Search::num_games)
        .def_prop_ro("size", &Search::size)
        .def_prop_ro("planes", &Search::planes)
        .def_prop_ro("max_leaves", &Search::max_leaves, "Most leaves one select() writes (games x leaves per tree).")
        .def("reset",
             [](Search& s, int64_t g, const Board& board) { s.reset(game_arg(s, g), board); },
             "game"_a, "board"_a, "Game `game` starts from a copy of `board` with an empty tree.")
        .def("play",
             [](Search& s, int64_t g, int64_t move) {
                 const int gi = game_arg(s, g);
                 const int mv = (int)std::clamp<int64_t>(move, -1, 1 << 30);
                 const int status = s.play(gi, mv);
                 if (status != kLegal) raise_illegal(s.board(gi), mv, s.board(gi).to_play(), status);
             },
             "game"_a, "move"_a, "Plays `move` in game `game`, keeping its subtree when tree reuse is on.")
        .def("board", [](const Search& s, int64_t g) { return Board(s.board(game_arg(s, g))); }, "game"_a,
             "A copy of game `game`'s current position.")
        .def("begin",
             [](Search& s, const Vector<int64_t>& games, const Vector<int64_t>& visits, const Vector<bool>& noisy) {
                 const size_t n = games.shape(0);
                 if (visits.shape(0) != n || noisy.shape(0) != n)
                     throw std::invalid_argument("games, visits and noisy must have the same length");
                 std::vector<int> g(n), v(n);
                 std::vector<uint8_t> z(n);
                 std::vector<uint8_t> seen((size_t)s.num_games(), 0);
                 for (size_t k = 0; k < n; ++k) {
                     g[k] = game_arg(s, games(k));
                     if (seen[g[k]]++) throw std::invalid_argument("game " + std::to_string(g[k]) + " is listed twice");
                     if (visits(k) < 1 || visits(k) > (1 << 30))
                         throw std::invalid_argument("visits must be in 1..2^30, got " + std::to_string(visits(k)));
                     v[k] = (int)visits(k);
                     z[k] = noisy(k) ? 1 : 0;
                 }
                 s.begin(g.data(), v.data(), z.data(), (int)n);
             },
             "games"_a, "visits"_a, "noisy"_a,
             "Starts a run: each listed game searches until its root has that many visits.")
        .def("select",
             [](Search& s, Planes out) {
                 if (out.shape(0) < (size_t)s.max_leaves() || out.shape(1) != (size_t)s.planes() ||
                     out.shape(2) != (size_t)s.size() || out.shape(3) != (size_t)s.size())
                     throw std::invalid_argument("select: out must have shape [>= " + std::to_string(s.max_leaves()) +
                                                 ", " + std::to_string(s.planes()) + ", " + std::to_string(s.size()) +
                                                 ", " + std::to_string(s.size()) + "]");
                 nb::gil_scoped_release release;
                 return s.select(out.data());
             },
             nb::arg("out").noconvert(),
             "Selects leaves in every tree of the run and writes their planes into out; returns how many "
             "(0: the run is finished).")
        .def("backup",
             [](Search& s, const Matrix& logits, const Vector<float>& values) {
                 const size_t n = values.shape(0);
                 if (logits.shape(0) != n || logits.shape(1) != (size_t)(s.size() * s.size() + 1))
                     throw std::invalid_argument("backup: logits must have shape [" + std::to_string(n) + ", " +
                                                 std::to_string(s.size() * s.size() + 1) + "], got [" +
                                                 std::to_string(logits.shape(0)) + ", " +
                                                 std::to_string(logits.shape(1)) + "]");
                 nb::gil_scoped_release release;
                 s.backup(logits.data(), values.data(), (int)n);
             },
             "logits"_a, "values"_a,
             "Expands the selected leaves with the evaluator's policy logits [L, N*N+1] and values [L] "
             "(for the side to move) and backs the values up.")
        .def("root_stats",
             [](const Search& s, int64_t g) {
                 const int gi = game_arg(s, g);
                 const size_t moves = (size_t)(s.size() * s.size() + 1);
                 auto visits = owned_vector<int32_t>(moves);
                 auto prior = owned_vector<float>(moves);
                 auto q = owned_vector<float>(moves);
                 s.root_stats(gi, visits.data(), prior.data(), q.data());
                 return nb::make_tuple(visits, prior, q);
             },
             "game"_a,
             "(visits int32 [N*N+1], prior float32 (without noise), q float32 (for the side to move at the "
             "root; 0 where unvisited)).")
        .def("root_search_prior",
             [](const Search& s, int64_t g) {
                 const int gi = game_arg(s, g);
                 auto prior = owned_vector<float>((size_t)(s.size() * s.size() + 1));
                 s.root_search_prior(gi, prior.data());
                 return prior;
             },
             "game"_a, "The root priors this run's selection uses (with its Dirichlet noise, if any).")
        .def("root_visits", [](const Search& s, int64_t g) { return s.root_visits(game_arg(s, g)); }, "game"_a)
        .def("root_value", [](const Search& s, int64_t g) { return s.root_value(game_arg(s, g)); }, "game"_a,
             "Mean value of the tree for the side to move at the root (-1..1).")
        .def("best_move", [](const Search& s, int64_t g) { return s.best_move(game_arg(s, g)); }, "game"_a,
             "Most visited root move (ties: higher prior); pass when the root is not expanded.")
        .def("principal_variation",
             [](const Search& s, int64_t g, int max_len) { return s.principal_variation(game_arg(s, g), max_len); },
             "game"_a, "max_len"_a = 32)
        .def("virtual_loss_total", [](const Search& s, int64_t g) { return s.virtual_loss_total(game_arg(s, g)); },
             "game"_a, "Sum of virtual losses in the tree (0 between rounds).")
        .def("node_count", [](const Search& s, int64_t g) { return s.node_count(game_arg(s, g)); }, "game"_a)
        .def("edge_count", [](const Search& s, int64_t g) { return s.edge_count(game_arg(s, g)); }, "game"_a);
}

}  // namespace komi
