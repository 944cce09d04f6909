// Figures as drawing operations (plot.hpp); tools/plot_render.cpp turns them into PNG and SVG.
#include "plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace posenc::plot {

namespace {

// Viridis sampled at 9 points (van der Walt & Smith, matplotlib's default map).
constexpr double kViridis[9][3] = {{68, 1, 84},    {71, 44, 122},  {59, 81, 139},   {44, 113, 142}, {33, 144, 141},
                                   {39, 173, 129}, {92, 200, 99},  {170, 220, 50},  {253, 231, 37}};
// A diverging blue-white-red map (ColorBrewer RdBu, reversed) at 5 points.
constexpr double kDiverging[5][3] = {{33, 102, 172}, {146, 197, 222}, {247, 247, 247}, {244, 165, 130}, {178, 24, 43}};
// Tableau-like palette of the line charts.
constexpr std::uint8_t kColours[8][3] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},   {214, 39, 40},
                                         {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {127, 127, 127}};
constexpr std::uint8_t kBlack[3] = {0, 0, 0}, kGrey[3] = {200, 200, 200}, kDark[3] = {60, 60, 60};
constexpr double kTick = 10, kLabel = 11.5, kTitle = 12.5;

template <std::size_t N>
void sample(const double (&map)[N][3], double t, std::uint8_t out[3]) {
  t = std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0) * (N - 1);
  const std::size_t i = std::min(static_cast<std::size_t>(t), N - 2);
  const double f = t - static_cast<double>(i);
  for (int c = 0; c < 3; ++c)
    out[c] = static_cast<std::uint8_t>(std::lround(map[i][c] * (1 - f) + map[i + 1][c] * f));
}

void colour_of(double t, bool diverging, std::uint8_t out[3]) {
  if (diverging) sample(kDiverging, t, out);
  else sample(kViridis, t, out);
}

// Round numbers covering [lo, hi], about `target` of them.
std::vector<double> nice_ticks(double lo, double hi, int target = 5) {
  if (lo > hi) std::swap(lo, hi);
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / target, mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  std::vector<double> t;
  for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) t.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  return t;
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

Op line_op(double x0, double y0, double x1, double y1, const std::uint8_t c[3], double width = 1) {
  Op op;
  op.kind = Op::Kind::line;
  op.x = x0, op.y = y0, op.w = x1, op.h = y1;
  std::copy_n(c, 3, op.stroke);
  op.line_width = width;
  return op;
}

Op rect_op(double x, double y, double w, double h, const std::uint8_t* fill, const std::uint8_t* stroke) {
  Op op;
  op.kind = Op::Kind::rect;
  op.x = x, op.y = y, op.w = w, op.h = h;
  op.has_fill = fill != nullptr;
  op.has_stroke = stroke != nullptr;
  if (fill) std::copy_n(fill, 3, op.fill);
  if (stroke) std::copy_n(stroke, 3, op.stroke);
  return op;
}

double longest(const std::vector<std::string>& names, double size) {
  double w = 0;
  for (const auto& n : names) w = std::max(w, text_width(n, size));
  return w;
}

// The data range of the finite values (lo == hi asks for it).
void value_range(const std::vector<double>& v, double& lo, double& hi) {
  if (lo != hi) return;
  lo = INFINITY, hi = -INFINITY;
  for (double x : v)
    if (std::isfinite(x)) lo = std::min(lo, x), hi = std::max(hi, x);
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  if (!(hi > lo)) hi = lo + 1;
}

}  // namespace

void Image::place(const Image& other, double dx, double dy) {
  for (Op op : other.ops) {
    op.x += dx, op.y += dy;
    if (op.kind == Op::Kind::line) op.w += dx, op.h += dy;
    for (std::size_t i = 0; i + 1 < op.points.size(); i += 2) op.points[i] += dx, op.points[i + 1] += dy;
    ops.push_back(std::move(op));
  }
}

void viridis(double t, std::uint8_t out[3]) { sample(kViridis, t, out); }

double text_width(const std::string& text, double size) {
  double w = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) == 0x80) continue;  // UTF-8 continuation byte
    w += c == ' ' || c == 'i' || c == 'l' || c == 'j' || c == '.' || c == ',' || c == '|' ? 0.32
         : c >= 'A' && c <= 'Z'                                                          ? 0.7
                                                                                         : 0.6;
  }
  return w * size;
}

void draw_line(Image& img, double x0, double y0, double x1, double y1, const std::uint8_t c[3]) {
  img.ops.push_back(line_op(x0, y0, x1, y1, c));
}

