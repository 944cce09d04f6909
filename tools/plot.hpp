// Small picture helpers for the command line and the examples (not public API):
// heatmaps with a perceptual colour map, line charts, and panels side by side,
// written as PNG through stb_image_write.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace posenc::plot {

/// An RGB image, row-major, 3 bytes per pixel.
struct Image {
  int width = 0, height = 0;
  std::vector<std::uint8_t> rgb;
  Image() = default;
  Image(int w, int h, std::uint8_t fill = 255) : width(w), height(h), rgb(static_cast<std::size_t>(w) * h * 3, fill) {}
  void set(int x, int y, const std::uint8_t c[3]);
};

/// Heatmap of a rows x cols matrix (row-major), each cell `cell` pixels; values
/// mapped linearly from [lo, hi] (lo == hi: the data range) onto viridis.
/// Non-finite values (masked entries) are drawn grey.
Image heatmap(const std::vector<double>& values, int rows, int cols, int cell = 4, double lo = 0, double hi = 0);

/// Line chart of y against its index, `width` x `height` pixels, with axes.
Image line_chart(const std::vector<double>& y, int width = 480, int height = 240);
/// Several series on shared axes, each in its own colour (first: blue, then orange, green, red, purple, ...).
Image line_chart(const std::vector<std::vector<double>>& series, int width = 480, int height = 240);

/// The viridis colour of t in [0, 1] (clamped).
void viridis(double t, std::uint8_t out[3]);
/// A line from (x0, y0) to (x1, y1) in pixels, one pixel wide.
void draw_line(Image& image, double x0, double y0, double x1, double y1, const std::uint8_t colour[3]);
/// A filled disc of radius r with a one-pixel border.
void fill_disc(Image& image, double cx, double cy, double r, const std::uint8_t fill[3], const std::uint8_t border[3]);

/// Panels left to right with a gap, on a white background.
Image hstack(const std::vector<Image>& panels, int gap = 12);

/// Write a PNG atomically (temporary file + rename). Throws std::runtime_error on failure.
void write_png(const std::string& path, const Image& image);

}  // namespace posenc::plot
