// Backward passes of the learnable image builders: the Swin/BEiT bias table,
// RoPE-Mixed frequencies, 2D ALiBi with learnable slopes, and the adjoint of
// the relative-table resize. The resampling adjoints live next to their
// forward in resample.cpp (they share its taps).
#include <cmath>

#include "detail/bias_part.hpp"
#include "detail/check.hpp"
#include "detail/grad_parts.hpp"
#include "posenc/gradients.hpp"
#include "posenc/image.hpp"

namespace posenc {

namespace {

void check_positions(const char* fn, const DTensor& p, const char* name) {
  if (p.dimension() != 3 || p.shape()[2] != 2 || p.shape()[1] == 0)
    detail::fail(fn, "parameter '", name, "' must be [B|1, tokens, 2] (y, x), got ", shape_string(p));
}

/// sum_{b, i} G[b, h, i, k] p[b, i, axis] into acc[h * P + k]; G [B, H, N, P] (the forward's angle shape).
void accumulate_angles(const char* fn, const DTensor& g, const DTensor& p, std::size_t heads, std::size_t pairs,
                       const char* name, std::vector<double>& dx, std::vector<double>& dy) {
  const Shape want{p.shape()[0], heads, p.shape()[1], pairs};
  if (!is_set(g))
    detail::fail(fn, "parameter 'grad' has no rotation gradient grad.rotation.", name,
                 " (request rotation in the backward)");
  if (Shape(g.shape().begin(), g.shape().end()) != want)
    detail::fail(fn, "parameter 'grad': grad.rotation.", name, " must be ", shape_string(want), ", got ",
                 shape_string(g));
  const std::size_t B = want[0], N = want[2];
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t h = 0; h < heads; ++h)
      for (std::size_t i = 0; i < N; ++i) {
        const double y = p(b, i, 0), x = p(b, i, 1);
        const double* row = g.data() + ((b * heads + h) * N + i) * pairs;
        for (std::size_t k = 0; k < pairs; ++k) {
          dx[h * pairs + k] += row[k] * x;
          dy[h * pairs + k] += row[k] * y;
        }
      }
}

}  // namespace

// ====================================================================== Swin / BEiT

Tensor relative_bias_2d_backward(std::int64_t wh, std::int64_t ww, const Tensor& table, const EncodingGrad& grad,
                                 bool cls) {
  const char* fn = "relative_bias_2d_backward";
  const std::int64_t rows = relative_bias_table_rows(wh, ww, cls);
  if (table.dimension() != 2 || table.shape()[1] != static_cast<std::size_t>(rows) || table.shape()[0] == 0)
    detail::fail(fn, "parameter 'table' must be [H|1, ", rows, "] for a ", wh, "x", ww, " window",
                 cls ? " with a class token" : "", ", got ", shape_string(table));
  return detail::table_grad(fn, grad, table);
}

// ====================================================================== 2D ALiBi with learnable slopes

Encoding alibi_2d(const DTensor& qp, const DTensor& kp, const Tensor& slopes) {
  const char* fn = "alibi_2d";
  check_positions(fn, qp, "query_positions");
  check_positions(fn, kp, "key_positions");
  detail::check_slopes(fn, slopes);
  return detail::bias_part("alibi_2d", BiasKind::slope, Relation::euclidean(qp, kp), slopes);
}

Tensor alibi_2d_backward(const DTensor& qp, const DTensor& kp, const Tensor& slopes, const EncodingGrad& grad) {
  const char* fn = "alibi_2d_backward";
  check_positions(fn, qp, "query_positions");
  check_positions(fn, kp, "key_positions");
  if (slopes.dimension() != 1 || slopes.size() == 0)
    detail::fail(fn, "parameter 'slopes' must be [H] with H > 0, got ", shape_string(slopes));
  return detail::slope_grad(fn, grad, slopes.size());
}

// ====================================================================== RoPE-Mixed

Tensor rope_mixed_backward(const DTensor& qp, const DTensor& kp, const Tensor& freqs, const EncodingGrad& grad) {
  const char* fn = "rope_mixed_backward";
  if (freqs.dimension() != 3 || freqs.shape()[0] != 2 || freqs.shape()[1] == 0 || freqs.shape()[2] == 0)
    detail::fail(fn, "parameter 'freqs' must be [2, heads, head_dim/2], got ", shape_string(freqs));
  check_positions(fn, qp, "query_positions");
  check_positions(fn, kp, "key_positions");
  const std::size_t H = freqs.shape()[1], P = freqs.shape()[2];
  std::vector<double> dx(H * P, 0.0), dy(H * P, 0.0);
  accumulate_angles(fn, grad.rotation.query_angles, qp, H, P, "query_angles", dx, dy);
  accumulate_angles(fn, grad.rotation.key_angles, kp, H, P, "key_angles", dx, dy);
  Tensor d = Tensor::from_shape({2, H, P});
  for (std::size_t r = 0; r < H * P; ++r) {
    d.data()[r] = static_cast<float>(dx[r]);          // row 0: f_x, driven by the column x
    d.data()[H * P + r] = static_cast<float>(dy[r]);  // row 1: f_y, driven by the row y
  }
  return d;
}

Tensor rope_mixed_backward(const DTensor& positions, const Tensor& freqs, const EncodingGrad& grad) {
  return rope_mixed_backward(positions, positions, freqs, grad);
}

// ====================================================================== relative table resizing

Tensor resize_relative_bias_table_backward(const Tensor& d_out, std::int64_t wh, std::int64_t ww, std::int64_t nwh,
                                           std::int64_t nww) {
  const char* fn = "resize_relative_bias_table_backward";
  if (wh < 1 || ww < 1) detail::fail(fn, "old window must be positive, got ", wh, " x ", ww);
  if (nwh < 1 || nww < 1) detail::fail(fn, "parameter 'new_window' must be positive, got ", nwh, " x ", nww);
  const auto sh = static_cast<std::size_t>(2 * wh - 1), sw = static_cast<std::size_t>(2 * ww - 1);
  const auto dh = static_cast<std::size_t>(2 * nwh - 1), dw = static_cast<std::size_t>(2 * nww - 1);
  if (d_out.dimension() != 2 || d_out.shape()[0] == 0 || d_out.shape()[1] < dh * dw)
    detail::fail(fn, "parameter 'd_out' must be [H, ", dh * dw, " + extra] for a ", nwh, "x", nww, " window, got ",
                 shape_string(d_out));
  const std::size_t H = d_out.shape()[0], extra = d_out.shape()[1] - dh * dw;
  Tensor grid = Tensor::from_shape({dh, dw, H});  // heads as channels, as the forward
  for (std::size_t h = 0; h < H; ++h)
    for (std::size_t r = 0; r < dh * dw; ++r) grid.data()[r * H + h] = d_out(h, r);
  const Tensor g = resample_grid_backward(grid, static_cast<std::int64_t>(sh), static_cast<std::int64_t>(sw),
                                          {.interpolation = Interpolation::bicubic, .antialias = false});
  Tensor out = Tensor::from_shape({H, sh * sw + extra});
  for (std::size_t h = 0; h < H; ++h) {
    for (std::size_t r = 0; r < sh * sw; ++r) out(h, r) = g.data()[r * H + h];
    for (std::size_t e = 0; e < extra; ++e) out(h, sh * sw + e) = d_out(h, dh * dw + e);
  }
  return out;
}

}  // namespace posenc
