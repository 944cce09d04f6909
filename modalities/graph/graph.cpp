// The graph type, its CSR views, file readers (edge-list CSV; GraphML and DOT through Boost)
// and packing of many small graphs.
#include "posenc/graph.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <type_traits>
#include <unordered_map>

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/graphml.hpp>
#include <boost/graph/graphviz.hpp>
#include <boost/property_map/dynamic_property_map.hpp>

#include "detail/check.hpp"
#include "detail/csv.hpp"

namespace posenc {

namespace {

/// CSR from (from, to, weight) triples, stable in edge order.
void build_csr(std::int64_t n, const std::vector<std::tuple<std::int64_t, std::int64_t, double>>& arcs,
               std::vector<std::int64_t>& offsets, std::vector<std::int64_t>& targets, std::vector<double>& weights) {
  offsets.assign(static_cast<std::size_t>(n) + 1, 0);
  for (const auto& [u, v, w] : arcs) ++offsets[static_cast<std::size_t>(u) + 1];
  for (std::size_t i = 1; i < offsets.size(); ++i) offsets[i] += offsets[i - 1];
  targets.assign(arcs.size(), 0);
  weights.assign(arcs.size(), 0.0);
  std::vector<std::int64_t> fill(offsets.begin(), offsets.end() - 1);
  for (const auto& [u, v, w] : arcs) {
    const auto at = static_cast<std::size_t>(fill[static_cast<std::size_t>(u)]++);
    targets[at] = v;
    weights[at] = w;
  }
}

}  // namespace

Graph::Graph(std::int64_t nodes, std::vector<GraphEdge> edges, bool directed, std::vector<std::string> names)
    : nodes_(nodes), directed_(directed), edges_(std::move(edges)), names_(std::move(names)) {
  const char* fn = "Graph";
  if (nodes < 0) detail::fail(fn, "parameter 'nodes' must be >= 0, got ", nodes);
  if (!names_.empty() && static_cast<std::int64_t>(names_.size()) != nodes)
    detail::fail(fn, "parameter 'names' must have one entry per node (", nodes, "), got ", names_.size());
  std::vector<std::tuple<std::int64_t, std::int64_t, double>> out, in;
  out.reserve(edges_.size() * (directed ? 1 : 2));
  for (std::size_t e = 0; e < edges_.size(); ++e) {
    const GraphEdge& g = edges_[e];
    if (g.source < 0 || g.source >= nodes || g.target < 0 || g.target >= nodes)
      detail::fail(fn, "edge ", e, " (", g.source, " -> ", g.target, ") has an unknown node id: nodes are 0 .. ",
                   nodes - 1);
    if (!std::isfinite(g.weight)) detail::fail(fn, "edge ", e, " has a non-finite weight ", g.weight);
    if (g.weight != 1.0) weighted_ = true;
    out.emplace_back(g.source, g.target, g.weight);
    if (directed)
      in.emplace_back(g.target, g.source, g.weight);
    else if (g.source != g.target)
      out.emplace_back(g.target, g.source, g.weight);
  }
  // Undirected: keep each node's neighbours in edge order (both ends of edge e before edge e + 1).
  if (!directed)
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return std::get<0>(a) < std::get<0>(b); });
  build_csr(nodes, out, out_offsets_, out_targets_, out_weights_);
  if (directed) build_csr(nodes, in, in_offsets_, in_sources_, in_weights_);
}

std::vector<std::string> Graph::names() const {
  if (!names_.empty()) return names_;
  std::vector<std::string> n(static_cast<std::size_t>(nodes_));
  for (std::int64_t i = 0; i < nodes_; ++i) n[static_cast<std::size_t>(i)] = std::to_string(i);
  return n;
}

// ====================================================================== edge-list CSV

namespace {

bool parse_index(const std::string& s, std::int64_t& out) {
  if (s.empty() || !std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); })) return false;
  if (s.size() > 18) return false;
  out = std::stoll(s);
  return true;
}

}  // namespace

