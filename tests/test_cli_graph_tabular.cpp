// How `posenc graph` and `posenc tabular` lay out their rows: node ids as labels or indices, node
// lists, the FT-Transformer token order, report.json's file list, every graph option reachable,
// no stale files, and a quiet stderr when it is not a terminal. Oracles are small graphs and
// tables worked out by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "posenc/catalogue.hpp"
#include "posenc/graph.hpp"
#include "posenc/npy.hpp"
#include "support/cli.hpp"

namespace posenc {
namespace {

namespace fs = std::filesystem;
using test::CliRun;
using test::slurp;

class GraphInput : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::fresh_test_dir("posenc_graphin_"); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }
  /// Runs `f`, expecting std::invalid_argument whose message holds every fragment.
  template <class F>
  void expect_invalid(F&& f, const std::vector<std::string>& fragments) {
    try {
      f();
      ADD_FAILURE() << "no exception";
    } catch (const std::invalid_argument& e) {
      for (const auto& s : fragments) EXPECT_NE(std::string(e.what()).find(s), std::string::npos) << e.what();
    }
  }
  fs::path dir_;
};

std::vector<std::int64_t> degree_list(const Graph& g) {
  const ITensor d = degrees(g);
  return std::vector<std::int64_t>(d.begin(), d.end());
}

// ------------------------------------------------------------------ library: ids and node lists

TEST_F(GraphInput, OneBasedIndicesMapToRowsAndKeepIsolatedNodes) {
  const std::string f = write("e.csv", "1,2\n2,4\n");
  const Graph g = read_edge_list_csv(f, {.ids = NodeIds::one_based});
  ASSERT_EQ(g.nodes(), 4);  // 1 .. 4; 3 is isolated, and there is no node 0
  EXPECT_EQ(g.names(), (std::vector<std::string>{"1", "2", "3", "4"}));
  EXPECT_EQ(degree_list(g), (std::vector<std::int64_t>{1, 2, 0, 1}));
  const Graph z = read_edge_list_csv(f, {.ids = NodeIds::zero_based});
  EXPECT_EQ(z.nodes(), 5);  // 0 .. 4: 0 and 3 isolated
  EXPECT_EQ(degree_list(z), (std::vector<std::int64_t>{0, 1, 2, 0, 1}));
  expect_invalid([&] { read_edge_list_csv(write("z.csv", "0,1\n"), {.ids = NodeIds::one_based}); },
                 {"z.csv:1", "column 1", "'0'", "index base 1"});
  expect_invalid([&] { read_edge_list_csv(write("a.csv", "1,a\n"), {.ids = NodeIds::one_based}); },
                 {"a.csv:1", "column 2", "'a'", "not an integer index"});
}

TEST_F(GraphInput, IntegerLabelsTakeRowsInNumericOrder) {
  const Graph g = read_edge_list_csv(write("e.csv", "10,2\n2,9\n"), {.ids = NodeIds::labels});
  ASSERT_EQ(g.nodes(), 3);  // no isolated nodes for the missing ids
  EXPECT_EQ(g.names(), (std::vector<std::string>{"2", "9", "10"}));
  EXPECT_EQ(degree_list(g), (std::vector<std::int64_t>{2, 1, 1}));
  // Names that are not all integers keep the order of first appearance.
  const Graph n = read_edge_list_csv(write("n.csv", "b,1\n1,a\n"), {.ids = NodeIds::labels});
  EXPECT_EQ(n.names(), (std::vector<std::string>{"b", "1", "a"}));
  // The library's default is unchanged: all-integer ids are 0-based indices.
  EXPECT_EQ(read_edge_list_csv(write("d.csv", "1,2\n")).nodes(), 3);
}

