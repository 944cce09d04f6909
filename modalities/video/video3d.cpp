// Video grids and the 3D schemes: tubelets, TimeSformer, ViViT initialisation,
// 3D sin-cos, VideoMAE's sinusoid, 3D axial RoPE and resampling along time.
#include <cmath>

#include "detail/check.hpp"
#include "detail/init.hpp"
#include "detail/linear_taps.hpp"
#include "posenc/sinusoid.hpp"
#include "posenc/video.hpp"
#include "grid_check.hpp"

namespace posenc {

namespace {

using detail::check_video_grid;

/// Linear interpolation with corners aligned (scipy.ndimage.zoom, order 1) along one axis of a
/// row-major [outer, n, inner] array -> [outer, m, inner] (taps shared with the adjoint).
std::vector<double> zoom_axis(const std::vector<double>& in, std::size_t outer, std::size_t n, std::size_t inner,
                              std::size_t m) {
  std::vector<double> out(outer * m * inner);
  const auto taps = detail::aligned_zoom_taps(n, m);
  for (std::size_t o = 0; o < m; ++o) {
    const auto [a, b, wb] = taps[o];
    for (std::size_t r = 0; r < outer; ++r)
      for (std::size_t c = 0; c < inner; ++c)
        out[(r * m + o) * inner + c] = (1 - wb) * in[(r * n + a) * inner + c] + wb * in[(r * n + b) * inner + c];
  }
  return out;
}

}  // namespace

// ====================================================================== grids

DTensor video_positions(std::int64_t frames, std::int64_t height, std::int64_t width, std::int64_t prefix) {
  const char* fn = "video_positions";
  check_video_grid(fn, {frames, height, width});
  if (prefix < 0) detail::fail(fn, "parameter 'prefix_tokens' must be >= 0, got ", prefix);
  DTensor p = xt::zeros<double>(Shape{1, static_cast<std::size_t>(prefix + frames * height * width), 3});
  std::size_t r = static_cast<std::size_t>(prefix);
  for (std::int64_t t = 0; t < frames; ++t)
    for (std::int64_t y = 0; y < height; ++y)
      for (std::int64_t x = 0; x < width; ++x, ++r) {
        p(0, r, 0) = static_cast<double>(t);
        p(0, r, 1) = static_cast<double>(y);
        p(0, r, 2) = static_cast<double>(x);
      }
  return p;
}

VideoGrid tubelet_grid(const TubeletPatching& p) {
  const char* fn = "tubelet_grid";
  const struct { const char* size_name; std::int64_t size; const char* patch_name; std::int64_t patch; } axes[] = {
      {"frames", p.frames, "tubelet_time", p.tubelet_time},
      {"height", p.height, "patch_height", p.patch_height},
      {"width", p.width, "patch_width", p.patch_width}};
  for (const auto& a : axes) {
    if (a.patch <= 0) detail::fail(fn, "parameter '", a.patch_name, "' must be positive, got ", a.patch);
    if (a.size <= 0) detail::fail(fn, "parameter '", a.size_name, "' must be positive, got ", a.size);
    if (a.size % a.patch != 0)
      detail::fail(fn, "parameter '", a.size_name, "' = ", a.size, " does not divide into ", a.patch_name, " = ",
                   a.patch, " (remainder ", a.size % a.patch, ")");
  }
  return {p.frames / p.tubelet_time, p.height / p.patch_height, p.width / p.patch_width};
}

// ====================================================================== TimeSformer

Encoding timesformer(const Tensor& space, const Tensor& time, const TimesformerOptions& o) {
  const char* fn = "timesformer";
  check_video_grid(fn, {o.frames, o.height, o.width});
  if (space.dimension() != 2 || space.shape()[0] < 2 || space.shape()[1] == 0)
    detail::fail(fn, "parameter 'space_table' must be [1 + Hs*Ws, D], got ", shape_string(space));
  const std::size_t D = space.shape()[1], ns_old = space.shape()[0] - 1;
  const auto side = static_cast<std::int64_t>(std::llround(std::sqrt(static_cast<double>(ns_old))));
  const auto H = static_cast<std::size_t>(o.height), W = static_cast<std::size_t>(o.width), Ns = H * W;
  const ResampleOptions nearest{.interpolation = Interpolation::nearest, .antialias = false};
  // The spatial rows, resized when the grid differs (the old grid is square, as the reference assumes).
  Tensor grid = Tensor::from_shape({ns_old, D});
  std::copy_n(space.data() + D, ns_old * D, grid.data());
  if (ns_old != Ns) {
    if (static_cast<std::size_t>(side * side) != ns_old)
      detail::fail(fn, "parameter 'space_table' has ", ns_old, " patch rows: not a square grid, cannot resize to ",
                   o.height, "x", o.width);
    grid.reshape({static_cast<std::size_t>(side), static_cast<std::size_t>(side), D});
    grid = resample_grid(grid, o.height, o.width, nearest);
    grid.reshape({Ns, D});
  }
  Encoding e;
  e.name = "timesformer";
  if (o.space_only) {
    e.input_add = Tensor::from_shape({1, 1 + Ns, D});
    std::copy_n(space.data(), D, e.input_add.data());
    std::copy_n(grid.data(), Ns * D, e.input_add.data() + D);
    return e;
  }
  if (time.dimension() != 2 || time.shape()[0] == 0 || time.shape()[1] != D)
    detail::fail(fn, "parameter 'time_table' must be [F, ", D, "], got ", shape_string(time));
  const Tensor tt = time.shape()[0] == static_cast<std::size_t>(o.frames) ? time : resample_time(time, o.frames, nearest);
  const auto F = static_cast<std::size_t>(o.frames);
  e.input_add = Tensor::from_shape({1, 1 + Ns * F, D});
  float* out = e.input_add.data();
  std::copy_n(space.data(), D, out);
  for (std::size_t n = 0; n < Ns; ++n)
    for (std::size_t t = 0; t < F; ++t) {
      float* row = out + (1 + n * F + t) * D;
      for (std::size_t c = 0; c < D; ++c) row[c] = grid(n, c) + tt(t, c);
    }
  return e;
}

// ====================================================================== ViViT

Tensor interpolate_time_aligned(const Tensor& table, std::int64_t new_frames) {
  const char* fn = "interpolate_time_aligned";
  if (table.dimension() != 2 || table.shape()[0] == 0 || table.shape()[1] == 0)
    detail::fail(fn, "parameter 'table' must be [T, D], got ", shape_string(table));
  if (new_frames < 1) detail::fail(fn, "parameter 'new_frames' must be positive, got ", new_frames);
  const std::size_t T = table.shape()[0], D = table.shape()[1];
  const std::vector<double> in(table.begin(), table.end());
  const auto z = zoom_axis(in, 1, T, D, static_cast<std::size_t>(new_frames));
  Tensor out = Tensor::from_shape({static_cast<std::size_t>(new_frames), D});
  for (std::size_t i = 0; i < z.size(); ++i) out.data()[i] = static_cast<float>(z[i]);
  return out;
}

Tensor vivit_table_from_image(const Tensor& image, std::int64_t h, std::int64_t w, const VideoGrid& g,
                              std::int64_t prefix, VivitInit init) {
  const char* fn = "vivit_table_from_image";
  check_video_grid(fn, g);
  check_video_grid(fn, {1, h, w});
  if (prefix < 0) detail::fail(fn, "parameter 'prefix_tokens' must be >= 0, got ", prefix);
  const auto P = static_cast<std::size_t>(prefix), n_old = static_cast<std::size_t>(h * w);
  if (image.dimension() != 2 || image.shape()[0] != P + n_old || image.shape()[1] == 0)
    detail::fail(fn, "parameter 'image_table' must be [", prefix, " + ", h, "*", w, ", D], got ", shape_string(image));
  if (init == VivitInit::tile && (g.h != h || g.w != w))
    detail::fail(fn, "init 'tile' keeps the grid: target ", g.h, "x", g.w, " must equal the image grid ", h, "x", w);
  const std::size_t D = image.shape()[1], n_new = static_cast<std::size_t>(g.h * g.w);
  std::vector<double> frame(image.begin() + static_cast<std::ptrdiff_t>(P * D), image.end());
  if (init != VivitInit::tile) {
    frame = zoom_axis(frame, 1, static_cast<std::size_t>(h), static_cast<std::size_t>(w) * D, static_cast<std::size_t>(g.h));
    frame = zoom_axis(frame, static_cast<std::size_t>(g.h), static_cast<std::size_t>(w), D, static_cast<std::size_t>(g.w));
  }
  Tensor out = Tensor::from_shape({P + static_cast<std::size_t>(g.t) * n_new, D});
  std::copy_n(image.data(), P * D, out.data());
  for (std::size_t t = 0; t < static_cast<std::size_t>(g.t); ++t)
    for (std::size_t i = 0; i < n_new * D; ++i) out.data()[(P + t * n_new) * D + i] = static_cast<float>(frame[i]);
  return out;
}

// ====================================================================== 3D sin-cos, VideoMAE

namespace {

/// The table [prefix + T*H*W, C]: returned, or written into *out (size checked) when out is given.
Tensor sincos_3d_impl(const char* fn, const SinCos3dOptions& o, std::span<float>* out) {
  check_video_grid(fn, o.grid);
  if (o.prefix_tokens < 0) detail::fail(fn, "parameter 'prefix_tokens' must be >= 0, got ", o.prefix_tokens);
  if (!(o.temperature > 1) || !std::isfinite(o.temperature))
    detail::fail(fn, "parameter 'temperature' must be finite and > 1, got ", o.temperature);
  const bool scenic = o.layout == SinCos3dLayout::scenic;
  if (o.dim <= 0 || (scenic && o.dim % 6 != 0))
    detail::fail(fn, "parameter 'dim' must be a positive multiple of 6 (sin and cos on 3 axes), got ", o.dim);
  const auto C = static_cast<std::size_t>(o.dim), P = static_cast<std::size_t>(o.prefix_tokens);
  // Per-axis frequency count q and channel block width.
  std::size_t q, block;
  std::vector<double> w;
  if (scenic) {
    q = C / 6;
    block = 2 * q;
    for (std::size_t k = 0; k < q; ++k) w.push_back(std::pow(o.temperature, -static_cast<double>(k) / static_cast<double>(q)));
  } else {
    block = 2 * ((C + 5) / 6);  // 2 ceil(C/6), even
    q = block / 2;
    for (std::size_t k = 0; k < q; ++k)
      w.push_back(std::pow(o.temperature, -static_cast<double>(2 * k) / static_cast<double>(block)));
  }
  const std::size_t rows = P + static_cast<std::size_t>(o.grid.tokens());
  Tensor table;
  float* into = detail::table_target(fn, out, table, rows, C);
  std::fill_n(into, P * C, 0.0f);
  std::vector<double> row(3 * block);
  std::size_t r = P;
  for (std::int64_t t = 0; t < o.grid.t; ++t)
    for (std::int64_t y = 0; y < o.grid.h; ++y)
      for (std::int64_t x = 0; x < o.grid.w; ++x, ++r) {
        // scenic: blocks t, x, y each [sin | cos]; positional-encodings: blocks t, y, x each interleaved.
        const double pos[3] = {static_cast<double>(t), static_cast<double>(scenic ? x : y),
                               static_cast<double>(scenic ? y : x)};
        for (std::size_t a = 0; a < 3; ++a)
          for (std::size_t k = 0; k < q; ++k) {
            const double s = std::sin(pos[a] * w[k]), c = std::cos(pos[a] * w[k]);
            if (scenic) {
              row[a * block + k] = s;
              row[a * block + q + k] = c;
            } else {
              row[a * block + 2 * k] = s;
              row[a * block + 2 * k + 1] = c;
            }
          }
        for (std::size_t c = 0; c < C; ++c) into[r * C + c] = static_cast<float>(row[c]);
      }
  return table;
}

}  // namespace

Tensor sincos_3d_table(const SinCos3dOptions& o) { return sincos_3d_impl("sincos_3d", o, nullptr); }

void sincos_3d_table_into(const SinCos3dOptions& o, std::span<float> out) {
  sincos_3d_impl("sincos_3d_table_into", o, &out);
}

Encoding sincos_3d(const SinCos3dOptions& o) {
  return detail::table_part("sincos_3d", sincos_3d_table(o));
}

Encoding videomae_sinusoid(const VideoGrid& g, std::int64_t dim) {
  const char* fn = "videomae_sinusoid";
  check_video_grid(fn, g);
  if (dim <= 0) detail::fail(fn, "parameter 'dim' must be positive, got ", dim);
  return detail::table_part("videomae_sinusoid", sinusoid_table(g.tokens(), SinusoidOptions{.dim = dim}));
}

// ====================================================================== 3D axial RoPE

namespace {
std::vector<std::int64_t> rope3d_sections(const char* fn, const Rope3dOptions& o) {
  if (o.head_dim <= 0 || o.head_dim % 2 != 0)
    detail::fail(fn, "parameter 'head_dim' must be positive and even, got ", o.head_dim);
  const std::int64_t P = o.head_dim / 2;
  if (o.sections.empty()) {
    if (P < 3) detail::fail(fn, "parameter 'head_dim' = ", o.head_dim, " has fewer than 3 pairs for 3 axes");
    return {P - 2 * (P / 3), P / 3, P / 3};
  }
  if (o.sections.size() != 3) detail::fail(fn, "parameter 'sections' must have 3 entries (t, h, w), got ", o.sections.size());
  std::int64_t sum = 0;
  for (auto s : o.sections) {
    if (s <= 0) detail::fail(fn, "parameter 'sections' entries must be positive, got ", s);
    sum += s;
  }
  if (sum != P)
    detail::fail(fn, "parameter 'sections' sums to ", sum, " but head_dim / 2 = ", P, " rotary pairs");
  return o.sections;
}

DTensor rope3d_angles(const char* fn, const DTensor& p, const std::vector<std::int64_t>& sec, double base,
                      const char* name) {
  if (p.dimension() != 3 || p.shape()[2] != 3 || p.shape()[1] == 0)
    detail::fail(fn, "parameter '", name, "' must be [B|1, tokens, 3] (t, y, x), got ", shape_string(p));
  std::vector<double> theta;
  std::vector<std::size_t> axis;
  for (std::size_t a = 0; a < 3; ++a)
    for (std::int64_t k = 0; k < sec[a]; ++k) {
      theta.push_back(std::pow(base, -static_cast<double>(k) / static_cast<double>(sec[a])));
      axis.push_back(a);
    }
  const std::size_t pairs = theta.size(), rows = p.shape()[0] * p.shape()[1];
  DTensor out = DTensor::from_shape({p.shape()[0], 1, p.shape()[1], pairs});
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t k = 0; k < pairs; ++k) out.data()[r * pairs + k] = p.data()[r * 3 + axis[k]] * theta[k];
  return out;
}
}  // namespace

