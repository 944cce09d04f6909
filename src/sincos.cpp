// sincos_scaled: xsimd's double sin/cos over a span of angles, the last batch padded with zeros.
#include "detail/sincos.hpp"

#include <algorithm>

// GCC 12 warns inside its own AVX-512 intrinsics (_mm512_undefined_pd) as xsimd inlines them.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <xsimd/xsimd.hpp>

namespace posenc::detail {

void sincos_scaled(double x, const double* w, std::size_t n, double* s, double* c) {
  using B = xsimd::batch<double>;
  constexpr std::size_t S = B::size;
  const B scale(x);
  std::size_t i = 0;
  for (; i + S <= n; i += S) {
    const auto [sv, cv] = xsimd::sincos(scale * B::load_unaligned(w + i));
    sv.store_unaligned(s + i);
    cv.store_unaligned(c + i);
  }
  if (i == n) return;
  alignas(64) double wt[S] = {}, st[S], ct[S];
  std::copy(w + i, w + n, wt);
  const auto [sv, cv] = xsimd::sincos(scale * B::load_aligned(wt));
  sv.store_aligned(st);
  cv.store_aligned(ct);
  std::copy_n(st, n - i, s + i);
  std::copy_n(ct, n - i, c + i);
}

}  // namespace posenc::detail
