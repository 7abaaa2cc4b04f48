// Feature planes for the network, written straight into a caller's float32 buffer.
// (Not named features.h: that name would shadow glibc's <features.h> on the include path.)
//
// Plane order (N x N each; "own" = the side to move at the encoded position):
//   "agz" (17):  0-7   own stones now, 1, ..., 7 moves ago
//                8-15  opponent stones now, 1, ..., 7 moves ago
//                16    ones if Black is to move
//   "extended" (30): the 17 above, then
//                17    ones (on-board marker)
//                18-20 own stones whose chain has 1 / 2 / >= 3 liberties
//                21-23 opponent stones whose chain has 1 / 2 / >= 3 liberties
//                24    legal moves of the side to move (pass excluded)
//                25    the simple-ko point the side to move may not take
//                26-29 the last, 2nd, 3rd and 4th last move (one-hot; nothing for a pass)
//   "basic" (4): own stones, opponent stones, empty points, ones if Black is to move
//                (no history: a small set for quick experiments and tests)
// History older than the game (or than the last setup) is all zeros.
//
// Symmetry s in 0..7 maps (row, col): transpose if s & 4, then flip rows if s & 1, then flip
// columns if s & 2. Plane value at (r, c) goes to the transformed point.
#pragma once

#include <cstdint>
#include <string>

#include "board.h"

namespace komi {

enum class FeatureSet : int { AGZ = 0, Extended = 1, Basic = 2 };

// Parses "agz" / "extended" / "basic"; throws std::invalid_argument naming the choices otherwise.
FeatureSet feature_set_from_name(const std::string& name);
int num_planes(FeatureSet set);

// Move index of `move` under symmetry `sym` (pass maps to pass).
int symmetry_move(int move, int size, int sym);
int inverse_symmetry(int sym);

// Writes num_planes(set) * N * N floats of `board` under symmetry `sym` into out.
void encode_board(const Board& board, FeatureSet set, int sym, float* out);
// The same with the legal moves of the side to move already known (legal_moves() output).
void encode_board(const Board& board, FeatureSet set, int sym, float* out, const int32_t* legal, int num_legal);

// Replays compact records (code = point << 2 | color_bit << 1 | setup_bit) and encodes, for
// each b < batch, the position of game game_index[b] before its entry ply[b]. The caller has
// validated game_index, ply, symmetry and the buffer; bad record content throws
// std::invalid_argument naming the game and entry. `threads` > 1 splits the batch.
void encode_records(const int16_t* codes, int64_t num_codes, const int64_t* offsets,
                    int64_t num_games, const int64_t* game_index, const int64_t* ply,
                    const int64_t* symmetry, int64_t batch, int size, FeatureSet set, float* out,
                    int threads = 1);

// Replays every game to its end and writes its Tromp-Taylor owner per point (Board::area_owner,
// Black's view) into ownership[g * N * N ...] and its area margin (Black minus White, no komi)
// into margin[g]. Bad record content throws std::invalid_argument naming the game and entry.
void record_outcomes(const int16_t* codes, int64_t num_codes, const int64_t* offsets, int64_t num_games,
                     int size, int8_t* ownership, float* margin);

}  // namespace komi
