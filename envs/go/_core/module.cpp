// Python bindings of the native core: the only place nanobind is used (bind_*.cpp).
#include <nanobind/nanobind.h>

#include <stdexcept>

#include "bind_util.h"

namespace nb = nanobind;

NB_MODULE(_core, m) {
    m.doc() = "komi native core: Go rules, feature planes, batched tree search";
    m.attr("__version__") = "0.1.0";
    // Bad arguments detected in C++ surface as envs.go.errors.GoError (a ValueError and KomiError).
    nb::register_exception_translator([](const std::exception_ptr& p, void*) {
        try {
            std::rethrow_exception(p);
        } catch (const std::invalid_argument& e) {
            PyErr_SetString(komi::error_class("GoError"), e.what());
        }
    });
    komi::bind_board(m);
    komi::bind_features(m);
    komi::bind_search(m);
}
