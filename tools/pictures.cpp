#include "pictures.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace posenc::plot {

Image similarity_grid(const Tensor& table, std::int64_t gh, std::int64_t gw, int cell, int gap) {
  const std::size_t n = static_cast<std::size_t>(gh * gw), d = table.shape()[1];
  std::vector<double> norm(n, 0.0);
  for (std::size_t a = 0; a < n; ++a) {
    for (std::size_t c = 0; c < d; ++c) norm[a] += static_cast<double>(table(a, c)) * table(a, c);
    norm[a] = std::sqrt(norm[a]);
  }
  const int block_w = static_cast<int>(gw) * cell + gap, block_h = static_cast<int>(gh) * cell + gap;
  const int width = static_cast<int>(gw) * block_w, height = static_cast<int>(gh) * block_h;
  std::vector<double> sim(static_cast<std::size_t>(width) * height, std::numeric_limits<double>::quiet_NaN());
  for (std::size_t a = 0; a < n; ++a)
    for (std::size_t b = 0; b < n; ++b) {
      double dot = 0;
      for (std::size_t c = 0; c < d; ++c) dot += static_cast<double>(table(a, c)) * table(b, c);
      const double s = norm[a] > 0 && norm[b] > 0 ? dot / (norm[a] * norm[b]) : 0.0;
      const int oy = static_cast<int>(a / gw) * block_h + static_cast<int>(b / gw) * cell;
      const int ox = static_cast<int>(a % gw) * block_w + static_cast<int>(b % gw) * cell;
      for (int dy = 0; dy < cell; ++dy)
        for (int dx = 0; dx < cell; ++dx) sim[static_cast<std::size_t>(oy + dy) * width + ox + dx] = s;
    }
  return heatmap(sim, height, width, 1);  // colours over the data range
}

Image mrope_ids_picture(const DTensor& ids, int cell) {
  const std::size_t len = ids.shape()[1];
  // Three bands separated by a grey (NaN) row.
  const int rows = 3 * 3 + 2;
  std::vector<double> v(static_cast<std::size_t>(rows) * len, std::numeric_limits<double>::quiet_NaN());
  double hi = 0;
  for (std::size_t a = 0; a < 3; ++a)
    for (std::size_t j = 0; j < len; ++j) {
      for (std::size_t r = 0; r < 3; ++r) v[(a * 4 + r) * len + j] = ids(a, j);
      hi = std::max(hi, ids(a, j));
    }
  return heatmap(v, rows, static_cast<int>(len), cell, 0.0, std::max(hi, 1.0));
}

DTensor demo_mrope_ids() {
  using K = MropeSegment::Kind;
  return mrope_position_ids({{.kind = K::text, .length = 3},
                             {.kind = K::vision, .t = 1, .h = 4, .w = 6},
                             {.kind = K::text, .length = 2},
                             {.kind = K::vision, .t = 2, .h = 4, .w = 4},
                             {.kind = K::text, .length = 3}});
}

Image patch_coverage(const SpectrogramPatching& p, std::int64_t frames, int cell) {
  const SpectrogramGrid g = spectrogram_grid(p);
  const std::int64_t f_bins = p.frequency_bins;
  std::vector<double> count(static_cast<std::size_t>(f_bins * frames), 0.0);
  for (std::int64_t fi = 0; fi < g.f_dim; ++fi)
    for (std::int64_t ti = 0; ti < g.t_dim; ++ti) {
      const std::int64_t t0 = ti * p.stride_time;
      if (t0 >= frames) break;
      for (std::int64_t f = fi * p.stride_frequency; f < fi * p.stride_frequency + p.patch_frequency; ++f)
        for (std::int64_t t = t0; t < std::min(frames, t0 + p.patch_time); ++t)
          count[static_cast<std::size_t>((f_bins - 1 - f) * frames + t)] += 1;  // high bins on top
    }
  for (auto& c : count)
    if (c == 0) c = std::numeric_limits<double>::quiet_NaN();  // bins no patch reaches: grey
  return heatmap(count, static_cast<int>(f_bins), static_cast<int>(frames), cell, 0.0, 4.0);
}

Image world_map(const std::vector<double>& values, std::int64_t nlat, std::int64_t nlon, int cell, bool symmetric) {
  double lo = 0, hi = 0;
  if (symmetric) {
    double m = 0;
    for (double v : values)
      if (std::isfinite(v)) m = std::max(m, std::abs(v));
    lo = -m;
    hi = m;
  }
  return heatmap(values, static_cast<int>(nlat), static_cast<int>(nlon), cell, lo, hi);
}

std::vector<double> harmonic_on_grid(int l, int m, std::int64_t nlat, std::int64_t nlon) {
  const DTensor pts = latlon_grid(nlat, nlon, LatLonGrid::without_poles);
  const Tensor y = spherical_harmonics(pts, {.degree = l + 1});
  const std::size_t col = static_cast<std::size_t>(l * l + l + m);
  std::vector<double> v(pts.shape()[0]);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = y(i, col);
  return v;
}

std::vector<double> geodesic_bias_on_grid(double lon, double lat, std::int64_t nlat, std::int64_t nlon,
                                          std::int64_t heads, std::int64_t head) {
  const DTensor grid = latlon_grid(nlat, nlon, LatLonGrid::without_poles);
  DTensor from = DTensor::from_shape({1, 2});
  from(0, 0) = lon;
  from(0, 1) = lat;
  const DTensor d = geodesic_distances(from, grid);
  const double m = alibi_slopes(heads)[static_cast<std::size_t>(head)];
  std::vector<double> v(grid.shape()[0]);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = -m * d(0, i);
  return v;
}

}  // namespace posenc::plot
