// Helpers shared by the binding files: error classes from envs.go.errors and small checks.
#pragma once

#include <nanobind/nanobind.h>

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

// Checks a colour argument (+1 / -1); None means the side to move.
int color_arg(const Board& board, nb::handle color);

void bind_board(nb::module_& m);
void bind_features(nb::module_& m);
void bind_search(nb::module_& m);

}  // namespace komi
