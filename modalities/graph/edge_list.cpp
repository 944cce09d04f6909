// Edge-list CSV reader, node lists (one label per line) and putting a graph's nodes in a given
// order: how the ids of a file become rows (docs/graph.md, "Graphs and files").
#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <unordered_map>

#include "detail/check.hpp"
#include "detail/csv.hpp"
#include "posenc/graph.hpp"

namespace posenc {

namespace {

/// What a Graph holds per node at least (out and in CSR offsets), as in graph.cpp.
constexpr long double kBytesPerNode = 2 * sizeof(std::int64_t);

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

bool digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

bool header_word(std::string a) {
  std::transform(a.begin(), a.end(), a.begin(), [](unsigned char c) { return std::tolower(c); });
  return a == "source" || a == "src" || a == "from" || a == "u" || a == "node1" || a == "head";
}

struct Row {
  std::size_t line;
  std::vector<std::string> f;
};

/// The non-blank lines of `path`, split into fields (`delim`; '\n' keeps a line whole).
std::vector<Row> read_rows(const char* fn, const std::string& path, char delim) {
  std::ifstream in(path);
  if (!in) detail::fail(fn, "cannot open '", path, "'");
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
    if (!detail::split_fields(text, delim, fields, scratch))
      detail::fail(fn, path, ":", lineno, ": column ", fields.size() + 1, ": unterminated quoted field");
    rows.push_back({lineno, std::vector<std::string>(fields.begin(), fields.end())});
  }
  return rows;
}

/// Whether every id of rows[from ..] is a non-negative integer (an index).
bool rows_are_indices(const std::vector<Row>& rows, std::size_t from) {
  std::int64_t id = 0;
  for (std::size_t r = from; r < rows.size(); ++r)
    for (std::size_t c = 0; c < 2 && c < rows[r].f.size(); ++c)
      if (id_kind(rows[r].f[c], id) != IdKind::index) return false;
  return true;
}

/// Header: forced, or (auto) decided from the first row. The first row is data when it reads as
/// an edge like the others; otherwise it is a header only if every field is non-numeric text;
/// anything else is an error, so no row is ever dropped silently.
bool has_header(const char* fn, const std::string& path, const EdgeListCsvOptions& o, const std::vector<Row>& rows) {
  if (o.header != "auto") return o.header == "yes";
  const Row& r0 = rows[0];
  const bool later_indices = rows.size() > 1 && rows_are_indices(rows, 1);
  std::string why;  // why the first row is not an edge ("" when it is)
  if (r0.f.size() < 2 || r0.f.size() > 3) why = detail::cat("it has ", r0.f.size(), " columns (need source, target[, weight])");
  for (std::size_t c = 0; why.empty() && c < 2; ++c) {
    std::int64_t id = 0;
    const IdKind k = id_kind(r0.f[c], id);
    if (k == IdKind::empty) why = detail::cat("column ", c + 1, ": empty node id");
    else if (later_indices && k != IdKind::index)
      why = detail::cat("column ", c + 1, ": node id '", r0.f[c], "' is not a non-negative integer like the ids of the other rows");
  }
  double w = 0;
  if (why.empty() && r0.f.size() == 3 && (!detail::parse_double(r0.f[2], w) || !std::isfinite(w)))
    why = detail::cat("column 3: weight '", r0.f[2], "' is not a finite number");
  const bool all_text = std::all_of(r0.f.begin(), r0.f.end(), [](const std::string& f) {
    double d = 0;
    return !f.empty() && !detail::parse_double(f, d);
  });
  if (why.empty()) return all_text && !later_indices && header_word(r0.f[0]);  // "source,target" over named ids
  if (all_text) return true;
  detail::fail(fn, path, ":", r0.line, ": the first row is neither an edge (", why,
               ") nor a header (a header's fields are all non-numeric text); fix the row or pass header = yes or no");
}

/// Rows as indices (0- or 1-based): the node count and the names.
struct IndexNodes {
  std::int64_t n = 0;
  std::int64_t base = 0;
  std::vector<std::string> names;
};

IndexNodes index_nodes(const char* fn, const std::string& path, const EdgeListCsvOptions& o,
                       const std::vector<Row>& rows, std::size_t first) {
  IndexNodes r;
  r.base = o.ids == NodeIds::one_based ? 1 : 0;
  const bool listed = !o.node_names.empty();
  r.n = listed ? static_cast<std::int64_t>(o.node_names.size()) : o.nodes;
  // The node count comes from the largest id: check what it would allocate before allocating.
  detail::require_allocation(fn, "parameter 'nodes' =", static_cast<long double>(o.nodes), kBytesPerNode);
  const std::int64_t sparse_limit = 1024 + kMaxNodesPerEndpoint * 2 * static_cast<std::int64_t>(rows.size() - first);
  for (std::size_t i = first; i < rows.size(); ++i)
    for (std::size_t c = 0; c < 2; ++c) {
      const std::string& s = rows[i].f[c];
      const auto where = [&] { return detail::cat(path, ":", rows[i].line, ": column ", c + 1, ": node id '", s, "'"); };
      std::int64_t id = 0;
      if (id_kind(s, id) != IdKind::index)
        detail::fail(fn, where(), " is not an integer index (parameter 'ids' says ", r.base, "-based indices)");
      if (id < r.base) detail::fail(fn, where(), " is below the index base 1 (parameter 'ids' is one_based)");
      const std::int64_t row = id - r.base;
      if (listed) {
        if (row >= r.n)
          detail::fail(fn, where(), " is beyond the node list's ", r.n, " nodes (", r.base, "-based indices ", r.base,
                       " .. ", r.n - 1 + r.base, ")");
        continue;
      }
      if (row + 1 <= r.n) continue;
      if (row + 1 > std::max(o.nodes, sparse_limit))
        detail::fail(fn, where(), " makes ", row + 1, " nodes for ", rows.size() - first, " edges (at most ", sparse_limit,
                     " unless confirmed); integer ids are node indices: renumber them from ", r.base,
                     ", read them as labels, or set the node count explicitly (options.nodes = ", row + 1, ")");
      detail::require_allocation(fn, detail::cat(where(), " makes a node count of"), static_cast<long double>(row) + 1,
                                 kBytesPerNode);
      r.n = row + 1;
    }
  if (listed) r.names = o.node_names;
  else if (r.base == 1)
    for (std::int64_t i = 1; i <= r.n; ++i) r.names.push_back(std::to_string(i));
  return r;
}

/// Labels in increasing numeric order when all are digit strings (by value, then as text).
void sort_integer_labels(std::vector<std::string>& names) {
  if (!std::all_of(names.begin(), names.end(), digits)) return;
  auto key = [](const std::string& s) {
    const std::size_t nz = std::min(s.find_first_not_of('0'), s.size() - 1);
    return std::string_view(s).substr(nz);
  };
  std::sort(names.begin(), names.end(), [&](const std::string& a, const std::string& b) {
    const std::string_view ka = key(a), kb = key(b);
    if (ka.size() != kb.size()) return ka.size() < kb.size();
    if (ka != kb) return ka < kb;
    return a < b;
  });
}

}  // namespace

