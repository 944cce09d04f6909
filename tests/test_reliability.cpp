// Regressions of the reliability report: each feeds the bad input and expects the clear error or
// the right answer (CSV splitting, .npy headers, truncated-normal init, thread counts, graph file
// nesting and weights, absurd node counts, CSV headers, BOMs and non-finite cells, finite tables).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <unistd.h>

#include "detail/check.hpp"
#include "detail/csv.hpp"
#include "detail/init.hpp"
#include "detail/parallel.hpp"
#include "posenc/graph.hpp"
#include "posenc/image.hpp"
#include "posenc/layer.hpp"
#include "posenc/relative.hpp"
#include "posenc/npy.hpp"
#include "posenc/tabular.hpp"
#include "support/helpers.hpp"

namespace posenc {
namespace {

namespace fs = std::filesystem;
using test::expect_invalid;

/// A fresh directory per test; files written into it by name.
class Reliability : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("posenc_reliability_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string write(const std::string& name, const std::string& bytes) {
    const std::string p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }
  /// A .npy file (version 1) with the given header dictionary and data bytes.
  std::string npy(const std::string& name, std::string header, const std::string& data = "") {
    header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
    header += '\n';
    std::string bytes("\x93NUMPY\x01\x00", 8);
    bytes += static_cast<char>(header.size() & 0xff);
    bytes += static_cast<char>(header.size() >> 8);
    return write(name, bytes + header + data);
  }
  fs::path dir_;
};

// ------------------------------------------------------------------ 1. quoted CSV fields

TEST_F(Reliability, CsvSplitterKeepsEveryQuotedField) {
  // Many quoted fields, short and long: the views must all survive the scratch growing.
  std::string line;
  for (int i = 0; i < 40; ++i) {
    if (i) line += ',';
    line += "\"f";
    line += std::to_string(i);
    if (i % 3 == 0) line.append(40, 'x');
    line += '"';
  }
  std::vector<std::string_view> fields;
  std::vector<std::string> scratch;
  ASSERT_TRUE(detail::split_fields(line, ',', fields, scratch));
  ASSERT_EQ(fields.size(), 40u);
  for (int i = 0; i < 40; ++i) {
    std::string expected = "f";  // appended: GCC 12 warns falsely (-Wrestrict) on "f" + std::string
    expected += std::to_string(i);
    if (i % 3 == 0) expected.append(40, 'x');
    EXPECT_EQ(fields[static_cast<std::size_t>(i)], expected);
  }
}

TEST_F(Reliability, QuotedTableHeaderAndEdgeList) {
  const Table t = read_table_csv(write("t.csv", "\"x\",\"y\",\"z\"\n1,2,3\n2,1,5\n3,3,1\n"));
  ASSERT_EQ(t.columns.size(), 3u);
  EXPECT_EQ(t.columns[0].name, "x");
  EXPECT_EQ(t.columns[1].name, "y");
  EXPECT_EQ(t.columns[2].name, "z");
  EXPECT_EQ(t.rows, 3u);
  EXPECT_EQ(t.values(2, 1), 5.0);
  // Every line quoted: the first edge is an edge, not a header.
  const Graph g = read_edge_list_csv(write("e.csv", "\"10\",\"20\"\n\"20\",\"30\"\n"));
  ASSERT_EQ(g.edges().size(), 2u);
  EXPECT_EQ(g.edges()[0].source, 10);
  EXPECT_EQ(g.edges()[0].target, 20);
  EXPECT_EQ(g.nodes(), 31);
  const Graph n = read_edge_list_csv(write("n.csv", "\"alice\",\"bob\"\n\"bob\",\"carol, jr\"\n"));
  EXPECT_EQ(n.names(), (std::vector<std::string>{"alice", "bob", "carol, jr"}));
}

// ------------------------------------------------------------------ 2. .npy headers

TEST_F(Reliability, NpyHeaderLengthBoundedByTheFile) {
  // 20 bytes whose version-2 header length field says 4 GiB.
  std::string bytes("\x93NUMPY\x02\x00\xff\xff\xff\xff", 12);
  bytes += "{'descr'";
  const std::string p = write("len.npy", bytes);
  ASSERT_EQ(fs::file_size(p), 20u);
  expect_invalid([&] { load_npy(p); }, {"load_npy", "len.npy", "header length", "4294967295"});
}

TEST_F(Reliability, NpyShapeOverflowNegativeAndTruncated) {
  const std::string big = npy("big.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4, 2, 2), }");
  expect_invalid([&] { load_npy(big); }, {"load_npy", "big.npy", "'shape'", "overflows"});
  // No element, but the other dimensions' product (which a stride would hold) overflows int64:
  // once a signed-overflow report inside the strided array's constructor (found by the fuzzer).
  const std::string hollow =
      npy("hollow.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 99999999999992, 9999999999999992), }");
  expect_invalid([&] { load_npy(hollow); }, {"load_npy", "hollow.npy", "'shape'", "overflows"});
  expect_invalid([&] { load_npy_int(hollow); }, {"load_npy_int", "hollow.npy", "'shape'", "overflows"});
  // At the limit (2^62 x 1, no element) it still loads.
  const std::string edge =
      npy("edge.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4611686018427387904), }");
  EXPECT_EQ(load_npy(edge).size(), 0u);
  const std::string neg = npy("neg.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 2), }", std::string(8, '\0'));
  expect_invalid([&] { load_npy(neg); }, {"load_npy", "neg.npy", "'-1'", "'shape'"});
  // A billion float64 announced, 16 bytes present: an error before any allocation.
  const std::string cut = npy("cut.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000,), }", std::string(16, '\0'));
  expect_invalid([&] { load_npy_double(cut); }, {"load_npy_double", "cut.npy", "1000000000 items of 8 bytes", "16 bytes"});
  const std::string bad = npy("bad.npy", "{'descr': '<fx', 'fortran_order': False, 'shape': (1,), }", std::string(4, '\0'));
  expect_invalid([&] { load_npy(bad); }, {"load_npy", "bad.npy", "'<fx'"});
  // An empty array still loads.
  const std::string empty = npy("empty.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }");
  EXPECT_EQ(load_npy(empty).shape()[1], 3u);
}

TEST_F(Reliability, NpyIntRejectsNonIntegralFloats) {
  auto f8 = [&](const std::string& name, double v) {
    std::string d(8, '\0');
    std::memcpy(d.data(), &v, 8);
    return npy(name, "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", d);
  };
  expect_invalid([&] { load_npy_int(f8("huge.npy", 1e300)); }, {"load_npy_int", "huge.npy", "int64 range"});
  expect_invalid([&] { load_npy_int(f8("inf.npy", INFINITY)); }, {"load_npy_int", "inf.npy", "inf"});
  EXPECT_EQ(load_npy_int(f8("ok.npy", -42.0))(0), -42);
  // int64 values above 2^53 keep every bit (no detour through double).
  ITensor i = ITensor::from_shape({1});
  i(0) = (std::int64_t{1} << 60) + 1;
  save_npy((dir_ / "i.npy").string(), i);
  EXPECT_EQ(load_npy_int((dir_ / "i.npy").string())(0), i(0));
}

// ------------------------------------------------------------------ 3. truncated normal

TEST_F(Reliability, TruncNormalNeedsAPositiveStd) {
  expect_invalid([] { relative_bias_table_init(2, 3, 3, false, -1.0, 0); }, {"'std'", "-1"});
  Tensor t = Tensor::from_shape({4});
  expect_invalid([&] { detail::fill_trunc_normal(t, NAN, 0, "my_init"); }, {"my_init", "'std'", "nan"});
  expect_invalid([&] { detail::fill_trunc_normal(t, 0.0, 0); }, {"'std'", "positive"});
  expect_invalid([&] { detail::fill_trunc_normal(t, 1e300, 0); }, {"'std'", "1e+300"});
  detail::fill_trunc_normal(t, 0.02, 1);
  for (float v : t) EXPECT_LE(std::abs(v), 0.04f);
}

// ------------------------------------------------------------------ 4. thread counts

TEST_F(Reliability, ThreadCountsAreCapped) {
  EXPECT_EQ(detail::thread_count(100000), detail::max_thread_count());
  EXPECT_LE(detail::thread_count(0), detail::max_thread_count());
  EXPECT_EQ(detail::thread_count(1), 1);
  const Graph g(5, {{0, 1}, {1, 2}, {2, 3}, {3, 4}});
  EXPECT_EQ(shortest_path_hops(g, {.threads = 100000})(0, 4), 4);
  EXPECT_EQ(shortest_path_lengths(g, INFINITY, 100000)(0, 4), 4.0);
}

// ------------------------------------------------------------------ 5. nesting depth

TEST_F(Reliability, DeeplyNestedGraphFilesAreRejected) {
  const std::string dot = "graph G { " + std::string(10000, '{') + " a -- b " + std::string(10000, '}') + " }";
  expect_invalid([&] { read_dot(write("deep.dot", dot)); }, {"read_dot", "deep.dot:1", "deeper than 256"});
  std::string xml = "<?xml version=\"1.0\"?><graphml><graph edgedefault=\"undirected\">";
  for (int i = 0; i < 50000; ++i) xml += "<x>";
  for (int i = 0; i < 50000; ++i) xml += "</x>";
  xml += "</graph></graphml>";
  expect_invalid([&] { read_graphml(write("deep.graphml", xml)); }, {"read_graphml", "deep.graphml", "deeper than 256"});
  // Modest nesting (subgraphs, braces inside strings and comments) still reads.
  const Graph g = read_dot(write("ok.dot", "graph G { /* {{{{ */ subgraph s { subgraph t { a -- b [label=\"{{{\"]; } } b -- c; }"));
  EXPECT_EQ(g.nodes(), 3);
}

// ------------------------------------------------------------------ 6. weights in DOT and GraphML

TEST_F(Reliability, MissingWeightsAreOneNeverZero) {
  const Graph d = read_dot(write("w.dot", "graph G { a -- b [weight=3]; b -- c; }"));
  ASSERT_EQ(d.edges().size(), 2u);
  EXPECT_EQ(d.edges()[0].weight, 3.0);
  EXPECT_EQ(d.edges()[1].weight, 1.0);
  EXPECT_EQ(shortest_path_lengths(d)(0, 2), 4.0);
  // "weight" in a node name is no weight attribute.
  const Graph l = read_dot(write("l.dot", "graph G { weightlifter -- b; b -- c; }"));
  EXPECT_FALSE(l.weighted());
  for (const auto& e : l.edges()) EXPECT_EQ(e.weight, 1.0);
  // A node attribute called weight is not an edge weight either.
  EXPECT_FALSE(read_dot(write("n.dot", "graph G { a [weight=7]; a -- b; }")).weighted());
  expect_invalid([&] { read_dot(write("x.dot", "graph G { a -- b [weight=heavy]; }")); },
                 {"read_dot", "x.dot", "'a' -> 'b'", "'heavy'", "not a finite number"});
  const Graph m = read_graphml(write("m.graphml",
      "<?xml version=\"1.0\"?><graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">"
      "<key id=\"w\" for=\"edge\" attr.name=\"weight\" attr.type=\"double\"/>"
      "<graph edgedefault=\"undirected\"><node id=\"a\"/><node id=\"b\"/><node id=\"c\"/>"
      "<edge source=\"a\" target=\"b\"><data key=\"w\">2.5</data></edge>"
      "<edge source=\"b\" target=\"c\"/></graph></graphml>"));
  ASSERT_EQ(m.edges().size(), 2u);
  EXPECT_EQ(m.edges()[0].weight, 2.5);
  EXPECT_EQ(m.edges()[1].weight, 1.0);
}

TEST_F(Reliability, OverflowingAndNegativeWeights) {
  const Graph huge(3, {{0, 1, 1e308}, {1, 2, 1e308}});
  expect_invalid([&] { shortest_path_lengths(huge); }, {"shortest_path_lengths", "1e+308", "overflow"});
  expect_invalid([&] { betweenness_centrality(huge); }, {"betweenness_centrality", "overflow"});
  // Large but safe weights still give exact finite distances.
  const Graph big(3, {{0, 1, 1e200}, {1, 2, 1e200}});
  EXPECT_EQ(shortest_path_lengths(big)(0, 2), 2e200);
  const Graph neg(3, {{0, 1, -1.0}, {1, 2, 2.0}});
  expect_invalid([&] { random_walk_pe(neg, 4); }, {"random_walk_pe", "weights >= 0", "-1"});
  expect_invalid([&] { random_walk_pe(neg, 4, true); }, {"random_walk_pe", "-1"});
  expect_invalid([&] { pagerank(neg); }, {"pagerank", "weights >= 0", "-1"});
  // Return probabilities stay probabilities.
  const Tensor rw = random_walk_pe(Graph(3, {{0, 1, 2.0}, {1, 2, 0.5}}), 6);
  for (float v : rw) {
    EXPECT_GE(v, 0.0f);
    EXPECT_LE(v, 1.0f);
  }
}

// ------------------------------------------------------------------ 7. absurd sizes

TEST_F(Reliability, HugeNodeIdsFailBeforeAllocating) {
  const std::string p = write("huge.csv", "0,999999999999999999\n");
  // An index this far past the edges is refused unless the node count is confirmed ...
  expect_invalid([&] { read_edge_list_csv(p); },
                 {"read_edge_list_csv", "huge.csv:1", "999999999999999999", "node indices", "options.nodes"});
  // (the fuzzer's 22-byte file that asked for 215 million nodes)
  expect_invalid([&] { read_edge_list_csv(write("fz.csv", "0000221,215003221,215")); }, {"215003222", "options.nodes"});
  // ... and a confirmed one is checked against the memory before anything is allocated.
  expect_invalid([&] { read_edge_list_csv(p, {.nodes = 1000000000000000000}); },
                 {"read_edge_list_csv", "'nodes'", "1000000000000000000", "bytes", "memory"});
  EXPECT_EQ(read_edge_list_csv(write("iso.csv", "0,1\n1,1200\n")).nodes(), 1201);  // within 1024 + 64 x 2 x 2
  expect_invalid([] { Graph(std::int64_t{1} << 61, {}); }, {"Graph", "'nodes'", "2305843009213693952", "bytes"});
  expect_invalid([&] { read_edge_list_csv(write("o.csv", "0,1\n"), {.nodes = std::int64_t{1} << 61}); },
                 {"read_edge_list_csv", "'nodes'", "bytes"});
  expect_invalid([] { detail::require_allocation("f", "the table rows", 1e30L, 8); },
                 {"f: the table rows", "1e+30", "8e+30 bytes", "GiB"});
  detail::require_allocation("f", "small", 1000, 8);  // fits
}

// ------------------------------------------------------------------ 8. CSV headers, BOM, non-finite

TEST_F(Reliability, EdgeListFirstRowIsNeverDroppedSilently) {
  const Graph bom = read_edge_list_csv(write("bom.csv", "\xEF\xBB\xBF" "0,1\n1,2\n"));
  EXPECT_EQ(bom.edges().size(), 2u);
  EXPECT_EQ(bom.nodes(), 3);
  expect_invalid([&] { read_edge_list_csv(write("neg.csv", "-1,2\n1,2\n2,3\n")); },
                 {"read_edge_list_csv", "neg.csv:1", "first row", "'-1'"});
  expect_invalid([&] { read_edge_list_csv(write("emp.csv", ",1\n1,2\n")); }, {"emp.csv:1", "empty node id"});
  expect_invalid([&] { read_edge_list_csv(write("wt.csv", "0,1,x\n1,2,3\n")); }, {"wt.csv:1", "first row", "'x'"});
  // Headers of text are still headers; forced modes do what they say.
  EXPECT_EQ(read_edge_list_csv(write("h.csv", "source,target\n0,1\n")).edges().size(), 1u);
  EXPECT_EQ(read_edge_list_csv(write("hn.csv", "a,b,weight\nx,y,2\n")).edges().size(), 1u);
  EXPECT_EQ(read_edge_list_csv(write("no.csv", "a,b\nx,y\n"), {.header = "no"}).edges().size(), 2u);
  EXPECT_EQ(read_edge_list_csv(write("yes.csv", "0,1\n1,2\n"), {.header = "yes"}).edges().size(), 1u);
  expect_invalid([&] { read_edge_list_csv(write("m.csv", "0,1\n"), {.header = "maybe"}); }, {"'header'", "maybe"});
}

TEST_F(Reliability, TableBomHeaderModesAndNonFiniteCells) {
  const Table bom = read_table_csv(write("bom.csv", "\xEF\xBB\xBF" "a,b\n1,2\n3,4\n"));
  EXPECT_EQ(bom.columns[0].name, "a");
  EXPECT_EQ(bom.find("a"), 0);
  expect_invalid([&] { read_table_csv(write("inf.csv", "a,b\n1,2\n3,inf\n4,5\n")); },
                 {"read_table_csv", "inf.csv:3", "column 2", "'b'", "'inf'", "not a finite number"});
  expect_invalid([&] { read_table_csv(write("big.csv", "a,b\n1e400,2\n3,4\n")); }, {"big.csv:2", "column 1", "'1e400'"});
  // Underflow is a (tiny) number; inf among text is just another category.
  EXPECT_EQ(read_table_csv(write("tiny.csv", "a\n1e-400\n2\n")).columns[0].type, ColumnType::numeric);
  EXPECT_EQ(read_table_csv(write("cat.csv", "a\nred\ninf\n")).columns[0].type, ColumnType::categorical);
  expect_invalid([] { make_table({"a"}, {{"1", "-inf"}}); }, {"make_table", "column 'a'", "'-inf'"});
  // header = auto: data rows stay data, text over numbers is a header, a mix is an error.
  const Table d = read_table_csv(write("d.csv", "1,2\n3,4\n"), {.header = "auto"});
  EXPECT_EQ(d.rows, 2u);
  EXPECT_EQ(d.columns[1].name, "1");
  const Table h = read_table_csv(write("h.csv", "x,y\n3,4\n"), {.header = "auto"});
  EXPECT_EQ(h.rows, 1u);
  EXPECT_EQ(h.columns[0].name, "x");
  expect_invalid([&] { read_table_csv(write("mix.csv", "x,-1\n3,4\n"), {.header = "auto"}); },
                 {"mix.csv:1", "first row"});
  expect_invalid([&] { read_table_csv(write("mix2.csv", "x,5\n3,y\n4,z\n"), {.header = "auto"}); },
                 {"mix2.csv:1", "first row", "'5'"});
  EXPECT_EQ(read_table_csv(write("n.csv", "1,2\n3,4\n"), {.header = "no"}).rows, 2u);
}

// ------------------------------------------------------------------ 9. finite tables

TEST_F(Reliability, NonFiniteTablesRejectedWhenAsked) {
  Tensor t = test::make({2, 2}, {1, 2, NAN, 4});
  save_npy((dir_ / "nan.npy").string(), t);
  EXPECT_TRUE(std::isnan(load_npy((dir_ / "nan.npy").string())(1, 0)));  // default: loads as stored
  expect_invalid([&] { load_npy((dir_ / "nan.npy").string(), /*require_finite=*/true); },
                 {"load_npy", "nan.npy", "non-finite", "flat index 2"});
  expect_invalid([&] { load_npy_double((dir_ / "nan.npy").string(), true); }, {"load_npy_double", "nan.npy"});
  expect_invalid([&] { detail::require_finite_tensor("my_fn", "table", t); },
                 {"my_fn", "parameter 'table'", "nan", "flat index 2"});
  DTensor big = DTensor::from_shape({1});
  big(0) = 1e300;
  save_npy((dir_ / "big.npy").string(), big);
  EXPECT_TRUE(std::isinf(load_npy((dir_ / "big.npy").string())(0)));
  expect_invalid([&] { load_npy((dir_ / "big.npy").string(), true); }, {"load_npy", "big.npy", "float32 range"});
}

TEST_F(Reliability, LoadedWeightsMustBeFinite) {
  // The attention layer's and the continuous MLP's loaders refuse NaN weights, naming the file.
  const MultiHeadAttention::Config cfg{.model_dim = 4, .heads = 2};
  MultiHeadAttention(cfg, 1).save(dir_.string());
  Tensor w = load_npy((dir_ / "w_k.npy").string());
  w(1, 2) = NAN;
  save_npy((dir_ / "w_k.npy").string(), w);
  expect_invalid([&] { MultiHeadAttention::load(dir_.string(), cfg); }, {"load_npy", "w_k.npy", "non-finite"});
  const ContinuousMlp::Config mc{.hidden = 4, .output_dim = 4};
  const auto mlp_dir = dir_ / "mlp";
  std::filesystem::create_directories(mlp_dir);
  ContinuousMlp(mc, 2).save(mlp_dir.string());
  Tensor b = load_npy((mlp_dir / "b2.npy").string());
  b(0) = INFINITY;
  save_npy((mlp_dir / "b2.npy").string(), b);
  expect_invalid([&] { ContinuousMlp::load(mlp_dir.string(), mc); }, {"load_npy", "b2.npy", "non-finite"});
}

}  // namespace
}  // namespace posenc
