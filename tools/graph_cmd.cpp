// `posenc graph FILE --out DIR [--encodings ...]`: node encodings of one graph, as .npy files
// plus nodes.txt and report.json.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <iostream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "posenc/graph.hpp"
#include "posenc/npy.hpp"
#include "checks.hpp"
#include "registry.hpp"
#include "staging.hpp"

namespace posenc::cli {

namespace {

/// "lap:k=8:kind=sym" -> name "lap", options {k: 8, kind: sym}.
struct Spec {
  std::string name;
  std::map<std::string, std::string> options;
  std::string text;
  std::int64_t integer(const std::string& key, std::int64_t fallback) const {
    auto it = options.find(key);
    if (it == options.end()) return fallback;
    try {
      std::size_t used = 0;
      const long long v = std::stoll(it->second, &used);
      if (used == it->second.size()) return v;
    } catch (const std::exception&) {
    }
    bad("graph: encoding '" + text + "': option '" + key + "' must be an integer, got '" + it->second + "'");
  }
  std::string word(const std::string& key, const std::string& fallback) const {
    auto it = options.find(key);
    return it == options.end() ? fallback : it->second;
  }
};

std::vector<Spec> parse_specs(const std::string& list) {
  const std::map<std::string, std::vector<std::string>> known = {
      {"spd", {"max", "unreachable"}}, {"dijkstra", {}},         {"degree", {"kind"}},
      {"betweenness", {}},              {"closeness", {}},        {"pagerank", {"alpha"}},
      {"eigenvector", {}},              {"lap", {"k", "kind", "pad", "solver", "flip", "seed", "pyg"}},
      {"rwse", {"steps", "pyg"}}};
  std::vector<Spec> specs;
  std::stringstream items(list);
  std::string item;
  while (std::getline(items, item, ',')) {
    if (item.empty()) continue;
    Spec s;
    s.text = item;
    std::stringstream parts(item);
    std::string part;
    std::getline(parts, s.name, ':');
    auto it = known.find(s.name);
    if (it == known.end()) {
      std::vector<std::string> names;
      for (const auto& [k, v] : known) names.push_back(k);
      const std::string guess = closest(s.name, names);
      bad("graph: unknown encoding '" + s.name + "'" + (guess.empty() ? "" : "; did you mean '" + guess + "'?") +
          " (spd, dijkstra, degree, betweenness, closeness, pagerank, eigenvector, lap, rwse)");
    }
    while (std::getline(parts, part, ':')) {
      const auto eq = part.find('=');
      const std::string key = part.substr(0, eq);
      if (eq == std::string::npos || std::find(it->second.begin(), it->second.end(), key) == it->second.end())
        bad("graph: encoding '" + item + "': unknown option '" + part + "' (options of " + s.name + ": " +
            (it->second.empty() ? std::string("none") : [&] {
              std::string o;
              for (const auto& k : it->second) o += (o.empty() ? "" : ", ") + k;
              return o;
            }()) + ")");
      s.options[key] = part.substr(eq + 1);
    }
    specs.push_back(s);
  }
  if (specs.empty()) bad("graph: parameter 'encodings' names no encoding");
  return specs;
}

bool flag(const Spec& s, const std::string& key) {
  const std::string v = s.word(key, "0");
  if (v == "1" || v == "true" || v == "yes") return true;
  if (v == "0" || v == "false" || v == "no") return false;
  bad("graph: encoding '" + s.text + "': option '" + key + "' must be true or false, got '" + v + "'");
}

DTensor vec(const std::vector<double>& v) {
  DTensor t = DTensor::from_shape({v.size()});
  std::copy(v.begin(), v.end(), t.begin());
  return t;
}

/// The files one spec writes (stems), known before anything is computed.
std::vector<std::string> planned_files(const Spec& s) {
  if (s.name == "degree") return {"degree_" + s.word("kind", "total")};
  if (s.name == "lap") return {"lap", "lap_eigenvalues"};
  return {s.name};
}

/// Two specs of one run writing the same file is an error before anything is computed.
void check_collisions(const std::vector<Spec>& specs) {
  std::map<std::string, std::string> owner;
  for (const auto& s : specs)
    for (const auto& f : planned_files(s)) {
      auto [it, fresh] = owner.emplace(f, s.text);
      if (!fresh)
        bad("graph: encodings '" + it->second + "' and '" + s.text + "' would both write " + f +
            ".npy; give each file once per run (use a second --out for the other variant)");
    }
}

/// The allocations of the specs for an N-node graph, against the memory budget.
void check_graph_sizes(const std::vector<Spec>& specs, std::size_t nodes, const std::string& input) {
  const long double n = static_cast<long double>(nodes);
  std::vector<SizeNeed> needs;
  for (const auto& s : specs) {
    const std::pair<std::string, std::string> graph_opt{"input", input + " (" + std::to_string(nodes) + " nodes)"};
    if (s.name == "spd" || s.name == "dijkstra")
      needs.push_back({s.name + ".npy [nodes, nodes] 8-byte values", 8 * n * n, {graph_opt}});
    if (s.name == "rwse") {
      const long double steps = static_cast<long double>(s.integer("steps", 16));
      needs.push_back({"rwse.npy [nodes, steps] float32", 4 * n * std::max(steps, 0.0L),
                       {{"encodings", s.text}, graph_opt}});
    }
    if (s.name == "lap") {
      const long double k = static_cast<long double>(std::max<std::int64_t>(s.integer("k", 8), 0));
      needs.push_back({"lap.npy [nodes, k] float32", 4 * n * k, {{"encodings", s.text}, graph_opt}});
    }
  }
  require_budget("graph", needs);
}

LaplacianPe lap_encoding(const Graph& g, const Spec& s) {
  LaplacianPeOptions o;
  o.k = s.integer("k", 8);
  const std::string kind = s.word("kind", "sym");
  if (kind != "sym" && kind != "rw" && kind != "comb")
    bad("graph: encoding '" + s.text + "': option 'kind' must be sym, rw or comb, got '" + kind + "'");
  o.kind = kind == "sym" ? LaplacianKind::symmetric : kind == "rw" ? LaplacianKind::random_walk
                                                                    : LaplacianKind::combinatorial;
  o.pad = flag(s, "pad");
  o.random_flip = flag(s, "flip");
  o.seed = static_cast<std::uint64_t>(s.integer("seed", 0));
  o.drop_per_component = !flag(s, "pyg");
  const std::string solver = s.word("solver", "auto");
  if (solver != "auto" && solver != "dense" && solver != "sparse")
    bad("graph: encoding '" + s.text + "': option 'solver' must be auto, dense or sparse, got '" + solver + "'");
  o.solver = solver == "dense" ? EigenSolver::dense : solver == "sparse" ? EigenSolver::sparse : EigenSolver::automatic;
  try {
    return laplacian_pe(g, o);
  } catch (const std::invalid_argument&) {
    if (o.pad || o.k < 1 || o.k < static_cast<std::int64_t>(g.nodes()) - 1) throw;
    bad("graph: encoding '" + s.text + "': the " + std::to_string(g.nodes()) + "-node graph has fewer than k = " +
        std::to_string(o.k) + " non-trivial Laplacian eigenvectors; write '" + s.text +
        ":pad=1' to zero-fill the missing columns, or a smaller k");
  }
}

double pagerank_alpha(const Spec& s) {
  if (!s.options.count("alpha")) return 0.85;
  const std::string& v = s.options.at("alpha");
  char* end = nullptr;
  const double alpha = std::strtod(v.c_str(), &end);
  if (v.empty() || end != v.c_str() + v.size() || !std::isfinite(alpha))
    bad("graph: encoding '" + s.text + "': option 'alpha' must be a finite number, got '" + v + "'");
  return alpha;
}

/// Compute one spec and hand each array to `save(stem, array)`.
template <class Save>
void run_spec(const Graph& g, const Spec& s, int threads, nlohmann::json& entry, Save&& save) {
  if (s.name == "spd") {
    save("spd", shortest_path_hops(g, {.max_distance = s.integer("max", -1), .unreachable = s.integer("unreachable", -1),
                                       .threads = threads}));
  } else if (s.name == "dijkstra") {
    save("dijkstra", shortest_path_lengths(g, std::numeric_limits<double>::infinity(), threads));
  } else if (s.name == "degree") {
    const std::string k = s.word("kind", "total");
    if (k != "in" && k != "out" && k != "total")
      bad("graph: encoding '" + s.text + "': option 'kind' must be in, out or total, got '" + k + "'");
    save("degree_" + k, degrees(g, k == "in" ? DegreeKind::in : k == "out" ? DegreeKind::out : DegreeKind::total));
  } else if (s.name == "betweenness") {
    save("betweenness", vec(betweenness_centrality(g)));
  } else if (s.name == "closeness") {
    save("closeness", vec(closeness_centrality(g)));
  } else if (s.name == "pagerank") {
    save("pagerank", vec(pagerank(g, pagerank_alpha(s))));
  } else if (s.name == "eigenvector") {
    save("eigenvector", vec(eigenvector_centrality(g)));
  } else if (s.name == "lap") {
    const LaplacianPe pe = lap_encoding(g, s);
    save("lap", pe.vectors);
    save("lap_eigenvalues", vec(pe.eigenvalues));
    entry["components"] = pe.components;
    entry["trivial"] = pe.trivial;
  } else if (s.name == "rwse") {
    save("rwse", random_walk_pe(g, s.integer("steps", 16), flag(s, "pyg")));
  }
}

}  // namespace

int cmd_graph(const GraphArgs& a) {
  check_threads("graph", a.threads);
  output_directory(a.out, "graph: --out", a.force);  // before any work
  const std::vector<Spec> specs = parse_specs(a.encodings);
  check_collisions(specs);
  require_input_file("graph: input", a.input);
  // Files with an unknown extension are read as edge lists.
  const EdgeListCsvOptions csv{.directed = a.directed, .header = a.header};
  const Graph g = graph_format(a.input) == GraphFormat::unknown ? read_edge_list_csv(a.input, csv)
                                                                : read_graph(a.input, csv, a.weight_key);
  if (g.nodes() == 0) bad("graph: '" + a.input + "' has no nodes");
  check_graph_sizes(specs, g.nodes(), a.input);
  Staging out(a.out, "graph: --out", a.force);
  const bool tty = ::isatty(STDERR_FILENO);
  nlohmann::json report;
  report["input"] = a.input;
  report["nodes"] = g.nodes();
  report["edges"] = g.edges().size();
  report["directed"] = g.directed();
  report["weighted"] = g.weighted();
  report["encodings"] = nlohmann::json::array();
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const Spec& s = specs[i];
    if (tty) std::cerr << "\r[" << i + 1 << "/" << specs.size() << "] " << s.text << "          " << std::flush;
    const auto t0 = std::chrono::steady_clock::now();
    nlohmann::json entry{{"name", s.name}, {"spec", s.text}};
    run_spec(g, s, a.threads, entry, [&](const std::string& stem, const auto& array) {
      // Documented exceptions: dijkstra holds inf for unreachable pairs, lap_eigenvalues NaN for padded columns.
      if (stem != "dijkstra" && stem != "lap_eigenvalues")
        require_finite_output("graph", stem + ".npy", Array(array), "the input's weights and '" + s.text + "'");
      save_npy(out.file(stem + ".npy").string(), array);
      std::vector<std::size_t> shape(array.shape().begin(), array.shape().end());
      entry["files"][stem + ".npy"] = shape;
    });
    entry["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    report["encodings"].push_back(entry);
  }
  if (tty) std::cerr << "\r" << std::string(48, ' ') << "\r";
  std::string names;
  for (const auto& n : g.names()) names += n + "\n";
  write_file_atomic(out.file("nodes.txt").string(), names);
  write_file_atomic(out.file("report.json").string(), report.dump(2) + "\n");
  out.commit();
  std::cout << "graph: " << g.nodes() << " nodes, " << g.edges().size() << " edges"
            << (g.directed() ? " (directed)" : "") << " -> " << out.target().string() << " (";
  for (std::size_t i = 0; i < specs.size(); ++i) std::cout << (i ? ", " : "") << specs[i].name;
  std::cout << ")\n";
  return 0;
}

}  // namespace posenc::cli