Graph read_edge_list_csv(const std::string& path, const EdgeListCsvOptions& o) {
  const char* fn = "read_edge_list_csv";
  if (o.header != "auto" && o.header != "yes" && o.header != "no")
    detail::fail(fn, "parameter 'header' must be auto, yes or no, got '", o.header, "'");
  std::ifstream in(path);
  if (!in) detail::fail(fn, "cannot open '", path, "'");
  struct Row {
    std::size_t line;
    std::vector<std::string> f;
  };
  std::vector<Row> rows;
  std::string line;
  std::size_t lineno = 0;
  std::vector<std::string_view> fields;
  std::vector<std::string> scratch;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (!detail::split_fields(line, o.delimiter, fields, scratch))
      detail::fail(fn, path, ":", lineno, ": column ", fields.size() + 1, ": unterminated quoted field");
    rows.push_back({lineno, std::vector<std::string>(fields.begin(), fields.end())});
  }
  if (rows.empty()) detail::fail(fn, path, ": no edges (the file is empty)");
  // Header: forced, or detected from the first row against the second.
  bool header = o.header == "yes";
  if (o.header == "auto") {
    const auto& f = rows[0].f;
    double w = 0;
    std::int64_t id = 0;
    const bool numeric_ids_later = rows.size() > 1 && rows[1].f.size() >= 2 && parse_index(rows[1].f[0], id) &&
                                   parse_index(rows[1].f[1], id);
    header = (f.size() >= 3 && !detail::parse_double(f[2], w)) ||
             (numeric_ids_later && f.size() >= 2 && (!parse_index(f[0], id) || !parse_index(f[1], id)));
    if (!header && f.size() >= 2) {  // common header words
      std::string a = f[0];
      std::transform(a.begin(), a.end(), a.begin(), [](unsigned char c) { return std::tolower(c); });
      header = a == "source" || a == "src" || a == "from" || a == "u" || a == "node1" || a == "head";
    }
  }
  const std::size_t first = header ? 1 : 0;
  if (rows.size() <= first) detail::fail(fn, path, ": no edges after the header");
  const std::size_t width = rows[first].f.size();
  if (width < 2 || width > 3)
    detail::fail(fn, path, ":", rows[first].line, ": expected 2 or 3 columns (source, target[, weight]), got ", width);
  bool all_indices = true;
  for (std::size_t r = first; r < rows.size(); ++r) {
    const Row& row = rows[r];
    if (row.f.size() != width)
      detail::fail(fn, path, ":", row.line, ": expected ", width, " columns like line ", rows[first].line, ", got ",
                   row.f.size(), " (ragged row)");
    for (std::size_t c = 0; c < 2; ++c) {
      if (row.f[c].empty()) detail::fail(fn, path, ":", row.line, ": column ", c + 1, ": empty node id");
      std::int64_t id = 0;
      all_indices = all_indices && parse_index(row.f[c], id);
    }
  }
  std::vector<GraphEdge> edges;
  std::vector<std::string> names;
  std::unordered_map<std::string, std::int64_t> index;
  std::int64_t n = all_indices ? std::max<std::int64_t>(o.nodes, 0) : 0;
  auto node = [&](const std::string& s) {
    if (all_indices) {
      const std::int64_t id = std::stoll(s);
      n = std::max(n, id + 1);
      return id;
    }
    auto [it, added] = index.emplace(s, static_cast<std::int64_t>(names.size()));
    if (added) names.push_back(s);
    return it->second;
  };
  for (std::size_t r = first; r < rows.size(); ++r) {
    const Row& row = rows[r];
    GraphEdge e;
    e.source = node(row.f[0]);
    e.target = node(row.f[1]);
    if (width == 3) {
      if (!detail::parse_double(row.f[2], e.weight) || !std::isfinite(e.weight))
        detail::fail(fn, path, ":", row.line, ": column 3: weight '", row.f[2], "' is not a finite number");
    }
    edges.push_back(e);
  }
  if (!all_indices) n = static_cast<std::int64_t>(names.size());
  return Graph(n, std::move(edges), o.directed, std::move(names));
}

