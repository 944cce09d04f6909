// posenc/graph.hpp — positions from a graph's topology.
//
// A Graph holds N nodes 0 .. N-1 and an edge list (directed or not, optional
// weights, self-loops and multi-edges kept as given). It is built from plain
// edge lists, from any Boost.Graph graph (posenc/graph_boost.hpp), or read from
// an edge-list CSV, GraphML or Graphviz DOT file (Boost's readers).
//
// Encodings: shortest-path distances (BFS for hops, Dijkstra for weights) and
// Graphormer's spatial encoding as a per-tile table bias of the core; degree
// (Graphormer centrality embeddings), betweenness, closeness, PageRank and
// eigenvector centrality; Laplacian eigenvector encodings (combinatorial,
// symmetric-normalised, random-walk; dense LAPACK or Spectra); random-walk
// return probabilities; several small graphs packed into one sequence.
// Formulas, reference behaviour and quirks: docs/methods.md#graph.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <span>
#include <vector>

#include "posenc/encoding.hpp"
#include "posenc/gradients.hpp"

namespace posenc {

// ------------------------------------------------------------------ graphs

/// One edge of a Graph: its two ends (node indices in [0, N)) and its weight.
struct GraphEdge {
  ///@{
  /// The ends: source -> target for directed graphs, either way otherwise.
  std::int64_t source = 0, target = 0;
  ///@}
  double weight = 1.0;  ///< finite; Dijkstra also needs it >= 0
};

/// N nodes 0 .. N-1 and an edge list (directed or not, optional weights, self-loops and
/// multi-edges kept as given), with CSR adjacency built once for the algorithms below.
class Graph {
 public:
  Graph() = default;
  /// N nodes and the edges between them. Throws std::invalid_argument for N < 0, an N whose CSR
  /// would not fit in the machine's memory, an edge whose end is not in [0, N) ("unknown node
  /// id"), or a non-finite weight. `names` (optional) gives
  /// each node's id as read from a file; empty means "0" .. "N-1".
  Graph(std::int64_t nodes, std::vector<GraphEdge> edges, bool directed = false,
        std::vector<std::string> names = {});

  std::int64_t nodes() const { return nodes_; }  ///< N
  bool directed() const { return directed_; }     ///< whether edges have a direction
  /// True when some weight differs from 1.
  bool weighted() const { return weighted_; }
  const std::vector<GraphEdge>& edges() const { return edges_; }  ///< the edges as given (edge ids index this list)
  /// Node ids: the names given, else "0" .. "N-1".
  std::vector<std::string> names() const;

  /// Out-neighbours in CSR form: the neighbours of u are adjacency()[offsets()[u] .. offsets()[u+1]),
  /// in edge order. An undirected edge appears at both ends (a self-loop once).
  const std::vector<std::int64_t>& offsets() const { return out_offsets_; }
  const std::vector<std::int64_t>& adjacency() const { return out_targets_; }  ///< CSR targets (see offsets())
  /// The weight of each adjacency() entry.
  const std::vector<double>& adjacency_weights() const { return out_weights_; }
  /// In-neighbours (for directed graphs; equal to the out-neighbours for undirected ones).
  const std::vector<std::int64_t>& in_offsets() const { return directed_ ? in_offsets_ : out_offsets_; }
  /// CSR sources of the in-edges (see in_offsets()).
  const std::vector<std::int64_t>& in_adjacency() const { return directed_ ? in_sources_ : out_targets_; }
  /// The weight of each in_adjacency() entry.
  const std::vector<double>& in_adjacency_weights() const { return directed_ ? in_weights_ : out_weights_; }

