// sin and cos of many double angles at once (SIMD), for the tables that evaluate them directly.
#pragma once

#include <cstddef>

namespace posenc::detail {

/// s[i] = sin(x * w[i]), c[i] = cos(x * w[i]) for i < n, in double (xsimd's range reduction and
/// polynomials: within about 1 ulp of libm; Cody-Waite reduction up to |angle| ~ 8.2e5 = 2^19 pi/2,
/// fdlibm's rem_pio2 beyond). The SIMD batches start at w[0], and a batch's reduction path depends
/// on all of its lanes, so a value can differ in its last double bit with its batch neighbours
/// (rarely visible after rounding to float). A caller that wants results independent of the thread
/// count passes spans whose starts are fixed by the data (e.g. multiples of 64), never by how the
/// work is split. w, s and c need no alignment.
void sincos_scaled(double x, const double* w, std::size_t n, double* s, double* c);

}  // namespace posenc::detail
