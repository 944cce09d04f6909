// Real spherical harmonics by the normalised (Schaeffer 2013) recurrence, vectorised across
// blocks of points, into a fresh tensor or a caller's buffer. Formulas: include/posenc/sphere.hpp.
//
// Layout of the work: points go in blocks of kLanes = 16; every step of the recurrence runs
// across the lanes (with AVX-512: two registers of doubles). The AVX-512 path stores each (l, m)
// value for the 16 lanes as a column of floats, transposes the block 16 x 16 into rows in L1 and
// copies them out, with non-temporal stores when the output is large (8 MiB or more: then it is
// far larger than the caches, and this saves the read-for-ownership of every output line). The
// last block is padded with copies of its last point, so every point takes the same instruction
// path whatever the thread count (bitwise-deterministic results).
//
// High degree: pbar_m^m ~ sin(theta)^m underflows double for m of a few hundred near the poles
// although pbar_l^m for larger l can be of order one again. Above kScaledDegree the recurrence
// therefore carries, per lane, a power-of-two scale 2^(-600 k): pbar_m^m is multiplied by 2^600
// whenever it drops below 2^-600 (k += 1), and the column is multiplied by 2^-600 whenever it
// exceeds 2^600 while k > 0 (k -= 1); values are stored times 2^(-600 k), which is 0 in float
// for k >= 2 (a scaled value is at most 2^600). Powers of two are exact, so nothing else
// changes. At or below kScaledDegree the plain recurrence cannot lose a value that float32 can
// hold (the column grows by at most ~(2 sqrt L)^L from its diagonal).
#ifdef __AVX512F__
#include <immintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <numbers>
#include <span>
#include <vector>

// GCC 12 warns inside its own AVX-512 intrinsics (_mm512_undefined_pd) as xsimd inlines them.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <xsimd/xsimd.hpp>

#include "detail/check.hpp"
#include "detail/latlon.hpp"  // check_latlon_points
#include "detail/memory.hpp"
#include "detail/stream_store.hpp"
#include "posenc/sphere.hpp"