// ====================================================================== GraphML and DOT (Boost)

namespace {

template <class Directedness>
using BoostGraph = boost::adjacency_list<boost::vecS, boost::vecS, Directedness,
                                         boost::property<boost::vertex_name_t, std::string>,
                                         boost::property<boost::edge_weight_t, double>>;

/// Reads with Boost into a graph of the file's directedness (Boost refuses a mismatch), then copies.
template <class Directedness, class Read>
Graph read_with_boost(const char* fn, const std::string& path, const std::string& text, const std::string& weight_key,
                      bool has_weight, Read read) {
  BoostGraph<Directedness> g;
  boost::dynamic_properties dp(boost::ignore_other_properties);
  dp.property("node_id", boost::get(boost::vertex_name, g));
  auto w = boost::get(boost::edge_weight, g);
  if (has_weight) dp.property(weight_key, w);
  try {
    read(text, g, dp);
  } catch (const std::exception& e) {
    detail::fail(fn, path, ": ", e.what());
  }
  const auto n = static_cast<std::int64_t>(boost::num_vertices(g));
  std::vector<std::string> names(static_cast<std::size_t>(n));
  for (std::int64_t v = 0; v < n; ++v)
    names[static_cast<std::size_t>(v)] = boost::get(boost::vertex_name, g, static_cast<std::size_t>(v));
  std::vector<GraphEdge> edges;
  for (auto [it, end] = boost::edges(g); it != end; ++it)
    edges.push_back({static_cast<std::int64_t>(boost::source(*it, g)), static_cast<std::int64_t>(boost::target(*it, g)),
                     has_weight ? boost::get(w, *it) : 1.0});
  return Graph(n, std::move(edges), std::is_same_v<Directedness, boost::directedS>, std::move(names));
}

std::string slurp(const char* fn, const std::string& path) {
  std::ifstream in(path);
  if (!in) detail::fail(fn, "cannot open '", path, "'");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

Graph read_graphml(const std::string& path, const std::string& weight_key) {
  const char* fn = "read_graphml";
  const std::string text = slurp(fn, path);
  const bool has_weight = text.find("attr.name=\"" + weight_key + "\"") != std::string::npos;
  auto read = [](const std::string& t, auto& g, boost::dynamic_properties& dp) {
    std::istringstream in(t);
    boost::read_graphml(in, g, dp);
  };
  // GraphML: edgedefault="directed" | "undirected" on the <graph> element.
  if (text.find("edgedefault=\"directed\"") != std::string::npos)
    return read_with_boost<boost::directedS>(fn, path, text, weight_key, has_weight, read);
  return read_with_boost<boost::undirectedS>(fn, path, text, weight_key, has_weight, read);
}

Graph read_dot(const std::string& path, const std::string& weight_key) {
  const char* fn = "read_dot";
  const std::string text = slurp(fn, path);
  const bool has_weight = text.find(weight_key) != std::string::npos;
  auto read = [](const std::string& t, auto& g, boost::dynamic_properties& dp) {
    if (!boost::read_graphviz(t, g, dp, "node_id")) throw std::runtime_error("not a Graphviz graph");
  };
  // A DOT file is a digraph when its first keyword (after optional "strict") is "digraph".
  std::istringstream words(text);
  std::string word;
  bool directed = false;
  while (words >> word) {
    std::transform(word.begin(), word.end(), word.begin(), [](unsigned char c) { return std::tolower(c); });
    if (word == "strict") continue;
    directed = word.rfind("digraph", 0) == 0;
    break;
  }
  if (directed) return read_with_boost<boost::directedS>(fn, path, text, weight_key, has_weight, read);
  return read_with_boost<boost::undirectedS>(fn, path, text, weight_key, has_weight, read);
}

GraphFormat graph_format(const std::string& path) {
  const auto dot = path.find_last_of('.');
  std::string ext = dot == std::string::npos ? "" : path.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ext == "graphml" || ext == "xml") return GraphFormat::graphml;
  if (ext == "dot" || ext == "gv") return GraphFormat::dot;
  if (ext == "csv" || ext == "txt" || ext == "tsv" || ext == "edges") return GraphFormat::edge_list;
  return GraphFormat::unknown;
}

Graph read_graph(const std::string& path, const EdgeListCsvOptions& csv, const std::string& weight_key) {
  switch (graph_format(path)) {
    case GraphFormat::graphml: return read_graphml(path, weight_key);
    case GraphFormat::dot: return read_dot(path, weight_key);
    case GraphFormat::edge_list: {
      EdgeListCsvOptions o = csv;
      const bool tsv = path.size() >= 4 && (path.ends_with(".tsv") || path.ends_with(".TSV"));
      if (tsv && o.delimiter == ',') o.delimiter = '\t';
      return read_edge_list_csv(path, o);
    }
    case GraphFormat::unknown: break;
  }
  detail::fail("read_graph", "cannot tell the format of '", path,
               "' from its extension (csv, txt, tsv, edges, graphml, xml, dot, gv)");
}

// ====================================================================== packing

PackedGraphs pack_graphs(std::vector<Graph> graphs) {
  PackedGraphs p;
  p.offsets.push_back(0);
  for (const auto& g : graphs) p.offsets.push_back(p.offsets.back() + g.nodes());
  p.graphs = std::move(graphs);
  return p;
}

ITensor PackedGraphs::segments() const {
  ITensor s = ITensor::from_shape({1, static_cast<std::size_t>(tokens())});
  for (std::size_t g = 0; g + 1 < offsets.size(); ++g)
    for (std::int64_t t = offsets[g]; t < offsets[g + 1]; ++t) s(0, static_cast<std::size_t>(t)) = static_cast<std::int64_t>(g);
  return s;
}

Tensor stack_packed(const PackedGraphs& packed, const std::vector<Tensor>& per_graph) {
  const char* fn = "stack_packed";
  if (per_graph.size() != packed.graphs.size())
    detail::fail(fn, "parameter 'per_graph' must have one tensor per graph (", packed.graphs.size(), "), got ",
                 per_graph.size());
  const std::size_t f = per_graph.empty() ? 0 : per_graph[0].shape()[1];
  Tensor out = Tensor::from_shape({static_cast<std::size_t>(packed.tokens()), f});
  for (std::size_t g = 0; g < per_graph.size(); ++g) {
    const Tensor& t = per_graph[g];
    if (t.dimension() != 2 || t.shape()[0] != static_cast<std::size_t>(packed.graphs[g].nodes()) || t.shape()[1] != f)
      detail::fail(fn, "per_graph[", g, "] must be [", packed.graphs[g].nodes(), ", ", f, "], got ", shape_string(t));
    std::copy(t.begin(), t.end(), out.data() + static_cast<std::size_t>(packed.offsets[g]) * f);
  }
  return out;
}

Tensor laplacian_pe_packed(const PackedGraphs& packed, LaplacianPeOptions options) {
  options.pad = true;
  std::vector<Tensor> parts;
  for (const auto& g : packed.graphs) parts.push_back(laplacian_pe(g, options).vectors);
  return stack_packed(packed, parts);
}

ITensor shortest_path_hops_packed(const PackedGraphs& packed, const ShortestPathOptions& options) {
  const auto n = static_cast<std::size_t>(packed.tokens());
  ITensor out = xt::full_like(ITensor::from_shape({n, n}), options.unreachable);
  for (std::size_t g = 0; g < packed.graphs.size(); ++g) {
    const ITensor d = shortest_path_hops(packed.graphs[g], options);
    const auto o = static_cast<std::size_t>(packed.offsets[g]), m = d.shape()[0];
    for (std::size_t i = 0; i < m; ++i) std::copy_n(d.data() + i * m, m, out.data() + (o + i) * n + o);
  }
  return out;
}

}  // namespace posenc
