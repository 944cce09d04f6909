// Small picture helpers for the command line and the examples (not public API): figures a paper
// can use (title, axis labels, tick labels, a colorbar with values, legends), kept as a list of
// drawing operations and written as PNG and SVG through cairo (docs/gallery.md).
//
// Without cairo (POSENC_HAVE_CAIRO undefined: libcairo2-dev missing at configure time) the same
// figures are rasterised by a small built-in writer: PNG only, no text (ticks and frames without
// their labels), and one note on stderr the first time a picture is written.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace posenc::plot {

/// One drawing operation, in points (1 point = 1 PNG pixel) from the top-left corner.
struct Op {
  enum class Kind { raster, line, polyline, rect, disc, text } kind = Kind::line;
  double x = 0, y = 0, w = 0, h = 0;        ///< raster/rect: box; line: (x, y) -> (w, h); disc: centre, w = radius
  std::vector<double> points;                ///< polyline: x0, y0, x1, y1, ...
  std::uint8_t stroke[3] = {0, 0, 0}, fill[3] = {255, 255, 255};
  bool has_stroke = true, has_fill = false;
  double line_width = 1, dash = 0;           ///< dash: on/off length (0: solid)
  int cols = 0, rows = 0;                    ///< raster: cols x rows RGB pixels drawn into the box
  std::vector<std::uint8_t> rgb;             ///< raster pixels
  std::string text;                          ///< text: anchor at (x, y)
  double size = 11, angle = 0;               ///< text: font size, rotation in degrees (-90: reads upwards)
  int align = 0, valign = 0;                 ///< text: -1 left / 0 centre / 1 right; -1 top / 0 middle / 1 bottom
  bool bold = false;
};

/// A picture: a canvas of width x height points and its operations (a white background).
struct Image {
  int width = 0, height = 0;
  std::vector<Op> ops;
  Image() = default;
  Image(int w, int h) : width(w), height(h) {}
  /// Append another picture's operations shifted by (dx, dy).
  void place(const Image& other, double dx, double dy);
};

/// Labels and scales of a heatmap. Columns are x, rows are y (row 0 at the top).
struct HeatmapStyle {
  std::string title{}, x_label{}, y_label{}, colorbar_label{};
  int cell = 4;                       ///< points per cell
  double lo = 0, hi = 0;              ///< colour range; lo == hi: the data range
  double x_first = 0, x_step = 1;     ///< the value of column c is x_first + c * x_step (tick labels)
  double y_first = 0, y_step = 1;     ///< the value of row r is y_first + r * y_step
  std::vector<std::string> x_names{}, y_names{};  ///< category names per column / row (replace numeric ticks)
  bool ticks = true;                  ///< numeric ticks (off for composite pictures)
  bool colorbar = true;
  bool diverging = false;             ///< a blue-white-red map centred on zero (else viridis)
  std::string masked_note{};          ///< shown under the colorbar when grey cells mean something ("grey: masked")
};

/// Labels of a line chart; x of point i is x_first + i * x_step.
struct ChartStyle {
  std::string title{}, x_label{}, y_label{};
  std::vector<std::string> legend{};  ///< one name per series (empty: no legend)
  int width = 480, height = 240;      ///< the whole figure, labels included
  double x_first = 0, x_step = 1;
  std::vector<int> dashed{};          ///< indices of series drawn dashed (reference lines)
};

/// Heatmap of a rows x cols matrix (row-major) with ticks, labels and a colorbar. Non-finite values
/// (masked entries) are drawn grey.
Image heatmap(const std::vector<double>& values, int rows, int cols, const HeatmapStyle& style);
/// The same with index ticks, a colorbar and no title; cells `cell` points, colours over [lo, hi]
/// (lo == hi: the data range).
Image heatmap(const std::vector<double>& values, int rows, int cols, int cell = 4, double lo = 0, double hi = 0);

/// Several series on shared axes with ticks, labels and a legend (colours: blue, orange, green,
/// red, purple, brown, ...).
Image line_chart(const std::vector<std::vector<double>>& series, const ChartStyle& style);
/// Line chart of y against its index, `width` x `height` points, with ticks.
Image line_chart(const std::vector<double>& y, int width = 480, int height = 240);
/// Several series on shared axes, ticks, no labels.
Image line_chart(const std::vector<std::vector<double>>& series, int width = 480, int height = 240);

/// The viridis colour of t in [0, 1] (clamped).
void viridis(double t, std::uint8_t out[3]);
/// A line from (x0, y0) to (x1, y1), one point wide.
void draw_line(Image& image, double x0, double y0, double x1, double y1, const std::uint8_t colour[3]);
/// A filled disc of radius r with a one-point border.
void fill_disc(Image& image, double cx, double cy, double r, const std::uint8_t fill[3], const std::uint8_t border[3]);
/// Text anchored at (x, y): align -1/0/1 = left/centre/right, valign -1/0/1 = top/middle/bottom.
void draw_text(Image& image, const std::string& text, double x, double y, double size = 11, int align = -1,
               int valign = 0, bool bold = false, double angle = 0);
/// A vertical colorbar (viridis or diverging) at (x, y), `height` tall, values lo..hi with ticks and a label.
void colorbar(Image& image, double x, double y, double height, double lo, double hi, const std::string& label,
              bool diverging = false);
/// The width a text of `size` points takes (an estimate for layout; DejaVu Sans proportions).
double text_width(const std::string& text, double size = 11);

/// Panels left to right (top-aligned) / top to bottom (left-aligned: `vertical`, not `vstack`, which
/// tools/train_cmd.hpp declares in posenc::cli) with a gap, on a white background.
Image hstack(const std::vector<Image>& panels, int gap = 12);
Image vertical(const std::vector<Image>& panels, int gap = 12);
/// The picture with a title line above it.
Image titled(const Image& image, const std::string& title, double size = 14);

/// Write the picture as PNG at `path` and, when built with cairo, as SVG next to it (the same name
/// with .svg), atomically (temporary file + rename). Throws std::runtime_error on failure.
void write_png(const std::string& path, const Image& image);
/// Whether write_png also writes SVG and draws text (the build found cairo).
bool have_cairo();

}  // namespace posenc::plot
