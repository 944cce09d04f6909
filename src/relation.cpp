// Relations rho(i, j): constructors, the T5 bucket rule and per-tile evaluation.
#include <algorithm>
#include <cmath>
#include <vector>

#include "detail/check.hpp"
#include "detail/relation_eval.hpp"

namespace posenc {

namespace {

void check_positions(const char* fn, const char* name, const DTensor& p) {
  if (p.dimension() != 3)
    detail::fail(fn, "parameter '", name, "' must have shape [B|1, tokens, axes], got ", shape_string(p));
  if (p.shape()[1] == 0) detail::fail(fn, "parameter '", name, "' has zero tokens");
  if (p.shape()[2] == 0) detail::fail(fn, "parameter '", name, "' has zero axes");
  for (double v : p)
    if (!std::isfinite(v)) detail::fail(fn, "parameter '", name, "' holds a non-finite position ", v);
}

void check_pair(const char* fn, const DTensor& q, const DTensor& k) {
  check_positions(fn, "query_positions", q);
  check_positions(fn, "key_positions", k);
  if (q.shape()[2] != k.shape()[2])
    detail::fail(fn, "query and key positions have different numbers of axes: ", q.shape()[2], " vs ", k.shape()[2]);
  if (q.shape()[0] != k.shape()[0] && q.shape()[0] != 1 && k.shape()[0] != 1)
    detail::fail(fn, "query and key positions have incompatible batch sizes ", q.shape()[0], " and ", k.shape()[0]);
}

void check_integral(const char* fn, const char* name, const DTensor& p) {
  for (double v : p)
    if (v != std::floor(v))
      detail::fail(fn, "parameter '", name, "' must hold integer positions for an indexed relation, got ", v);
}

}  // namespace

std::int64_t t5_relative_bucket(std::int64_t n, bool bidirectional, std::int64_t num_buckets,
                                std::int64_t max_distance) {
  std::int64_t buckets = bidirectional ? num_buckets / 2 : num_buckets;
  const std::int64_t exact = buckets / 2;
  if (exact < 1)
    detail::fail("t5_relative_bucket", "parameter 'num_buckets' must be >= ", bidirectional ? 4 : 2,
                 " (bidirectional=", bidirectional, "), got ", num_buckets);
  if (max_distance <= exact)
    detail::fail("t5_relative_bucket", "parameter 'max_distance' must exceed num_buckets/", bidirectional ? 4 : 2,
                 " = ", exact, ", got ", max_distance);
  std::int64_t base = 0;
  std::int64_t m = 0;
  if (bidirectional) {
    base = n > 0 ? buckets : 0;
    m = n < 0 ? -n : n;
  } else {
    m = n < 0 ? -n : 0;
  }
  if (m < exact) return base + m;
  // Large branch, in float32 as the reference computes it; only reached for m >= exact >= 1.
  const float ratio = static_cast<float>(m) / static_cast<float>(exact);
  const float denom = static_cast<float>(std::log(static_cast<double>(max_distance) / static_cast<double>(exact)));
  const float scaled = std::log(ratio) / denom * static_cast<float>(buckets - exact);
  const std::int64_t large = exact + static_cast<std::int64_t>(scaled);  // truncation toward 0 (scaled >= 0)
  return base + std::min<std::int64_t>(large, buckets - 1);
}

Relation Relation::offset(const DTensor& q, const DTensor& k, int direction, std::int64_t min, std::int64_t max,
                          bool clip) {
  const char* fn = "Relation::offset";
  check_pair(fn, q, k);
  check_integral(fn, "query_positions", q);
  check_integral(fn, "key_positions", k);
  if (direction != 1 && direction != -1) detail::fail(fn, "parameter 'direction' must be +1 or -1, got ", direction);
  if (min > max) detail::fail(fn, "parameter 'min' (", min, ") must not exceed 'max' (", max, ")");
  Relation r;
  r.kind = RelationKind::offset;
  r.query_positions = q;
  r.key_positions = k;
  r.direction = direction;
  r.bounded = true;
  r.clip = clip;
  r.min = min;
  r.max = max;
  r.size = max - min + 1;
  return r;
}

Relation Relation::offset_unbounded(const DTensor& q, const DTensor& k, int direction) {
  const char* fn = "Relation::offset_unbounded";
  check_pair(fn, q, k);
  if (direction != 1 && direction != -1) detail::fail(fn, "parameter 'direction' must be +1 or -1, got ", direction);
  Relation r;
  r.kind = RelationKind::offset;
  r.query_positions = q;
  r.key_positions = k;
  r.direction = direction;
  return r;
}

Relation Relation::distance(const DTensor& q, const DTensor& k, std::int64_t max, bool clip) {
  const char* fn = "Relation::distance";
  check_pair(fn, q, k);
  Relation r;
  r.kind = RelationKind::distance;
  r.query_positions = q;
  r.key_positions = k;
  if (max >= 0) {
    check_integral(fn, "query_positions", q);
    check_integral(fn, "key_positions", k);
    r.bounded = true;
    r.clip = clip;
    r.min = 0;
    r.max = max;
    r.size = max + 1;
  }
  return r;
}

Relation Relation::euclidean(const DTensor& q, const DTensor& k) {
  check_pair("Relation::euclidean", q, k);
  Relation r;
  r.kind = RelationKind::euclidean;
  r.query_positions = q;
  r.key_positions = k;
  return r;
}

Relation Relation::t5(const DTensor& q, const DTensor& k, bool bidirectional, std::int64_t num_buckets,
                      std::int64_t max_distance) {
  const char* fn = "Relation::t5";
  check_pair(fn, q, k);
  check_integral(fn, "query_positions", q);
  check_integral(fn, "key_positions", k);
  Relation r;
  r.kind = RelationKind::t5_bucket;
  r.query_positions = q;
  r.key_positions = k;
  r.bidirectional = bidirectional;
  r.num_buckets = num_buckets;
  r.max_distance = max_distance;
  r.size = num_buckets;
  // Tabulate the bucket of m = |n| (bidirectional) or max(-n, 0) until it saturates:
  // the rule is monotone in m, so every larger m maps to the last entry.
  const std::int64_t top = bidirectional ? num_buckets / 2 - 1 : num_buckets - 1;
  for (std::int64_t m = 0;; ++m) {
    // n = -m: the non-positive side, whose base is 0 in both directions.
    const std::int64_t bucket = t5_relative_bucket(-m, bidirectional, num_buckets, max_distance);
    r.bucket_of_distance.push_back(static_cast<std::int32_t>(bucket));
    if (bucket >= top) break;
    if (m > (std::int64_t(1) << 40)) detail::fail(fn, "bucket rule does not saturate");  // unreachable guard
  }
  return r;
}

Relation Relation::geodesic(const DTensor& q, const DTensor& k, std::int64_t num_buckets, double resolution,
                            double max_angle) {
  const char* fn = "Relation::geodesic";
  check_pair(fn, q, k);
  if (q.shape()[2] != 3) detail::fail(fn, "positions must be unit vectors [B|1, tokens, 3], got ", shape_string(q));
  for (const DTensor* p : {&q, &k})
    for (std::size_t r = 0; r < p->shape()[0] * p->shape()[1]; ++r) {
      const double* u = p->data() + r * 3;
      const double n2 = u[0] * u[0] + u[1] * u[1] + u[2] * u[2];
      if (std::abs(n2 - 1) > 1e-6) detail::fail(fn, "positions must be unit vectors; row ", r, " has squared norm ", n2);
    }
  Relation r;
  r.kind = RelationKind::geodesic;
  r.query_positions = q;
  r.key_positions = k;
  if (num_buckets > 0) {
    if (num_buckets < 2) detail::fail(fn, "parameter 'num_buckets' must be >= 2, got ", num_buckets);
    detail::require_positive(fn, "resolution", resolution);
    const double exact = static_cast<double>(num_buckets / 2);
    if (!(max_angle > exact * resolution) || !std::isfinite(max_angle))
      detail::fail(fn, "parameter 'max_angle' (", max_angle, ") must exceed num_buckets/2 * resolution = ",
                   exact * resolution);
    r.num_buckets = num_buckets;
    r.resolution = resolution;
    r.max_angle = max_angle;
    r.size = num_buckets;
  }
  return r;
}

Relation Relation::explicit_index(const ITensor& indices, std::int64_t size) {
  const char* fn = "Relation::explicit_index";
  if (indices.dimension() != 3)
    detail::fail(fn, "parameter 'indices' must have shape [B|1, Nq, Nk], got ", shape_string(indices));
  if (size <= 0) detail::fail(fn, "parameter 'size' must be positive, got ", size);
  for (auto v : indices)
    if (v < 0 || v >= size) detail::fail(fn, "parameter 'indices' holds ", v, " outside [0, ", size, ")");
  Relation r;
  r.kind = RelationKind::index;
  r.indices = indices;
  r.size = size;
  return r;
}

std::size_t Relation::batch() const {
  if (kind == RelationKind::index) return indices.shape()[0];
  return std::max(query_positions.shape()[0], key_positions.shape()[0]);
}
std::size_t Relation::n_query() const {
  return kind == RelationKind::index ? indices.shape()[1] : query_positions.shape()[1];
}
std::size_t Relation::n_key() const {
  return kind == RelationKind::index ? indices.shape()[2] : key_positions.shape()[1];
}

namespace detail {
std::int64_t relation_index(const Relation& rel, std::size_t b, std::size_t i, std::size_t j);
double relation_value(const Relation& rel, std::size_t b, std::size_t i, std::size_t j);
}  // namespace detail

ITensor relation_indices(const Relation& rel) {
  if (!rel.has_index()) detail::fail("relation_indices", "the relation gives values only (no index); use relation_values");
  ITensor out = ITensor::from_shape({rel.batch(), rel.n_query(), rel.n_key()});
  for (std::size_t b = 0; b < rel.batch(); ++b)
    for (std::size_t i = 0; i < rel.n_query(); ++i)
      for (std::size_t j = 0; j < rel.n_key(); ++j) out(b, i, j) = detail::relation_index(rel, b, i, j);
  return out;
}

DTensor relation_values(const Relation& rel) {
  DTensor out = DTensor::from_shape({rel.batch(), rel.n_query(), rel.n_key()});
  for (std::size_t b = 0; b < rel.batch(); ++b)
    for (std::size_t i = 0; i < rel.n_query(); ++i)
      for (std::size_t j = 0; j < rel.n_key(); ++j) out(b, i, j) = detail::relation_value(rel, b, i, j);
  return out;
}

namespace detail {

namespace {

struct PosView {
  const double* q;
  const double* k;
  std::size_t axes;
};

PosView view(const Relation& rel, std::size_t b) {
  const auto& qp = rel.query_positions;
  const auto& kp = rel.key_positions;
  const std::size_t axes = qp.shape()[2];
  const std::size_t qb = qp.shape()[0] == 1 ? 0 : b;
  const std::size_t kb = kp.shape()[0] == 1 ? 0 : b;
  return {qp.data() + qb * qp.shape()[1] * axes, kp.data() + kb * kp.shape()[1] * axes, axes};
}

inline std::int64_t bucket_lookup(const Relation& rel, std::int64_t n) {
  std::int64_t base = 0;
  std::int64_t m;
  if (rel.bidirectional) {
    base = n > 0 ? rel.num_buckets / 2 : 0;
    m = n < 0 ? -n : n;
  } else {
    m = n < 0 ? -n : 0;
  }
  const auto& lut = rel.bucket_of_distance;
  const std::int64_t last = static_cast<std::int64_t>(lut.size()) - 1;
  return base + lut[static_cast<std::size_t>(std::min(m, last))];
}

double great_circle(const double* a, const double* b) {
  // d = 2 atan2(|a - b|, |a + b|): accurate at 0 and pi, exactly 0 for equal vectors and
  // exactly symmetric (no cross product whose FMA contraction could leave a residue).
  double m2 = 0, p2 = 0;
  for (int c = 0; c < 3; ++c) {
    const double m = a[c] - b[c], p = a[c] + b[c];
    m2 += m * m;
    p2 += p * p;
  }
  return 2.0 * std::atan2(std::sqrt(m2), std::sqrt(p2));
}

std::int64_t geodesic_bucket(const Relation& rel, double d) {
  const std::int64_t e = rel.num_buckets / 2;
  const double m = d / rel.resolution;
  if (m < static_cast<double>(e)) return static_cast<std::int64_t>(m);
  const double large = static_cast<double>(e) +
                       std::floor(std::log(m / static_cast<double>(e)) /
                                  std::log(rel.max_angle / (static_cast<double>(e) * rel.resolution)) *
                                  static_cast<double>(rel.num_buckets - e));
  return std::min<std::int64_t>(static_cast<std::int64_t>(large), rel.num_buckets - 1);
}

inline std::int64_t bounded_index(const Relation& rel, std::int64_t r) {
  if (r < rel.min || r > rel.max) {
    if (!rel.clip)
      fail("attention", "relation value ", r, " lies outside the table range [", rel.min, ", ", rel.max,
           "] and clipping is off");
    r = std::clamp(r, rel.min, rel.max);
  }
  return r - rel.min;
}

/// T5 buckets of a tile in 32-bit integers (vectorisable: the key positions converted once per
/// tile, a branch-free bucket rule and a table gather). False when a position does not fit.
bool t5_tile_int32(const Relation& rel, const PosView& p, std::size_t i0, std::size_t i1, std::size_t j0,
                   std::size_t j1, std::int32_t* out) {
  constexpr double kLimit = 1 << 29;
  const std::size_t w = j1 - j0;
  thread_local std::vector<std::int32_t> keys;
  keys.resize(w);
  for (std::size_t j = j0; j < j1; ++j) {
    const double k = p.k[j * p.axes];
    if (!(std::abs(k) < kLimit)) return false;
    keys[j - j0] = static_cast<std::int32_t>(static_cast<std::int64_t>(k));
  }
  const std::int32_t half = rel.bidirectional ? static_cast<std::int32_t>(rel.num_buckets / 2) : 0;
  const std::int32_t last = static_cast<std::int32_t>(rel.bucket_of_distance.size()) - 1;
  const std::int32_t* lut = rel.bucket_of_distance.data();
  const std::int32_t* kp = keys.data();
  const bool bidir = rel.bidirectional;
  for (std::size_t i = i0; i < i1; ++i) {
    const double qd = p.q[i * p.axes];
    if (!(std::abs(qd) < kLimit)) return false;
    const auto qi = static_cast<std::int32_t>(static_cast<std::int64_t>(qd));
    std::int32_t* row = out + (i - i0) * w;
#pragma omp simd
    for (std::size_t j = 0; j < w; ++j) {
      const std::int32_t n = kp[j] - qi;
      const std::int32_t m = bidir ? (n < 0 ? -n : n) : (n < 0 ? -n : 0);
      const std::int32_t base = bidir && n > 0 ? half : 0;
      row[j] = base + lut[m < last ? m : last];
    }
  }
  return true;
}

}  // namespace

void relation_index_range(const Relation& rel, std::size_t b, std::size_t i0, std::size_t i1, std::size_t j0,
                          std::size_t j1, std::size_t& lo, std::size_t& hi) {
  lo = 0;
  hi = static_cast<std::size_t>(rel.size);
  if ((rel.kind != RelationKind::offset && rel.kind != RelationKind::distance) || !rel.bounded || i1 <= i0 ||
      j1 <= j0 || rel.query_positions.shape()[2] != 1)
    return;
  const PosView p = view(rel, b);
  const auto [qlo, qhi] = std::minmax_element(p.q + i0, p.q + i1);
  const auto [klo, khi] = std::minmax_element(p.k + j0, p.k + j1);
  // Indexed relations hold integer positions, so these differences are the tiles' n = k - q.
  const auto nmin = static_cast<std::int64_t>(*klo - *qhi), nmax = static_cast<std::int64_t>(*khi - *qlo);
  std::int64_t rmin, rmax;  // the range of r before the clip
  if (rel.kind == RelationKind::offset) {
    rmin = rel.direction > 0 ? nmin : -nmax;
    rmax = rel.direction > 0 ? nmax : -nmin;
  } else {
    rmin = nmin <= 0 && nmax >= 0 ? 0 : std::min(std::abs(nmin), std::abs(nmax));
    rmax = std::max(std::abs(nmin), std::abs(nmax));
  }
  lo = static_cast<std::size_t>(std::clamp(rmin, rel.min, rel.max) - rel.min);
  hi = static_cast<std::size_t>(std::clamp(rmax, rel.min, rel.max) - rel.min) + 1;
}

namespace {

/// Whether x[a..e) are consecutive integers with |x| < 2^40 (every difference of two is exact).
bool consecutive_run(const double* x, std::size_t a, std::size_t e) {
  constexpr double kLimit = 1099511627776.0;
  if (!(std::abs(x[a]) < kLimit) || x[a] != std::floor(x[a])) return false;
  for (std::size_t u = a + 1; u < e; ++u)
    if (x[u] != x[a] + static_cast<double>(u - a)) return false;
  return true;
}

/// When positions [i0, i1) and keys [j0, j1) of a one-axis relation are runs of consecutive
/// integers, n0 = k_j0 - q_i0 - (nb - 1): the tile's diagonal t has n = k - q = n0 + t.
bool diagonal_start(const Relation& rel, std::size_t b, std::size_t i0, std::size_t i1, std::size_t j0,
                    std::size_t j1, std::int64_t& n0) {
  if (rel.query_positions.shape()[2] != 1 || i1 <= i0 || j1 <= j0) return false;
  const PosView p = view(rel, b);
  if (!consecutive_run(p.q, i0, i1) || !consecutive_run(p.k, j0, j1)) return false;
  n0 = static_cast<std::int64_t>(p.k[j0] - p.q[i0]) - static_cast<std::int64_t>(i1 - i0 - 1);
  return true;
}

/// The value r of an offset (direction * n) or distance (|n|) relation, clipped when bounded.
double offset_value(const Relation& rel, double n) {
  double r = rel.kind == RelationKind::distance ? std::abs(n) : n * rel.direction;
  if (rel.bounded) r = std::clamp(r, static_cast<double>(rel.min), static_cast<double>(rel.max));
  return r;
}

}  // namespace

bool relation_index_diagonal(const Relation& rel, std::size_t b, std::size_t i0, std::size_t i1, std::size_t j0,
                             std::size_t j1, std::int32_t* diag) {
  if (rel.kind != RelationKind::offset && rel.kind != RelationKind::distance && rel.kind != RelationKind::t5_bucket)
    return false;
  std::int64_t n0 = 0;  // t = (j - j0) - (i - i0) + nb - 1, so n = k_j - q_i = n0 + t
  if (!diagonal_start(rel, b, i0, i1, j0, j1, n0)) return false;
  const std::size_t len = (i1 - i0) + (j1 - j0) - 1;
  for (std::size_t t = 0; t < len; ++t) {
    const std::int64_t n = n0 + static_cast<std::int64_t>(t);
    std::int64_t idx;
    switch (rel.kind) {
      case RelationKind::offset: idx = bounded_index(rel, rel.direction * n); break;
      case RelationKind::distance: idx = bounded_index(rel, n < 0 ? -n : n); break;
      default: idx = bucket_lookup(rel, n); break;
    }
    diag[t] = static_cast<std::int32_t>(idx);
  }
  return true;
}

std::int64_t relation_index(const Relation& rel, std::size_t b, std::size_t i, std::size_t j) {
  if (rel.kind == RelationKind::index) {
    const std::size_t bb = rel.indices.shape()[0] == 1 ? 0 : b;
    return rel.indices(bb, i, j);
  }
  const PosView p = view(rel, b);
  if (rel.kind == RelationKind::geodesic) return geodesic_bucket(rel, great_circle(p.q + i * 3, p.k + j * 3));
  const auto n = static_cast<std::int64_t>(p.k[j * p.axes] - p.q[i * p.axes]);
  switch (rel.kind) {
    case RelationKind::offset: return bounded_index(rel, rel.direction * n);
    case RelationKind::distance: return bounded_index(rel, n < 0 ? -n : n);
    case RelationKind::t5_bucket: return bucket_lookup(rel, n);
    default: fail("attention", "a euclidean relation has no index; use it with a slope bias");
  }
}

double relation_value(const Relation& rel, std::size_t b, std::size_t i, std::size_t j) {
  if (rel.kind == RelationKind::index || rel.kind == RelationKind::t5_bucket)
    return static_cast<double>(relation_index(rel, b, i, j));
  const PosView p = view(rel, b);
  if (rel.kind == RelationKind::geodesic) return great_circle(p.q + i * 3, p.k + j * 3);
  if (rel.kind == RelationKind::euclidean) {
    double s = 0;
    for (std::size_t a = 0; a < p.axes; ++a) {
      const double d = p.k[j * p.axes + a] - p.q[i * p.axes + a];
      s += d * d;
    }
    return std::sqrt(s);
  }
  return offset_value(rel, p.k[j * p.axes] - p.q[i * p.axes]);
}

void relation_index_tile(const Relation& rel, std::size_t b, std::size_t i0, std::size_t i1, std::size_t j0,
                         std::size_t j1, std::int32_t* out) {
  const std::size_t w = j1 - j0;
  if (rel.kind == RelationKind::index) {
    const std::size_t bb = rel.indices.shape()[0] == 1 ? 0 : b;
    const std::size_t nk = rel.indices.shape()[2];
    const std::int64_t* base = rel.indices.data() + bb * rel.indices.shape()[1] * nk;
    for (std::size_t i = i0; i < i1; ++i)
      for (std::size_t j = j0; j < j1; ++j) out[(i - i0) * w + (j - j0)] = static_cast<std::int32_t>(base[i * nk + j]);
    return;
  }
  const PosView p = view(rel, b);
  if (rel.kind == RelationKind::geodesic) {
    for (std::size_t i = i0; i < i1; ++i)
      for (std::size_t j = j0; j < j1; ++j)
        out[(i - i0) * w + (j - j0)] = static_cast<std::int32_t>(geodesic_bucket(rel, great_circle(p.q + i * 3, p.k + j * 3)));
    return;
  }
  if (rel.kind == RelationKind::t5_bucket && t5_tile_int32(rel, p, i0, i1, j0, j1, out)) return;
  for (std::size_t i = i0; i < i1; ++i) {
    const auto qi = static_cast<std::int64_t>(p.q[i * p.axes]);
    std::int32_t* row = out + (i - i0) * w;
    switch (rel.kind) {
      case RelationKind::offset:
        if (rel.clip) {
          for (std::size_t j = j0; j < j1; ++j) {
            const std::int64_t r = rel.direction * (static_cast<std::int64_t>(p.k[j * p.axes]) - qi);
            row[j - j0] = static_cast<std::int32_t>(std::clamp(r, rel.min, rel.max) - rel.min);
          }
        } else {
          for (std::size_t j = j0; j < j1; ++j)
            row[j - j0] = static_cast<std::int32_t>(
                bounded_index(rel, rel.direction * (static_cast<std::int64_t>(p.k[j * p.axes]) - qi)));
        }
        break;
      case RelationKind::distance:
        for (std::size_t j = j0; j < j1; ++j) {
          const std::int64_t n = static_cast<std::int64_t>(p.k[j * p.axes]) - qi;
          row[j - j0] = static_cast<std::int32_t>(bounded_index(rel, n < 0 ? -n : n));
        }
        break;
      case RelationKind::t5_bucket:
        for (std::size_t j = j0; j < j1; ++j)
          row[j - j0] = static_cast<std::int32_t>(bucket_lookup(rel, static_cast<std::int64_t>(p.k[j * p.axes]) - qi));
        break;
      default: fail("attention", "a euclidean relation has no index; use it with a slope bias");
    }
  }
}

bool relation_value_diagonal(const Relation& rel, std::size_t b, std::size_t i0, std::size_t i1, std::size_t j0,
                             std::size_t j1, float* diag) {
  if (rel.kind != RelationKind::offset && rel.kind != RelationKind::distance) return false;
  std::int64_t n0 = 0;  // the value of diagonal t as relation_value computes it for n = n0 + t
  if (!diagonal_start(rel, b, i0, i1, j0, j1, n0)) return false;
  const std::size_t len = (i1 - i0) + (j1 - j0) - 1;
  for (std::size_t t = 0; t < len; ++t)
    diag[t] = static_cast<float>(offset_value(rel, static_cast<double>(n0 + static_cast<std::int64_t>(t))));
  return true;
}

void relation_value_tile(const Relation& rel, std::size_t b, std::size_t i0, std::size_t i1, std::size_t j0,
                         std::size_t j1, float* out) {
  const std::size_t w = j1 - j0;
  if (rel.kind == RelationKind::offset && !rel.bounded && rel.query_positions.shape()[2] == 1) {
    const PosView p = view(rel, b);  // the ALiBi fast path
    const double dir = rel.direction;
    for (std::size_t i = i0; i < i1; ++i) {
      const double qi = p.q[i];
      float* row = out + (i - i0) * w;
      for (std::size_t j = j0; j < j1; ++j) row[j - j0] = static_cast<float>(dir * (p.k[j] - qi));
    }
    return;
  }
  for (std::size_t i = i0; i < i1; ++i)
    for (std::size_t j = j0; j < j1; ++j)
      out[(i - i0) * w + (j - j0)] = static_cast<float>(relation_value(rel, b, i, j));
}

}  // namespace detail
}  // namespace posenc