TEST_F(GraphInput, NodeListFixesRowOrderAndAddsIsolatedNodes) {
  const std::string nodes = write("nodes.txt", "c\n\"a\"\n\nb\nz\n");
  const std::vector<std::string> list = read_node_list(nodes);
  EXPECT_EQ(list, (std::vector<std::string>{"c", "a", "b", "z"}));
  const Graph g = read_edge_list_csv(write("e.csv", "a,b\nb,c\n"), {.node_names = list});
  ASSERT_EQ(g.nodes(), 4);
  EXPECT_EQ(g.names(), list);
  EXPECT_EQ(degree_list(g), (std::vector<std::int64_t>{1, 1, 2, 0}));  // c, a, b, z (isolated)
  ASSERT_EQ(g.edges().size(), 2u);
  EXPECT_EQ(g.edges()[0].source, 1);  // a
  EXPECT_EQ(g.edges()[0].target, 2);  // b
  expect_invalid([&] { read_edge_list_csv(write("x.csv", "a,b\nb,q\n"), {.node_names = list}); },
                 {"x.csv:2", "column 2", "'q'", "not in the node list"});
  expect_invalid([&] { read_node_list(write("dup.txt", "a\nb\na\n")); }, {"dup.txt:3", "'a'", "line 1"});
  expect_invalid([&] { read_node_list(write("empty.txt", "\n")); }, {"empty.txt", "no nodes"});
  // Indices with a node list: the list names the rows and bounds the ids.
  const Graph i = read_edge_list_csv(write("i.csv", "1,3\n"), {.ids = NodeIds::one_based, .node_names = list});
  EXPECT_EQ(i.names(), list);
  EXPECT_EQ(degree_list(i), (std::vector<std::int64_t>{1, 0, 1, 0}));
  expect_invalid([&] { read_edge_list_csv(write("j.csv", "1,5\n"), {.ids = NodeIds::one_based, .node_names = list}); },
                 {"j.csv:1", "'5'", "beyond the node list's 4 nodes"});
}

TEST_F(GraphInput, ReorderNodesMovesEdgesWithTheirNodes) {
  const Graph g(3, {{0, 1, 2.0}, {1, 2, 1.0}}, true, {"x", "y", "w"});
  const Graph r = reorder_nodes(g, {"w", "v", "y", "x"});
  ASSERT_EQ(r.nodes(), 4);
  EXPECT_TRUE(r.directed());
  ASSERT_EQ(r.edges().size(), 2u);
  EXPECT_EQ(r.edges()[0].source, 3);  // x
  EXPECT_EQ(r.edges()[0].target, 2);  // y
  EXPECT_EQ(r.edges()[0].weight, 2.0);
  EXPECT_EQ(r.edges()[1].target, 0);  // w
  expect_invalid([&] { reorder_nodes(g, {"x", "y"}); }, {"reorder_nodes", "'w'"});
  const std::string gml = write("g.dot", "graph { b -- a }\n");
  const Graph d = read_graph(gml, {.node_names = {"a", "b", "c"}});
  EXPECT_EQ(degree_list(d), (std::vector<std::int64_t>{1, 1, 0}));
}

#ifdef POSENC_CLI_PATH

// ------------------------------------------------------------------ the command line

class GraphTabularCli : public GraphInput {
 protected:
  CliRun run(const std::string& args) { return test::run_in(dir_, std::string("'") + POSENC_CLI_PATH + "' " + args); }
  /// Fails with one line containing `fragment`, leaving nothing behind.
  void expect_error(const std::string& args, const std::string& fragment) {
    const CliRun r = run(args);
    EXPECT_NE(r.code, 0) << args;
    EXPECT_NE(r.err.find(fragment), std::string::npos) << args << "\nstderr: " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(dir_ / "x")) << args;
  }
  /// Whether this build's `posenc graph` has --nodes and --index-base (tools/cli.hpp, main.cpp).
  bool has_node_options() { return run("graph --help").out.find("--index-base") != std::string::npos; }
  std::set<std::string> files(const std::string& sub) {
    std::set<std::string> s;
    for (const auto& e : fs::directory_iterator(dir_ / sub)) s.insert(e.path().filename().string());
    return s;
  }
  nlohmann::json report(const std::string& sub) { return nlohmann::json::parse(slurp(dir_ / sub / "report.json")); }
  std::vector<std::int64_t> ints(const std::string& file) {
    const ITensor t = load_npy_int((dir_ / file).string());
    return std::vector<std::int64_t>(t.begin(), t.end());
  }
};