void fill_disc(Image& img, double cx, double cy, double r, const std::uint8_t fill[3], const std::uint8_t border[3]) {
  Op op;
  op.kind = Op::Kind::disc;
  op.x = cx, op.y = cy, op.w = r;
  op.has_fill = true;
  std::copy_n(fill, 3, op.fill);
  std::copy_n(border, 3, op.stroke);
  img.ops.push_back(std::move(op));
}

void draw_text(Image& img, const std::string& text, double x, double y, double size, int align, int valign, bool bold,
               double angle) {
  Op op;
  op.kind = Op::Kind::text;
  op.x = x, op.y = y, op.text = text, op.size = size, op.align = align, op.valign = valign, op.bold = bold, op.angle = angle;
  std::copy_n(kBlack, 3, op.stroke);
  img.ops.push_back(std::move(op));
}

void colorbar(Image& img, double x, double y, double height, double lo, double hi, const std::string& label,
              bool diverging) {
  const int steps = 128;
  Op bar;
  bar.kind = Op::Kind::raster;
  bar.x = x, bar.y = y, bar.w = 12, bar.h = height, bar.cols = 1, bar.rows = steps;
  bar.rgb.resize(steps * 3);
  for (int i = 0; i < steps; ++i) colour_of(1.0 - (i + 0.5) / steps, diverging, bar.rgb.data() + i * 3);
  img.ops.push_back(std::move(bar));
  img.ops.push_back(rect_op(x, y, 12, height, nullptr, kDark));
  double widest = 0;
  for (double t : nice_ticks(lo, hi, std::max(4, static_cast<int>(height / 35)))) {
    const double py = y + height - (t - lo) / (hi - lo) * height;
    img.ops.push_back(line_op(x + 12, py, x + 15, py, kDark));
    draw_text(img, fmt(t), x + 17, py, kTick, -1, 0);
    widest = std::max(widest, text_width(fmt(t), kTick));
  }
  if (!label.empty()) draw_text(img, label, x + 21 + widest + kLabel * 0.6, y + height / 2, kLabel, 0, 0, false, -90);
}

