// Go rules: a board of size 2..25 with incremental chains and exact liberty counts.
//
// Layout: the N x N points live inside a padded (N+2) x (N+2) array whose outer ring is
// BORDER, so neighbour lookups need no bounds checks. "Points" below are padded indices;
// "moves" are the public indices row * N + col (row 0 = top line), pass = N * N.
//
// Chains: every stone knows its chain's head (the representative) and the next stone of the
// chain (a circular list); the head holds the chain's stone count and exact liberty count.
// play() and check() never allocate (except the superko history vector growing), so the tree
// search can copy a Board and play on it millions of times.
//
// Use from C++ (e.g. the tree search):
//   komi::Board b(19);                        // a value type: copy it to branch
//   int32_t moves[komi::kMaxPoints + 1];
//   int k = b.legal_moves(moves);             // ascending move indices, pass last
//   if (b.play(m, b.to_play()) != komi::kLegal) { /* refused, board unchanged */ }
//   if (b.check(m, c) == komi::kLegal) b.play_legal(m, c);   // check once, play without re-checking
//   encode_board(b, FeatureSet::Extended, sym, out);          // feature_planes.h
// One thread per Board object; copies are independent.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

namespace komi {

constexpr int kMaxSize = 25;
constexpr int kMaxPadded = (kMaxSize + 2) * (kMaxSize + 2);
constexpr int kMaxPoints = kMaxSize * kMaxSize;
constexpr int kHistory = 8;     // positions kept for the feature planes (t .. t-7)
constexpr int kLastMoves = 8;   // last moves kept

constexpr int8_t EMPTY = 0;
constexpr int8_t BLACK = 1;
constexpr int8_t WHITE = -1;
constexpr int8_t BORDER = 3;

enum class Superko : int8_t { None = 0, Positional = 1, Situational = 2 };

// Why a move is illegal (0 = legal). Names match IllegalMove.reason in Python.
enum MoveStatus : int {
    kLegal = 0,
    kOccupied,
    kSuicide,
    kKo,
    kSuperko,
    kGameOver,
    kOutOfRange,
};
const char* status_name(int status);

// A small, fast, seedable generator (xorshift64*), good enough for random playouts.
struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL) {
        if (s == 0) s = 1;
    }
    uint64_t next() {
        s ^= s >> 12; s ^= s << 25; s ^= s >> 27;
        return s * 0x2545F4914F6CDD1DULL;
    }
    // Uniform in [0, n).
    uint32_t below(uint32_t n) { return (uint32_t)(((next() >> 32) * (uint64_t)n) >> 32); }
};

// Zobrist key of a stone of `color` at padded point p.
uint64_t zobrist(int color, int p);
// XORed into superko keys when White is to move (situational superko).
uint64_t zobrist_white_to_move();

class Board {
public:
    explicit Board(int size = 19, float komi = 7.5f, Superko superko = Superko::Positional,
                   bool allow_suicide = false, int max_moves = 0);
    // Copies only the part of the fixed arrays this board size uses.
    Board(const Board& other);
    Board& operator=(const Board& other);

    // ---- geometry
    int size() const { return n_; }
    int width() const { return w_; }
    int num_moves() const { return n_ * n_ + 1; }            // points + pass
    int pass_move() const { return n_ * n_; }
    // Divisions by n_ and w_ as a multiply and shift (exact for the index ranges used here).
    int div_n(int x) const { return (int)(((uint32_t)x * inv_n_) >> 20); }
    int div_w(int x) const { return (int)(((uint32_t)x * inv_w_) >> 20); }
    int point(int move) const { int r = div_n(move); return (r + 1) * w_ + (move - r * n_) + 1; }
    int move_of(int p) const { int r = div_w(p); return (r - 1) * n_ + (p - r * w_) - 1; }
    bool on_board(int move) const { return move >= 0 && move <= n_ * n_; }

    // ---- rules
    // Status of `move` for `color` (0 = legal); the board is not changed.
    int check(int move, int color) const;
    // Plays `move` for `color` if legal; returns its status (the board is unchanged if not 0).
    int play(int move, int color);
    // Plays a move already known to be legal (check() == 0) without checking it again.
    void play_legal(int move, int color);
    // Legal moves of the side to move, ascending, pass last; writes into out[num_moves()].
    int legal_moves(int32_t* out) const;
    // Side to move resigns (or `color`); the game is over.
    void resign(int color);
    // Places stones without playing moves (SGF AB/AW/AE, handicap); moves are indices. Returns
    // -1, or (board unchanged) a move index of a chain the setup would leave without liberties.
    // Clears the superko and feature history: the result is a new starting position.
    int set_stones(const int* black, int nb, const int* white, int nw, const int* empty, int ne);
    // Fixed (GTP) handicap points for n stones on this size, or empty when not defined.
    std::vector<int> handicap_points(int n) const;
    // Sets the side to move (SGF PL, handicap); the position counts as seen with that side to move.
    void set_to_play(int color);
    // Plays a recorded move: only an occupied point is refused (returns kOccupied); ko is not
    // checked, a suicide removes its chain, and two passes do not end the game. Without
    // keep_history the feature history is not updated (replays skip it for old moves).
    int play_recorded(int move, int color, bool keep_history = true);

