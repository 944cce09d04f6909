// Sinusoidal tables: direct double evaluation at anchors, exact angle addition in between.
#include "posenc/sinusoid.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#if defined(__AVX512F__) && defined(__AVX512DQ__)  // _mm512_insertf32x8 is AVX512DQ
// GCC 12 warns inside its own intrinsics (_mm512_cvtpd_ps starts from _mm256_undefined_ps).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#endif

#include "detail/check.hpp"
#include "detail/memory.hpp"
#include "detail/sincos.hpp"
#include "detail/stream_store.hpp"

namespace posenc {

namespace {

struct Plan {
  std::size_t d = 0;      // output channels
  std::size_t m = 0;      // frequencies
  std::vector<double> w;  // frequencies
};

Plan make_plan(const SinusoidOptions& o, const char* fn = "sinusoid_table") {
  if (o.dim <= 0) detail::fail(fn, "parameter 'dim' must be positive, got ", o.dim);
  if (!(o.base > 0) || o.base == 1 || !std::isfinite(o.base))
    detail::fail(fn, "parameter 'base' must be finite, positive and != 1, got ", o.base);
  Plan p;
  p.d = static_cast<std::size_t>(o.dim);
  const bool odd = p.d % 2 == 1;
  const bool drop_last = odd && o.layout == SinusoidLayout::interleaved && !o.odd_zero_channel;
  const double d_eff = static_cast<double>(drop_last ? p.d + 1 : p.d);
  p.m = drop_last ? (p.d + 1) / 2 : p.d / 2;
  p.w.resize(p.m);
  for (std::size_t k = 0; k < p.m; ++k) {
    if (o.exponent == SinusoidExponent::paper) {
      p.w[k] = std::pow(o.base, -2.0 * static_cast<double>(k) / d_eff);
    } else {
      const double denom = std::max<double>(static_cast<double>(p.m) - 1, 1.0);
      p.w[k] = std::exp(-static_cast<double>(k) * std::log(o.base) / denom);
    }
  }
  return p;
}

// The rotation by one row, shared by the column kernels.
struct Steps {
  std::vector<double> c, s;  // cos w_k, sin w_k: one row's rotation
};

/// Row r of a chunk starting at r0 is rotated from row r - 1 when its position is the previous
/// one plus 1, and evaluated directly otherwise (a chunk's first row always is).
bool successor(const double* pos, std::size_t r, std::size_t r0) { return r > r0 && pos[r] == pos[r - 1] + 1.0; }

/// (sin, cos) of x w_k for k in [ka, kb) into s[k - ka], c[k - ka] (SIMD batches from ka, a
/// start fixed by the table's shape: the bits do not depend on the thread count).
void evaluate(const Plan& p, double x, std::size_t ka, std::size_t kb, double* s, double* c) {
  detail::sincos_scaled(x, p.w.data() + ka, kb - ka, s, c);
}

/// Frequencies [ka, kb) of rows [r0, r1) (one chunk), row by row: rotation by w (exact angle
/// addition in double) or direct evaluation, then each value rounded to float once. s and c hold
/// kb - ka doubles of state. The portable kernel; the AVX-512 one below takes the wide blocks.
void fill_columns(const Plan& p, SinusoidLayout layout, const Steps& st, const double* pos, std::size_t r0,
                  std::size_t r1, std::size_t ka, std::size_t kb, float* out, double* __restrict s,
                  double* __restrict c) {
  const std::size_t full = p.d / 2 < p.m ? p.d / 2 : p.m;  // pairs with both channels present
  const std::size_t kpair = std::min(kb, full), n = kb - ka;
  const double* __restrict sc = st.c.data() + ka;
  const double* __restrict ss = st.s.data() + ka;
  for (std::size_t r = r0; r < r1; ++r) {
    if (successor(pos, r, r0)) {
      for (std::size_t j = 0; j < n; ++j) {
        const double sn = s[j] * sc[j] + c[j] * ss[j];
        const double cn = c[j] * sc[j] - s[j] * ss[j];
        s[j] = sn;
        c[j] = cn;
      }
    } else {
      evaluate(p, pos[r], ka, kb, s, c);
    }
    float* __restrict o = out + r * p.d;
    if (layout == SinusoidLayout::interleaved) {
      for (std::size_t k = ka; k < kpair; ++k) {
        o[2 * k] = static_cast<float>(s[k - ka]);
        o[2 * k + 1] = static_cast<float>(c[k - ka]);
      }
      if (kpair < kb) o[2 * kpair] = static_cast<float>(s[kpair - ka]);  // odd d: the last cosine dropped
    } else {
      for (std::size_t k = ka; k < kb; ++k) {
        o[k] = static_cast<float>(s[k - ka]);
        o[p.m + k] = static_cast<float>(c[k - ka]);
      }
    }
  }
}

#if defined(__AVX512F__) && defined(__AVX512DQ__)
constexpr std::size_t kBlock = 64;  // frequencies per block: 8 zmm each of sin, cos (the steps spill to L1)

/// 16 floats at `at`: a non-temporal store (`at` on a 64-byte line) or an ordinary one.
template <bool Stream>
inline void store16(float* at, __m512 v) {
  if constexpr (Stream) _mm512_stream_ps(at, v);
  else _mm512_storeu_ps(at, v);
}

/// Frequencies [k0, k0 + 64) of rows [r0, r1), the state (sin, cos) held in registers through the
/// chunk, the step factors reloaded from L1 where registers run out, so each row only stores (512 contiguous bytes: whole cache lines). Same arithmetic as
/// fill_columns (one rotation per row, or a direct evaluation), FMA-contracted. Stream: the stores
/// are non-temporal (every row and block on whole 64-byte lines: a large table written into a
/// caller's aligned buffer).
template <bool Stream>
void fill_block(const Plan& p, SinusoidLayout layout, const Steps& st, const double* pos, std::size_t r0,
                std::size_t r1, std::size_t k0, float* out) {
  constexpr int V = kBlock / 8;
  __m512d s[V], c[V], a[V], b[V];
  for (int j = 0; j < V; ++j) {
    s[j] = c[j] = _mm512_setzero_pd();  // set by the chunk's first row (a direct evaluation)
    a[j] = _mm512_loadu_pd(st.c.data() + k0 + 8 * j);
    b[j] = _mm512_loadu_pd(st.s.data() + k0 + 8 * j);
  }
  const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  for (std::size_t r = r0; r < r1; ++r) {
    if (successor(pos, r, r0)) {
      for (int j = 0; j < V; ++j) {
        const __m512d sn = _mm512_fmadd_pd(s[j], a[j], _mm512_mul_pd(c[j], b[j]));
        c[j] = _mm512_fmsub_pd(c[j], a[j], _mm512_mul_pd(s[j], b[j]));
        s[j] = sn;
      }
    } else {
      alignas(64) double ds[kBlock], dc[kBlock];
      evaluate(p, pos[r], k0, k0 + kBlock, ds, dc);
      for (int j = 0; j < V; ++j) {
        s[j] = _mm512_load_pd(ds + 8 * j);
        c[j] = _mm512_load_pd(dc + 8 * j);
      }
    }
    float* o = out + r * p.d;
    for (int j = 0; j < V; j += 2) {
      const __m512 sf = _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtpd_ps(s[j])), _mm512_cvtpd_ps(s[j + 1]), 1);
      const __m512 cf = _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtpd_ps(c[j])), _mm512_cvtpd_ps(c[j + 1]), 1);
      if (layout == SinusoidLayout::interleaved) {
        store16<Stream>(o + 2 * k0 + 16 * j, _mm512_permutex2var_ps(sf, lo, cf));
        store16<Stream>(o + 2 * k0 + 16 * j + 16, _mm512_permutex2var_ps(sf, hi, cf));
      } else {
        store16<Stream>(o + k0 + 8 * j, sf);
        store16<Stream>(o + p.m + k0 + 8 * j, cf);
      }
    }
  }
}