namespace posenc {

namespace {

constexpr double kDeg = std::numbers::pi / 180.0;
constexpr std::size_t kLanes = 16;
constexpr std::int64_t kScaledDegree = 128;
constexpr double kBig = 0x1p600, kSmall = 0x1p-600;

/// Per-degree and per-order constants, flattened for the kernel: for order m, the column
/// l = m + 2 .. L-1 reads a[off(m) + l - m - 2], b[...]; diag[m] = pbar_m^m / (u pbar_{m-1}^{m-1}).
struct Constants {
  std::size_t L;
  std::vector<double> a, b, diag, first;
  std::vector<std::size_t> off;
  explicit Constants(std::size_t degree) : L(degree), diag(degree), first(degree), off(degree + 1, 0) {
    // detail::NormalisedLegendre's coefficients (detail/latlon.hpp), stored per order so that the
    // kernel reads them in sequence; built directly, without its triangle tables.
    const std::size_t pairs = L > 1 ? (L - 1) * (L - 2) / 2 + (L - 1) : 0;
    a.reserve(pairs);
    b.reserve(pairs);
    for (std::size_t m = 0; m < L; ++m) {
      diag[m] = detail::legendre_diag(m);
      first[m] = detail::legendre_first(m);
      for (std::size_t l = m + 2; l < L; ++l) {
        a.push_back(detail::legendre_a(l, m));
        b.push_back(detail::legendre_b(l, m));
      }
      off[m + 1] = a.size();
    }
  }
};

/// The kernel's per-thread working memory for one block.
struct Block {
  // scale, cscale: the exponent count k of pmm and of the column (a whole number; scaled path only)
  std::vector<double> x, u, c1, s1, cm, sm, pmm, scale, cscale, pl;
  // The AVX-512 path only: rows [kLanes][L^2] assembled here, then copied out, from
  // cols [L^2 rounded up to 16][kLanes] (+ 16 floats for alignment).
  std::vector<float> rows, cols;
  Block(std::size_t L, std::size_t width, bool transposed)
      : x(kLanes), u(kLanes), c1(kLanes), s1(kLanes), cm(kLanes), sm(kLanes), pmm(kLanes), scale(kLanes),
        cscale(kLanes), pl(kLanes * (L + 2)), rows(transposed ? kLanes * width : 0),
        cols(transposed ? ((width + 15) / 16 * 16 + 1) * kLanes : 0) {}
  /// The 64-byte aligned start of cols.
  float* columns() {
    const auto a = reinterpret_cast<std::uintptr_t>(cols.data());
    return cols.data() + ((64 - a % 64) % 64) / sizeof(float);
  }
};

/// x = cos(theta), u = sin(theta) >= 0 and cos, sin of the azimuth for the block's lanes.
void block_angles(const DTensor& points, std::size_t i0, std::size_t nb, bool le, Block& w) {
  using batch = xsimd::batch<double>;
  constexpr std::size_t S = batch::size;
  alignas(64) double lat[kLanes], az[kLanes];
  for (std::size_t b = 0; b < kLanes; ++b) {
    const std::size_t i = i0 + std::min(b, nb - 1);  // padding lanes repeat the last point
    lat[b] = points(i, 1) * kDeg;
    az[b] = (le ? points(i, 0) + 180.0 : points(i, 0)) * kDeg;
  }
  for (std::size_t b = 0; b < kLanes; b += S) {
    // x = cos(theta): locationencoder theta = lat + 90 deg -> -sin(lat); colatitude -> sin(lat).
    const auto [sl, cl] = xsimd::sincos(batch::load_aligned(lat + b));
    (le ? -sl : sl).store_unaligned(w.x.data() + b);
    cl.store_unaligned(w.u.data() + b);  // = sqrt((1-x)(1+x)) >= 0
    const auto [sa, ca] = xsimd::sincos(batch::load_aligned(az + b));
    ca.store_unaligned(w.c1.data() + b);
    sa.store_unaligned(w.s1.data() + b);
  }
}

/// Column l = m .. L-1 of pbar_l^m for all lanes into w.pl ([l - m][lane]), from w.pmm.
template <bool kScaled>
void block_column(const Constants& k, std::size_t m, Block& w) {
  const std::size_t L = k.L;
  double* pl = w.pl.data();
  const double* x = w.x.data();
  for (std::size_t b = 0; b < kLanes; ++b) pl[b] = w.pmm[b];
  if (m + 1 < L)
    for (std::size_t b = 0; b < kLanes; ++b) pl[kLanes + b] = k.first[m] * x[b] * w.pmm[b];
  const double* ca = k.a.data() + k.off[m];
  const double* cb = k.b.data() + k.off[m];
  if constexpr (kScaled) std::copy(w.scale.begin(), w.scale.end(), w.cscale.begin());
  for (std::size_t l = m + 2; l < L; ++l) {
    const double a = ca[l - m - 2], bb = cb[l - m - 2];
    double* p1 = pl + (l - m - 1) * kLanes;
    double* p2 = pl + (l - m - 2) * kLanes;
    double* p0 = pl + (l - m) * kLanes;
    for (std::size_t b = 0; b < kLanes; ++b) p0[b] = a * (x[b] * p1[b] - bb * p2[b]);
    if constexpr (kScaled) {
      // A lane still carrying a scale whose value has grown large: move one 2^600 from every
      // value of its column so far (all are stored with the column's final scale) into the scale.
      for (std::size_t b = 0; b < kLanes; ++b)
        if (w.cscale[b] > 0 && std::abs(p0[b]) > kBig) {
          w.cscale[b] -= 1;
          for (std::size_t j = 0; j <= l - m; ++j) pl[j * kLanes + b] *= kSmall;
        }
    }
  }
}

/// The block's L^2 values per real lane (b < nb) into rows (row-major [lane][c]).
template <bool kScaled>
void block_values(const Constants& k, const DTensor& points, std::size_t i0, std::size_t nb,
                  const SphericalHarmonicsOptions& o, Block& w, float* rows) {
  const std::size_t L = k.L, width = L * L;
  const bool le = o.convention == SphericalConvention::locationencoder;
  block_angles(points, i0, nb, le, w);
  for (std::size_t b = 0; b < kLanes; ++b) w.cm[b] = 1.0, w.sm[b] = 0.0, w.pmm[b] = 1.0, w.scale[b] = 0.0;
  for (std::size_t m = 0; m < L; ++m) {
    if (m > 0)
      for (std::size_t b = 0; b < kLanes; ++b) {  // cos(m az), sin(m az) by angle addition
        const double c = w.cm[b] * w.c1[b] - w.sm[b] * w.s1[b];
        w.sm[b] = w.sm[b] * w.c1[b] + w.cm[b] * w.s1[b];
        w.cm[b] = c;
      }
    for (std::size_t b = 0; b < kLanes; ++b) w.pmm[b] = k.diag[m] * (m == 0 ? 1.0 : w.u[b]) * w.pmm[b];
    if constexpr (kScaled)
      for (std::size_t b = 0; b < kLanes; ++b)
        if (w.pmm[b] != 0 && std::abs(w.pmm[b]) < kSmall) w.pmm[b] *= kBig, w.scale[b] += 1;
    block_column<kScaled>(k, m, w);
    const double sign = m == 0 ? 1.0 : ((o.cs_phase && (m % 2 == 1)) ? -std::numbers::sqrt2 : std::numbers::sqrt2);
    const double* pl = w.pl.data();
    for (std::size_t b = 0; b < nb; ++b) {
      float* row = rows + b * width;
      // 2^(-600 k): 1, 2^-600, or 0 in float for k >= 2.
      const double f = !kScaled || w.cscale[b] == 0 ? 1.0 : (w.cscale[b] == 1 ? kSmall : 0.0);
      const double s = sign * f;
      const double cv = s * w.cm[b], sv = s * w.sm[b];
      for (std::size_t l = m; l < L; ++l) {
        const double p = pl[(l - m) * kLanes + b];
        const std::size_t centre = l * l + l;
        if (m == 0) {
          row[centre] = static_cast<float>(kScaled ? p * f : p);
        } else {
          row[centre + m] = static_cast<float>(p * cv);
          row[centre - m] = static_cast<float>(p * sv);
        }
      }
    }
  }
}

#ifdef __AVX512F__
/// Transposes the 16 x 16 floats t[j][b] (rows 64 bytes apart from t) into dst[b * stride + j],
/// writing only j < cols: unpack 32-bit pairs, then 64-bit pairs, then a 4 x 4 shuffle of the
/// 128-bit lanes.
void transpose_16x16(const float* t, float* dst, std::size_t stride, std::size_t cols) {
  __m512 a[16], c[16];
  for (int i = 0; i < 8; ++i) {
    const __m512 r0 = _mm512_load_ps(t + 32 * i), r1 = _mm512_load_ps(t + 32 * i + 16);
    a[2 * i] = _mm512_unpacklo_ps(r0, r1);
    a[2 * i + 1] = _mm512_unpackhi_ps(r0, r1);
  }
  // c[4 r + g]: in 128-bit lane q, column 4q + r of rows 4g .. 4g + 3.
  for (int g = 0; g < 4; ++g) {
    const __m512d lo0 = _mm512_castps_pd(a[4 * g]), lo1 = _mm512_castps_pd(a[4 * g + 2]);
    const __m512d hi0 = _mm512_castps_pd(a[4 * g + 1]), hi1 = _mm512_castps_pd(a[4 * g + 3]);
    c[0 + g] = _mm512_castpd_ps(_mm512_unpacklo_pd(lo0, lo1));
    c[4 + g] = _mm512_castpd_ps(_mm512_unpackhi_pd(lo0, lo1));
    c[8 + g] = _mm512_castpd_ps(_mm512_unpacklo_pd(hi0, hi1));
    c[12 + g] = _mm512_castpd_ps(_mm512_unpackhi_pd(hi0, hi1));
  }
  const auto mask = static_cast<__mmask16>((1u << cols) - 1u);
  for (int r = 0; r < 4; ++r) {
    const __m512 u0 = _mm512_shuffle_f32x4(c[4 * r], c[4 * r + 1], _MM_SHUFFLE(1, 0, 1, 0));
    const __m512 u1 = _mm512_shuffle_f32x4(c[4 * r], c[4 * r + 1], _MM_SHUFFLE(3, 2, 3, 2));
    const __m512 u2 = _mm512_shuffle_f32x4(c[4 * r + 2], c[4 * r + 3], _MM_SHUFFLE(1, 0, 1, 0));
    const __m512 u3 = _mm512_shuffle_f32x4(c[4 * r + 2], c[4 * r + 3], _MM_SHUFFLE(3, 2, 3, 2));
    _mm512_mask_storeu_ps(dst + (0 + r) * stride, mask, _mm512_shuffle_f32x4(u0, u2, _MM_SHUFFLE(2, 0, 2, 0)));
    _mm512_mask_storeu_ps(dst + (4 + r) * stride, mask, _mm512_shuffle_f32x4(u0, u2, _MM_SHUFFLE(3, 1, 3, 1)));
    _mm512_mask_storeu_ps(dst + (8 + r) * stride, mask, _mm512_shuffle_f32x4(u1, u3, _MM_SHUFFLE(2, 0, 2, 0)));
    _mm512_mask_storeu_ps(dst + (12 + r) * stride, mask, _mm512_shuffle_f32x4(u1, u3, _MM_SHUFFLE(3, 1, 3, 1)));
  }
}

/// block_values<false> with the 16 lanes in two AVX-512 registers: the same operations in the
/// same order (no FMA), each (l, m) value stored for all lanes at once as a column of floats,
/// then the columns transposed into rows 16 x 16 at a time.
void block_values_avx512(const Constants& k, const DTensor& points, std::size_t i0, std::size_t nb,
                         const SphericalHarmonicsOptions& o, Block& w) {
  static_assert(kLanes == 16);
  const std::size_t L = k.L, width = L * L;
  block_angles(points, i0, nb, o.convention == SphericalConvention::locationencoder, w);
  __m512d x[2], u[2], c1[2], s1[2], cm[2], sm[2], pmm[2];
  for (int j = 0; j < 2; ++j) {
    x[j] = _mm512_loadu_pd(w.x.data() + 8 * j), u[j] = _mm512_loadu_pd(w.u.data() + 8 * j);
    c1[j] = _mm512_loadu_pd(w.c1.data() + 8 * j), s1[j] = _mm512_loadu_pd(w.s1.data() + 8 * j);
    cm[j] = _mm512_set1_pd(1.0), sm[j] = _mm512_setzero_pd();
  }
  float* cols = w.columns();
  auto put = [cols](std::size_t c, __m512d lo, __m512d hi) {
    const __m256 a = _mm512_cvtpd_ps(lo), b = _mm512_cvtpd_ps(hi);
    const __m512d both = _mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(a)), _mm256_castps_pd(b), 1);
    _mm512_store_ps(cols + c * kLanes, _mm512_castpd_ps(both));
  };
  for (std::size_t m = 0; m < L; ++m) {
    __m512d cv[2], sv[2], p1[2], p2[2];
    const double sign = m == 0 ? 1.0 : ((o.cs_phase && (m % 2 == 1)) ? -std::numbers::sqrt2 : std::numbers::sqrt2);
    for (int j = 0; j < 2; ++j) {
      if (m > 0) {
        const __m512d c = _mm512_sub_pd(_mm512_mul_pd(cm[j], c1[j]), _mm512_mul_pd(sm[j], s1[j]));
        sm[j] = _mm512_add_pd(_mm512_mul_pd(sm[j], c1[j]), _mm512_mul_pd(cm[j], s1[j]));
        cm[j] = c;
        pmm[j] = _mm512_mul_pd(_mm512_mul_pd(_mm512_set1_pd(k.diag[m]), u[j]), pmm[j]);
      } else {
        pmm[j] = _mm512_set1_pd(k.diag[0]);
      }
      cv[j] = _mm512_mul_pd(_mm512_set1_pd(sign), cm[j]);
      sv[j] = _mm512_mul_pd(_mm512_set1_pd(sign), sm[j]);
    }
    auto emit = [&](std::size_t l, const __m512d* p) {
      const std::size_t centre = l * l + l;
      if (m == 0) {
        put(centre, p[0], p[1]);
      } else {
        put(centre + m, _mm512_mul_pd(p[0], cv[0]), _mm512_mul_pd(p[1], cv[1]));
        put(centre - m, _mm512_mul_pd(p[0], sv[0]), _mm512_mul_pd(p[1], sv[1]));
      }
    };
    p2[0] = pmm[0], p2[1] = pmm[1];
    emit(m, p2);
    if (m + 1 >= L) continue;
    const __m512d f = _mm512_set1_pd(k.first[m]);
    for (int j = 0; j < 2; ++j) p1[j] = _mm512_mul_pd(_mm512_mul_pd(f, x[j]), pmm[j]);
    emit(m + 1, p1);
    const double* ca = k.a.data() + k.off[m];
    const double* cb = k.b.data() + k.off[m];
    for (std::size_t l = m + 2; l < L; ++l) {
      const __m512d a = _mm512_set1_pd(ca[l - m - 2]), b = _mm512_set1_pd(cb[l - m - 2]);
      __m512d p0[2];
      for (int j = 0; j < 2; ++j) {
        p0[j] = _mm512_mul_pd(a, _mm512_sub_pd(_mm512_mul_pd(x[j], p1[j]), _mm512_mul_pd(b, p2[j])));
        p2[j] = p1[j], p1[j] = p0[j];
      }
      emit(l, p0);
    }
  }
  for (std::size_t c0 = 0; c0 < width; c0 += 16)
    transpose_16x16(cols + c0 * kLanes, w.rows.data() + c0, width, std::min<std::size_t>(16, width - c0));
}