 private:
  std::int64_t nodes_ = 0;
  bool directed_ = false, weighted_ = false;
  std::vector<GraphEdge> edges_;
  std::vector<std::string> names_;
  std::vector<std::int64_t> out_offsets_{0}, out_targets_, in_offsets_{0}, in_sources_;
  std::vector<double> out_weights_, in_weights_;
};

// ------------------------------------------------------------------ files

/// GraphML elements and DOT blocks ({ } and [ ]) may nest at most this deep: deeper files are
/// rejected before parsing (Boost's readers recurse once per level and would overflow the stack).
inline constexpr std::size_t kMaxGraphFileNesting = 256;

/// How an edge list's node ids become rows (EdgeListCsvOptions::ids; docs/graph.md, "Row order").
enum class NodeIds {
  /// [default] ids that are all non-negative integers are 0-based indices, any other ids labels
  /// numbered in order of first appearance; with a node list, labels.
  automatic,
  /// every id is a label: rows in the node list's order, else (all ids digit strings) in
  /// increasing numeric order, else in order of first appearance.
  labels,
  zero_based,  ///< ids are indices 0 .. N-1: row = id (N = largest + 1, or the node list's length)
  one_based,   ///< ids are indices 1 .. N: row = id - 1 (an id 0 is an error); names "1" .. "N"
};

/// Options of read_edge_list_csv (and of read_graph for edge lists). Defaults in brackets.
struct EdgeListCsvOptions {
  bool directed = false;  ///< [false] edges are directed source -> target
  /// First row: "yes" / "no" force it. "auto" never drops a row silently: the first row is data
  /// when it reads as an edge like the others (same width, ids of the same kind, a finite weight);
  /// else it is a header only if every field is non-numeric text; anything else (a negative or
  /// empty id, a bad weight among numbers) is an error naming line 1. One exception: over named
  /// ids a first row of text whose first field is a usual header word (source, src, from, u,
  /// node1, head) is a header. A UTF-8 byte-order mark is skipped.
  std::string header = "auto";
  char delimiter = ',';   ///< [','] field separator (read_graph uses a tab for .tsv)
  std::int64_t nodes = 0;  ///< integer ids: at least this many nodes (isolated ones past the largest id); >= 0
  NodeIds ids = NodeIds::automatic;  ///< [automatic] ids as indices or labels
  /// Non-empty: every node, in row order (read_node_list), isolated ones included. Labels must
  /// each be listed (an unlisted id is an error naming the line); indices (zero_based, one_based)
  /// must lie within the list, whose entries name the rows. read_graph applies it to GraphML and
  /// DOT too (reorder_nodes).
  std::vector<std::string> node_names{};
};
/// A node list: one label per line, in row order; blank lines skipped, surrounding blanks
/// dropped, a line in double quotes unquoted as a CSV field ("" for a quote). Errors name the
/// file and line: an empty file, an empty label, a label listed twice.
std::vector<std::string> read_node_list(const std::string& path);
/// The same graph with its nodes in `order` (names, as Graph::names()): node names[v] becomes row
/// i where order[i] = names[v]; names in `order` the graph lacks become isolated nodes. Throws
/// when a node of the graph is not in `order` or `order` repeats a name.
Graph reorder_nodes(const Graph& graph, const std::vector<std::string>& order);
/// Integer ids used as indices may imply at most 1024 + kMaxNodesPerEndpoint x (2 x edges) nodes
/// unless EdgeListCsvOptions::nodes asks for that many (mostly isolated nodes are a sign of ids
/// that are labels, not indices).
inline constexpr std::int64_t kMaxNodesPerEndpoint = 64;
/// Edge-list CSV: one edge per row, `source,target[,weight]`, optional header, quoted fields
/// ("..." with "" for a quote), blank lines skipped. Node ids become rows as `options.ids` and
/// `options.node_names` say (by default ids that are all non-negative integers are used as
/// indices, N = largest + 1, so isolated nodes between them exist; otherwise ids are names
/// numbered in order of first appearance). Errors name the file, the line and the column.
/// An id of more than 18 digits is not an index; the node count an index implies is checked
/// against the machine's memory before anything is allocated (an error naming the id and bytes),
/// and may exceed kMaxNodesPerEndpoint nodes per edge endpoint (plus 1024) only when
/// options.nodes confirms it: a 22-byte file never allocates for millions of nodes.
Graph read_edge_list_csv(const std::string& path, const EdgeListCsvOptions& options = {});
/// GraphML through boost::read_graphml: directedness from edgedefault, node ids kept as names,
/// the edge attribute called `weight_key` (default "weight") used as weights. An edge without
/// the attribute weighs 1 (the Graphviz and networkx default; never 0), so a file without it is
/// unweighted; a value that is not a finite number is an error naming the edge. Elements nested
/// deeper than kMaxGraphFileNesting are an error.
Graph read_graphml(const std::string& path, const std::string& weight_key = "weight");
/// Graphviz DOT through boost::read_graphviz (graph or digraph); node ids kept as names, the edge
/// attribute `weight_key` used as weights exactly as for GraphML (only an edge attribute of that
/// name counts, a missing one is 1). Blocks nested deeper than kMaxGraphFileNesting are an error.
Graph read_dot(const std::string& path, const std::string& weight_key = "weight");
/// The format a file's extension names: .csv/.txt/.tsv/.edges (edge list; .tsv tab-separated),
/// .graphml/.xml, .dot/.gv; unknown otherwise (case-insensitive).
enum class GraphFormat { edge_list, graphml, dot, unknown };
GraphFormat graph_format(const std::string& path);  ///< The format named by path's extension (above).
/// By extension (graph_format); an unknown extension is an error. `csv` applies to edge lists (a
/// .tsv file gets a tab delimiter; csv.node_names to every format), `weight_key` to GraphML and DOT.
Graph read_graph(const std::string& path, const EdgeListCsvOptions& csv = {}, const std::string& weight_key = "weight");

// ------------------------------------------------------------------ shortest paths

/// Options of shortest_path_hops. Defaults: no clipping, unreachable = -1, OpenMP threads.
struct ShortestPathOptions {
  std::int64_t max_distance = -1;  ///< >= 0: distances above it are clipped to it (unreachable stays unreachable)
  std::int64_t unreachable = -1;   ///< value for pairs with no path (Graphormer: 510); unsigned outputs: -1 = the type's max
  int threads = 0;                 ///< 0 = OpenMP default; capped at 4 x the processors; the result does not depend on it
};
/// Hop counts [N, N]: out[i, j] = the fewest edges on a path i -> j (edge direction followed for
/// directed graphs; weights ignored), 0 on the diagonal. Bit-parallel BFS, 512 sources per block
/// over the in-edges (so each level writes consecutive entries of one row), each level top-down or
/// bottom-up by the edges it would scan (Beamer et al. 2012), threads over blocks.
ITensor shortest_path_hops(const Graph& graph, const ShortestPathOptions& options = {});
///@{
/// shortest_path_hops written into a caller's buffer `out` of N x N elements (row-major [N, N]): a
/// pipeline that reuses the buffer skips the allocation and first touch of a fresh output, and the
/// narrow types cut the memory written (BA(5000, 5): 200 MB as int64, 25 MB as uint8). Values:
/// int64 / int32 as shortest_path_hops; uint16 / uint8 clip distances at max_distance when given,
/// else at 65534 / 254, and write unreachable pairs as options.unreachable (-1, the default, means
/// 65535 / 255). An unreachable value or max_distance that does not fit the type, or an `out` of
/// another size, throws std::invalid_argument. Graphormer's inputs: uint16 with unreachable 510, or
/// uint8 with max_distance 20 (its spatial_pos_max) when farther pairs are masked anyway.
void shortest_path_hops_into(const Graph& graph, std::span<std::int64_t> out, const ShortestPathOptions& options = {});
void shortest_path_hops_into(const Graph& graph, std::span<std::int32_t> out, const ShortestPathOptions& options = {});
void shortest_path_hops_into(const Graph& graph, std::span<std::uint16_t> out, const ShortestPathOptions& options = {});
void shortest_path_hops_into(const Graph& graph, std::span<std::uint8_t> out, const ShortestPathOptions& options = {});
///@}

/// Weighted shortest-path lengths [N, N] by Dijkstra from every source (Boost), threads over
/// sources; `unreachable` for pairs with no path. Throws for a negative weight (naming the edge)
/// and for weights whose path lengths could overflow: min(sum of weights, (N - 1) x the largest)
/// must be at most 1e300 (rescale larger weights).
DTensor shortest_path_lengths(const Graph& graph, double unreachable = std::numeric_limits<double>::infinity(),
                              int threads = 0);

// ------------------------------------------------------------------ Graphormer spatial encoding

/// Graphormer spatial encoding options (microsoft/Graphormer collator.py, graphormer_layers.py);
/// `docs/methods.md#graphormer-spatial`. Defaults as the reference.
struct GraphormerSpatialOptions {
  std::int64_t num_spatial = 512;     ///< table columns; index = min(SPD, num_spatial - 2) + 1, 0 is padding
  std::int64_t unreachable = 510;     ///< SPD used for pairs with no path (Graphormer's Floyd-Warshall value)
  std::int64_t spatial_pos_max = 20;  ///< pairs with SPD >= this get -inf (collator); < 0: no masking
  bool hf_off_by_one = false;         ///< HF's variant: masks SPD >= spatial_pos_max - 1
  bool graph_token = true;            ///< a leading graph token (index 0 of the sequence)
};
/// b_h(i, j) = table[h, SPD(i, j) + 1] over the nodes, -inf where the SPD reaches spatial_pos_max,
/// and with the graph token the learned t_h on row 0 and column 0 ([0, 0] once). table
/// [H|1, num_spatial], graph_token [H|1] (required when options.graph_token). A table bias over an
/// explicit [P + N, P + N] index (no [H, N, N] tensor): the core evaluates it per tile.
Encoding graphormer_spatial(const Graph& graph, const Tensor& table, const Tensor& graph_token = {},
                            const GraphormerSpatialOptions& options = {});
/// The index matrix [P + N, P + N] of graphormer_spatial; columns num_spatial (graph token) and
/// num_spatial + 1 (masked) follow the table's.
ITensor graphormer_spatial_index(const Graph& graph, const GraphormerSpatialOptions& options = {});
/// Initial table [heads, num_spatial] (row 0 zero as padding_idx; N(0, 0.02) as Graphormer's init).
Tensor graphormer_table_init(std::int64_t heads, std::int64_t num_spatial = 512, std::uint64_t seed = 0);

// ------------------------------------------------------------------ Graphormer edge encoding

/// Which shortest path carries the edge features of a pair.
enum class PathChoice {
  floyd_warshall,  ///< Graphormer's: the path its Floyd-Warshall rebuilds (last strictly improving k, recursively)
  bfs_tree,        ///< the BFS tree path from i (first-discovered parents)
};
/// Graphormer multi-hop edge encoding options (`docs/methods.md#graphormer-edge`).
struct GraphormerEdgeOptions {
  std::int64_t max_hops = 5;  ///< multi_hop_max_dist D
  PathChoice path = PathChoice::floyd_warshall;  ///< which shortest path [floyd_warshall, as the reference]
  bool graph_token = true;    ///< a leading row/column of zeros for the graph token
};
/// The edges along the chosen shortest path of every pair: [N, N, max_hops] ids into graph.edges()
/// (hop n of the path from i to j), -1 past the path's end, on the diagonal and for unreachable
/// pairs. Between two nodes joined by several edges, the last one in edge order (the reference
/// writes a dense attribute matrix edge by edge). Undirected edges serve both directions.
/// Floyd-Warshall is O(N^3): fine for molecules (the reference drops graphs above 512 nodes).
ITensor shortest_path_edges(const Graph& graph, std::int64_t max_hops = 5, PathChoice path = PathChoice::floyd_warshall);

/// Graphormer's multi-hop edge encoding (graphormer_layers.py, multi_hop): for a reachable pair
/// i != j with SPD s, c_h(i, j) = (1 / min(s, D)) sum_{n < min(s, D)} (e_n W_n)[h], where e_n [H] is
/// the mean over the C feature columns of edge_table[ids[edge_n, c]] and W_n = hop_weights[n] [H, H];
/// 0 on the diagonal and for unreachable pairs. edge_feature_ids [E, C] are rows of edge_table
/// [R, H] (Graphormer: value + 512 c + 2, row 0 = padding). A dense bias [1, H, P + N, P + N]
/// (a per-pair sum over paths has no table form).
Encoding graphormer_edge_bias(const Graph& graph, const ITensor& edge_feature_ids, const Tensor& edge_table,
                              const Tensor& hop_weights, const GraphormerEdgeOptions& options = {});

// ------------------------------------------------------------------ centrality

/// Which degree: incoming, outgoing, or both (equal for undirected graphs).
enum class DegreeKind { in, out, total };
/// Degrees [N]: in / out for directed graphs (edge counts, weights ignored); for undirected graphs
/// all three are the number of edge ends at the node (a self-loop counts twice, as networkx).
ITensor degrees(const Graph& graph, DegreeKind kind = DegreeKind::total);

/// Graphormer centrality options (`docs/methods.md#graphormer-centrality`). Defaults in brackets
/// are the reference's table size with clipping added.
struct GraphormerCentralityOptions {
  std::int64_t max_degree = 510;  ///< degrees above it are clipped (table rows: max_degree + 2)
  bool clip = true;               ///< false: a degree above max_degree throws
  bool row_sum_compat = false;    ///< the reference's quirk: the out-degree (row sum) for both tables
  std::int64_t prefix_tokens = 1; ///< zero rows first (the graph token)
};
/// Graphormer centrality: h_i += z_in[deg_in(i) + 1] + z_out[deg_out(i) + 1] (row 0 = padding),
/// tables [max_degree + 2, D]; undirected graphs use the degree in both. input_add [1, P + N, D].
Encoding graphormer_centrality(const Graph& graph, const Tensor& in_table, const Tensor& out_table,
                               const GraphormerCentralityOptions& options = {});

/// Betweenness (Brandes 2001, Boost; parallel edges count once, self-loops ignored): hop paths, or
/// weighted (weights > 0) when the graph is; networkx's
/// normalisation when `normalized` (1/((n-1)(n-2)), times 2 for undirected graphs), raw
/// pair counts (undirected pairs once) otherwise. [N].
std::vector<double> betweenness_centrality(const Graph& graph, bool normalized = true);
/// Closeness (networkx, Wasserman-Faust improved): c(u) = (r - 1)/sum d(v, u) * (r - 1)/(N - 1) over
/// the r nodes that reach u (incoming distances for directed graphs); 0 when none does. Hops (networkx's
/// default), or Dijkstra lengths when `use_weights` and the graph is weighted. [N].
std::vector<double> closeness_centrality(const Graph& graph, bool use_weights = false);
/// PageRank (networkx `pagerank`): power iteration x <- alpha (x P + dangling mass / N) + (1 - alpha)/N,
/// P row-normalised by weighted out-degree, until sum |dx| < N tol. Throws when max_iter is reached,
/// for a negative weight (naming the edge) and for weights summing above 1e300.
std::vector<double> pagerank(const Graph& graph, double alpha = 0.85, double tol = 1e-6, int max_iter = 100);
/// Eigenvector centrality (networkx `eigenvector_centrality`, weight=None): x <- (A^T + I) x / ||.||_2 from
/// the uniform vector until sum |dx| < N tol; unit L2 norm; parallel edges count once. Throws when
/// max_iter is reached.
std::vector<double> eigenvector_centrality(const Graph& graph, double tol = 1e-6, int max_iter = 100);

// ------------------------------------------------------------------ Graphormer backward
//
// Each takes the forward's arguments and the EncodingGrad that the core (attention_backward,
// or apply_input_backward for input_add) returned for the forward's Encoding, part for part
// (for a combine()d encoding, pass an EncodingGrad holding only this builder's parts). The
// results have the parameters' shapes; sums run in double. Entries that are -inf in the forward
// (masked table entries and graph tokens) get exactly zero gradient. Throws
// std::invalid_argument when a needed part of `grad` is missing or has the wrong shape.

/// Gradients of graphormer_spatial's parameters, with their shapes.
struct GraphormerSpatialGrad {
  Tensor table;        ///< [H|1, num_spatial], as the forward's table
  Tensor graph_token;  ///< [H|1], as the forward's graph_token; empty without options.graph_token
};
/// Backward of graphormer_spatial. With G = grad.biases[0].table [H|1, num_spatial + 2] (the
/// forward's table rows):
///   d table[h, c]     = G[h, c]                         c < num_spatial (column 0, padding, too)
///   d graph_token[h]  = G[h, num_spatial]               graph_token [H] (options.graph_token only)
///   d graph_token[0]  = sum_h G[h, num_spatial]         graph_token [1] shared by the heads
/// The masked column num_spatial + 1 and parameter entries at -inf get no gradient.
GraphormerSpatialGrad graphormer_spatial_backward(const Graph& graph, const Tensor& table, const Tensor& graph_token,
                                                  const GraphormerSpatialOptions& options, const EncodingGrad& grad);

/// Gradients of graphormer_centrality's two tables, with their shapes.
struct GraphormerCentralityGrad {
  Tensor in_table;   ///< [max_degree + 2, D]
  Tensor out_table;  ///< [max_degree + 2, D]
};
/// Backward of graphormer_centrality. With G = grad.input_add [1, P + N, D]:
///   d in_table[r]  = sum_{i : row(deg_in(i)) = r} G[0, P + i]
///   d out_table[r] = sum_{i : row(deg_out(i)) = r} G[0, P + i]
/// row(d) = min(d, max_degree) + 1 (clip), deg_in = deg_out = the out-degree with
/// row_sum_compat; the P prefix rows carry no parameter. Row 0 (padding) gets zero.
GraphormerCentralityGrad graphormer_centrality_backward(const Graph& graph, const Tensor& in_table,
                                                        const Tensor& out_table,
                                                        const GraphormerCentralityOptions& options,
                                                        const EncodingGrad& grad);

/// Gradients of graphormer_edge_bias's parameters, with their shapes.
struct GraphormerEdgeGrad {
  Tensor edge_table;   ///< [R, H]
  Tensor hop_weights;  ///< [>= max_hops, H, H] (rows past max_hops zero)
};
/// Backward of graphormer_edge_bias. With G = grad.biases[0].dense [1, H, P + N, P + N], for each
/// reachable pair i != j with L = min(SPD, D) hops along edges e_0 .. e_{L-1}:
///   dproj[n, e_n, h] += G[0, h, P + i, P + j] / L            n < L
///   d hop_weights[n, a, h] = sum_e emb[e, a] dproj[n, e, h]  emb[e, a] = (1/C) sum_c edge_table[ids[e, c], a]
///   d emb[e, a]     = sum_n sum_h dproj[n, e, h] hop_weights[n, a, h]
///   d edge_table[r, a] = (1/C) sum_{(e, c) : ids[e, c] = r} d emb[e, a]
/// The graph token's row and column, the diagonal and unreachable pairs carry no parameter.
GraphormerEdgeGrad graphormer_edge_bias_backward(const Graph& graph, const ITensor& edge_feature_ids,
                                                 const Tensor& edge_table, const Tensor& hop_weights,
                                                 const GraphormerEdgeOptions& options, const EncodingGrad& grad);

// ------------------------------------------------------------------ Laplacian eigenvectors

/// Which graph Laplacian laplacian_pe diagonalises.
enum class LaplacianKind {
  combinatorial,  ///< L = D - A
  symmetric,      ///< L = I - D^-1/2 A D^-1/2 (PyG 'sym'; a node of degree 0 keeps L_ii = 1)
  random_walk,    ///< L = I - D^-1 A (eigenvectors D^-1/2 u of the symmetric ones, unit norm)
};
/// Eigen-solver: automatic (dense up to LaplacianPeOptions::dense_max_nodes), dense LAPACK, or sparse
/// (Chebyshev-filtered block subspace iteration; Spectra's Lanczos if it does not converge).
enum class EigenSolver { automatic, dense, sparse };

/// Laplacian eigenvector PE options (`docs/methods.md#laplacian-pe`). Defaults in brackets.
struct LaplacianPeOptions {
  std::int64_t k = 8;                     ///< non-trivial eigenvectors kept
  LaplacianKind kind = LaplacianKind::symmetric;  ///< [symmetric] I - D^-1/2 A D^-1/2 (PyG 'sym')
  /// Which vectors are trivial: true (default) every eigenvalue ~ 0, one per connected component
  /// (isolated nodes under the normalised Laplacians have eigenvalue 1 and are not trivial);
  /// false: only the first, as PyG.
  bool drop_per_component = true;
  bool pad = false;                       ///< k > available: zero columns (eigenvalue NaN) instead of an error
  bool random_flip = false;               ///< seeded random sign per column (PyG's augmentation)
  std::uint64_t seed = 0;                 ///< [0] seed of random_flip
  EigenSolver solver = EigenSolver::automatic;  ///< [automatic]
  std::int64_t dense_max_nodes = 200;     ///< automatic: dense LAPACK up to this size, sparse above (docs/graph.md)
};
/// What laplacian_pe returns.
struct LaplacianPe {
  Tensor vectors;                   ///< [N, k]: column c belongs to eigenvalues[c]
  std::vector<double> eigenvalues;  ///< [k], ascending (NaN for padded columns)
  std::int64_t components = 0;      ///< connected components (weakly, for directed input)
  std::int64_t trivial = 0;         ///< eigenvectors skipped as trivial
  /// The eigenvalue after the last one kept (NaN when the graph has none, or with padding).
  double next_eigenvalue = std::numeric_limits<double>::quiet_NaN();
  /// next_eigenvalue - eigenvalues[k - 1] (NaN as next_eigenvalue). Below kEigengapTolerance the k
  /// vectors do not span a defined subspace: `warning` says so.
  double eigengap = std::numeric_limits<double>::quiet_NaN();
  std::string warning;              ///< empty, or why the result is not unique (eigengap)
};
/// The eigengap below which laplacian_pe warns: 1e-8, far above both solvers' accuracy (LAPACK's
/// ~1e-15 ||L||; the sparse solver's residuals <= 1e-10 ||L|| bound eigenvalue errors far below
/// that), far below gaps that separate distinct eigenvalues.
inline constexpr double kEigengapTolerance = 1e-8;
/// The k smallest non-trivial eigenvectors of the Laplacian of the symmetrised graph (A + A^T)/2 for
/// directed input, weights used, self-loops removed. Sign: the entry of largest magnitude is
/// positive (entries within a relative 1e-6 of it tie; the lowest node decides), unless random_flip.
/// Dense: LAPACK dsyevd; sparse: Chebyshev-filtered subspace iteration (Zhou & Saad 2007) on a block
/// of s + max(8, s/2) vectors rounded up to 8 (s = k + trivial + 1; 32 for k = 16), products in float until the residuals reach 1e-4 then in
/// double, Rayleigh-Ritz in double, residuals <= 1e-10 ||L|| bound; threads over row blocks, results
/// bit-identical for any thread count; Spectra's Lanczos on c I - L if it has not converged in 300
/// rounds. Throws for k < 1, an empty graph, or k > available without pad.
LaplacianPe laplacian_pe(const Graph& graph, const LaplacianPeOptions& options = {});

// ------------------------------------------------------------------ random-walk structural encoding

/// RWSE [N, steps]: column s-1 = (P^s)_ii, s = 1 .. steps, P = D^-1 A with degrees clamped to >= 1.
/// Default P_ij = w_ij / deg_i with weighted degrees; `pyg_compat`: P_ij = 1/deg_i (PyG: weights
/// only enter the degree). Throws for a negative weight (P would not hold probabilities; naming
/// the edge) and for weights summing above 1e300.
Tensor random_walk_pe(const Graph& graph, std::int64_t steps, bool pyg_compat = false);

// ------------------------------------------------------------------ packing many small graphs

/// Graphs laid end to end: node n of graph g is token offsets[g] + n; offsets has G + 1 entries.
struct PackedGraphs {
  std::vector<Graph> graphs;          ///< the G graphs, in order
  std::vector<std::int64_t> offsets;  ///< [G + 1] first token of each graph, then the total
  std::int64_t tokens() const { return offsets.empty() ? 0 : offsets.back(); }  ///< total nodes
  /// Segment ids [1, tokens] (graph index per token) for AttentionOptions.mask, so that tokens
  /// attend within their own graph only.
  ITensor segments() const;
};
/// Lay graphs end to end (PackedGraphs); pass segments() to the mask.
PackedGraphs pack_graphs(std::vector<Graph> graphs);
/// Per-graph features [N_g, F] stacked to [tokens, F] (the same F for every graph).
Tensor stack_packed(const PackedGraphs& packed, const std::vector<Tensor>& per_graph);
/// The Laplacian encoding of each graph, stacked [tokens, k] (pad is forced so small graphs fit).
Tensor laplacian_pe_packed(const PackedGraphs& packed, LaplacianPeOptions options);
/// Hop distances within each graph on the packed sequence, [tokens, tokens]; pairs in different
/// graphs get `unreachable`.
ITensor shortest_path_hops_packed(const PackedGraphs& packed, const ShortestPathOptions& options = {});

}  // namespace posenc
