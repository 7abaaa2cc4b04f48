// Argument checks of the bindings (bind_util.h): every argument arrives as a Python object and
// is converted here, so that a wrong type, a number out of range or a bad array raises a
// one-line GoError naming the argument, before anything is allocated or changed.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <climits>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "bind_util.h"

namespace komi {

namespace {

PyObject* numpy_module() {
    // Leaked on purpose, like error_class(): it must outlive every call.
    static PyObject* np = nb::module_::import_("numpy").release().ptr();
    return np;
}

// A Python error raised while an argument is converted (a hostile __index__, numpy refusing a
// ragged list) becomes a GoError naming the argument; KeyboardInterrupt and the like pass.
[[noreturn]] void rethrow_as_bad(const std::string& what) {
    if (!PyErr_Occurred()) bad_type(what);
    if (!PyErr_ExceptionMatches(PyExc_Exception)) throw nb::python_error();
    nb::python_error err;   // fetches and clears the error
    std::string msg = err.what();
    const size_t nl = msg.find('\n');
    if (nl != std::string::npos) msg.resize(nl);
    if (msg.size() > 200) msg = msg.substr(0, 200) + "...";
    bad_type(what + " (" + msg + ")");
}

std::string format_number(double x) {
    if (std::isnan(x)) return "nan";
    if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.10g", x);
    return buf;
}

bool is_bool(nb::handle h) {
    if (PyBool_Check(h.ptr())) return true;
    const char* name = Py_TYPE(h.ptr())->tp_name;
    return std::string(name) == "numpy.bool" || std::string(name) == "numpy.bool_";
}

}  // namespace

void bad_value(const std::string& message) { throw std::invalid_argument(message); }

void bad_type(const std::string& message) {
    static PyObject* cls = error_class("ArgumentTypeError");
    PyErr_SetString(cls, message.c_str());
    throw nb::python_error();
}

namespace {

std::string describe_object(nb::handle h) {
    PyObject* o = h.ptr();
    if (o == Py_None) return "None";
    std::string type = Py_TYPE(o)->tp_name;
    if (PyBool_Check(o)) return o == Py_True ? "True" : "False";
    if (PyFloat_Check(o)) return "float " + format_number(PyFloat_AsDouble(o));
    if (PyLong_Check(o)) {
        int overflow = 0;
        const long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
        if (PyErr_Occurred()) PyErr_Clear();
        if (!overflow) return std::to_string(v);
        // Digits only for a number of reasonable length (str() of a huge int is slow or refused).
        nb::object bits = nb::steal(PyObject_CallMethod(o, "bit_length", nullptr));
        const long long nbits = bits.is_valid() ? PyLong_AsLongLong(bits.ptr()) : -1;
        if (PyErr_Occurred()) PyErr_Clear();
        if (nbits >= 0 && nbits <= 256) {
            nb::object text = nb::steal(PyObject_Str(o));
            if (text.is_valid()) return nb::str(text).c_str();
            PyErr_Clear();
        }
        return std::string(overflow > 0 ? "a positive" : "a negative") + " integer of " + std::to_string(nbits) + " bits";
    }
    if (PyUnicode_Check(o)) {
        Py_ssize_t n = PyUnicode_GetLength(o);
        return n > 40 ? "a str of " + std::to_string(n) + " characters" : "str " + std::string(nb::str(nb::repr(h)).c_str());
    }
    nb::object shape = nb::steal(PyObject_GetAttrString(o, "shape"));
    nb::object dtype = nb::steal(PyObject_GetAttrString(o, "dtype"));
    if (PyErr_Occurred()) PyErr_Clear();
    if (shape.is_valid() && dtype.is_valid() && PyTuple_Check(shape.ptr())) {
        std::string s = "(";
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(shape.ptr()); ++i) {
            nb::handle d = PyTuple_GET_ITEM(shape.ptr(), i);
            s += (i ? ", " : "") + std::string(nb::str(d).c_str());
        }
        if (PyTuple_GET_SIZE(shape.ptr()) == 1) s += ",";
        s += ")";
        nb::object dstr = nb::steal(PyObject_Str(dtype.ptr()));
        if (!dstr.is_valid()) { PyErr_Clear(); return type; }
        return std::string(type) + " of " + nb::str(dstr).c_str() + " with shape " + s;
    }
    return type;
}

}  // namespace

