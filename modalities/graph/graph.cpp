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

// ====================================================================== edge-list CSV

namespace {

/// A node id field: an index (digits only, at most 18 of them), empty, another number (negative,
/// fractional, too long), or a name.
enum class IdKind { index, empty, number, name };

IdKind id_kind(const std::string& s, std::int64_t& out) {
  if (s.empty()) return IdKind::empty;
  if (std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); })) {
    if (s.size() > 18) return IdKind::number;
    out = 0;
    for (char c : s) out = out * 10 + (c - '0');
    return IdKind::index;
  }
  double d = 0;
  return detail::parse_double(s, d) ? IdKind::number : IdKind::name;
}

bool header_word(std::string a) {
  std::transform(a.begin(), a.end(), a.begin(), [](unsigned char c) { return std::tolower(c); });
  return a == "source" || a == "src" || a == "from" || a == "u" || a == "node1" || a == "head";
}

}  // namespace

Graph read_edge_list_csv(const std::string& path, const EdgeListCsvOptions& o) {
  const char* fn = "read_edge_list_csv";
  if (o.header != "auto" && o.header != "yes" && o.header != "no")
    detail::fail(fn, "parameter 'header' must be auto, yes or no, got '", o.header, "'");
  if (o.nodes < 0) detail::fail(fn, "parameter 'nodes' must be >= 0, got ", o.nodes);
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
    std::string_view text = line;
    if (lineno == 1) text = detail::strip_bom(text);
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (!detail::split_fields(text, o.delimiter, fields, scratch))
      detail::fail(fn, path, ":", lineno, ": column ", fields.size() + 1, ": unterminated quoted field");
    rows.push_back({lineno, std::vector<std::string>(fields.begin(), fields.end())});
  }
  if (rows.empty()) detail::fail(fn, path, ": no edges (the file is empty)");

  // Ids are indices when every data row's ids are; `from` is the first data row considered.
  auto rows_are_indices = [&](std::size_t from) {
    std::int64_t id = 0;
    for (std::size_t r = from; r < rows.size(); ++r)
      for (std::size_t c = 0; c < 2 && c < rows[r].f.size(); ++c)
        if (id_kind(rows[r].f[c], id) != IdKind::index) return false;
    return true;
  };
  // Header: forced, or (auto) decided from the first row. The first row is data when it reads as
  // an edge like the others; otherwise it is a header only if every field is non-numeric text;
  // anything else is an error, so no row is ever dropped silently.
  bool header = o.header == "yes";
  if (o.header == "auto") {
    const Row& r0 = rows[0];
    const bool later_indices = rows.size() > 1 && rows_are_indices(1);
    std::string why;  // why the first row is not an edge ("" when it is)
    if (r0.f.size() < 2 || r0.f.size() > 3)
      why = detail::cat("it has ", r0.f.size(), " columns (need source, target[, weight])");
    for (std::size_t c = 0; why.empty() && c < 2; ++c) {
      std::int64_t id = 0;
      const IdKind k = id_kind(r0.f[c], id);
      if (k == IdKind::empty) why = detail::cat("column ", c + 1, ": empty node id");
      else if (later_indices && k != IdKind::index)
        why = detail::cat("column ", c + 1, ": node id '", r0.f[c],
                          "' is not a non-negative integer like the ids of the other rows");
    }
    double w = 0;
    if (why.empty() && r0.f.size() == 3 && (!detail::parse_double(r0.f[2], w) || !std::isfinite(w)))
      why = detail::cat("column 3: weight '", r0.f[2], "' is not a finite number");
    const bool all_text = std::all_of(r0.f.begin(), r0.f.end(), [](const std::string& f) {
      double d = 0;
      return !f.empty() && !detail::parse_double(f, d);
    });
    if (why.empty())
      header = all_text && !later_indices && header_word(r0.f[0]);  // "source,target" over named ids
    else if (all_text)
      header = true;
    else
      detail::fail(fn, path, ":", r0.line, ": the first row is neither an edge (", why,
                   ") nor a header (a header's fields are all non-numeric text); fix the row or pass header = "
                   "yes or no");
  }
  const std::size_t first = header ? 1 : 0;
  if (rows.size() <= first) detail::fail(fn, path, ": no edges after the header");
  const std::size_t width = rows[first].f.size();
  if (width < 2 || width > 3)
    detail::fail(fn, path, ":", rows[first].line, ": expected 2 or 3 columns (source, target[, weight]), got ", width);
  for (std::size_t r = first; r < rows.size(); ++r) {
    const Row& row = rows[r];
    if (row.f.size() != width)
      detail::fail(fn, path, ":", row.line, ": expected ", width, " columns like line ", rows[first].line, ", got ",
                   row.f.size(), " (ragged row)");
    for (std::size_t c = 0; c < 2; ++c)
      if (row.f[c].empty()) detail::fail(fn, path, ":", row.line, ": column ", c + 1, ": empty node id");
  }
  const bool all_indices = rows_are_indices(first);
  std::vector<GraphEdge> edges;
  std::vector<std::string> names;
  std::unordered_map<std::string, std::int64_t> index;
  std::int64_t n = all_indices ? o.nodes : 0;
  if (all_indices) {
    // The node count comes from the largest id: check what it would allocate before allocating.
    detail::require_allocation(fn, "parameter 'nodes' =", static_cast<long double>(o.nodes), kGraphBytesPerNode);
    for (std::size_t r = first; r < rows.size(); ++r)
      for (std::size_t c = 0; c < 2; ++c) {
        std::int64_t id = 0;
        id_kind(rows[r].f[c], id);
        if (id + 1 > n) {
          const std::int64_t sparse_limit =
              1024 + kMaxNodesPerEndpoint * 2 * static_cast<std::int64_t>(rows.size() - first);
          if (id + 1 > std::max(o.nodes, sparse_limit))
            detail::fail(fn, path, ":", rows[r].line, ": column ", c + 1, ": node id ", id, " makes ", id + 1,
                         " nodes for ", rows.size() - first, " edges (at most ", sparse_limit,
                         " unless confirmed); integer ids are node indices: renumber them from 0, or set the node "
                         "count explicitly (options.nodes = ", id + 1, ")");
          detail::require_allocation(
              fn, detail::cat(path, ":", rows[r].line, ": column ", c + 1, ": node id ", id, " makes a node count of"),
              static_cast<long double>(id) + 1, kGraphBytesPerNode);
          n = id + 1;
        }
      }
  }
  auto node = [&](const std::string& s) {
    if (all_indices) {
      std::int64_t id = 0;
      id_kind(s, id);
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
