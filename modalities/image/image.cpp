// The 2D image-grid modality: grid positions, 2D sin-cos, DETR sine, 2D axial
// RoPE, 2D ALiBi and the Swin/BEiT relative position bias.
#include "posenc/image.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include "detail/bias_part.hpp"
#include "detail/check.hpp"
#include "detail/init.hpp"
#include "detail/memory.hpp"
#include "posenc/text.hpp"

namespace posenc {

namespace {

void check_grid(const char* fn, std::int64_t h, std::int64_t w) {
  if (h <= 0) detail::fail(fn, "parameter 'height' must be positive, got ", h);
  if (w <= 0) detail::fail(fn, "parameter 'width' must be positive, got ", w);
}

void check_grid_positions(const char* fn, const DTensor& p, const char* name) {
  if (p.dimension() != 3 || p.shape()[2] != 2 || p.shape()[1] == 0)
    detail::fail(fn, "parameter '", name, "' must be [B|1, tokens, 2] (y, x), got ", shape_string(p));
}

}  // namespace

DTensor grid_positions(std::int64_t height, std::int64_t width, std::int64_t prefix) {
  const char* fn = "grid_positions";
  check_grid(fn, height, width);
  if (prefix < 0) detail::fail(fn, "parameter 'prefix_tokens' must be >= 0, got ", prefix);
  const auto n = static_cast<std::size_t>(prefix + height * width);
  DTensor p = xt::zeros<double>(Shape{1, n, 2});
  for (std::int64_t y = 0; y < height; ++y)
    for (std::int64_t x = 0; x < width; ++x) {
      const auto t = static_cast<std::size_t>(prefix + y * width + x);
      p(0, t, 0) = static_cast<double>(y);
      p(0, t, 1) = static_cast<double>(x);
    }
  return p;
}

// ====================================================================== 2D sin-cos

namespace {

/// The table's shape [prefix + H*W, D] after checking the options.
Shape sincos_2d_shape(const char* fn, const SinCos2dOptions& o) {
  check_grid(fn, o.height, o.width);
  if (o.dim <= 0 || o.dim % 4 != 0) detail::fail(fn, "parameter 'dim' must be a positive multiple of 4, got ", o.dim);
  detail::require_positive(fn, "temperature", o.temperature);
  if (o.prefix_tokens < 0) detail::fail(fn, "parameter 'prefix_tokens' must be >= 0, got ", o.prefix_tokens);
  return {static_cast<std::size_t>(o.prefix_tokens + o.height * o.width), static_cast<std::size_t>(o.dim)};
}

/// Writes the checked table into t (every element).
void sincos_2d_write(const SinCos2dOptions& o, float* t) {
  const auto q = static_cast<std::size_t>(o.dim / 4);
  std::vector<double> w(q);
  for (std::size_t k = 0; k < q; ++k) w[k] = std::pow(o.temperature, -static_cast<double>(k) / static_cast<double>(q));
  const auto pre = static_cast<std::size_t>(o.prefix_tokens);
  const auto H = static_cast<std::size_t>(o.height), W = static_cast<std::size_t>(o.width);
  const auto D = static_cast<std::size_t>(o.dim);
  // The table is separable: every row is four q-blocks, each a function of x or of y alone.
  // Evaluate sin/cos once per (coordinate, frequency) in double, round once, then copy blocks.
  auto axis = [&](std::size_t n) {
    std::vector<float> sc(n * 2 * q);  // [coordinate][sin block | cos block]
    for (std::size_t c = 0; c < n; ++c)
      for (std::size_t k = 0; k < q; ++k) {
        const double a = static_cast<double>(c) * w[k];
        sc[c * 2 * q + k] = static_cast<float>(std::sin(a));
        sc[c * 2 * q + q + k] = static_cast<float>(std::cos(a));
      }
    return sc;
  };
  const std::vector<float> ax = axis(W), ay = axis(H);
  std::fill_n(t, pre * D, 0.0f);
#pragma omp parallel for schedule(static)
  for (std::int64_t r = 0; r < static_cast<std::int64_t>(H * W); ++r) {
    const std::size_t y = static_cast<std::size_t>(r) / W, x = static_cast<std::size_t>(r) % W;
    const float* sx = ax.data() + x * 2 * q;  // sin x | cos x
    const float* sy = ay.data() + y * 2 * q;  // sin y | cos y
    // The four quarters in layout order.
    const float* mae[4] = {sx, sx + q, sy, sy + q};
    const float* timm[4] = {sy, sx, sy + q, sx + q};
    const float* inter[4] = {sy, sy + q, sx, sx + q};
    const float* const* block = o.layout == SinCos2dLayout::mae ? mae : o.layout == SinCos2dLayout::timm ? timm : inter;
    float* row = t + (pre + static_cast<std::size_t>(r)) * D;
    for (std::size_t b = 0; b < 4; ++b) std::copy_n(block[b], q, row + b * q);
  }
}

}  // namespace

Tensor sincos_2d_table(const SinCos2dOptions& o) {
  Tensor t = detail::fresh_tensor<Tensor>(sincos_2d_shape("sincos_2d", o));
  sincos_2d_write(o, t.data());
  return t;
}

void sincos_2d_table_into(const SinCos2dOptions& o, std::span<float> out) {
  const char* fn = "sincos_2d_table_into";
  const Shape s = sincos_2d_shape(fn, o);
  detail::require_out_size(fn, out.size(), s[0], s[1]);
  sincos_2d_write(o, out.data());
}

Encoding sincos_2d(const SinCos2dOptions& o) {
  return detail::table_part("sincos_2d", sincos_2d_table(o));
}

// ====================================================================== DETR sine

namespace {

/// The DETR sine table [H*W, 2F]: returned, or written into *out (size checked) when out is given.
Tensor detr_sine_impl(const char* fn, const DetrSineOptions& o, const ITensor& valid, std::span<float>* out) {
  check_grid(fn, o.height, o.width);
  if (o.num_pos_feats <= 0 || o.num_pos_feats % 2 != 0)
    detail::fail(fn, "parameter 'num_pos_feats' must be positive and even, got ", o.num_pos_feats);
  detail::require_positive(fn, "temperature", o.temperature);
  if (o.scale_given && !o.normalize) detail::fail(fn, "parameter 'scale' is only used with normalize = true");
  const auto h = static_cast<std::size_t>(o.height), w = static_cast<std::size_t>(o.width);
  const bool masked = is_set(valid);
  if (masked && (valid.dimension() != 2 || valid.shape()[0] != h || valid.shape()[1] != w))
    detail::fail(fn, "parameter 'valid' must be [", h, ", ", w, "], got ", shape_string(valid));
  auto ok = [&](std::size_t y, std::size_t x) { return !masked || valid(y, x) != 0; };
  // Cumulative counts of valid pixels, 1-based, down the columns (y) and along the rows (x).
  std::vector<double> ye(h * w), xe(h * w);
  for (std::size_t x = 0; x < w; ++x) {
    double c = 0;
    for (std::size_t y = 0; y < h; ++y) ye[y * w + x] = (c += ok(y, x) ? 1 : 0);
  }
  for (std::size_t y = 0; y < h; ++y) {
    double c = 0;
    for (std::size_t x = 0; x < w; ++x) xe[y * w + x] = (c += ok(y, x) ? 1 : 0);
  }
  if (o.normalize) {
    const double eps = 1e-6;
    for (std::size_t y = 0; y < h; ++y)
      for (std::size_t x = 0; x < w; ++x) {
        ye[y * w + x] = ye[y * w + x] / (ye[(h - 1) * w + x] + eps) * o.scale;
        xe[y * w + x] = xe[y * w + x] / (xe[y * w + w - 1] + eps) * o.scale;
      }
  }
  const auto f = static_cast<std::size_t>(o.num_pos_feats);
  std::vector<double> dim_t(f);
  for (std::size_t c = 0; c < f; ++c)
    dim_t[c] = std::pow(o.temperature, 2.0 * static_cast<double>(c / 2) / static_cast<double>(f));
  Tensor table;
  float* into = detail::table_target(fn, out, table, h * w, 2 * f);
  for (std::size_t p = 0; p < h * w; ++p)
    for (std::size_t c = 0; c < f; ++c) {
      const double ay = ye[p] / dim_t[c], ax = xe[p] / dim_t[c];
      into[p * 2 * f + c] = static_cast<float>(c % 2 == 0 ? std::sin(ay) : std::cos(ay));
      into[p * 2 * f + f + c] = static_cast<float>(c % 2 == 0 ? std::sin(ax) : std::cos(ax));
    }
  return table;
}

}  // namespace

Tensor detr_sine(const DetrSineOptions& o, const ITensor& valid) {
  return detr_sine_impl("detr_sine", o, valid, nullptr);
}

void detr_sine_into(const DetrSineOptions& o, std::span<float> out, const ITensor& valid) {
  detr_sine_impl("detr_sine_into", o, valid, &out);
}

// ====================================================================== 2D axial RoPE

namespace {

DTensor rope_2d_angles(const DTensor& p, const Rope2dOptions& o) {
  const std::size_t pairs = static_cast<std::size_t>(o.head_dim / 2), q = pairs / 2;
  DTensor a = DTensor::from_shape({p.shape()[0], 1, p.shape()[1], pairs});
  std::vector<double> theta(q);
  for (std::size_t k = 0; k < q; ++k) theta[k] = std::pow(o.base, -static_cast<double>(k) / static_cast<double>(q));
  // First half of the pairs: the row (eva, qwen2vl) or the column (rope_vit); second half: the other axis.
  const std::size_t first = o.layout == Rope2dLayout::rope_vit ? 1 : 0;
  for (std::size_t r = 0; r < p.shape()[0] * p.shape()[1]; ++r) {
    const double u = p.data()[r * 2 + first], v = p.data()[r * 2 + 1 - first];
    double* row = a.data() + r * pairs;
    for (std::size_t k = 0; k < q; ++k) {
      row[k] = u * theta[k];
      row[q + k] = v * theta[k];
    }
  }
  return a;
}

}  // namespace

Encoding rope_2d(const DTensor& qp, const DTensor& kp, const Rope2dOptions& o) {
  const char* fn = "rope_2d";
  if (o.head_dim <= 0 || o.head_dim % 4 != 0)
    detail::fail(fn, "parameter 'head_dim' must be a positive multiple of 4 (two axes of pairs), got ", o.head_dim);
  if (!(o.base > 1) || !std::isfinite(o.base)) detail::fail(fn, "parameter 'base' must be finite and > 1, got ", o.base);
  check_grid_positions(fn, qp, "query_positions");
  check_grid_positions(fn, kp, "key_positions");
  Encoding e;
  e.name = "rope_2d";
  e.rotation.layout = o.layout == Rope2dLayout::qwen2vl ? PairLayout::halves : PairLayout::interleaved;
  e.rotation.pairs = o.head_dim / 2;
  e.rotation.query_angles = rope_2d_angles(qp, o);
  e.rotation.key_angles = rope_2d_angles(kp, o);
  return e;
}

Encoding rope_2d(const DTensor& positions, const Rope2dOptions& o) { return rope_2d(positions, positions, o); }

// ====================================================================== 2D ALiBi

Encoding alibi_2d(const DTensor& qp, const DTensor& kp, std::int64_t heads, double max_bias) {
  const char* fn = "alibi_2d";
  check_grid_positions(fn, qp, "query_positions");
  check_grid_positions(fn, kp, "key_positions");
  const auto slopes = alibi_slopes(heads, max_bias);
  Tensor t = Tensor::from_shape({slopes.size()});
  for (std::size_t h = 0; h < slopes.size(); ++h) t(h) = static_cast<float>(slopes[h]);
  return detail::bias_part("alibi_2d", BiasKind::slope, Relation::euclidean(qp, kp), std::move(t));
}

// ====================================================================== Swin / BEiT

std::int64_t relative_bias_table_rows(std::int64_t wh, std::int64_t ww, bool cls) {
  check_grid("relative_position_index_2d", wh, ww);
  return (2 * wh - 1) * (2 * ww - 1) + (cls ? 3 : 0);
}

ITensor relative_position_index_2d(std::int64_t wh, std::int64_t ww, bool cls) {
  const std::int64_t t = relative_bias_table_rows(wh, ww, false);
  const auto n = static_cast<std::size_t>(wh * ww);
  const std::size_t off = cls ? 1 : 0;
  ITensor idx = ITensor::from_shape({n + off, n + off});
  for (std::size_t a = 0; a < n; ++a)
    for (std::size_t b = 0; b < n; ++b) {
      const auto ya = static_cast<std::int64_t>(a) / ww, xa = static_cast<std::int64_t>(a) % ww;
      const auto yb = static_cast<std::int64_t>(b) / ww, xb = static_cast<std::int64_t>(b) % ww;
      idx(a + off, b + off) = (ya - yb + wh - 1) * (2 * ww - 1) + (xa - xb + ww - 1);
    }
  if (cls) {
    for (std::size_t b = 0; b < n + 1; ++b) idx(0, b) = t;      // class token as query
    for (std::size_t a = 0; a < n + 1; ++a) idx(a, 0) = t + 1;  // class token as key
    idx(0, 0) = t + 2;
  }
  return idx;
}

Encoding relative_bias_2d(std::int64_t wh, std::int64_t ww, const Tensor& table, bool cls) {
  const char* fn = "relative_bias_2d";
  const std::int64_t rows = relative_bias_table_rows(wh, ww, cls);
  if (table.dimension() != 2 || table.shape()[1] != static_cast<std::size_t>(rows) || table.shape()[0] == 0)
    detail::fail(fn, "parameter 'table' must be [H|1, ", rows, "] for a ", wh, "x", ww, " window",
                 cls ? " with a class token" : "", ", got ", shape_string(table));
  ITensor idx = relative_position_index_2d(wh, ww, cls);
  idx.reshape({1, idx.shape()[0], idx.shape()[1]});
  return detail::bias_part("relative_bias_2d", BiasKind::table, Relation::explicit_index(idx, rows), table);
}

Tensor relative_bias_table_init(std::int64_t heads, std::int64_t wh, std::int64_t ww, bool cls, double std,
                                std::uint64_t seed) {
  const char* fn = "relative_bias_table_init";
  if (heads <= 0) detail::fail(fn, "parameter 'heads' must be positive, got ", heads);
  const std::int64_t rows = relative_bias_table_rows(wh, ww, cls);
  // Truncated normal at +-2 std, as timm's trunc_normal_(std=.02).
  Tensor t = Tensor::from_shape({static_cast<std::size_t>(heads), static_cast<std::size_t>(rows)});
  detail::fill_trunc_normal(t, std, seed, fn);
  return t;
}

}  // namespace posenc
