// Graph encodings against networkx / NumPy reference data (tests/data/gen_networkx_graph.py),
// hand graphs (path, cycle, star, complete, two components, a single node, self-loops,
// multi-edges) and invariants; readers and bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "posenc/attention.hpp"
#include "posenc/graph.hpp"
#include "posenc/graph_boost.hpp"

#include <boost/graph/adjacency_list.hpp>
#include "posenc/npy.hpp"
#include "support/helpers.hpp"

namespace posenc {
namespace {

using test::expect_invalid;

const std::string kData = std::string(POSENC_TEST_DATA) + "/graphs/";

Graph path_graph(std::int64_t n) {
  std::vector<GraphEdge> e;
  for (std::int64_t i = 0; i + 1 < n; ++i) e.push_back({i, i + 1});
  return Graph(n, e);
}
Graph cycle_graph(std::int64_t n) {
  std::vector<GraphEdge> e;
  for (std::int64_t i = 0; i < n; ++i) e.push_back({i, (i + 1) % n});
  return Graph(n, e);
}
Graph star_graph(std::int64_t leaves) {
  std::vector<GraphEdge> e;
  for (std::int64_t i = 1; i <= leaves; ++i) e.push_back({0, i});
  return Graph(leaves + 1, e);
}
Graph complete_graph(std::int64_t n) {
  std::vector<GraphEdge> e;
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = i + 1; j < n; ++j) e.push_back({i, j});
  return Graph(n, e);
}

struct Ref {
  const char* name;
  std::int64_t nodes;
  bool directed;
};
const Ref kRefs[] = {{"karate", 34, false}, {"weighted", 25, false}, {"directed", 20, true}, {"split", 10, false}};

Graph load(const Ref& r) {
  return read_edge_list_csv(kData + r.name + ".csv", {.directed = r.directed, .nodes = r.nodes});
}

template <class T>
void expect_near_vec(const std::vector<double>& got, const T& want, double tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want(i), tol) << what << " node " << i;
}

TEST(GraphFiles, EdgeListCsvHeaderNamesQuotesAndErrors) {
  const auto dir = std::filesystem::temp_directory_path() / "posenc_graph_test";
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream((dir / name).string()) << text;
    return (dir / name).string();
  };
  // Names, a quoted id with a comma, a weight column, a header detected from its words.
  const Graph g = read_edge_list_csv(write("n.csv", "from,to,w\nalice,bob,2.5\n\"carol, jr\",alice,1\n"));
  EXPECT_EQ(g.nodes(), 3);
  EXPECT_EQ(g.names()[2], "carol, jr");
  EXPECT_TRUE(g.weighted());
  EXPECT_EQ(g.edges()[0].weight, 2.5);
  // Integer ids are indices: 0 and 3 with nodes 1, 2 isolated.
  EXPECT_EQ(read_edge_list_csv(write("i.csv", "0,3\n")).nodes(), 4);
  expect_invalid([&] { read_edge_list_csv(write("r.csv", "0,1\n1,2,3\n")); }, {"r.csv:2", "ragged"});
  expect_invalid([&] { read_edge_list_csv(write("w.csv", "a,b,1\nb,c,x\n")); }, {"w.csv:2", "column 3", "'x'"});
  expect_invalid([&] { read_edge_list_csv(write("q.csv", "a,\"b\n")); }, {"q.csv:1", "unterminated"});
  expect_invalid([&] { read_edge_list_csv(write("e.csv", "\n\n")); }, {"e.csv", "empty"});
  expect_invalid([&] { read_edge_list_csv((dir / "missing.csv").string()); }, {"cannot open"});
  // GraphML and DOT through Boost.
  const Graph gm = read_graphml(write("g.graphml",
      "<?xml version=\"1.0\"?><graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">"
      "<key id=\"w\" for=\"edge\" attr.name=\"weight\" attr.type=\"double\"/>"
      "<graph edgedefault=\"undirected\"><node id=\"a\"/><node id=\"b\"/><node id=\"c\"/>"
      "<edge source=\"a\" target=\"b\"><data key=\"w\">2</data></edge>"
      "<edge source=\"b\" target=\"c\"><data key=\"w\">3</data></edge></graph></graphml>"));
  EXPECT_EQ(gm.nodes(), 3);
  EXPECT_FALSE(gm.directed());
  EXPECT_EQ(shortest_path_lengths(gm)(0, 2), 5.0);
  const Graph gd = read_dot(write("g.dot", "digraph G { x -> y [weight=4]; y -> z; }"));
  EXPECT_TRUE(gd.directed());
  EXPECT_EQ(gd.nodes(), 3);
  EXPECT_EQ(shortest_path_hops(gd)(2, 0), -1);
  EXPECT_EQ(read_graph(write("p.gv", "graph { a -- b; b -- c; }")).nodes(), 3);
  expect_invalid([&] { read_graph(write("x.bin", "")); }, {"read_graph", "extension"});
  std::filesystem::remove_all(dir);
}

