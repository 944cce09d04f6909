// RoPE, its scaling rules, XPos, and the application of a Rotation.
#include "posenc/rotary.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numbers>

#include "detail/check.hpp"
#include "detail/memory.hpp"
#include "detail/parallel.hpp"
#include "detail/sincos.hpp"

namespace posenc {

// ====================================================================== tables and application

namespace {

/// The checked angles (and log-scales, or an unset tensor) of one side of a non-empty rotation.
struct SideAngles {
  const DTensor& angles;
  const DTensor& log_scale;
};

SideAngles side_angles(const char* fn, const Rotation& r, RotarySide side) {
  const DTensor& angles = side == RotarySide::query ? r.query_angles : r.key_angles;
  const DTensor& log_scale = side == RotarySide::query ? r.query_log_scale : r.key_log_scale;
  if (angles.dimension() != 4)
    detail::fail(fn, "rotation angles must be [B|1, H|1, tokens, pairs], got ", shape_string(angles));
  if (angles.shape()[3] != static_cast<std::size_t>(r.pairs))
    detail::fail(fn, "rotation angles have ", angles.shape()[3], " pairs but rotation.pairs = ", r.pairs);
  if (is_set(log_scale) && log_scale.shape() != angles.shape())
    detail::fail(fn, "rotation log-scale shape ", shape_string(log_scale), " differs from angles ",
                 shape_string(angles));
  return {angles, log_scale};
}

/// magnitude * exp(log_scale) * (cos, sin) of every angle into c and s (n values each).
void fill(const Rotation& r, const SideAngles& sa, float* __restrict c, float* __restrict s) {
  const std::size_t n = sa.angles.size();
  const double* a = sa.angles.data();
  const double* ls = is_set(sa.log_scale) ? sa.log_scale.data() : nullptr;
  const double mag = r.magnitude;
  // Spans of kSpan angles, SIMD sin/cos from each span's start: fixed by the index, not the threads.
  constexpr std::size_t kSpan = 256;
  const auto spans = static_cast<std::ptrdiff_t>((n + kSpan - 1) / kSpan);
#pragma omp parallel for schedule(static)
  for (std::ptrdiff_t sp = 0; sp < spans; ++sp) {
    const std::size_t i0 = static_cast<std::size_t>(sp) * kSpan, len = std::min(kSpan, n - i0);
    double sn[kSpan], cs[kSpan];
    detail::sincos_scaled(1.0, a + i0, len, sn, cs);
    for (std::size_t j = 0; j < len; ++j) {
      const double m = ls ? mag * std::exp(ls[i0 + j]) : mag;
      c[i0 + j] = static_cast<float>(m * cs[j]);
      s[i0 + j] = static_cast<float>(m * sn[j]);
    }
  }
}

void tabulate(const char* fn, const Rotation& r, RotarySide side, RotaryTable& t) {
  if (r.empty()) {
    t = RotaryTable{};
    t.layout = r.layout;
    return;
  }
  const SideAngles sa = side_angles(fn, r, side);
  t.layout = r.layout;
  t.batch = sa.angles.shape()[0];
  t.heads = sa.angles.shape()[1];
  t.tokens = sa.angles.shape()[2];
  t.pairs = sa.angles.shape()[3];
  t.cos.resize(sa.angles.size());
  t.sin.resize(sa.angles.size());
  fill(r, sa, t.cos.data(), t.sin.data());
}

}  // namespace

RotaryTable rotary_table(const Rotation& r, RotarySide side) {
  RotaryTable t;
  tabulate("rotary_table", r, side, t);
  return t;
}

void rotary_table_into(const Rotation& r, RotarySide side, RotaryTable& table) {
  tabulate("rotary_table_into", r, side, table);
}

void rotary_table_into(const Rotation& r, RotarySide side, std::span<float> cos, std::span<float> sin) {
  const char* fn = "rotary_table_into";
  if (r.empty()) detail::fail(fn, "the rotation is empty (an encoding without RoPE): there is no table to write");
  const SideAngles sa = side_angles(fn, r, side);
  const std::size_t n = sa.angles.size();
  if (cos.size() != n || sin.size() != n)
    detail::fail(fn, "parameters 'cos' and 'sin' must each hold batch x heads x tokens x pairs = ",
                 shape_string(sa.angles), " = ", n, " floats, got ", cos.size(), " and ", sin.size());
  const std::less<const float*> before;  // a total order even for unrelated arrays
  if (n != 0 && before(cos.data(), sin.data() + n) && before(sin.data(), cos.data() + n))
    detail::fail(fn, "parameters 'cos' and 'sin' overlap");
  fill(r, sa, cos.data(), sin.data());
}

namespace detail {

// Rotate one row of `dim` channels from x into out (distinct buffers). Used by the attention core too.
void rotate_row(const float* __restrict x, float* __restrict out, const float* __restrict c,
                const float* __restrict s, std::size_t pairs, std::size_t dim, PairLayout layout) {
  if (layout == PairLayout::halves) {
    const float* __restrict x2 = x + pairs;
    float* __restrict o2 = out + pairs;
    for (std::size_t k = 0; k < pairs; ++k) {
      const float a = x[k], b = x2[k];
      out[k] = a * c[k] - b * s[k];
      o2[k] = a * s[k] + b * c[k];
    }
  } else {
    for (std::size_t k = 0; k < pairs; ++k) {
      const float a = x[2 * k], b = x[2 * k + 1];
      out[2 * k] = a * c[k] - b * s[k];
      out[2 * k + 1] = a * s[k] + b * c[k];
    }
  }
  for (std::size_t ch = 2 * pairs; ch < dim; ++ch) out[ch] = x[ch];
}

// The same rotation in place. The two halves never overlap, so they are restrict pointers.
void rotate_row_inplace(float* x, const float* __restrict c, const float* __restrict s, std::size_t pairs,
                        PairLayout layout) {
  if (layout == PairLayout::halves) {
    float* __restrict lo = x;
    float* __restrict hi = x + pairs;
    for (std::size_t k = 0; k < pairs; ++k) {
      const float a = lo[k], b = hi[k];
      lo[k] = a * c[k] - b * s[k];
      hi[k] = a * s[k] + b * c[k];
    }
  } else {
    for (std::size_t k = 0; k < pairs; ++k) {
      const float a = x[2 * k], b = x[2 * k + 1];
      x[2 * k] = a * c[k] - b * s[k];
      x[2 * k + 1] = a * s[k] + b * c[k];
    }
  }
}

}  // namespace detail

namespace {

// Rotate every [tokens, dim] row of x into out (out == x.data() rotates in place).
void rotate_all(const char* fn, const Tensor& x, const RotaryTable& t, float* od) {
  if (x.dimension() < 2 || x.dimension() > 4)
    detail::fail(fn, "parameter 'x' must be [tokens, dim], [H, tokens, dim] or [B, H, tokens, dim], got ",
                 shape_string(x));
  const std::size_t rank = x.dimension();
  const std::size_t n = x.shape()[rank - 2];
  const std::size_t dim = x.shape()[rank - 1];
  const std::size_t heads = rank >= 3 ? x.shape()[rank - 3] : 1;
  const std::size_t batch = rank == 4 ? x.shape()[0] : 1;
  if (2 * t.pairs > dim) detail::fail(fn, "rotation of ", t.pairs, " pairs needs dim >= ", 2 * t.pairs, ", got ", dim);
  if (t.tokens != n) detail::fail(fn, "rotation covers ", t.tokens, " tokens but 'x' has ", n);
  if (t.heads != 1 && t.heads != heads) detail::fail(fn, "rotation has ", t.heads, " heads but 'x' has ", heads);
  if (t.batch != 1 && t.batch != batch) detail::fail(fn, "rotation has batch ", t.batch, " but 'x' has ", batch);
  // Rows in memory order (measured: blocking tokens with every head inside a block was not faster).
  const std::size_t rows = batch * heads * n;
  const float* xd = x.data();
#pragma omp parallel for schedule(static)
  for (std::ptrdiff_t row = 0; row < static_cast<std::ptrdiff_t>(rows); ++row) {
    const std::size_t tok = static_cast<std::size_t>(row) % n;
    const std::size_t h = (static_cast<std::size_t>(row) / n) % heads;
    const std::size_t b = static_cast<std::size_t>(row) / (n * heads);
    const std::size_t trow = (((t.batch == 1 ? 0 : b) * t.heads + (t.heads == 1 ? 0 : h)) * n + tok) * t.pairs;
    if (xd == od)
      detail::rotate_row_inplace(od + row * dim, t.cos.data() + trow, t.sin.data() + trow, t.pairs, t.layout);
    else
      detail::rotate_row(xd + row * dim, od + row * dim, t.cos.data() + trow, t.sin.data() + trow, t.pairs, dim,
                         t.layout);
  }
}

}  // namespace

Tensor apply_rotary(const Tensor& x, const RotaryTable& t) {
  if (t.pairs == 0) return x;
  Tensor out = detail::fresh_tensor<Tensor>(x.shape());
  rotate_all("apply_rotary", x, t, out.data());
  return out;
}

void apply_rotary_inplace(Tensor& x, const RotaryTable& t) {
  if (t.pairs == 0) return;
  rotate_all("apply_rotary_inplace", x, t, x.data());
}

Tensor apply_rotary(const Tensor& x, const Rotation& r, RotarySide side) { return apply_rotary(x, rotary_table(r, side)); }

// ====================================================================== RoPE frequencies

namespace {

std::int64_t resolve_rotary_dim(const char* fn, const RopeOptions& o) {
  if (o.head_dim <= 0) detail::fail(fn, "parameter 'head_dim' must be positive, got ", o.head_dim);
  std::int64_t d = o.rotary_dim;
  if (d == 0) {
    if (!(o.partial_rotary_factor > 0 && o.partial_rotary_factor <= 1))
      detail::fail(fn, "parameter 'partial_rotary_factor' must be in (0, 1], got ", o.partial_rotary_factor);
    d = static_cast<std::int64_t>(static_cast<double>(o.head_dim) * o.partial_rotary_factor);
    if (d % 2 != 0)
      detail::fail(fn, "rotated dimension int(head_dim * partial_rotary_factor) = ", d,
                   " must be even (pairs are rotated); head_dim = ", o.head_dim);
  }
  if (d <= 0) detail::fail(fn, "parameter 'rotary_dim' must be positive, got ", d);
  if (d % 2 != 0) detail::fail(fn, "parameter 'rotary_dim' must be even (pairs are rotated), got ", d);
  if (d > o.head_dim) detail::fail(fn, "parameter 'rotary_dim' = ", d, " exceeds head_dim = ", o.head_dim);
  return d;
}

std::vector<double> plain_frequencies(double base, std::int64_t d) {
  std::vector<double> f(static_cast<std::size_t>(d / 2));
  for (std::size_t k = 0; k < f.size(); ++k) f[k] = std::pow(base, -static_cast<double>(2 * k) / static_cast<double>(d));
  return f;
}

// YaRN's g(s, c) = 0.1 c ln s + 1 for s > 1, else 1.
double yarn_mscale(double s, double c) { return s <= 1 ? 1.0 : 0.1 * c * std::log(s) + 1.0; }

}  // namespace

RopeFrequencies rope_frequencies(const RopeOptions& o, std::int64_t seq_len) {
  const char* fn = "rope_frequencies";
  RopeFrequencies out;
  const std::int64_t d = resolve_rotary_dim(fn, o);
  out.rotary_dim = d;
  if (!(o.base > 1) || !std::isfinite(o.base)) detail::fail(fn, "parameter 'base' must be finite and > 1, got ", o.base);
  if (!(o.factor > 0) || !std::isfinite(o.factor))
    detail::fail(fn, "parameter 'factor' must be positive and finite, got ", o.factor);
  if (o.max_position_embeddings < 0)
    detail::fail(fn, "parameter 'max_position_embeddings' must be >= 0, got ", o.max_position_embeddings);
  if (o.original_max_position_embeddings < 0)
    detail::fail(fn, "parameter 'original_max_position_embeddings' must be >= 0, got ",
                 o.original_max_position_embeddings);
  if (o.attention_factor && (!(*o.attention_factor > 0) || !std::isfinite(*o.attention_factor)))
    detail::fail(fn, "parameter 'attention_factor' must be positive and finite, got ", *o.attention_factor);
  const double dd = static_cast<double>(d);
  const double s = o.factor;
  // L0: the pretraining context, original_max_position_embeddings when given.
  auto context = [&](const char* what) {
    const std::int64_t l0 = o.original_max_position_embeddings > 0 ? o.original_max_position_embeddings
                                                                    : o.max_position_embeddings;
    if (l0 <= 0)
      detail::fail(fn, what, " scaling needs 'original_max_position_embeddings' (or 'max_position_embeddings') > 0");
    return l0;
  };

  switch (o.scaling) {
    case RopeScaling::none: out.inv_freq = plain_frequencies(o.base, d); break;
    case RopeScaling::linear:
      out.inv_freq = plain_frequencies(o.base, d);
      for (auto& f : out.inv_freq) f /= s;
      break;
    case RopeScaling::ntk:
      if (d <= 2) detail::fail(fn, "NTK scaling needs rotary_dim > 2 (exponent d/(d-2)), got ", d);
      out.inv_freq = plain_frequencies(o.base * std::pow(s, dd / (dd - 2)), d);
      break;
    case RopeScaling::dynamic: {
      if (d <= 2) detail::fail(fn, "dynamic NTK scaling needs rotary_dim > 2 (exponent d/(d-2)), got ", d);
      const std::int64_t l0 = context("dynamic");
      const double n = static_cast<double>(std::max(seq_len, l0));
      const double base = o.base * std::pow(s * n / static_cast<double>(l0) - (s - 1), dd / (dd - 2));
      out.inv_freq = plain_frequencies(base, d);
      break;
    }
    case RopeScaling::yarn: {
      const std::int64_t l0 = context("YaRN");
      double factor = s;
      if (o.factor == 1.0 && o.max_position_embeddings > 0 && o.original_max_position_embeddings > 0)
        factor = static_cast<double>(o.max_position_embeddings) / static_cast<double>(o.original_max_position_embeddings);
      if (!(o.beta_fast > 0) || !(o.beta_slow > 0) || !std::isfinite(o.beta_fast) || !std::isfinite(o.beta_slow))
        detail::fail(fn, "parameters 'beta_fast' and 'beta_slow' must be positive and finite, got ", o.beta_fast,
                     " and ", o.beta_slow);
      if (o.attention_factor) out.attention_factor = *o.attention_factor;
      else if (o.mscale != 0 && o.mscale_all_dim != 0)
        out.attention_factor = yarn_mscale(factor, o.mscale) / yarn_mscale(factor, o.mscale_all_dim);
      else out.attention_factor = yarn_mscale(factor, 1.0);
      const double two_pi = 2 * std::numbers::pi;
      auto correction = [&](double rotations) {
        return dd * std::log(static_cast<double>(l0) / (rotations * two_pi)) / (2 * std::log(o.base));
      };
      double lo = correction(o.beta_fast), hi = correction(o.beta_slow);
      if (o.truncate) {
        lo = std::floor(lo);
        hi = std::ceil(hi);
      }
      lo = std::max(lo, 0.0);
      hi = std::min(hi, dd - 1);
      if (lo == hi) hi += 0.001;  // the reference's guard against a zero-width ramp
      const auto plain = plain_frequencies(o.base, d);
      out.inv_freq.resize(plain.size());
      for (std::size_t k = 0; k < plain.size(); ++k) {
        // The ramp is evaluated in float32, as in the reference.
        float ramp = (static_cast<float>(k) - static_cast<float>(lo)) / static_cast<float>(hi - lo);
        ramp = std::clamp(ramp, 0.0f, 1.0f);
        const double r = ramp;
        out.inv_freq[k] = plain[k] / factor * r + plain[k] * (1 - r);
      }
      break;
    }
    case RopeScaling::longrope: {
      if (o.original_max_position_embeddings <= 0)
        detail::fail(fn, "LongRoPE needs 'original_max_position_embeddings' > 0");
      const std::size_t m = static_cast<std::size_t>(d / 2);
      if (o.short_factor.size() != m || o.long_factor.size() != m)
        detail::fail(fn, "LongRoPE 'short_factor' and 'long_factor' need rotary_dim/2 = ", m, " entries, got ",
                     o.short_factor.size(), " and ", o.long_factor.size());
      for (double f : o.short_factor)
        if (!(f > 0) || !std::isfinite(f)) detail::fail(fn, "LongRoPE 'short_factor' holds invalid value ", f);
      for (double f : o.long_factor)
        if (!(f > 0) || !std::isfinite(f)) detail::fail(fn, "LongRoPE 'long_factor' holds invalid value ", f);
      const double l0 = static_cast<double>(o.original_max_position_embeddings);
      const double factor =
          o.max_position_embeddings > 0 ? static_cast<double>(o.max_position_embeddings) / l0 : s;
      if (o.attention_factor) out.attention_factor = *o.attention_factor;
      else out.attention_factor = factor <= 1 ? 1.0 : std::sqrt(1 + std::log(factor) / std::log(l0));
      const auto& ext = seq_len > o.original_max_position_embeddings ? o.long_factor : o.short_factor;
      const auto plain = plain_frequencies(o.base, d);
      out.inv_freq.resize(m);
      for (std::size_t k = 0; k < m; ++k) out.inv_freq[k] = plain[k] / ext[k];
      break;
    }
    case RopeScaling::llama3: {
      const std::int64_t l0i = context("Llama-3");
      const double l0 = static_cast<double>(l0i);
      const double lo_f = o.low_freq_factor, hi_f = o.high_freq_factor;
      if (!(lo_f > 0) || !(hi_f > lo_f) || !std::isfinite(hi_f))
        detail::fail(fn, "Llama-3 scaling needs 0 < low_freq_factor < high_freq_factor, got ", lo_f, " and ", hi_f);
      const double low_wavelen = l0 / lo_f, high_wavelen = l0 / hi_f;
      out.inv_freq = plain_frequencies(o.base, d);
      for (auto& f : out.inv_freq) {
        const double wavelen = 2 * std::numbers::pi / f;
        if (wavelen < high_wavelen) continue;                  // high frequencies keep theta
        if (wavelen > low_wavelen) { f /= s; continue; }       // low frequencies interpolate
        const double sigma = (l0 / wavelen - lo_f) / (hi_f - lo_f);
        f = (1 - sigma) * f / s + sigma * f;
      }
      break;
    }
  }
  return out;
}

DTensor rope_angles(const DTensor& positions, const std::vector<double>& inv_freq) {
  const char* fn = "rope_angles";
  if (positions.dimension() != 3 || positions.shape()[2] != 1)
    detail::fail(fn, "parameter 'positions' must be [B|1, tokens, 1], got ", shape_string(positions));
  const std::size_t b = positions.shape()[0], n = positions.shape()[1], p = inv_freq.size();
  DTensor a = DTensor::from_shape({b, 1, n, p});
  for (std::size_t r = 0; r < b * n; ++r) {
    const double pos = positions.data()[r];
    if (!std::isfinite(pos)) detail::fail(fn, "parameter 'positions' holds a non-finite value ", pos);
    for (std::size_t k = 0; k < p; ++k) a.data()[r * p + k] = pos * inv_freq[k];
  }
  return a;
}

namespace {

std::int64_t max_position_plus_one(const DTensor& positions) {
  double m = 0;
  for (double v : positions) m = std::max(m, v);
  return static_cast<std::int64_t>(std::floor(m)) + 1;
}

}  // namespace

Encoding rope(const DTensor& qp, const DTensor& kp, const RopeOptions& o) {
  std::int64_t len = o.sequence_length > 0 ? o.sequence_length
                                           : std::max(max_position_plus_one(kp), max_position_plus_one(qp));
  RopeFrequencies f = rope_frequencies(o, len);
  Encoding e;
  e.name = "rope";
  e.rotation.layout = o.layout;
  e.rotation.pairs = f.rotary_dim / 2;
  e.rotation.query_angles = rope_angles(qp, f.inv_freq);
  e.rotation.key_angles = rope_angles(kp, f.inv_freq);
  e.rotation.magnitude = f.attention_factor;
  return e;
}

Encoding rope(const DTensor& positions, const RopeOptions& o) { return rope(positions, positions, o); }

// ====================================================================== XPos

Encoding xpos(const DTensor& qp, const DTensor& kp, const XposOptions& o) {
  const char* fn = "xpos";
  if (o.head_dim <= 0 || o.head_dim % 2 != 0)
    detail::fail(fn, "parameter 'head_dim' must be positive and even (pairs are rotated), got ", o.head_dim);
  if (!(o.base > 1) || !std::isfinite(o.base)) detail::fail(fn, "parameter 'base' must be finite and > 1, got ", o.base);
  detail::require_positive(fn, "scale_base", o.scale_base);
  const std::size_t pairs = static_cast<std::size_t>(o.head_dim / 2);
  const auto inv = plain_frequencies(o.base, o.head_dim);
  Encoding e;
  e.name = "xpos";
  e.rotation.layout = o.layout;
  e.rotation.pairs = static_cast<std::int64_t>(pairs);
  e.rotation.query_angles = rope_angles(qp, inv);
  e.rotation.key_angles = rope_angles(kp, inv);
  const double center =
      o.center ? *o.center : std::floor(-static_cast<double>(max_position_plus_one(kp)) / 2.0);
  detail::require_finite(fn, "center", center);
  std::vector<double> log_zeta(pairs);
  const double d = static_cast<double>(o.head_dim);
  for (std::size_t k = 0; k < pairs; ++k) log_zeta[k] = std::log((2.0 * static_cast<double>(k) + 0.4 * d) / (1.4 * d));
  auto scales = [&](const DTensor& pos, double sign) {
    DTensor s = DTensor::from_shape({pos.shape()[0], 1, pos.shape()[1], pairs});
    for (std::size_t r = 0; r < pos.shape()[0] * pos.shape()[1]; ++r) {
      const double n = (pos.data()[r] + center) / o.scale_base;
      for (std::size_t k = 0; k < pairs; ++k) s.data()[r * pairs + k] = sign * n * log_zeta[k];
    }
    return s;
  };
  e.rotation.query_log_scale = scales(qp, 1.0);
  e.rotation.key_log_scale = scales(kp, -1.0);
  return e;
}

Encoding xpos(const DTensor& positions, const XposOptions& o) { return xpos(positions, positions, o); }

}  // namespace posenc