TEST_F(GraphTabularCli, IntegerIdsAreLabelsByDefaultWithAWarningWhenTheyLookOneBased) {
  write("e.csv", "1,2\n2,3\n");
  CliRun r = run("graph e.csv --out g --encodings degree");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(slurp(dir_ / "g" / "nodes.txt"), "1\n2\n3\n");  // no node 0
  EXPECT_EQ(ints("g/degree_total.npy"), (std::vector<std::int64_t>{1, 2, 1}));
  EXPECT_NE(r.err.find("warning"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("start at 1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--index-base 1"), std::string::npos) << r.err;
  EXPECT_EQ(report("g")["warnings"].size(), 1u);
  // A run that fails says only why (the warning waits for success).
  expect_error("graph e.csv --out x --encodings pagerank:tol=1e-30", "raise max_iter");
  // Gaps are named too; 0-based contiguous ids are silent (and identical to indices).
  write("gap.csv", "0,5\n");
  r = run("graph gap.csv --out h --encodings degree");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("not 0 .. 1 (smallest 0, largest 5)"), std::string::npos) << r.err;
  write("ok.csv", "2,0\n0,1\n");
  r = run("graph ok.csv --out k --encodings degree");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(slurp(dir_ / "k" / "nodes.txt"), "0\n1\n2\n");
  EXPECT_EQ(ints("k/degree_total.npy"), (std::vector<std::int64_t>{2, 1, 1}));
}

TEST_F(GraphTabularCli, IndexBaseAndNodeListSetRowsAndIsolatedNodes) {
  if (!has_node_options()) GTEST_SKIP() << "this posenc has no --nodes / --index-base yet";
  write("e.csv", "1,2\n2,4\n");
  CliRun r = run("graph e.csv --out one --encodings degree,spd --index-base 1");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(slurp(dir_ / "one" / "nodes.txt"), "1\n2\n3\n4\n");
  EXPECT_EQ(ints("one/degree_total.npy"), (std::vector<std::int64_t>{1, 2, 0, 1}));
  EXPECT_EQ(ints("one/spd.npy"), (std::vector<std::int64_t>{0, 1, -1, 2, 1, 0, -1, 1, -1, -1, 0, -1, 2, 1, -1, 0}));
  r = run("graph e.csv --out zero --encodings degree --index-base 0");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(ints("zero/degree_total.npy"), (std::vector<std::int64_t>{0, 1, 2, 0, 1}));
  // A node list: its order, its isolated nodes, no warning.
  write("nodes.txt", "4\n3\n2\n1\n");
  r = run("graph e.csv --out n --encodings degree --nodes nodes.txt");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(slurp(dir_ / "n" / "nodes.txt"), "4\n3\n2\n1\n");
  EXPECT_EQ(ints("n/degree_total.npy"), (std::vector<std::int64_t>{1, 0, 2, 1}));
  expect_error("graph e.csv --out x --index-base 2", "--index-base must be 0 or 1, got '2'");
  write("short.txt", "1\n2\n");
  expect_error("graph e.csv --out x --nodes short.txt", "'4' is not in the node list (2 nodes); list every node once (--nodes 'short.txt')");
  expect_error("graph e.csv --out x --nodes missing.txt", "missing.txt");
}

TEST_F(GraphTabularCli, PagerankToleranceReachesTheExactSolution) {
  // Path a - b - c: x_a = x_c = (1 - x_b)/2, x_b = (1 + 2 alpha)/(3 (1 + alpha)) (from x = alpha P^T x + (1 - alpha)/3).
  write("p.csv", "a,b\nb,c\n");
  const double b = (1 + 2 * 0.85) / (3 * 1.85), exact[] = {(1 - b) / 2, b, (1 - b) / 2};
  auto error = [&](const std::string& sub) {
    const DTensor x = load_npy_double((dir_ / sub / "pagerank.npy").string());
    double e = 0;
    for (std::size_t i = 0; i < 3; ++i) e = std::max(e, std::fabs(x(i) - exact[i]));
    return e;
  };
  ASSERT_EQ(run("graph p.csv --out loose --encodings pagerank").code, 0);
  const CliRun r = run("graph p.csv --out tight --encodings pagerank:tol=1e-10:max_iter=1000");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_LE(error("tight"), 3 * 1e-10);  // the stopping rule: sum |dx| < N tol
  EXPECT_GT(error("loose"), 1e-8);       // the default tol 1e-6 stops visibly earlier
  EXPECT_LE(error("loose"), 3 * 1e-6);
  // Bipartite graphs converge slowly: 100 iterations are too few for 1e-10, and the error says what to raise.
  expect_error("graph p.csv --out x --encodings pagerank:tol=1e-10", "raise max_iter");
  expect_error("graph p.csv --out x --encodings pagerank:tol=0", "option 'tol' must be a finite number > 0, got '0'");
  expect_error("graph p.csv --out x --encodings pagerank:max_iter=0", "option 'max_iter'");
  expect_error("graph p.csv --out x --encodings pagerank:alpha=2", "option 'alpha' must be in [0, 1], got '2'");
}

