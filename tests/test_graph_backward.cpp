// Backward of the Graphormer builders: the adjoint identity <J dP, G> = <dP, backward(G)> in
// double (J dP = forward(P + dP) - forward(P), exact for these linear maps up to float
// rounding), hand cases on the path 0 - 1 - 2, and bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "posenc/gradients.hpp"
#include "posenc/graph.hpp"
#include "support/helpers.hpp"

namespace posenc {
namespace {

using test::expect_invalid;
using test::make;
using test::random_tensor;

constexpr float kInf = std::numeric_limits<float>::infinity();

Graph path3(bool directed = false) { return Graph(3, {{0, 1}, {1, 2}}, directed); }

/// Six nodes: a 5-cycle with a chord and an isolated node (unreachable pairs), optionally directed.
Graph test_graph(bool directed = false) {
  return Graph(6, {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 0}, {1, 3}, {2, 2}}, directed);
}

/// An EncodingGrad holding one bias gradient with the given table or dense member.
EncodingGrad table_grad(Tensor t) {
  EncodingGrad g;
  g.biases.emplace_back();
  g.biases[0].table = std::move(t);
  return g;
}
EncodingGrad dense_grad(Tensor t) {
  EncodingGrad g;
  g.biases.emplace_back();
  g.biases[0].dense = std::move(t);
  return g;
}

/// Edge feature ids [E, 1].
ITensor column_ids(std::vector<std::int64_t> v) {
  ITensor t = ITensor::from_shape({v.size(), 1});
  std::copy(v.begin(), v.end(), t.begin());
  return t;
}

/// Dense [th, P + N, P + N] view of a table bias: full[h, index(i, j)] (what the core evaluates).
Tensor dense_of(const Bias& b) {
  const ITensor idx = relation_indices(b.relation);  // [1, M, M]
  const std::size_t th = b.table.shape()[0], m = idx.shape()[1];
  Tensor out = Tensor::from_shape({th, m, m});
  for (std::size_t h = 0; h < th; ++h)
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < m; ++j) out(h, i, j) = b.table(h, static_cast<std::size_t>(idx(0, i, j)));
  return out;
}

/// The core's table gradient for a dense pair gradient G [th, M, M]: scatter by the index.
Tensor scatter_by_index(const Bias& b, const Tensor& g) {
  const ITensor idx = relation_indices(b.relation);
  const std::size_t th = g.shape()[0], m = g.shape()[1];
  Tensor out = xt::zeros<float>(Shape{th, static_cast<std::size_t>(b.relation.size)});
  for (std::size_t h = 0; h < th; ++h)
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < m; ++j) out(h, static_cast<std::size_t>(idx(0, i, j))) += g(h, i, j);
  return out;
}

/// <forward(P + dP) - forward(P), G> in double over the finite entries, and the size of its terms.
struct Lhs {
  double value = 0, scale = 0;
};
Lhs directional(const Tensor& f0, const Tensor& f1, const Tensor& g) {
  EXPECT_EQ(f0.size(), g.size());
  Lhs r;
  for (std::size_t t = 0; t < g.size(); ++t) {
    if (!std::isfinite(f0.data()[t]) || !std::isfinite(f1.data()[t])) continue;  // masked pairs
    const double jd = static_cast<double>(f1.data()[t]) - static_cast<double>(f0.data()[t]);
    r.value += jd * g.data()[t];
    r.scale += (std::abs(static_cast<double>(f0.data()[t])) + std::abs(static_cast<double>(f1.data()[t]))) *
               std::abs(static_cast<double>(g.data()[t]));
  }
  return r;
}

double dot(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.size(), b.size());
  double s = 0;
  for (std::size_t t = 0; t < a.size(); ++t) s += static_cast<double>(a.data()[t]) * b.data()[t];
  return s;
}

void expect_adjoint(const Lhs& lhs, double rhs, const std::string& what) {
  EXPECT_NEAR(lhs.value, rhs, 1e-6 * lhs.scale + 1e-9) << what;
  EXPECT_GT(std::abs(rhs), 1e-3) << what << ": degenerate test (nothing flows)";
}

