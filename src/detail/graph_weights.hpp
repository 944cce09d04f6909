// Checks of a graph's edge weights shared by the weighted algorithms: every error names the
// function, the edge and its weight.
#pragma once

#include <algorithm>
#include <cmath>

#include "detail/check.hpp"
#include "posenc/graph.hpp"

namespace posenc::detail {

/// Largest sum of edge weights the weighted algorithms accept: a shortest path (or a weighted
/// degree) is at most this, so distances, degrees and their sums (closeness adds N of them) stay
/// far from double overflow.
inline constexpr double kMaxWeightSum = 1e300;

/// Throws naming the first edge whose weight is negative; `why` completes "fn needs ...".
inline void require_nonnegative_weights(const char* fn, const Graph& g, const char* why) {
  const auto& edges = g.edges();
  for (std::size_t e = 0; e < edges.size(); ++e)
    if (edges[e].weight < 0)
      fail(fn, why, "; edge ", e, " (", edges[e].source, " -> ", edges[e].target, ") has weight ", edges[e].weight);
}

/// Throws when path lengths could overflow: the bound min(sum of weights, (N - 1) x the largest)
/// of every simple path must be at most kMaxWeightSum. `paths` false: the bound is the sum alone
/// (weighted degrees, which parallel edges can make larger than (N - 1) x the largest).
inline void require_bounded_weight_sums(const char* fn, const Graph& g, bool paths = true) {
  long double sum = 0, largest = 0;
  std::size_t at = 0;
  const auto& edges = g.edges();
  for (std::size_t e = 0; e < edges.size(); ++e) {
    const long double w = std::abs(static_cast<long double>(edges[e].weight));
    sum += w;
    if (w > largest) largest = w, at = e;
  }
  long double bound = sum;
  if (paths && g.nodes() > 0) bound = std::min(bound, largest * static_cast<long double>(g.nodes() - 1));
  if (bound > kMaxWeightSum)
    fail(fn, "edge weights up to ", static_cast<double>(largest), " (edge ", at, ", ", edges[at].source, " -> ",
         edges[at].target, ") make ", paths ? "path lengths" : "weighted degrees", " up to ",
         static_cast<double>(bound), ", above the limit ", kMaxWeightSum, " (double overflow); rescale the weights");
}

}  // namespace posenc::detail
