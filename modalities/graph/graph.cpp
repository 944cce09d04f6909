// The graph type, its CSR views, file readers (edge-list CSV; GraphML and DOT through Boost)
// and packing of many small graphs.
#include "posenc/graph.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <type_traits>
#include <unordered_map>

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/graphml.hpp>
#include <boost/graph/graphviz.hpp>
#include <boost/make_shared.hpp>
#include <boost/property_map/dynamic_property_map.hpp>

#include "detail/check.hpp"
#include "detail/csv.hpp"

namespace posenc {

namespace {

/// What a Graph holds per node at least (out and in CSR offsets), for require_allocation.
constexpr long double kGraphBytesPerNode = 2 * sizeof(std::int64_t);

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
  detail::require_allocation(fn, "parameter 'nodes' =", static_cast<long double>(nodes), kGraphBytesPerNode);
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

// The edge-list CSV reader, node lists and reorder_nodes: edge_list.cpp.

// ====================================================================== GraphML and DOT (Boost)

namespace {

template <class Directedness>
using BoostGraph = boost::adjacency_list<boost::vecS, boost::vecS, Directedness,
                                         boost::property<boost::vertex_name_t, std::string>,
                                         // never read: gives every edge its own property object, whose
                                         // address identifies the edge for WeightCollector
                                         boost::property<boost::edge_weight_t, double>>;

/// Collects the weight attribute of the edges that have one, whatever type the file declares
/// (DOT gives text, GraphML a typed value); edges without one are simply absent.
template <class Edge>
class WeightCollector : public boost::dynamic_property_map {
 public:
  struct Value {
    bool text = false;
    std::string raw;
    double number = 0;
  };
  std::map<const void*, Value> values;  // by the edge's property pointer (stable, unique)

