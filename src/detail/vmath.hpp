// Vectorisable float kernels for the streaming softmax. Include only from the library's own
// sources: the inline kernels carry target options (wide_simd.hpp), and a translation unit built
// with other -m flags would define them differently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "detail/wide_simd.hpp"

namespace posenc::detail {

POSENC_WIDE_SIMD_BEGIN

/// e^(x - shift) in place for x <= shift (softmax rows after the running
/// maximum), returning the sum of the results. -inf and arguments below -87
/// give 0. Range reduction x = n ln2 + r with |r| <= ln2/2 and the degree-7
/// Taylor polynomial of e^r (truncation error < 6e-9 relative): within 2 ulp of
/// expf. Rounding to the nearest integer uses the 1.5 * 2^23 trick so that the
/// loop vectorises; the sum is a SIMD reduction whose order is fixed by the
/// build, never by the thread count.
POSENC_WIDE_KERNEL inline float exp_shift_sum(float* x, std::size_t n, float shift) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693145751953125f;  // ln 2 split in two for an exact n*ln2
  constexpr float kLn2Lo = 1.42860682030941723e-6f;
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (std::size_t i = 0; i < n; ++i) {
    float v = x[i] - shift;
    const bool tiny = !(v >= -87.0f);  // also catches -inf and NaN-free masked entries
    v = tiny ? -87.0f : v;
    const float fn = (v * kLog2e + kRound) - kRound;
    const float r = (v - fn * kLn2Hi) - fn * kLn2Lo;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    const std::int32_t bits = (static_cast<std::int32_t>(fn) + 127) << 23;
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    const float e = tiny ? 0.0f : p * scale;
    x[i] = e;
    sum += e;
  }
  return sum;
}

/// e^x for one value x <= 0.
inline float exp_nonpositive(float x) {
  float v = x;
  exp_shift_sum(&v, 1, 0.0f);
  return v;
}

/// Largest element of x[0..n) and `start` (a SIMD reduction).
POSENC_WIDE_KERNEL inline float max_of(const float* x, std::size_t n, float start) {
  float m = start;
#pragma omp simd reduction(max : m)
  for (std::size_t i = 0; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

POSENC_WIDE_SIMD_END

}  // namespace posenc::detail
