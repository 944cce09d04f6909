// `posenc graph --encodings`: the list split into specs for the catalogue's grammar, and what the
// files they write hold.
#include "graph_specs.hpp"

#include <sstream>

namespace posenc::cli {

std::vector<GraphSpec> parse_graph_specs(const std::string& list) {
  std::vector<std::string> items;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) items.push_back(item);
  return catalogue::parse_graph_specs(items, "graph");
}

FileAxes graph_file_axes(const std::string& stem, const GraphSpec& s) {
  const std::string node = "node (nodes.txt line order)";
  if (stem == "spd")
    return {"source node (nodes.txt order)", "target node (nodes.txt order)",
            "hops along edge directions; unreachable pairs " +
                std::to_string(std::get<std::int64_t>(s.value("unreachable")))};
  if (stem == "dijkstra") {
    std::ostringstream unreachable;
    unreachable << std::get<double>(s.value("unreachable"));
    return {"source node (nodes.txt order)", "target node (nodes.txt order)",
            "weighted shortest-path length; unreachable pairs " + unreachable.str()};
  }
  if (stem.starts_with("degree_")) return {node, "", stem.substr(7) + "-degree (edge count)"};
  if (stem == "lap")
    return {node, "eigenvector c, c = 0 .. k-1, eigenvalue lap_eigenvalues.npy[c] (ascending, trivial ones skipped)",
            "Laplacian eigenvector entries (zero columns where padded)"};
  if (stem == "lap_eigenvalues") return {"column of lap.npy", "", "Laplacian eigenvalue (NaN for padded columns)"};
  if (stem == "rwse") return {node, "step s = 1 .. steps (column s - 1)", "random-walk return probability (P^s)_ii"};
  return {node, "", stem + " centrality"};
}

}  // namespace posenc::cli
