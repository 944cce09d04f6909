#include "plot.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

#include "posenc/npy.hpp"

namespace posenc::plot {

namespace {

// Viridis sampled at 9 points (van der Walt & Smith, matplotlib's default map).
constexpr double kViridis[9][3] = {{68, 1, 84},    {71, 44, 122},  {59, 81, 139},   {44, 113, 142}, {33, 144, 141},
                                   {39, 173, 129}, {92, 200, 99},  {170, 220, 50},  {253, 231, 37}};

void colour(double t, std::uint8_t out[3]) {
  t = std::clamp(t, 0.0, 1.0) * 8.0;
  const int i = std::min(static_cast<int>(t), 7);
  const double f = t - i;
  for (int c = 0; c < 3; ++c)
    out[c] = static_cast<std::uint8_t>(std::lround(kViridis[i][c] * (1 - f) + kViridis[i + 1][c] * f));
}

void write_callback(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<std::size_t>(size));
}

}  // namespace

void Image::set(int x, int y, const std::uint8_t c[3]) {
  if (x < 0 || y < 0 || x >= width || y >= height) return;
  std::uint8_t* p = rgb.data() + (static_cast<std::size_t>(y) * width + x) * 3;
  p[0] = c[0];
  p[1] = c[1];
  p[2] = c[2];
}

void viridis(double t, std::uint8_t out[3]) { colour(t, out); }

void draw_line(Image& img, double x0, double y0, double x1, double y1, const std::uint8_t c[3]) {
  const int steps = static_cast<int>(std::ceil(std::max(std::abs(x1 - x0), std::abs(y1 - y0)))) + 1;
  for (int s = 0; s <= steps; ++s) {
    const double t = static_cast<double>(s) / steps;
    img.set(static_cast<int>(std::lround(x0 + t * (x1 - x0))), static_cast<int>(std::lround(y0 + t * (y1 - y0))), c);
  }
}

void fill_disc(Image& img, double cx, double cy, double r, const std::uint8_t fill[3], const std::uint8_t border[3]) {
  for (int y = static_cast<int>(cy - r - 1); y <= static_cast<int>(cy + r + 1); ++y)
    for (int x = static_cast<int>(cx - r - 1); x <= static_cast<int>(cx + r + 1); ++x) {
      const double d = std::hypot(x - cx, y - cy);
      if (d <= r - 1) img.set(x, y, fill);
      else if (d <= r) img.set(x, y, border);
    }
}

Image heatmap(const std::vector<double>& v, int rows, int cols, int cell, double lo, double hi) {
  if (lo == hi) {
    lo = INFINITY;
    hi = -INFINITY;
    for (double x : v)
      if (std::isfinite(x)) {
        lo = std::min(lo, x);
        hi = std::max(hi, x);
      }
    if (!(hi > lo)) hi = lo + 1;
  }
  Image img(cols * cell, rows * cell);
  const std::uint8_t grey[3] = {200, 200, 200};
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      const double x = v[static_cast<std::size_t>(r) * cols + c];
      std::uint8_t px[3];
      if (std::isfinite(x)) colour((x - lo) / (hi - lo), px);
      for (int dy = 0; dy < cell; ++dy)
        for (int dx = 0; dx < cell; ++dx) img.set(c * cell + dx, r * cell + dy, std::isfinite(x) ? px : grey);
    }
  return img;
}

Image line_chart(const std::vector<double>& y, int width, int height) {
  return line_chart(std::vector<std::vector<double>>{y}, width, height);
}

Image line_chart(const std::vector<std::vector<double>>& series, int width, int height) {
  // Tableau-like palette.
  constexpr std::uint8_t kColours[6][3] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},
                                           {214, 39, 40},  {148, 103, 189}, {140, 86, 75}};
  Image img(width, height);
  const int m = 20;  // margin
  const std::uint8_t axis[3] = {0, 0, 0};
  for (int x = m; x < width - m; ++x) img.set(x, height - m, axis);
  for (int yy = m; yy <= height - m; ++yy) img.set(m, yy, axis);
  double lo = 0, hi = -INFINITY;
  std::size_t longest = 0;
  for (const auto& y : series) {
    for (double v : y) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    longest = std::max(longest, y.size());
  }
  if (longest < 2) return img;
  if (!(hi > lo)) hi = lo + 1;
  auto px = [&](std::size_t i) { return m + static_cast<double>(i) * (width - 2 * m - 1) / (longest - 1); };
  auto py = [&](double v) { return height - m - (v - lo) / (hi - lo) * (height - 2 * m); };
  for (std::size_t s = 0; s < series.size(); ++s) {
    const auto& y = series[s];
    const std::uint8_t* line = kColours[s % 6];
    for (std::size_t i = 0; i + 1 < y.size(); ++i) {
      const double x0 = px(i), y0 = py(y[i]), x1 = px(i + 1), y1 = py(y[i + 1]);
      const int steps = static_cast<int>(std::max(std::abs(x1 - x0), std::abs(y1 - y0))) + 1;
      for (int t = 0; t <= steps; ++t) {
        const double f = static_cast<double>(t) / steps;
        const int xx = static_cast<int>(std::lround(x0 + (x1 - x0) * f));
        const int yy = static_cast<int>(std::lround(y0 + (y1 - y0) * f));
        img.set(xx, yy, line);
        img.set(xx, yy + 1, line);
      }
    }
  }
  return img;
}

Image hstack(const std::vector<Image>& panels, int gap) {
  int w = 0, h = 0;
  for (const auto& p : panels) {
    w += p.width + gap;
    h = std::max(h, p.height);
  }
  Image out(std::max(w - gap, 1), std::max(h, 1));
  int at = 0;
  for (const auto& p : panels) {
    for (int y = 0; y < p.height; ++y)
      for (int x = 0; x < p.width; ++x) out.set(at + x, y, p.rgb.data() + (static_cast<std::size_t>(y) * p.width + x) * 3);
    at += p.width + gap;
  }
  return out;
}

void write_png(const std::string& path, const Image& img) {
  std::string bytes;
  if (!stbi_write_png_to_func(write_callback, &bytes, img.width, img.height, 3, img.rgb.data(), img.width * 3))
    throw std::runtime_error("write_png: encoding '" + path + "' failed");
  write_file_atomic(path, bytes);
}

}  // namespace posenc::plot