std::string describe(nb::handle h) {
    // An error being raised (describe() builds its message) is kept, whatever happens here.
    nb::error_scope scope;
    return describe_object(h);
}

int64_t int_arg(nb::handle h, const char* what, int64_t lo, int64_t hi) {
    bool overflow = false;
    const int64_t v = int_value(h, what, &overflow);
    if (overflow || v < lo || v > hi)
        bad_value(std::string(what) + " must be in " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " +
                  describe(h));
    return v;
}

int64_t int_value(nb::handle h, const char* what, bool* overflow) {
    PyObject* o = h.ptr();
    if (PyLong_CheckExact(o)) {   // the common case, without a new reference
        int of = 0;
        const long long v = PyLong_AsLongLongAndOverflow(o, &of);
        *overflow = of != 0;
        return of > 0 ? INT64_MAX : (of < 0 ? INT64_MIN : (int64_t)v);
    }
    if (is_bool(o) || !(PyLong_Check(o) || PyIndex_Check(o)))
        bad_type(std::string(what) + " must be an integer, got " + describe(h));
    nb::object index = nb::steal(PyNumber_Index(o));
    if (!index.is_valid()) rethrow_as_bad(std::string(what) + " must be an integer, got " + describe(h));
    int of = 0;
    const long long v = PyLong_AsLongLongAndOverflow(index.ptr(), &of);
    if (v == -1 && PyErr_Occurred()) rethrow_as_bad(std::string(what) + " must be an integer");
    *overflow = of != 0;
    return of > 0 ? INT64_MAX : (of < 0 ? INT64_MIN : (int64_t)v);
}

uint64_t seed_arg(nb::handle h, const char* what) {
    PyObject* o = h.ptr();
    if (is_bool(o) || !(PyLong_Check(o) || PyIndex_Check(o)))
        bad_type(std::string(what) + " must be an integer, got " + describe(h));
    nb::object index = nb::steal(PyNumber_Index(o));
    if (!index.is_valid()) rethrow_as_bad(std::string(what) + " must be an integer, got " + describe(h));
    const unsigned long long v = PyLong_AsUnsignedLongLong(index.ptr());
    if (v == (unsigned long long)-1 && PyErr_Occurred()) {
        PyErr_Clear();
        bad_value(std::string(what) + " must be in 0..2^64-1, got " + describe(h));
    }
    return (uint64_t)v;
}

double float_arg(nb::handle h, const char* what, double lo, double hi, const char* range) {
    const std::string in = range ? std::string(range) : format_number(lo) + ".." + format_number(hi);
    PyObject* o = h.ptr();
    if (is_bool(o) || PyUnicode_Check(o) || PyBytes_Check(o) ||
        !(PyFloat_Check(o) || PyLong_Check(o) || PyIndex_Check(o) || (Py_TYPE(o)->tp_as_number &&
                                                                     Py_TYPE(o)->tp_as_number->nb_float)))
        bad_type(std::string(what) + " must be a number, got " + describe(h));
    const double v = PyFloat_AsDouble(o);
    if (v == -1.0 && PyErr_Occurred()) {
        if (PyErr_ExceptionMatches(PyExc_OverflowError)) {
            PyErr_Clear();
            bad_value(std::string(what) + " must be a finite number in " + in + ", got " + describe(h));
        }
        rethrow_as_bad(std::string(what) + " must be a number, got " + describe(h));
    }
    if (!std::isfinite(v) || v < lo || v > hi)
        bad_value(std::string(what) + " must be a finite number in " + in + ", got " + format_number(v));
    return v;
}