TEST_F(GraphTabularCli, EveryLibraryOptionOfTheGraphSpecsIsReachable) {
  // Path 0 - 1 - 2 - 3 (weights 2, 1, 1) and a separate edge 4 - 5.
  write("w.csv", "0,1,2\n1,2,1\n2,3,1\n4,5,1\n");
  const CliRun r = run("graph w.csv --out o --encodings betweenness:normalized=0,closeness:use_weights=1,"
                       "dijkstra:unreachable=-1,eigenvector:tol=1e-9:max_iter=500,lap:k=2:dense_max_nodes=0:pad=1");
  ASSERT_EQ(r.code, 0) << r.err;
  const DTensor bt = load_npy_double((dir_ / "o" / "betweenness.npy").string());
  EXPECT_EQ(bt(1), 2.0);  // raw pair counts: (0, 2), (0, 3)
  EXPECT_EQ(bt(2), 2.0);
  const DTensor cl = load_npy_double((dir_ / "o" / "closeness.npy").string());
  // Node 0 reaches 1, 2, 3 at weighted distances 2, 3, 4: (3 / 9) (3 / 5) (Wasserman-Faust, N = 6).
  EXPECT_NEAR(cl(0), 3.0 / 9.0 * 3.0 / 5.0, 1e-15);
  const DTensor dj = load_npy_double((dir_ / "o" / "dijkstra.npy").string());
  EXPECT_EQ(dj(0, 3), 4.0);
  EXPECT_EQ(dj(0, 4), -1.0);
  expect_error("graph w.csv --out x --encodings eigenvector:max_iter=1", "raise max_iter");
  expect_error("graph w.csv --out x --encodings lap:dense_max_nodes=-1", "'dense_max_nodes' must be an integer >= 0");
  expect_error("graph w.csv --out x --encodings closeness:use_weights=maybe", "must be true or false, got 'maybe'");
  expect_error("graph w.csv --out x --encodings pagerank:tool=1", "unknown option 'tool=1'; did you mean 'tol'?");
}

