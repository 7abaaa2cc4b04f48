// Python bindings of the native core: the only place nanobind is used.
#include <nanobind/nanobind.h>

namespace nb = nanobind;

NB_MODULE(_core, m) {
    m.doc() = "komi native core: Go rules, feature planes, batched tree search";
    m.attr("__version__") = "0.1.0";
}
