// Resampling of position tables with PyTorch's interpolation kernels (align_corners = False),
// and the exact adjoints of those linear maps (same taps and weights, transposed).
#include <algorithm>
#include <cmath>

#include "detail/check.hpp"
#include "posenc/image.hpp"

namespace posenc {

namespace {

// Keys cubic convolution kernel with parameter a.
double keys(double x, double a) {
  x = std::abs(x);
  if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

double triangle(double x) {
  x = std::abs(x);
  return x < 1 ? 1 - x : 0;
}

/// Sparse weights of one output sample: (input index, weight) pairs.
using Taps = std::vector<std::pair<std::size_t, double>>;

std::vector<Taps> axis_weights(std::size_t in, std::size_t out, const ResampleOptions& o) {
  const double s = static_cast<double>(in) / static_cast<double>(out);
  std::vector<Taps> w(out);
  const auto last = static_cast<std::int64_t>(in) - 1;
  for (std::size_t oi = 0; oi < out; ++oi) {
    Taps& t = w[oi];
    const double od = static_cast<double>(oi);
    if (o.interpolation == Interpolation::nearest) {
      t.emplace_back(static_cast<std::size_t>(std::min<std::int64_t>(static_cast<std::int64_t>(std::floor(od * s)), last)), 1.0);
    } else if (o.antialias) {
      // PIL-style separable filter (PyTorch's _upsample_*_aa): support scaled by max(s, 1).
      const double support = (o.interpolation == Interpolation::bicubic ? 2.0 : 1.0) * std::max(s, 1.0);
      const double center = s * (od + 0.5);
      const double inv = 1.0 / std::max(s, 1.0);
      const auto lo = std::max<std::int64_t>(static_cast<std::int64_t>(center - support + 0.5), 0);
      const auto hi = std::min<std::int64_t>(static_cast<std::int64_t>(center + support + 0.5), last + 1);
      double total = 0;
      for (std::int64_t j = lo; j < hi; ++j) {
        const double x = (static_cast<double>(j) - center + 0.5) * inv;
        const double v = o.interpolation == Interpolation::bicubic ? keys(x, -0.5) : triangle(x);
        t.emplace_back(static_cast<std::size_t>(j), v);
        total += v;
      }
      for (auto& [j, v] : t) v = total != 0 ? v / total : 0;
    } else if (o.interpolation == Interpolation::bilinear) {
      const double u = std::max(s * (od + 0.5) - 0.5, 0.0);
      const auto i0 = std::min<std::int64_t>(static_cast<std::int64_t>(std::floor(u)), last);
      const auto i1 = std::min<std::int64_t>(i0 + 1, last);
      const double l = u - static_cast<double>(i0);
      t.emplace_back(static_cast<std::size_t>(i0), 1 - l);
      t.emplace_back(static_cast<std::size_t>(i1), l);
    } else {  // bicubic, a = -0.75, taps clamped to the edge
      const double u = s * (od + 0.5) - 0.5;
      const double f = std::floor(u), x = u - f;
      const double c[4] = {keys(x + 1, -0.75), keys(x, -0.75), keys(1 - x, -0.75), keys(2 - x, -0.75)};
      for (int k = 0; k < 4; ++k) {
        const auto idx = std::clamp<std::int64_t>(static_cast<std::int64_t>(f) - 1 + k, 0, last);
        t.emplace_back(static_cast<std::size_t>(idx), c[k]);
      }
    }
  }
  return w;
}

/// The separable map out[y, x] = sum_i wy[y](i) sum_j wx[x](j) in[i, j] (rows first, as the
/// forward) transposed: in[i, j] = sum_y wy[y](i) sum_x wx[x](j) out[y, x]. Double throughout.
Tensor separable_transpose(const Tensor& d_out, std::size_t h, std::size_t w, const std::vector<Taps>& wy,
                           const std::vector<Taps>& wx) {
  const std::size_t oh = d_out.shape()[0], ow = d_out.shape()[1], c = d_out.shape()[2];
  // Adjoint of the column pass: [oh, ow, C] -> [h, ow, C].
  std::vector<double> tmp(h * ow * c, 0.0);
  for (std::size_t y = 0; y < oh; ++y)
    for (const auto& [i, v] : wy[y])
      for (std::size_t x = 0; x < ow; ++x) {
        const float* g = d_out.data() + (y * ow + x) * c;
        double* t = tmp.data() + (i * ow + x) * c;
        for (std::size_t ch = 0; ch < c; ++ch) t[ch] += v * static_cast<double>(g[ch]);
      }
  // Adjoint of the row pass: [h, ow, C] -> [h, w, C].
  std::vector<double> acc(h * w * c, 0.0);
  for (std::size_t y = 0; y < h; ++y)
    for (std::size_t x = 0; x < ow; ++x)
      for (const auto& [j, v] : wx[x]) {
        const double* t = tmp.data() + (y * ow + x) * c;
        double* a = acc.data() + (y * w + j) * c;
        for (std::size_t ch = 0; ch < c; ++ch) a[ch] += v * t[ch];
      }
  Tensor out = Tensor::from_shape({h, w, c});
  std::transform(acc.begin(), acc.end(), out.data(), [](double v) { return static_cast<float>(v); });
  return out;
}

}  // namespace

Tensor resample_grid(const Tensor& grid, std::int64_t nh, std::int64_t nw, const ResampleOptions& o) {
  const char* fn = "resample_grid";
  if (grid.dimension() != 3 || grid.size() == 0)
    detail::fail(fn, "parameter 'grid' must be a non-empty [H, W, C] tensor, got ", shape_string(grid));
  if (nh <= 0 || nw <= 0) detail::fail(fn, "new size must be positive, got ", nh, "x", nw);
  const std::size_t h = grid.shape()[0], w = grid.shape()[1], c = grid.shape()[2];
  const auto oh = static_cast<std::size_t>(nh), ow = static_cast<std::size_t>(nw);
  if (oh == h && ow == w) return grid;
  // Rows (width axis) first, then columns (height axis), in double.
  const auto wx = axis_weights(w, ow, o), wy = axis_weights(h, oh, o);
  std::vector<double> tmp(h * ow * c, 0.0);
  for (std::size_t y = 0; y < h; ++y)
    for (std::size_t x = 0; x < ow; ++x)
      for (const auto& [j, v] : wx[x])
        for (std::size_t ch = 0; ch < c; ++ch) tmp[(y * ow + x) * c + ch] += v * grid(y, j, ch);
  Tensor out = xt::zeros<float>(Shape{oh, ow, c});
  std::vector<double> acc(c);
  for (std::size_t y = 0; y < oh; ++y)
    for (std::size_t x = 0; x < ow; ++x) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (const auto& [i, v] : wy[y])
        for (std::size_t ch = 0; ch < c; ++ch) acc[ch] += v * tmp[(i * ow + x) * c + ch];
      for (std::size_t ch = 0; ch < c; ++ch) out(y, x, ch) = static_cast<float>(acc[ch]);
    }
  return out;
}

Tensor resample_abs_pos_embed(const Tensor& table, std::int64_t h, std::int64_t w, std::int64_t nh, std::int64_t nw,
                              std::int64_t prefix, const ResampleOptions& o) {
  const char* fn = "resample_abs_pos_embed";
  if (h <= 0 || w <= 0) detail::fail(fn, "old grid must be positive, got ", h, "x", w);
  if (nh <= 0 || nw <= 0) detail::fail(fn, "new grid must be positive, got ", nh, "x", nw);
  if (prefix < 0) detail::fail(fn, "parameter 'prefix_tokens' must be >= 0, got ", prefix);
  if (table.dimension() != 2 || table.shape()[0] != static_cast<std::size_t>(prefix + h * w))
    detail::fail(fn, "parameter 'table' must be [prefix_tokens + H*W = ", prefix + h * w, ", C], got ",
                 shape_string(table));
  const std::size_t c = table.shape()[1], p = static_cast<std::size_t>(prefix);
  Tensor grid = Tensor::from_shape({static_cast<std::size_t>(h), static_cast<std::size_t>(w), c});
  std::copy(table.data() + p * c, table.data() + table.size(), grid.data());
  const Tensor r = resample_grid(grid, nh, nw, o);
  Tensor out = Tensor::from_shape({p + static_cast<std::size_t>(nh * nw), c});
  std::copy(table.data(), table.data() + p * c, out.data());
  std::copy(r.data(), r.data() + r.size(), out.data() + p * c);
  return out;
}

// ====================================================================== adjoints

Tensor resample_grid_backward(const Tensor& d_out, std::int64_t height, std::int64_t width, const ResampleOptions& o) {
  const char* fn = "resample_grid_backward";
  if (d_out.dimension() != 3 || d_out.size() == 0)
    detail::fail(fn, "parameter 'd_out' must be a non-empty [new_h, new_w, C] tensor, got ", shape_string(d_out));
  if (height <= 0 || width <= 0) detail::fail(fn, "old size must be positive, got ", height, "x", width);
  const auto h = static_cast<std::size_t>(height), w = static_cast<std::size_t>(width);
  const std::size_t oh = d_out.shape()[0], ow = d_out.shape()[1];
  if (oh == h && ow == w) return d_out;  // the forward is the identity
  return separable_transpose(d_out, h, w, axis_weights(h, oh, o), axis_weights(w, ow, o));
}

Tensor resample_abs_pos_embed_backward(const Tensor& d_out, std::int64_t h, std::int64_t w, std::int64_t nh,
                                       std::int64_t nw, std::int64_t prefix, const ResampleOptions& o) {
  const char* fn = "resample_abs_pos_embed_backward";
  if (h <= 0 || w <= 0) detail::fail(fn, "old grid must be positive, got ", h, "x", w);
  if (nh <= 0 || nw <= 0) detail::fail(fn, "new grid must be positive, got ", nh, "x", nw);
  if (prefix < 0) detail::fail(fn, "parameter 'prefix_tokens' must be >= 0, got ", prefix);
  if (d_out.dimension() != 2 || d_out.shape()[0] != static_cast<std::size_t>(prefix + nh * nw) || d_out.shape()[1] == 0)
    detail::fail(fn, "parameter 'd_out' must be [prefix_tokens + new_h*new_w = ", prefix + nh * nw, ", C], got ",
                 shape_string(d_out));
  const std::size_t c = d_out.shape()[1], p = static_cast<std::size_t>(prefix);
  Tensor grid = Tensor::from_shape({static_cast<std::size_t>(nh), static_cast<std::size_t>(nw), c});
  std::copy(d_out.data() + p * c, d_out.data() + d_out.size(), grid.data());
  const Tensor r = resample_grid_backward(grid, h, w, o);
  Tensor out = Tensor::from_shape({p + static_cast<std::size_t>(h * w), c});
  std::copy(d_out.data(), d_out.data() + p * c, out.data());  // prefix rows pass through
  std::copy(r.data(), r.data() + r.size(), out.data() + p * c);
  return out;
}

}  // namespace posenc
