// Weighted shortest paths (Dijkstra through Boost) and Graphormer's spatial encoding (hop counts:
// hops.cpp).
#include <omp.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <random>

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/dijkstra_shortest_paths.hpp>

#include "detail/check.hpp"
#include "detail/graph_weights.hpp"
#include "detail/memory.hpp"
#include "detail/parallel.hpp"
#include "posenc/graph.hpp"

namespace posenc {

DTensor shortest_path_lengths(const Graph& g, double unreachable, int threads) {
  const char* fn = "shortest_path_lengths";
  detail::require_nonnegative_weights(fn, g, "Dijkstra needs weights >= 0");
  detail::require_bounded_weight_sums(fn, g);
  detail::require_allocation(fn, "the N x N path lengths, N x N =",
                             static_cast<long double>(g.nodes()) * static_cast<long double>(g.nodes()), sizeof(double));
  using BG = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS, boost::no_property,
                                   boost::property<boost::edge_weight_t, double>>;
  const auto n = static_cast<std::size_t>(g.nodes());
  BG bg(n);
  for (std::size_t u = 0; u < n; ++u)
    for (auto e = g.offsets()[u]; e < g.offsets()[u + 1]; ++e)
      boost::add_edge(u, static_cast<std::size_t>(g.adjacency()[static_cast<std::size_t>(e)]),
                      g.adjacency_weights()[static_cast<std::size_t>(e)], bg);
  DTensor out = detail::fresh_tensor<DTensor>(Shape{n, n});
#pragma omp parallel num_threads(detail::thread_count(threads))
  {
    std::vector<double> d(n);
#pragma omp for schedule(dynamic, 8)
    for (std::int64_t s = 0; s < static_cast<std::int64_t>(n); ++s) {
      boost::dijkstra_shortest_paths(bg, static_cast<std::size_t>(s),
                                     boost::distance_map(boost::make_iterator_property_map(
                                         d.begin(), boost::get(boost::vertex_index, bg))));
      double* row = out.data() + static_cast<std::size_t>(s) * n;
      for (std::size_t t = 0; t < n; ++t)
        row[t] = d[t] == std::numeric_limits<double>::max() ? unreachable : d[t];
    }
  }
  return out;
}

// ====================================================================== Graphormer

ITensor graphormer_spatial_index(const Graph& g, const GraphormerSpatialOptions& o) {
  const char* fn = "graphormer_spatial";
  if (o.num_spatial < 3) detail::fail(fn, "parameter 'num_spatial' must be >= 3, got ", o.num_spatial);
  if (o.unreachable < 0) detail::fail(fn, "parameter 'unreachable' must be >= 0, got ", o.unreachable);
  const ITensor spd = shortest_path_hops(g, {.unreachable = o.unreachable});
  const std::size_t n = spd.shape()[0], p = o.graph_token ? 1 : 0;
  const std::int64_t threshold = o.spatial_pos_max < 0 ? std::numeric_limits<std::int64_t>::max()
                                                       : o.spatial_pos_max - (o.hf_off_by_one ? 1 : 0);
  const std::int64_t token = o.num_spatial, masked = o.num_spatial + 1;
  ITensor idx = ITensor::from_shape({p + n, p + n});
  for (std::size_t i = 0; i < p + n; ++i)
    for (std::size_t j = 0; j < p + n; ++j) {
      if (i < p || j < p) {
        idx(i, j) = token;
        continue;
      }
      const std::int64_t d = spd(i - p, j - p);
      idx(i, j) = d >= threshold ? masked : std::min(d, o.num_spatial - 2) + 1;
    }
  return idx;
}

Encoding graphormer_spatial(const Graph& g, const Tensor& table, const Tensor& graph_token,
                            const GraphormerSpatialOptions& o) {
  const char* fn = "graphormer_spatial";
  if (table.dimension() != 2 || table.shape()[1] != static_cast<std::size_t>(o.num_spatial))
    detail::fail(fn, "parameter 'table' must be [H|1, num_spatial = ", o.num_spatial, "], got ", shape_string(table));
  const std::size_t heads = table.shape()[0];
  if (o.graph_token && (graph_token.dimension() != 1 || (graph_token.shape()[0] != heads && graph_token.shape()[0] != 1)))
    detail::fail(fn, "parameter 'graph_token' must be [H|1] (H = ", heads, ") with options.graph_token, got ",
                 shape_string(graph_token));
  const std::size_t cols = static_cast<std::size_t>(o.num_spatial) + 2;
  const std::size_t th = o.graph_token ? std::max(heads, graph_token.shape()[0]) : heads;
  Tensor full = Tensor::from_shape({th, cols});
  for (std::size_t h = 0; h < th; ++h) {
    std::copy_n(table.data() + (heads == 1 ? 0 : h) * table.shape()[1], table.shape()[1], full.data() + h * cols);
    full(h, cols - 2) = o.graph_token ? graph_token(graph_token.shape()[0] == 1 ? 0 : h) : 0.0f;
    full(h, cols - 1) = -std::numeric_limits<float>::infinity();  // beyond spatial_pos_max: masked
  }
  Encoding e;
  e.name = "graphormer_spatial";
  Bias b;
  b.kind = BiasKind::table;
  ITensor idx = graphormer_spatial_index(g, o);
  idx.reshape({1, idx.shape()[0], idx.shape()[1]});
  b.relation = Relation::explicit_index(idx, static_cast<std::int64_t>(cols));
  b.table = std::move(full);
  e.biases.push_back(std::move(b));
  return e;
}

Tensor graphormer_table_init(std::int64_t heads, std::int64_t num_spatial, std::uint64_t seed) {
  const char* fn = "graphormer_table_init";
  if (heads < 1) detail::fail(fn, "parameter 'heads' must be positive, got ", heads);
  if (num_spatial < 3) detail::fail(fn, "parameter 'num_spatial' must be >= 3, got ", num_spatial);
  Tensor t = Tensor::from_shape({static_cast<std::size_t>(heads), static_cast<std::size_t>(num_spatial)});
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 0.02);
  for (std::size_t h = 0; h < t.shape()[0]; ++h)
    for (std::size_t c = 0; c < t.shape()[1]; ++c) t(h, c) = c == 0 ? 0.0f : static_cast<float>(normal(rng));
  return t;
}