    // ---- scoring
    // Tromp-Taylor area score from Black's side, komi included.
    float area_score() const;
    // Tromp-Taylor owner of every point (move index order): +1 Black (stone or empty region
    // reaching only Black), -1 White, 0 neither (dame, or an empty region touching both).
    void area_owner(int8_t* out) const;
    // Territory score (Japanese-style counting) with the given dead stones removed.
    float territory_score(const int* dead, int nd) const;
    // +1 Black wins, -1 White wins, 0 draw: by resignation if any, else by area score.
    int winner() const;

    // ---- state
    int to_play() const { return to_play_; }
    bool is_over() const { return over_; }
    int move_number() const { return move_number_; }
    int last_move(int k = 0) const;                         // k-th last move (0 = last), -1 none
    int ko_move() const;                                    // point the side to move may not take, -1 none
    int captures(int color) const { return captures_[color == BLACK ? 0 : 1]; }
    int consecutive_passes() const { return passes_; }
    int resigned() const { return resigned_; }
    uint64_t hash() const { return hash_; }
    float komi() const { return komi_; }
    Superko superko() const { return superko_; }
    bool allow_suicide() const { return allow_suicide_; }
    int max_moves() const { return max_moves_; }
    int8_t color_at(int p) const { return color_[p]; }
    int chain_liberties(int p) const { return libs_[head_[p]]; }
    int chain_size(int p) const { return csize_[head_[p]]; }
    const int8_t* padded() const { return color_; }
    // Stones of the position k moves ago (0 = now, up to kHistory-1), padded; nullptr if none.
    const int8_t* history(int k) const;
    // True when p is a true-eye-like point of `color` (all neighbours own, diagonals mostly own).
    bool is_eye(int p, int color) const;

    // ---- native playouts
    // Plays the game out at random: uniform over legal moves and pass when fill_own_eyes,
    // else uniform over legal non-eye-filling moves (pass only when none is left). Returns the
    // number of moves played. Stops at game over (two passes, move cap) or after max_moves
    // moves of this call when the board has no cap of its own (0 = 4 * N * N).
    int playout(Rng& rng, bool fill_own_eyes, int max_moves = 0);

    // Recomputes chains, liberties, hash and the empty list from the stone colours.
    void rebuild();

private:
    static constexpr int kDirs = 4;
    int nbr(int p, int d) const { return p + dir_[d]; }
    void copy_from(const Board& other);            // everything but seen_
    bool superko_maybe_seen(uint64_t key) const;   // false: certainly never seen
    bool superko_seen(uint64_t key) const;
    void superko_add(uint64_t key);
    int stones() const { return n_ * n_ - n_empty_; }
    uint64_t superko_key(uint64_t h, int to_play) const {
        return superko_ == Superko::Situational && to_play == WHITE ? h ^ zobrist_white_to_move() : h;
    }
    int recount_liberties(int head) const;
    void merge(int a, int b);   // b's chain joins a's (a stays the head)
    int remove_chain(int head);
    void add_empty(int p);
    void remove_empty(int p);
    void push_history();
    void after_move(int move);
    void apply(int p, int c);

    int n_, w_;
    uint32_t inv_n_, inv_w_;   // (1 << 20) / n_ + 1 and the same for w_
    int dir_[4];
    float komi_;
    Superko superko_;
    bool allow_suicide_;
    int max_moves_;

    int8_t color_[kMaxPadded];
    int16_t head_[kMaxPadded];
    int16_t next_[kMaxPadded];
    int16_t libs_[kMaxPadded];     // valid at chain heads
    int16_t csize_[kMaxPadded];    // valid at chain heads
    int16_t empty_[kMaxPoints];
    int16_t empty_pos_[kMaxPadded];
    int n_empty_;

    uint64_t hash_;
    int8_t to_play_;
    int8_t passes_;
    bool over_;
    int8_t resigned_;      // colour that resigned, 0 none
    int ko_point_;         // padded point, -1 none
    int8_t ko_color_;      // colour that may not play at ko_point_
    int move_number_;
    int captures_[2];      // stones captured by Black, by White
    int last_moves_[kLastMoves];   // ring of moves (public indices)
    int n_last_;

    int8_t hist_[kHistory - 1][kMaxPadded];   // ring of previous positions (t-1 .. t-7)
    int hist_len_;
    int hist_head_;        // slot of t-1

    uint64_t bloom_[128];                 // 8192-bit filter over seen superko keys
    // Most stones of any position in seen_: a move that leaves more stones on the board than
    // that cannot repeat a position, so legal_moves() and check() skip the superko look-up.
    int most_stones_seen_ = 0;
    std::vector<uint64_t> seen_;          // every superko key of the game (positional/situational)
};

}  // namespace komi
