// Batched PUCT tree search over many games at once (AlphaGo Zero style, driven from Python).
//
// One Search object holds one tree per game. A search round is two calls:
//   select(out)    descends every active tree up to leaves_per_tree times (virtual loss keeps
//                  the descents apart), writes the feature planes of each new leaf into `out`
//                  [L, C, N, N] and returns L; terminal leaves are scored by the rules and
//                  backed up at once, without the network;
//   backup(p, v)   takes the network's policy logits [L, N*N+1] and values [L] (for the side
//                  to move at each leaf), expands the leaves and backs the values up.
// Python runs one forward pass between the two. A run over some games is begin(), then rounds
// until select() returns 0, then result() per game.
//
// Statistics: a node's w sums values from the point of view of the player who moved into it,
// so a parent picks argmax over children of Q + U with Q = w / n (virtual loss counts as lost
// visits). A tree's root visits n count every evaluation in it, the root's own included, so a
// fresh search of V visits leaves children visits summing to V - 1 (V = 1: the network alone).
// Each leaf is evaluated under a random one of the 8 symmetries; its policy is mapped back.
//
// Memory: nodes and edges live in per-tree arrays; play() keeps the chosen child's subtree
// (tree reuse) by copying it into a second pair of arrays, so a tree holds only what its
// searches added below the current position, and the arrays' capacity is reused move after move.
// A tree holds at most params.max_tree_nodes nodes (at most kMaxTreeNodes, 4,194,303); a run
// stops growing a tree that is full, and its results stand as they are.
//
// Selection cost: an unvisited child's score is fpu + U(prior), largest for the largest prior,
// so a node keeps its visited edges first and caches its best unvisited edge; a descent then
// scores only the visited children plus one. (At the root the noisy priors move with the edges.)
#pragma once

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "board.h"
#include "feature_planes.h"

namespace komi {

// Bounds of the parameters (the constructor refuses others; agent.search.SearchConfig checks
// the same). Values are in [-1, 1], so a first-play value beyond parent's value -/+ 2 means
// nothing more; with c_puct and visits bounded, every score of select_child() is finite.
constexpr double kMaxCPuct = 1000.0;           // c_puct in (0, kMaxCPuct]
constexpr double kMaxFpuReduction = 2.0;       // fpu_reduction in [-2, 2]
constexpr double kMaxNoiseAlpha = 1000.0;      // noise_alpha in [0, kMaxNoiseAlpha] (0: the default)
constexpr int kMaxVisits = 1 << 30;            // visits of one run, 1..kMaxVisits
constexpr int kMaxGames = 1 << 16;             // games of one Search
constexpr int kMaxLeavesPerTree = 1024;
constexpr int64_t kMaxLeaves = 1 << 20;        // games x leaves_per_tree
constexpr int64_t kMaxPlaneFloats = int64_t(1) << 30;   // the planes buffer of one select() (4 GiB)

struct SearchParams {
    float c_puct = 1.5f;
    float fpu_reduction = 0.25f;     // unvisited child: parent's value minus this
    float noise_fraction = 0.0f;     // Dirichlet noise weight at the root of noisy runs
    float noise_alpha = 0.0f;        // 0: 10.83 / number of legal moves (0.03 on 19x19)
    int leaves_per_tree = 8;
    int no_pass_before = 0;          // no pass in the tree before this move number (unless forced)
    bool tree_reuse = true;
    FeatureSet feature_set = FeatureSet::Extended;
    bool write_planes = true;        // false: no planes at all (tree-only measurements)
    int64_t max_tree_nodes = 0;      // a run stops growing a tree with this many nodes (0: kMaxTreeNodes)
    uint64_t seed = 0;
};

class Search {
public:
    Search(int num_games, int size, const SearchParams& params);

    int num_games() const { return (int)trees_.size(); }
    int size() const { return size_; }
    int num_moves() const { return size_ * size_ + 1; }
    int max_leaves() const { return num_games() * params_.leaves_per_tree; }
    int planes() const { return params_.write_planes ? num_planes(params_.feature_set) : 0; }
    const SearchParams& params() const { return params_; }

    // Game g starts from `board` with an empty tree (leaves awaiting backup are cancelled).
    void reset(int g, const Board& board);
    // Plays `move` in game g (must be legal; returns its MoveStatus, 0 when played) and keeps the
    // subtree below it when tree reuse is on.
    int play(int g, int move);
    const Board& board(int g) const { return trees_[g].root_board; }

    // Starts a run: game games[k] searches until its root has visits[k] visits, with root noise
    // when noisy[k]. Games not listed are left alone.
    void begin(const int* games, const int* visits, const uint8_t* noisy, int count);
    // One round of leaf selection (see above); 0 when every game of the run is finished.
    int select(float* out);
    // Expands and backs up the leaves of the last select(). Checks all of its input first (the
    // count, finite numbers): refused input changes nothing, the leaves still await backup.
    void backup(const float* logits, const float* values, int count);
    bool awaiting_backup() const { return !pending_.empty(); }
    // Drops the leaves of the last select() (their virtual loss undone, the leaves unexpanded),
    // e.g. after the evaluator failed; the run can go on with select() or start anew.
    void cancel();
    // Set by the bindings while a call runs without the GIL (another thread must not enter).
    bool busy = false;

