// Python face of the feature encoder (envs.go._core.encode / encode_records / symmetry maps).
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "bind_util.h"
#include "feature_planes.h"

namespace komi {

using namespace nb::literals;

namespace {

using Planes = nb::ndarray<float, nb::ndim<4>, nb::c_contig, nb::device::cpu>;
template <typename T>
using Vector = nb::ndarray<const T, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

void check_planes(const Planes& out, size_t batch, int planes, int size) {
    if (out.shape(0) != batch || out.shape(1) != (size_t)planes || out.shape(2) != (size_t)size ||
        out.shape(3) != (size_t)size)
        throw std::invalid_argument(
            "out must have shape [" + std::to_string(batch) + ", " + std::to_string(planes) + ", " +
            std::to_string(size) + ", " + std::to_string(size) + "], got [" + std::to_string(out.shape(0)) +
            ", " + std::to_string(out.shape(1)) + ", " + std::to_string(out.shape(2)) + ", " +
            std::to_string(out.shape(3)) + "]");
}

void check_symmetries(const Vector<int64_t>& sym, size_t batch) {
    if (sym.shape(0) != batch)
        throw std::invalid_argument("symmetries must have one entry per position (" + std::to_string(batch) + ")");
    for (size_t i = 0; i < batch; ++i)
        if (sym(i) < 0 || sym(i) > 7)
            throw std::invalid_argument("symmetry " + std::to_string(sym(i)) + " is not in 0..7");
}

// Validates game offsets [G+1] into `num_codes` record codes; returns G.
int64_t check_offsets(const Vector<int64_t>& offsets, int64_t num_codes) {
    if (offsets.shape(0) < 1) throw std::invalid_argument("offsets needs at least one entry (G+1)");
    const int64_t num_games = (int64_t)offsets.shape(0) - 1;
    if (offsets(0) < 0) throw std::invalid_argument("offsets must start at >= 0");
    for (int64_t g = 0; g < num_games; ++g)
        if (offsets(g + 1) < offsets(g) || offsets(g + 1) > num_codes)
            throw std::invalid_argument("offsets must be non-decreasing and within the codes (game " +
                                        std::to_string(g) + ")");
    return num_games;
}

}  // namespace

void bind_features(nb::module_& m) {
    m.def("num_planes", [](const std::string& name) { return num_planes(feature_set_from_name(name)); },
          "feature_set"_a, "Number of planes of a feature set ('agz': 17, 'extended': 30, 'basic': 4).");
    m.def("symmetry_map",
          [](int size, int sym) {
              if (size < 2 || size > kMaxSize) throw std::invalid_argument("board size must be between 2 and 25");
              if (sym < 0 || sym > 7) throw std::invalid_argument("symmetry must be in 0..7");
              std::vector<int64_t> out(size * size + 1);
              for (int mv = 0; mv <= size * size; ++mv) out[mv] = symmetry_move(mv, size, sym);
              return out;
          },
          "size"_a, "sym"_a, "Move index of every move under symmetry `sym` (pass stays pass).");
    m.def("inverse_symmetry",
          [](int sym) {
              if (sym < 0 || sym > 7) throw std::invalid_argument("symmetry must be in 0..7");
              return inverse_symmetry(sym);
          },
          "sym"_a, "The symmetry that undoes `sym`.");
    m.def("encode",
          [](const std::vector<const Board*>& boards, const std::string& feature_set,
             const Vector<int64_t>& symmetries, Planes out) {
              const FeatureSet set = feature_set_from_name(feature_set);
              if (boards.empty()) throw std::invalid_argument("encode needs at least one board");
              for (const Board* b : boards)
                  if (!b) throw std::invalid_argument("encode: boards must be Board objects, got None");
              const int size = boards[0]->size();
              for (const Board* b : boards)
                  if (b->size() != size) throw std::invalid_argument("all boards of one batch must have the same size");
              check_planes(out, boards.size(), num_planes(set), size);
              check_symmetries(symmetries, boards.size());
              const size_t stride = (size_t)num_planes(set) * size * size;
              nb::gil_scoped_release release;
              for (size_t i = 0; i < boards.size(); ++i)
                  encode_board(*boards[i], set, (int)symmetries(i), out.data() + i * stride);
          },
          "boards"_a, "feature_set"_a, "symmetries"_a, nb::arg("out").noconvert(),
          "Writes the planes of each board under its symmetry into out float32 [B, C, N, N].");
    m.def("encode_records",
          [](const Vector<int16_t>& codes, const Vector<int64_t>& offsets, const Vector<int64_t>& game_index,
             const Vector<int64_t>& ply, int size, const std::string& feature_set,
             const Vector<int64_t>& symmetries, Planes out, int threads) {
              const FeatureSet set = feature_set_from_name(feature_set);
              if (threads < 1 || threads > 256) throw std::invalid_argument("threads must be in 1..256");
              if (size < 2 || size > kMaxSize) throw std::invalid_argument("board size must be between 2 and 25");
              const size_t batch = game_index.shape(0);
              if (ply.shape(0) != batch) throw std::invalid_argument("game_index and ply must have the same length");
              const int64_t num_games = check_offsets(offsets, (int64_t)codes.shape(0));
              const int64_t num_codes = (int64_t)codes.shape(0);
              for (size_t b = 0; b < batch; ++b) {
                  const int64_t g = game_index(b);
                  if (g < 0 || g >= num_games)
                      throw std::invalid_argument("game_index " + std::to_string(g) + " is not in 0.." +
                                                  std::to_string(num_games - 1));
                  if (ply(b) < 0 || ply(b) > offsets(g + 1) - offsets(g))
                      throw std::invalid_argument("ply " + std::to_string(ply(b)) + " is outside game " +
                                                  std::to_string(g) + " (" + std::to_string(offsets(g + 1) - offsets(g)) +
                                                  " entries)");
              }
              check_planes(out, batch, num_planes(set), size);
              check_symmetries(symmetries, batch);
              nb::gil_scoped_release release;
              encode_records(codes.data(), num_codes, offsets.data(), num_games, game_index.data(), ply.data(),
                             symmetries.data(), (int64_t)batch, size, set, out.data(), threads);
          },
          "codes"_a, "offsets"_a, "game_index"_a, "ply"_a, "size"_a, "feature_set"_a, "symmetries"_a,
          nb::arg("out").noconvert(),  // an output buffer must never be silently replaced by a copy
          "threads"_a = 1,
          "Replays compact records natively and writes the planes of each (game, ply) position "
          "(threads > 1 splits the batch across native threads).");
    m.def("record_outcomes",
          [](const Vector<int16_t>& codes, const Vector<int64_t>& offsets, int size) {
              if (size < 2 || size > kMaxSize) throw std::invalid_argument("board size must be between 2 and 25");
              const int64_t num_games = check_offsets(offsets, (int64_t)codes.shape(0));
              const int64_t num_codes = (int64_t)codes.shape(0);
              const size_t area = (size_t)size * size;
              std::vector<int8_t> ownership((size_t)num_games * area);
              std::vector<float> margin((size_t)num_games);
              {
                  nb::gil_scoped_release release;
                  record_outcomes(codes.data(), num_codes, offsets.data(), num_games, size, ownership.data(),
                                  margin.data());
              }
              int8_t* own = new int8_t[ownership.size() > 0 ? ownership.size() : 1];
              std::copy(ownership.begin(), ownership.end(), own);
              float* mar = new float[margin.size() > 0 ? margin.size() : 1];
              std::copy(margin.begin(), margin.end(), mar);
              nb::capsule own_owner(own, [](void* p) noexcept { delete[] static_cast<int8_t*>(p); });
              nb::capsule mar_owner(mar, [](void* p) noexcept { delete[] static_cast<float*>(p); });
              return std::make_pair(nb::ndarray<nb::numpy, int8_t>(own, {(size_t)num_games, area}, own_owner),
                                    nb::ndarray<nb::numpy, float>(mar, {(size_t)num_games}, mar_owner));
          },
          "codes"_a, "offsets"_a, "size"_a,
          "Replays every record to its end: (ownership int8 [G, N*N], area margin float32 [G]); the "
          "Tromp-Taylor owner of each point from Black's view (+1 Black, -1 White, 0 neither) and "
          "Black's area minus White's, komi not included.");
}

}  // namespace komi
