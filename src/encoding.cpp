// The Encoding contract: combination, validation against attention shapes, and the input-side parts.
#include "posenc/encoding.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <xtensor/xmanipulation.hpp>

#include "detail/check.hpp"

namespace posenc {

bool Encoding::empty() const {
  return !is_set(input_add) && !is_set(input_concat) && !has_score_terms() && !scale.has_value();
}

bool Encoding::has_score_terms() const {
  return !rotation.empty() || !content_weights.empty() || !content_position.empty() || !position_content.empty() || !value.empty() ||
         is_set(content_bias) || !biases.empty() || !multipliers.empty() || score_relu;
}

namespace {

template <class T>
bool is_empty(const xt::xarray<T>& t) {
  return !is_set(t);
}

template <class T>
xt::xarray<T> add_broadcast(const char* what, const xt::xarray<T>& a, const xt::xarray<T>& b) {
  if (is_empty(a)) return b;
  if (is_empty(b)) return a;
  if (a.dimension() != b.dimension())
    detail::fail("combine", what, " shapes ", shape_string(a), " and ", shape_string(b), " do not broadcast");
  for (std::size_t d = 0; d < a.dimension(); ++d) {
    const auto x = a.shape()[d], y = b.shape()[d];
    if (x != y && x != 1 && y != 1)
      detail::fail("combine", what, " shapes ", shape_string(a), " and ", shape_string(b), " do not broadcast");
  }
  return a + b;
}

Rotation combine_rotation(const Rotation& a, const Rotation& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  if (a.layout != b.layout) detail::fail("combine", "rotations use different pair layouts (halves vs interleaved)");
  if (a.pairs != b.pairs)
    detail::fail("combine", "rotations rotate different numbers of pairs: ", a.pairs, " and ", b.pairs);
  Rotation r;
  r.layout = a.layout;
  r.pairs = a.pairs;
  r.query_angles = add_broadcast("rotation.query_angles", a.query_angles, b.query_angles);
  r.key_angles = add_broadcast("rotation.key_angles", a.key_angles, b.key_angles);
  r.query_log_scale = add_broadcast("rotation.query_log_scale", a.query_log_scale, b.query_log_scale);
  r.key_log_scale = add_broadcast("rotation.key_log_scale", a.key_log_scale, b.key_log_scale);
  r.magnitude = a.magnitude * b.magnitude;
  return r;
}

template <class V>
void append(V& into, const V& from) {
  into.insert(into.end(), from.begin(), from.end());
}

// -- validation helpers

void check_dim(const char* fn, const std::string& what, std::size_t got, std::size_t want, bool allow_one,
               const Shape& shape) {
  if (got == want || (allow_one && got == 1)) return;
  detail::fail(fn, what, " has shape ", shape_string(shape), ": axis of size ", got, " must be ", want,
               allow_one ? " or 1" : "");
}

Shape shape_of(const auto& t) { return Shape(t.shape().begin(), t.shape().end()); }

void check_relation(const char* fn, const std::string& what, const Relation& rel, std::size_t batch, std::size_t nq,
                    std::size_t nk, bool need_index) {
  if (need_index && !rel.has_index())
    detail::fail(fn, what, ": relation gives values only (unbounded offset or euclidean); a table needs an index");
  if (rel.kind == RelationKind::index) {
    check_dim(fn, what + ".relation.indices", rel.indices.shape()[0], batch, true, shape_of(rel.indices));
    check_dim(fn, what + ".relation.indices", rel.indices.shape()[1], nq, false, shape_of(rel.indices));
    check_dim(fn, what + ".relation.indices", rel.indices.shape()[2], nk, false, shape_of(rel.indices));
    return;
  }
  if (rel.query_positions.dimension() != 3 || rel.key_positions.dimension() != 3)
    detail::fail(fn, what, ".relation positions must be [B|1, tokens, axes]");
  check_dim(fn, what + ".relation.query_positions", rel.query_positions.shape()[0], batch, true,
            shape_of(rel.query_positions));
  check_dim(fn, what + ".relation.query_positions", rel.query_positions.shape()[1], nq, false,
            shape_of(rel.query_positions));
  check_dim(fn, what + ".relation.key_positions", rel.key_positions.shape()[0], batch, true,
            shape_of(rel.key_positions));
  check_dim(fn, what + ".relation.key_positions", rel.key_positions.shape()[1], nk, false,
            shape_of(rel.key_positions));
  // A bounded relation without clipping must stay inside its table for every pair.
  if (rel.bounded && !rel.clip) {
    const std::size_t axes = rel.query_positions.shape()[2];
    for (std::size_t b = 0; b < batch; ++b) {
      const std::size_t qb = rel.query_positions.shape()[0] == 1 ? 0 : b;
      const std::size_t kb = rel.key_positions.shape()[0] == 1 ? 0 : b;
      double qmin = INFINITY, qmax = -INFINITY, kmin = INFINITY, kmax = -INFINITY;
      for (std::size_t i = 0; i < nq; ++i) {
        const double v = rel.query_positions.data()[(qb * nq + i) * axes];
        qmin = std::min(qmin, v);
        qmax = std::max(qmax, v);
      }
      for (std::size_t j = 0; j < nk; ++j) {
        const double v = rel.key_positions.data()[(kb * nk + j) * axes];
        kmin = std::min(kmin, v);
        kmax = std::max(kmax, v);
      }
      double lo, hi;
      if (rel.kind == RelationKind::distance) {
        lo = 0;
        hi = std::max(std::abs(kmax - qmin), std::abs(qmax - kmin));
      } else {
        lo = rel.direction > 0 ? kmin - qmax : qmin - kmax;
        hi = rel.direction > 0 ? kmax - qmin : qmax - kmin;
      }
      if (lo < static_cast<double>(rel.min) || hi > static_cast<double>(rel.max))
        detail::fail(fn, what, ": relative positions span [", lo, ", ", hi, "] but the table covers [", rel.min, ", ",
                     rel.max, "] and clipping is off (positions outside the learned table)");
    }
  }
}

void check_heads_table(const char* fn, const std::string& what, const Tensor& t, std::size_t rank,
                       std::size_t heads) {
  if (t.dimension() != rank)
    detail::fail(fn, what, " must have rank ", rank, ", got shape ", shape_string(t));
  check_dim(fn, what, t.shape()[0], heads, true, shape_of(t));
}

void check_finite(const char* fn, const std::string& what, const Tensor& t) {
  for (float v : t)
    if (!std::isfinite(v)) detail::fail(fn, what, " holds a non-finite value ", v);
}

/// Bias tables may hold -inf (the pair is masked, as Graphormer beyond spatial_pos_max); NaN and
/// +inf are errors.
void check_finite_or_masked(const char* fn, const std::string& what, const Tensor& t) {
  for (float v : t)
    if (std::isnan(v) || v == std::numeric_limits<float>::infinity())
      detail::fail(fn, what, " holds ", v, " (only finite values or -inf, which masks the pair)");
}

void check_vectors(const char* fn, const std::string& what, const RelativeVectors& rv, std::size_t batch,
                   std::size_t heads, std::size_t nq, std::size_t nk, std::size_t dim) {
  check_relation(fn, what, rv.relation, batch, nq, nk, true);
  check_heads_table(fn, what + ".table", rv.table, 3, heads);
  check_dim(fn, what + ".table", rv.table.shape()[1], static_cast<std::size_t>(rv.relation.size), false,
            shape_of(rv.table));
  check_dim(fn, what + ".table", rv.table.shape()[2], dim, false, shape_of(rv.table));
  check_finite(fn, what + ".table", rv.table);
  if (is_set(rv.query_bias)) {
    check_heads_table(fn, what + ".query_bias", rv.query_bias, 2, heads);
    check_dim(fn, what + ".query_bias", rv.query_bias.shape()[1], dim, false, shape_of(rv.query_bias));
  }
}

void check_angles(const char* fn, const std::string& what, const DTensor& a, std::size_t batch, std::size_t heads,
                  std::size_t n, std::int64_t pairs) {
  if (a.dimension() != 4) detail::fail(fn, what, " must be [B|1, H|1, tokens, pairs], got ", shape_string(a));
  check_dim(fn, what, a.shape()[0], batch, true, shape_of(a));
  check_dim(fn, what, a.shape()[1], heads, true, shape_of(a));
  check_dim(fn, what, a.shape()[2], n, false, shape_of(a));
  check_dim(fn, what, a.shape()[3], static_cast<std::size_t>(pairs), false, shape_of(a));
  for (double v : a)
    if (!std::isfinite(v)) detail::fail(fn, what, " holds a non-finite value ", v);
}

}  // namespace

Encoding combine(const Encoding& a, const Encoding& b) {
  Encoding r;
  r.name = a.name.empty() ? b.name : (b.name.empty() ? a.name : a.name + "+" + b.name);
  r.input_add = add_broadcast("input_add", a.input_add, b.input_add);
  if (is_empty(a.input_concat)) r.input_concat = b.input_concat;
  else if (is_empty(b.input_concat)) r.input_concat = a.input_concat;
  else {
    if (a.input_concat.dimension() != b.input_concat.dimension() ||
        !std::equal(a.input_concat.shape().begin(), a.input_concat.shape().end() - 1, b.input_concat.shape().begin()))
      detail::fail("combine", "input_concat shapes ", shape_string(a.input_concat), " and ",
                   shape_string(b.input_concat), " differ outside the feature axis");
    r.input_concat = xt::concatenate(xt::xtuple(a.input_concat, b.input_concat), a.input_concat.dimension() - 1);
  }
  r.rotation = combine_rotation(a.rotation, b.rotation);
  r.content_weights = a.content_weights;
  append(r.content_weights, b.content_weights);
  r.content_position = a.content_position;
  append(r.content_position, b.content_position);
  r.position_content = a.position_content;
  append(r.position_content, b.position_content);
  r.value = a.value;
  append(r.value, b.value);
  r.content_bias = add_broadcast("content_bias", a.content_bias, b.content_bias);
  r.biases = a.biases;
  append(r.biases, b.biases);
  r.multipliers = a.multipliers;
  append(r.multipliers, b.multipliers);
  r.score_relu = a.score_relu || b.score_relu;
  if (a.scale && b.scale && *a.scale != *b.scale)
    detail::fail("combine", "encodings imply different logit scales ", *a.scale, " and ", *b.scale);
  r.scale = a.scale ? a.scale : b.scale;
  return r;
}

void validate(const Encoding& e, std::size_t batch, std::size_t heads, std::size_t nq, std::size_t nk,
              std::size_t d, std::size_t dv, const char* fn) {
  if (!e.rotation.empty()) {
    const auto& r = e.rotation;
    if (r.pairs < 0 || static_cast<std::size_t>(2 * r.pairs) > d)
      detail::fail(fn, "rotation.pairs = ", r.pairs, " needs 2*pairs <= head_dim = ", d);
    check_angles(fn, "rotation.query_angles", r.query_angles, batch, heads, nq, r.pairs);
    check_angles(fn, "rotation.key_angles", r.key_angles, batch, heads, nk, r.pairs);
    if (is_set(r.query_log_scale))
      check_angles(fn, "rotation.query_log_scale", r.query_log_scale, batch, heads, nq, r.pairs);
    if (is_set(r.key_log_scale))
      check_angles(fn, "rotation.key_log_scale", r.key_log_scale, batch, heads, nk, r.pairs);
    if (!(r.magnitude > 0) || !std::isfinite(r.magnitude))
      detail::fail(fn, "rotation.magnitude must be positive and finite, got ", r.magnitude);
  }
  for (std::size_t t = 0; t < e.content_weights.size(); ++t)
    check_vectors(fn, "content_weights[" + std::to_string(t) + "]", e.content_weights[t], batch, heads, nq, nk, d);
  for (std::size_t t = 0; t < e.content_position.size(); ++t)
    check_vectors(fn, "content_position[" + std::to_string(t) + "]", e.content_position[t], batch, heads, nq, nk, d);
  for (std::size_t t = 0; t < e.position_content.size(); ++t)
    check_vectors(fn, "position_content[" + std::to_string(t) + "]", e.position_content[t], batch, heads, nq, nk, d);
  for (std::size_t t = 0; t < e.value.size(); ++t)
    check_vectors(fn, "value[" + std::to_string(t) + "]", e.value[t], batch, heads, nq, nk, dv);
  if (is_set(e.content_bias)) {
    check_heads_table(fn, "content_bias", e.content_bias, 2, heads);
    check_dim(fn, "content_bias", e.content_bias.shape()[1], d, false, shape_of(e.content_bias));
  }
  for (std::size_t t = 0; t < e.biases.size(); ++t) {
    const Bias& b = e.biases[t];
    const std::string what = "biases[" + std::to_string(t) + "]";
    switch (b.kind) {
      case BiasKind::slope:
        check_relation(fn, what, b.relation, batch, nq, nk, false);
        if (b.slopes.dimension() != 1) detail::fail(fn, what, ".slopes must be [H], got ", shape_string(b.slopes));
        check_dim(fn, what + ".slopes", b.slopes.shape()[0], heads, true, shape_of(b.slopes));
        check_finite(fn, what + ".slopes", b.slopes);
        break;
      case BiasKind::table:
        check_relation(fn, what, b.relation, batch, nq, nk, true);
        check_heads_table(fn, what + ".table", b.table, 2, heads);
        check_dim(fn, what + ".table", b.table.shape()[1], static_cast<std::size_t>(b.relation.size), false,
                  shape_of(b.table));
        check_finite_or_masked(fn, what + ".table", b.table);
        break;
      case BiasKind::dense:
        if (b.dense.dimension() != 4)
          detail::fail(fn, what, ".dense must be [B|1, H|1, Nq, Nk], got ", shape_string(b.dense));
        check_dim(fn, what + ".dense", b.dense.shape()[0], batch, true, shape_of(b.dense));
        check_dim(fn, what + ".dense", b.dense.shape()[1], heads, true, shape_of(b.dense));
        check_dim(fn, what + ".dense", b.dense.shape()[2], nq, false, shape_of(b.dense));
        check_dim(fn, what + ".dense", b.dense.shape()[3], nk, false, shape_of(b.dense));
        break;
    }
  }
  for (std::size_t t = 0; t < e.multipliers.size(); ++t) {
    const Multiplier& m = e.multipliers[t];
    const std::string what = "multipliers[" + std::to_string(t) + "]";
    check_relation(fn, what, m.relation, batch, nq, nk, true);
    check_heads_table(fn, what + ".table", m.table, 2, heads);
    check_dim(fn, what + ".table", m.table.shape()[1], static_cast<std::size_t>(m.relation.size), false,
              shape_of(m.table));
    check_finite(fn, what + ".table", m.table);
  }
  if (e.scale && (!(*e.scale > 0) || !std::isfinite(*e.scale)))
    detail::fail(fn, "scale must be positive and finite, got ", *e.scale);
}

Tensor apply_input(const Encoding& e, const Tensor& x) {
  const char* fn = "apply_input";
  if (x.dimension() < 2) detail::fail(fn, "parameter 'x' must be [..., tokens, dim], got ", shape_string(x));
  const std::size_t n = x.shape()[x.dimension() - 2];
  const std::size_t dim = x.shape()[x.dimension() - 1];
  const std::size_t lead = x.size() / std::max<std::size_t>(n * dim, 1);
  auto check_side = [&](const Tensor& t, const char* what, bool same_width) {
    if (t.dimension() != 3) detail::fail(fn, what, " must be [B|1, tokens, dim], got ", shape_string(t));
    if (t.shape()[1] != n)
      detail::fail(fn, what, " covers ", t.shape()[1], " tokens but 'x' has ", n, " (shape ", shape_string(x), ")");
    if (same_width && t.shape()[2] != dim)
      detail::fail(fn, what, " has width ", t.shape()[2], " but 'x' has dim ", dim);
    if (t.shape()[0] != 1 && t.shape()[0] != lead)
      detail::fail(fn, what, " batch ", t.shape()[0], " does not match the ", lead, " leading rows of 'x'");
  };
  Tensor y = x;
  if (is_set(e.input_add)) {
    check_side(e.input_add, "input_add", true);
    const std::size_t per = n * dim;
    for (std::size_t l = 0; l < lead; ++l) {
      const float* a = e.input_add.data() + (e.input_add.shape()[0] == 1 ? 0 : l) * per;
      float* out = y.data() + l * per;
      for (std::size_t t = 0; t < per; ++t) out[t] += a[t];
    }
  }
  if (is_set(e.input_concat)) {
    check_side(e.input_concat, "input_concat", false);
    const std::size_t dc = e.input_concat.shape()[2];
    Shape s(x.shape().begin(), x.shape().end());
    s.back() = dim + dc;
    Tensor out = Tensor::from_shape(s);
    for (std::size_t l = 0; l < lead; ++l) {
      const float* c = e.input_concat.data() + (e.input_concat.shape()[0] == 1 ? 0 : l) * n * dc;
      for (std::size_t t = 0; t < n; ++t) {
        float* o = out.data() + (l * n + t) * (dim + dc);
        std::copy_n(y.data() + (l * n + t) * dim, dim, o);
        std::copy_n(c + t * dc, dc, o + dim);
      }
    }
    return out;
  }
  return y;
}

}  // namespace posenc
