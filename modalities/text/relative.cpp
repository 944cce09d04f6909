// The relative and learnable text family: every method fills parts of the
// Encoding contract; nothing here reaches into the attention core.
#include "posenc/relative.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>

#include "detail/activation.hpp"
#include "detail/check.hpp"
#include "detail/gemm.hpp"
#include "posenc/npy.hpp"
#include "posenc/sinusoid.hpp"

namespace posenc {

namespace {

struct OffsetRange {
  std::int64_t min = 0, max = 0;  // of p_key - p_query over all pairs
};

void check_positions_1d(const char* fn, const DTensor& p, const char* name) {
  if (p.dimension() != 3 || p.shape()[2] != 1 || p.shape()[1] == 0)
    detail::fail(fn, "parameter '", name, "' must be [B|1, tokens, 1], got ", shape_string(p));
  for (double v : p)
    if (!std::isfinite(v) || v != std::floor(v))
      detail::fail(fn, "parameter '", name, "' must hold finite integer positions, got ", v);
}

OffsetRange offset_range(const char* fn, const DTensor& q, const DTensor& k) {
  check_positions_1d(fn, q, "query_positions");
  check_positions_1d(fn, k, "key_positions");
  const std::size_t bq = q.shape()[0], bk = k.shape()[0];
  if (bq != bk && bq != 1 && bk != 1)
    detail::fail(fn, "query and key positions have incompatible batch sizes ", bq, " and ", bk);
  OffsetRange r{INT64_MAX, INT64_MIN};
  for (std::size_t b = 0; b < std::max(bq, bk); ++b) {
    const double* qp = q.data() + (bq == 1 ? 0 : b) * q.shape()[1];
    const double* kp = k.data() + (bk == 1 ? 0 : b) * k.shape()[1];
    const auto [qmin, qmax] = std::minmax_element(qp, qp + q.shape()[1]);
    const auto [kmin, kmax] = std::minmax_element(kp, kp + k.shape()[1]);
    r.min = std::min(r.min, static_cast<std::int64_t>(*kmin - *qmax));
    r.max = std::max(r.max, static_cast<std::int64_t>(*kmax - *qmin));
  }
  return r;
}

Tensor normal(Shape s, double std, std::mt19937_64& gen) {
  Tensor t = Tensor::from_shape(s);
  std::normal_distribution<double> d(0.0, std);
  for (auto& v : t) v = static_cast<float>(d(gen));
  return t;
}

Tensor uniform(Shape s, double bound, std::mt19937_64& gen) {
  Tensor t = Tensor::from_shape(s);
  std::uniform_real_distribution<double> d(-bound, bound);
  for (auto& v : t) v = static_cast<float>(d(gen));
  return t;
}

void check_table(const char* fn, const char* name, const Tensor& t, std::size_t rank, std::size_t rows) {
  if (t.dimension() != rank || t.shape()[1] != rows || t.shape()[0] == 0)
    detail::fail(fn, "parameter '", name, "' must be ", rank == 3 ? "[H|1, " : "[H|1, ", rows, rank == 3 ? ", d]" : "]",
                 ", got ", shape_string(t));
  for (float v : t)
    if (!std::isfinite(v)) detail::fail(fn, "parameter '", name, "' holds a non-finite value ", v);
}

void check_heads_dim(const char* fn, const char* name, const Tensor& t, std::int64_t heads, std::int64_t dim) {
  if (t.dimension() != 2 || t.shape()[0] != static_cast<std::size_t>(heads) || t.shape()[1] != static_cast<std::size_t>(dim))
    detail::fail(fn, "parameter '", name, "' must be [", heads, ", ", dim, "], got ", shape_string(t));
}

using detail::gelu;
using detail::softplus;

DTensor integer_positions(std::int64_t from, std::int64_t to) {
  DTensor p = DTensor::from_shape({1, static_cast<std::size_t>(to - from + 1), 1});
  for (std::int64_t t = from; t <= to; ++t) p.data()[t - from] = static_cast<double>(t);
  return p;
}

}  // namespace

// ====================================================================== Shaw

std::int64_t shaw_rows(const ShawOptions& o) {
  const char* fn = "shaw";
  if (o.hf_relative_key) {
    if (o.max_position_embeddings <= 0)
      detail::fail(fn, "parameter 'max_position_embeddings' must be positive, got ", o.max_position_embeddings);
    return 2 * o.max_position_embeddings - 1;
  }
  if (o.clip <= 0) detail::fail(fn, "parameter 'clip' must be >= 1, got ", o.clip);
  return 2 * o.clip + 1;
}

ShawTables shaw_init(const ShawOptions& o, std::int64_t heads, std::int64_t head_dim, std::int64_t value_dim,
                     double std, std::uint64_t seed) {
  const char* fn = "shaw_init";
  const auto rows = static_cast<std::size_t>(shaw_rows(o));
  if (heads <= 0) detail::fail(fn, "parameter 'heads' must be positive (1 = shared), got ", heads);
  if (head_dim <= 0) detail::fail(fn, "parameter 'head_dim' must be positive, got ", head_dim);
  if (value_dim <= 0) detail::fail(fn, "parameter 'value_dim' must be positive, got ", value_dim);
  std::mt19937_64 gen(seed);
  ShawTables t;
  if (o.key_term) t.key = normal({static_cast<std::size_t>(heads), rows, static_cast<std::size_t>(head_dim)}, std, gen);
  if (o.value_term && !o.hf_relative_key)
    t.value = normal({static_cast<std::size_t>(heads), rows, static_cast<std::size_t>(value_dim)}, std, gen);
  return t;
}

Encoding shaw(const DTensor& qp, const DTensor& kp, const ShawTables& t, const ShawOptions& o) {
  const char* fn = "shaw";
  const auto rows = static_cast<std::size_t>(shaw_rows(o));
  if (!o.key_term && !o.value_term) detail::fail(fn, "both 'key_term' and 'value_term' are off: nothing to fill");
  Relation rel = o.hf_relative_key
                     ? Relation::offset(qp, kp, -1, -(o.max_position_embeddings - 1), o.max_position_embeddings - 1,
                                        /*clip=*/false)
                     : Relation::offset(qp, kp, +1, -o.clip, o.clip, /*clip=*/true);
  Encoding e;
  e.name = "shaw";
  if (o.key_term) {
    check_table(fn, "key table", t.key, 3, rows);
    e.content_position.push_back({rel, t.key, {}});
  }
  if (o.value_term && !o.hf_relative_key) {
    check_table(fn, "value table", t.value, 3, rows);
    e.value.push_back({rel, t.value, {}});
  }
  return e;
}

// ====================================================================== Transformer-XL

namespace {
void check_txl(const char* fn, const TransformerXLOptions& o) {
  if (o.d_model <= 0 || o.d_model % 2 != 0)
    detail::fail(fn, "parameter 'd_model' must be positive and even, got ", o.d_model);
  if (o.heads <= 0) detail::fail(fn, "parameter 'heads' must be positive, got ", o.heads);
  if (o.head_dim <= 0) detail::fail(fn, "parameter 'head_dim' must be positive, got ", o.head_dim);
  if (o.clamp_len == 0) detail::fail(fn, "parameter 'clamp_len' must be positive or -1 (off), got 0");
}
}  // namespace

TransformerXLParams transformer_xl_init(const TransformerXLOptions& o, double std, std::uint64_t seed) {
  check_txl("transformer_xl_init", o);
  std::mt19937_64 gen(seed);
  const auto h = static_cast<std::size_t>(o.heads), dh = static_cast<std::size_t>(o.head_dim);
  TransformerXLParams p;
  p.w_r = normal({h * dh, static_cast<std::size_t>(o.d_model)}, std, gen);
  p.u = normal({h, dh}, std, gen);
  p.v = normal({h, dh}, std, gen);
  return p;
}

Tensor transformer_xl_sinusoid(std::int64_t rows, std::int64_t d_model) {
  if (rows <= 0) detail::fail("transformer_xl_sinusoid", "parameter 'rows' must be positive, got ", rows);
  Tensor t = sinusoid_table(integer_positions(0, rows - 1),
                            SinusoidOptions{.dim = d_model, .layout = SinusoidLayout::blocked});
  t.reshape({static_cast<std::size_t>(rows), static_cast<std::size_t>(d_model)});
  return t;
}

Encoding transformer_xl(const DTensor& qp, const DTensor& kp, const TransformerXLParams& p,
                        const TransformerXLOptions& o) {
  const char* fn = "transformer_xl";
  check_txl(fn, o);
  const auto h = static_cast<std::size_t>(o.heads), dh = static_cast<std::size_t>(o.head_dim);
  const auto dm = static_cast<std::size_t>(o.d_model);
  if (p.w_r.dimension() != 2 || p.w_r.shape()[0] != h * dh || p.w_r.shape()[1] != dm)
    detail::fail(fn, "parameter 'w_r' must be [heads * head_dim = ", h * dh, ", d_model = ", dm, "], got ",
                 shape_string(p.w_r));
  check_heads_dim(fn, "u", p.u, o.heads, o.head_dim);
  check_heads_dim(fn, "v", p.v, o.heads, o.head_dim);
  // r = p_i - p_j >= 0 for visible keys; future keys (r < 0) are hidden by the causal mask.
  const OffsetRange range = offset_range(fn, qp, kp);
  std::int64_t rmax = std::max<std::int64_t>(-range.min, 0);
  if (o.clamp_len > 0) rmax = std::min(rmax, o.clamp_len);
  const auto rows = static_cast<std::size_t>(rmax + 1);
  const Tensor r = transformer_xl_sinusoid(rmax + 1, o.d_model);
  // a[h, r, :] = (W_R R_r)[h * dh : (h + 1) * dh]
  Tensor proj = Tensor::from_shape({rows, h * dh});
  detail::sgemm(false, true, rows, h * dh, dm, 1.0f, r.data(), dm, p.w_r.data(), dm, 0.0f, proj.data(), h * dh);
  Tensor a = Tensor::from_shape({h, rows, dh});
  for (std::size_t hh = 0; hh < h; ++hh)
    for (std::size_t row = 0; row < rows; ++row)
      std::copy_n(proj.data() + row * h * dh + hh * dh, dh, a.data() + (hh * rows + row) * dh);
  Encoding e;
  e.name = "transformer_xl";
  e.content_position.push_back({Relation::offset(qp, kp, -1, 0, rmax, /*clip=*/true), a, p.v});
  e.content_bias = p.u;
  return e;
}

// ====================================================================== TENER

TenerParams tener_init(const TenerOptions& o, std::uint64_t seed) {
  const char* fn = "tener_init";
  if (o.heads <= 0) detail::fail(fn, "parameter 'heads' must be positive, got ", o.heads);
  if (o.head_dim <= 0) detail::fail(fn, "parameter 'head_dim' must be positive, got ", o.head_dim);
  std::mt19937_64 gen(seed);
  const double std = std::sqrt(2.0 / static_cast<double>(o.heads + o.head_dim));
  const Shape s{static_cast<std::size_t>(o.heads), static_cast<std::size_t>(o.head_dim)};
  TenerParams p;
  p.u = normal(s, std, gen);
  p.v = normal(s, std, gen);
  return p;
}

Tensor tener_sinusoid(std::int64_t from, std::int64_t to, std::int64_t head_dim) {
  const char* fn = "tener_sinusoid";
  if (to < from) detail::fail(fn, "parameter 'to' (", to, ") is below 'from' (", from, ")");
  if (head_dim < 4 || head_dim % 2 != 0) detail::fail(fn, "parameter 'head_dim' must be even and >= 4, got ", head_dim);
  Tensor t = sinusoid_table(integer_positions(from, to), SinusoidOptions{.dim = head_dim, .layout = SinusoidLayout::blocked,
                                                                         .exponent = SinusoidExponent::t2t});
  t.reshape({static_cast<std::size_t>(to - from + 1), static_cast<std::size_t>(head_dim)});
  return t;
}

Encoding tener(const DTensor& qp, const DTensor& kp, const TenerParams& p, const TenerOptions& o) {
  const char* fn = "tener";
  if (o.heads <= 0) detail::fail(fn, "parameter 'heads' must be positive, got ", o.heads);
  check_heads_dim(fn, "u", p.u, o.heads, o.head_dim);
  check_heads_dim(fn, "v", p.v, o.heads, o.head_dim);
  const OffsetRange range = offset_range(fn, qp, kp);
  const std::int64_t t = std::max(std::abs(range.min), std::abs(range.max));
  Tensor table = tener_sinusoid(-t, t, o.head_dim);
  table.reshape({1, static_cast<std::size_t>(2 * t + 1), static_cast<std::size_t>(o.head_dim)});
  const Relation j_minus_i = Relation::offset(qp, kp, +1, -t, t);
  const Relation i_minus_j = Relation::offset(qp, kp, -1, -t, t);
  Encoding e;
  e.name = "tener";
  if (o.paper_form) {
    e.content_bias = p.u;
    e.content_position.push_back({i_minus_j, table, p.v});
  } else {
    e.content_bias = p.v;
    e.content_position.push_back({j_minus_i, table, p.u});
    e.position_content.push_back({i_minus_j, table, {}});
  }
  if (!o.scaled) e.scale = 1.0;
  return e;
}

// ====================================================================== Huang et al.

namespace {
std::size_t huang_rows(const char* fn, const HuangOptions& o) {
  if (o.method < 1 || o.method > 4) detail::fail(fn, "parameter 'method' must be 1, 2, 3 or 4, got ", o.method);
  if (o.max_distance <= 0) detail::fail(fn, "parameter 'max_distance' must be >= 1, got ", o.max_distance);
  return static_cast<std::size_t>(o.method == 1 ? o.max_distance + 1 : 2 * o.max_distance + 1);
}
}  // namespace

Tensor huang_init(const HuangOptions& o, std::int64_t heads, std::int64_t head_dim, double std, std::uint64_t seed) {
  const char* fn = "huang_init";
  const std::size_t rows = huang_rows(fn, o);
  if (heads <= 0) detail::fail(fn, "parameter 'heads' must be positive (1 = shared), got ", heads);
  if (head_dim <= 0) detail::fail(fn, "parameter 'head_dim' must be positive, got ", head_dim);
  const auto h = static_cast<std::size_t>(heads), d = static_cast<std::size_t>(head_dim);
  if (o.method <= 2) return xt::ones<float>(Shape{h, rows});
  if (o.method == 3) return xt::ones<float>(Shape{h, rows, d});
  std::mt19937_64 gen(seed);
  return normal({h, rows, d}, std, gen);
}

Encoding huang(const DTensor& qp, const DTensor& kp, const Tensor& table, const HuangOptions& o) {
  const char* fn = "huang";
  const std::size_t rows = huang_rows(fn, o);
  const std::int64_t dmax = o.max_distance;
  Encoding e;
  e.name = "huang" + std::to_string(o.method);
  switch (o.method) {
    case 1:
      check_table(fn, "table", table, 2, rows);
      e.multipliers.push_back({Relation::distance(qp, kp, dmax, o.clip), table});
      break;
    case 2:
      check_table(fn, "table", table, 2, rows);
      e.multipliers.push_back({Relation::offset(qp, kp, -1, -dmax, dmax, o.clip), table});
      break;
    case 3:
      check_table(fn, "table", table, 3, rows);
      e.content_weights.push_back({Relation::offset(qp, kp, -1, -dmax, dmax, o.clip), table, {}});
      break;
    default: {
      check_table(fn, "table", table, 3, rows);
      const Relation rel = Relation::offset(qp, kp, -1, -dmax, dmax, o.clip);
      e.content_position.push_back({rel, table, {}});
      e.position_content.push_back({rel, table, {}});
    }
  }
  return e;
}

// ====================================================================== DA-Transformer

DaParams da_init(std::int64_t heads, std::uint64_t seed) {
  if (heads <= 0) detail::fail("da_init", "parameter 'heads' must be positive, got ", heads);
  std::mt19937_64 gen(seed);
  return {uniform({static_cast<std::size_t>(heads)}, 1.0, gen), uniform({static_cast<std::size_t>(heads)}, 1.0, gen)};
}

Tensor da_rescaling(const DaParams& p, std::int64_t max_distance) {
  const char* fn = "da_rescaling";
  if (p.v.dimension() != 1 || p.w.dimension() != 1 || p.v.size() != p.w.size() || p.v.size() == 0)
    detail::fail(fn, "parameters 'v' and 'w' must be [H] vectors of one length, got ", shape_string(p.v), " and ",
                 shape_string(p.w));
  if (max_distance < 0) detail::fail(fn, "parameter 'max_distance' must be >= 0, got ", max_distance);
  for (std::size_t h = 0; h < p.v.size(); ++h) {
    if (!std::isfinite(p.v(h))) detail::fail(fn, "parameter 'v' holds a non-finite value ", p.v(h));
    if (!std::isfinite(p.w(h))) detail::fail(fn, "parameter 'w' holds a non-finite value ", p.w(h));
  }
  const std::size_t rows = static_cast<std::size_t>(max_distance) + 1;
  Tensor t = Tensor::from_shape({p.v.size(), rows});
  for (std::size_t h = 0; h < p.v.size(); ++h)
    for (std::size_t r = 0; r < rows; ++r) {
      // (1 + e^v) / (1 + e^(v - w r)) = exp(softplus(v) - softplus(v - w r)): no overflow.
      const double v = p.v(h), w = p.w(h);
      t(h, r) = static_cast<float>(std::exp(softplus(v) - softplus(v - w * static_cast<double>(r))));
    }
  return t;
}

Encoding da_transformer(const DTensor& qp, const DTensor& kp, const DaParams& p) {
  const OffsetRange range = offset_range("da_transformer", qp, kp);
  const std::int64_t dmax = std::max(std::abs(range.min), std::abs(range.max));
  Encoding e;
  e.name = "da_transformer";
  e.score_relu = true;
  e.multipliers.push_back({Relation::distance(qp, kp, dmax), da_rescaling(p, dmax)});
  return e;
}

// ====================================================================== Reformer axial

std::vector<Tensor> reformer_axial_init(const std::vector<std::int64_t>& shape, const std::vector<std::int64_t>& dims,
                                        double std, std::uint64_t seed) {
  const char* fn = "reformer_axial_init";
  if (shape.size() < 2 || shape.size() != dims.size())
    detail::fail(fn, "parameters 'shape' and 'dims' need the same number (>= 2) of axes, got ", shape.size(), " and ",
                 dims.size());
  std::mt19937_64 gen(seed);
  std::vector<Tensor> tables;
  for (std::size_t a = 0; a < shape.size(); ++a) {
    if (shape[a] <= 0) detail::fail(fn, "parameter 'shape' axis ", a, " must be positive, got ", shape[a]);
    if (dims[a] <= 0) detail::fail(fn, "parameter 'dims' axis ", a, " must be positive, got ", dims[a]);
    tables.push_back(normal({static_cast<std::size_t>(shape[a]), static_cast<std::size_t>(dims[a])}, std, gen));
  }
  return tables;
}

Encoding reformer_axial(const std::vector<Tensor>& tables, const DTensor& positions) {
  const char* fn = "reformer_axial";
  if (tables.size() < 2) detail::fail(fn, "parameter 'tables' needs at least 2 factor tables, got ", tables.size());
  check_positions_1d(fn, positions, "positions");
  double capacity = 1;
  std::size_t width = 0;
  for (std::size_t a = 0; a < tables.size(); ++a) {
    if (tables[a].dimension() != 2 || tables[a].shape()[0] == 0 || tables[a].shape()[1] == 0)
      detail::fail(fn, "factor table ", a, " must be a non-empty [n, d] matrix, got ", shape_string(tables[a]));
    capacity *= static_cast<double>(tables[a].shape()[0]);
    width += tables[a].shape()[1];
  }
  Encoding e;
  e.name = "reformer_axial";
  e.input_add = Tensor::from_shape({positions.shape()[0], positions.shape()[1], width});
  for (std::size_t row = 0; row < positions.size(); ++row) {
    const double p = positions.data()[row];
    if (p < 0 || p >= capacity)
      detail::fail(fn, "position ", p, " does not fit the axial shape: the product of the factor sizes is ", capacity,
                   " (need more than every position)");
    // Mixed-radix digits, first axis slowest.
    auto rest = static_cast<std::uint64_t>(p);
    std::vector<std::size_t> digit(tables.size());
    for (std::size_t a = tables.size(); a-- > 0;) {
      digit[a] = rest % tables[a].shape()[0];
      rest /= tables[a].shape()[0];
    }
    float* out = e.input_add.data() + row * width;
    for (std::size_t a = 0; a < tables.size(); ++a) {
      const std::size_t d = tables[a].shape()[1];
      std::copy_n(tables[a].data() + digit[a] * d, d, out);
      out += d;
    }
  }
  return e;
}

// ====================================================================== continuous MLP

namespace {

using detail::activate;

using detail::affine;

void check_positions_m(const char* fn, const DTensor& p, std::size_t m) {
  if (p.dimension() != 3 || p.shape()[2] != m || p.shape()[1] == 0)
    detail::fail(fn, "parameter 'positions' must be [B|1, tokens, ", m, "], got ", shape_string(p));
  for (double v : p)
    if (!std::isfinite(v)) detail::fail(fn, "parameter 'positions' holds a non-finite value ", v);
}

void expect_shape(const char* fn, const char* name, const Tensor& t, const Shape& s) {
  if (Shape(t.shape().begin(), t.shape().end()) != s)
    detail::fail(fn, "parameter '", name, "' has shape ", shape_string(t), ", expected ", shape_string(s));
}

std::string join(const std::string& dir, const char* name) { return (std::filesystem::path(dir) / name).string(); }

}  // namespace

ContinuousMlp::ContinuousMlp(const Config& c, std::uint64_t seed) : config_(c) {
  const char* fn = "ContinuousMlp";
  if (c.input_dim <= 0) detail::fail(fn, "parameter 'input_dim' must be positive, got ", c.input_dim);
  if (c.hidden <= 0) detail::fail(fn, "parameter 'hidden' must be positive, got ", c.hidden);
  if (c.output_dim <= 0) detail::fail(fn, "parameter 'output_dim' must be positive, got ", c.output_dim);
  if (c.scaling != PositionScaling::none) detail::require_positive(fn, "reference_length", c.reference_length);
  std::mt19937_64 gen(seed);
  const auto m = static_cast<std::size_t>(c.input_dim), h = static_cast<std::size_t>(c.hidden),
             d = static_cast<std::size_t>(c.output_dim);
  w1 = uniform({h, m}, 1 / std::sqrt(static_cast<double>(m)), gen);
  b1 = uniform({h}, 1 / std::sqrt(static_cast<double>(m)), gen);
  w2 = uniform({d, h}, 1 / std::sqrt(static_cast<double>(h)), gen);
  b2 = uniform({d}, 1 / std::sqrt(static_cast<double>(h)), gen);
}

ContinuousMlp ContinuousMlp::load(const std::string& dir, const Config& c) {
  ContinuousMlp mlp(c, 0);
  mlp.w1 = load_npy(join(dir, "w1.npy"), true);
  mlp.b1 = load_npy(join(dir, "b1.npy"), true);
  mlp.w2 = load_npy(join(dir, "w2.npy"), true);
  mlp.b2 = load_npy(join(dir, "b2.npy"), true);
  const auto m = static_cast<std::size_t>(c.input_dim), h = static_cast<std::size_t>(c.hidden),
             d = static_cast<std::size_t>(c.output_dim);
  const char* fn = "ContinuousMlp::load";
  expect_shape(fn, "w1", mlp.w1, {h, m});
  expect_shape(fn, "b1", mlp.b1, {h});
  expect_shape(fn, "w2", mlp.w2, {d, h});
  expect_shape(fn, "b2", mlp.b2, {d});
  return mlp;
}

void ContinuousMlp::save(const std::string& dir) const {
  save_npy(join(dir, "w1.npy"), w1);
  save_npy(join(dir, "b1.npy"), b1);
  save_npy(join(dir, "w2.npy"), w2);
  save_npy(join(dir, "b2.npy"), b2);
}

Tensor ContinuousMlp::encode(const DTensor& positions) const {
  const auto m = static_cast<std::size_t>(config_.input_dim), h = static_cast<std::size_t>(config_.hidden),
             d = static_cast<std::size_t>(config_.output_dim);
  check_positions_m("ContinuousMlp::encode", positions, m);
  const std::size_t rows = positions.shape()[0] * positions.shape()[1];
  Tensor out = Tensor::from_shape({positions.shape()[0], positions.shape()[1], d});
#pragma omp parallel
  {
    std::vector<double> x(m), hid(h), y(d);
#pragma omp for schedule(static)
    for (std::ptrdiff_t r = 0; r < static_cast<std::ptrdiff_t>(rows); ++r) {
      for (std::size_t a = 0; a < m; ++a) {
        const double p = positions.data()[static_cast<std::size_t>(r) * m + a];
        x[a] = config_.scaling == PositionScaling::none     ? p
               : config_.scaling == PositionScaling::divide ? p / config_.reference_length
                                                            : 2 * p / config_.reference_length - 1;
      }
      affine(w1.data(), b1.data(), x.data(), m, h, hid.data());
      for (auto& v : hid) v = activate(config_.activation, v);
      affine(w2.data(), b2.data(), hid.data(), h, d, y.data());
      for (std::size_t o = 0; o < d; ++o) out.data()[static_cast<std::size_t>(r) * d + o] = static_cast<float>(y[o]);
    }
  }
  return out;
}

Encoding ContinuousMlp::encoding(const DTensor& positions) const {
  Encoding e;
  e.name = "continuous_mlp";
  e.input_add = encode(positions);
  return e;
}

// ====================================================================== learned Fourier features

LearnedFourier::LearnedFourier(const Config& c, std::uint64_t seed) : config_(c) {
  const char* fn = "LearnedFourier";
  if (c.input_dim <= 0) detail::fail(fn, "parameter 'input_dim' must be positive, got ", c.input_dim);
  if (c.groups <= 0) detail::fail(fn, "parameter 'groups' must be positive, got ", c.groups);
  if (c.output_dim <= 0 || c.output_dim % c.groups != 0)
    detail::fail(fn, "parameter 'output_dim' = ", c.output_dim, " must be positive and divisible by groups = ", c.groups);
  if (config_.fourier_dim == 0) config_.fourier_dim = c.output_dim;
  if (config_.fourier_dim <= 0 || config_.fourier_dim % 2 != 0)
    detail::fail(fn, "parameter 'fourier_dim' must be positive and even, got ", config_.fourier_dim);
  if (c.hidden <= 0) detail::fail(fn, "parameter 'hidden' must be positive, got ", c.hidden);
  detail::require_positive(fn, "gamma", c.gamma);
  if (config_.init_std == 0) config_.init_std = 1.0 / c.gamma;
  detail::require_positive(fn, "init_std", config_.init_std);
  std::mt19937_64 gen(seed);
  const auto g = static_cast<std::size_t>(c.groups), m = static_cast<std::size_t>(c.input_dim),
             f = static_cast<std::size_t>(config_.fourier_dim), h = static_cast<std::size_t>(c.hidden),
             dg = static_cast<std::size_t>(c.output_dim / c.groups);
  w_r = normal({g, f / 2, m}, config_.init_std, gen);
  w1 = uniform({g, h, f}, 1 / std::sqrt(static_cast<double>(f)), gen);
  b1 = uniform({g, h}, 1 / std::sqrt(static_cast<double>(f)), gen);
  w2 = uniform({g, dg, h}, 1 / std::sqrt(static_cast<double>(h)), gen);
  b2 = uniform({g, dg}, 1 / std::sqrt(static_cast<double>(h)), gen);
}

LearnedFourier LearnedFourier::load(const std::string& dir, const Config& c) {
  LearnedFourier lf(c, 0);
  const char* fn = "LearnedFourier::load";
  const Shape sr(lf.w_r.shape().begin(), lf.w_r.shape().end()), s1(lf.w1.shape().begin(), lf.w1.shape().end()),
      sb1(lf.b1.shape().begin(), lf.b1.shape().end()), s2(lf.w2.shape().begin(), lf.w2.shape().end()),
      sb2(lf.b2.shape().begin(), lf.b2.shape().end());
  lf.w_r = load_npy(join(dir, "w_r.npy"), true);
  lf.w1 = load_npy(join(dir, "w1.npy"), true);
  lf.b1 = load_npy(join(dir, "b1.npy"), true);
  lf.w2 = load_npy(join(dir, "w2.npy"), true);
  lf.b2 = load_npy(join(dir, "b2.npy"), true);
  expect_shape(fn, "w_r", lf.w_r, sr);
  expect_shape(fn, "w1", lf.w1, s1);
  expect_shape(fn, "b1", lf.b1, sb1);
  expect_shape(fn, "w2", lf.w2, s2);
  expect_shape(fn, "b2", lf.b2, sb2);
  return lf;
}

void LearnedFourier::save(const std::string& dir) const {
  save_npy(join(dir, "w_r.npy"), w_r);
  save_npy(join(dir, "w1.npy"), w1);
  save_npy(join(dir, "b1.npy"), b1);
  save_npy(join(dir, "w2.npy"), w2);
  save_npy(join(dir, "b2.npy"), b2);
}

Tensor LearnedFourier::encode(const DTensor& positions) const {
  const auto g = static_cast<std::size_t>(config_.groups), m = static_cast<std::size_t>(config_.input_dim),
             f = static_cast<std::size_t>(config_.fourier_dim), h = static_cast<std::size_t>(config_.hidden),
             dg = static_cast<std::size_t>(config_.output_dim / config_.groups);
  check_positions_m("LearnedFourier::encode", positions, g * m);
  const std::size_t rows = positions.shape()[0] * positions.shape()[1];
  Tensor out = Tensor::from_shape({positions.shape()[0], positions.shape()[1], g * dg});
  const double norm = 1.0 / std::sqrt(static_cast<double>(f));
#pragma omp parallel
  {
    std::vector<double> feat(f), hid(h), y(dg);
#pragma omp for schedule(static)
    for (std::ptrdiff_t r = 0; r < static_cast<std::ptrdiff_t>(rows); ++r) {
      const double* x = positions.data() + static_cast<std::size_t>(r) * g * m;
      for (std::size_t gg = 0; gg < g; ++gg) {
        for (std::size_t k = 0; k < f / 2; ++k) {
          double proj = 0;
          for (std::size_t a = 0; a < m; ++a) proj += static_cast<double>(w_r(gg, k, a)) * x[gg * m + a];
          feat[k] = norm * std::cos(proj);  // cosines first, as the paper
          feat[f / 2 + k] = norm * std::sin(proj);
        }
        affine(w1.data() + gg * h * f, b1.data() + gg * h, feat.data(), f, h, hid.data());
        for (auto& v : hid) v = gelu(v);
        affine(w2.data() + gg * dg * h, b2.data() + gg * dg, hid.data(), h, dg, y.data());
        for (std::size_t o = 0; o < dg; ++o)
          out.data()[static_cast<std::size_t>(r) * g * dg + gg * dg + o] = static_cast<float>(y[o]);
      }
    }
  }
  return out;
}

Encoding LearnedFourier::encoding(const DTensor& positions) const {
  Encoding e;
  e.name = "learned_fourier";
  e.input_add = encode(positions);
  return e;
}

}  // namespace posenc