Image heatmap(const std::vector<double>& v, int rows, int cols, const HeatmapStyle& s) {
  double lo = s.lo, hi = s.hi;
  value_range(v, lo, hi);
  const double cw = s.cell * cols, ch = s.cell * rows;
  // Margins from the labels they hold.
  std::vector<std::string> yticks = s.y_names;
  if (yticks.empty() && s.ticks)
    for (double t : nice_ticks(s.y_first, s.y_first + (rows - 1) * s.y_step, std::max(4, static_cast<int>(ch / 35)))) yticks.push_back(fmt(t));
  const bool rotate_x = !s.x_names.empty() && longest(s.x_names, kTick) > s.cell * 0.9;
  const double left = 6 + longest(yticks, kTick) + 6 + (s.y_label.empty() ? 0 : kLabel + 6);
  const double top = s.title.empty() ? 8 : kTitle + 14;
  const double xtick_h = s.x_names.empty() ? (s.ticks ? kTick + 6 : 0) : rotate_x ? longest(s.x_names, kTick) + 8 : kTick + 6;
  const double bottom = 6 + xtick_h + (s.x_label.empty() ? 0 : kLabel + 6) + (s.masked_note.empty() ? 0 : kTick + 6);
  const double right = s.colorbar ? 14 + 12 + 6 + 6 * kTick * 0.6 + (s.colorbar_label.empty() ? 0 : kLabel + 6) : 10;
  Image img(static_cast<int>(std::ceil(left + cw + right)), static_cast<int>(std::ceil(top + ch + bottom)));
  if (!s.title.empty()) draw_text(img, s.title, left + cw / 2, 6, kTitle, 0, -1, true);

  Op cells;
  cells.kind = Op::Kind::raster;
  cells.x = left, cells.y = top, cells.w = cw, cells.h = ch, cells.cols = cols, cells.rows = rows;
  cells.rgb.resize(static_cast<std::size_t>(rows) * cols * 3);
  for (std::size_t i = 0; i < static_cast<std::size_t>(rows) * cols; ++i) {
    if (std::isfinite(v[i])) colour_of((v[i] - lo) / (hi - lo), s.diverging, cells.rgb.data() + i * 3);
    else std::copy_n(kGrey, 3, cells.rgb.data() + i * 3);
  }
  img.ops.push_back(std::move(cells));
  img.ops.push_back(rect_op(left, top, cw, ch, nullptr, kDark));

  // Ticks at cell centres: names per cell, or round values of x_first + c * x_step.
  auto x_at = [&](double c) { return left + (c + 0.5) * s.cell; };
  auto y_at = [&](double r) { return top + (r + 0.5) * s.cell; };
  const int name_every = std::max(1, static_cast<int>(std::ceil((kTick + 2) / s.cell)));
  for (int c = 0; c < static_cast<int>(s.x_names.size()) && c < cols; c += rotate_x ? name_every : 1) {
    img.ops.push_back(line_op(x_at(c), top + ch, x_at(c), top + ch + 3, kDark));
    if (rotate_x) draw_text(img, s.x_names[c], x_at(c), top + ch + 5, kTick, 1, 0, false, -90);
    else draw_text(img, s.x_names[c], x_at(c), top + ch + 5, kTick, 0, -1);
  }
  for (int row = 0; row < static_cast<int>(s.y_names.size()) && row < rows; row += name_every) {
    img.ops.push_back(line_op(left - 3, y_at(row), left, y_at(row), kDark));
    draw_text(img, s.y_names[row], left - 5, y_at(row), kTick, 1, 0);
  }
  if (s.ticks && s.x_names.empty())
    for (double t : nice_ticks(s.x_first, s.x_first + (cols - 1) * s.x_step, std::max(4, static_cast<int>(cw / 45)))) {
      const double px = x_at((t - s.x_first) / s.x_step);
      img.ops.push_back(line_op(px, top + ch, px, top + ch + 3, kDark));
      draw_text(img, fmt(t), px, top + ch + 5, kTick, 0, -1);
    }
  if (s.ticks && s.y_names.empty())
    for (double t : nice_ticks(s.y_first, s.y_first + (rows - 1) * s.y_step, std::max(4, static_cast<int>(ch / 35)))) {
      const double py = y_at((t - s.y_first) / s.y_step);
      img.ops.push_back(line_op(left - 3, py, left, py, kDark));
      draw_text(img, fmt(t), left - 5, py, kTick, 1, 0);
    }
  const double below = top + ch + 6 + xtick_h;
  if (!s.x_label.empty()) draw_text(img, s.x_label, left + cw / 2, below, kLabel, 0, -1);
  if (!s.y_label.empty()) draw_text(img, s.y_label, 6 + kLabel / 2, top + ch / 2, kLabel, 0, 0, false, -90);
  if (!s.masked_note.empty())
    draw_text(img, s.masked_note, left, below + (s.x_label.empty() ? 0 : kLabel + 6), kTick, -1, -1);
  if (s.colorbar) colorbar(img, left + cw + 14, top, ch, lo, hi, s.colorbar_label, s.diverging);
  return img;
}

Image heatmap(const std::vector<double>& v, int rows, int cols, int cell, double lo, double hi) {
  return heatmap(v, rows, cols, HeatmapStyle{.cell = cell, .lo = lo, .hi = hi});
}