Encoding rope_3d(const DTensor& qp, const DTensor& kp, const Rope3dOptions& o) {
  const char* fn = "rope_3d";
  const auto sec = rope3d_sections(fn, o);
  if (!(o.base > 1) || !std::isfinite(o.base)) detail::fail(fn, "parameter 'base' must be finite and > 1, got ", o.base);
  Encoding e;
  e.name = "rope_3d";
  e.rotation.layout = o.layout;
  e.rotation.pairs = o.head_dim / 2;
  e.rotation.query_angles = rope3d_angles(fn, qp, sec, o.base, "query_positions");
  e.rotation.key_angles = rope3d_angles(fn, kp, sec, o.base, "key_positions");
  return e;
}

Encoding rope_3d(const DTensor& positions, const Rope3dOptions& o) { return rope_3d(positions, positions, o); }

// ====================================================================== time resampling

Tensor resample_time(const Tensor& table, std::int64_t new_frames, const ResampleOptions& options) {
  const char* fn = "resample_time";
  if (table.dimension() != 2 || table.shape()[0] == 0 || table.shape()[1] == 0)
    detail::fail(fn, "parameter 'table' must be [T, D], got ", shape_string(table));
  if (new_frames < 1) detail::fail(fn, "parameter 'new_frames' must be positive, got ", new_frames);
  Tensor g = table;
  g.reshape({table.shape()[0], 1, table.shape()[1]});
  Tensor out = resample_grid(g, new_frames, 1, options);
  out.reshape({static_cast<std::size_t>(new_frames), table.shape()[1]});
  return out;
}

}  // namespace posenc