TEST(GraphBasics, UnknownIdsWeightsAndDegrees) {
  expect_invalid([] { Graph(3, {{0, 3}}); }, {"Graph", "unknown node id", "0 .. 2"});
  expect_invalid([] { Graph(2, {{0, 1, NAN}}); }, {"Graph", "non-finite"});
  expect_invalid([] { Graph(-1, {}); }, {"'nodes'", "-1"});
  // A self-loop counts twice in an undirected degree; multi-edges count each time.
  const Graph g(3, {{0, 0}, {0, 1}, {0, 1}, {1, 2}});
  const ITensor d = degrees(g);
  EXPECT_EQ(d(0), 4);
  EXPECT_EQ(d(1), 3);
  EXPECT_EQ(d(2), 1);
  const Graph dg(3, {{0, 1}, {0, 2}, {2, 1}}, true);
  EXPECT_EQ(degrees(dg, DegreeKind::in)(1), 2);
  EXPECT_EQ(degrees(dg, DegreeKind::out)(0), 2);
  EXPECT_EQ(degrees(dg, DegreeKind::total)(2), 2);
}

TEST(GraphBasics, FromBoostGraphsAndSelfLoopsMultiEdges) {
  // An undirected weighted Boost graph and a directed one.
  using UG = boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS, boost::no_property,
                                   boost::property<boost::edge_weight_t, double>>;
  UG ug(4);
  boost::add_edge(0, 1, 2.0, ug);
  boost::add_edge(1, 2, 3.0, ug);
  boost::add_edge(2, 3, 1.0, ug);
  const Graph g = graph_from_boost(ug, boost::get(boost::edge_weight, ug));
  EXPECT_FALSE(g.directed());
  EXPECT_EQ(shortest_path_lengths(g)(0, 3), 6.0);
  EXPECT_EQ(shortest_path_hops(graph_from_boost(ug))(3, 0), 3);
  boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS> dg(3);
  boost::add_edge(0, 1, dg);
  boost::add_edge(1, 2, dg);
  const Graph d = graph_from_boost(dg);
  EXPECT_TRUE(d.directed());
  EXPECT_EQ(shortest_path_hops(d)(0, 2), 2);
  EXPECT_EQ(shortest_path_hops(d)(2, 0), -1);
  // Self-loops and parallel edges change neither hop distances nor the Laplacian encoding
  // (self-loops are removed there; the parallel edges double one weight, so compare with that).
  const Graph plain(4, {{0, 1}, {1, 2}, {2, 3}});
  const Graph noisy(4, {{0, 1}, {1, 1}, {1, 2}, {1, 2}, {2, 3}, {3, 3}});
  EXPECT_EQ(test::max_abs_diff(shortest_path_hops(noisy), shortest_path_hops(plain)), 0.0);
  const Graph doubled(4, {{0, 1}, {1, 2, 2.0}, {2, 3}});
  EXPECT_LT(test::max_abs_diff(laplacian_pe(noisy, {.k = 2}).vectors, laplacian_pe(doubled, {.k = 2}).vectors), 1e-6);
}