Image line_chart(const std::vector<std::vector<double>>& series, const ChartStyle& s) {
  Image img(s.width, s.height);
  double lo = INFINITY, hi = -INFINITY;
  std::size_t n = 0;
  for (const auto& y : series) {
    for (double v : y)
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    n = std::max(n, y.size());
  }
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  if (!(hi > lo)) lo -= 0.5, hi += 0.5;
  const double pad = (hi - lo) * 0.05;
  lo -= pad, hi += pad;
  const double x0v = s.x_first, x1v = s.x_first + static_cast<double>(std::max<std::size_t>(n, 2) - 1) * s.x_step;
  const auto yt = nice_ticks(lo, hi, std::max(2, s.height / 50));
  double ytw = 0;
  for (double t : yt) ytw = std::max(ytw, text_width(fmt(t), kTick));
  const double left = 6 + (s.y_label.empty() ? 0 : kLabel + 6) + ytw + 6, right = 12;
  const double top = s.title.empty() ? 10 : kTitle + 14, bottom = 6 + kTick + 6 + (s.x_label.empty() ? 0 : kLabel + 6);
  const double pw = s.width - left - right, ph = s.height - top - bottom;
  auto px = [&](double x) { return left + (x - x0v) / (x1v - x0v) * pw; };
  auto py = [&](double y) { return top + ph - (y - lo) / (hi - lo) * ph; };
  if (!s.title.empty()) draw_text(img, s.title, left + pw / 2, 6, kTitle, 0, -1, true);
  const std::uint8_t grid[3] = {232, 232, 232};
  for (double t : yt) {
    img.ops.push_back(line_op(left, py(t), left + pw, py(t), grid));
    img.ops.push_back(line_op(left - 3, py(t), left, py(t), kDark));
    draw_text(img, fmt(t), left - 5, py(t), kTick, 1, 0);
  }
  const bool whole = s.x_step == std::round(s.x_step) && s.x_first == std::round(s.x_first);
  for (double t : nice_ticks(std::min(x0v, x1v), std::max(x0v, x1v), std::max(2, s.width / 80))) {
    if (whole && t != std::round(t)) continue;  // indices and epochs: whole ticks only
    img.ops.push_back(line_op(px(t), top + ph, px(t), top + ph + 3, kDark));
    draw_text(img, fmt(t), px(t), top + ph + 5, kTick, 0, -1);
  }
  img.ops.push_back(rect_op(left, top, pw, ph, nullptr, kDark));
  if (!s.x_label.empty()) draw_text(img, s.x_label, left + pw / 2, top + ph + 8 + kTick, kLabel, 0, -1);
  if (!s.y_label.empty()) draw_text(img, s.y_label, 6 + kLabel / 2, top + ph / 2, kLabel, 0, 0, false, -90);
  for (std::size_t k = 0; k < series.size(); ++k) {
    Op op;
    op.kind = Op::Kind::polyline;
    std::copy_n(kColours[k % 8], 3, op.stroke);
    op.line_width = 1.6;
    if (std::find(s.dashed.begin(), s.dashed.end(), static_cast<int>(k)) != s.dashed.end()) op.dash = 4;
    for (std::size_t i = 0; i < series[k].size(); ++i)
      if (std::isfinite(series[k][i])) {
        op.points.push_back(px(s.x_first + static_cast<double>(i) * s.x_step));
        op.points.push_back(py(series[k][i]));
      }
    if (op.points.size() == 2) op.points.insert(op.points.end(), {op.points[0] + 1, op.points[1]});
    img.ops.push_back(std::move(op));
  }
  if (!s.legend.empty()) {  // a box in the top-right corner
    const double lw = longest(s.legend, kTick) + 30, lh = 6 + 14.0 * static_cast<double>(s.legend.size());
    const double lx = left + pw - lw - 6, ly = top + 6;
    const std::uint8_t white[3] = {255, 255, 255}, edge[3] = {180, 180, 180};
    img.ops.push_back(rect_op(lx, ly, lw, lh, white, edge));
    for (std::size_t k = 0; k < s.legend.size(); ++k) {
      const double yy = ly + 10 + 14.0 * static_cast<double>(k);
      Op l = line_op(lx + 5, yy, lx + 21, yy, kColours[k % 8], 2);
      if (std::find(s.dashed.begin(), s.dashed.end(), static_cast<int>(k)) != s.dashed.end()) l.dash = 4;
      img.ops.push_back(std::move(l));
      draw_text(img, s.legend[k], lx + 25, yy, kTick, -1, 0);
    }
  }
  return img;
}

Image line_chart(const std::vector<double>& y, int width, int height) {
  return line_chart(std::vector<std::vector<double>>{y}, width, height);
}

Image line_chart(const std::vector<std::vector<double>>& series, int width, int height) {
  return line_chart(series, ChartStyle{.width = width, .height = height});
}

Image hstack(const std::vector<Image>& panels, int gap) {
  Image out;
  double at = 0;
  for (const auto& p : panels) {
    out.place(p, at, 0);
    out.width = static_cast<int>(at) + p.width;
    out.height = std::max(out.height, p.height);
    at += p.width + gap;
  }
  return out;
}

Image vertical(const std::vector<Image>& panels, int gap) {
  Image out;
  double at = 0;
  for (const auto& p : panels) {
    out.place(p, 0, at);
    out.height = static_cast<int>(at) + p.height;
    out.width = std::max(out.width, p.width);
    at += p.height + gap;
  }
  return out;
}

Image titled(const Image& image, const std::string& title, double size) {
  Image out(std::max(image.width, static_cast<int>(text_width(title, size)) + 12), image.height + static_cast<int>(size) + 14);
  draw_text(out, title, out.width / 2.0, 6, size, 0, -1, true);
  out.place(image, (out.width - image.width) / 2.0, size + 14);
  return out;
}

}  // namespace posenc::plot
