// Centralities: betweenness (Brandes, Boost), closeness, PageRank and eigenvector centrality as
// networkx defines them.
#include <algorithm>
#include <cmath>
#include <map>

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/betweenness_centrality.hpp>

#include "detail/check.hpp"
#include "detail/graph_weights.hpp"
#include "posenc/graph.hpp"

namespace posenc {

namespace {

/// The simple graph networkx would hold: out-neighbours without repeats (the first weight wins;
/// a self-loop is kept once), as a CSR.
struct Simple {
  std::vector<std::int64_t> offsets, targets;
  std::vector<double> weights;
};
Simple simple_out(const Graph& g) {
  Simple s;
  const auto n = static_cast<std::size_t>(g.nodes());
  s.offsets.assign(n + 1, 0);
  for (std::size_t u = 0; u < n; ++u) {
    std::map<std::int64_t, double> seen;
    for (auto e = g.offsets()[u]; e < g.offsets()[u + 1]; ++e)
      seen.emplace(g.adjacency()[static_cast<std::size_t>(e)], g.adjacency_weights()[static_cast<std::size_t>(e)]);
    // Keep the graph's neighbour order for determinism of sums (networkx iterates insertion order).
    for (auto e = g.offsets()[u]; e < g.offsets()[u + 1]; ++e) {
      const auto v = g.adjacency()[static_cast<std::size_t>(e)];
      auto it = seen.find(v);
      if (it == seen.end()) continue;
      s.targets.push_back(v);
      s.weights.push_back(it->second);
      seen.erase(it);
    }
    s.offsets[u + 1] = static_cast<std::int64_t>(s.targets.size());
  }
  return s;
}

}  // namespace

std::vector<double> betweenness_centrality(const Graph& g, bool normalized) {
  using BG = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS, boost::no_property,
                                   boost::property<boost::edge_weight_t, double>>;
  const auto n = static_cast<std::size_t>(g.nodes());
  const Simple s = simple_out(g);
  BG bg(n);
  for (std::size_t u = 0; u < n; ++u)
    for (auto e = s.offsets[u]; e < s.offsets[u + 1]; ++e) {
      const auto v = static_cast<std::size_t>(s.targets[static_cast<std::size_t>(e)]);
      if (v != u) boost::add_edge(u, v, s.weights[static_cast<std::size_t>(e)], bg);
    }
  std::vector<double> c(n, 0.0);
  auto cmap = boost::make_iterator_property_map(c.begin(), boost::get(boost::vertex_index, bg));
  if (g.weighted()) {
    for (const auto& e : g.edges())
      if (e.weight <= 0)
        detail::fail("betweenness_centrality", "weighted paths need weights > 0, got ", e.weight);
    detail::require_bounded_weight_sums("betweenness_centrality", g);
    boost::brandes_betweenness_centrality(bg, boost::centrality_map(cmap).weight_map(boost::get(boost::edge_weight, bg)));
  } else {
    boost::brandes_betweenness_centrality(bg, boost::centrality_map(cmap));
  }
  // Boost sums over ordered pairs (s, t); an undirected pair appears twice.
  const double nn = static_cast<double>(n);
  for (auto& v : c) {
    if (normalized)
      v = n > 2 ? v / ((nn - 1) * (nn - 2)) : 0.0;
    else if (!g.directed())
      v /= 2;
  }
  return c;
}

std::vector<double> closeness_centrality(const Graph& g, bool use_weights) {
  const auto n = static_cast<std::size_t>(g.nodes());
  std::vector<double> c(n, 0.0);
  if (n <= 1) return c;
  // Incoming distances: d(v, u) for every v (column u).
  const bool weighted = use_weights && g.weighted();
  const DTensor dw = weighted ? shortest_path_lengths(g) : DTensor();
  const ITensor dh = weighted ? ITensor() : shortest_path_hops(g);
  for (std::size_t u = 0; u < n; ++u) {
    double total = 0;
    std::size_t reach = 0;
    for (std::size_t v = 0; v < n; ++v) {
      const double d = weighted ? dw(v, u) : (dh(v, u) < 0 ? INFINITY : static_cast<double>(dh(v, u)));
      if (!std::isfinite(d)) continue;
      total += d;
      ++reach;
    }
    if (total > 0) {
      const double r = static_cast<double>(reach - 1);
      c[u] = r / total * (r / static_cast<double>(n - 1));
    }
  }
  return c;
}

std::vector<double> pagerank(const Graph& g, double alpha, double tol, int max_iter) {
  const char* fn = "pagerank";
  if (!(alpha >= 0 && alpha <= 1)) detail::fail(fn, "parameter 'alpha' must be in [0, 1], got ", alpha);
  if (!(tol > 0)) detail::fail(fn, "parameter 'tol' must be positive, got ", tol);
  detail::require_nonnegative_weights(fn, g, "PageRank needs weights >= 0 (transition probabilities)");
  detail::require_bounded_weight_sums(fn, g, false);
  const auto n = static_cast<std::size_t>(g.nodes());
  if (n == 0) return {};
  // networkx builds the adjacency from the graph's edges, summing parallel ones.
  std::vector<double> out_weight(n, 0.0);
  for (std::size_t u = 0; u < n; ++u)
    for (auto e = g.offsets()[u]; e < g.offsets()[u + 1]; ++e) out_weight[u] += g.adjacency_weights()[static_cast<std::size_t>(e)];
  const double nn = static_cast<double>(n);
  std::vector<double> x(n, 1.0 / nn), next(n);
  for (int it = 0; it < max_iter; ++it) {
    double dangling = 0;
    for (std::size_t u = 0; u < n; ++u)
      if (out_weight[u] == 0) dangling += x[u];
    std::fill(next.begin(), next.end(), 0.0);
    for (std::size_t u = 0; u < n; ++u) {
      if (out_weight[u] == 0) continue;
      const double share = x[u] / out_weight[u];
      for (auto e = g.offsets()[u]; e < g.offsets()[u + 1]; ++e)
        next[static_cast<std::size_t>(g.adjacency()[static_cast<std::size_t>(e)])] +=
            share * g.adjacency_weights()[static_cast<std::size_t>(e)];
    }
    double err = 0;
    for (std::size_t u = 0; u < n; ++u) {
      next[u] = alpha * (next[u] + dangling / nn) + (1 - alpha) / nn;
      err += std::abs(next[u] - x[u]);
    }
    x.swap(next);
    if (err < nn * tol) return x;
  }
  detail::fail(fn, "power iteration did not converge in ", max_iter, " iterations (tol ", tol, ")");
}

std::vector<double> eigenvector_centrality(const Graph& g, double tol, int max_iter) {
  const char* fn = "eigenvector_centrality";
  if (!(tol > 0)) detail::fail(fn, "parameter 'tol' must be positive, got ", tol);
  const auto n = static_cast<std::size_t>(g.nodes());
  if (n == 0) detail::fail(fn, "the graph is empty (eigenvector centrality is undefined)");
  const Simple s = simple_out(g);
  std::vector<double> x(n, 1.0 / static_cast<double>(n)), last(n);
  for (int it = 0; it < max_iter; ++it) {
    last = x;
    for (std::size_t u = 0; u < n; ++u)  // x <- (I + A^T) x: u passes its value to its successors
      for (auto e = s.offsets[u]; e < s.offsets[u + 1]; ++e) x[static_cast<std::size_t>(s.targets[static_cast<std::size_t>(e)])] += last[u];
    double norm = 0;
    for (double v : x) norm += v * v;
    norm = std::sqrt(norm);
    if (norm == 0) norm = 1;
    double err = 0;
    for (std::size_t u = 0; u < n; ++u) {
      x[u] /= norm;
      err += std::abs(x[u] - last[u]);
    }
    if (err < static_cast<double>(n) * tol) return x;
  }
  detail::fail(fn, "power iteration did not converge in ", max_iter, " iterations (tol ", tol, ")");
}

}  // namespace posenc
