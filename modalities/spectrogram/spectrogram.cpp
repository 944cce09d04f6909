// The spectrogram modality: AST patch grids, AST's table adaptation (centre
// crop or bilinear per axis), and 2D sin-cos / axial RoPE with per-axis settings.
#include "posenc/spectrogram.hpp"

#include <cmath>

#include "detail/check.hpp"
#include "detail/init.hpp"
#include "detail/linear_taps.hpp"
#include "posenc/image.hpp"

namespace posenc {

namespace {

void check_grid(const char* fn, const SpectrogramGrid& g, const char* name) {
  if (g.f_dim < 1 || g.t_dim < 1)
    detail::fail(fn, "parameter '", name, "' must have positive f_dim and t_dim, got ", g.f_dim, " x ", g.t_dim);
}

void check_prefix(const char* fn, std::int64_t prefix) {
  if (prefix < 0) detail::fail(fn, "parameter 'prefix_tokens' must be >= 0, got ", prefix);
}

void check_axis(const char* fn, const char* name, const SpectrogramAxis& a) {
  if (a.dim <= 0 || a.dim % 2 != 0)
    detail::fail(fn, "parameter '", name, ".dim' must be positive and even, got ", a.dim);
  if (!(a.temperature > 1) || !std::isfinite(a.temperature))
    detail::fail(fn, "parameter '", name, ".temperature' must be finite and > 1, got ", a.temperature);
  detail::require_positive(fn, (std::string(name) + ".scale").c_str(), a.scale);
}

std::vector<double> frequencies(const SpectrogramAxis& a) {
  const auto h = static_cast<std::size_t>(a.dim / 2);
  std::vector<double> w(h);
  for (std::size_t k = 0; k < h; ++k)
    w[k] = a.scale * std::pow(a.temperature, -static_cast<double>(k) / static_cast<double>(h));
  return w;
}

/// One axis of AST's adaptation on a [rows, cols, C] grid (axis 0 = rows, 1 = cols).
Tensor adapt_axis(const Tensor& g, int axis, std::int64_t n, TableAdaptation mode) {
  const auto rows = static_cast<std::int64_t>(g.shape()[0]), cols = static_cast<std::int64_t>(g.shape()[1]);
  const std::int64_t old = axis == 0 ? rows : cols;
  if (n == old) return g;
  if (mode == TableAdaptation::crop_or_interpolate && n < old) {
    const std::size_t C = g.shape()[2];
    const auto cells = detail::centre_crop_cells(rows, cols, axis, n);  // shared with the adjoint
    Tensor out = Tensor::from_shape({axis == 0 ? static_cast<std::size_t>(n) : g.shape()[0],
                                     axis == 0 ? g.shape()[1] : static_cast<std::size_t>(n), C});
    for (std::size_t k = 0; k < cells.size(); ++k) std::copy_n(g.data() + cells[k] * C, C, out.data() + k * C);
    return out;
  }
  const ResampleOptions bilinear{.interpolation = Interpolation::bilinear, .antialias = false};
  return axis == 0 ? resample_grid(g, n, cols, bilinear) : resample_grid(g, rows, n, bilinear);
}

}  // namespace

SpectrogramGrid spectrogram_grid(const SpectrogramPatching& p) {
  const char* fn = "spectrogram_grid";
  const std::pair<const char*, std::int64_t> sizes[] = {
      {"frequency_bins", p.frequency_bins}, {"frames", p.frames},
      {"patch_frequency", p.patch_frequency}, {"patch_time", p.patch_time},
      {"stride_frequency", p.stride_frequency}, {"stride_time", p.stride_time}};
  for (const auto& [name, v] : sizes)
    if (v <= 0) detail::fail(fn, "parameter '", name, "' must be positive, got ", v);
  if (p.frequency_bins < p.patch_frequency)
    detail::fail(fn, "parameter 'frequency_bins' (", p.frequency_bins, ") is smaller than one patch (",
                 p.patch_frequency, ")");
  if (p.frames < p.patch_time)
    detail::fail(fn, "parameter 'frames' (", p.frames, ") is smaller than one patch (", p.patch_time, ")");
  return {(p.frequency_bins - p.patch_frequency) / p.stride_frequency + 1,
          (p.frames - p.patch_time) / p.stride_time + 1};
}

DTensor spectrogram_positions(const SpectrogramGrid& g, std::int64_t prefix) {
  const char* fn = "spectrogram_positions";
  check_grid(fn, g, "grid");
  check_prefix(fn, prefix);
  return grid_positions(g.f_dim, g.t_dim, prefix);
}

Tensor adapt_spectrogram_table(const Tensor& table, const SpectrogramGrid& from, const SpectrogramGrid& to,
                               std::int64_t prefix, TableAdaptation mode) {
  const char* fn = "adapt_spectrogram_table";
  check_grid(fn, from, "from");
  check_grid(fn, to, "to");
  check_prefix(fn, prefix);
  const auto P = static_cast<std::size_t>(prefix);
  if (table.dimension() != 2 || table.shape()[0] != P + static_cast<std::size_t>(from.tokens()) || table.shape()[1] == 0)
    detail::fail(fn, "parameter 'table' must be [", prefix, " + ", from.f_dim, " * ", from.t_dim, ", D], got ",
                 shape_string(table));
  const std::size_t D = table.shape()[1];
  Tensor grid = Tensor::from_shape({static_cast<std::size_t>(from.f_dim), static_cast<std::size_t>(from.t_dim), D});
  std::copy_n(table.data() + P * D, grid.size(), grid.data());
  grid = adapt_axis(grid, 1, to.t_dim, mode);  // time first, as AST
  grid = adapt_axis(grid, 0, to.f_dim, mode);
  Tensor out = Tensor::from_shape({P + static_cast<std::size_t>(to.tokens()), D});
  std::copy_n(table.data(), P * D, out.data());
  std::copy_n(grid.data(), grid.size(), out.data() + P * D);
  return out;
}

namespace {

/// The table [prefix + F*T, D]: returned, or written into *out (size checked) when out is given.
Tensor spectrogram_sincos_impl(const char* fn, const SpectrogramGrid& g, const SpectrogramAxis& fa,
                               const SpectrogramAxis& ta, std::int64_t prefix, std::span<float>* out) {
  check_grid(fn, g, "grid");
  check_prefix(fn, prefix);
  check_axis(fn, "frequency", fa);
  check_axis(fn, "time", ta);
  const auto wf = frequencies(fa), wt = frequencies(ta);
  const std::size_t hf = wf.size(), ht = wt.size(), D = 2 * (hf + ht), P = static_cast<std::size_t>(prefix);
  const std::size_t rows = P + static_cast<std::size_t>(g.tokens());
  Tensor table;
  float* into = detail::table_target(fn, out, table, rows, D);
  std::fill_n(into, P * D, 0.0f);
  for (std::int64_t f = 0; f < g.f_dim; ++f)
    for (std::int64_t t = 0; t < g.t_dim; ++t) {
      float* row = into + (P + static_cast<std::size_t>(f * g.t_dim + t)) * D;
      for (std::size_t k = 0; k < hf; ++k) {
        row[k] = static_cast<float>(std::sin(static_cast<double>(f) * wf[k]));
        row[hf + k] = static_cast<float>(std::cos(static_cast<double>(f) * wf[k]));
      }
      for (std::size_t k = 0; k < ht; ++k) {
        row[2 * hf + k] = static_cast<float>(std::sin(static_cast<double>(t) * wt[k]));
        row[2 * hf + ht + k] = static_cast<float>(std::cos(static_cast<double>(t) * wt[k]));
      }
    }
  return table;
}

}  // namespace

Tensor spectrogram_sincos_table(const SpectrogramGrid& g, const SpectrogramAxis& fa, const SpectrogramAxis& ta,
                                std::int64_t prefix) {
  return spectrogram_sincos_impl("spectrogram_sincos", g, fa, ta, prefix, nullptr);
}

void spectrogram_sincos_table_into(const SpectrogramGrid& g, const SpectrogramAxis& fa, const SpectrogramAxis& ta,
                                   std::int64_t prefix, std::span<float> out) {
  spectrogram_sincos_impl("spectrogram_sincos_table_into", g, fa, ta, prefix, &out);
}

Encoding spectrogram_sincos(const SpectrogramGrid& g, const SpectrogramAxis& fa, const SpectrogramAxis& ta,
                            std::int64_t prefix) {
  return detail::table_part("spectrogram_sincos", spectrogram_sincos_table(g, fa, ta, prefix));
}

Encoding spectrogram_rope(const SpectrogramGrid& g, const SpectrogramAxis& fa, const SpectrogramAxis& ta,
                          std::int64_t prefix) {
  const char* fn = "spectrogram_rope";
  check_grid(fn, g, "grid");
  check_prefix(fn, prefix);
  check_axis(fn, "frequency", fa);
  check_axis(fn, "time", ta);
  const auto wf = frequencies(fa), wt = frequencies(ta);
  const std::size_t pairs = wf.size() + wt.size(), P = static_cast<std::size_t>(prefix);
  DTensor a = xt::zeros<double>(Shape{1, 1, P + static_cast<std::size_t>(g.tokens()), pairs});
  for (std::int64_t f = 0; f < g.f_dim; ++f)
    for (std::int64_t t = 0; t < g.t_dim; ++t) {
      double* row = a.data() + (P + static_cast<std::size_t>(f * g.t_dim + t)) * pairs;
      for (std::size_t k = 0; k < wf.size(); ++k) row[k] = static_cast<double>(f) * wf[k];
      for (std::size_t k = 0; k < wt.size(); ++k) row[wf.size() + k] = static_cast<double>(t) * wt[k];
    }
  Encoding e;
  e.name = "spectrogram_rope";
  e.rotation.layout = PairLayout::interleaved;
  e.rotation.pairs = static_cast<std::int64_t>(pairs);
  e.rotation.query_angles = a;
  e.rotation.key_angles = a;
  return e;
}

}  // namespace posenc