// ====================================================================== spatial

TEST(GraphBackwardSpatial, AdjointIdentityWithBroadcastAndMaskedEntries) {
  const Graph g = test_graph();
  const GraphormerSpatialOptions o{.num_spatial = 6, .spatial_pos_max = 3};
  struct Case {
    std::size_t table_heads, token_heads;
  };
  for (const Case c : {Case{2, 2}, Case{2, 1}, Case{1, 1}}) {
    const std::string what = "table heads " + std::to_string(c.table_heads) + ", token heads " +
                             std::to_string(c.token_heads);
    Tensor table = random_tensor({c.table_heads, 6}, 1);
    table(0, 2) = -kInf;  // a masked table entry: no gradient
    const Tensor token = random_tensor({c.token_heads}, 2);
    const Tensor dtable = random_tensor({c.table_heads, 6}, 3), dtoken = random_tensor({c.token_heads}, 4);
    const Encoding e0 = graphormer_spatial(g, table, token, o);
    const Encoding e1 = graphormer_spatial(g, Tensor(table + dtable), Tensor(token + dtoken), o);
    const Tensor f0 = dense_of(e0.biases[0]), f1 = dense_of(e1.biases[0]);
    const Tensor G = random_tensor(Shape(f0.shape().begin(), f0.shape().end()), 5);  // also on masked pairs
    const EncodingGrad grad = table_grad(scatter_by_index(e0.biases[0], G));
    const GraphormerSpatialGrad back = graphormer_spatial_backward(g, table, token, o, grad);
    ASSERT_EQ(shape_string(back.table), shape_string(table)) << what;
    ASSERT_EQ(shape_string(back.graph_token), shape_string(token)) << what;
    EXPECT_EQ(back.table(0, 2), 0.0f) << what;
    Tensor dt = dtable;
    dt(0, 2) = 0;  // -inf + d stays -inf: the forward moves nowhere there
    expect_adjoint(directional(f0, f1, G), dot(dt, back.table) + dot(dtoken, back.graph_token), what);
  }
}

TEST(GraphBackwardSpatial, WithoutGraphTokenNoTokenGradient) {
  const Graph g = test_graph(true);
  const GraphormerSpatialOptions o{.num_spatial = 5, .spatial_pos_max = -1, .graph_token = false};
  const Tensor table = random_tensor({3, 5}, 7), dtable = random_tensor({3, 5}, 8);
  const Encoding e0 = graphormer_spatial(g, table, {}, o), e1 = graphormer_spatial(g, Tensor(table + dtable), {}, o);
  const Tensor f0 = dense_of(e0.biases[0]), f1 = dense_of(e1.biases[0]);
  const Tensor G = random_tensor(Shape(f0.shape().begin(), f0.shape().end()), 9);
  const EncodingGrad grad = table_grad(scatter_by_index(e0.biases[0], G));
  const GraphormerSpatialGrad back = graphormer_spatial_backward(g, table, {}, o, grad);
  EXPECT_FALSE(is_set(back.graph_token));
  expect_adjoint(directional(f0, f1, G), dot(dtable, back.table), "no graph token");
}