TEST(ShortestPaths, HandGraphsAndNetworkx) {
  // Path: |i - j|; cycle: min(|i-j|, n-|i-j|); star: 1 to the hub, 2 between leaves; complete: 1.
  const ITensor p = shortest_path_hops(path_graph(70));  // more than one 64-source block
  for (std::size_t i = 0; i < 70; ++i)
    for (std::size_t j = 0; j < 70; ++j) ASSERT_EQ(p(i, j), std::abs(std::int64_t(i) - std::int64_t(j)));
  const ITensor c = shortest_path_hops(cycle_graph(9));
  EXPECT_EQ(c(0, 5), 4);
  EXPECT_EQ(c(1, 8), 2);
  const ITensor s = shortest_path_hops(star_graph(5));
  EXPECT_EQ(s(0, 3), 1);
  EXPECT_EQ(s(2, 4), 2);
  EXPECT_EQ(xt::amax(shortest_path_hops(complete_graph(6)))(), 1);
  const ITensor one = shortest_path_hops(Graph(1, {}));
  EXPECT_EQ(one(0, 0), 0);
  // Clipping and the unreachable value.
  const ITensor clipped = shortest_path_hops(path_graph(8), {.max_distance = 3, .unreachable = 510});
  EXPECT_EQ(clipped(0, 7), 3);
  const ITensor two = shortest_path_hops(Graph(4, {{0, 1}, {2, 3}}), {.unreachable = 510});
  EXPECT_EQ(two(0, 3), 510);
  for (const Ref& r : kRefs) {
    const ITensor want = load_npy_int(kData + r.name + "_spd.npy");
    const Graph g = load(r);
    EXPECT_EQ(test::max_abs_diff(shortest_path_hops(g, {.threads = 1}), want), 0.0) << r.name;
    EXPECT_EQ(test::max_abs_diff(shortest_path_hops(g, {.threads = 2}), want), 0.0) << r.name;
  }
  const DTensor dij = shortest_path_lengths(load(kRefs[1]));
  EXPECT_LT(test::max_abs_diff(dij, load_npy_double(kData + "weighted_dijkstra.npy")), 1e-12);
  expect_invalid([] { shortest_path_lengths(Graph(2, {{0, 1, -1.0}})); },
                 {"shortest_path_lengths", "weight", "-1"});
}

TEST(Centrality, MatchesNetworkx) {
  for (const Ref& r : kRefs) {
    const Graph g = load(r);
    expect_near_vec(betweenness_centrality(g), load_npy_double(kData + r.name + "_betweenness.npy"), 1e-12,
                    std::string(r.name) + " betweenness");
    expect_near_vec(closeness_centrality(g), load_npy_double(kData + r.name + "_closeness.npy"), 1e-12,
                    std::string(r.name) + " closeness");
    expect_near_vec(pagerank(g), load_npy_double(kData + r.name + "_pagerank.npy"), 1e-10,
                    std::string(r.name) + " pagerank");
    if (!r.directed && std::string(r.name) != "split")
      expect_near_vec(eigenvector_centrality(g), load_npy_double(kData + r.name + "_eigenvector.npy"), 1e-10,
                      std::string(r.name) + " eigenvector");
  }
  // Star by hand: the hub lies on every leaf pair's path: normalised betweenness 1, leaves 0.
  const auto b = betweenness_centrality(star_graph(4));
  EXPECT_DOUBLE_EQ(b[0], 1.0);
  EXPECT_DOUBLE_EQ(b[3], 0.0);
  EXPECT_DOUBLE_EQ(betweenness_centrality(star_graph(4), false)[0], 6.0);  // C(4, 2) leaf pairs
  expect_invalid([] { pagerank(path_graph(3), 1.5); }, {"pagerank", "'alpha'", "1.5"});
  expect_invalid([] { eigenvector_centrality(Graph(0, {})); }, {"eigenvector_centrality", "empty"});
}