  boost::any get(const boost::any& key) override {
    auto it = values.find(boost::any_cast<Edge>(key).get_property());
    return it == values.end() ? boost::any(std::string()) : boost::any(it->second.raw);
  }
  std::string get_string(const boost::any& key) override { return boost::any_cast<std::string>(get(key)); }
  void put(const boost::any& key, const boost::any& value) override {
    Value v;
    const std::type_info& t = value.type();
    if (t == typeid(std::string)) {
      v.text = true;
      v.raw = boost::any_cast<std::string>(value);
    } else if (t == typeid(double)) v.number = boost::any_cast<double>(value);
    else if (t == typeid(float)) v.number = boost::any_cast<float>(value);
    else if (t == typeid(int)) v.number = boost::any_cast<int>(value);
    else if (t == typeid(long)) v.number = static_cast<double>(boost::any_cast<long>(value));
    else if (t == typeid(bool)) v.number = boost::any_cast<bool>(value) ? 1.0 : 0.0;
    else throw std::runtime_error("the weight attribute has an unsupported type");
    if (!v.text) v.raw = detail::cat(v.number);
    values[boost::any_cast<Edge>(key).get_property()] = std::move(v);
  }
  const std::type_info& key() const override { return typeid(Edge); }
  const std::type_info& value() const override { return typeid(std::string); }
};

/// Reads with Boost into a graph of the file's directedness (Boost refuses a mismatch), then copies.
/// Weights: the `weight_key` attribute where an edge has one; an edge without it gets 1 (the
/// Graphviz and networkx default), so files without the attribute are unweighted.
template <class Directedness, class Read>
Graph read_with_boost(const char* fn, const std::string& path, const std::string& text, const std::string& weight_key,
                      Read read) {
  using BG = BoostGraph<Directedness>;
  using Edge = typename boost::graph_traits<BG>::edge_descriptor;
  BG g;
  boost::dynamic_properties dp(boost::ignore_other_properties);
  dp.property("node_id", boost::get(boost::vertex_name, g));
  auto weights = boost::make_shared<WeightCollector<Edge>>();
  dp.insert(weight_key, weights);
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
  for (auto [it, end] = boost::edges(g); it != end; ++it) {
    const auto u = boost::source(*it, g), v = boost::target(*it, g);
    double w = 1.0;
    auto found = weights->values.find((*it).get_property());
    if (found != weights->values.end()) {
      const auto& val = found->second;
      bool ok = true;
      if (val.text) ok = detail::parse_double(std::string(detail::trim(val.raw)), w);
      else w = val.number;
      if (!ok || !std::isfinite(w))
        detail::fail(fn, path, ": edge '", names[u], "' -> '", names[v], "': attribute '", weight_key, "' = '", val.raw,
                     "' is not a finite number");
    }
    edges.push_back({static_cast<std::int64_t>(u), static_cast<std::int64_t>(v), w});
  }
  return Graph(n, std::move(edges), std::is_same_v<Directedness, boost::directedS>, std::move(names));
}

std::string slurp(const char* fn, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) detail::fail(fn, "cannot open '", path, "'");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

[[noreturn]] void too_deep(const char* fn, const std::string& path, std::size_t line, const char* what) {
  detail::fail(fn, path, ":", line, ": ", what, " nested deeper than ", kMaxGraphFileNesting,
               " levels (the limit of posenc's graph readers)");
}

/// DOT: the depth of { } blocks (graph bodies, subgraphs), outside strings and comments, at most
/// kMaxGraphFileNesting (Boost's parser recurses once per level).
void check_dot_nesting(const char* fn, const std::string& path, const std::string& t) {
  std::size_t depth = 0, line = 1, html = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    if (c == '\n') ++line;
    if (html > 0) {  // <...> HTML-like strings nest their angle brackets
      if (c == '<') ++html;
      else if (c == '>') --html;
      continue;
    }
    if (c == '"') {
      for (++i; i < t.size() && t[i] != '"'; ++i) {
        if (t[i] == '\n') ++line;
        if (t[i] == '\\') ++i;
      }
    } else if (c == '/' && i + 1 < t.size() && t[i + 1] == '/') {
      while (i < t.size() && t[i] != '\n') ++i;
      --i;
    } else if (c == '#' && (i == 0 || t[i - 1] == '\n')) {
      while (i < t.size() && t[i] != '\n') ++i;
      --i;
    } else if (c == '/' && i + 1 < t.size() && t[i + 1] == '*') {
      for (i += 2; i + 1 < t.size() && !(t[i] == '*' && t[i + 1] == '/'); ++i)
        if (t[i] == '\n') ++line;
      ++i;
    } else if (c == '<') {
      html = 1;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxGraphFileNesting) too_deep(fn, path, line, "blocks ({ } or [ ]) are");
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
}

/// GraphML: the depth of XML elements, at most kMaxGraphFileNesting (the XML parser recurses once
/// per level). Comments, CDATA, processing instructions and declarations are skipped.
void check_xml_nesting(const char* fn, const std::string& path, const std::string& t) {
  std::size_t depth = 0, line = 1;
  auto skip_to = [&](std::size_t& i, const char* end) {
    const std::size_t at = t.find(end, i);
    const std::size_t stop = at == std::string::npos ? t.size() : at + std::strlen(end) - 1;
    line += static_cast<std::size_t>(std::count(t.begin() + static_cast<std::ptrdiff_t>(i),
                                                t.begin() + static_cast<std::ptrdiff_t>(std::min(stop, t.size())), '\n'));
    i = stop;
  };
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '\n') ++line;
    if (t[i] != '<') continue;
    if (t.compare(i, 4, "<!--") == 0) skip_to(i, "-->");
    else if (t.compare(i, 9, "<![CDATA[") == 0) skip_to(i, "]]>");
    else if (t.compare(i, 2, "<?") == 0) skip_to(i, "?>");
    else if (t.compare(i, 2, "<!") == 0) skip_to(i, ">");
    else if (t.compare(i, 2, "</") == 0) {
      skip_to(i, ">");
      if (depth > 0) --depth;
    } else {
      // An opening tag: find its end outside quoted attribute values.
      char quote = 0;
      std::size_t j = i + 1;
      for (; j < t.size(); ++j) {
        if (t[j] == '\n') ++line;
        if (quote) {
          if (t[j] == quote) quote = 0;
        } else if (t[j] == '"' || t[j] == '\'') {
          quote = t[j];
        } else if (t[j] == '>') {
          break;
        }
      }
      const bool self_closing = j < t.size() && j > i && t[j - 1] == '/';
      if (!self_closing && ++depth > kMaxGraphFileNesting) too_deep(fn, path, line, "elements are");
      i = j;
    }
  }
}

}  // namespace

Graph read_graphml(const std::string& path, const std::string& weight_key) {
  const char* fn = "read_graphml";
  const std::string text = slurp(fn, path);
  check_xml_nesting(fn, path, text);
  auto read = [](const std::string& t, auto& g, boost::dynamic_properties& dp) {
    std::istringstream in(t);
    boost::read_graphml(in, g, dp);
  };
  // GraphML: edgedefault="directed" | "undirected" on the <graph> element.
  if (text.find("edgedefault=\"directed\"") != std::string::npos)
    return read_with_boost<boost::directedS>(fn, path, text, weight_key, read);
  return read_with_boost<boost::undirectedS>(fn, path, text, weight_key, read);
}

Graph read_dot(const std::string& path, const std::string& weight_key) {
  const char* fn = "read_dot";
  std::string text = slurp(fn, path);
  if (detail::strip_bom(text).size() != text.size()) text.erase(0, 3);
  check_dot_nesting(fn, path, text);
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
  if (directed) return read_with_boost<boost::directedS>(fn, path, text, weight_key, read);
  return read_with_boost<boost::undirectedS>(fn, path, text, weight_key, read);
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
    case GraphFormat::graphml: {
      Graph g = read_graphml(path, weight_key);
      return csv.node_names.empty() ? g : reorder_nodes(g, csv.node_names);
    }
    case GraphFormat::dot: {
      Graph g = read_dot(path, weight_key);
      return csv.node_names.empty() ? g : reorder_nodes(g, csv.node_names);
    }
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