TEST(GraphBackwardSpatial, HandCaseOnPath) {
  // Path 0 - 1 - 2 with a graph token (sequence index 0): SPD 0 -> column 1, 1 -> 2, 2 -> 3.
  const Graph g = path3();
  const Tensor table = make({1, 4}, {0, 0.1f, 0.2f, 0.3f}), token = make({1}, {0.5f});
  Tensor G = Tensor::from_shape({1, 4, 4});
  for (std::size_t t = 0; t < 16; ++t) G.data()[t] = static_cast<float>(t + 1);  // G[i, j] = 4 i + j + 1
  for (const std::int64_t max : {20, 2}) {
    const GraphormerSpatialOptions o{.num_spatial = 4, .spatial_pos_max = max};
    const Encoding e = graphormer_spatial(g, table, token, o);
    const EncodingGrad grad = table_grad(scatter_by_index(e.biases[0], G));
    const GraphormerSpatialGrad back = graphormer_spatial_backward(g, table, token, o, grad);
    // Nodes are sequence rows 1..3: diagonal G11 + G22 + G33 = 6 + 11 + 16; distance 1: G12 + G21 +
    // G23 + G32 = 7 + 10 + 12 + 15; distance 2: G13 + G31 = 8 + 14 (masked when spatial_pos_max = 2).
    EXPECT_EQ(back.table(0, 0), 0.0f);
    EXPECT_EQ(back.table(0, 1), 33.0f);
    EXPECT_EQ(back.table(0, 2), 44.0f);
    EXPECT_EQ(back.table(0, 3), max == 20 ? 22.0f : 0.0f) << "spatial_pos_max " << max;
    // The graph token's row and column: 1 + 2 + 3 + 4 + 5 + 9 + 13.
    EXPECT_EQ(back.graph_token(0), 37.0f);
  }
  // The table gradient as the core hands it: columns past num_spatial are the token and the mask.
  const EncodingGrad grad = table_grad(make({2, 6}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}));
  const GraphormerSpatialGrad shared =
      graphormer_spatial_backward(g, make({2, 4}, {0, 1, 2, 3, 0, 4, 5, 6}), token, {.num_spatial = 4}, grad);
  EXPECT_EQ(test::max_abs_diff(shared.table, make({2, 4}, {1, 2, 3, 4, 7, 8, 9, 10})), 0.0);
  EXPECT_EQ(test::max_abs_diff(shared.graph_token, make({1}, {16})), 0.0);  // one token shared by both heads
}

TEST(GraphBackwardSpatial, BadInput) {
  const Graph g = path3();
  const Tensor table = random_tensor({2, 4}, 1), token = random_tensor({2}, 2);
  const GraphormerSpatialOptions o{.num_spatial = 4};
  const char* fn = "graphormer_spatial_backward";
  expect_invalid([&] { graphormer_spatial_backward(g, table, token, o, EncodingGrad{}); },
                 {fn, "'grad'", "one bias gradient", "got 0"});
  EncodingGrad empty;
  empty.biases.emplace_back();
  expect_invalid([&] { graphormer_spatial_backward(g, table, token, o, empty); },
                 {fn, "biases[0].table", "empty", "[2, 6]"});
  const EncodingGrad wrong = table_grad(random_tensor({2, 4}, 3));
  expect_invalid([&] { graphormer_spatial_backward(g, table, token, o, wrong); },
                 {fn, "biases[0].table", "[2, 6]", "[2, 4]"});
  EncodingGrad two;
  two.biases.resize(2);
  expect_invalid([&] { graphormer_spatial_backward(g, table, token, o, two); }, {fn, "got 2"});
  const EncodingGrad ok = table_grad(random_tensor({2, 6}, 4));
  expect_invalid([&] { graphormer_spatial_backward(g, random_tensor({2, 5}, 1), token, o, ok); },
                 {fn, "'table'", "num_spatial = 4", "[2, 5]"});
  expect_invalid([&] { graphormer_spatial_backward(g, table, random_tensor({3}, 1), o, ok); },
                 {fn, "'graph_token'", "[3]"});
  expect_invalid([&] { graphormer_spatial_backward(g, table, token, {.num_spatial = 2}, ok); },
                 {fn, "'num_spatial'", "2"});
}

// ====================================================================== centrality

