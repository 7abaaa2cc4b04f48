// Helpers shared by the binding files: error classes from envs.go.errors and argument checks.
//
// Every bound function takes its arguments as Python objects and converts them with the *_arg
// helpers below (bind_args.cpp), so that a hostile argument (a wrong type, a number out of
// range, NaN, an array of the wrong dtype or shape) raises a one-line GoError naming it before
// anything is allocated or changed; a wrong type raises its subclass ArgumentTypeError, which
// is also a TypeError. std::invalid_argument thrown anywhere in the core becomes GoError
// (module.cpp).
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <cstdint>
#include <string>

#include "board.h"

namespace komi {

namespace nb = nanobind;

// The Python class envs.go.errors.<name> (imported once, kept for the life of the process).
PyObject* error_class(const char* name);

// GTP vertex of a move index ("D4", "pass"), for messages.
std::string gtp_vertex(int move, int size);

// Raises envs.go.errors.IllegalMove for `status` of `move` by `color`.
[[noreturn]] void raise_illegal(const Board& board, int move, int color, int status);

// Raises IllegalMove ("out of range") for a move given as a Python integer of any size.
[[noreturn]] void raise_out_of_range(const Board& board, nb::handle move);

// Checks a colour argument (+1 / -1); None means the side to move.
int color_arg(const Board& board, nb::handle color);

// ---- argument checks (bind_args.cpp); `what` names the argument in the message
[[noreturn]] void bad_value(const std::string& message);   // GoError
[[noreturn]] void bad_type(const std::string& message);    // ArgumentTypeError (GoError, TypeError)
// A short description of a Python object for messages: "float nan", "str 'x'", "list", "ndarray
// of float64 with shape (3,)".
std::string describe(nb::handle h);
// An integer (int, numpy integer; not bool, not float) in [lo, hi].
int64_t int_arg(nb::handle h, const char* what, int64_t lo, int64_t hi);
// An integer of any size: its value saturated to int64, *overflow set when it did not fit.
int64_t int_value(nb::handle h, const char* what, bool* overflow);
// An integer in 0..2^64-1.
uint64_t seed_arg(nb::handle h, const char* what);
// A finite number (int or float, not bool) in [lo, hi]; `range` words the bounds in messages
// (default "lo..hi").
double float_arg(nb::handle h, const char* what, double lo, double hi, const char* range = nullptr);
// True / False (numpy bools and the integers 0 / 1 too).
bool bool_arg(nb::handle h, const char* what);
// A str (valid UTF-8).
std::string str_arg(nb::handle h, const char* what);
// An envs.go.Board (the reference lives as long as `h`).
const Board& board_arg(nb::handle h, const char* what);

// numpy.asarray(h) for a list, tuple or array-like whose dtype kind is one of `kinds` ("iu",
// "f", ...; an empty one of any numeric kind passes); anything else raises naming `want`.
nb::object as_numpy_array(nb::handle h, const char* what, const char* kinds, const char* want);
// arr with `ndim` dimensions as a C-contiguous array of `dtype` ("int64", "float32", ...);
// an integer value that the conversion would change raises.
nb::object to_dtype(nb::handle arr, const char* what, const char* dtype, const char* want, int ndim);

// An input array: the ndarray type Array (const T, fixed ndim, C-contiguous, CPU) from an array
// that is one already (no copy), else converted from a list or an array of an allowed kind.
template <class Array>
Array array_arg(nb::handle h, const char* what, const char* kinds, const char* dtype, int ndim,
                const char* want) {
    Array a;
    if (nb::try_cast(h, a, false)) return a;
    nb::object conv = to_dtype(as_numpy_array(h, what, kinds, want), what, dtype, want, ndim);
    if (!nb::try_cast(conv, a, false)) bad_type(std::string(what) + " must be " + want + ", got " + describe(h));
    return a;
}

// An output array: exactly the ndarray type Array (writeable, dtype, ndim, C-contiguous); never
// a converted copy, which would receive the results in the caller's stead.
template <class Array>
Array out_arg(nb::handle h, const char* what, const char* want) {
    Array a;
    if (!nb::try_cast(h, a, false)) bad_type(std::string(what) + " must be " + want + ", got " + describe(h));
    return a;
}

void bind_board(nb::module_& m);
void bind_features(nb::module_& m);
void bind_search(nb::module_& m);

}  // namespace komi