/// Compares eigenvectors up to sign, and inside repeated eigenvalues up to rotation, through the
/// projector onto each eigenspace: sum of v v^T over a group of equal eigenvalues.
void expect_same_eigenspaces(const LaplacianPe& got, const DTensor& values, const DTensor& vectors,
                             std::int64_t skip, const std::string& what) {
  const std::size_t n = vectors.shape()[0], k = got.eigenvalues.size();
  for (std::size_t c = 0; c < k; ++c) EXPECT_NEAR(got.eigenvalues[c], values(skip + c), 1e-9) << what << " " << c;
  // Group columns by eigenvalue (within 1e-8) inside the kept range; compare projectors of whole groups.
  std::size_t a = 0;
  while (a < k) {
    std::size_t b = a + 1;
    while (b < k && std::abs(got.eigenvalues[b] - got.eigenvalues[a]) < 1e-8) ++b;
    const bool whole = (b < k || skip + b >= n || std::abs(values(skip + b) - values(skip + b - 1)) > 1e-8) &&
                       (skip + a == 0 || std::abs(values(skip + a) - values(skip + a - 1)) > 1e-8);
    if (whole)
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) {
          double pg = 0, pw = 0;
          for (std::size_t c = a; c < b; ++c) {
            pg += double(got.vectors(i, c)) * got.vectors(j, c);
            pw += vectors(i, skip + c) * vectors(j, skip + c);
          }
          ASSERT_NEAR(pg, pw, 2e-6) << what << " columns " << a << ".." << b << " at " << i << "," << j;
        }
    a = b;
  }
}

TEST(LaplacianPe, MatchesNumpyUpToSignAndRotation) {
  for (const Ref& r : kRefs) {
    const Graph g = load(r);
    const DTensor values = load_npy_double(kData + r.name + "_lap_values.npy");
    const DTensor vectors = load_npy_double(kData + r.name + "_lap_vectors.npy");
    for (EigenSolver solver : {EigenSolver::dense, EigenSolver::sparse}) {
      const LaplacianPe pe = laplacian_pe(g, {.k = 4, .solver = solver});
      expect_same_eigenspaces(pe, values, vectors, pe.trivial, std::string(r.name) + (solver == EigenSolver::dense ? " dense" : " sparse"));
    }
  }
  // split: a 5-cycle, a 4-path and an isolated node: 3 components, 2 trivial (the isolated node's
  // eigenvalue is 1 under the symmetric Laplacian), 8 - 2 = ... available = 10 - 2.
  const LaplacianPe s = laplacian_pe(load(kRefs[3]), {.k = 3});
  EXPECT_EQ(s.components, 3);
  EXPECT_EQ(s.trivial, 2);
  EXPECT_GT(s.eigenvalues[0], 1e-6);
  // PyG's rule skips only the first vector: the second zero eigenvalue comes back.
  const LaplacianPe pyg = laplacian_pe(load(kRefs[3]), {.k = 3, .drop_per_component = false});
  EXPECT_NEAR(pyg.eigenvalues[0], 0.0, 1e-9);
}

