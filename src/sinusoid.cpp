// Sinusoidal tables: direct double evaluation at anchors, exact angle addition in between.
#include "posenc/sinusoid.hpp"

#include <cmath>

#include "detail/check.hpp"
#include "detail/memory.hpp"

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

void write_row(const Plan& p, SinusoidLayout layout, const double* __restrict s, const double* __restrict c,
               float* __restrict out) {
  const std::size_t full = p.d / 2 < p.m ? p.d / 2 : p.m;  // pairs with both channels present
  if (layout == SinusoidLayout::interleaved) {
    for (std::size_t k = 0; k < full; ++k) {
      out[2 * k] = static_cast<float>(s[k]);
      out[2 * k + 1] = static_cast<float>(c[k]);
    }
    if (full < p.m) out[2 * full] = static_cast<float>(s[full]);  // odd d: the last sine, its cosine dropped
  } else {
    for (std::size_t k = 0; k < p.m; ++k) {
      out[k] = static_cast<float>(s[k]);
      out[p.m + k] = static_cast<float>(c[k]);
    }
  }
  if (2 * p.m < p.d) out[p.d - 1] = 0.0f;  // odd d with a zero channel
}

// (sin, cos) of (p+1) w from those of p w: a rotation by w, exact in double up to rounding.
void advance(double* __restrict s, double* __restrict c, const double* __restrict step_c,
             const double* __restrict step_s, std::size_t m) {
  for (std::size_t k = 0; k < m; ++k) {
    const double sn = s[k] * step_c[k] + c[k] * step_s[k];
    const double cn = c[k] * step_c[k] - s[k] * step_s[k];
    s[k] = sn;
    c[k] = cn;
  }
}

constexpr std::size_t kChunk = 64;  // rows between direct re-anchoring (fixed: results independent of threads)

void fill(const Plan& p, SinusoidLayout layout, const double* pos, std::size_t rows, float* out) {
  std::vector<double> step_c(p.m), step_s(p.m);
  for (std::size_t k = 0; k < p.m; ++k) {
    step_c[k] = std::cos(p.w[k]);
    step_s[k] = std::sin(p.w[k]);
  }
  const std::size_t chunks = (rows + kChunk - 1) / kChunk;
#pragma omp parallel
  {
    std::vector<double> s(p.m), c(p.m);
#pragma omp for schedule(static)
    for (std::ptrdiff_t ch = 0; ch < static_cast<std::ptrdiff_t>(chunks); ++ch) {
      const std::size_t r0 = static_cast<std::size_t>(ch) * kChunk, r1 = std::min(rows, r0 + kChunk);
      for (std::size_t r = r0; r < r1; ++r) {
        if (r > r0 && pos[r] == pos[r - 1] + 1.0) {
          advance(s.data(), c.data(), step_c.data(), step_s.data(), p.m);
        } else {
          for (std::size_t k = 0; k < p.m; ++k) {
            const double a = pos[r] * p.w[k];
            s[k] = std::sin(a);
            c[k] = std::cos(a);
          }
        }
        write_row(p, layout, s.data(), c.data(), out + r * p.d);
      }
    }
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
  fill(p, o.layout, positions.data(), positions.shape()[0] * positions.shape()[1], out.data());
  return out;
}

Tensor sinusoid_table(std::int64_t tokens, const SinusoidOptions& o, double offset) {
  const std::vector<double> pos = run_positions("sinusoid_table", tokens, offset);
  const Plan p = make_plan(o);
  Tensor out = detail::fresh_tensor<Tensor>(Shape{pos.size(), p.d});
  fill(p, o.layout, pos.data(), pos.size(), out.data());
  return out;
}

void sinusoid_table_into(const DTensor& positions, const SinusoidOptions& o, std::span<float> out) {
  const char* fn = "sinusoid_table_into";
  check_positions(fn, positions);
  const Plan p = make_plan(o, fn);
  const std::size_t rows = positions.shape()[0] * positions.shape()[1];
  detail::require_out_size(fn, out.size(), rows, p.d);
  fill(p, o.layout, positions.data(), rows, out.data());
}

void sinusoid_table_into(std::int64_t tokens, const SinusoidOptions& o, std::span<float> out, double offset) {
  const char* fn = "sinusoid_table_into";
  const std::vector<double> pos = run_positions(fn, tokens, offset);
  const Plan p = make_plan(o, fn);
  detail::require_out_size(fn, out.size(), pos.size(), p.d);
  fill(p, o.layout, pos.data(), pos.size(), out.data());
}

Encoding sinusoidal(const DTensor& positions, const SinusoidOptions& o) {
  Encoding e;
  e.name = "sinusoidal";
  e.input_add = sinusoid_table(positions, o);
  return e;
}

}  // namespace posenc