std::vector<std::string> read_node_list(const std::string& path) {
  const char* fn = "read_node_list";
  const std::vector<Row> rows = read_rows(fn, path, '\n');
  if (rows.empty()) detail::fail(fn, path, ": no nodes (the file is empty)");
  std::vector<std::string> names;
  std::unordered_map<std::string, std::size_t> seen;
  for (const Row& r : rows) {
    const std::string& s = r.f[0];
    if (s.empty()) detail::fail(fn, path, ":", r.line, ": empty node label");
    auto [it, fresh] = seen.emplace(s, r.line);
    if (!fresh) detail::fail(fn, path, ":", r.line, ": node '", s, "' is listed twice (first on line ", it->second, ")");
    names.push_back(s);
  }
  return names;
}

Graph reorder_nodes(const Graph& g, const std::vector<std::string>& order) {
  const char* fn = "reorder_nodes";
  std::unordered_map<std::string, std::int64_t> row;
  for (std::size_t i = 0; i < order.size(); ++i)
    if (!row.emplace(order[i], static_cast<std::int64_t>(i)).second)
      detail::fail(fn, "parameter 'order' lists node '", order[i], "' twice");
  const std::vector<std::string> names = g.names();
  std::vector<std::int64_t> to(names.size());
  for (std::size_t v = 0; v < names.size(); ++v) {
    auto it = row.find(names[v]);
    if (it == row.end())
      detail::fail(fn, "node '", names[v], "' of the graph is not in the node list (parameter 'order', ", order.size(),
                   " nodes)");
    to[v] = it->second;
  }
  std::vector<GraphEdge> edges = g.edges();
  for (auto& e : edges) {
    e.source = to[static_cast<std::size_t>(e.source)];
    e.target = to[static_cast<std::size_t>(e.target)];
  }
  return Graph(static_cast<std::int64_t>(order.size()), std::move(edges), g.directed(), order);
}