TEST(LaplacianPe, HandGraphsSignsPaddingAndKinds) {
  // Path of n nodes, combinatorial Laplacian: lambda_k = 2 - 2 cos(pi k / n), v_k(i) ~ cos(pi k (i + 1/2) / n).
  const std::int64_t n = 7;
  const LaplacianPe pe = laplacian_pe(path_graph(n), {.k = 3, .kind = LaplacianKind::combinatorial});
  for (int k = 1; k <= 3; ++k) {
    EXPECT_NEAR(pe.eigenvalues[k - 1], 2 - 2 * std::cos(M_PI * k / n), 1e-10);
    double norm = 0;
    for (int i = 0; i < n; ++i) norm += std::pow(std::cos(M_PI * k * (i + 0.5) / n), 2);
    // Deterministic sign: the largest-magnitude entry is positive, the lowest node among ties
    // (a path's eigenvectors are symmetric or antisymmetric, so node 0 and node n-1 tie).
    float top = 0;
    for (int i = 0; i < n; ++i) top = std::max(top, std::abs(pe.vectors(i, k - 1)));
    int arg = 0;
    while (std::abs(pe.vectors(arg, k - 1)) < top * (1 - 1e-5f)) ++arg;
    EXPECT_GT(pe.vectors(arg, k - 1), 0.0f);
    const double s = std::cos(M_PI * k * (arg + 0.5) / n) > 0 ? 1 : -1;
    for (int i = 0; i < n; ++i)
      EXPECT_NEAR(pe.vectors(i, k - 1), s * std::cos(M_PI * k * (i + 0.5) / n) / std::sqrt(norm), 1e-6);
  }
  // Random-walk vectors are D^-1/2 times the symmetric ones (renormalised): check L_rw v = lambda v.
  const Graph star = star_graph(4);
  const LaplacianPe rw = laplacian_pe(star, {.k = 2, .kind = LaplacianKind::random_walk, .pad = true});
  const ITensor deg = degrees(star);
  for (std::size_t c = 0; c < 1; ++c)
    for (std::size_t i = 0; i < 5; ++i) {
      double av = 0;  // (D^-1 A v)_i
      for (std::size_t j = 0; j < 5; ++j)
        if ((i == 0) != (j == 0)) av += rw.vectors(j, c);
      const double lhs = rw.vectors(i, c) - av / double(deg(i));
      EXPECT_NEAR(lhs, rw.eigenvalues[c] * rw.vectors(i, c), 1e-6);
    }
  // Complete graph K5: eigenvalue 5/4 four times under 'sym'; padding when k exceeds them.
  const LaplacianPe kp = laplacian_pe(complete_graph(5), {.k = 6, .pad = true});
  EXPECT_NEAR(kp.eigenvalues[3], 1.25, 1e-12);
  EXPECT_TRUE(std::isnan(kp.eigenvalues[4]));
  EXPECT_EQ(kp.vectors(2, 5), 0.0f);
  // Seeded random flips change signs only.
  const LaplacianPe f = laplacian_pe(path_graph(9), {.k = 4, .random_flip = true, .seed = 3});
  const LaplacianPe d = laplacian_pe(path_graph(9), {.k = 4});
  for (std::size_t c = 0; c < 4; ++c) EXPECT_NEAR(std::abs(f.vectors(1, c)), std::abs(d.vectors(1, c)), 1e-7);
  // A single node with pad: nothing to keep, zeros.
  EXPECT_EQ(laplacian_pe(Graph(1, {}), {.k = 2, .pad = true}).vectors.shape()[1], 2u);
  expect_invalid([] { laplacian_pe(path_graph(4), {.k = 0}); }, {"laplacian_pe", "'k'", "0"});
  expect_invalid([] { laplacian_pe(path_graph(4), {.k = 4}); }, {"laplacian_pe", "'k' (4)", "3 non-trivial"});
  expect_invalid([] { laplacian_pe(Graph(0, {}), {}); }, {"laplacian_pe", "empty"});
}

TEST(RandomWalkPe, MatchesDenseMatrixPowers) {
  for (const Ref& r : kRefs) {
    const DTensor want = load_npy_double(kData + r.name + "_rwse.npy");
    EXPECT_LT(test::max_abs_diff(random_walk_pe(load(r), 8), want), 1e-6) << r.name;
  }
  // A cycle: odd steps never return, P^2_ii = 1/2.
  const Tensor c = random_walk_pe(cycle_graph(6), 4);
  EXPECT_EQ(c(0, 0), 0.0f);
  EXPECT_NEAR(c(0, 1), 0.5, 1e-7);
  EXPECT_EQ(c(0, 2), 0.0f);
  // PyG compat: weights enter only the degree.
  const Graph w(2, {{0, 1, 4.0}});
  EXPECT_NEAR(random_walk_pe(w, 2)(0, 1), 1.0, 1e-7);
  EXPECT_NEAR(random_walk_pe(w, 2, true)(0, 1), 1.0 / 16, 1e-7);
  expect_invalid([] { random_walk_pe(path_graph(3), 0); }, {"random_walk_pe", "'steps'", "0"});
}

