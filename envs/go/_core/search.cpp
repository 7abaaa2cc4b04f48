// Batched PUCT search: see search.h for the protocol and the statistics' conventions.
#include "search.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

namespace komi {

namespace {

// Symmetry maps of every move, per symmetry, for one board size.
std::vector<int32_t> symmetry_tables(int size) {
    const int moves = size * size + 1;
    std::vector<int32_t> t((size_t)8 * moves);
    for (int s = 0; s < 8; ++s)
        for (int m = 0; m < moves; ++m) t[(size_t)s * moves + m] = symmetry_move(m, size, s);
    return t;
}

// exp(x) for x <= 0 to about 1e-6 relative: 2^(x log2 e) with a degree-5 polynomial for the
// fraction; a prior needs no more, and it is several times faster than expf.
inline float fast_exp(float x) {
    const float t = (x > -80.0f ? x : -80.0f) * 1.4426950409f;
    const int32_t ti = (int32_t)t;                        // toward zero; t <= 0, so floor is ti or ti - 1
    const int32_t fi = (float)ti > t ? ti - 1 : ti;
    const float f = t - (float)fi;
    const float p = 1.0f + f * (0.69314718f + f * (0.24022651f + f * (0.05550411f + f * (0.00961813f + f * 0.00133336f))));
    const uint32_t bits = (uint32_t)(fi + 127) << 23;
    float scale;
    std::memcpy(&scale, &bits, sizeof(scale));
    return p * scale;
}

// Index of the first largest of at(k) for k in [begin, end) (begin < end). Two passes, the
// maximum with four independent chains and then its first position, rather than one pass whose
// every step waits for the last comparison.
template <class At>
inline int first_max(At at, int begin, int end) {
    float m[4] = {at(begin), at(begin), at(begin), at(begin)};
    int k = begin;
    for (; k + 4 <= end; k += 4)
        for (int j = 0; j < 4; ++j) m[j] = std::max(m[j], at(k + j));
    for (; k < end; ++k) m[0] = std::max(m[0], at(k));
    const float best = std::max(std::max(m[0], m[1]), std::max(m[2], m[3]));
    for (k = begin; k < end && at(k) != best; ++k) {}
    return k < end ? k : begin;   // begin when the values hold a NaN
}

}  // namespace

Search::Search(int num_games, int size, const SearchParams& params)
    : size_(size), params_(params), scratch_(size), rng_(params.seed * 0x9E3779B97F4A7C15ULL + 12345) {
    auto number = [](double x) { return std::to_string(x); };
    if (num_games < 1 || num_games > kMaxGames)
        throw std::invalid_argument("a search needs 1.." + std::to_string(kMaxGames) + " games, got " +
                                    std::to_string(num_games));
    if (size < 2 || size > kMaxSize)
        throw std::invalid_argument("board size must be between 2 and 25, got " + std::to_string(size));
    if (params.no_pass_before < 0) throw std::invalid_argument("no_pass_before must be >= 0");
    if (params.leaves_per_tree < 1 || params.leaves_per_tree > kMaxLeavesPerTree)
        throw std::invalid_argument("leaves_per_tree must be in 1.." + std::to_string(kMaxLeavesPerTree) + ", got " +
                                    std::to_string(params.leaves_per_tree));
    if (!(params.c_puct > 0.0f && params.c_puct <= kMaxCPuct))
        throw std::invalid_argument("c_puct must be a finite number in (0, 1000], got " + number(params.c_puct));
    if (!(params.fpu_reduction >= -kMaxFpuReduction && params.fpu_reduction <= kMaxFpuReduction))
        throw std::invalid_argument("fpu_reduction must be a finite number in [-2, 2] (values are in [-1, 1]), got " +
                                    number(params.fpu_reduction));
    if (!(params.noise_fraction >= 0.0f && params.noise_fraction <= 1.0f))
        throw std::invalid_argument("noise_fraction must be in [0, 1], got " + number(params.noise_fraction));
    if (!(params.noise_alpha >= 0.0f && params.noise_alpha <= kMaxNoiseAlpha))
        throw std::invalid_argument("noise_alpha must be in [0, 1000] (0: 10.83 / legal moves), got " +
                                    number(params.noise_alpha));
    if (params_.max_tree_nodes == 0) params_.max_tree_nodes = kMaxTreeNodes;
    if (params_.max_tree_nodes < 2 || params_.max_tree_nodes > kMaxTreeNodes)
        throw std::invalid_argument("max_tree_nodes must be in 2.." + std::to_string(kMaxTreeNodes) + " (0: the most)");
    const int64_t leaves = (int64_t)num_games * params.leaves_per_tree;
    if (leaves > kMaxLeaves)
        throw std::invalid_argument("games x leaves_per_tree must be at most " + std::to_string(kMaxLeaves) + ", got " +
                                    std::to_string(leaves));
    if (leaves * planes() * size * size > kMaxPlaneFloats)
        throw std::invalid_argument("games x leaves_per_tree = " + std::to_string(leaves) + " leaves need a planes "
                                    "buffer over 4 GiB; use fewer games or leaves per tree");
    sym_ = symmetry_tables(size);
    trees_.resize((size_t)num_games);
    for (Tree& t : trees_) {
        t.root_board = Board(size);
        t.nodes.assign(1, Node());
    }
}

void Search::check_idle(const char* what) const {
    if (!pending_.empty())
        throw std::invalid_argument(std::string(what) +
                                    ": the leaves of the last select() await backup() (or cancel())");
}

void Search::cancel() {
    for (const Leaf& lf : pending_) {
        Tree& t = trees_[lf.game];
        add_virtual_loss(t, path_store_.data() + lf.path_begin, lf.path_len, -1);
        t.nodes[lf.node].state = kNew;
    }
    pending_.clear();
}

void Search::reset(int g, const Board& board) {
    if (board.size() != size_)
        throw std::invalid_argument("board size " + std::to_string(board.size()) + " does not match the search's " +
                                    std::to_string(size_));
    cancel();
    Tree& t = trees_[g];
    t.root_board = board;
    clear_tree(t);
}

void Search::clear_tree(Tree& t) {
    t.nodes.clear();
    t.nodes.emplace_back();
    t.edges.clear();
    t.noisy_prior.clear();
    t.active = false;
}

int Search::play(int g, int move) {
    check_idle("play");
    Tree& t = trees_[g];
    const int status = t.root_board.check(move, t.root_board.to_play());
    if (status != kLegal) return status;
    t.root_board.play_legal(move, t.root_board.to_play());
    const Node& root = t.nodes[0];
    int child = -1;
    if (params_.tree_reuse && root.state == kExpanded && !t.root_board.is_over()) {
        for (int k = 0; k < root.num_edges; ++k) {
            const Edge& e = t.edges[(size_t)root.first_edge + k];
            if (e.move() == move) { child = e.child(); break; }
        }
    }
    if (child >= 0 && t.nodes[child].state == kExpanded) keep_subtree(t, child);
    else clear_tree(t);
    t.noisy_prior.clear();
    t.active = false;
    return kLegal;
}

void Search::keep_subtree(Tree& t, int new_root) {
    std::vector<Node>& nodes = t.spare_nodes;
    std::vector<Edge>& edges = t.spare_edges;
    nodes.clear();
    edges.clear();
    queue_.clear();   // (old index, new index)
    nodes.push_back(t.nodes[new_root]);
    queue_.emplace_back(new_root, 0);
    for (size_t qi = 0; qi < queue_.size(); ++qi) {
        const int old_index = queue_[qi].first, new_index = queue_[qi].second;
        const Node& old = t.nodes[old_index];
        if (old.state != kExpanded) continue;
        nodes[new_index].first_edge = (int32_t)edges.size();
        for (int k = 0; k < old.num_edges; ++k) {
            Edge e = t.edges[(size_t)old.first_edge + k];
            if (e.child() >= 0) {
                const int c = (int)nodes.size();
                nodes.push_back(t.nodes[e.child()]);
                queue_.emplace_back(e.child(), c);
                e.set_child(c);
            }
            edges.push_back(e);
        }
    }
    t.nodes.swap(nodes);
    t.edges.swap(edges);
}

void Search::begin(const int* games, const int* visits, const uint8_t* noisy, int count) {
    check_idle("begin");
    for (Tree& t : trees_) t.active = false;
    run_games_.assign(games, games + count);
    for (int k = 0; k < count; ++k) {
        Tree& t = trees_[games[k]];
        t.target = visits[k];
        t.active = !t.root_board.is_over();
        t.want_noise = noisy[k] != 0 && params_.noise_fraction > 0.0f;
        t.noisy_prior.clear();
        t.nodes[0].best_unvisited = -1;   // the priors at the root may change with the noise
        if (t.want_noise && t.nodes[0].state == kExpanded) apply_noise(t);
    }
}

int Search::select_child(Tree& t, int node_index, int& move) {
    Node& p = t.nodes[node_index];
    // The root's priors carry this run's noise, if any (kept in step with the edges' order).
    float* noisy = (node_index == 0 && !t.noisy_prior.empty()) ? t.noisy_prior.data() : nullptr;
    const float parent_q = p.n > 0 ? -p.w / (float)p.n : 0.0f;   // for the player to move at p
    const float fpu = parent_q - params_.fpu_reduction;
    const float sqrt_n = std::sqrt((float)std::max(p.n + p.vloss - 1, 1));
    const float c = params_.c_puct * sqrt_n;
    Edge* edges = t.edges.data() + p.first_edge;
    // The first edge scored is the best so far, whatever its score: some edge is always chosen.
    int best = -1;
    float best_score = 0.0f;
    for (int k = 0; k < p.num_visited; ++k) {
        const Edge& e = edges[k];
        const Node& ch = t.nodes[e.visited_child()];
        const int n = ch.n + ch.vloss;
        const float u = c * (noisy ? noisy[k] : e.prior);
        float score;
        if (n > 0) {
            // q + u / (1 + n) with q = (w - vloss) / n (a virtual visit counts as a loss), one division.
            const float nf = (float)n;
            score = ((ch.w - (float)ch.vloss) * (1.0f + nf) + u * nf) / (nf * (1.0f + nf));
        } else {
            score = fpu + u;
        }
        if (std::isnan(score)) score = -INFINITY;
        if (best < 0 || score > best_score) {
            best_score = score;
            best = k;
        }
    }
    if (p.num_visited < p.num_edges) {
        if (p.best_unvisited < 0)
            p.best_unvisited = (int16_t)(noisy ? first_max([&](int k) { return noisy[k]; }, p.num_visited, p.num_edges)
                                               : first_max([&](int k) { return edges[k].prior; }, p.num_visited, p.num_edges));
        const int b = p.best_unvisited;
        float score = fpu + c * (noisy ? noisy[b] : edges[b].prior);
        if (std::isnan(score)) score = -INFINITY;
        if (best < 0 || score > best_score) {
            // Its first visit: it joins the visited block.
            std::swap(edges[p.num_visited], edges[b]);
            if (noisy) std::swap(noisy[p.num_visited], noisy[b]);
            best = p.num_visited++;
            p.best_unvisited = -1;
        }
    }
    Edge& e = edges[best];
    move = e.move();
    int child = e.child();
    if (child < 0) {
        child = (int)t.nodes.size();   // below max_tree_nodes: select() checks before descending
        e.set_child(child);
        t.nodes.emplace_back();        // p may dangle from here on
    }
    return child;
}

void Search::add_virtual_loss(Tree& t, const int* path, int len, int delta) {
    for (int i = 0; i < len; ++i) t.nodes[path[i]].vloss += delta;
}

void Search::backup_path(Tree& t, const int* path, int len, float leaf_value) {
    float v = -leaf_value;   // for the player who moved into the leaf
    for (int i = len - 1; i >= 0; --i) {
        Node& nd = t.nodes[path[i]];
        nd.n += 1;
        nd.w += v;
        v = -v;
    }
}

float Search::terminal_value_of(const Board& b) {
    return (float)(b.winner() * b.to_play());
}

int Search::select(float* out) {
    check_idle("select");
    const size_t stride = (size_t)planes() * size_ * size_;
    path_store_.clear();
    moves_store_.clear();
    int32_t legal[kMaxPoints + 1];
    for (;;) {
        bool any_active = false;
        for (const int g : run_games_) {
            Tree& t = trees_[g];
            if (!t.active) continue;
            if (t.nodes[0].n >= t.target) {
                t.active = false;
                continue;
            }
            if ((int64_t)t.nodes.size() + params_.leaves_per_tree > params_.max_tree_nodes) {
                t.active = false;   // the tree is full: the run ends here for this game
                continue;
            }
            any_active = true;
            for (int k = 0; k < params_.leaves_per_tree; ++k) {
                if (t.nodes[0].n + t.nodes[0].vloss >= t.target) break;
                path_.clear();
                path_moves_.clear();
                int node = 0;
                path_.push_back(0);
                while (t.nodes[node].state == kExpanded) {
                    int move;
                    node = select_child(t, node, move);
                    path_moves_.push_back(move);
                    path_.push_back(node);
                }
                Node& leaf = t.nodes[node];
                if (leaf.state == kPending) break;   // a collision: this tree is done for the round
                if (leaf.state == kTerminal) {
                    backup_path(t, path_.data(), (int)path_.size(), leaf.terminal_value);
                    continue;
                }
                scratch_ = t.root_board;
                for (const int m : path_moves_) scratch_.play_legal(m, scratch_.to_play());
                if (scratch_.is_over()) {
                    leaf.state = kTerminal;
                    leaf.terminal_value = terminal_value_of(scratch_);
                    backup_path(t, path_.data(), (int)path_.size(), leaf.terminal_value);
                    continue;
                }
                int count = scratch_.legal_moves(legal);
                // Self-play forbids early passes; the tree must model the same game.
                if (count > 1 && scratch_.move_number() < params_.no_pass_before) --count;
                const int sym = (int)(rng_() & 7);
                if (params_.write_planes)
                    encode_board(scratch_, params_.feature_set, sym, out + pending_.size() * stride, legal, count);
                Leaf lf{g, node, sym, (int)path_store_.size(), (int)path_.size(), (int)moves_store_.size(), count};
                path_store_.insert(path_store_.end(), path_.begin(), path_.end());
                moves_store_.insert(moves_store_.end(), legal, legal + count);
                leaf.state = kPending;
                add_virtual_loss(t, path_.data(), (int)path_.size(), +1);
                pending_.push_back(lf);
            }
        }
        if (!pending_.empty()) return (int)pending_.size();
        if (!any_active) {
            run_games_.clear();
            return 0;
        }
        // Only terminal leaves this round: go round again (each one added a visit).
    }
}

void Search::expand(Tree& t, int node_index, const int32_t* moves, int count, const float* logits, int sym) {
    const int32_t* map = sym_.data() + (size_t)sym * num_moves();
    float p[kMaxPoints + 1];
    float mx = -INFINITY;
    int top = 0;   // the highest prior (the first of equals): the first edge select_child visits
    for (int k = 0; k < count; ++k) {
        p[k] = logits[map[moves[k]]];
        if (p[k] > mx) {
            mx = p[k];
            top = k;
        }
    }
    for (int k = 0; k < count; ++k) p[k] = fast_exp(p[k] - mx);   // branch-free: vectorised
    float part[4] = {0.0f, 0.0f, 0.0f, 0.0f};                         // four sums: no serial chain
    int k4 = 0;
    for (; k4 + 4 <= count; k4 += 4)
        for (int j = 0; j < 4; ++j) part[j] += p[k4 + j];
    for (; k4 < count; ++k4) part[0] += p[k4];
    const float inv = 1.0f / ((part[0] + part[1]) + (part[2] + part[3]));
    // The edges are written once, in one pass: they are mostly out of cache.
    const size_t first = t.edges.size();
    t.edges.resize(first + (size_t)count);   // Edge's constructor writes nothing
    Edge* edges = t.edges.data() + first;
    for (int k = 0; k < count; ++k) edges[k] = Edge::make(moves[k], p[k] * inv);
    Node& nd = t.nodes[node_index];
    nd.first_edge = (int32_t)first;
    nd.num_edges = (int16_t)count;
    nd.num_visited = 0;
    nd.best_unvisited = (int16_t)top;
    nd.state = kExpanded;
}

void Search::backup(const float* logits, const float* values, int count) {
    if (count != (int)pending_.size())
        throw std::invalid_argument("backup expects " + std::to_string(pending_.size()) + " evaluations, got " +
                                    std::to_string(count));
    const int moves = num_moves();
    for (int i = 0; i < count; ++i) {
        if (!std::isfinite(values[i]))
            throw std::invalid_argument("the evaluator returned a non-finite value (leaf " + std::to_string(i) + ")");
        const float* row = logits + (size_t)i * moves;
        for (int m = 0; m < moves; ++m)
            if (!std::isfinite(row[m]))
                throw std::invalid_argument("the evaluator returned non-finite policy logits (leaf " +
                                            std::to_string(i) + ")");
    }
    for (int i = 0; i < count; ++i) {
        const Leaf& lf = pending_[i];
        Tree& t = trees_[lf.game];
        expand(t, lf.node, moves_store_.data() + lf.moves_begin, lf.moves_len, logits + (size_t)i * moves, lf.sym);
        const int* path = path_store_.data() + lf.path_begin;
        add_virtual_loss(t, path, lf.path_len, -1);
        backup_path(t, path, lf.path_len, std::clamp(values[i], -1.0f, 1.0f));
        if (lf.node == 0 && t.want_noise) apply_noise(t);
    }
    pending_.clear();
}

void Search::apply_noise(Tree& t) {
    Node& root = t.nodes[0];
    const int k = root.num_edges;
    t.noisy_prior.clear();
    root.best_unvisited = -1;
    if (k < 2) return;
    const float alpha = params_.noise_alpha > 0.0f ? params_.noise_alpha : 10.83f / (float)k;
    std::gamma_distribution<float> gamma(alpha, 1.0f);
    t.noisy_prior.resize((size_t)k);
    float sum = 0.0f;
    for (int i = 0; i < k; ++i) sum += (t.noisy_prior[i] = gamma(rng_));
    const float eps = params_.noise_fraction;
    const Edge* edges = t.edges.data() + root.first_edge;
    for (int i = 0; i < k; ++i) {
        const float eta = sum > 0.0f ? t.noisy_prior[i] / sum : 1.0f / (float)k;
        t.noisy_prior[i] = (1.0f - eps) * edges[i].prior + eps * eta;
    }
}

int Search::root_visits(int g) const { return trees_[g].nodes[0].n; }

float Search::root_value(int g) const {
    const Node& r = trees_[g].nodes[0];
    return r.n > 0 ? -r.w / (float)r.n : 0.0f;
}

void Search::root_stats(int g, int32_t* visits, float* prior, float* q) const {
    const Tree& t = trees_[g];
    const int moves = num_moves();
    std::fill(visits, visits + moves, 0);
    std::fill(prior, prior + moves, 0.0f);
    std::fill(q, q + moves, 0.0f);
    const Node& r = t.nodes[0];
    if (r.state != kExpanded) return;
    for (int k = 0; k < r.num_edges; ++k) {
        const Edge& e = t.edges[(size_t)r.first_edge + k];
        prior[e.move()] = e.prior;
        if (e.child() >= 0 && t.nodes[e.child()].n > 0) {
            const Node& ch = t.nodes[e.child()];
            visits[e.move()] = ch.n;
            q[e.move()] = ch.w / (float)ch.n;
        }
    }
}

void Search::root_search_prior(int g, float* prior) const {
    const Tree& t = trees_[g];
    std::fill(prior, prior + num_moves(), 0.0f);
    const Node& r = t.nodes[0];
    if (r.state != kExpanded) return;
    const bool noisy = !t.noisy_prior.empty();
    for (int k = 0; k < r.num_edges; ++k) {
        const Edge& e = t.edges[(size_t)r.first_edge + k];
        prior[e.move()] = noisy ? t.noisy_prior[k] : e.prior;
    }
}

int Search::best_child_edge(const Tree& t, int node_index) const {
    const Node& nd = t.nodes[node_index];
    if (nd.state != kExpanded) return -1;
    int best = -1, best_n = -1;
    float best_p = -1.0f;
    for (int k = 0; k < nd.num_edges; ++k) {
        const Edge& e = t.edges[(size_t)nd.first_edge + k];
        const int n = e.child() >= 0 ? t.nodes[e.child()].n : 0;
        if (n > best_n || (n == best_n && e.prior > best_p)) {
            best = nd.first_edge + k;
            best_n = n;
            best_p = e.prior;
        }
    }
    return best;
}

int Search::best_move(int g) const {
    const int e = best_child_edge(trees_[g], 0);
    return e < 0 ? size_ * size_ : trees_[g].edges[e].move();
}

std::vector<int> Search::principal_variation(int g, int max_len) const {
    const Tree& t = trees_[g];
    std::vector<int> pv;
    int node = 0;
    while ((int)pv.size() < max_len) {
        const int e = best_child_edge(t, node);
        if (e < 0) break;
        const int child = t.edges[e].child();
        if (child < 0 || t.nodes[child].n == 0) break;
        pv.push_back(t.edges[e].move());
        node = child;
    }
    return pv;
}

int64_t Search::virtual_loss_total(int g) const {
    int64_t total = 0;
    for (const Node& nd : trees_[g].nodes) total += nd.vloss;
    return total;
}

}  // namespace komi
