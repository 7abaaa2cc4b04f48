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

const char* kOutWant = "a writeable C-contiguous float32 array [B, C, N, N]";

Planes out_planes(nb::handle h) { return out_arg<Planes>(h, "out", kOutWant); }

Vector<int64_t> int64_vector(nb::handle h, const char* what) {
    return array_arg<Vector<int64_t>>(h, what, "iu", "int64", 1, "a 1-D array (or list) of integers");
}

int size_arg(nb::handle h) { return (int)int_arg(h, "board size", 2, kMaxSize); }
int sym_arg(nb::handle h) { return (int)int_arg(h, "symmetry", 0, 7); }
FeatureSet feature_set_arg(nb::handle h) { return feature_set_from_name(str_arg(h, "feature_set")); }

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
        throw std::invalid_argument("symmetries must have one entry per position (" + std::to_string(batch) +
                                    "), got " + std::to_string(sym.shape(0)));
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
    m.def("num_planes", [](nb::handle name) { return num_planes(feature_set_arg(name)); },
          nb::arg("feature_set").none(), nb::sig("def num_planes(feature_set: str) -> int"),
          "Number of planes of a feature set ('agz': 17, 'extended': 30, 'basic': 4).");
    m.def("symmetry_map",
          [](nb::handle size, nb::handle sym) {
              const int n = size_arg(size);
              const int s = sym_arg(sym);
              std::vector<int64_t> out(n * n + 1);
              for (int mv = 0; mv <= n * n; ++mv) out[mv] = symmetry_move(mv, n, s);
              return out;
          },
          nb::arg("size").none(), nb::arg("sym").none(), nb::sig("def symmetry_map(size: int, sym: int) -> list[int]"),
          "Move index of every move under symmetry `sym` (pass stays pass).");
    m.def("inverse_symmetry", [](nb::handle sym) { return inverse_symmetry(sym_arg(sym)); },
          nb::arg("sym").none(), nb::sig("def inverse_symmetry(sym: int) -> int"), "The symmetry that undoes `sym`.");
    m.def("encode",
          [](nb::handle boards, nb::handle feature_set, nb::handle symmetries, nb::handle out_h) {
              const FeatureSet set = feature_set_arg(feature_set);
              if (!PyList_Check(boards.ptr()) && !PyTuple_Check(boards.ptr()))
                  bad_type("encode: boards must be a list of envs.go.Board, got " + describe(boards));
              // The references keep every board alive while the GIL is released below.
              nb::object items = nb::steal(PySequence_Fast(boards.ptr(), "boards"));
              if (!items.is_valid()) throw nb::python_error();
              const Py_ssize_t count = PySequence_Fast_GET_SIZE(items.ptr());
              if (count == 0) throw std::invalid_argument("encode needs at least one board");
              std::vector<nb::object> keep((size_t)count);
              std::vector<const Board*> bs((size_t)count);
              for (Py_ssize_t i = 0; i < count; ++i) {
                  keep[i] = nb::borrow(PySequence_Fast_GET_ITEM(items.ptr(), i));
                  if (!nb::isinstance<Board>(keep[i]))
                      bad_type("encode: boards[" + std::to_string(i) + "] must be an envs.go.Board, got " +
                               describe(keep[i]));
                  bs[i] = &nb::cast<const Board&>(keep[i]);
              }
              const int size = bs[0]->size();
              for (const Board* b : bs)
                  if (b->size() != size) throw std::invalid_argument("all boards of one batch must have the same size");
              Vector<int64_t> sym = int64_vector(symmetries, "symmetries");
              Planes out = out_planes(out_h);
              check_planes(out, bs.size(), num_planes(set), size);
              check_symmetries(sym, bs.size());
              const size_t stride = (size_t)num_planes(set) * size * size;
              nb::gil_scoped_release release;
              for (size_t i = 0; i < bs.size(); ++i) encode_board(*bs[i], set, (int)sym(i), out.data() + i * stride);
          },
          nb::arg("boards").none(), nb::arg("feature_set").none(), nb::arg("symmetries").none(), nb::arg("out").none(),
          nb::sig("def encode(boards: Sequence[Board], feature_set: str, symmetries: numpy.ndarray[dtype=int64], "
                  "out: numpy.ndarray[dtype=float32]) -> None"),
          "Writes the planes of each board under its symmetry into out float32 [B, C, N, N].");
    m.def("encode_records",
          [](nb::handle codes_h, nb::handle offsets_h, nb::handle game_index_h, nb::handle ply_h, nb::handle size_h,
             nb::handle feature_set, nb::handle symmetries, nb::handle out_h, nb::handle threads_h) {
              const int size = size_arg(size_h);
              const FeatureSet set = feature_set_arg(feature_set);
              const int threads = (int)int_arg(threads_h, "threads", 1, 256);
              auto codes = array_arg<Vector<int16_t>>(codes_h, "codes", "iu", "int16", 1,
                                                      "a 1-D array of int16 record codes");
              Vector<int64_t> offsets = int64_vector(offsets_h, "offsets");
              Vector<int64_t> game_index = int64_vector(game_index_h, "game_index");
              Vector<int64_t> ply = int64_vector(ply_h, "ply");
              Vector<int64_t> sym = int64_vector(symmetries, "symmetries");
              Planes out = out_planes(out_h);
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
              check_symmetries(sym, batch);
              nb::gil_scoped_release release;
              encode_records(codes.data(), num_codes, offsets.data(), num_games, game_index.data(), ply.data(),
                             sym.data(), (int64_t)batch, size, set, out.data(), threads);
          },
          nb::arg("codes").none(), nb::arg("offsets").none(), nb::arg("game_index").none(), nb::arg("ply").none(), nb::arg("size").none(), nb::arg("feature_set").none(), nb::arg("symmetries").none(),
          nb::arg("out").none(),  // an output buffer: never silently replaced by a converted copy (out_arg)
          nb::arg("threads").none() = 1,
          nb::sig("def encode_records(codes: numpy.ndarray[dtype=int16], offsets: numpy.ndarray[dtype=int64], "
                  "game_index: numpy.ndarray[dtype=int64], ply: numpy.ndarray[dtype=int64], size: int, "
                  "feature_set: str, symmetries: numpy.ndarray[dtype=int64], out: numpy.ndarray[dtype=float32], "
                  "threads: int = 1) -> None"),
          "Replays compact records natively and writes the planes of each (game, ply) position "
          "(threads > 1 splits the batch across native threads).");
    m.def("record_outcomes",
          [](nb::handle codes_h, nb::handle offsets_h, nb::handle size_h) {
              const int size = size_arg(size_h);
              auto codes = array_arg<Vector<int16_t>>(codes_h, "codes", "iu", "int16", 1,
                                                      "a 1-D array of int16 record codes");
              Vector<int64_t> offsets = int64_vector(offsets_h, "offsets");
              const int64_t num_games = check_offsets(offsets, (int64_t)codes.shape(0));
              const int64_t num_codes = (int64_t)codes.shape(0);
              const size_t area = (size_t)size * size;
              int8_t* own = new int8_t[num_games > 0 ? (size_t)num_games * area : 1];
              nb::capsule own_owner(own, [](void* p) noexcept { delete[] static_cast<int8_t*>(p); });
              float* mar = new float[num_games > 0 ? (size_t)num_games : 1];
              nb::capsule mar_owner(mar, [](void* p) noexcept { delete[] static_cast<float*>(p); });
              {
                  nb::gil_scoped_release release;
                  record_outcomes(codes.data(), num_codes, offsets.data(), num_games, size, own, mar);
              }
              return std::make_pair(nb::ndarray<nb::numpy, int8_t>(own, {(size_t)num_games, area}, own_owner),
                                    nb::ndarray<nb::numpy, float>(mar, {(size_t)num_games}, mar_owner));
          },
          nb::arg("codes").none(), nb::arg("offsets").none(), nb::arg("size").none(),
          nb::sig("def record_outcomes(codes: numpy.ndarray[dtype=int16], offsets: numpy.ndarray[dtype=int64], "
                  "size: int) -> tuple[numpy.ndarray[dtype=int8], numpy.ndarray[dtype=float32]]"),
          "Replays every record to its end: (ownership int8 [G, N*N], area margin float32 [G]); the "
          "Tromp-Taylor owner of each point from Black's view (+1 Black, -1 White, 0 neither) and "
          "Black's area minus White's, komi not included.");
}

}  // namespace komi