ITensor degrees(const Graph& g, DegreeKind kind) {
  const auto n = static_cast<std::size_t>(g.nodes());
  ITensor d = xt::zeros<std::int64_t>(Shape{n});
  for (const auto& e : g.edges()) {
    const auto s = static_cast<std::size_t>(e.source), t = static_cast<std::size_t>(e.target);
    if (!g.directed()) {
      ++d(s);
      ++d(t);  // a self-loop counts twice
    } else {
      if (kind != DegreeKind::in) ++d(s);
      if (kind != DegreeKind::out) ++d(t);
    }
  }
  return d;
}

Encoding graphormer_centrality(const Graph& g, const Tensor& in_table, const Tensor& out_table,
                               const GraphormerCentralityOptions& o) {
  const char* fn = "graphormer_centrality";
  if (o.max_degree < 0) detail::fail(fn, "parameter 'max_degree' must be >= 0, got ", o.max_degree);
  if (o.prefix_tokens < 0) detail::fail(fn, "parameter 'prefix_tokens' must be >= 0, got ", o.prefix_tokens);
  const auto rows = static_cast<std::size_t>(o.max_degree) + 2;
  for (const auto* t : {&in_table, &out_table})
    if (t->dimension() != 2 || t->shape()[0] != rows || t->shape()[1] != in_table.shape()[1] || t->shape()[1] == 0)
      detail::fail(fn, "parameters 'in_table' and 'out_table' must both be [max_degree + 2 = ", rows, ", D], got ",
                   shape_string(in_table), " and ", shape_string(out_table));
  const ITensor din = degrees(g, o.row_sum_compat ? DegreeKind::out : DegreeKind::in);
  const ITensor dout = degrees(g, DegreeKind::out);
  auto row = [&](std::int64_t deg, std::size_t node) {
    if (deg > o.max_degree && !o.clip)
      detail::fail(fn, "node ", node, " has degree ", deg, " above max_degree ", o.max_degree, " (clip = false)");
    return static_cast<std::size_t>(std::min(deg, o.max_degree)) + 1;
  };
  const std::size_t n = static_cast<std::size_t>(g.nodes()), p = static_cast<std::size_t>(o.prefix_tokens),
                    dim = in_table.shape()[1];
  Encoding e;
  e.name = "graphormer_centrality";
  e.input_add = xt::zeros<float>(Shape{1, p + n, dim});
  for (std::size_t i = 0; i < n; ++i) {
    const float* a = in_table.data() + row(din(i), i) * dim;
    const float* b = out_table.data() + row(dout(i), i) * dim;
    float* dst = e.input_add.data() + (p + i) * dim;
    for (std::size_t c = 0; c < dim; ++c) dst[c] = a[c] + b[c];
  }
  return e;
}

}  // namespace posenc
