// Decimal numbers read fast and exactly: from_chars_double gives the same result as
// std::from_chars(first, last, double&) (the same value bits, end pointer and error) on every input,
// taking a short exact path for the common shape (where the CPU has AVX-512 VBMI, checked at run
// time) and std::from_chars for the rest.
//
// The short path: [-]digits[.digits][(e|E)[+-]digits] with at most 19 significant digits w and a
// decimal exponent q (value w 10^q) in [-27, 27]. Such a value is w 5^q 2^q, and 5^27 < 2^63:
//   q >= 0: w 5^q is an exact 128-bit integer, rounded once to 53 bits (ties to even);
//   q < 0:  w times a rounded-up 64-bit reciprocal of 5^-q gives the value within one unit of the
//           product's high word, which decides the rounding unless the dropped bits sit exactly at
//           the halfway point; then floor(w 2^s / 5^-q) by one 128 / 64-bit division, the remainder
//           as the sticky bit, rounded once to 53 bits (ties to even).
// Both are exact roundings of the true value, as std::from_chars (and strtod) are. The digits are
// read 32 bytes at a time, without branches on them (src/decimal.cpp). On the Tab-PET benchmark's
// table (17 significant digits, 6.4 M numbers) reading went from 225 to 176-177 ms (with the row
// parser of modalities/tabular/table.cpp; docs/performance.md).
#pragma once

#include <charconv>
#include <cstddef>

namespace posenc::detail {

/// std::from_chars(first, last, out) for double (general format): the same value bits, end and
/// error on every input; faster on plain decimals where the build has the short path.
std::from_chars_result from_chars_double(const char* first, const char* last, double& out);

/// Reads a run of delimited numbers: fields c = 0, 1, ... of [first, last), each a number the short
/// path takes (as from_chars_double would read it) followed directly by `delim`, or by `last` for
/// field n - 1, into out[c * stride]. Stops before the first field that is not of that shape (or
/// after n fields). Returns the number of fields read, with `next` where the next field starts
/// (after the last field's delimiter; `last` when all n were read). Without the short path it
/// reads nothing. One call per row replaces a chain of calls per field (the short path itself stays
/// one out-of-line call per number: inlined into the loop it measured slower).
std::size_t read_delimited(const char* first, const char* last, char delim, std::size_t n, double* out,
                           std::size_t stride, const char*& next);

/// The short path alone (for tests): the end of the number with its value in `out`, or nullptr when
/// it does not take the input (always nullptr without the short path).
const char* decimal_short_path(const char* first, const char* last, double& out);

/// Whether the short path runs here: an x86-64 build (GCC or Clang) on a CPU with AVX-512 VBMI.
bool decimal_short_path_enabled();

}  // namespace posenc::detail
