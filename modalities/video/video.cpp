// Video positions and Qwen2-VL's multimodal RoPE.
#include "posenc/video.hpp"

#include <algorithm>
#include <cmath>

#include "detail/check.hpp"

namespace posenc {

DTensor mrope_position_ids(const std::vector<MropeSegment>& segs, const MropeIdOptions& o) {
  const char* fn = "mrope_position_ids";
  if (segs.empty()) detail::fail(fn, "parameter 'segments' is empty");
  if (o.spatial_merge_size <= 0) detail::fail(fn, "parameter 'spatial_merge_size' must be positive, got ", o.spatial_merge_size);
  std::vector<double> t, h, w;
  double next = 0;  // the position after everything so far (1 + max id)
  for (std::size_t i = 0; i < segs.size(); ++i) {
    const MropeSegment& s = segs[i];
    if (s.kind == MropeSegment::Kind::text) {
      if (s.length <= 0) detail::fail(fn, "text segment ", i, " must have a positive length, got ", s.length);
      for (std::int64_t k = 0; k < s.length; ++k) {
        t.push_back(next + static_cast<double>(k));
        h.push_back(next + static_cast<double>(k));
        w.push_back(next + static_cast<double>(k));
      }
      next += static_cast<double>(s.length);
    } else {
      const std::int64_t m = o.spatial_merge_size;
      if (s.t <= 0 || s.h <= 0 || s.w <= 0)
        detail::fail(fn, "vision segment ", i, " needs a positive grid (t, h, w), got (", s.t, ", ", s.h, ", ", s.w, ")");
      if (s.h % m != 0 || s.w % m != 0)
        detail::fail(fn, "vision segment ", i, ": grid h = ", s.h, " and w = ", s.w,
                     " must be divisible by spatial_merge_size = ", m);
      if (s.second_per_grid_t < 0 || !std::isfinite(s.second_per_grid_t))
        detail::fail(fn, "vision segment ", i, ": 'second_per_grid_t' must be finite and >= 0, got ", s.second_per_grid_t);
      const std::int64_t gh = s.h / m, gw = s.w / m;
      double top = next - 1;
      for (std::int64_t a = 0; a < s.t; ++a) {
        const double ta = s.second_per_grid_t > 0
                              ? std::floor(static_cast<double>(a) * s.second_per_grid_t * o.tokens_per_second)
                              : static_cast<double>(a);
        for (std::int64_t b = 0; b < gh; ++b)
          for (std::int64_t c = 0; c < gw; ++c) {
            t.push_back(next + ta);
            h.push_back(next + static_cast<double>(b));
            w.push_back(next + static_cast<double>(c));
            top = std::max({top, t.back(), h.back(), w.back()});
          }
      }
      next = top + 1;
    }
  }
  DTensor ids = DTensor::from_shape({3, t.size()});
  std::copy(t.begin(), t.end(), ids.data());
  std::copy(h.begin(), h.end(), ids.data() + t.size());
  std::copy(w.begin(), w.end(), ids.data() + 2 * t.size());
  return ids;
}

std::int64_t mrope_position_delta(const DTensor& ids) {
  if (ids.dimension() != 2 || ids.shape()[0] != 3 || ids.shape()[1] == 0)
    detail::fail("mrope_position_delta", "parameter 'ids' must be [3, L], got ", shape_string(ids));
  const double mx = *std::max_element(ids.begin(), ids.end());
  return static_cast<std::int64_t>(mx) + 1 - static_cast<std::int64_t>(ids.shape()[1]);
}

std::vector<int> mrope_axis_of_pair(const MropeOptions& o) {
  const char* fn = "mrope";
  if (o.head_dim <= 0 || o.head_dim % 2 != 0)
    detail::fail(fn, "parameter 'head_dim' must be positive and even, got ", o.head_dim);
  if (o.mrope_section.size() != 3)
    detail::fail(fn, "parameter 'mrope_section' needs 3 entries (t, h, w), got ", o.mrope_section.size());
  std::int64_t sum = 0;
  for (auto s : o.mrope_section) {
    if (s < 0) detail::fail(fn, "parameter 'mrope_section' holds a negative entry ", s);
    sum += s;
  }
  const std::int64_t pairs = o.head_dim / 2;
  if (sum != pairs)
    detail::fail(fn, "parameter 'mrope_section' sums to ", sum, " but the rotary pairs are head_dim/2 = ", pairs);
  std::vector<int> axis(static_cast<std::size_t>(pairs));
  for (std::int64_t k = 0; k < pairs; ++k) {
    if (o.interleaved) {
      axis[static_cast<std::size_t>(k)] = (k % 3 == 1 && k < 3 * o.mrope_section[1])   ? 1
                                          : (k % 3 == 2 && k < 3 * o.mrope_section[2]) ? 2
                                                                                        : 0;
    } else {
      axis[static_cast<std::size_t>(k)] = k < o.mrope_section[0] ? 0 : k < o.mrope_section[0] + o.mrope_section[1] ? 1 : 2;
    }
  }
  return axis;
}

namespace {

DTensor mrope_angles(const char* fn, const DTensor& ids, const MropeOptions& o, const std::vector<int>& axis) {
  if (ids.dimension() != 2 || ids.shape()[0] != 3 || ids.shape()[1] == 0)
    detail::fail(fn, "position ids must be [3, L] (t, h, w), got ", shape_string(ids));
  for (double v : ids)
    if (!std::isfinite(v)) detail::fail(fn, "position ids hold a non-finite value ", v);
  const std::size_t n = ids.shape()[1], pairs = axis.size();
  DTensor a = DTensor::from_shape({1, 1, n, pairs});
  for (std::size_t k = 0; k < pairs; ++k) {
    const double theta = std::pow(o.base, -2.0 * static_cast<double>(k) / static_cast<double>(o.head_dim));
    for (std::size_t i = 0; i < n; ++i) a(0, 0, i, k) = ids(static_cast<std::size_t>(axis[k]), i) * theta;
  }
  return a;
}

}  // namespace

Encoding mrope(const DTensor& qids, const DTensor& kids, const MropeOptions& o) {
  const char* fn = "mrope";
  const auto axis = mrope_axis_of_pair(o);
  if (!(o.base > 1) || !std::isfinite(o.base)) detail::fail(fn, "parameter 'base' must be finite and > 1, got ", o.base);
  Encoding e;
  e.name = "mrope";
  e.rotation.layout = PairLayout::halves;
  e.rotation.pairs = o.head_dim / 2;
  e.rotation.query_angles = mrope_angles(fn, qids, o, axis);
  e.rotation.key_angles = mrope_angles(fn, kids, o, axis);
  return e;
}

Encoding mrope(const DTensor& ids, const MropeOptions& o) { return mrope(ids, ids, o); }

}  // namespace posenc