TEST(GraphBackwardCentrality, AdjointIdentityDirectedClippedAndRowSumCompat) {
  for (const bool directed : {false, true})
    for (const bool compat : {false, true})
      for (const std::int64_t max_degree : {1, 6}) {
        const std::string what = std::string(directed ? "directed" : "undirected") + (compat ? ", row-sum" : "") +
                                 ", max_degree " + std::to_string(max_degree);
        const Graph g = test_graph(directed);
        const GraphormerCentralityOptions o{.max_degree = max_degree, .row_sum_compat = compat, .prefix_tokens = 2};
        const std::size_t rows = static_cast<std::size_t>(max_degree) + 2;
        const Tensor in = random_tensor({rows, 3}, 11), out = random_tensor({rows, 3}, 12);
        const Tensor din = random_tensor({rows, 3}, 13), dout = random_tensor({rows, 3}, 14);
        const Tensor f0 = graphormer_centrality(g, in, out, o).input_add;
        const Tensor f1 = graphormer_centrality(g, Tensor(in + din), Tensor(out + dout), o).input_add;
        EncodingGrad grad;
        grad.input_add = random_tensor(Shape(f0.shape().begin(), f0.shape().end()), 15);
        const GraphormerCentralityGrad back = graphormer_centrality_backward(g, in, out, o, grad);
        ASSERT_EQ(shape_string(back.in_table), shape_string(in)) << what;
        ASSERT_EQ(shape_string(back.out_table), shape_string(out)) << what;
        for (std::size_t c = 0; c < 3; ++c) EXPECT_EQ(back.in_table(0, c), 0.0f) << what << ": padding row";
        expect_adjoint(directional(f0, f1, grad.input_add), dot(din, back.in_table) + dot(dout, back.out_table), what);
      }
}

TEST(GraphBackwardCentrality, HandCaseOnPathThroughApplyInput) {
  // Sequence row 0 is the graph token; nodes 0, 1, 2 are rows 1, 2, 3.
  const Tensor G = make({1, 4, 2}, {100, 100, 1, 2, 3, 4, 5, 6});
  EncodingGrad grad;
  grad.input_add = G;
  const Tensor t = xt::zeros<float>(Shape{4, 2});
  // Undirected: degrees 1, 2, 1 -> rows 2, 3, 2 for both tables.
  auto back = graphormer_centrality_backward(path3(), t, t, {.max_degree = 2}, grad);
  const Tensor undirected = make({4, 2}, {0, 0, 0, 0, 6, 8, 3, 4});
  EXPECT_EQ(test::max_abs_diff(back.in_table, undirected), 0.0);
  EXPECT_EQ(test::max_abs_diff(back.out_table, undirected), 0.0);
  // Directed 0 -> 1 -> 2: in-degrees 0, 1, 1 (rows 1, 2, 2), out-degrees 1, 1, 0 (rows 2, 2, 1).
  back = graphormer_centrality_backward(path3(true), t, t, {.max_degree = 2}, grad);
  const Tensor in_rows = make({4, 2}, {0, 0, 1, 2, 8, 10, 0, 0});
  const Tensor out_rows = make({4, 2}, {0, 0, 5, 6, 4, 6, 0, 0});
  EXPECT_EQ(test::max_abs_diff(back.in_table, in_rows), 0.0);
  EXPECT_EQ(test::max_abs_diff(back.out_table, out_rows), 0.0);
  // row_sum_compat: the out-degree picks the rows of both tables.
  back = graphormer_centrality_backward(path3(true), t, t, {.max_degree = 2, .row_sum_compat = true}, grad);
  EXPECT_EQ(test::max_abs_diff(back.in_table, out_rows), 0.0);
  // Clipping at max_degree = 0: every node uses row 1.
  const Tensor t2 = xt::zeros<float>(Shape{2, 2});
  back = graphormer_centrality_backward(path3(), t2, t2, {.max_degree = 0}, grad);
  EXPECT_EQ(test::max_abs_diff(back.in_table, make({2, 2}, {0, 0, 9, 12})), 0.0);
  // The whole input path: a batch of two sequences reduced by apply_input_backward first.
  const Encoding e = graphormer_centrality(path3(), t, t, {.max_degree = 2});
  const Tensor x = xt::zeros<float>(Shape{2, 4, 2});
  Tensor dy = Tensor::from_shape({2, 4, 2});
  for (std::size_t b = 0; b < 2; ++b)
    for (std::size_t i = 0; i < 8; ++i) dy.data()[b * 8 + i] = G.data()[i] * (b == 0 ? 0.25f : 0.75f);
  EncodingGrad through;
  apply_input_backward(e, x, dy, through);
  back = graphormer_centrality_backward(path3(), t, t, {.max_degree = 2}, through);
  EXPECT_EQ(test::max_abs_diff(back.in_table, undirected), 0.0);
}

