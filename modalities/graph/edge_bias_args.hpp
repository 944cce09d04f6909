// Private to the graph modality: the argument checks that graphormer_edge_bias and its backward
// share (edges.cpp, graph_backward.cpp).
#pragma once

#include <cstddef>

#include "detail/check.hpp"
#include "posenc/graph.hpp"

namespace posenc::detail {

struct EdgeBiasDims {
  std::size_t E, H, C, R, D;  ///< edges, heads, feature columns, table rows, max hops
};

/// Check edge_feature_ids [E, C], edge_table [R, H], hop_weights [>= max_hops, H, H] and the ids' range.
inline EdgeBiasDims check_edge_bias_args(const char* fn, const Graph& g, const ITensor& ids, const Tensor& table,
                                         const Tensor& hop_weights, const GraphormerEdgeOptions& o) {
  const std::size_t E = g.edges().size();
  if (ids.dimension() != 2 || ids.shape()[0] != E || ids.shape()[1] == 0)
    fail(fn, "parameter 'edge_feature_ids' must be [E = ", E, ", C >= 1], got ", shape_string(ids));
  if (table.dimension() != 2 || table.shape()[0] == 0 || table.shape()[1] == 0)
    fail(fn, "parameter 'edge_table' must be [R, H], got ", shape_string(table));
  const std::size_t H = table.shape()[1], C = ids.shape()[1], R = table.shape()[0];
  const auto D = static_cast<std::size_t>(o.max_hops);
  if (hop_weights.dimension() != 3 || hop_weights.shape()[0] < D || hop_weights.shape()[1] != H ||
      hop_weights.shape()[2] != H)
    fail(fn, "parameter 'hop_weights' must be [>= max_hops = ", D, ", H = ", H, ", H], got ",
         shape_string(hop_weights));
  for (auto v : ids)
    if (v < 0 || static_cast<std::size_t>(v) >= R)
      fail(fn, "parameter 'edge_feature_ids' holds ", v, ", outside the ", R, " rows of 'edge_table'");
  return {E, H, C, R, D};
}

}  // namespace posenc::detail
