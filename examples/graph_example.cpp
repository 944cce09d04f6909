// Graph modality example: Zachary's karate club (34 members, 78 friendships; Zachary 1977, the
// copy in networkx), its node encodings, and a Graphormer-style attention layer over the members
// with the spatial bias evaluated per tile by the core.
//
//   build/examples/posenc_graph_example [OUT_DIR] [EDGES.csv]   (default: examples_out, the karate club)
//
// Writes OUT_DIR/graph_spd.png (the shortest-path distance matrix) and OUT_DIR/graph_laplacian.png
// (the graph drawn with a spring layout, members coloured by the first non-trivial eigenvector of
// the symmetric-normalised Laplacian, which splits the club along its historical fission | by
// PageRank), and prints what each encoding produced.
#include <filesystem>
#include <iostream>

#include "common.hpp"
#include "pictures.hpp"
#include "posenc/posenc.hpp"

int main(int argc, char** argv) {
  using namespace posenc;
  const std::string out = argc > 1 ? argv[1] : "examples_out";
  const std::string edges = argc > 2 ? argv[2] : std::string(POSENC_EXAMPLE_DATA) + "/karate.csv";
  std::filesystem::create_directories(out);

  const Graph g = read_edge_list_csv(edges);
  std::cout << "graph: " << g.nodes() << " nodes, " << g.edges().size() << " edges\n";
  const ITensor spd = shortest_path_hops(g);
  std::cout << "shortest paths: diameter " << xt::amax(spd)() << "\n";
  const LaplacianPe lap = laplacian_pe(g, {.k = 8});
  std::cout << "Laplacian PE [" << lap.vectors.shape()[0] << ", " << lap.vectors.shape()[1]
            << "], eigenvalues " << lap.eigenvalues[0] << " .. " << lap.eigenvalues.back() << "\n";
  const Tensor rwse = random_walk_pe(g, 16);
  const auto pr = pagerank(g), bc = betweenness_centrality(g);
  std::cout << "RWSE " << shape_string(rwse) << "; most central by PageRank: member "
            << std::max_element(pr.begin(), pr.end()) - pr.begin() << ", by betweenness: member "
            << std::max_element(bc.begin(), bc.end()) - bc.begin() << "\n";

  // One Graphormer-style layer: a graph token + the members; node features = Laplacian PE and RWSE
  // (concatenated) + the degree embeddings, position-position term = the spatial bias.
  const std::int64_t heads = 4, dim = 64;
  const MultiHeadAttention layer({.model_dim = dim, .heads = heads}, /*seed=*/8);
  const std::size_t n = static_cast<std::size_t>(g.nodes());
  const Tensor zin = sphere_table_init(512, dim - 24, 0.02, 1), zout = sphere_table_init(512, dim - 24, 0.02, 2);
  Encoding features = graphormer_centrality(g, zin, zout);  // input_add [1, 1 + N, dim - 24]
  Tensor concat = xt::zeros<float>(Shape{1, n + 1, 24});   // graph token row stays zero
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t c = 0; c < 8; ++c) concat(0, i + 1, c) = lap.vectors(i, c);
    for (std::size_t c = 0; c < 16; ++c) concat(0, i + 1, 8 + c) = rwse(i, c);
  }
  features.input_concat = concat;
  Tensor token = sphere_table_init(1, heads, 0.02, 3);  // the learned t_h, one per head
  token.reshape({static_cast<std::size_t>(heads)});
  const Encoding spatial = graphormer_spatial(g, graphormer_table_init(heads), token);
  const Encoding enc = combine(features, spatial);
  const Tensor x = example::random_tokens(static_cast<std::int64_t>(n) + 1, dim - 24, 9, 0.5);
  const Tensor xe = apply_input(enc, x);
  example::report("graphormer (centrality + LapPE/RWSE + spatial bias)", enc, xe, layer.forward(xe, enc));

  // Pictures.
  std::vector<double> d(spd.begin(), spd.end());
  plot::write_png(out + "/graph_spd.png", plot::heatmap(d, static_cast<int>(n), static_cast<int>(n), 8));
  std::vector<double> fiedler(n);
  for (std::size_t i = 0; i < n; ++i) fiedler[i] = lap.vectors(i, 0);
  plot::write_png(out + "/graph_laplacian.png",
                  plot::hstack({plot::graph_drawing(g, fiedler), plot::graph_drawing(g, pr)}));
  std::cout << "wrote " << out << "/graph_spd.png (shortest-path distances) and " << out
            << "/graph_laplacian.png (first Laplacian eigenvector | PageRank)\n";
  return 0;
}