bool bool_arg(nb::handle h, const char* what) {
    PyObject* o = h.ptr();
    if (o == Py_True) return true;
    if (o == Py_False) return false;
    if (is_bool(o)) return PyObject_IsTrue(o) == 1;
    if (PyLong_Check(o)) {
        bool overflow = false;
        const int64_t v = int_value(h, what, &overflow);
        if (!overflow && (v == 0 || v == 1)) return v == 1;
    }
    bad_type(std::string(what) + " must be True or False, got " + describe(h));
}

std::string str_arg(nb::handle h, const char* what) {
    if (!PyUnicode_Check(h.ptr())) bad_type(std::string(what) + " must be a str, got " + describe(h));
    Py_ssize_t n = 0;
    const char* s = PyUnicode_AsUTF8AndSize(h.ptr(), &n);
    if (!s) rethrow_as_bad(std::string(what) + " must be a valid str");
    return std::string(s, (size_t)n);
}

const Board& board_arg(nb::handle h, const char* what) {
    if (!nb::isinstance<Board>(h)) bad_type(std::string(what) + " must be an envs.go.Board, got " + describe(h));
    return nb::cast<const Board&>(h);
}

nb::object as_numpy_array(nb::handle h, const char* what, const char* kinds, const char* want) {
    // Only materialised data is converted: numpy arrays, lists and tuples, objects with __array__
    // (a torch tensor). An iterator or a range might stand for more than memory holds.
    PyObject* o = h.ptr();
    const bool listlike = PyList_Check(o) || PyTuple_Check(o);
    int has_array = 0;
    if (!listlike) {
        has_array = PyObject_HasAttrString(o, "__array__") || PyObject_HasAttrString(o, "__array_interface__");
        if (PyErr_Occurred()) PyErr_Clear();
    }
    if (!listlike && !has_array)
        bad_type(std::string(what) + " must be " + want + ", got " + describe(h));
    nb::object arr = nb::steal(PyObject_CallMethod(numpy_module(), "asarray", "(O)", o));
    if (!arr.is_valid()) rethrow_as_bad(std::string(what) + " must be " + want);
    nb::object size = nb::steal(PyObject_GetAttrString(arr.ptr(), "size"));
    nb::object kind = nb::steal(PyObject_GetAttrString(nb::steal(PyObject_GetAttrString(arr.ptr(), "dtype")).ptr(),
                                                        "kind"));
    if (!size.is_valid() || !kind.is_valid()) rethrow_as_bad(std::string(what) + " must be " + want);
    const std::string k = nb::str(kind).c_str();
    const bool empty = PyLong_AsLongLong(size.ptr()) == 0 && std::string("fiub").find(k) != std::string::npos;
    if (!empty && std::string(kinds).find(k) == std::string::npos)
        bad_type(std::string(what) + " must be " + want + ", got " + describe(arr));
    return arr;
}

nb::object to_dtype(nb::handle arr, const char* what, const char* dtype, const char* want, int ndim) {
    nb::object nd = nb::steal(PyObject_GetAttrString(arr.ptr(), "ndim"));
    if (!nd.is_valid()) rethrow_as_bad(std::string(what) + " must be " + want);
    if (PyLong_AsLong(nd.ptr()) != ndim) bad_value(std::string(what) + " must be " + want + ", got " + describe(arr));
    nb::object conv = nb::steal(PyObject_CallMethod(numpy_module(), "ascontiguousarray", "Os", arr.ptr(), dtype));
    if (!conv.is_valid()) rethrow_as_bad(std::string(what) + " must be " + want);
    if (dtype[0] == 'f') return conv;   // precision may go; the consumer checks finiteness
    // A narrowing conversion must not change a value (int64 codes of 40000 are no int16 codes).
    nb::object same = nb::steal(PyObject_CallMethod(numpy_module(), "array_equal", "OO", conv.ptr(), arr.ptr()));
    if (!same.is_valid()) rethrow_as_bad(std::string(what) + " must be " + want);
    if (same.ptr() != Py_True && !PyObject_IsTrue(same.ptr()))
        bad_value(std::string(what) + " has values outside the range of " + dtype);
    return conv;
}

}  // namespace komi