#else
constexpr std::size_t kBlock = 0;  // portable build: fill_columns takes every frequency
#endif

constexpr std::size_t kChunk = 64;  // rows between direct re-anchoring (fixed: results independent of threads)

void fill(const Plan& p, SinusoidLayout layout, const double* pos, std::size_t rows, float* out, bool reused) {
  Steps st{std::vector<double>(p.m), std::vector<double>(p.m)};
  for (std::size_t k = 0; k < p.m; ++k) {
    st.c[k] = std::cos(p.w[k]);
    st.s[k] = std::sin(p.w[k]);
  }
  // The register kernel takes whole blocks of frequencies whose pairs have both channels.
  const std::size_t pairs = layout == SinusoidLayout::interleaved ? std::min(p.d / 2, p.m) : p.m;
  const std::size_t kvec = kBlock == 0 ? 0 : pairs / kBlock * kBlock;
  const std::size_t chunks = (rows + kChunk - 1) / kChunk;
  // A large table into a caller's buffer (its lines are not in the cache; a fresh table's pages
  // were just zeroed) from the register kernel with every row on whole 64-byte lines (the buffer
  // on a line, all frequencies in blocks): non-temporal stores (docs/performance.md, W1).
  const bool stream = reused && kBlock != 0 && kvec == p.m && p.d == 2 * p.m &&
                      reinterpret_cast<std::uintptr_t>(out) % 64 == 0 &&
                      rows * p.d * sizeof(float) >= detail::kStreamBytes;
#pragma omp parallel
  {
    std::vector<double> s(p.m - kvec), c(p.m - kvec);
#pragma omp for schedule(static)
    for (std::ptrdiff_t ch = 0; ch < static_cast<std::ptrdiff_t>(chunks); ++ch) {
      const std::size_t r0 = static_cast<std::size_t>(ch) * kChunk, r1 = std::min(rows, r0 + kChunk);
#if defined(__AVX512F__) && defined(__AVX512DQ__)
      for (std::size_t k0 = 0; k0 < kvec; k0 += kBlock)
        if (stream) fill_block<true>(p, layout, st, pos, r0, r1, k0, out);
        else fill_block<false>(p, layout, st, pos, r0, r1, k0, out);
#endif
      if (kvec < p.m) fill_columns(p, layout, st, pos, r0, r1, kvec, p.m, out, s.data(), c.data());
      if (2 * p.m < p.d)  // odd d with a zero channel
        for (std::size_t r = r0; r < r1; ++r) out[r * p.d + p.d - 1] = 0.0f;
    }
    if (stream) detail::stream_fence();
  }
}

}  // namespace