TEST_F(GraphTabularCli, TheCommandLineAndTheCatalogueGiveTheSameBytesForEveryOption) {
  // Path 0 - 1 - 2 - 3 (weights 2, 1, 1) and a separate edge 4 - 5.
  const std::string csv = write("w.csv", "0,1,2\n1,2,1\n2,3,1\n4,5,1\n");
  const std::vector<std::string> specs = {
      "spd:max=2:unreachable=9", "dijkstra:unreachable=-1", "degree:kind=out", "betweenness:normalized=0",
      "closeness:use_weights=1", "pagerank:alpha=0.9:tol=1e-9:max_iter=500", "eigenvector:tol=1e-9:max_iter=500",
      "lap:k=2:kind=rw:pad=1:solver=dense:flip=1:seed=3:pyg=1:dense_max_nodes=0", "rwse:steps=3:pyg=1"};
  // Every option of every name is given ("lap: k=8, kind=sym, ..."; one line per name).
  const std::vector<std::string> names = catalogue::graph_encoding_names();
  ASSERT_EQ(names.size(), specs.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string name = names[i].substr(0, names[i].find(':'));
    EXPECT_EQ(specs[i].substr(0, specs[i].find(':')), name);
    std::stringstream options(names[i].substr(std::min(names[i].size(), name.size() + 2)));
    for (std::string o; std::getline(options, o, ',');) {
      const std::string key = o.substr(o.find_first_not_of(' '), o.find('=') - o.find_first_not_of(' '));
      EXPECT_NE(specs[i].find(":" + key + "="), std::string::npos) << specs[i] << " lacks " << key;
    }
  }
  std::string list;
  for (const auto& s : specs) list += (list.empty() ? "" : ",") + s;
  const CliRun r = run("graph w.csv --out o --encodings '" + list + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  const Graph g = read_graph(csv, {.ids = NodeIds::labels});
  const auto arrays = catalogue::graph_encodings(g, specs);
  EXPECT_EQ(arrays.size(), specs.size() + 1);  // lap writes two
  for (const auto& [stem, a] : arrays) {
    const fs::path mine = dir_ / ("catalogue_" + stem + ".npy");
    std::visit([&, &m = mine](const auto& t) { save_npy(m.string(), t); }, a);
    ASSERT_TRUE(fs::exists(dir_ / "o" / (stem + ".npy"))) << stem;
    EXPECT_EQ(slurp(dir_ / "o" / (stem + ".npy")), slurp(mine)) << stem;
  }
}

TEST_F(GraphTabularCli, GraphReportListsEveryFileWithShapeDtypeAndAxes) {
  write("e.csv", "a,b\nb,c\nc,d\n");
  const CliRun r = run("graph e.csv --out g --encodings spd,pagerank,lap:k=2,rwse:steps=3,degree:kind=in");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json rep = report("g");
  std::set<std::string> listed;
  for (const auto& [name, e] : rep["files"].items()) listed.insert(name);
  std::set<std::string> on_disk = files("g");
  on_disk.erase("report.json");
  EXPECT_EQ(listed, on_disk);
  using Shape = std::vector<std::size_t>;
  const std::map<std::string, std::pair<Shape, std::string>> expected = {
      {"spd.npy", {{4, 4}, "int64"}},     {"pagerank.npy", {{4}, "float64"}},        {"lap.npy", {{4, 2}, "float32"}},
      {"lap_eigenvalues.npy", {{2}, "float64"}}, {"rwse.npy", {{4, 3}, "float32"}}, {"degree_in.npy", {{4}, "int64"}},
      {"nodes.txt", {{4}, "text, one entry per line"}}};
  for (const auto& [name, want] : expected) {
    ASSERT_TRUE(rep["files"].contains(name)) << name;
    EXPECT_EQ(rep["files"][name]["shape"].get<Shape>(), want.first) << name;
    EXPECT_EQ(rep["files"][name]["dtype"], want.second) << name;
    EXPECT_TRUE(rep["files"][name].contains("rows")) << name;
  }
  EXPECT_NE(rep["files"]["spd.npy"]["columns"].get<std::string>().find("nodes.txt"), std::string::npos);
  EXPECT_EQ(rep["files"]["lap.npy"]["encoding"], "lap:k=2");
  EXPECT_EQ(load_npy((dir_ / "g" / "rwse.npy").string()).shape(), (Shape{4, 3}));
}

TEST_F(GraphTabularCli, TabularExportsTheFtTransformerTokenOrder) {
  write("t.csv",
        "color,x,flag,y\nred,1.0,true,2.0\ngreen,2.5,false,1.0\nblue,3.0,true,0.5\nred,4.5,false,3.0\n"
        "green,5.0,true,2.5\nblue,6.5,false,4.0\n");
  const CliRun r = run("tabular t.csv --out t --k 1");
  ASSERT_EQ(r.code, 0) << r.err;
  // Table order: color (categorical), x, flag (boolean), y. Tokens: numeric first, then the rest.
  EXPECT_EQ(slurp(dir_ / "t" / "columns.txt"), "color\nx\nflag\ny\n");
  EXPECT_EQ(slurp(dir_ / "t" / "tokens.txt"), "x\ny\ncolor\nflag\n");
  const std::vector<std::size_t> order = {1, 3, 0, 2};
  const nlohmann::json rep = report("t");
  EXPECT_EQ(rep["ftt_token_order"].get<std::vector<std::size_t>>(), order);
  const Tensor pe = load_npy((dir_ / "t" / "pe.npy").string()), tok = load_npy((dir_ / "t" / "pe_tokens.npy").string());
  ASSERT_EQ(pe.shape(), (std::vector<std::size_t>{4, 2}));
  ASSERT_EQ(tok.shape(), pe.shape());
  for (std::size_t t = 0; t < 4; ++t)
    for (std::size_t j = 0; j < 2; ++j) EXPECT_EQ(tok(t, j), pe(order[t], j)) << t << ", " << j;
  // Every file is listed with its shape: 2 numeric + 3 colours + 2 flag levels = 7 features.
  std::set<std::string> listed;
  for (const auto& [name, e] : rep["files"].items()) listed.insert(name);
  std::set<std::string> on_disk = files("t");
  on_disk.erase("report.json");
  EXPECT_EQ(listed, on_disk);
  EXPECT_EQ(rep["files"]["graph.npy"]["shape"].get<std::vector<std::size_t>>(), (std::vector<std::size_t>{7, 7}));
  EXPECT_EQ(rep["files"]["pe_tokens.npy"]["dtype"], "float32");
  EXPECT_EQ(rep["files"]["tokens.txt"]["shape"].get<std::vector<std::size_t>>(), (std::vector<std::size_t>{4}));
}

TEST_F(GraphTabularCli, TabularOptionsAreTheTabpetEntrysFields) {
  // The defaults `posenc tabular --help` shows are the entry's (read from TabPetPipelineOptions{}).
  const std::string help = run("tabular --help").out;
  const catalogue::EntryInfo& e = catalogue::describe("tabpet");
  for (const std::string field : {"graph", "alpha", "threshold", "top_k", "seed"}) {
    const std::string flag = "--" + (field == "top_k" ? std::string("top-k") : field) + " ";
    const auto at = help.find(flag);
    ASSERT_NE(at, std::string::npos) << flag << "\n" << help;
    const std::string line = help.substr(at, help.find('\n', at) - at);
    const auto eq = line.find('='), end = line.find(' ', eq);
    ASSERT_NE(eq, std::string::npos) << line;
    EXPECT_EQ(line.substr(eq + 1, end - eq - 1), e.field(field)->default_text) << line;
  }
  // Names go through the entry's enum table: its aliases are accepted, the report has the canonical name.
  write("t.csv", "a,b,c\n1,2,0\n2,1,1\n3,5,0\n4,3,1\n");
  const CliRun r = run("tabular t.csv --out t --k 1 --graph chow_liu");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(report("t")["graph"], "chowliu");
  expect_error("tabular t.csv --out x --graph lingam",
               "tabular: parameter 'graph' expects one of spearman|pearson|chowliu, got 'lingam'");
}

TEST_F(GraphTabularCli, ASecondSmallerRunLeavesNoFilesOfTheFirst) {
  write("e.csv", "0,1\n1,2\n2,3\n");
  ASSERT_EQ(run("graph e.csv --out o --encodings spd,pagerank,lap:k=2,rwse:steps=2").code, 0);
  EXPECT_EQ(files("o").size(), 7u);
  expect_error("graph e.csv --out o --encodings degree", "--force");  // refused without --force, untouched
  EXPECT_EQ(files("o").size(), 7u);
  ASSERT_EQ(run("graph e.csv --out o --encodings degree --force").code, 0);
  EXPECT_EQ(files("o"), (std::set<std::string>{"degree_total.npy", "nodes.txt", "report.json"}));
  // A tabular run over a graph run's directory: only the tabular files remain.
  write("t.csv", "a,b,c\n1,2,0\n2,1,1\n3,5,0\n4,3,1\n");
  ASSERT_EQ(run("tabular t.csv --out o --k 1 --force").code, 0);
  EXPECT_EQ(files("o"), (std::set<std::string>{"pe.npy", "pe_tokens.npy", "pe_features.npy", "graph.npy",
                                               "adjacency.npy", "eigenvalues.npy", "features.txt", "columns.txt",
                                               "tokens.txt", "report.json"}));
  // Nothing hidden is left in the parent either (staging directories).
  for (const auto& e : fs::directory_iterator(dir_)) EXPECT_NE(e.path().filename().string()[0], '.') << e.path();
}

TEST_F(GraphTabularCli, ProgressOnlyWhenStderrIsATerminal) {
  write("e.csv", "0,1\n1,2\n");
  CliRun r = run("graph e.csv --out q --encodings spd,degree");
  ASSERT_EQ(r.code, 0);
  EXPECT_EQ(r.err, "");  // redirected: quiet
  write("t.csv", "a,b,c\n1,2,0\n2,1,1\n3,5,0\n4,3,1\n");
  r = run("tabular t.csv --out tq --k 1");
  ASSERT_EQ(r.code, 0);
  EXPECT_EQ(r.err, "");
  if (std::system("script -qec true /dev/null >/dev/null 2>&1") != 0) GTEST_SKIP() << "no script(1) for a terminal";
  // Under a pseudo-terminal: one updating line (carriage returns), erased at the end.
  r = test::run_in(dir_, std::string("script -qec \"'") + POSENC_CLI_PATH +
                             "' graph e.csv --out tty --encodings spd,degree\" /dev/null");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("\rgraph: [1/2] spd"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("graph: [2/2] degree"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("left"), std::string::npos) << r.out;
}

#endif  // POSENC_CLI_PATH

}  // namespace
}  // namespace posenc