#endif

void harmonics_kernel(const DTensor& points, const SphericalHarmonicsOptions& o, float* out) {
  const auto L = static_cast<std::size_t>(o.degree);
  const std::size_t n = points.shape()[0], width = L * L;
  if (width == 0 || n == 0) return;
  const Constants k(L);
  const std::size_t blocks = (n + kLanes - 1) / kLanes;
  const bool scaled = o.degree > kScaledDegree;
#ifdef __AVX512F__
  const bool transposed = !scaled;
  // Non-temporal stores only pay when the output does not fit in the caches anyway (a small
  // output is better left in cache for the caller, who is about to read it).
  const bool stream = n * width * sizeof(float) >= detail::kStreamBytes;
#else
  const bool transposed = false;
#endif
#pragma omp parallel
  {
    Block w(L, width, transposed);
#pragma omp for schedule(static)
    for (std::int64_t bb = 0; bb < static_cast<std::int64_t>(blocks); ++bb) {
      const std::size_t i0 = static_cast<std::size_t>(bb) * kLanes, nb = std::min(kLanes, n - i0);
      if (scaled) {
        block_values<true>(k, points, i0, nb, o, w, out + i0 * width);
      } else if (!transposed) {
        block_values<false>(k, points, i0, nb, o, w, out + i0 * width);
      } else {
#ifdef __AVX512F__
        block_values_avx512(k, points, i0, nb, o, w);
        detail::stream_copy(out + i0 * width, w.rows.data(), nb * width, stream);
#endif
      }
    }
#ifdef __AVX512F__
    _mm_sfence();
#endif
  }
}

void check_harmonics(const char* fn, const DTensor& points, const SphericalHarmonicsOptions& o) {
  if (o.degree < 0) detail::fail(fn, "parameter 'degree' (L) must be >= 0, got ", o.degree);
  detail::check_latlon_points(fn, "points", points);
}

}  // namespace

Tensor spherical_harmonics(const DTensor& points, const SphericalHarmonicsOptions& o) {
  check_harmonics("spherical_harmonics", points, o);
  const auto L = static_cast<std::size_t>(o.degree);
  Tensor out = detail::fresh_tensor<Tensor>(Shape{points.shape()[0], L * L});
  harmonics_kernel(points, o, out.data());
  return out;
}

void spherical_harmonics_into(const DTensor& points, std::span<float> out, const SphericalHarmonicsOptions& o) {
  const char* fn = "spherical_harmonics_into";
  check_harmonics(fn, points, o);
  const std::size_t want = points.shape()[0] * static_cast<std::size_t>(o.degree * o.degree);
  if (out.size() != want)
    detail::fail(fn, "parameter 'out' must hold N L^2 = ", want, " floats, got ", out.size());
  harmonics_kernel(points, o, out.data());
}

}  // namespace posenc
