// Backward passes of the learnable video tables: TimeSformer's space and time
// tables, and the adjoints of the linear table maps (ViViT's initialisation
// from an image table, aligned-corner time interpolation, time resampling).
#include <algorithm>
#include <cmath>

#include "detail/check.hpp"
#include "detail/grad_parts.hpp"
#include "detail/linear_taps.hpp"
#include "posenc/gradients.hpp"
#include "posenc/video.hpp"
#include "grid_check.hpp"

namespace posenc {

namespace {

using detail::check_video_grid;

/// Adjoint of the forward's aligned-corner linear zoom (scipy.ndimage.zoom order 1) along the
/// middle axis of a row-major [outer, m, inner] array -> [outer, n, inner], with the forward's taps.
std::vector<double> zoom_axis_adjoint(const std::vector<double>& d_out, std::size_t outer, std::size_t n,
                                      std::size_t inner, std::size_t m) {
  std::vector<double> d_in(outer * n * inner, 0.0);
  const auto taps = detail::aligned_zoom_taps(n, m);
  for (std::size_t o = 0; o < m; ++o) {
    const auto [a, b, wb] = taps[o];
    for (std::size_t r = 0; r < outer; ++r)
      for (std::size_t c = 0; c < inner; ++c) {
        const double g = d_out[(r * m + o) * inner + c];
        d_in[(r * n + a) * inner + c] += (1 - wb) * g;
        d_in[(r * n + b) * inner + c] += wb * g;
      }
  }
  return d_in;
}

}  // namespace

// ====================================================================== TimeSformer

TimesformerGrad timesformer_backward(const Tensor& space, const Tensor& time, const TimesformerOptions& o,
                                     const EncodingGrad& grad) {
  const char* fn = "timesformer_backward";
  check_video_grid(fn, {o.frames, o.height, o.width});
  if (space.dimension() != 2 || space.shape()[0] < 2 || space.shape()[1] == 0)
    detail::fail(fn, "parameter 'space_table' must be [1 + Hs*Ws, D], got ", shape_string(space));
  const std::size_t D = space.shape()[1], ns_old = space.shape()[0] - 1;
  const auto H = static_cast<std::size_t>(o.height), W = static_cast<std::size_t>(o.width), Ns = H * W;
  const std::size_t F = o.space_only ? 1 : static_cast<std::size_t>(o.frames);
  if (!o.space_only && (time.dimension() != 2 || time.shape()[0] == 0 || time.shape()[1] != D))
    detail::fail(fn, "parameter 'time_table' must be [F, ", D, "], got ", shape_string(time));
  const Tensor& g = detail::input_add_grad(fn, grad, 1 + Ns * F, D);
  // Token 1 + n F + t = grid[n] + time'[t]; token 0 = space[0].
  std::vector<double> dgrid(Ns * D, 0.0), dtime(F * D, 0.0);
  for (std::size_t n = 0; n < Ns; ++n)
    for (std::size_t t = 0; t < F; ++t) {
      const float* row = g.data() + (1 + n * F + t) * D;
      for (std::size_t c = 0; c < D; ++c) {
        dgrid[n * D + c] += row[c];
        dtime[t * D + c] += row[c];
      }
    }
  const ResampleOptions nearest{.interpolation = Interpolation::nearest, .antialias = false};
  TimesformerGrad out;
  out.space_table = Tensor::from_shape({1 + ns_old, D});
  std::copy_n(g.data(), D, out.space_table.data());
  Tensor dg = detail::float_grad(dgrid, {H, W, D});
  if (ns_old != Ns) {
    const auto side = static_cast<std::size_t>(std::llround(std::sqrt(static_cast<double>(ns_old))));
    if (side * side != ns_old)
      detail::fail(fn, "parameter 'space_table' has ", ns_old, " patch rows: not a square grid, cannot resize to ",
                   o.height, "x", o.width);
    dg = resample_grid_backward(dg, static_cast<std::int64_t>(side), static_cast<std::int64_t>(side), nearest);
  }
  std::copy_n(dg.data(), ns_old * D, out.space_table.data() + D);
  if (o.space_only) {
    if (is_set(time)) out.time_table = xt::zeros<float>(Shape(time.shape().begin(), time.shape().end()));
    return out;
  }
  const Tensor dt = detail::float_grad(dtime, {F, D});
  out.time_table = time.shape()[0] == F ? dt : resample_time_backward(dt, static_cast<std::int64_t>(time.shape()[0]), nearest);
  return out;
}

// ====================================================================== ViViT

Tensor interpolate_time_aligned_backward(const Tensor& d_out, std::int64_t frames) {
  const char* fn = "interpolate_time_aligned_backward";
  if (d_out.dimension() != 2 || d_out.shape()[0] == 0 || d_out.shape()[1] == 0)
    detail::fail(fn, "parameter 'd_out' must be [new_T, D], got ", shape_string(d_out));
  if (frames < 1) detail::fail(fn, "parameter 'frames' must be positive, got ", frames);
  const std::size_t M = d_out.shape()[0], D = d_out.shape()[1], T = static_cast<std::size_t>(frames);
  const std::vector<double> g(d_out.begin(), d_out.end());
  return detail::float_grad(zoom_axis_adjoint(g, 1, T, D, M), {T, D});
}

Tensor vivit_table_from_image_backward(const Tensor& d_out, std::int64_t h, std::int64_t w, const VideoGrid& g,
                                       std::int64_t prefix, VivitInit init) {
  const char* fn = "vivit_table_from_image_backward";
  check_video_grid(fn, g);
  check_video_grid(fn, {1, h, w});
  if (prefix < 0) detail::fail(fn, "parameter 'prefix_tokens' must be >= 0, got ", prefix);
  if (init == VivitInit::tile && (g.h != h || g.w != w))
    detail::fail(fn, "init 'tile' keeps the grid: target ", g.h, "x", g.w, " must equal the image grid ", h, "x", w);
  const auto P = static_cast<std::size_t>(prefix), n_new = static_cast<std::size_t>(g.h * g.w);
  const auto T = static_cast<std::size_t>(g.t);
  if (d_out.dimension() != 2 || d_out.shape()[0] != P + T * n_new || d_out.shape()[1] == 0)
    detail::fail(fn, "parameter 'd_out' must be [", prefix, " + ", g.t, "*", g.h, "*", g.w, ", D], got ",
                 shape_string(d_out));
  const std::size_t D = d_out.shape()[1];
  // Every frame copied the same grid: its gradient is the sum over the frames.
  std::vector<double> frame(n_new * D, 0.0);
  for (std::size_t t = 0; t < T; ++t)
    for (std::size_t i = 0; i < n_new * D; ++i) frame[i] += d_out.data()[(P + t * n_new) * D + i];
  if (init != VivitInit::tile) {  // forward: zoom the rows (h -> h'), then the columns (w -> w')
    const auto uh = static_cast<std::size_t>(h), uw = static_cast<std::size_t>(w);
    frame = zoom_axis_adjoint(frame, static_cast<std::size_t>(g.h), uw, D, static_cast<std::size_t>(g.w));
    frame = zoom_axis_adjoint(frame, 1, uh, uw * D, static_cast<std::size_t>(g.h));
  }
  Tensor out = Tensor::from_shape({P + static_cast<std::size_t>(h * w), D});
  std::copy_n(d_out.data(), P * D, out.data());  // prefix rows pass through
  std::transform(frame.begin(), frame.end(), out.data() + P * D, [](double x) { return static_cast<float>(x); });
  return out;
}

// ====================================================================== time resampling

Tensor resample_time_backward(const Tensor& d_out, std::int64_t frames, const ResampleOptions& options) {
  const char* fn = "resample_time_backward";
  if (d_out.dimension() != 2 || d_out.shape()[0] == 0 || d_out.shape()[1] == 0)
    detail::fail(fn, "parameter 'd_out' must be [new_T, D], got ", shape_string(d_out));
  if (frames < 1) detail::fail(fn, "parameter 'frames' must be positive, got ", frames);
  Tensor g = d_out;
  g.reshape({d_out.shape()[0], 1, d_out.shape()[1]});
  Tensor out = resample_grid_backward(g, frames, 1, options);
  out.reshape({static_cast<std::size_t>(frames), d_out.shape()[1]});
  return out;
}

}  // namespace posenc
