// posenc/graph_boost.hpp — a posenc::Graph from any Boost.Graph graph (header only; include it
// where Boost is available).
//
//   boost::adjacency_list<...> g = ...;
//   posenc::Graph pg = posenc::graph_from_boost(g);                         // unit weights
//   posenc::Graph wg = posenc::graph_from_boost(g, get(boost::edge_weight, g));
//
// Nodes are numbered by the graph's vertex_index map; directedness comes from the graph's
// directed_category (bidirectional counts as directed).
#pragma once

#include <boost/graph/graph_traits.hpp>
#include <boost/graph/properties.hpp>
#include <boost/property_map/property_map.hpp>
#include <type_traits>
#include <vector>

#include "posenc/graph.hpp"

namespace posenc {

/// Copies the vertices and edges of a Boost VertexListGraph + EdgeListGraph, weights read through
/// `weights` (any readable edge property map).
template <class BoostGraph, class WeightMap>
Graph graph_from_boost(const BoostGraph& g, WeightMap weights) {
  using Traits = boost::graph_traits<BoostGraph>;
  const bool directed = !std::is_convertible_v<typename Traits::directed_category, boost::undirected_tag>;
  // Unqualified calls: Boost's graph functions are found by argument-dependent lookup.
  const auto index = get(boost::vertex_index, g);
  std::vector<GraphEdge> out;
  for (auto [it, end] = edges(g); it != end; ++it)
    out.push_back({static_cast<std::int64_t>(get(index, source(*it, g))),
                   static_cast<std::int64_t>(get(index, target(*it, g))), static_cast<double>(get(weights, *it))});
  return Graph(static_cast<std::int64_t>(num_vertices(g)), std::move(out), directed);
}

/// The same with unit weights.
template <class BoostGraph>
Graph graph_from_boost(const BoostGraph& g) {
  return graph_from_boost(g, boost::make_static_property_map<typename boost::graph_traits<BoostGraph>::edge_descriptor>(1.0));
}

}  // namespace posenc
