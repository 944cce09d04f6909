// Linear-interpolation taps shared by a resampling and its adjoint: output sample o reads
// (1 - wb) in[a] + wb in[b], and the adjoint scatters its gradient back with the same weights.
// Also the centre-crop window (a tap of weight one per output cell).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace posenc::detail {

/// One linear tap pair: source samples a and b, weight wb on b (1 - wb on a).
struct LinearTap {
  std::size_t a, b;
  double wb;
};

/// Linear interpolation with corners aligned (scipy.ndimage.zoom, order 1) from n samples to m:
/// new sample o sits at u = o (n - 1)/(m - 1) between a = floor(u) and b = min(a + 1, n - 1).
inline std::vector<LinearTap> aligned_zoom_taps(std::size_t n, std::size_t m) {
  std::vector<LinearTap> taps(m);
  const double step = m > 1 ? static_cast<double>(n - 1) / static_cast<double>(m - 1) : 0.0;
  for (std::size_t o = 0; o < m; ++o) {
    const double u = static_cast<double>(o) * step;
    const auto a = std::min(static_cast<std::size_t>(u), n - 1);
    taps[o] = {a, std::min(a + 1, n - 1), u - static_cast<double>(a)};
  }
  return taps;
}

/// Linear taps of the coordinates `dst` in the strictly decreasing coordinates `src`: each
/// target is bracketed between two neighbours, and clamped to the first or last beyond them.
inline std::vector<LinearTap> decreasing_taps(const std::vector<double>& src, const std::vector<double>& dst) {
  std::vector<LinearTap> taps(dst.size(), LinearTap{0, 0, 0.0});
  for (std::size_t o = 0; o < taps.size(); ++o) {
    const double t = dst[o];
    if (t >= src.front()) continue;
    if (t <= src.back()) {
      taps[o] = {src.size() - 1, src.size() - 1, 0.0};
      continue;
    }
    std::size_t a = 0;
    while (src[a + 1] > t) ++a;
    taps[o] = {a, a + 1, (src[a] - t) / (src[a] - src[a + 1])};
  }
  return taps;
}

/// Periodic linear taps from n equally spaced samples (x_j = j / n of the period) to m.
inline std::vector<LinearTap> periodic_taps(std::int64_t n, std::int64_t m) {
  std::vector<LinearTap> taps(static_cast<std::size_t>(m));
  const auto period = static_cast<std::size_t>(n);
  for (std::size_t o = 0; o < taps.size(); ++o) {
    const double u = static_cast<double>(o) * static_cast<double>(n) / static_cast<double>(m);
    const double fl = std::floor(u);
    const auto a = static_cast<std::size_t>(fl) % period;
    taps[o] = {a, (a + 1) % period, u - fl};
  }
  return taps;
}

/// A centre crop of one axis of a row-major [rows, cols, C] grid to n cells along `axis`
/// (0 = rows, 1 = cols): for every cell of the cropped grid, in order, the index of the cell of
/// the full grid it copies. The window is [old/2 - n/2, + n) with old the axis' full size.
inline std::vector<std::size_t> centre_crop_cells(std::int64_t rows, std::int64_t cols, int axis, std::int64_t n) {
  const std::int64_t old = axis == 0 ? rows : cols, start = old / 2 - n / 2;
  const std::int64_t R = axis == 0 ? n : rows, W = axis == 0 ? cols : n;
  std::vector<std::size_t> cells;
  cells.reserve(static_cast<std::size_t>(R * W));
  for (std::int64_t r = 0; r < R; ++r)
    for (std::int64_t c = 0; c < W; ++c) {
      const std::int64_t sr = axis == 0 ? r + start : r, sc = axis == 0 ? c : c + start;
      cells.push_back(static_cast<std::size_t>(sr * cols + sc));
    }
  return cells;
}

}  // namespace posenc::detail