std::vector<double> sinusoid_frequencies(const SinusoidOptions& o) { return make_plan(o).w; }

namespace {

void check_positions(const char* fn, const DTensor& positions) {
  if (positions.dimension() != 3 || positions.shape()[2] != 1)
    detail::fail(fn, "parameter 'positions' must be [B|1, tokens, 1], got ", shape_string(positions));
  for (double v : positions)
    if (!std::isfinite(v)) detail::fail(fn, "parameter 'positions' holds a non-finite value ", v);
}

std::vector<double> run_positions(const char* fn, std::int64_t tokens, double offset) {
  if (tokens <= 0) detail::fail(fn, "parameter 'tokens' must be positive, got ", tokens);
  detail::require_finite(fn, "offset", offset);
  std::vector<double> pos(static_cast<std::size_t>(tokens));
  for (std::size_t i = 0; i < pos.size(); ++i) pos[i] = offset + static_cast<double>(i);
  return pos;
}

}  // namespace

Tensor sinusoid_table(const DTensor& positions, const SinusoidOptions& o) {
  check_positions("sinusoid_table", positions);
  const Plan p = make_plan(o);
  Tensor out = detail::fresh_tensor<Tensor>(Shape{positions.shape()[0], positions.shape()[1], p.d});
  fill(p, o.layout, positions.data(), positions.shape()[0] * positions.shape()[1], out.data(), false);
  return out;
}

Tensor sinusoid_table(std::int64_t tokens, const SinusoidOptions& o, double offset) {
  const std::vector<double> pos = run_positions("sinusoid_table", tokens, offset);
  const Plan p = make_plan(o);
  Tensor out = detail::fresh_tensor<Tensor>(Shape{pos.size(), p.d});
  fill(p, o.layout, pos.data(), pos.size(), out.data(), false);
  return out;
}

void sinusoid_table_into(const DTensor& positions, const SinusoidOptions& o, std::span<float> out) {
  const char* fn = "sinusoid_table_into";
  check_positions(fn, positions);
  const Plan p = make_plan(o, fn);
  const std::size_t rows = positions.shape()[0] * positions.shape()[1];
  detail::require_out_size(fn, out.size(), rows, p.d);
  fill(p, o.layout, positions.data(), rows, out.data(), true);
}

void sinusoid_table_into(std::int64_t tokens, const SinusoidOptions& o, std::span<float> out, double offset) {
  const char* fn = "sinusoid_table_into";
  const std::vector<double> pos = run_positions(fn, tokens, offset);
  const Plan p = make_plan(o, fn);
  detail::require_out_size(fn, out.size(), pos.size(), p.d);
  fill(p, o.layout, pos.data(), pos.size(), out.data(), true);
}

Encoding sinusoidal(const DTensor& positions, const SinusoidOptions& o) {
  Encoding e;
  e.name = "sinusoidal";
  e.input_add = sinusoid_table(positions, o);
  return e;
}

}  // namespace posenc
