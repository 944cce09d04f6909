// Catalogue entries of posenc/graph.hpp: Graphormer spatial, centrality and edge encodings,
// Laplacian eigenvectors and RWSE as input parts; and the named node encodings of `posenc graph`.
#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "catalogue/define.hpp"
#include "posenc/graph.hpp"
#include "posenc/text.hpp"

namespace posenc::catalogue::detail {

namespace {

/// The graph an entry reads: given edges [E, 2] (and weights), or an example graph.
struct GraphIn {
  std::optional<ITensor> edges;
  std::optional<std::vector<double>> weights;
  std::int64_t nodes = 0;
  bool directed = false;
  Graph get() const {
    std::vector<GraphEdge> list;
    std::int64_t n = nodes;
    if (!edges) {  // the example: a ring of 12 nodes with two chords
      for (std::int64_t i = 0; i < 12; ++i) list.push_back({i, (i + 1) % 12, 1.0});
      list.push_back({0, 6, 1.0});
      list.push_back({3, 9, 1.0});
      return Graph(std::max<std::int64_t>(n, 12), list, directed);
    }
    const ITensor& e = *edges;
    if (e.dimension() != 2 || e.shape()[1] != 2)
      bad("graph: field 'edges' must be an [E, 2] integer array, got " + shape_string(e));
    if (weights && weights->size() != e.shape()[0])
      bad("graph: field 'weights' has " + std::to_string(weights->size()) + " values for " + std::to_string(e.shape()[0]) +
          " edges");
    for (std::size_t i = 0; i < e.shape()[0]; ++i) {
      list.push_back({e(i, 0), e(i, 1), weights ? (*weights)[i] : 1.0});
      n = std::max({n, e(i, 0) + 1, e(i, 1) + 1});
    }
    return Graph(n, list, directed);
  }
};
template <class P>
Def<P>& graph_input(Def<P>& d) {
  d.input("graph (edges [E, 2]; default: a 12-node ring with two chords)");
  d.field("edges", [](P& p) -> auto& { return p.g.edges; }, "edge list [E, 2] of node ids (default: the example graph)", "input")
      .field("weights", [](P& p) -> auto& { return p.g.weights; }, "edge weights [E] (default 1)", "input")
      .field("nodes", [](P& p) -> auto& { return p.g.nodes; }, "at least this many nodes (isolated ones after the largest id)", "input")
      .field("directed", [](P& p) -> auto& { return p.g.directed; }, "directed edges", "input");
  return d;
}
Tensor row_vector(const Tensor& t) {  // [1, H] -> [H]
  Tensor out = t;
  out.reshape({t.size()});
  return out;
}

struct SpatialP {
  GraphormerSpatialOptions o;
  std::int64_t heads = 8, seed = 0;
  std::optional<Tensor> table, token;
  GraphIn g;
};
Entry spatial_entry() {
  using P = SpatialP;
  Def<P> d("graphormer_spatial", "Graphormer spatial encoding: a learned bias per shortest-path distance and head",
           "position-position bias (table[SPD + 1], -inf past spatial_pos_max)",
           "Ying et al. 2021; microsoft/Graphormer graphormer_layers.py GraphAttnBias", "graph");
  d.member("heads", &P::heads, "number of heads")
      .field("num_spatial", [](P& p) -> auto& { return p.o.num_spatial; }, "table columns; index = min(SPD, num_spatial - 2) + 1")
      .field("unreachable", [](P& p) -> auto& { return p.o.unreachable; }, "SPD used for pairs with no path")
      .field("spatial_pos_max", [](P& p) -> auto& { return p.o.spatial_pos_max; }, "pairs with SPD >= this get -inf (< 0: none)")
      .field("hf_off_by_one", [](P& p) -> auto& { return p.o.hf_off_by_one; }, "HF's variant: masks SPD >= spatial_pos_max - 1")
      .field("graph_token", [](P& p) -> auto& { return p.o.graph_token; }, "a leading graph token")
      .member("seed", &P::seed, "initialisation seed", "table")
      .member("table", &P::table, "load the table [heads, num_spatial]", "table")
      .member("token_bias", &P::token, "load the graph token's bias [heads]", "table")
      .table({"table", "bias_table", "[heads, num_spatial]", "graphormer_table_init: N(0, 0.02), column 0 zero", "", "seed",
              "biases.0.table (columns < num_spatial)"})
      .table({"token_bias", "graph_token", "[heads]", "N(0, 0.02) (seed + 1)", "", "seed", "biases.0.table (column num_spatial)"});
  graph_input(d).build([](const P& p) {
    const Graph g = p.g.get();
    const Tensor table = p.table ? *p.table : graphormer_table_init(p.heads, p.o.num_spatial, seed_of(p.seed));
    const Tensor token = !p.o.graph_token ? Tensor{}
                         : p.token      ? *p.token
                                        : row_vector(learned_table_init(1, p.heads, 0.02, seed_of(p.seed) + 1));
    Built b;
    b.encoding = graphormer_spatial(g, table, token, p.o);
    b.arrays.emplace_back("relation", graphormer_spatial_index(g, p.o));
    b.arrays.emplace_back("bias_table", table);
    if (p.o.graph_token) b.arrays.emplace_back("graph_token", token);
    b.metadata.emplace_back("bias_rule", std::string("b[h,i,j] = [bias_table | graph_token | -inf][h, relation[i,j]]"));
    b.tokens = b.query_tokens = static_cast<std::size_t>(g.nodes() + (p.o.graph_token ? 1 : 0));
    return b;
  });
  return d.finish();
}

struct CentralityP {
  GraphormerCentralityOptions o;
  std::int64_t dim = 64;
  Init init;
  std::optional<Tensor> in_table, out_table;
  GraphIn g;
};
Entry centrality_entry() {
  using P = CentralityP;
  Def<P> d("graphormer_centrality", "Graphormer centrality encoding: learned in- and out-degree embeddings", "input_add",
           "Ying et al. 2021; microsoft/Graphormer GraphNodeFeature", "graph");
  d.member("dim", &P::dim, "width D")
      .field("max_degree", [](P& p) -> auto& { return p.o.max_degree; }, "degrees above it are clipped (rows max_degree + 2)")
      .field("clip", [](P& p) -> auto& { return p.o.clip; }, "false: a degree above max_degree is an error")
      .field("row_sum_compat", [](P& p) -> auto& { return p.o.row_sum_compat; }, "the reference's quirk: out-degree for both tables")
      .field("prefix_tokens", [](P& p) -> auto& { return p.o.prefix_tokens; }, "zero rows first (the graph token)", "grid");
  init_fields(d, [](P& p) -> auto& { return p.init; });
  d.member("in_table", &P::in_table, "load z_in [max_degree + 2, D]", "table")
      .member("out_table", &P::out_table, "load z_out [max_degree + 2, D]", "table")
      .table({"in_table", "in_table", "[max_degree + 2, dim]", "learned_table_init, row 0 zero", "std", "seed", ""})
      .table({"out_table", "out_table", "[max_degree + 2, dim]", "learned_table_init (seed + 1), row 0 zero", "std", "seed", ""});
  graph_input(d).build([](const P& p) {
    const Graph g = p.g.get();
    auto init = [&](std::uint64_t seed) {
      Tensor t = learned_table_init(p.o.max_degree + 2, p.dim, p.init.std, seed);
      xt::view(t, 0, xt::all()) = 0.0f;
      return t;
    };
    const Tensor in = p.in_table ? *p.in_table : init(seed_of(p.init.seed));
    const Tensor out = p.out_table ? *p.out_table : init(seed_of(p.init.seed) + 1);
    Built b = absolute(graphormer_centrality(g, in, out, p.o));
    b.arrays.emplace_back("in_table", in);
    b.arrays.emplace_back("out_table", out);
    return b;
  });
  return d.finish();
}

struct EdgeP {
  GraphormerEdgeOptions o;
  std::int64_t heads = 8, edge_rows = 16;
  Init init;
  std::optional<ITensor> edge_features;
  std::optional<Tensor> edge_table, hop_weights;
  GraphIn g;
};
Entry edge_entry() {
  using P = EdgeP;
  Def<P> d("graphormer_edge", "Graphormer multi-hop edge encoding: mean edge embeddings along the shortest path",
           "position-position bias (dense)", "Ying et al. 2021; microsoft/Graphormer multi_hop edge encoding", "graph");
  d.member("heads", &P::heads, "number of heads")
      .field("max_hops", [](P& p) -> auto& { return p.o.max_hops; }, "multi_hop_max_dist D")
      .field("path", [](P& p) -> auto& { return p.o.path; }, "which shortest path carries the features")
      .field("graph_token", [](P& p) -> auto& { return p.o.graph_token; }, "a leading row/column of zeros")
      .member("edge_rows", &P::edge_rows, "rows R of the edge table (initialised)")
      .member("edge_features", &P::edge_features, "edge feature ids [E, C] into the edge table (default: 1 + e mod (R-1))", "input");
  init_fields(d, [](P& p) -> auto& { return p.init; });
  d.member("edge_table", &P::edge_table, "load [R, heads]", "table")
      .member("hop_weights", &P::hop_weights, "load [max_hops, heads, heads]", "table")
      .table({"edge_table", "edge_table", "[edge_rows, heads]", "N(0, std^2), row 0 zero", "std", "seed", ""})
      .table({"hop_weights", "hop_weights", "[max_hops, heads, heads]", "N(0, std^2) (seed + 1)", "std", "seed", ""});
  graph_input(d).build([](const P& p) {
    const Graph g = p.g.get();
    const std::size_t e = g.edges().size();
    ITensor ids = ITensor::from_shape({e, 1});
    for (std::size_t i = 0; i < e; ++i) ids(i, 0) = 1 + static_cast<std::int64_t>(i) % std::max<std::int64_t>(p.edge_rows - 1, 1);
    if (p.edge_features) ids = *p.edge_features;
    Tensor table = p.edge_table ? *p.edge_table : learned_table_init(p.edge_rows, p.heads, p.init.std, seed_of(p.init.seed));
    if (!p.edge_table) xt::view(table, 0, xt::all()) = 0.0f;
    Tensor hops = p.hop_weights ? *p.hop_weights
                                : learned_table_init(p.o.max_hops * p.heads, p.heads, p.init.std, seed_of(p.init.seed) + 1);
    if (!p.hop_weights) hops.reshape({static_cast<std::size_t>(p.o.max_hops), static_cast<std::size_t>(p.heads),
                                      static_cast<std::size_t>(p.heads)});
    Built b;
    b.encoding = graphormer_edge_bias(g, ids, table, hops, p.o);
    b.arrays.emplace_back("path_edges", shortest_path_edges(g, p.o.max_hops, p.o.path));
    Tensor dense = b.encoding.biases[0].dense;
    dense.reshape({dense.shape()[1], dense.shape()[2], dense.shape()[3]});
    b.arrays.emplace_back("bias", dense);
    b.arrays.emplace_back("edge_table", table);
    b.arrays.emplace_back("hop_weights", hops);
    b.tokens = b.query_tokens = dense.shape()[1];
    return b;
  });
  return d.finish();
}

Encoding node_features(const Tensor& f, const std::string& name) {
  Encoding e;
  e.name = name;
  e.input_concat = f;
  e.input_concat.reshape({1, f.shape()[0], f.shape()[1]});
  return e;
}

struct LapP {
  LaplacianPeOptions o;
  GraphIn g;
};
Entry laplacian_entry() {
  using P = LapP;
  Def<P> d("laplacian_pe", "Laplacian eigenvector positional encoding of the nodes", "input_concat",
           "Dwivedi et al. 2020; PyG AddLaplacianEigenvectorPE", "graph");
  d.field("k", [](P& p) -> auto& { return p.o.k; }, "non-trivial eigenvectors kept")
      .field("kind", [](P& p) -> auto& { return p.o.kind; }, "sym (I - D^-1/2 A D^-1/2), rw (I - D^-1 A) or comb (D - A)")
      .field("drop_per_component", [](P& p) -> auto& { return p.o.drop_per_component; },
             "skip one trivial vector per component (false: only the first, as PyG)")
      .field("pad", [](P& p) -> auto& { return p.o.pad; }, "k > available: zero columns instead of an error")
      .field("random_flip", [](P& p) -> auto& { return p.o.random_flip; }, "seeded random sign per column")
      .field("seed", [](P& p) -> auto& { return p.o.seed; }, "seed of random_flip")
      .field("solver", [](P& p) -> auto& { return p.o.solver; }, "auto, dense (LAPACK) or sparse (Spectra)")
      .field("dense_max_nodes", [](P& p) -> auto& { return p.o.dense_max_nodes; }, "auto: dense up to this many nodes");
  graph_input(d).build([](const P& p) {
    const LaplacianPe pe = laplacian_pe(p.g.get(), p.o);
    Built b = absolute(node_features(pe.vectors, "laplacian_pe"), true);
    b.arrays[0].first = "lap";
    b.arrays.emplace_back("lap_eigenvalues", to_double(pe.eigenvalues));
    b.metadata.emplace_back("components", pe.components);
    b.metadata.emplace_back("trivial", pe.trivial);
    return b;
  });
  return d.finish();
}

struct RwseP {
  std::int64_t steps = 16;
  bool pyg = false;
  GraphIn g;
};
Entry rwse_entry() {
  using P = RwseP;
  Def<P> d("rwse", "random-walk structural encoding: return probabilities (P^s)_ii", "input_concat",
           "Dwivedi et al. 2022 (GraphGPS RWSE); PyG AddRandomWalkPE", "graph");
  d.member("steps", &P::steps, "walk lengths 1 .. steps").member("pyg_compat", &P::pyg, "PyG: weights only enter the degree");
  graph_input(d).build([](const P& p) {
    Built b = absolute(node_features(random_walk_pe(p.g.get(), p.steps, p.pyg), "rwse"), true);
    b.arrays[0].first = "rwse";
    return b;
  });
  return d.finish();
}

}  // namespace

void add_graph(std::vector<Entry>& out) {
  out.push_back(spatial_entry());
  out.push_back(centrality_entry());
  out.push_back(edge_entry());
  out.push_back(laplacian_entry());
  out.push_back(rwse_entry());
}

}  // namespace posenc::catalogue::detail
