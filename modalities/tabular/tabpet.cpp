// Tab-PET: preprocessing, feature-graph estimation (Spearman, Pearson, Chow-Liu), the Laplacian
// eigenvector encoding with the reference's automatic k, aggregation to columns, integration.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <unordered_map>

#include <xtensor-blas/xlinalg.hpp>

#include "detail/check.hpp"
#include "detail/memory.hpp"
#include "posenc/tabular.hpp"
#include "spearman.hpp"

namespace posenc {

// ====================================================================== preprocessing

namespace {

/// NumPy's pairwise summation (numpy/core/src/umath/loops_utils.h), which np.sum uses along a
/// contiguous axis: blocks of up to 128 with eight running sums, halves above that. The terms are
/// a(i) for i in [0, n): values computed on the fly sum exactly as a materialised array would.
template <class A>
double pairwise_sum(const A& a, std::size_t i0, std::size_t n) {
  if (n < 8) {
    double r = 0.0;
    for (std::size_t i = 0; i < n; ++i) r += a(i0 + i);
    return r;
  }
  if (n <= 128) {
    double r[8];
    for (std::size_t j = 0; j < 8; ++j) r[j] = a(i0 + j);
    std::size_t i = 8;
    for (; i < n - (n % 8); i += 8)
      for (std::size_t j = 0; j < 8; ++j) r[j] += a(i0 + i + j);
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a(i0 + i);
    return res;
  }
  std::size_t n2 = n / 2;
  n2 -= n2 % 8;
  return pairwise_sum(a, i0, n2) + pairwise_sum(a, i0 + n2, n - n2);
}

/// dst [cols, rows] = the transpose of src [rows, cols], in cache-sized blocks, threads over rows.
void transpose(const double* src, std::size_t rows, std::size_t cols, double* dst) {
  constexpr std::size_t kBlock = 64;
#pragma omp parallel for schedule(static)
  for (std::int64_t ib = 0; ib < static_cast<std::int64_t>((rows + kBlock - 1) / kBlock); ++ib)
    for (std::size_t c0 = 0; c0 < cols; c0 += kBlock)
      for (std::size_t r = static_cast<std::size_t>(ib) * kBlock; r < std::min(rows, static_cast<std::size_t>(ib + 1) * kBlock); ++r)
        for (std::size_t c = c0; c < std::min(cols, c0 + kBlock); ++c) dst[c * rows + r] = src[r * cols + c];
}

}  // namespace

namespace {

/// The preprocessed features before z-scoring: each one's raw values (n, contiguous) and the
/// mean and scale StandardScaler finds for it; z_f(i) = (x_f(i) - mean_f) / scale_f.
struct Prepared {
  FeatureMatrix fm;                     ///< names and provenance; values not yet written
  std::size_t n = 0;                    ///< rows kept
  std::vector<const double*> x;         ///< [F] raw values, n each
  std::vector<double> mean, scale;      ///< [F]
  std::vector<std::vector<double>> own; ///< gathered numeric columns and one-hot columns
  double z(std::size_t f, std::size_t i) const { return (x[f][i] - mean[f]) / scale[f]; }
};

Prepared prepare(const Table& t, const TabularPreprocessOptions& o) {
  const char* fn = "tabpet_preprocess";
  if (o.max_levels < 1 || o.keep_levels < 1 || o.keep_levels > o.max_levels)
    detail::fail(fn, "parameters 'max_levels' and 'keep_levels' must satisfy 1 <= keep_levels <= max_levels, got ",
                 o.max_levels, " and ", o.keep_levels);
  if (o.subsample < 0) detail::fail(fn, "parameter 'subsample' must be >= 0, got ", o.subsample);
  // Candidate rows: the caller's, a seeded subsample, or all.
  std::vector<std::size_t> rows;
  if (!o.rows.empty()) {
    for (auto r : o.rows) {
      if (r < 0 || static_cast<std::size_t>(r) >= t.rows)
        detail::fail(fn, "parameter 'rows' holds ", r, ", outside the table's ", t.rows, " rows");
      rows.push_back(static_cast<std::size_t>(r));
    }
  } else {
    rows.resize(t.rows);
    std::iota(rows.begin(), rows.end(), 0);
    if (o.subsample > 0 && static_cast<std::size_t>(o.subsample) < t.rows) {
      std::mt19937_64 rng(o.seed);
      std::shuffle(rows.begin(), rows.end(), rng);
      rows.resize(static_cast<std::size_t>(o.subsample));
      std::sort(rows.begin(), rows.end());
    }
  }
  // Rows with a missing numeric value are dropped.
  std::vector<std::size_t> kept;
  kept.reserve(rows.size());
  std::vector<const std::uint8_t*> numeric_missing;
  for (const auto& c : t.columns)
    if (c.type == ColumnType::numeric) numeric_missing.push_back(c.missing.data());
  for (auto r : rows) {
    bool ok = true;
    for (const auto* m : numeric_missing) ok = ok && !m[r];
    if (ok) kept.push_back(r);
  }
  if (kept.empty()) detail::fail(fn, "no row is left after dropping rows with missing numeric values");
  Prepared p;
  FeatureMatrix& fm = p.fm;
  fm.rows_dropped = static_cast<std::int64_t>(rows.size() - kept.size());
  for (const auto& c : t.columns) {
    fm.columns.push_back(c.name);
    fm.column_types.push_back(c.type);
  }
  // Feature columns, column-major [F][n]: numeric first, then the one-hot blocks.
  const std::size_t n = kept.size();
  p.n = n;
  const bool all_rows = n == t.rows;
  for (std::size_t ci = 0; ci < t.columns.size(); ++ci)
    if (t.columns[ci].type == ColumnType::numeric) {
      const double* src = t.values.data() + ci * t.rows;
      if (all_rows) {
        p.x.push_back(src);
      } else {
        std::vector<double> v(n);
        for (std::size_t i = 0; i < n; ++i) v[i] = src[kept[i]];
        p.own.push_back(std::move(v));
        p.x.push_back(p.own.back().data());
      }
      fm.names.push_back(t.columns[ci].name);
      fm.source_column.push_back(static_cast<std::int64_t>(ci));
    }
  for (std::size_t ci = 0; ci < t.columns.size(); ++ci) {
    const auto& c = t.columns[ci];
    if (c.type == ColumnType::numeric) continue;
    std::vector<std::string> cells(n);
    for (std::size_t i = 0; i < n; ++i) cells[i] = c.missing[kept[i]] ? "Missing" : c.cells[kept[i]];
    // Level counts in order of first appearance; more than max_levels: top keep_levels + "Other".
    std::vector<std::string> order;
    std::unordered_map<std::string, std::size_t> count;
    for (const auto& s : cells)
      if (count[s]++ == 0) order.push_back(s);
    if (static_cast<std::int64_t>(order.size()) > o.max_levels) {
      std::vector<std::string> ranked = order;
      std::stable_sort(ranked.begin(), ranked.end(), [&](const auto& a, const auto& b) { return count[a] > count[b]; });
      const std::set<std::string> top(ranked.begin(), ranked.begin() + o.keep_levels);
      for (auto& s : cells)
        if (!top.count(s)) s = "Other";
    }
    std::vector<std::string> levels(cells.begin(), cells.end());
    std::sort(levels.begin(), levels.end());
    levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
    for (const auto& level : levels) {
      std::vector<double> v(n);
      for (std::size_t i = 0; i < n; ++i) v[i] = cells[i] == level ? 1.0 : 0.0;
      p.own.push_back(std::move(v));
      p.x.push_back(p.own.back().data());
      fm.names.push_back(c.name + "_" + level);
      fm.source_column.push_back(static_cast<std::int64_t>(ci));
    }
  }
  // sklearn's StandardScaler operation for operation: NumPy's pairwise sums down each column (the
  // table reaches it column-major), mean, the corrected two-pass variance. Bitwise-equal z-scores
  // matter: a value on a Chow-Liu bin edge must land in the reference's bin.
  const std::size_t F = fm.names.size();
  p.mean.resize(F);
  p.scale.resize(F);
#pragma omp parallel for schedule(static)
  for (std::int64_t ff = 0; ff < static_cast<std::int64_t>(F); ++ff) {
    const auto f = static_cast<std::size_t>(ff);
    const double* x = p.x[f];
    const double mean = pairwise_sum([x](std::size_t i) { return x[i]; }, 0, n) / static_cast<double>(n);
    const double corr = pairwise_sum([x, mean](std::size_t i) { return x[i] - mean; }, 0, n);
    const double ss = pairwise_sum(
        [x, mean](std::size_t i) {
          const double d = x[i] - mean;
          return d * d;
        },
        0, n);
    const double sd = std::sqrt((ss - corr * corr / static_cast<double>(n)) / static_cast<double>(n));
    p.mean[f] = mean;
    p.scale[f] = sd > 0 ? sd : 1.0;  // a constant feature becomes zeros
  }
  return p;
}

/// The z-scores row-major [n, F] (FeatureMatrix::values), written in blocks of rows.
void write_row_major(Prepared& p) {
  const std::size_t F = p.x.size(), n = p.n;
  constexpr std::size_t kRows = 32;  // a tile of F x 32 z-scores (L1-sized up to F ~ 190) while it is transposed
  p.fm.values = detail::fresh_tensor<DTensor>(Shape{n, F});
  double* out = p.fm.values.data();
#pragma omp parallel
  {
    std::vector<double> tile(F * kRows);
#pragma omp for schedule(static)
    for (std::int64_t bb = 0; bb < static_cast<std::int64_t>((n + kRows - 1) / kRows); ++bb) {
      const std::size_t r0 = static_cast<std::size_t>(bb) * kRows, rows = std::min(n - r0, kRows);
      for (std::size_t f = 0; f < F; ++f) {  // contiguous, so the divisions vectorise (p.z's rounding)
        const double *x = p.x[f] + r0, mean = p.mean[f], scale = p.scale[f];
        double* t = tile.data() + f * kRows;
        for (std::size_t i = 0; i < rows; ++i) t[i] = (x[i] - mean) / scale;
      }
      for (std::size_t i = 0; i < rows; ++i)
        for (std::size_t f = 0; f < F; ++f) out[(r0 + i) * F + f] = tile[f * kRows + i];
    }
  }
}

/// The z-scores column-major [F, n] (the layout the Pearson and Chow-Liu graphs work in).
DTensor column_major(const Prepared& p) {
  const std::size_t F = p.x.size(), n = p.n;
  DTensor cm = detail::fresh_tensor<DTensor>(Shape{F, n});
#pragma omp parallel for schedule(static)
  for (std::int64_t ff = 0; ff < static_cast<std::int64_t>(F); ++ff) {
    const auto f = static_cast<std::size_t>(ff);
    for (std::size_t i = 0; i < n; ++i) cm(f, i) = p.z(f, i);
  }
  return cm;
}

}  // namespace

FeatureMatrix tabpet_preprocess(const Table& t, const TabularPreprocessOptions& o) {
  Prepared p = prepare(t, o);
  write_row_major(p);
  return std::move(p.fm);
}

// ====================================================================== feature graph

namespace {

/// Correlation matrix of the columns of cm [F, n] (column-major; centred and normalised in place):
/// Gram matrix of the unit columns. Columns with zero variance are reported and get zero weights.
DTensor correlation(DTensor& cm, std::vector<std::int64_t>& constant) {
  const std::size_t F = cm.shape()[0], n = cm.shape()[1];
  std::vector<std::uint8_t> flat(F, 0);
#pragma omp parallel for schedule(static)
  for (std::int64_t ff = 0; ff < static_cast<std::int64_t>(F); ++ff) {
    const auto f = static_cast<std::size_t>(ff);
    double* z = cm.data() + f * n;
    double mean = 0;
    for (std::size_t i = 0; i < n; ++i) mean += z[i];
    mean /= static_cast<double>(n);
    double ss = 0;
    for (std::size_t i = 0; i < n; ++i) {
      z[i] -= mean;
      ss += z[i] * z[i];
    }
    if (!(ss > 1e-300)) {
      flat[f] = 1;
      std::fill(z, z + n, 0.0);
      continue;
    }
    const double inv = 1.0 / std::sqrt(ss);
    for (std::size_t i = 0; i < n; ++i) z[i] *= inv;
  }
  for (std::size_t f = 0; f < F; ++f)
    if (flat[f]) constant.push_back(static_cast<std::int64_t>(f));
  DTensor w = xt::zeros<double>(Shape{F, F});
#pragma omp parallel for schedule(dynamic, 1)
  for (std::int64_t aa = 0; aa < static_cast<std::int64_t>(F); ++aa) {
    const auto a = static_cast<std::size_t>(aa);
    const double* x = cm.data() + a * n;
    for (std::size_t b = a + 1; b < F; ++b) {
      const double* y = cm.data() + b * n;
      // Eight running sums in a fixed order: vectorisable, and the same result on any thread.
      double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      std::size_t i = 0;
      for (; i + 8 <= n; i += 8)
        for (std::size_t j = 0; j < 8; ++j) acc[j] += x[i + j] * y[i + j];
      double s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
      for (; i < n; ++i) s += x[i] * y[i];
      s = std::clamp(s, -1.0, 1.0);
      w(a, b) = s;
      w(b, a) = s;
    }
  }
  return w;
}

/// Mutual information (natural log) of two columns discretised into `bins` uniform bins each
/// (sklearn KBinsDiscretizer 'uniform': edges linspace(min, max, bins + 1), bin = number of inner
/// edges <= x; a constant column is one bin).
std::vector<std::uint8_t> discretise(const double* v, std::size_t n, std::int64_t bins) {
  const auto [lo, hi] = std::minmax_element(v, v + n);
  std::vector<std::uint8_t> d(n, 0);
  if (*hi == *lo) return d;
  std::vector<double> inner(static_cast<std::size_t>(bins - 1));
  for (std::int64_t k = 1; k < bins; ++k)  // numpy linspace: lo + k * step, step = (hi - lo) / bins
    inner[static_cast<std::size_t>(k - 1)] = *lo + static_cast<double>(k) * ((*hi - *lo) / static_cast<double>(bins));
  for (std::size_t i = 0; i < n; ++i)
    d[i] = static_cast<std::uint8_t>(std::upper_bound(inner.begin(), inner.end(), v[i]) - inner.begin());
  return d;
}

double mutual_information(const std::vector<std::uint8_t>& x, const std::vector<std::uint8_t>& y, std::int64_t bins) {
  const auto B = static_cast<std::size_t>(bins);
  std::vector<double> joint(B * B, 0.0), px(B, 0.0), py(B, 0.0);
  for (std::size_t i = 0; i < x.size(); ++i) joint[x[i] * B + y[i]] += 1;
  const double n = static_cast<double>(x.size());
  for (auto& j : joint) j /= n;
  for (std::size_t a = 0; a < B; ++a)
    for (std::size_t b = 0; b < B; ++b) {
      px[a] += joint[a * B + b];
      py[b] += joint[a * B + b];
    }
  double mi = 0;
  for (std::size_t a = 0; a < B; ++a)
    for (std::size_t b = 0; b < B; ++b) {
      const double p = joint[a * B + b];
      if (p > 0 && px[a] > 0 && py[b] > 0) mi += p * std::log(p / (px[a] * py[b]));
    }
  return mi;
}

}  // namespace

/// The graph from z-scored features: held column-major in *cm [F, n] (overwritten with the
/// normalised columns), or, when cm is null, computed from the preprocessing `p`.
static FeatureGraph graph_from(DTensor* cm_in, const Prepared* p, const FeatureGraphOptions& o) {
  const char* fn = "estimate_feature_graph";
  if (!(o.threshold >= 0) || !std::isfinite(o.threshold))
    detail::fail(fn, "parameter 'threshold' must be finite and >= 0, got ", o.threshold);
  if (o.top_k < 0) detail::fail(fn, "parameter 'top_k' must be >= 0, got ", o.top_k);
  if (o.bins < 2 || o.bins > 255) detail::fail(fn, "parameter 'bins' must be in [2, 255], got ", o.bins);
  const std::size_t F = cm_in ? cm_in->shape()[0] : p->x.size(), n = cm_in ? cm_in->shape()[1] : p->n;
  FeatureGraph g;
  if (o.method == FeatureGraphMethod::spearman) {
    if (n > (std::size_t{1} << 31))  // the ranks' radix sort holds a row index in 31 bits
      detail::fail(fn, "Spearman ranks take at most 2^31 rows, the table has ", n);
    // Ranks straight from the z-scores (computed on the fly from the preprocessing): no [F, n] copy.
    const tabular_detail::ColumnFn column = [&](std::size_t f, std::vector<double>& scratch) -> const double* {
      if (cm_in) return cm_in->data() + f * n;
      scratch.resize(n);
      for (std::size_t i = 0; i < n; ++i) scratch[i] = p->z(f, i);
      return scratch.data();
    };
    g.weights = tabular_detail::spearman_matrix(F, n, column, g.constant);
  }
  DTensor own;
  if (!cm_in && o.method != FeatureGraphMethod::spearman) own = column_major(*p);
  DTensor& cm = cm_in ? *cm_in : own;
  switch (o.method) {
    case FeatureGraphMethod::pearson:
      g.weights = correlation(cm, g.constant);
      break;
    case FeatureGraphMethod::spearman:
      break;
    case FeatureGraphMethod::chowliu: {
      std::vector<std::vector<std::uint8_t>> d(F);
      for (std::size_t f = 0; f < F; ++f) {
        const double* c = cm.data() + f * n;
        d[f] = discretise(c, n, o.bins);
        const auto [lo, hi] = std::minmax_element(c, c + n);
        if (*lo == *hi) g.constant.push_back(static_cast<std::int64_t>(f));
      }
      DTensor mi = xt::zeros<double>(Shape{F, F});
#pragma omp parallel for schedule(dynamic, 1)
      for (std::int64_t a = 0; a < static_cast<std::int64_t>(F); ++a)
        for (std::size_t b = static_cast<std::size_t>(a) + 1; b < F; ++b) {
          const double m = mutual_information(d[static_cast<std::size_t>(a)], d[b], o.bins);
          mi(static_cast<std::size_t>(a), b) = mi(b, static_cast<std::size_t>(a)) = m;
        }
      // Kruskal on MI > 0, edges in descending (w, i, j) order (the reference sorts tuples, reverse).
      struct E {
        double w;
        std::size_t i, j;
      };
      std::vector<E> edges;
      for (std::size_t i = 0; i < F; ++i)
        for (std::size_t j = i + 1; j < F; ++j)
          if (mi(i, j) > 0) edges.push_back({mi(i, j), i, j});
      std::sort(edges.begin(), edges.end(), [](const E& a, const E& b) {
        if (a.w != b.w) return a.w > b.w;
        if (a.i != b.i) return a.i > b.i;
        return a.j > b.j;
      });
      std::vector<std::size_t> parent(F);
      std::iota(parent.begin(), parent.end(), 0);
      auto find = [&](std::size_t x) {
        while (parent[x] != x) x = parent[x] = parent[parent[x]];
        return x;
      };
      g.weights = xt::zeros<double>(Shape{F, F});
      std::size_t used = 0;
      for (const E& e : edges) {
        const std::size_t a = find(e.i), b = find(e.j);
        if (a == b) continue;
        parent[b] = a;
        g.weights(e.i, e.j) = g.weights(e.j, e.i) = e.w;
        if (++used == F - 1) break;
      }
      break;
    }
  }
  // Sparsification options.
  if (o.threshold > 0)
    for (auto& w : g.weights)
      if (std::abs(w) < o.threshold) w = 0;
  if (o.top_k > 0) {
    DTensor keep = xt::zeros<double>(Shape{F, F});
    std::vector<std::size_t> order(F);
    for (std::size_t i = 0; i < F; ++i) {
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(),
                       [&](auto a, auto b) { return std::abs(g.weights(i, a)) > std::abs(g.weights(i, b)); });
      for (std::size_t r = 0, taken = 0; r < F && taken < static_cast<std::size_t>(o.top_k); ++r) {
        const std::size_t j = order[r];
        if (j == i || g.weights(i, j) == 0) continue;
        keep(i, j) = keep(j, i) = 1;
        ++taken;
      }
    }
    g.weights *= keep;
  }
  return g;
}

