// The text modality: positions for plain, cached and packed sequences, and the
// text encodings NoPE, learned absolute, ALiBi and T5 buckets.
#include "posenc/text.hpp"

#include <cmath>
#include <random>

#include "detail/bias_part.hpp"
#include "detail/check.hpp"

namespace posenc {

DTensor text_positions(std::int64_t tokens, std::int64_t offset) {
  if (tokens <= 0) detail::fail("text_positions", "parameter 'tokens' must be positive, got ", tokens);
  if (offset < 0) detail::fail("text_positions", "parameter 'offset' must be >= 0, got ", offset);
  DTensor p = DTensor::from_shape({1, static_cast<std::size_t>(tokens), 1});
  for (std::int64_t i = 0; i < tokens; ++i) p.data()[i] = static_cast<double>(offset + i);
  return p;
}

PackedText packed_text_positions(const std::vector<std::vector<std::int64_t>>& docs, std::int64_t tokens) {
  const char* fn = "packed_text_positions";
  if (docs.empty()) detail::fail(fn, "parameter 'document_lengths' is empty (zero batch rows)");
  std::int64_t longest = 0;
  for (std::size_t b = 0; b < docs.size(); ++b) {
    std::int64_t total = 0;
    for (auto len : docs[b]) {
      if (len <= 0) detail::fail(fn, "document length must be positive, got ", len, " in row ", b);
      total += len;
    }
    longest = std::max(longest, total);
  }
  if (tokens == 0) tokens = longest;
  if (tokens <= 0) detail::fail(fn, "parameter 'tokens' must be positive, got ", tokens);
  if (longest > tokens) detail::fail(fn, "a row holds ", longest, " tokens but 'tokens' is ", tokens);
  PackedText out;
  const std::size_t n = static_cast<std::size_t>(tokens);
  out.positions = xt::zeros<double>({docs.size(), n, std::size_t(1)});
  out.segments = ITensor::from_shape({docs.size(), n});
  out.segments.fill(-1);
  for (std::size_t b = 0; b < docs.size(); ++b) {
    std::size_t at = 0;
    for (std::size_t d = 0; d < docs[b].size(); ++d)
      for (std::int64_t t = 0; t < docs[b][d]; ++t, ++at) {
        out.positions(b, at, 0) = static_cast<double>(t);
        out.segments(b, at) = static_cast<std::int64_t>(d);
      }
  }
  return out;
}

Encoding nope() {
  Encoding e;
  e.name = "nope";
  return e;
}

namespace {

Tensor normal_table(const char* fn, Shape shape, double std, std::uint64_t seed) {
  if (!(std >= 0) || !std::isfinite(std)) detail::fail(fn, "parameter 'std' must be finite and >= 0, got ", std);
  Tensor t = Tensor::from_shape(shape);
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> dist(0.0, std);
  for (auto& v : t) v = static_cast<float>(dist(gen));
  return t;
}

}  // namespace

Tensor learned_table_init(std::int64_t max_positions, std::int64_t dim, double std, std::uint64_t seed) {
  const char* fn = "learned_table_init";
  if (max_positions <= 0) detail::fail(fn, "parameter 'max_positions' must be positive, got ", max_positions);
  if (dim <= 0) detail::fail(fn, "parameter 'dim' must be positive, got ", dim);
  return normal_table(fn, {static_cast<std::size_t>(max_positions), static_cast<std::size_t>(dim)}, std, seed);
}

Encoding learned_absolute(const Tensor& table, const DTensor& positions) {
  const char* fn = "learned_absolute";
  if (table.dimension() != 2 || table.shape()[0] == 0 || table.shape()[1] == 0)
    detail::fail(fn, "parameter 'table' must be a non-empty [max_positions, dim] matrix, got ", shape_string(table));
  if (positions.dimension() != 3 || positions.shape()[2] != 1)
    detail::fail(fn, "parameter 'positions' must be [B|1, tokens, 1], got ", shape_string(positions));
  const std::size_t lmax = table.shape()[0], dim = table.shape()[1];
  Encoding e;
  e.name = "learned";
  e.input_add = Tensor::from_shape({positions.shape()[0], positions.shape()[1], dim});
  for (std::size_t r = 0; r < positions.size(); ++r) {
    const double p = positions.data()[r];
    if (p != std::floor(p) || p < 0 || p >= static_cast<double>(lmax))
      detail::fail(fn, "position ", p, " is outside the learned table of ", lmax,
                   " rows (valid: integers 0..", lmax - 1, ")");
    std::copy_n(table.data() + static_cast<std::size_t>(p) * dim, dim, e.input_add.data() + r * dim);
  }
  return e;
}

std::vector<double> alibi_slopes(std::int64_t heads, double max_bias) {
  const char* fn = "alibi_slopes";
  if (heads <= 0) detail::fail(fn, "parameter 'heads' must be positive, got ", heads);
  detail::require_positive(fn, "max_bias", max_bias);
  auto power_of_two = [&](std::int64_t n) {
    std::vector<double> s(static_cast<std::size_t>(n));
    for (std::int64_t h = 0; h < n; ++h)
      s[static_cast<std::size_t>(h)] = std::exp2(-max_bias * static_cast<double>(h + 1) / static_cast<double>(n));
    return s;
  };
  std::int64_t p = 1;
  while (p * 2 <= heads) p *= 2;
  std::vector<double> slopes = power_of_two(p);
  if (p < heads) {
    const auto extra = power_of_two(2 * p);
    for (std::int64_t t = 0; t < heads - p; ++t) slopes.push_back(extra[static_cast<std::size_t>(2 * t)]);
  }
  return slopes;
}

Encoding alibi(const DTensor& qp, const DTensor& kp, const AlibiOptions& o) {
  const char* fn = "alibi";
  if (o.heads <= 0) detail::fail(fn, "parameter 'heads' must be positive, got ", o.heads);
  if (o.fairseq_compat && !o.causal) detail::fail(fn, "parameter 'fairseq_compat' applies to the causal form only");
  const auto slopes = alibi_slopes(o.heads, o.max_bias);
  Bias b;
  b.kind = BiasKind::slope;
  b.slopes = Tensor::from_shape({slopes.size()});
  for (std::size_t h = 0; h < slopes.size(); ++h) b.slopes(h) = static_cast<float>(slopes[h]);
  if (!o.causal) {
    b.relation = Relation::distance(qp, kp);
  } else if (o.fairseq_compat) {
    // fairseq adds +m * j to every row: rho = -(p_j - 0), so -m * rho = m * p_j.
    b.relation = Relation::offset_unbounded(xt::zeros_like(qp), kp, -1);
  } else {
    b.relation = Relation::offset_unbounded(qp, kp, -1);  // rho = p_i - p_j
  }
  Encoding e;
  e.name = "alibi";
  e.biases.push_back(std::move(b));
  return e;
}

Encoding alibi(const DTensor& positions, const AlibiOptions& o) { return alibi(positions, positions, o); }

ITensor t5_bucket_matrix(const DTensor& qp, const DTensor& kp, const T5Options& o) {
  const Relation rel = Relation::t5(qp, kp, o.bidirectional, o.num_buckets, o.max_distance);
  const std::size_t nb = rel.batch(), nq = rel.n_query(), nk = rel.n_key();
  ITensor out = ITensor::from_shape({nb, nq, nk});
  for (std::size_t b = 0; b < nb; ++b)
    for (std::size_t i = 0; i < nq; ++i)
      for (std::size_t j = 0; j < nk; ++j) {
        const auto n = static_cast<std::int64_t>(kp(kp.shape()[0] == 1 ? 0 : b, j, 0) -
                                                 qp(qp.shape()[0] == 1 ? 0 : b, i, 0));
        out(b, i, j) = t5_relative_bucket(n, o.bidirectional, o.num_buckets, o.max_distance);
      }
  return out;
}

Tensor t5_table_init(std::int64_t heads, std::int64_t num_buckets, double std, std::uint64_t seed) {
  const char* fn = "t5_table_init";
  if (heads <= 0) detail::fail(fn, "parameter 'heads' must be positive, got ", heads);
  if (num_buckets <= 0) detail::fail(fn, "parameter 'num_buckets' must be positive, got ", num_buckets);
  return normal_table(fn, {static_cast<std::size_t>(heads), static_cast<std::size_t>(num_buckets)}, std, seed);
}

Encoding t5_bias(const DTensor& qp, const DTensor& kp, const Tensor& table, const T5Options& o) {
  const char* fn = "t5_bias";
  if (table.dimension() != 2 || table.shape()[1] != static_cast<std::size_t>(o.num_buckets))
    detail::fail(fn, "parameter 'table' must be [H|1, num_buckets = ", o.num_buckets, "], got ", shape_string(table));
  Encoding e = detail::bias_part("t5", BiasKind::table,
                                 Relation::t5(qp, kp, o.bidirectional, o.num_buckets, o.max_distance), table);
  e.scale = 1.0;
  return e;
}

Encoding t5_bias(const DTensor& positions, const Tensor& table, const T5Options& o) {
  return t5_bias(positions, positions, table, o);
}

}  // namespace posenc
