// Rendering of plot::Image: cairo (PNG + SVG, text) when the build found it, else a small raster
// writer through stb_image_write (PNG only, no text).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <stdexcept>

#include "plot.hpp"
#include "posenc/npy.hpp"

#ifdef POSENC_HAVE_CAIRO
#include <cairo-svg.h>
#include <cairo.h>
#else
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
#endif

namespace posenc::plot {

namespace {

#ifdef POSENC_HAVE_CAIRO

cairo_status_t append(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

void rgb(cairo_t* cr, const std::uint8_t c[3]) { cairo_set_source_rgb(cr, c[0] / 255.0, c[1] / 255.0, c[2] / 255.0); }

void stroke_style(cairo_t* cr, const Op& op) {
  rgb(cr, op.stroke);
  cairo_set_line_width(cr, op.line_width);
  if (op.dash > 0) cairo_set_dash(cr, &op.dash, 1, 0);
  else cairo_set_dash(cr, nullptr, 0, 0);
}

void draw_raster(cairo_t* cr, const Op& op) {
  // Upsample to whole points per cell ourselves, so neither PNG nor an SVG viewer smooths cells.
  const int sx = std::max(1, static_cast<int>(std::lround(op.w / op.cols)));
  const int sy = std::max(1, static_cast<int>(std::lround(op.h / op.rows)));
  const int w = op.cols * sx, h = op.rows * sy;
  cairo_surface_t* s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
  cairo_surface_flush(s);
  unsigned char* data = cairo_image_surface_get_data(s);
  const int stride = cairo_image_surface_get_stride(s);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const std::uint8_t* p = op.rgb.data() + (static_cast<std::size_t>(y / sy) * op.cols + x / sx) * 3;
      auto* q = reinterpret_cast<std::uint32_t*>(data + static_cast<std::ptrdiff_t>(y) * stride) + x;
      *q = (std::uint32_t{p[0]} << 16) | (std::uint32_t{p[1]} << 8) | p[2];
    }
  cairo_surface_mark_dirty(s);
  cairo_save(cr);
  cairo_translate(cr, op.x, op.y);
  cairo_scale(cr, op.w / w, op.h / h);
  cairo_set_source_surface(cr, s, 0, 0);
  cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
  cairo_paint(cr);
  cairo_restore(cr);
  cairo_surface_destroy(s);
}

void draw_text_op(cairo_t* cr, const Op& op) {
  cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                         op.bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, op.size);
  cairo_text_extents_t e;
  cairo_text_extents(cr, op.text.c_str(), &e);
  // Vertical placement from the font size (not the glyphs), so tick labels line up.
  const double ascent = 0.72 * op.size;
  const double dx = op.align < 0 ? 0 : op.align == 0 ? -e.x_advance / 2 : -e.x_advance;
  const double dy = op.valign < 0 ? ascent : op.valign == 0 ? ascent / 2 : 0;
  cairo_save(cr);
  cairo_translate(cr, op.x, op.y);
  cairo_rotate(cr, op.angle * M_PI / 180.0);
  rgb(cr, op.stroke);
  cairo_move_to(cr, dx, dy);
  cairo_show_text(cr, op.text.c_str());
  cairo_restore(cr);
}

void render(cairo_t* cr, const Image& img) {
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  for (const Op& op : img.ops) {
    switch (op.kind) {
      case Op::Kind::raster: draw_raster(cr, op); break;
      case Op::Kind::line:
        cairo_move_to(cr, op.x, op.y);
        cairo_line_to(cr, op.w, op.h);
        stroke_style(cr, op);
        cairo_stroke(cr);
        break;
      case Op::Kind::polyline:
        for (std::size_t i = 0; i + 1 < op.points.size(); i += 2)
          (i == 0 ? cairo_move_to : cairo_line_to)(cr, op.points[i], op.points[i + 1]);
        cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
        stroke_style(cr, op);
        cairo_stroke(cr);
        break;
      case Op::Kind::rect:
      case Op::Kind::disc:
        if (op.kind == Op::Kind::rect) cairo_rectangle(cr, op.x, op.y, op.w, op.h);
        else cairo_arc(cr, op.x, op.y, op.w, 0, 2 * M_PI);
        if (op.has_fill) {
          rgb(cr, op.fill);
          op.has_stroke ? cairo_fill_preserve(cr) : cairo_fill(cr);
        }
        if (op.has_stroke) {
          stroke_style(cr, op);
          cairo_stroke(cr);
        }
        break;
      case Op::Kind::text: draw_text_op(cr, op); break;
    }
  }
}

std::string encode_png(const Image& img) {
  cairo_surface_t* s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, std::max(img.width, 1), std::max(img.height, 1));
  cairo_t* cr = cairo_create(s);
  render(cr, img);
  cairo_destroy(cr);
  std::string bytes;
  const cairo_status_t st = cairo_surface_write_to_png_stream(s, append, &bytes);
  cairo_surface_destroy(s);
  if (st != CAIRO_STATUS_SUCCESS) throw std::runtime_error(std::string("cairo: ") + cairo_status_to_string(st));
  return bytes;
}