FeatureGraph estimate_feature_graph(const DTensor& X, const FeatureGraphOptions& o) {
  const char* fn = "estimate_feature_graph";
  if (X.dimension() != 2 || X.shape()[0] < 2 || X.shape()[1] < 1)
    detail::fail(fn, "parameter 'features' must be [rows >= 2, F >= 1], got ", shape_string(X));
  for (double v : X)
    if (!std::isfinite(v)) detail::fail(fn, "parameter 'features' holds a non-finite value ", v);
  DTensor cm = detail::fresh_tensor<DTensor>(Shape{X.shape()[1], X.shape()[0]});
  transpose(X.data(), X.shape()[0], X.shape()[1], cm.data());
  return graph_from(&cm, nullptr, o);
}

// ====================================================================== the encoding

std::int64_t tabpet_auto_k(const std::vector<double>& ev) {
  std::vector<double> low;
  for (std::size_t i = 1; i < ev.size(); ++i)
    if (ev[i] <= 0.75) low.push_back(ev[i]);
  auto count = static_cast<std::int64_t>(low.size());
  if (low.size() > 3) {
    std::vector<double> gaps(low.size() - 1);
    for (std::size_t i = 0; i + 1 < low.size(); ++i) gaps[i] = low[i + 1] - low[i];
    std::vector<double> sorted = gaps;
    std::sort(sorted.begin(), sorted.end());
    const std::size_t m = sorted.size();
    const double median = m % 2 ? sorted[m / 2] : 0.5 * (sorted[m / 2 - 1] + sorted[m / 2]);
    const double cut = std::max(10 * median, 0.5);
    for (std::size_t i = 0; i < gaps.size(); ++i)
      if (gaps[i] > cut) {
        count = static_cast<std::int64_t>(i) + 1;
        break;
      }
  }
  return std::max<std::int64_t>(2, std::min<std::int64_t>(count, 10));
}

