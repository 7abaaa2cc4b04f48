// Go rules: see board.h for the representation.
#include "board.h"

#include <algorithm>
#include <climits>
#include <stdexcept>
#include <string>

namespace komi {

namespace {

struct ZobristTable {
    uint64_t key[2][kMaxPadded];
    uint64_t white_to_move;
    ZobristTable() {
        uint64_t x = 0x4B4F4D49ULL;  // fixed seed: hashes are stable across runs
        auto splitmix = [&x]() {
            uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
            return z ^ (z >> 31);
        };
        for (auto& row : key)
            for (auto& k : row) k = splitmix();
        white_to_move = splitmix();
    }
};
const ZobristTable kZobrist;

inline bool contains(const int* xs, int n, int x) {
    for (int i = 0; i < n; ++i)
        if (xs[i] == x) return true;
    return false;
}

}  // namespace

uint64_t zobrist(int color, int p) { return kZobrist.key[color == BLACK ? 0 : 1][p]; }
uint64_t zobrist_white_to_move() { return kZobrist.white_to_move; }

const char* status_name(int status) {
    switch (status) {
        case kLegal: return "legal";
        case kOccupied: return "occupied";
        case kSuicide: return "suicide";
        case kKo: return "ko";
        case kSuperko: return "superko";
        case kGameOver: return "game over";
        case kOutOfRange: return "out of range";
    }
    return "unknown";
}

Board::Board(int size, float komi, Superko superko, bool allow_suicide, int max_moves)
    : n_(size), w_(size + 2), komi_(komi), superko_(superko), allow_suicide_(allow_suicide),
      max_moves_(max_moves) {
    if (size < 2 || size > kMaxSize)
        throw std::invalid_argument("board size must be between 2 and 25, got " + std::to_string(size));
    if (max_moves < 0) throw std::invalid_argument("max_moves must be >= 0 (0 = no cap)");
    inv_n_ = (1u << 20) / (uint32_t)n_ + 1;
    inv_w_ = (1u << 20) / (uint32_t)w_ + 1;
    dir_[0] = -w_; dir_[1] = -1; dir_[2] = 1; dir_[3] = w_;
    std::memset(color_, BORDER, sizeof(color_));
    for (int m = 0; m < n_ * n_; ++m) color_[point(m)] = EMPTY;
    to_play_ = BLACK;
    passes_ = 0;
    over_ = false;
    resigned_ = 0;
    move_number_ = 0;
    captures_[0] = captures_[1] = 0;
    n_last_ = 0;
    hist_len_ = 0;
    hist_head_ = 0;
    rebuild();
}

Board::Board(const Board& other) : seen_(other.seen_) { copy_from(other); }

Board& Board::operator=(const Board& other) {
    if (this != &other) {
        seen_ = other.seen_;
        copy_from(other);
    }
    return *this;
}

void Board::copy_from(const Board& o) {
    n_ = o.n_; w_ = o.w_; inv_n_ = o.inv_n_; inv_w_ = o.inv_w_;
    std::memcpy(dir_, o.dir_, sizeof(dir_));
    komi_ = o.komi_; superko_ = o.superko_; allow_suicide_ = o.allow_suicide_; max_moves_ = o.max_moves_;
    const size_t area = (size_t)(w_ * w_);
    std::memcpy(color_, o.color_, area);
    std::memcpy(head_, o.head_, area * sizeof(int16_t));
    std::memcpy(next_, o.next_, area * sizeof(int16_t));
    std::memcpy(libs_, o.libs_, area * sizeof(int16_t));
    std::memcpy(csize_, o.csize_, area * sizeof(int16_t));
    std::memcpy(empty_pos_, o.empty_pos_, area * sizeof(int16_t));
    n_empty_ = o.n_empty_;
    std::memcpy(empty_, o.empty_, (size_t)n_empty_ * sizeof(int16_t));
    hash_ = o.hash_; to_play_ = o.to_play_; passes_ = o.passes_; over_ = o.over_;
    resigned_ = o.resigned_; ko_point_ = o.ko_point_; ko_color_ = o.ko_color_;
    move_number_ = o.move_number_;
    captures_[0] = o.captures_[0]; captures_[1] = o.captures_[1];
    std::memcpy(last_moves_, o.last_moves_, sizeof(last_moves_));
    n_last_ = o.n_last_;
    hist_len_ = o.hist_len_; hist_head_ = o.hist_head_;
    for (int k = 0; k < hist_len_; ++k) {
        const int slot = (hist_head_ + k) % (kHistory - 1);
        std::memcpy(hist_[slot], o.hist_[slot], area);
    }
    if (superko_ != Superko::None) std::memcpy(bloom_, o.bloom_, sizeof(bloom_));
    else std::memset(bloom_, 0, sizeof(bloom_));
    most_stones_seen_ = o.most_stones_seen_;
}

void Board::rebuild() {
    std::memset(bloom_, 0, sizeof(bloom_));
    seen_.clear();
    most_stones_seen_ = 0;
    n_empty_ = 0;
    hash_ = 0;
    ko_point_ = -1;
    ko_color_ = EMPTY;
    std::vector<int> stack;
    stack.reserve(n_ * n_);
    for (int m = 0; m < n_ * n_; ++m) head_[point(m)] = -1;
    for (int m = 0; m < n_ * n_; ++m) {
        int p = point(m);
        int8_t c = color_[p];
        if (c == EMPTY) {
            add_empty(p);
            continue;
        }
        hash_ ^= zobrist(c, p);
        if (head_[p] != -1) continue;
        // Flood the chain of p, linking its stones into a circular list headed by p.
        head_[p] = (int16_t)p;
        next_[p] = (int16_t)p;
        int count = 1;
        stack.clear();
        stack.push_back(p);
        while (!stack.empty()) {
            int s = stack.back();
            stack.pop_back();
            for (int d = 0; d < kDirs; ++d) {
                int q = nbr(s, d);
                if (color_[q] == c && head_[q] == -1) {
                    head_[q] = (int16_t)p;
                    next_[q] = next_[p];
                    next_[p] = (int16_t)q;
                    ++count;
                    stack.push_back(q);
                }
            }
        }
        csize_[p] = (int16_t)count;
        libs_[p] = (int16_t)recount_liberties(p);
    }
    if (superko_ != Superko::None) superko_add(superko_key(hash_, to_play_));
}

int Board::recount_liberties(int h) const {
    uint8_t mark[kMaxPadded];
    std::memset(mark, 0, (size_t)(w_ * w_));
    int libs = 0;
    int s = h;
    do {
        for (int d = 0; d < kDirs; ++d) {
            int q = nbr(s, d);
            if (color_[q] == EMPTY && !mark[q]) {
                mark[q] = 1;
                ++libs;
            }
        }
        s = next_[s];
    } while (s != h);
    return libs;
}

void Board::add_empty(int p) {
    empty_pos_[p] = (int16_t)n_empty_;
    empty_[n_empty_++] = (int16_t)p;
}

void Board::remove_empty(int p) {
    int i = empty_pos_[p];
    int last = empty_[--n_empty_];
    empty_[i] = (int16_t)last;
    empty_pos_[last] = (int16_t)i;
}

bool Board::superko_maybe_seen(uint64_t key) const {
    uint64_t b1 = key & 8191, b2 = (key >> 20) & 8191;
    return ((bloom_[b1 >> 6] >> (b1 & 63)) & 1) && ((bloom_[b2 >> 6] >> (b2 & 63)) & 1);
}

bool Board::superko_seen(uint64_t key) const {
    return superko_maybe_seen(key) && std::find(seen_.begin(), seen_.end(), key) != seen_.end();
}

void Board::superko_add(uint64_t key) {
    uint64_t b1 = key & 8191, b2 = (key >> 20) & 8191;
    bloom_[b1 >> 6] |= 1ULL << (b1 & 63);
    bloom_[b2 >> 6] |= 1ULL << (b2 & 63);
    seen_.push_back(key);
    most_stones_seen_ = std::max(most_stones_seen_, stones());
}

int Board::check(int move, int c) const {
    if (over_) return kGameOver;
    if (move < 0 || move > n_ * n_) return kOutOfRange;
    if (move == n_ * n_) return kLegal;
    const int p = point(move);
    if (color_[p] != EMPTY) return kOccupied;
    bool liberty = false;
    int caps[4], ncap = 0, own[4], nown = 0;
    for (int d = 0; d < kDirs; ++d) {
        int q = nbr(p, d);
        int8_t col = color_[q];
        if (col == EMPTY) {
            liberty = true;
        } else if (col == c) {
            int h = head_[q];
            if (libs_[h] > 1) liberty = true;
            else if (!contains(own, nown, h)) own[nown++] = h;
        } else if (col == -c) {
            int h = head_[q];
            if (libs_[h] == 1 && !contains(caps, ncap, h)) caps[ncap++] = h;
        }
    }
    const bool suicide = !liberty && ncap == 0;
    if (suicide && !allow_suicide_) return kSuicide;
    if (p == ko_point_ && c == ko_color_) return kKo;
    if (superko_ != Superko::None && (ncap > 0 || suicide || stones() + 1 <= most_stones_seen_)) {
        uint64_t h = hash_ ^ zobrist(c, p);
        for (int i = 0; i < ncap; ++i) {
            int s = caps[i];
            do { h ^= zobrist(-c, s); s = next_[s]; } while (s != caps[i]);
        }
        if (suicide) {
            h ^= zobrist(c, p);
            for (int i = 0; i < nown; ++i) {
                int s = own[i];
                do { h ^= zobrist(c, s); s = next_[s]; } while (s != own[i]);
            }
        }
        if (superko_seen(superko_key(h, -c))) return kSuperko;
    }
    return kLegal;
}

void Board::merge(int a, int b) {
    // Relabel b's stones to a, then splice the two circular lists.
    int s = b;
    do { head_[s] = (int16_t)a; s = next_[s]; } while (s != b);
    int an = next_[a];
    next_[a] = next_[b];
    next_[b] = (int16_t)an;
    csize_[a] = (int16_t)(csize_[a] + csize_[b]);
}

int Board::remove_chain(int h) {
    const int8_t c = color_[h];
    int count = 0;
    int s = h;
    do {
        int nxt = next_[s];
        color_[s] = EMPTY;
        hash_ ^= zobrist(c, s);
        add_empty(s);
        ++count;
        // The freed point is a new liberty of each distinct adjacent chain of the other colour.
        int seen[4], nseen = 0;
        for (int d = 0; d < kDirs; ++d) {
            int q = nbr(s, d);
            if (color_[q] == -c) {
                int hq = head_[q];
                if (!contains(seen, nseen, hq)) {
                    seen[nseen++] = hq;
                    ++libs_[hq];
                }
            }
        }
        s = nxt;
    } while (s != h);
    return count;
}

void Board::push_history() {
    hist_head_ = (hist_head_ + kHistory - 2) % (kHistory - 1);
    std::memcpy(hist_[hist_head_], color_, (size_t)(w_ * w_));
    if (hist_len_ < kHistory - 1) ++hist_len_;
}

const int8_t* Board::history(int k) const {
    if (k == 0) return color_;
    if (k < 0 || k > hist_len_) return nullptr;
    return hist_[(hist_head_ + k - 1) % (kHistory - 1)];
}

void Board::apply(int p, int c) {
    color_[p] = (int8_t)c;
    head_[p] = (int16_t)p;
    next_[p] = (int16_t)p;
    csize_[p] = 1;
    remove_empty(p);
    hash_ ^= zobrist(c, p);

    int own[4], nown = 0, opp[4], nopp = 0, nempty = 0;
    for (int d = 0; d < kDirs; ++d) {
        int q = nbr(p, d);
        int8_t col = color_[q];
        if (col == EMPTY) ++nempty;
        else if (col == c) { if (!contains(own, nown, head_[q])) own[nown++] = head_[q]; }
        else if (col == -c) { if (!contains(opp, nopp, head_[q])) opp[nopp++] = head_[q]; }
    }

    int mine = p;
    if (nown == 0) {
        libs_[p] = (int16_t)nempty;
    } else {
        // The largest adjacent chain absorbs p and the others. Its liberties lose p and gain
        // every liberty of the others (and empty neighbour of p) it did not have: walking only
        // the smaller chains keeps this cheap when a big chain grows.
        int big = own[0];
        for (int i = 1; i < nown; ++i)
            if (csize_[own[i]] > csize_[big]) big = own[i];
        int libs = libs_[big] - 1;
        uint8_t mark[kMaxPadded];
        if (nown > 1) std::memset(mark, 0, (size_t)(w_ * w_));
        auto consider = [&](int q) {
            if (nown > 1) {
                if (mark[q]) return;
                mark[q] = 1;
            }
            for (int e = 0; e < kDirs; ++e) {
                int r = nbr(q, e);
                if (color_[r] == c && head_[r] == big) return;
            }
            ++libs;
        };
        for (int d = 0; d < kDirs; ++d) {
            int q = nbr(p, d);
            if (color_[q] == EMPTY) consider(q);
        }
        for (int i = 0; i < nown; ++i) {
            if (own[i] == big) continue;
            int s = own[i];
            do {
                for (int d = 0; d < kDirs; ++d) {
                    int q = nbr(s, d);
                    if (color_[q] == EMPTY) consider(q);
                }
                s = next_[s];
            } while (s != own[i]);
        }
        for (int i = 0; i < nown; ++i)
            if (own[i] != big) merge(big, own[i]);
        merge(big, p);
        mine = big;
        libs_[big] = (int16_t)libs;
    }

    int captured = 0, captured_at = -1;
    for (int i = 0; i < nopp; ++i) {
        int h = opp[i];
        if (--libs_[h] == 0) {
            captured_at = h;
            captured += remove_chain(h);
        }
    }
    ko_point_ = -1;
    ko_color_ = EMPTY;
    if (libs_[mine] == 0) {
        // Suicide (only reached when allowed): the opponent takes the whole chain.
        captures_[c == BLACK ? 1 : 0] += remove_chain(mine);
    } else if (captured == 1 && csize_[mine] == 1 && libs_[mine] == 1) {
        ko_point_ = captured_at;
        ko_color_ = (int8_t)-c;
    }
    captures_[c == BLACK ? 0 : 1] += captured;
}

void Board::after_move(int move) {
    last_moves_[n_last_ % kLastMoves] = move;
    ++n_last_;
    ++move_number_;
    if (superko_ != Superko::None) superko_add(superko_key(hash_, to_play_));
    if (passes_ >= 2) over_ = true;
    if (max_moves_ > 0 && move_number_ >= max_moves_) over_ = true;
}

int Board::play(int move, int c) {
    int status = check(move, c);
    if (status != kLegal) return status;
    play_legal(move, c);
    return kLegal;
}

void Board::play_legal(int move, int c) {
    push_history();
    if (move == n_ * n_) {
        ++passes_;
        ko_point_ = -1;
        ko_color_ = EMPTY;
    } else {
        passes_ = 0;
        apply(point(move), c);
    }
    to_play_ = (int8_t)-c;
    after_move(move);
}

int Board::play_recorded(int move, int c, bool keep_history) {
    if (move != n_ * n_ && color_[point(move)] != EMPTY) return kOccupied;
    if (keep_history) push_history();
    if (move == n_ * n_) {
        ++passes_;
        ko_point_ = -1;
        ko_color_ = EMPTY;
    } else {
        passes_ = 0;
        apply(point(move), c);
    }
    to_play_ = (int8_t)-c;
    last_moves_[n_last_ % kLastMoves] = move;
    ++n_last_;
    ++move_number_;
    return kLegal;
}

int Board::legal_moves(int32_t* out) const {
    if (over_) return 0;
    int k = 0;
    const int c = to_play_;
    const bool simple = superko_ == Superko::None;
    // Without captures a move adds a stone: past the most stones ever seen, no repetition.
    const bool above_seen = stones() + 1 > most_stones_seen_;
    // Locals, so that the writes to `out` cannot make the compiler reload the members.
    const int w = w_, ko = ko_point_;
    const int8_t* color = color_;
    const int16_t* head = head_;
    const int16_t* libs = libs_;
    auto captures_at = [&](int q) { return color[q] == -c && libs[head[q]] == 1; };
    for (int r = 0, m = 0; r < n_; ++r) {
        const int row = (r + 1) * w + 1;
        for (int col = 0; col < n_; ++col, ++m) {
            const int p = row + col;
            if (color[p] != EMPTY) continue;
            // Fast path: an empty neighbour means no suicide; only ko/superko can forbid it.
            const bool free = color[p - w] == EMPTY || color[p - 1] == EMPTY || color[p + 1] == EMPTY ||
                              color[p + w] == EMPTY;
            if (free && p != ko) {
                if (simple) { out[k++] = m; continue; }
                // Without captures the new position's key is one XOR away: test it in the filter.
                const bool captures = captures_at(p - w) || captures_at(p - 1) || captures_at(p + 1) ||
                                      captures_at(p + w);
                if (!captures && (above_seen || !superko_maybe_seen(superko_key(hash_ ^ zobrist(c, p), -c)))) {
                    out[k++] = m;
                    continue;
                }
            }
            if (check(m, c) == kLegal) out[k++] = m;
        }
    }
    out[k++] = n_ * n_;
    return k;
}

int Board::last_move(int k) const {
    if (k < 0 || k >= kLastMoves || k >= n_last_) return -1;
    return last_moves_[(n_last_ - 1 - k) % kLastMoves];
}

int Board::ko_move() const {
    if (ko_point_ < 0 || ko_color_ != to_play_) return -1;
    return move_of(ko_point_);
}

void Board::set_to_play(int color) {
    to_play_ = (int8_t)color;
    if (superko_ != Superko::None) superko_add(superko_key(hash_, to_play_));
}

void Board::resign(int color) {
    resigned_ = (int8_t)color;
    over_ = true;
}

int Board::set_stones(const int* black, int nb, const int* white, int nw, const int* empty, int ne) {
    int8_t saved[kMaxPadded];
    std::memcpy(saved, color_, sizeof(saved));
    for (int i = 0; i < nb; ++i) color_[point(black[i])] = BLACK;
    for (int i = 0; i < nw; ++i) color_[point(white[i])] = WHITE;
    for (int i = 0; i < ne; ++i) color_[point(empty[i])] = EMPTY;
    rebuild();
    for (int m = 0; m < n_ * n_; ++m) {
        int p = point(m);
        if (color_[p] != EMPTY && libs_[head_[p]] == 0) {
            std::memcpy(color_, saved, sizeof(saved));
            rebuild();
            return m;
        }
    }
    hist_len_ = 0;
    return -1;
}

std::vector<int> Board::handicap_points(int n) const {
    std::vector<int> pts;
    if (n_ < 7 || n < 2 || n > 9) return pts;
    if ((n_ % 2 == 0 || n_ == 7) && n > 4) return pts;
    const int lo = n_ >= 13 ? 3 : 2, hi = n_ - 1 - lo, mid = n_ / 2;
    auto at = [this](int r, int c) { return r * n_ + c; };
    // GTP order on 19x19: D4 Q16 D16 Q4, then K10 (odd counts), D10 Q10, K4 K16.
    pts = {at(hi, lo), at(lo, hi)};
    if (n >= 3) pts.push_back(at(lo, lo));
    if (n >= 4) pts.push_back(at(hi, hi));
    if (n >= 6) { pts.push_back(at(mid, lo)); pts.push_back(at(mid, hi)); }
    if (n >= 8) { pts.push_back(at(hi, mid)); pts.push_back(at(lo, mid)); }
    if (n % 2 == 1 && n >= 5) pts.push_back(at(mid, mid));
    return pts;
}

namespace {

// Sums over empty regions: points reached only by Black / only by White. `color` is padded.
void count_regions(const int8_t* color, int n, int w, int& black_area, int& white_area) {
    uint8_t seen[kMaxPadded];
    int stack[kMaxPoints];
    std::memset(seen, 0, (size_t)(w * w));
    const int dirs[4] = {-w, -1, 1, w};
    black_area = white_area = 0;
    for (int r = 0; r < n; ++r) {
        for (int c = 0; c < n; ++c) {
            int p = (r + 1) * w + c + 1;
            if (color[p] != EMPTY || seen[p]) continue;
            int top = 0, size = 0;
            bool black = false, white = false;
            stack[top++] = p;
            seen[p] = 1;
            while (top) {
                int s = stack[--top];
                ++size;
                for (int d = 0; d < 4; ++d) {
                    int q = s + dirs[d];
                    int8_t col = color[q];
                    if (col == EMPTY) {
                        if (!seen[q]) { seen[q] = 1; stack[top++] = q; }
                    } else if (col == BLACK) black = true;
                    else if (col == WHITE) white = true;
                }
            }
            if (black && !white) black_area += size;
            if (white && !black) white_area += size;
        }
    }
}

}  // namespace

float Board::area_score() const {
    int black = 0, white = 0;
    count_regions(color_, n_, w_, black, white);
    for (int m = 0; m < n_ * n_; ++m) {
        int8_t col = color_[point(m)];
        if (col == BLACK) ++black;
        else if (col == WHITE) ++white;
    }
    return (float)(black - white) - komi_;
}

void Board::area_owner(int8_t* out) const {
    uint8_t seen[kMaxPadded];
    int stack[kMaxPoints], region[kMaxPoints];
    std::memset(seen, 0, (size_t)(w_ * w_));
    for (int m = 0; m < n_ * n_; ++m) {
        const int p = point(m);
        const int8_t col = color_[p];
        if (col != EMPTY) {
            out[m] = col;
            continue;
        }
        if (seen[p]) continue;
        // Flood the empty region; every point of it gets the owner once the borders are known.
        int top = 0, count = 0;
        bool black = false, white = false;
        stack[top++] = p;
        seen[p] = 1;
        while (top) {
            const int s = stack[--top];
            region[count++] = s;
            for (int d = 0; d < kDirs; ++d) {
                const int q = nbr(s, d);
                const int8_t c = color_[q];
                if (c == EMPTY) {
                    if (!seen[q]) { seen[q] = 1; stack[top++] = q; }
                } else if (c == BLACK) black = true;
                else if (c == WHITE) white = true;
            }
        }
        const int8_t owner = black && !white ? BLACK : (white && !black ? WHITE : EMPTY);
        for (int i = 0; i < count; ++i) out[move_of(region[i])] = owner;
    }
}

float Board::territory_score(const int* dead, int nd) const {
    int8_t color[kMaxPadded];
    std::memcpy(color, color_, sizeof(color));
    int dead_black = 0, dead_white = 0;
    for (int i = 0; i < nd; ++i) {
        int p = point(dead[i]);
        if (color[p] == BLACK) ++dead_black;
        else if (color[p] == WHITE) ++dead_white;
        color[p] = EMPTY;
    }
    int black = 0, white = 0;
    count_regions(color, n_, w_, black, white);
    return (float)(black + captures_[0] + dead_white - white - captures_[1] - dead_black) - komi_;
}

int Board::winner() const {
    if (resigned_) return -resigned_;
    float s = area_score();
    return s > 0 ? BLACK : (s < 0 ? WHITE : 0);
}

bool Board::is_eye(int p, int c) const {
    for (int d = 0; d < kDirs; ++d) {
        int8_t col = color_[nbr(p, d)];
        if (col != c && col != BORDER) return false;
    }
    const int diag[4] = {-w_ - 1, -w_ + 1, w_ - 1, w_ + 1};
    int enemy = 0, border = 0;
    for (int d = 0; d < 4; ++d) {
        int8_t col = color_[p + diag[d]];
        if (col == -c) ++enemy;
        else if (col == BORDER) ++border;
    }
    return enemy + (border > 0 ? 1 : 0) < 2;
}

int Board::playout(Rng& rng, bool fill_own_eyes, int max_moves) {
    const int limit = max_moves > 0 ? max_moves : (max_moves_ > 0 ? INT_MAX : 4 * n_ * n_);
    const int pass = n_ * n_;
    int played = 0;
    while (!over_ && played < limit) {
        const int c = to_play_;
        int k = n_empty_;
        int move = pass;
        // Sampling the candidates without replacement until one is acceptable picks uniformly
        // among the acceptable ones (pass is one candidate when fill_own_eyes).
        for (;;) {
            uint32_t i;
            if (fill_own_eyes) {
                i = rng.below((uint32_t)k + 1);
                if ((int)i == k) break;
            } else {
                if (k == 0) break;
                i = rng.below((uint32_t)k);
            }
            const int p = empty_[i];
            if (fill_own_eyes || !is_eye(p, c)) {
                // Fast path as in legal_moves(): an empty neighbour rules out suicide.
                const int8_t* q = color_ + p;
                const bool free = q[-w_] == EMPTY || q[-1] == EMPTY || q[1] == EMPTY || q[w_] == EMPTY;
                const int mv = move_of(p);
                if ((free && superko_ == Superko::None && p != ko_point_) || check(mv, c) == kLegal) {
                    move = mv;
                    break;
                }
            }
            int last = empty_[k - 1];
            empty_[k - 1] = (int16_t)p;
            empty_pos_[p] = (int16_t)(k - 1);
            empty_[i] = (int16_t)last;
            empty_pos_[last] = (int16_t)i;
            --k;
        }
        play_legal(move, c);
        ++played;
    }
    return played;
}

}  // namespace komi
