// Vectorisable float kernels for the streaming softmax. Include only from the library's own
// sources: the inline kernels carry target options (wide_simd.hpp), and a translation unit built
// with other -m flags would define them differently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "detail/wide_simd.hpp"

namespace posenc::detail {

POSENC_WIDE_SIMD_BEGIN

/// The constants of the softmax exponential (exp_shift_sum and exp_shift_sum_rows): range
/// reduction v = fn ln2 + r and the degree-7 Taylor polynomial of e^r, coefficients highest first.
struct ExpConstants {
  static constexpr float log2e = 1.44269504088896341f;
  static constexpr float ln2_hi = 0.693145751953125f;  // ln 2 split in two for an exact fn ln2
  static constexpr float ln2_lo = 1.42860682030941723e-6f;
  static constexpr float round = 12582912.0f;  // 1.5 * 2^23: adding and subtracting it rounds
  static constexpr float lowest = -87.0f;      // arguments below give 0
  static constexpr float poly[8] = {1.0f / 5040.0f, 1.0f / 720.0f, 1.0f / 120.0f, 1.0f / 24.0f,
                                    1.0f / 6.0f,    0.5f,           1.0f,           1.0f};
};

/// e^(x - shift) in place for x <= shift (softmax rows after the running
/// maximum), returning the sum of the results. -inf and arguments below -87
/// give 0. Range reduction x = n ln2 + r with |r| <= ln2/2 and the degree-7
/// Taylor polynomial of e^r (truncation error < 6e-9 relative): within 2 ulp of
/// expf. Rounding to the nearest integer uses the 1.5 * 2^23 trick so that the
/// loop vectorises; the sum is a SIMD reduction whose order is fixed by the
/// build, never by the thread count.
POSENC_WIDE_KERNEL inline float exp_shift_sum(float* x, std::size_t n, float shift) {
  using C = ExpConstants;
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (std::size_t i = 0; i < n; ++i) {
    float v = x[i] - shift;
    const bool tiny = !(v >= C::lowest);  // also catches -inf and NaN-free masked entries
    v = tiny ? C::lowest : v;
    const float fn = (v * C::log2e + C::round) - C::round;
    const float r = (v - fn * C::ln2_hi) - fn * C::ln2_lo;
    float p = C::poly[0];
    for (int k = 1; k < 8; ++k) p = p * r + C::poly[k];
    const std::int32_t bits = (static_cast<std::int32_t>(fn) + 127) << 23;
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    const float e = tiny ? 0.0f : p * scale;
    x[i] = e;
    sum += e;
  }
  return sum;
}

/// exp_shift_sum over `rows` rows of x (row i at x + i stride, its first n entries, shifted by
/// shift[i]) into sums[i]: the same reduction and polynomial (ExpConstants), so each value is
/// within 1 ulp of one call per row (the AVX-512 form scales by 2^fn with scalef) and within 2 ulp
/// of e^x. One call for a block of rows keeps the vector units busy across the rows' ends (a row
/// of 256 is only sixteen 512-bit steps, and a call per row drains the pipeline and reduces the
/// sum each time).
POSENC_WIDE_KERNEL inline void exp_shift_sum_rows(float* x, std::size_t rows, std::size_t n, std::size_t stride,
                                                  const float* shift, float* sums) {
#if defined(__AVX512F__)
  using C = ExpConstants;
  const __m512 log2e = _mm512_set1_ps(C::log2e), round = _mm512_set1_ps(C::round);
  const __m512 ln2_hi = _mm512_set1_ps(C::ln2_hi), ln2_lo = _mm512_set1_ps(C::ln2_lo);
  const __m512 lowest = _mm512_set1_ps(C::lowest);
  __m512 c[8];
  for (int k = 0; k < 8; ++k) c[k] = _mm512_set1_ps(C::poly[k]);
  for (std::size_t row = 0; row < rows; ++row) {
    float* xr = x + row * stride;
    const __m512 s = _mm512_set1_ps(shift[row]);
    __m512 acc = _mm512_setzero_ps();
    for (std::size_t i = 0; i < n; i += 16) {
      const __mmask16 in = n - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - i)) - 1u);
      const __m512 v = _mm512_sub_ps(_mm512_maskz_loadu_ps(in, xr + i), s);
      const __mmask16 keep = _mm512_mask_cmp_ps_mask(in, v, lowest, _CMP_GE_OQ);  // -87 and up, not NaN
      const __m512 fn = _mm512_sub_ps(_mm512_fmadd_ps(v, log2e, round), round);
      const __m512 r = _mm512_fnmadd_ps(fn, ln2_lo, _mm512_fnmadd_ps(fn, ln2_hi, v));
      __m512 p = c[0];
      for (int k = 1; k < 8; ++k) p = _mm512_fmadd_ps(p, r, c[k]);
      const __m512 e = _mm512_maskz_scalef_ps(keep, p, fn);  // p 2^fn in one step, 0 where not kept
      _mm512_mask_storeu_ps(xr + i, in, e);
      acc = _mm512_add_ps(acc, e);
    }
    // Lanes summed by halves (the zero-masked forms: GCC 12 warns inside its own header about the
    // unmasked ones' undefined source, _mm512_reduce_add_ps's too).
    const __mmask16 all = 0xffff;
    acc = _mm512_add_ps(acc, _mm512_maskz_shuffle_f32x4(all, acc, acc, 0x4E));
    acc = _mm512_add_ps(acc, _mm512_maskz_shuffle_f32x4(all, acc, acc, 0xB1));
    acc = _mm512_add_ps(acc, _mm512_maskz_permute_ps(all, acc, 0x4E));
    acc = _mm512_add_ps(acc, _mm512_maskz_permute_ps(all, acc, 0xB1));
    sums[row] = _mm512_cvtss_f32(acc);
  }
#else
  for (std::size_t row = 0; row < rows; ++row) sums[row] = exp_shift_sum(x + row * stride, n, shift[row]);
#endif
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
