// Image grids, continued: timm's Fourier features, RoPE-Mixed and the resizing
// of Swin/BEiT relative bias tables.
#include <cmath>
#include <numbers>
#include <random>

#include "detail/check.hpp"
#include "detail/init.hpp"
#include "posenc/image.hpp"

namespace posenc {

namespace {
constexpr double kPi = std::numbers::pi;

/// torch.linspace(a, b, n) in double: a + (b - a) k / (n - 1); n = 1 gives a.
double linspace(double a, double b, std::int64_t n, std::int64_t k) {
  return n == 1 ? a : a + (b - a) * static_cast<double>(k) / static_cast<double>(n - 1);
}
}  // namespace

// ====================================================================== Fourier features

std::vector<double> fourier_bands(const FourierFeaturesOptions& o) {
  const char* fn = "fourier_features";
  if (o.num_bands < 1) detail::fail(fn, "parameter 'num_bands' must be >= 1, got ", o.num_bands);
  std::vector<double> b(static_cast<std::size_t>(o.num_bands));
  if (o.in_pixels) {
    if (!(o.max_res >= 2) || !std::isfinite(o.max_res))
      detail::fail(fn, "parameter 'max_res' must be finite and >= 2, got ", o.max_res);
    for (std::int64_t k = 0; k < o.num_bands; ++k)
      b[static_cast<std::size_t>(k)] =
          kPi * (o.linear_bands ? linspace(1.0, o.max_res / 2, o.num_bands, k)
                                : std::pow(2.0, linspace(0.0, std::log2(o.max_res) - 1, o.num_bands, k)));
  } else {
    if (!(o.temperature > 0) || !std::isfinite(o.temperature))
      detail::fail(fn, "parameter 'temperature' must be finite and positive, got ", o.temperature);
    for (std::int64_t k = 0; k < o.num_bands; ++k)
      b[static_cast<std::size_t>(k)] =
          std::pow(o.temperature, -static_cast<double>(k) / static_cast<double>(o.num_bands));
  }
  return b;
}

namespace {

/// The features [H*W, width]: returned, or written into *out (size checked) when out is given.
Tensor fourier_features_impl(const char* fn, const FourierFeaturesOptions& o, std::span<float>* out) {
  if (o.height <= 0 || o.width <= 0)
    detail::fail(fn, "parameters 'height' and 'width' must be positive, got ", o.height, " x ", o.width);
  if (o.ref_height < 0 || o.ref_width < 0 || (o.ref_height == 0) != (o.ref_width == 0))
    detail::fail(fn, "parameters 'ref_height' and 'ref_width' must both be positive or both 0, got ", o.ref_height,
                 " x ", o.ref_width);
  const auto bands = fourier_bands(o);
  const std::size_t n = bands.size(), feats = (o.include_grid ? 1 : 0) + 2 * n, width = feats * 2;
  auto coord = [&](std::int64_t i, std::int64_t size, std::int64_t ref) {
    double t = o.in_pixels ? linspace(-1.0, 1.0, size, i) : static_cast<double>(i) + o.grid_offset;
    if (ref > 0) t = t / static_cast<double>(size) * static_cast<double>(ref);
    return t;
  };
  const auto rows = static_cast<std::size_t>(o.height * o.width);
  Tensor table;
  float* into = detail::table_target(fn, out, table, rows, width);
  for (std::int64_t y = 0; y < o.height; ++y)
    for (std::int64_t x = 0; x < o.width; ++x) {
      const double cy = coord(y, o.height, o.ref_height), cx = coord(x, o.width, o.ref_width);
      const double axes[2] = {o.xy_indexing ? cx : cy, o.xy_indexing ? cy : cx};
      float* row = into + static_cast<std::size_t>(y * o.width + x) * width;
      std::size_t f = 0;
      if (o.include_grid) {
        row[0] = static_cast<float>(axes[0]);
        row[1] = static_cast<float>(axes[1]);
        f = 1;
      }
      for (std::size_t k = 0; k < n; ++k)
        for (std::size_t a = 0; a < 2; ++a) {
          row[(f + k) * 2 + a] = static_cast<float>(std::sin(axes[a] * bands[k]));
          row[(f + n + k) * 2 + a] = static_cast<float>(std::cos(axes[a] * bands[k]));
        }
    }
  return table;
}

}  // namespace

Tensor fourier_features(const FourierFeaturesOptions& o) { return fourier_features_impl("fourier_features", o, nullptr); }

void fourier_features_into(const FourierFeaturesOptions& o, std::span<float> out) {
  fourier_features_impl("fourier_features_into", o, &out);
}

Encoding fourier_features_encoding(const FourierFeaturesOptions& o) {
  return detail::table_part("fourier_features", fourier_features(o), /*concat=*/true);
}

// ====================================================================== RoPE-Mixed

Tensor rope_mixed_init(std::int64_t heads, std::int64_t head_dim, double theta, bool rotate, std::uint64_t seed) {
  const char* fn = "rope_mixed_init";
  if (heads < 1) detail::fail(fn, "parameter 'heads' must be positive, got ", heads);
  if (head_dim <= 0 || head_dim % 4 != 0)
    detail::fail(fn, "parameter 'head_dim' must be a positive multiple of 4, got ", head_dim);
  detail::require_positive(fn, "theta", theta);
  const auto q = static_cast<std::size_t>(head_dim / 4), H = static_cast<std::size_t>(heads);
  Tensor f = Tensor::from_shape({2, H, 2 * q});
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> u(0.0, 2 * kPi);
  for (std::size_t h = 0; h < H; ++h) {
    const double a = rotate ? u(gen) : 0.0;
    for (std::size_t k = 0; k < q; ++k) {
      const double mu = std::pow(theta, -static_cast<double>(4 * k) / static_cast<double>(head_dim));
      f(0, h, k) = static_cast<float>(mu * std::cos(a));
      f(0, h, q + k) = static_cast<float>(mu * std::cos(a + kPi / 2));
      f(1, h, k) = static_cast<float>(mu * std::sin(a));
      f(1, h, q + k) = static_cast<float>(mu * std::sin(a + kPi / 2));
    }
  }
  return f;
}

namespace {
DTensor mixed_angles(const char* fn, const DTensor& p, const Tensor& f, const char* name) {
  if (p.dimension() != 3 || p.shape()[2] != 2 || p.shape()[1] == 0)
    detail::fail(fn, "parameter '", name, "' must be [B|1, tokens, 2] (y, x), got ", shape_string(p));
  const std::size_t B = p.shape()[0], N = p.shape()[1], H = f.shape()[1], pairs = f.shape()[2];
  DTensor a = DTensor::from_shape({B, H, N, pairs});
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t h = 0; h < H; ++h)
      for (std::size_t i = 0; i < N; ++i) {
        const double y = p(b, i, 0), x = p(b, i, 1);
        for (std::size_t k = 0; k < pairs; ++k)
          a(b, h, i, k) = x * static_cast<double>(f(0, h, k)) + y * static_cast<double>(f(1, h, k));
      }
  return a;
}
}  // namespace