std::string encode_svg(const Image& img) {
  std::string bytes;
  cairo_surface_t* s = cairo_svg_surface_create_for_stream(append, &bytes, std::max(img.width, 1), std::max(img.height, 1));
  cairo_t* cr = cairo_create(s);
  render(cr, img);
  cairo_destroy(cr);
  cairo_surface_finish(s);
  const cairo_status_t st = cairo_surface_status(s);
  cairo_surface_destroy(s);
  if (st != CAIRO_STATUS_SUCCESS) throw std::runtime_error(std::string("cairo: ") + cairo_status_to_string(st));
  return bytes;
}

#else  // the raster fallback

struct Raster {
  int w, h;
  std::vector<std::uint8_t> px;
  void set(int x, int y, const std::uint8_t c[3]) {
    if (x < 0 || y < 0 || x >= w || y >= h) return;
    std::copy_n(c, 3, px.data() + (static_cast<std::size_t>(y) * w + x) * 3);
  }
  void line(double x0, double y0, double x1, double y1, const std::uint8_t c[3]) {
    const int steps = static_cast<int>(std::ceil(std::max(std::abs(x1 - x0), std::abs(y1 - y0)))) + 1;
    for (int s = 0; s <= steps; ++s) {
      const double t = static_cast<double>(s) / steps;
      set(static_cast<int>(std::lround(x0 + t * (x1 - x0))), static_cast<int>(std::lround(y0 + t * (y1 - y0))), c);
    }
  }
};

void write_callback(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<std::size_t>(size));
}

std::string encode_png(const Image& img) {
  Raster r{std::max(img.width, 1), std::max(img.height, 1), {}};
  r.px.assign(static_cast<std::size_t>(r.w) * r.h * 3, 255);
  for (const Op& op : img.ops) {
    if (op.kind == Op::Kind::raster) {
      for (int y = 0; y < static_cast<int>(op.h); ++y)
        for (int x = 0; x < static_cast<int>(op.w); ++x) {
          const int c = std::min(op.cols - 1, static_cast<int>(x * op.cols / op.w));
          const int rr = std::min(op.rows - 1, static_cast<int>(y * op.rows / op.h));
          r.set(static_cast<int>(op.x) + x, static_cast<int>(op.y) + y, op.rgb.data() + (static_cast<std::size_t>(rr) * op.cols + c) * 3);
        }
    } else if (op.kind == Op::Kind::line) {
      r.line(op.x, op.y, op.w, op.h, op.stroke);
    } else if (op.kind == Op::Kind::polyline) {
      for (std::size_t i = 0; i + 3 < op.points.size(); i += 2)
        r.line(op.points[i], op.points[i + 1], op.points[i + 2], op.points[i + 3], op.stroke);
    } else if (op.kind == Op::Kind::rect) {
      for (int y = static_cast<int>(op.y); y < static_cast<int>(op.y + op.h); ++y)
        for (int x = static_cast<int>(op.x); x < static_cast<int>(op.x + op.w); ++x)
          if (op.has_fill) r.set(x, y, op.fill);
      if (op.has_stroke) {
        r.line(op.x, op.y, op.x + op.w, op.y, op.stroke), r.line(op.x, op.y + op.h, op.x + op.w, op.y + op.h, op.stroke);
        r.line(op.x, op.y, op.x, op.y + op.h, op.stroke), r.line(op.x + op.w, op.y, op.x + op.w, op.y + op.h, op.stroke);
      }
    } else if (op.kind == Op::Kind::disc) {
      for (int y = static_cast<int>(op.y - op.w - 1); y <= static_cast<int>(op.y + op.w + 1); ++y)
        for (int x = static_cast<int>(op.x - op.w - 1); x <= static_cast<int>(op.x + op.w + 1); ++x) {
          const double d = std::hypot(x - op.x, y - op.y);
          if (d <= op.w - 1 && op.has_fill) r.set(x, y, op.fill);
          else if (d <= op.w && op.has_stroke) r.set(x, y, op.stroke);
        }
    }  // text: not drawn without cairo
  }
  std::string bytes;
  if (!stbi_write_png_to_func(write_callback, &bytes, r.w, r.h, 3, r.px.data(), r.w * 3))
    throw std::runtime_error("PNG encoding failed");
  return bytes;
}

#endif

}  // namespace

bool have_cairo() {
#ifdef POSENC_HAVE_CAIRO
  return true;
#else
  return false;
#endif
}

void write_png(const std::string& path, const Image& img) {
  try {
    write_file_atomic(path, encode_png(img));
#ifdef POSENC_HAVE_CAIRO
    write_file_atomic(std::filesystem::path(path).replace_extension(".svg").string(), encode_svg(img));
#else
    static bool noted = false;
    if (!noted) std::cerr << "posenc: built without cairo: pictures are PNG only, without text (see docs/gallery.md)\n";
    noted = true;
#endif
  } catch (const std::exception& e) {
    throw std::runtime_error("write_png: writing '" + path + "' failed: " + e.what());
  }
}

}  // namespace posenc::plot