    // ---- results of game g (after a run)
    int root_visits(int g) const;
    float root_value(int g) const;                 // for the side to move at the root
    // visits, prior (without noise) and Q (for the side to move at the root, 0 unvisited) per move.
    void root_stats(int g, int32_t* visits, float* prior, float* q) const;
    // The root priors the selection uses in this run (with noise, if any) per move.
    void root_search_prior(int g, float* prior) const;
    int best_move(int g) const;                    // most visited, ties by prior; pass if none
    std::vector<int> principal_variation(int g, int max_len) const;
    // ---- checks (tests)
    int64_t virtual_loss_total(int g) const;       // 0 whenever no backup is outstanding
    int64_t node_count(int g) const { return (int64_t)trees_[g].nodes.size(); }
    int64_t edge_count(int g) const { return (int64_t)trees_[g].edges.size(); }
    // Most nodes one tree holds (the range of an edge's child index); select() stops a full tree.
    static constexpr int64_t kMaxTreeNodes = (int64_t(1) << 22) - 1;

private:
    enum State : uint8_t { kNew = 0, kPending = 1, kExpanded = 2, kTerminal = 3 };
    struct Node {
        int32_t first_edge = -1;
        int16_t num_edges = 0;
        // Edges [0, num_visited) have children (kept first, see select_child);
        // best_unvisited caches the highest-prior edge after them (-1: to be found again).
        int16_t num_visited = 0;
        int16_t best_unvisited = -1;
        uint8_t state = kNew;
        int32_t n = 0;
        int32_t vloss = 0;
        float w = 0.0f;
        float terminal_value = 0.0f;   // for the side to move at the node (kTerminal)
    };
    // 8 bytes: an expansion writes one edge per legal move, and on 19x19 these writes are most
    // of a tree-only search's memory traffic. The child index and the move share one word.
    struct Edge {
        static constexpr int kMoveBits = 32 - 22;               // moves 0..kMaxPoints (626 < 1024)
        static constexpr uint32_t kMoveMask = (1u << kMoveBits) - 1;
        static constexpr uint32_t kNoChild = (uint32_t)kMaxTreeNodes;
        float prior;
        uint32_t bits;                 // child << kMoveBits | move; child kNoChild until first selected
        Edge() {}                      // uninitialised: expand() writes each edge once
        Edge(float p, uint32_t b) : prior(p), bits(b) {}
        static Edge make(int move, float prior) { return Edge(prior, (kNoChild << kMoveBits) | (uint32_t)move); }
        int move() const { return (int)(bits & kMoveMask); }
        int child() const { const uint32_t c = bits >> kMoveBits; return c == kNoChild ? -1 : (int)c; }
        int visited_child() const { return (int)(bits >> kMoveBits); }   // an edge known to have one
        void set_child(int c) { bits = ((uint32_t)c << kMoveBits) | (bits & kMoveMask); }
    };
    static_assert(sizeof(Edge) == 8, "Edge should pack into 8 bytes");
    static_assert(kMaxPoints < (1 << Edge::kMoveBits), "moves must fit in Edge::kMoveBits");
    struct Tree {
        Board root_board;
        std::vector<Node> nodes;
        std::vector<Edge> edges;
        std::vector<Node> spare_nodes;   // capacity reused by keep_subtree
        std::vector<Edge> spare_edges;
        std::vector<float> noisy_prior;  // root priors with noise for this run (empty: none)
        int target = 0;
        bool active = false;
        bool want_noise = false;
    };
    struct Leaf {
        int game;
        int node;
        int sym;
        int path_begin, path_len;        // into path_store_
        int moves_begin, moves_len;      // legal moves, into moves_store_
    };

    void check_idle(const char* what) const;
    void clear_tree(Tree& t);
    // Picks the PUCT-best edge of an expanded node (it has at least one edge: pass), creating
    // its child node if it has none; returns the child's index and sets `move`. Some edge is
    // always picked, whatever the scores (NaN counts as -inf).
    int select_child(Tree& t, int node_index, int& move);
    int best_child_edge(const Tree& t, int node_index) const;
    void add_virtual_loss(Tree& t, const int* path, int len, int delta);
    void backup_path(Tree& t, const int* path, int len, float leaf_value);
    void expand(Tree& t, int node_index, const int32_t* moves, int count, const float* logits, int sym);
    void apply_noise(Tree& t);
    void keep_subtree(Tree& t, int new_root);
    static float terminal_value_of(const Board& b);

    int size_;
    SearchParams params_;
    std::vector<Tree> trees_;
    std::vector<int> run_games_;
    std::vector<Leaf> pending_;
    std::vector<int> path_store_;
    std::vector<int32_t> moves_store_;
    std::vector<int> path_;
    std::vector<int> path_moves_;
    std::vector<std::pair<int, int>> queue_;   // keep_subtree's breadth-first queue
    std::vector<int32_t> sym_;       // [8][N*N+1] move maps of the symmetries
    Board scratch_;
    std::mt19937_64 rng_;
};

}  // namespace komi