TEST(Graphormer, SpatialBiasThroughTheCoreEqualsTheDenseDefinition) {
  // Path 0-1-2-3 plus node 4 unreachable; spatial_pos_max 3 masks SPD >= 3.
  const Graph g(5, {{0, 1}, {1, 2}, {2, 3}});
  const std::size_t H = 2;
  const Tensor table = graphormer_table_init(H, 512, 1);
  Tensor token = Tensor::from_shape({H});
  token(0) = 0.3f;
  token(1) = -0.2f;
  const GraphormerSpatialOptions o{.spatial_pos_max = 3};
  const Encoding e = graphormer_spatial(g, table, token, o);
  const ITensor idx = graphormer_spatial_index(g, o);
  EXPECT_EQ(idx(1, 2), 2);    // SPD 1 -> index 2
  EXPECT_EQ(idx(1, 1), 1);    // SPD 0 -> 1
  EXPECT_EQ(idx(1, 4), 513);  // SPD 3 -> masked
  EXPECT_EQ(idx(1, 5), 513);  // unreachable (510) -> masked
  EXPECT_EQ(idx(0, 3), 512);  // graph token
  EXPECT_EQ(graphormer_spatial_index(g, {.spatial_pos_max = 3, .hf_off_by_one = true})(1, 3), 513);  // SPD 2
  // Dense oracle: -inf where masked, table[h, SPD + 1], token on row 0 and column 0.
  const std::size_t n = 6, d = 4;
  const ITensor spd = shortest_path_hops(g, {.unreachable = 510});
  const Encoding dense = test::dense_bias_encoding(H, n, n, [&](std::size_t h, std::size_t i, std::size_t j) {
    if (i == 0 || j == 0) return double(token(h));
    if (spd(i - 1, j - 1) >= 3) return -double(INFINITY);
    return double(table(h, std::size_t(spd(i - 1, j - 1) + 1)));
  });
  const Tensor q = test::random_tensor({1, H, n, d}, 1), k = test::random_tensor({1, H, n, d}, 2),
               v = test::random_tensor({1, H, n, d}, 3);
  const Tensor want = attention_reference(q, k, v, dense);
  EXPECT_LT(test::max_abs_diff(attention(q, k, v, e, {.query_block = 2, .key_block = 3}), want), 1e-5);
  EXPECT_LT(test::max_abs_diff(attention_reference(q, k, v, e), want), 1e-5);
  const Tensor w = attention_weights(q, k, e);
  EXPECT_EQ(w(0, 0, 1, 4), 0.0f);  // masked pair gets no weight
  expect_invalid([&] { graphormer_spatial(g, table, Tensor{}, o); }, {"graphormer_spatial", "'graph_token'"});
  expect_invalid([&] { graphormer_spatial(g, test::random_tensor({2, 10}, 1), token, o); }, {"'table'", "512"});
}

TEST(Graphormer, CentralityEmbeddingsClipAndCompat) {
  const Graph dg(3, {{0, 1}, {0, 2}, {2, 1}}, true);
  Tensor zin = Tensor::from_shape({5, 1}), zout = Tensor::from_shape({5, 1});
  for (std::size_t r = 0; r < 5; ++r) zin(r, 0) = float(r), zout(r, 0) = float(10 * r);
  const Encoding e = graphormer_centrality(dg, zin, zout, {.max_degree = 3});
  // node 0: in 0, out 2 -> zin[1] + zout[3] = 1 + 30; node 1: in 2, out 0 -> 3 + 10; token row zero.
  EXPECT_EQ(e.input_add(0, 0, 0), 0.0f);
  EXPECT_EQ(e.input_add(0, 1, 0), 31.0f);
  EXPECT_EQ(e.input_add(0, 2, 0), 13.0f);
  const Encoding compat = graphormer_centrality(dg, zin, zout, {.max_degree = 3, .row_sum_compat = true});
  EXPECT_EQ(compat.input_add(0, 2, 0), 11.0f);  // the out-degree 0 for both tables
  // Star with 5 leaves: hub degree 5 clipped to max_degree 3.
  EXPECT_EQ(graphormer_centrality(star_graph(5), zin, zout, {.max_degree = 3, .prefix_tokens = 0}).input_add(0, 0, 0), 44.0f);
  expect_invalid([&] { graphormer_centrality(star_graph(5), zin, zout, {.max_degree = 3, .clip = false}); },
                 {"graphormer_centrality", "degree 5", "max_degree 3"});
}

