// Graphormer's multi-hop edge encoding: the edges along one shortest path per pair, chosen as
// Graphormer's Floyd-Warshall rebuilds it (or along a BFS tree), and the mean of per-hop projected
// edge embeddings.
#include <algorithm>
#include <map>

#include "detail/check.hpp"
#include "edge_bias_args.hpp"
#include "posenc/graph.hpp"

namespace posenc {

namespace {

constexpr std::int32_t kFar = 510;  // Graphormer's "no path" distance

/// Graphormer algos.pyx floyd_warshall on the 0/1 adjacency: distances and the last strictly
/// improving intermediate vertex per pair (-1: direct or none).
void floyd_warshall(std::size_t n, const std::vector<std::uint8_t>& adj, std::vector<std::int32_t>& d,
                    std::vector<std::int32_t>& via) {
  d.assign(n * n, kFar);
  via.assign(n * n, -1);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) d[i * n + j] = i == j ? 0 : (adj[i * n + j] ? 1 : kFar);
  for (std::size_t k = 0; k < n; ++k)
    for (std::size_t i = 0; i < n; ++i) {
      const std::int32_t dik = d[i * n + k];
      for (std::size_t j = 0; j < n; ++j) {
        const std::int32_t c = dik + d[k * n + j];
        if (d[i * n + j] > c) {
          d[i * n + j] = c;
          via[i * n + j] = static_cast<std::int32_t>(k);
        }
      }
    }
}

/// Intermediate vertices of i -> j, as get_all_edges rebuilds them recursively.
void intermediates(std::size_t n, const std::vector<std::int32_t>& via, std::size_t i, std::size_t j,
                   std::vector<std::size_t>& out) {
  const std::int32_t k = via[i * n + j];
  if (k < 0) return;
  intermediates(n, via, i, static_cast<std::size_t>(k), out);
  out.push_back(static_cast<std::size_t>(k));
  intermediates(n, via, static_cast<std::size_t>(k), j, out);
}

}  // namespace

ITensor shortest_path_edges(const Graph& g, std::int64_t max_hops, PathChoice choice) {
  const char* fn = "shortest_path_edges";
  if (max_hops < 1) detail::fail(fn, "parameter 'max_hops' must be >= 1, got ", max_hops);
  const auto n = static_cast<std::size_t>(g.nodes());
  const auto D = static_cast<std::size_t>(max_hops);
  // The edge id between each ordered pair (the last in edge order), and the 0/1 adjacency.
  std::vector<std::int64_t> edge_of(n * n, -1);
  std::vector<std::uint8_t> adj(n * n, 0);
  for (std::size_t e = 0; e < g.edges().size(); ++e) {
    const auto u = static_cast<std::size_t>(g.edges()[e].source), v = static_cast<std::size_t>(g.edges()[e].target);
    edge_of[u * n + v] = static_cast<std::int64_t>(e);
    adj[u * n + v] = 1;
    if (!g.directed()) {
      edge_of[v * n + u] = static_cast<std::int64_t>(e);
      adj[v * n + u] = 1;
    }
  }
  ITensor out = xt::full_like(ITensor::from_shape({n, n, D}), std::int64_t{-1});
  std::vector<std::size_t> path;
  auto write = [&](std::size_t i, std::size_t j) {
    for (std::size_t h = 0; h + 1 < path.size() && h < D; ++h) out(i, j, h) = edge_of[path[h] * n + path[h + 1]];
  };
  if (choice == PathChoice::floyd_warshall) {
    std::vector<std::int32_t> d, via;
    floyd_warshall(n, adj, d, via);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        if (i == j || d[i * n + j] >= kFar) continue;
        path.assign(1, i);
        intermediates(n, via, i, j, path);
        path.push_back(j);
        write(i, j);
      }
  } else {
    std::vector<std::int64_t> parent(n);
    std::vector<std::size_t> queue;
    for (std::size_t i = 0; i < n; ++i) {
      std::fill(parent.begin(), parent.end(), -1);
      parent[i] = static_cast<std::int64_t>(i);
      queue.assign(1, i);
      for (std::size_t q = 0; q < queue.size(); ++q) {
        const std::size_t u = queue[q];
        for (auto e = g.offsets()[u]; e < g.offsets()[u + 1]; ++e) {
          const auto w = static_cast<std::size_t>(g.adjacency()[static_cast<std::size_t>(e)]);
          if (parent[w] >= 0) continue;
          parent[w] = static_cast<std::int64_t>(u);
          queue.push_back(w);
        }
      }
      for (std::size_t j = 0; j < n; ++j) {
        if (j == i || parent[j] < 0) continue;
        path.clear();
        for (std::size_t v = j; v != i; v = static_cast<std::size_t>(parent[v])) path.push_back(v);
        path.push_back(i);
        std::reverse(path.begin(), path.end());
        write(i, j);
      }
    }
  }
  return out;
}

Encoding graphormer_edge_bias(const Graph& g, const ITensor& ids, const Tensor& table, const Tensor& hop_weights,
                              const GraphormerEdgeOptions& o) {
  const char* fn = "graphormer_edge_bias";
  const detail::EdgeBiasDims dims = detail::check_edge_bias_args(fn, g, ids, table, hop_weights, o);
  const std::size_t E = dims.E, H = dims.H, C = dims.C, D = dims.D;
  // e_n for every edge: the mean over the C feature rows.
  std::vector<double> emb(E * H, 0.0);
  for (std::size_t e = 0; e < E; ++e)
    for (std::size_t c = 0; c < C; ++c)
      for (std::size_t h = 0; h < H; ++h) emb[e * H + h] += table(static_cast<std::size_t>(ids(e, c)), h) / double(C);
  // Projected per hop: proj[n][e][h] = sum_a e[a] W_n[a][h].
  std::vector<double> proj(D * E * H, 0.0);
  for (std::size_t hop = 0; hop < D; ++hop)
    for (std::size_t e = 0; e < E; ++e)
      for (std::size_t a = 0; a < H; ++a)
        for (std::size_t h = 0; h < H; ++h) proj[(hop * E + e) * H + h] += emb[e * H + a] * hop_weights(hop, a, h);
  const ITensor path = shortest_path_edges(g, o.max_hops, o.path);
  const ITensor spd = shortest_path_hops(g);
  const std::size_t n = static_cast<std::size_t>(g.nodes()), p = o.graph_token ? 1 : 0;
  Encoding enc;
  enc.name = "graphormer_edge";
  Bias b;
  b.kind = BiasKind::dense;
  b.dense = xt::zeros<float>(Shape{1, H, p + n, p + n});
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      if (i == j || spd(i, j) < 0) continue;
      const auto len = static_cast<std::size_t>(std::min<std::int64_t>(spd(i, j), o.max_hops));
      for (std::size_t h = 0; h < H; ++h) {
        double s = 0;
        for (std::size_t hop = 0; hop < len; ++hop) s += proj[(hop * E + static_cast<std::size_t>(path(i, j, hop))) * H + h];
        b.dense(0, h, p + i, p + j) = static_cast<float>(s / static_cast<double>(len));
      }
    }
  enc.biases.push_back(std::move(b));
  return enc;
}

}  // namespace posenc
