// `posenc graph FILE --out DIR [--encodings ...] [--nodes FILE] [--index-base 0|1]`: node
// encodings of one graph, as .npy files plus nodes.txt (the row order) and report.json.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <iostream>
#include <map>
#include <stdexcept>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "posenc/graph.hpp"
#include "posenc/npy.hpp"
#include "checks.hpp"
#include "cli.hpp"
#include "file_report.hpp"
#include "graph_specs.hpp"
#include "progress.hpp"
#include "staging.hpp"

namespace posenc::cli {

namespace {

/// Two specs of one run writing the same file is an error before anything is computed.
void check_collisions(const std::vector<GraphSpec>& specs) {
  std::map<std::string, std::string> owner;
  for (const auto& s : specs)
    for (const auto& f : s.files) {
      auto [it, fresh] = owner.emplace(f, s.text);
      if (!fresh)
        bad("graph: encodings '" + it->second + "' and '" + s.text + "' would both write " + f +
            ".npy; give each file once per run (use a second --out for the other variant)");
    }
}

/// The allocations of the specs for an N-node graph, against the memory budget.
void check_graph_sizes(const std::vector<GraphSpec>& specs, std::size_t nodes, const std::string& input) {
  const long double n = static_cast<long double>(nodes);
  std::vector<SizeNeed> needs;
  for (const auto& s : specs) {
    const std::pair<std::string, std::string> graph_opt{"input", input + " (" + std::to_string(nodes) + " nodes)"};
    if (s.name == "spd" || s.name == "dijkstra")
      needs.push_back({s.name + ".npy [nodes, nodes] 8-byte values", 8 * n * n, {graph_opt}});
    if (s.name == "rwse") {
      const long double steps = static_cast<long double>(std::get<std::int64_t>(s.value("steps")));
      needs.push_back(
          {"rwse.npy [nodes, steps] float32", 4 * n * std::max(steps, 0.0L), {{"encodings", s.text}, graph_opt}});
    }
    if (s.name == "lap") {
      const long double k = static_cast<long double>(std::max<std::int64_t>(std::get<std::int64_t>(s.value("k")), 0));
      needs.push_back({"lap.npy [nodes, k] float32", 4 * n * k, {{"encodings", s.text}, graph_opt}});
    }
  }
  require_budget("graph", needs);
}

/// How the ids of the input become rows: --nodes, --index-base, or labels (the default).
EdgeListCsvOptions input_options(const GraphArgs& a, bool edge_list) {
  EdgeListCsvOptions o{.directed = a.directed, .header = a.header};
  const std::string base = a.index_base, nodes = a.nodes;
  if (!base.empty() && base != "0" && base != "1") bad("graph: --index-base must be 0 or 1, got '" + base + "'");
  if (!base.empty() && !edge_list)
    bad("graph: --index-base " + base + " applies to edge lists; '" + a.input +
        "' names its nodes (order them with --nodes FILE)");
  o.ids = base == "0" ? NodeIds::zero_based : base == "1" ? NodeIds::one_based : NodeIds::labels;
  if (!nodes.empty()) {
    require_input_file("graph: --nodes", nodes);
    o.node_names = read_node_list(nodes);
  }
  return o;
}

/// Integer ids read as labels that are not 0 .. N-1 may be indices the user meant: the warning
/// (printed once the run has succeeded, so that a failure stays one line), or "".
std::string integer_label_warning(const Graph& g, const std::string& input) {
  const std::vector<std::string> names = g.names();
  auto digits = [](const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
  };
  if (names.empty() || !std::all_of(names.begin(), names.end(), digits)) return "";
  bool zero_based = true;
  for (std::size_t i = 0; i < names.size() && zero_based; ++i) zero_based = names[i] == std::to_string(i);
  if (zero_based) return "";
  const std::string why = names[0] == "1" ? "they start at 1 like 1-based indices"
                                          : "they are not 0 .. " + std::to_string(names.size() - 1) + " (smallest " +
                                                names.front() + ", largest " + names.back() + ")";
  return "graph: the node ids of '" + input + "' are integers read as labels, and " + why + ": the rows are the " +
         std::to_string(names.size()) +
         " ids in increasing order (nodes.txt) and ids absent from the edges are not nodes; if the ids are indices, "
         "pass --index-base " +
         (names[0] == "1" ? "1" : "0 or 1") + " (isolated nodes included), or list every node with --nodes FILE";
}

Graph read_input(const GraphArgs& a) {
  require_input_file("graph: input", a.input);
  const GraphFormat format = graph_format(a.input);
  // Files with an unknown extension are read as edge lists.
  const bool edge_list = format == GraphFormat::unknown || format == GraphFormat::edge_list;
  const EdgeListCsvOptions csv = input_options(a, edge_list);
  try {
    if (format != GraphFormat::unknown) return read_graph(a.input, csv, a.weight_key);
    return read_edge_list_csv(a.input, csv);
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    if (csv.node_names.empty() || what.find("node list") == std::string::npos) throw;
    bad(what + " (--nodes '" + a.nodes + "')");
  }
}

/// What report.json says about the graph and the row order.
nlohmann::json graph_report(const GraphArgs& a, const Graph& g) {
  const std::string base = a.index_base, nodes = a.nodes;
  nlohmann::json report;
  report["input"] = a.input;
  report["nodes"] = g.nodes();
  report["edges"] = g.edges().size();
  report["directed"] = g.directed();
  report["weighted"] = g.weighted();
  report["row_order"] = !nodes.empty() ? "the lines of --nodes " + nodes
                        : !base.empty() ? "ids as " + base + "-based indices: row = id" + (base == "1" ? " - 1" : "")
                        : graph_format(a.input) == GraphFormat::graphml || graph_format(a.input) == GraphFormat::dot
                            ? "node order of the file"
                            : "labels: increasing numeric order when every id is an integer, else first appearance";
  report["encodings"] = nlohmann::json::array();
  report["files"] = nlohmann::json::object();
  report["files"]["nodes.txt"] =
      text_entry(static_cast<std::size_t>(g.nodes()), "node label of each row of every .npy file");
  return report;
}

}  // namespace

int cmd_graph(const GraphArgs& a) {
  check_threads("graph", a.threads);
  output_directory(a.out, "graph: --out", a.force);  // before any work
  const std::vector<GraphSpec> specs = parse_graph_specs(a.encodings);
  check_collisions(specs);
  const Graph g = read_input(a);
  if (g.nodes() == 0) bad("graph: '" + a.input + "' has no nodes");
  const bool labels = a.nodes.empty() && a.index_base.empty() &&
                      graph_format(a.input) != GraphFormat::graphml && graph_format(a.input) != GraphFormat::dot;
  const std::string warning = labels ? integer_label_warning(g, a.input) : "";
  check_graph_sizes(specs, static_cast<std::size_t>(g.nodes()), a.input);
  Staging out(a.out, "graph: --out", a.force);
  nlohmann::json report = graph_report(a, g);
  report["warnings"] = warning.empty() ? nlohmann::json::array() : nlohmann::json::array({warning});
  Progress progress("graph");
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const GraphSpec& s = specs[i];
    progress.step(i, specs.size(), s.text);
    const auto t0 = std::chrono::steady_clock::now();
    nlohmann::json entry{{"name", s.name}, {"spec", s.text}, {"files", nlohmann::json::array()}};
    const catalogue::GraphEncoded computed = catalogue::run_graph_spec(g, s, a.threads);
    for (const auto& [stem, array] : computed.arrays) {
      // Documented exceptions: dijkstra holds inf for unreachable pairs, lap_eigenvalues NaN for padded columns.
      if (stem != "dijkstra" && stem != "lap_eigenvalues")
        require_finite_output("graph", stem + ".npy", array, "the input's weights and '" + s.text + "'");
      std::visit([&, &stem = stem](const auto& t) { save_npy(out.file(stem + ".npy").string(), t); }, array);
      const FileAxes axes = graph_file_axes(stem, s);
      report["files"][stem + ".npy"] = npy_entry(array, axes.rows, axes.columns, axes.values);
      report["files"][stem + ".npy"]["encoding"] = s.text;
      entry["files"].push_back(stem + ".npy");
    }
    for (const auto& [key, v] : computed.metadata) {  // lap: components, trivial, eigengap, warning
      if (const auto* i = std::get_if<std::int64_t>(&v)) entry[key] = *i;
      else if (const auto* d = std::get_if<double>(&v)) entry[key] = *d;
      else entry[key] = catalogue::value_text(v);
      if (key == "warning") std::cerr << "graph: warning: " << catalogue::value_text(v) << "\n";
    }
    entry["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    report["encodings"].push_back(entry);
  }
  progress.clear();
  std::string names;
  for (const auto& n : g.names()) names += n + "\n";
  write_file_atomic(out.file("nodes.txt").string(), names);
  write_file_atomic(out.file("report.json").string(), report.dump(2) + "\n");
  out.commit();
  std::cout << "graph: " << g.nodes() << " nodes, " << g.edges().size() << " edges"
            << (g.directed() ? " (directed)" : "") << " -> " << out.target().string() << " (";
  for (std::size_t i = 0; i < specs.size(); ++i) std::cout << (i ? ", " : "") << specs[i].name;
  std::cout << ")\n";
  if (!warning.empty()) std::cerr << "posenc: warning: " << warning << "\n";
  return 0;
}

}  // namespace posenc::cli