TEST(GraphBackwardCentrality, BadInput) {
  const Graph g = path3();
  const Tensor t = random_tensor({4, 2}, 1);
  const GraphormerCentralityOptions o{.max_degree = 2};
  const char* fn = "graphormer_centrality_backward";
  expect_invalid([&] { graphormer_centrality_backward(g, t, t, o, EncodingGrad{}); },
                 {fn, "input_add", "empty", "[1, 4, 2]"});
  EncodingGrad wrong;
  wrong.input_add = random_tensor({2, 4, 2}, 2);
  expect_invalid([&] { graphormer_centrality_backward(g, t, t, o, wrong); }, {fn, "input_add", "[1, 4, 2]", "[2, 4, 2]"});
  EncodingGrad ok;
  ok.input_add = random_tensor({1, 4, 2}, 3);
  expect_invalid([&] { graphormer_centrality_backward(g, t, random_tensor({3, 2}, 1), o, ok); },
                 {fn, "'out_table'", "[3, 2]"});
  const Tensor t1 = random_tensor({3, 2}, 1);
  expect_invalid([&] { graphormer_centrality_backward(g, t1, t1, {.max_degree = 1, .clip = false}, ok); },
                 {fn, "node 1", "degree 2", "max_degree 1"});
  expect_invalid([&] { graphormer_centrality_backward(g, t, t, {.max_degree = -1}, ok); }, {fn, "'max_degree'", "-1"});
}

// ====================================================================== edge encoding

TEST(GraphBackwardEdge, AdjointIdentityInTableAndHopWeights) {
  const std::size_t H = 3, C = 2, R = 7, E = 7;
  for (const bool directed : {false, true})
    for (const PathChoice path : {PathChoice::floyd_warshall, PathChoice::bfs_tree}) {
      const std::string what = std::string(directed ? "directed" : "undirected") +
                               (path == PathChoice::bfs_tree ? ", bfs" : ", floyd-warshall");
      const Graph g = test_graph(directed);
      ITensor ids = ITensor::from_shape({E, C});
      for (std::size_t t = 0; t < ids.size(); ++t) ids.data()[t] = static_cast<std::int64_t>((3 * t + 1) % R);
      const GraphormerEdgeOptions o{.max_hops = 2, .path = path};  // paths of 3 hops are cut to 2
      const Tensor table = random_tensor({R, H}, 21), w = random_tensor({3, H, H}, 22);  // one spare hop row
      const Tensor dtable = random_tensor({R, H}, 23), dw = random_tensor({3, H, H}, 24);
      const Tensor f0 = graphormer_edge_bias(g, ids, table, w, o).biases[0].dense;
      const EncodingGrad grad = dense_grad(random_tensor(Shape(f0.shape().begin(), f0.shape().end()), 25));
      const GraphormerEdgeGrad back = graphormer_edge_bias_backward(g, ids, table, w, o, grad);
      ASSERT_EQ(shape_string(back.edge_table), shape_string(table)) << what;
      ASSERT_EQ(shape_string(back.hop_weights), shape_string(w)) << what;
      // Bilinear: one factor at a time is linear.
      const Tensor ft = graphormer_edge_bias(g, ids, Tensor(table + dtable), w, o).biases[0].dense;
      expect_adjoint(directional(f0, ft, grad.biases[0].dense), dot(dtable, back.edge_table), what + ", table");
      const Tensor fw = graphormer_edge_bias(g, ids, table, Tensor(w + dw), o).biases[0].dense;
      expect_adjoint(directional(f0, fw, grad.biases[0].dense), dot(dw, back.hop_weights), what + ", hop weights");
      for (std::size_t t = 2 * H * H; t < w.size(); ++t) EXPECT_EQ(back.hop_weights.data()[t], 0.0f) << what;
    }
}

