// Backward of the AST table path: the adjoint of adapt_spectrogram_table
// (centre crop or bilinear stretch per axis, prefix rows kept).
#include <algorithm>

#include "detail/check.hpp"
#include "detail/linear_taps.hpp"
#include "posenc/image.hpp"
#include "posenc/spectrogram.hpp"

namespace posenc {

namespace {

void check_grid(const char* fn, const SpectrogramGrid& g, const char* name) {
  if (g.f_dim < 1 || g.t_dim < 1)
    detail::fail(fn, "parameter '", name, "' must have positive f_dim and t_dim, got ", g.f_dim, " x ", g.t_dim);
}

/// Adjoint of one axis of the adaptation: d [rows, cols, C] with the axis at its new size ->
/// the same with the axis at its old size `old` (axis 0 = rows, 1 = cols).
Tensor adapt_axis_adjoint(const Tensor& d, int axis, std::int64_t old, TableAdaptation mode) {
  const auto rows = static_cast<std::int64_t>(d.shape()[0]), cols = static_cast<std::int64_t>(d.shape()[1]);
  const std::int64_t n = axis == 0 ? rows : cols;
  if (n == old) return d;
  const std::int64_t R = axis == 0 ? old : rows, W = axis == 0 ? cols : old;
  if (mode == TableAdaptation::crop_or_interpolate && n < old) {
    // The forward copied the centre window of the old axis: scatter back, zeros elsewhere.
    const std::size_t C = d.shape()[2];
    const auto cells = detail::centre_crop_cells(R, W, axis, n);
    Tensor out = xt::zeros<float>(Shape{static_cast<std::size_t>(R), static_cast<std::size_t>(W), C});
    for (std::size_t k = 0; k < cells.size(); ++k) std::copy_n(d.data() + k * C, C, out.data() + cells[k] * C);
    return out;
  }
  return resample_grid_backward(d, R, W, {.interpolation = Interpolation::bilinear, .antialias = false});
}

}  // namespace

Tensor adapt_spectrogram_table_backward(const Tensor& d_out, const SpectrogramGrid& from, const SpectrogramGrid& to,
                                        std::int64_t prefix, TableAdaptation mode) {
  const char* fn = "adapt_spectrogram_table_backward";
  check_grid(fn, from, "from");
  check_grid(fn, to, "to");
  if (prefix < 0) detail::fail(fn, "parameter 'prefix_tokens' must be >= 0, got ", prefix);
  const auto P = static_cast<std::size_t>(prefix);
  if (d_out.dimension() != 2 || d_out.shape()[0] != P + static_cast<std::size_t>(to.tokens()) || d_out.shape()[1] == 0)
    detail::fail(fn, "parameter 'd_out' must be [", prefix, " + ", to.f_dim, " * ", to.t_dim, ", D], got ",
                 shape_string(d_out));
  const std::size_t D = d_out.shape()[1];
  Tensor grid = Tensor::from_shape({static_cast<std::size_t>(to.f_dim), static_cast<std::size_t>(to.t_dim), D});
  std::copy_n(d_out.data() + P * D, grid.size(), grid.data());
  grid = adapt_axis_adjoint(grid, 0, from.f_dim, mode);  // the forward did time first, then frequency
  grid = adapt_axis_adjoint(grid, 1, from.t_dim, mode);
  Tensor out = Tensor::from_shape({P + static_cast<std::size_t>(from.tokens()), D});
  std::copy_n(d_out.data(), P * D, out.data());  // prefix rows pass through
  std::copy_n(grid.data(), grid.size(), out.data() + P * D);
  return out;
}

}  // namespace posenc
