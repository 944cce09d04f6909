// A sum with a fixed, vectorisable order, for reductions whose result must not depend on the
// thread count or the instruction set.
#pragma once

#include <cstddef>
#include <cstring>

namespace posenc::detail {

/// sum_{c < d} f(c) over 8 partial sums (sum j takes c = j mod 8 of the whole groups of 8, the tail
/// goes to a ninth), added in a fixed order: one chain of dependent additions per lane instead of
/// d, so the compiler vectorises it at any width with the same result; the order depends on d
/// only (never on threads). T is the accumulator's type (float or double).
template <class T, class F>
T lane_sum(std::size_t d, F f) {
  T acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::size_t c = 0;
  for (; c + 8 <= d; c += 8)
    for (std::size_t j = 0; j < 8; ++j) acc[j] += f(c + j);
  T tail = 0;
  for (; c < d; ++c) tail += f(c);
  return (((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]))) + tail;
}

/// x[0] + ... + x[n-1] in float over 16 partial sums (sum j takes c = j mod 16 of the whole groups
/// of 16, the tail goes to a seventeenth), added in a fixed order. Written with the compilers'
/// 8-float vector type, so it is two vector additions per 16 values whatever the target (one
/// 256-bit register each, or two 128-bit halves: the same sums either way).
inline float lane_sum_floats(const float* x, std::size_t n) {
  typedef float v8 __attribute__((vector_size(32)));
  v8 a = {}, b = {};
  std::size_t c = 0;
  for (; c + 16 <= n; c += 16) {
    v8 u, v;
    std::memcpy(&u, x + c, sizeof u);
    std::memcpy(&v, x + c + 8, sizeof v);
    a += u;
    b += v;
  }
  float tail = 0;
  for (; c < n; ++c) tail += x[c];
  const v8 s = a + b;  // lanes j and j + 8
  return (((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]))) + tail;
}

}  // namespace posenc::detail