TabPetResult tabpet_pe(const DTensor& W, const std::vector<std::int64_t>& source, std::int64_t n_columns,
                       const TabPetOptions& o) {
  const char* fn = "tabpet_pe";
  if (W.dimension() != 2 || W.shape()[0] != W.shape()[1] || W.shape()[0] == 0)
    detail::fail(fn, "parameter 'weights' must be a non-empty square [F, F], got ", shape_string(W));
  const std::size_t F = W.shape()[0];
  if (source.size() != F) detail::fail(fn, "parameter 'source_column' must have F = ", F, " entries, got ", source.size());
  for (auto s : source)
    if (s < 0 || s >= n_columns) detail::fail(fn, "parameter 'source_column' holds ", s, ", outside [0, ", n_columns, ")");
  if (o.k < 0) detail::fail(fn, "parameter 'k' must be >= 1 (or 0 for automatic), got ", o.k);
  TabPetResult r;
  r.adjacency = DTensor::from_shape({F, F});
  for (std::size_t i = 0; i < F; ++i)
    for (std::size_t j = 0; j < F; ++j) {
      const double a = std::abs(W(i, j)), b = std::abs(W(j, i));
      if (!std::isfinite(a) || !std::isfinite(b))
        detail::fail(fn, "parameter 'weights' holds a non-finite value at (", i, ", ", j, ")");
      r.adjacency(i, j) = i == j ? 0.0 : std::max(a, b);
    }
  // L = I - D^-1/2 A D^-1/2 with zero degrees replaced by 1.
  std::vector<double> isq(F);
  for (std::size_t i = 0; i < F; ++i) {
    double d = 0;
    for (std::size_t j = 0; j < F; ++j) d += r.adjacency(i, j);
    isq[i] = 1.0 / std::sqrt(d == 0 ? 1.0 : d);
  }
  xt::xtensor<double, 2> L = xt::zeros<double>({F, F});
  for (std::size_t i = 0; i < F; ++i)
    for (std::size_t j = 0; j < F; ++j) L(i, j) = (i == j ? 1.0 : 0.0) - isq[i] * r.adjacency(i, j) * isq[j];
  auto [w, v] = xt::linalg::eigh(L);
  r.eigenvalues.assign(w.begin(), w.end());
  r.k = o.k > 0 ? o.k : tabpet_auto_k(r.eigenvalues);
  // numpy slicing: first = columns 1 .. min(k, F-1); last = columns max(F-k, 0) .. F-1.
  std::vector<std::size_t> pick;
  for (std::size_t c = 1; c <= static_cast<std::size_t>(r.k) && c < F; ++c) pick.push_back(c);
  for (std::size_t c = F > static_cast<std::size_t>(r.k) ? F - static_cast<std::size_t>(r.k) : 0; c < F; ++c)
    pick.push_back(c);
  if (F <= 2 * static_cast<std::size_t>(r.k))
    r.warnings.push_back("only " + std::to_string(F) + " feature nodes for k = " + std::to_string(r.k) +
                         ": low and high eigenvectors overlap (columns repeat, as the reference)");
  const std::size_t P = pick.size();
  r.features_pe = Tensor::from_shape({F, P});
  for (std::size_t c = 0; c < P; ++c) {
    std::vector<double> col(F);
    for (std::size_t i = 0; i < F; ++i) col[i] = v(i, pick[c]);
    if (o.deterministic_sign) {
      double top = 0;
      for (double x : col) top = std::max(top, std::abs(x));
      std::size_t arg = 0;
      while (std::abs(col[arg]) < top * (1 - 1e-6)) ++arg;
      if (col[arg] < 0)
        for (auto& x : col) x = -x;
    }
    r.selected.push_back(r.eigenvalues[pick[c]]);
    // z-score over the nodes in float32, unbiased std (torch.std), 0 -> 1.
    std::vector<float> f32(col.begin(), col.end());
    float mean = 0;
    for (float x : f32) mean += x;
    mean /= static_cast<float>(F);
    float ss = 0;
    for (float x : f32) ss += (x - mean) * (x - mean);
    float sd = F > 1 ? std::sqrt(ss / static_cast<float>(F - 1)) : 0.0f;
    if (sd == 0) sd = 1;
    for (std::size_t i = 0; i < F; ++i) r.features_pe(i, c) = (f32[i] - mean) / sd;
  }
  // One row per original column: the mean of its feature rows (zeros when it has none).
  r.columns_pe = xt::zeros<float>(Shape{static_cast<std::size_t>(n_columns), P});
  std::vector<std::size_t> members(static_cast<std::size_t>(n_columns), 0);
  for (std::size_t i = 0; i < F; ++i) {
    const auto col = static_cast<std::size_t>(source[i]);
    ++members[col];
    for (std::size_t c = 0; c < P; ++c) r.columns_pe(col, c) += r.features_pe(i, c);
  }
  for (std::size_t col = 0; col < members.size(); ++col)
    if (members[col] > 1)
      for (std::size_t c = 0; c < P; ++c) r.columns_pe(col, c) /= static_cast<float>(members[col]);
  return r;
}

