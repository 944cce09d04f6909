// The named node encodings of `posenc graph` (graph_encodings): "name[:option=value...]".
#include <cmath>
#include <limits>
#include <sstream>

#include "catalogue/define.hpp"
#include "posenc/graph.hpp"

namespace posenc::catalogue {

namespace {

using detail::bad;

struct Spec {
  std::string name, text;
  std::map<std::string, std::string> options;
  std::string what(const std::string& key) const { return "graph_encodings: '" + text + "' option '" + key + "'"; }
  std::int64_t integer(const std::string& key, std::int64_t fallback) const {
    auto it = options.find(key);
    if (it == options.end()) return fallback;
    std::size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(it->second, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != it->second.size()) bad(what(key) + " expects an integer, got '" + it->second + "'");
    return v;
  }
  double real(const std::string& key, double fallback) const {
    auto it = options.find(key);
    if (it == options.end()) return fallback;
    std::size_t used = 0;
    double v = 0;
    try {
      v = std::stod(it->second, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != it->second.size() || !std::isfinite(v))
      bad(what(key) + " expects a real number, got '" + it->second + "'");
    return v;
  }
  bool flag(const std::string& key) const {
    auto it = options.find(key);
    if (it == options.end()) return false;
    const std::string v = normalise(it->second);
    if (v == "1" || v == "true" || v == "yes") return true;
    if (v == "0" || v == "false" || v == "no") return false;
    bad(what(key) + " expects a boolean (true/false), got '" + it->second + "'");
  }
  template <class E>
  E choice(const std::string& key, E fallback) const {
    auto it = options.find(key);
    return it == options.end() ? fallback : enum_value<E>(it->second, what(key));
  }
};

const std::map<std::string, std::vector<std::string>>& known() {
  static const std::map<std::string, std::vector<std::string>> k = {
      {"spd", {"max", "unreachable"}}, {"dijkstra", {}},     {"degree", {"kind"}},
      {"betweenness", {}},              {"closeness", {}},    {"pagerank", {"alpha"}},
      {"eigenvector", {}},              {"lap", {"k", "kind", "pad", "solver", "flip", "seed", "pyg"}},
      {"rwse", {"steps", "pyg"}}};
  return k;
}

Spec parse_spec(const std::string& item) {
  Spec s;
  s.text = item;
  std::stringstream parts(item);
  std::getline(parts, s.name, ':');
  s.name = normalise(s.name);
  auto it = known().find(s.name);
  if (it == known().end()) {
    std::vector<std::string> names;
    for (const auto& [k, v] : known()) names.push_back(k);
    const std::string guess = closest(s.name, names);
    bad("graph_encodings: unknown encoding '" + s.name + "'" + (guess.empty() ? "" : "; did you mean '" + guess + "'?"));
  }
  for (std::string part; std::getline(parts, part, ':');) {
    const auto eq = part.find('=');
    const std::string key = normalise(part.substr(0, eq));
    if (eq == std::string::npos || std::find(it->second.begin(), it->second.end(), key) == it->second.end()) {
      const std::string guess = closest(key, it->second);
      bad("graph_encodings: '" + item + "': unknown option '" + part + "'" +
          (guess.empty() ? "" : "; did you mean '" + guess + "'?"));
    }
    s.options[key] = part.substr(eq + 1);
  }
  return s;
}

DTensor vec(const std::vector<double>& v) { return detail::to_double(v); }

void run(const Graph& g, const Spec& s, int threads, std::vector<std::pair<std::string, Array>>& out) {
  if (s.name == "spd") {
    out.emplace_back("spd", shortest_path_hops(g, {.max_distance = s.integer("max", -1),
                                                   .unreachable = s.integer("unreachable", -1), .threads = threads}));
  } else if (s.name == "dijkstra") {
    out.emplace_back("dijkstra", shortest_path_lengths(g, std::numeric_limits<double>::infinity(), threads));
  } else if (s.name == "degree") {
    const DegreeKind k = s.choice("kind", DegreeKind::total);
    out.emplace_back("degree_" + enum_name(k), degrees(g, k));
  } else if (s.name == "betweenness") {
    out.emplace_back("betweenness", vec(betweenness_centrality(g)));
  } else if (s.name == "closeness") {
    out.emplace_back("closeness", vec(closeness_centrality(g)));
  } else if (s.name == "pagerank") {
    out.emplace_back("pagerank", vec(pagerank(g, s.real("alpha", 0.85))));
  } else if (s.name == "eigenvector") {
    out.emplace_back("eigenvector", vec(eigenvector_centrality(g)));
  } else if (s.name == "lap") {
    LaplacianPeOptions o;
    o.k = s.integer("k", o.k);
    o.kind = s.choice("kind", o.kind);
    o.pad = s.flag("pad");
    o.random_flip = s.flag("flip");
    o.seed = static_cast<std::uint64_t>(s.integer("seed", 0));
    o.drop_per_component = !s.flag("pyg");
    o.solver = s.choice("solver", o.solver);
    const LaplacianPe pe = laplacian_pe(g, o);
    out.emplace_back("lap", pe.vectors);
    out.emplace_back("lap_eigenvalues", vec(pe.eigenvalues));
  } else if (s.name == "rwse") {
    out.emplace_back("rwse", random_walk_pe(g, s.integer("steps", 16), s.flag("pyg")));
  }
}

}  // namespace

std::vector<std::pair<std::string, Array>> graph_encodings(const Graph& graph, const std::vector<std::string>& specs,
                                                           int threads) {
  std::vector<Spec> parsed;
  for (const auto& item : specs)
    if (!item.empty()) parsed.push_back(parse_spec(item));
  if (parsed.empty()) bad("graph_encodings: 'encodings' names no encoding");
  std::vector<std::pair<std::string, Array>> out;
  for (const auto& s : parsed) {
    const std::size_t before = out.size();
    run(graph, s, threads, out);
    for (std::size_t i = before; i < out.size(); ++i)
      for (std::size_t j = 0; j < before; ++j)
        if (out[j].first == out[i].first)
          bad("graph_encodings: two encodings write '" + out[i].first + "' (the second is '" + s.text + "')");
  }
  return out;
}

std::vector<std::string> graph_encoding_names() {
  std::vector<std::string> out;
  for (const auto& [k, v] : known()) {
    std::string line = k;
    for (std::size_t i = 0; i < v.size(); ++i) line += (i ? ", " : ": ") + v[i];
    out.push_back(line);
  }
  return out;
}

}  // namespace posenc::catalogue