Graph read_edge_list_csv(const std::string& path, const EdgeListCsvOptions& o) {
  const char* fn = "read_edge_list_csv";
  if (o.header != "auto" && o.header != "yes" && o.header != "no")
    detail::fail(fn, "parameter 'header' must be auto, yes or no, got '", o.header, "'");
  if (o.nodes < 0) detail::fail(fn, "parameter 'nodes' must be >= 0, got ", o.nodes);
  const std::vector<Row> rows = read_rows(fn, path, o.delimiter);
  if (rows.empty()) detail::fail(fn, path, ": no edges (the file is empty)");
  const std::size_t first = has_header(fn, path, o, rows) ? 1 : 0;
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
  const bool listed = !o.node_names.empty();
  const bool indices = o.ids == NodeIds::zero_based || o.ids == NodeIds::one_based ||
                       (o.ids == NodeIds::automatic && !listed && rows_are_indices(rows, first));
  IndexNodes ix;
  std::vector<std::string> names;
  std::unordered_map<std::string, std::int64_t> index;
  if (indices) ix = index_nodes(fn, path, o, rows, first);
  if (!indices && (listed || o.ids == NodeIds::labels)) {
    // Rows fixed up front: the node list's order, or integer labels by value.
    names = o.node_names;
    if (!listed) {
      for (std::size_t r = first; r < rows.size(); ++r)
        for (std::size_t c = 0; c < 2; ++c)
          if (index.emplace(rows[r].f[c], 0).second) names.push_back(rows[r].f[c]);
      sort_integer_labels(names);
      index.clear();
    }
    for (std::size_t i = 0; i < names.size(); ++i) index.emplace(names[i], static_cast<std::int64_t>(i));
  }
  auto node = [&](const Row& row, std::size_t c) {
    const std::string& s = row.f[c];
    if (indices) {
      std::int64_t id = 0;
      id_kind(s, id);
      return id - ix.base;
    }
    auto [it, added] = index.emplace(s, static_cast<std::int64_t>(names.size()));
    if (added && listed)
      detail::fail(fn, path, ":", row.line, ": column ", c + 1, ": node '", s, "' is not in the node list (",
                   o.node_names.size(), " nodes); list every node once");
    if (added) names.push_back(s);
    return it->second;
  };
  std::vector<GraphEdge> edges;
  edges.reserve(rows.size() - first);
  for (std::size_t r = first; r < rows.size(); ++r) {
    const Row& row = rows[r];
    GraphEdge e;
    e.source = node(row, 0);
    e.target = node(row, 1);
    if (width == 3 && (!detail::parse_double(row.f[2], e.weight) || !std::isfinite(e.weight)))
      detail::fail(fn, path, ":", row.line, ": column 3: weight '", row.f[2], "' is not a finite number");
    edges.push_back(e);
  }
  if (indices) return Graph(ix.n, std::move(edges), o.directed, std::move(ix.names));
  const auto n = static_cast<std::int64_t>(names.size());
  return Graph(n, std::move(edges), o.directed, std::move(names));
}

}  // namespace posenc