TabPet tabpet(const Table& table, const TabPetPipelineOptions& o) {
  TabPet t;
  Prepared p = prepare(table, o.preprocess);  // the graph reads the z-scores from it: no transpose back
  write_row_major(p);
  if (p.n < 2)
    detail::fail("estimate_feature_graph", "parameter 'features' must be [rows >= 2, F >= 1], got [", p.n, ", ",
                 p.x.size(), "]");
  t.graph = graph_from(nullptr, &p, o.graph);
  t.features = std::move(p.fm);
  t.pe = tabpet_pe(t.graph.weights, t.features.source_column, static_cast<std::int64_t>(t.features.columns.size()),
                   o.pe);
  for (auto f : t.graph.constant)
    t.pe.warnings.push_back("feature '" + t.features.names[static_cast<std::size_t>(f)] +
                            "' is constant: its graph weights are 0 (the reference would produce NaN)");
  return t;
}

std::vector<std::int64_t> ftt_token_order(const FeatureMatrix& fm) {
  std::vector<std::int64_t> order;
  for (int pass = 0; pass < 2; ++pass)
    for (std::size_t c = 0; c < fm.column_types.size(); ++c)
      if ((fm.column_types[c] == ColumnType::numeric) == (pass == 0)) order.push_back(static_cast<std::int64_t>(c));
  return order;
}

Encoding tabpet_encoding(const Tensor& pe, double alpha, std::int64_t prefix, std::int64_t pad) {
  const char* fn = "tabpet_encoding";
  if (!std::isfinite(alpha)) detail::fail(fn, "parameter 'alpha' must be finite, got ", alpha);
  if (pe.dimension() != 2) detail::fail(fn, "parameter 'columns_pe' must be [C, p], got ", shape_string(pe));
  if (prefix < 0) detail::fail(fn, "parameter 'prefix_tokens' must be >= 0, got ", prefix);
  if (pad < 0) detail::fail(fn, "parameter 'pad' must be >= 0, got ", pad);
  const std::size_t C = pe.shape()[0], p = pe.shape()[1], P = static_cast<std::size_t>(prefix);
  Encoding e;
  e.name = "tabpet";
  e.input_concat = xt::zeros<float>(Shape{1, P + C, p + static_cast<std::size_t>(pad)});
  for (std::size_t c = 0; c < C; ++c)
    for (std::size_t j = 0; j < p; ++j)
      e.input_concat(0, P + c, j) = static_cast<float>(alpha * std::clamp(pe(c, j), -10.0f, 10.0f));
  return e;
}

}  // namespace posenc
