// Feature planes: see features.h for the plane order and the symmetries.
#include "feature_planes.h"

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <thread>
#include <vector>

namespace komi {

FeatureSet feature_set_from_name(const std::string& name) {
    if (name == "agz") return FeatureSet::AGZ;
    if (name == "extended") return FeatureSet::Extended;
    if (name == "basic") return FeatureSet::Basic;
    throw std::invalid_argument("unknown feature set '" + name + "' (choose 'agz', 'extended' or 'basic')");
}

int num_planes(FeatureSet set) {
    switch (set) {
        case FeatureSet::AGZ: return 17;
        case FeatureSet::Extended: return 30;
        case FeatureSet::Basic: return 4;
    }
    return 0;
}

int symmetry_move(int move, int n, int sym) {
    if (move == n * n) return move;
    int r = move / n, c = move % n;
    if (sym & 4) std::swap(r, c);
    if (sym & 1) r = n - 1 - r;
    if (sym & 2) c = n - 1 - c;
    return r * n + c;
}

int inverse_symmetry(int sym) {
    // Transposition then flips: the inverse flips first, which swaps the two flips.
    static const int kInverse[8] = {0, 1, 2, 3, 4, 6, 5, 7};
    return kInverse[sym & 7];
}

namespace {

// Symmetry maps of one board size, computed once per thread and size: map[s][m] is where move m
// goes under symmetry s; src[s][t] is the padded point whose value lands on target index t (so
// planes are written in order, each value gathered from the small padded board).
struct PointMaps {
    int n = 0;
    int map[8][kMaxPoints];
    int16_t src[8][kMaxPoints];
};

const PointMaps& point_maps(int n) {
    thread_local PointMaps maps;
    if (maps.n != n) {
        const int w = n + 2;
        for (int m = 0; m < n * n; ++m) {
            const int point = (m / n + 1) * w + m % n + 1;
            for (int s = 0; s < 8; ++s) {
                maps.map[s][m] = symmetry_move(m, n, s);
                maps.src[s][maps.map[s][m]] = (int16_t)point;
            }
        }
        maps.n = n;
    }
    return maps;
}

}  // namespace

void encode_board(const Board& b, FeatureSet set, int sym, float* out) {
    encode_board(b, set, sym, out, nullptr, 0);
}

void encode_board(const Board& b, FeatureSet set, int sym, float* out, const int32_t* legal, int num_legal) {
    // Every plane is written in full (no separate zeroing pass) and the per-point loops are
    // branch-free: on real positions stone colours are unpredictable for the branch predictor.
    const int n = b.size(), nn = n * n;
    const int own = b.to_play();
    const PointMaps& maps = point_maps(n);
    const int* map = maps.map[sym & 7];
    const int16_t* src = maps.src[sym & 7];
    auto fill = [&](int plane, float value) { std::fill(out + (size_t)plane * nn, out + (size_t)(plane + 1) * nn, value); };

    if (set == FeatureSet::Basic) {
        const int8_t* stones = b.padded();
        for (int t = 0; t < nn; ++t) {
            const int8_t col = stones[src[t]];
            out[t] = (float)(col == own);
            out[nn + t] = (float)(col == -own);
            out[2 * nn + t] = (float)(col == EMPTY);
        }
        fill(3, own == BLACK ? 1.0f : 0.0f);
        return;
    }

    for (int k = 0; k < kHistory; ++k) {
        const int8_t* stones = b.history(k);
        float* own_plane = out + (size_t)k * nn;
        float* opp_plane = out + (size_t)(kHistory + k) * nn;
        if (!stones) {
            std::fill(own_plane, own_plane + nn, 0.0f);
            std::fill(opp_plane, opp_plane + nn, 0.0f);
            continue;
        }
        for (int t = 0; t < nn; ++t) {
            const int8_t col = stones[src[t]];
            own_plane[t] = (float)(col == own);
            opp_plane[t] = (float)(col == -own);
        }
    }
    fill(16, own == BLACK ? 1.0f : 0.0f);
    if (set == FeatureSet::AGZ) return;

    fill(17, 1.0f);
    const int8_t* stones = b.padded();
    for (int t = 0; t < nn; ++t) {
        const int p = src[t];
        const int8_t col = stones[p];
        const int libs = col == EMPTY ? 0 : std::min(b.chain_liberties(p), 3);
        const bool mine = col == own, theirs = col == -own;
        out[18 * nn + t] = (float)(mine && libs == 1);
        out[19 * nn + t] = (float)(mine && libs == 2);
        out[20 * nn + t] = (float)(mine && libs == 3);
        out[21 * nn + t] = (float)(theirs && libs == 1);
        out[22 * nn + t] = (float)(theirs && libs == 2);
        out[23 * nn + t] = (float)(theirs && libs == 3);
    }
    for (int plane = 24; plane < 30; ++plane) fill(plane, 0.0f);
    if (legal) {
        for (int k = 0; k < num_legal; ++k)
            if (legal[k] < nn) out[24 * nn + map[legal[k]]] = 1.0f;
    } else {
        for (int m = 0; m < nn; ++m)
            if (b.check(m, own) == kLegal) out[24 * nn + map[m]] = 1.0f;
    }
    const int ko = b.ko_move();
    if (ko >= 0) out[25 * nn + map[ko]] = 1.0f;
    for (int k = 0; k < 4; ++k) {
        const int mv = b.last_move(k);
        if (mv >= 0 && mv < nn) out[(size_t)(26 + k) * nn + map[mv]] = 1.0f;
    }
}

namespace {

[[noreturn]] void bad_record(int64_t game, int64_t entry, const std::string& what) {
    throw std::invalid_argument("game record " + std::to_string(game) + ", entry " +
                                std::to_string(entry) + ": " + what);
}

// Replays entries [0, ply) of one game onto a fresh board.
void replay(Board& board, const int16_t* codes, int64_t game, int64_t length, int64_t ply) {
    const int n = board.size(), pass = n * n;
    int setup[2][kMaxPoints];
    int nsetup[2] = {0, 0};
    auto flush_setup = [&](int64_t entry) {
        if (nsetup[0] + nsetup[1] == 0) return;
        int dead = board.set_stones(setup[0], nsetup[0], setup[1], nsetup[1], nullptr, 0);
        if (dead >= 0) bad_record(game, entry, "setup stones leave a chain without liberties");
        nsetup[0] = nsetup[1] = 0;
    };
    for (int64_t i = 0; i < ply; ++i) {
        const int code = codes[i];
        const int point = code >> 2;
        const int color = (code & 2) ? WHITE : BLACK;
        if (code < 0 || point > pass) bad_record(game, i, "point out of range for a " +
                                                 std::to_string(n) + "x" + std::to_string(n) + " board");
        if (code & 1) {
            if (point == pass) bad_record(game, i, "setup stone on pass");
            int side = color == BLACK ? 0 : 1;
            if (nsetup[side] >= kMaxPoints) bad_record(game, i, "too many setup stones");
            setup[side][nsetup[side]++] = point;
            continue;
        }
        flush_setup(i);
        if (board.play_recorded(point, color, i >= ply - kHistory) != kLegal)
            bad_record(game, i, "move on an occupied point");
    }
    flush_setup(ply);
    // The side to move is the colour of the next move when there is one.
    if (ply < length && !(codes[ply] & 1)) board.set_to_play((codes[ply] & 2) ? WHITE : BLACK);
}

}  // namespace

void encode_records(const int16_t* codes, int64_t num_codes, const int64_t* offsets,
                    int64_t num_games, const int64_t* game_index, const int64_t* ply,
                    const int64_t* symmetry, int64_t batch, int size, FeatureSet set, float* out,
                    int threads) {
    const size_t stride = (size_t)num_planes(set) * size * size;
    auto encode_range = [&](int64_t begin, int64_t end) {
        for (int64_t b = begin; b < end; ++b) {
            // Read once and checked again here: the caller validated them, but a buffer that
            // shares memory with `out` must not lead a read astray.
            const int64_t g = game_index[b], p = ply[b], sym = symmetry[b];
            if (g < 0 || g >= num_games) throw std::invalid_argument("game_index " + std::to_string(g) + " is out of range");
            const int64_t start = offsets[g], stop = offsets[g + 1], length = stop - start;
            if (start < 0 || length < 0 || stop > num_codes)
                throw std::invalid_argument("offsets of game " + std::to_string(g) + " are outside the codes");
            if (p < 0 || p > length || sym < 0 || sym > 7)
                throw std::invalid_argument("ply or symmetry of position " + std::to_string(b) + " is out of range");
            Board board(size, 7.5f, Superko::None, false, 0);
            replay(board, codes + start, g, length, p);
            encode_board(board, set, (int)sym, out + b * stride);
        }
    };
    threads = (int)std::max<int64_t>(1, std::min<int64_t>(threads, batch / 16));
    if (threads <= 1) {
        encode_range(0, batch);
        return;
    }
    // Each thread encodes a contiguous slice; the first error (if any) is rethrown here.
    std::vector<std::thread> pool;
    std::vector<std::exception_ptr> errors(threads);
    for (int t = 0; t < threads; ++t) {
        const int64_t begin = batch * t / threads, end = batch * (t + 1) / threads;
        pool.emplace_back([&, t, begin, end] {
            try {
                encode_range(begin, end);
            } catch (...) {
                errors[t] = std::current_exception();
            }
        });
    }
    for (auto& th : pool) th.join();
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);
}

void record_outcomes(const int16_t* codes, int64_t num_codes, const int64_t* offsets, int64_t num_games,
                     int size, int8_t* ownership, float* margin) {
    const int area = size * size;
    for (int64_t g = 0; g < num_games; ++g) {
        const int64_t start = offsets[g], stop = offsets[g + 1], length = stop - start;
        if (start < 0 || length < 0 || stop > num_codes)
            throw std::invalid_argument("offsets of game " + std::to_string(g) + " are outside the codes");
        Board board(size, 0.0f, Superko::None, false, 0);
        replay(board, codes + start, g, length, length);
        int8_t* own = ownership + g * area;
        board.area_owner(own);
        int sum = 0;
        for (int m = 0; m < area; ++m) sum += own[m];
        margin[g] = (float)sum;
    }
}

}  // namespace komi