TEST(Graphormer, EdgeEncodingFollowsTheReferencePathsAndMeans) {
  const Graph g = read_edge_list_csv(kData + "gho_edges.csv", {.nodes = 13});
  const ITensor ids = load_npy_int(kData + "gho_ids.npy");
  const Tensor table = load_npy(kData + "gho_table.npy"), hops = load_npy(kData + "gho_hops.npy");
  // The hop edges of Graphormer's Floyd-Warshall paths, and the bias from them.
  EXPECT_EQ(test::max_abs_diff(shortest_path_edges(g, 5), load_npy_int(kData + "gho_path.npy")), 0.0);
  const Encoding e = graphormer_edge_bias(g, ids, table, hops, {.graph_token = false});
  Tensor got = e.biases[0].dense;
  got.reshape({got.shape()[1], got.shape()[2], got.shape()[3]});
  EXPECT_LT(test::max_abs_diff(got, load_npy_double(kData + "gho_bias.npy")), 1e-5);
  // With the graph token: the same block shifted by one, zero row and column 0.
  const Encoding t = graphormer_edge_bias(g, ids, table, hops);
  EXPECT_EQ(t.biases[0].dense.shape()[2], 14u);
  EXPECT_EQ(t.biases[0].dense(0, 1, 0, 3), 0.0f);
  EXPECT_EQ(t.biases[0].dense(0, 1, 3, 5), got(1, 2, 4));
  // BFS-tree paths: every pair's hops form a walk of SPD edges from i to j.
  const ITensor bfs = shortest_path_edges(g, 12, PathChoice::bfs_tree);
  const ITensor spd = shortest_path_hops(g);
  for (std::size_t i = 0; i < 13; ++i)
    for (std::size_t j = 0; j < 13; ++j) {
      std::int64_t at = std::int64_t(i), len = 0;
      for (std::size_t h = 0; h < 12 && bfs(i, j, h) >= 0; ++h, ++len) {
        const GraphEdge& ed = g.edges()[std::size_t(bfs(i, j, h))];
        ASSERT_TRUE(ed.source == at || ed.target == at) << i << " " << j;
        at = ed.source == at ? ed.target : ed.source;
      }
      if (i != j && spd(i, j) > 0) {
        EXPECT_EQ(at, std::int64_t(j));
        EXPECT_EQ(len, spd(i, j));
      }
    }
  expect_invalid([&] { graphormer_edge_bias(g, ids, table, xt::view(hops, xt::range(0, 3))); },
                 {"graphormer_edge_bias", "'hop_weights'"});
  ITensor bad = ids;
  bad(0, 0) = 99;
  expect_invalid([&] { graphormer_edge_bias(g, bad, table, hops); }, {"'edge_feature_ids'", "99"});
  expect_invalid([&] { shortest_path_edges(g, 0); }, {"shortest_path_edges", "'max_hops'", "0"});
}

TEST(PackedGraphs, OffsetsSegmentsAndPerGraphEncodings) {
  const PackedGraphs p = pack_graphs({path_graph(3), cycle_graph(4), Graph(1, {})});
  EXPECT_EQ(p.tokens(), 8);
  EXPECT_EQ(p.offsets[2], 7);
  const ITensor seg = p.segments();
  EXPECT_EQ(seg(0, 2), 0);
  EXPECT_EQ(seg(0, 3), 1);
  EXPECT_EQ(seg(0, 7), 2);
  const ITensor d = shortest_path_hops_packed(p, {.unreachable = 510});
  EXPECT_EQ(d(0, 2), 2);
  EXPECT_EQ(d(3, 5), 2);  // cycle nodes 0 and 2
  EXPECT_EQ(d(2, 3), 510);
  const Tensor lap = laplacian_pe_packed(p, {.k = 2});
  const LaplacianPe alone = laplacian_pe(cycle_graph(4), {.k = 2, .pad = true});
  for (std::size_t c = 0; c < 2; ++c) EXPECT_EQ(lap(4, c), alone.vectors(1, c));
  // The single node: under the symmetric Laplacian its eigenvalue is 1 (not trivial), then padding.
  EXPECT_EQ(lap(7, 0), 1.0f);
  EXPECT_EQ(lap(7, 1), 0.0f);
}

}  // namespace
}  // namespace posenc