TEST(GraphBackwardEdge, HandCaseOnPath) {
  // Edges e0 = (0, 1) with feature row 1 (T1 = 2) and e1 = (1, 2) with row 2 (T2 = 3); one head,
  // hop weights w0 = 5, w1 = 7. Pair biases: c(0,1) = c(1,0) = T1 w0, c(1,2) = c(2,1) = T2 w0,
  // c(0,2) = (T1 w0 + T2 w1) / 2, c(2,0) = (T2 w0 + T1 w1) / 2.
  const Graph g = path3();
  const ITensor ids = column_ids({1, 2});
  const Tensor table = make({3, 1}, {0, 2, 3}), w = make({2, 1, 1}, {5, 7});
  const GraphormerEdgeOptions o{.max_hops = 2, .graph_token = false};
  const Tensor f = graphormer_edge_bias(g, ids, table, w, o).biases[0].dense;
  EXPECT_EQ(f(0, 0, 0, 2), 15.5f);
  EXPECT_EQ(f(0, 0, 2, 0), 14.5f);
  const EncodingGrad grad = dense_grad(make({1, 1, 3, 3}, {100, 1, 2, 3, 100, 4, 5, 6, 100}));
  const GraphormerEdgeGrad back = graphormer_edge_bias_backward(g, ids, table, w, o, grad);
  // dT1 = w0 (G01 + G10 + G02/2) + w1 G20/2 = 25 + 17.5; dT2 = w0 (G12 + G21 + G20/2) + w1 G02/2 = 62.5 + 7.
  EXPECT_EQ(test::max_abs_diff(back.edge_table, make({3, 1}, {0, 42.5f, 69.5f})), 0.0);
  // dw0 = T1 (G01 + G10 + G02/2) + T2 (G12 + G21 + G20/2) = 10 + 37.5; dw1 = T2 G02/2 + T1 G20/2 = 3 + 5.
  EXPECT_EQ(test::max_abs_diff(back.hop_weights, make({2, 1, 1}, {47.5f, 8})), 0.0);
  // With the graph token its row and column carry no parameter.
  const EncodingGrad padded = dense_grad(make({1, 1, 4, 4}, {9, 9, 9, 9, 9, 100, 1, 2, 9, 3, 100, 4, 9, 5, 6, 100}));
  const GraphormerEdgeGrad back2 = graphormer_edge_bias_backward(g, ids, table, w, {.max_hops = 2}, padded);
  EXPECT_EQ(test::max_abs_diff(back2.edge_table, back.edge_table), 0.0);
  EXPECT_EQ(test::max_abs_diff(back2.hop_weights, back.hop_weights), 0.0);
}

TEST(GraphBackwardEdge, BadInput) {
  const Graph g = path3();
  const ITensor ids = column_ids({1, 2});
  const Tensor table = random_tensor({3, 2}, 1), w = random_tensor({2, 2, 2}, 2);
  const GraphormerEdgeOptions o{.max_hops = 2};
  const char* fn = "graphormer_edge_bias_backward";
  expect_invalid([&] { graphormer_edge_bias_backward(g, ids, table, w, o, EncodingGrad{}); },
                 {fn, "'grad'", "one bias gradient"});
  EncodingGrad empty;
  empty.biases.emplace_back();
  expect_invalid([&] { graphormer_edge_bias_backward(g, ids, table, w, o, empty); },
                 {fn, "biases[0].dense", "empty", "[1, 2, 4, 4]"});
  const EncodingGrad wrong = dense_grad(random_tensor({1, 2, 3, 3}, 3));
  expect_invalid([&] { graphormer_edge_bias_backward(g, ids, table, w, o, wrong); },
                 {fn, "biases[0].dense", "[1, 2, 4, 4]", "[1, 2, 3, 3]"});
  const EncodingGrad ok = dense_grad(random_tensor({1, 2, 4, 4}, 4));
  expect_invalid([&] { graphormer_edge_bias_backward(g, ids, table, random_tensor({1, 2, 2}, 5), o, ok); },
                 {fn, "'hop_weights'", "[1, 2, 2]"});
  expect_invalid([&] { graphormer_edge_bias_backward(g, column_ids({1, 3}), table, w, o, ok); },
                 {fn, "'edge_feature_ids'", "holds 3"});
  expect_invalid([&] { graphormer_edge_bias_backward(g, column_ids({1}), table, w, o, ok); },
                 {fn, "'edge_feature_ids'", "[1, 1]"});
}

}  // namespace
}  // namespace posenc