Encoding rope_mixed(const DTensor& qp, const DTensor& kp, const Tensor& freqs) {
  const char* fn = "rope_mixed";
  if (freqs.dimension() != 3 || freqs.shape()[0] != 2 || freqs.shape()[1] == 0 || freqs.shape()[2] == 0)
    detail::fail(fn, "parameter 'freqs' must be [2, heads, head_dim/2], got ", shape_string(freqs));
  for (float v : freqs)
    if (!std::isfinite(v)) detail::fail(fn, "parameter 'freqs' holds a non-finite value ", v);
  Encoding e;
  e.name = "rope_mixed";
  e.rotation.layout = PairLayout::interleaved;
  e.rotation.pairs = static_cast<std::int64_t>(freqs.shape()[2]);
  e.rotation.query_angles = mixed_angles(fn, qp, freqs, "query_positions");
  e.rotation.key_angles = mixed_angles(fn, kp, freqs, "key_positions");
  return e;
}

Encoding rope_mixed(const DTensor& positions, const Tensor& freqs) { return rope_mixed(positions, positions, freqs); }

// ====================================================================== relative table resizing

Tensor resize_relative_bias_table(const Tensor& table, std::int64_t wh, std::int64_t ww, std::int64_t nwh,
                                  std::int64_t nww) {
  const char* fn = "resize_relative_bias_table";
  if (wh < 1 || ww < 1) detail::fail(fn, "old window must be positive, got ", wh, " x ", ww);
  if (nwh < 1 || nww < 1) detail::fail(fn, "parameter 'new_window' must be positive, got ", nwh, " x ", nww);
  const auto rows = static_cast<std::size_t>((2 * wh - 1) * (2 * ww - 1));
  if (table.dimension() != 2 || table.shape()[0] == 0 || table.shape()[1] < rows)
    detail::fail(fn, "parameter 'table' must be [H, ", rows, " + extra] for a ", wh, "x", ww, " window, got ",
                 shape_string(table));
  const std::size_t H = table.shape()[0], extra = table.shape()[1] - rows;
  const auto sh = static_cast<std::size_t>(2 * wh - 1), sw = static_cast<std::size_t>(2 * ww - 1);
  const auto dh = static_cast<std::size_t>(2 * nwh - 1), dw = static_cast<std::size_t>(2 * nww - 1);
  // The heads become the channels of one [sh, sw, H] grid.
  Tensor grid = Tensor::from_shape({sh, sw, H});
  for (std::size_t h = 0; h < H; ++h)
    for (std::size_t r = 0; r < rows; ++r) grid.data()[r * H + h] = table(h, r);
  const Tensor g = resample_grid(grid, static_cast<std::int64_t>(dh), static_cast<std::int64_t>(dw),
                                 {.interpolation = Interpolation::bicubic, .antialias = false});
  Tensor out = Tensor::from_shape({H, dh * dw + extra});
  for (std::size_t h = 0; h < H; ++h) {
    for (std::size_t r = 0; r < dh * dw; ++r) out(h, r) = g.data()[r * H + h];
    for (std::size_t e = 0; e < extra; ++e) out(h, dh * dw + e) = table(h, rows + e);
  }
  return out;
}

}  // namespace posenc
