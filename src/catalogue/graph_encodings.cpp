// The named node encodings of `posenc graph` and `posenc.graph_encodings`: "name[:option=value...]",
// one grammar for both front ends (catalogue.hpp, "graph encodings by name").
//
// Each name binds its options to the members of a parameter struct, as the catalogue's entries do
// (define.hpp): the member's C++ type decides how a value is parsed (detail::Conv), and defaults are
// read from P{}. P holds the library's option struct where one exists; for functions that take
// plain arguments (pagerank, eigenvector_centrality, ...), P's members are those defaults, written
// once here.
#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <sstream>

#include "catalogue/define.hpp"
#include "posenc/graph.hpp"

namespace posenc::catalogue {

namespace {

using detail::bad;
using detail::Conv;

// ------------------------------------------------------------------ parameter structs

struct SpdP {
  ShortestPathOptions o;  // max_distance, unreachable (threads comes from the caller)
};
struct DijkstraP {
  double unreachable = std::numeric_limits<double>::infinity();  // shortest_path_lengths' default
};
struct DegreeP {
  DegreeKind kind = DegreeKind::total;  // degrees' default
};
struct BetweennessP {
  bool normalized = true;  // betweenness_centrality's default
};
struct ClosenessP {
  bool use_weights = false;  // closeness_centrality's default
};
struct PowerIterationP {
  double tol = 1e-6;           // pagerank's and eigenvector_centrality's default
  std::int64_t max_iter = 100;  // likewise
};
struct PagerankP {
  double alpha = 0.85;  // pagerank's default
  PowerIterationP it;
};
struct EigenvectorP {
  PowerIterationP it;
};
struct LapP {
  LaplacianPeOptions o;
  bool pyg = !LaplacianPeOptions{}.drop_per_component;  // "pyg": only the first vector is trivial
};
struct RwseP {
  std::int64_t steps = 16;  // random_walk_pe has no default: the catalogue's (as the rwse entry's)
  bool pyg = false;         // random_walk_pe's pyg_compat default
};

// ------------------------------------------------------------------ options and their checks

/// One option: its typed description (FieldInfo: type, choices, default), an optional range rule
/// checked after parsing, and how it sets a member of P.
struct Option {
  FieldInfo info;
  std::string rule;                      ///< "in [0, 1]"; "" = every value of the type
  std::function<bool(const Value&)> ok;  ///< the rule (unset when rule is "")
};

/// A name: its options, the files it writes, and how it runs (type-erased over P).
struct Node {
  std::string name;
  std::vector<Option> options;
  std::function<std::vector<std::string>(const GraphSpec&)> files;
  std::function<GraphEncoded(const Graph&, const GraphSpec&, int)> run;
};

template <class P>
class Bind {
 public:
  explicit Bind(std::string name) : name_(std::move(name)) {}
  /// An option bound through `[](P& p) -> auto& { return p.member; }`; its default is P{}'s.
  template <class Access>
  Bind& option(const std::string& name, Access access, std::string rule = "",
               std::function<bool(const Value&)> ok = {}) {
    using T = std::remove_reference_t<decltype(access(std::declval<P&>()))>;
    Option o;
    o.info.name = name;
    o.info.type = Conv<T>::type();
    o.info.choices = Conv<T>::choices();
    o.info.aliases = Conv<T>::aliases();
    P base{};
    o.info.default_value = Conv<T>::to_value(access(base));
    o.info.default_text = value_text(*o.info.default_value);
    o.rule = std::move(rule);
    o.ok = std::move(ok);
    options_.push_back(std::move(o));
    const std::string what = "graph_encodings: option '" + name + "'";
    setters_->push_back([access, name, what](P& p, const Values& v) {
      access(p) = Conv<T>::from_value(v.at(name), what);
    });
    return *this;
  }
  /// The files and the computation, from P with the spec's values set.
  Node finish(std::function<std::vector<std::string>(const P&)> files,
              std::function<GraphEncoded(const Graph&, const P&, const GraphSpec&, int)> run) {
    auto make = [setters = setters_](const GraphSpec& s) {
      P p{};
      for (const auto& set : *setters) set(p, s.values);
      return p;
    };
    Node n;
    n.name = name_;
    n.options = options_;
    n.files = [make, files](const GraphSpec& s) { return files(make(s)); };
    n.run = [make, run](const Graph& g, const GraphSpec& s, int threads) { return run(g, make(s), s, threads); };
    return n;
  }

 private:
  std::string name_;
  std::vector<Option> options_;
  std::shared_ptr<std::vector<std::function<void(P&, const Values&)>>> setters_ =
      std::make_shared<std::vector<std::function<void(P&, const Values&)>>>();
};

bool in_unit(const Value& v) { return std::get<double>(v) >= 0 && std::get<double>(v) <= 1; }
bool positive_finite(const Value& v) { return std::get<double>(v) > 0 && std::isfinite(std::get<double>(v)); }
bool iteration_count(const Value& v) { return std::get<std::int64_t>(v) >= 1 && std::get<std::int64_t>(v) <= INT_MAX; }
bool non_negative(const Value& v) { return std::get<std::int64_t>(v) >= 0; }
const std::string kIterationRule = "an integer in [1, " + std::to_string(INT_MAX) + "]";

std::string message_prefix(const GraphSpec& s) { return s.caller + ": encoding '" + s.text + "'"; }
std::string number_text(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}
DTensor vec(const std::vector<double>& v) { return detail::to_double(v); }
GraphEncoded one(std::string name, Array a) {
  GraphEncoded e;
  e.arrays.emplace_back(std::move(name), std::move(a));
  return e;
}

/// A power iteration (PageRank, eigenvector centrality), with the options to change named when it
/// does not converge.
GraphEncoded iterate(const GraphSpec& s, const PowerIterationP& it,
                     const std::function<std::vector<double>(double, int)>& run) {
  const int max_iter = static_cast<int>(it.max_iter);
  try {
    return one(s.name, vec(run(it.tol, max_iter)));
  } catch (const std::invalid_argument& e) {
    if (std::string(e.what()).find("did not converge") == std::string::npos) throw;
    bad(message_prefix(s) + ": the power iteration did not reach tol = " + number_text(it.tol) + " in " +
        std::to_string(max_iter) + " iterations; raise max_iter (e.g. '" + s.name + ":tol=" + number_text(it.tol) +
        ":max_iter=" + std::to_string(std::min<long long>(10LL * max_iter, INT_MAX)) + "') or tol");
  }
}

GraphEncoded run_lap(const Graph& g, const LapP& p, const GraphSpec& s) {
  LaplacianPeOptions o = p.o;
  o.drop_per_component = !p.pyg;
  LaplacianPe pe;
  try {
    pe = laplacian_pe(g, o);
  } catch (const std::invalid_argument&) {
    if (o.pad || o.k < 1 || o.k < g.nodes() - 1) throw;
    bad(message_prefix(s) + ": the " + std::to_string(g.nodes()) + "-node graph has fewer than k = " +
        std::to_string(o.k) + " non-trivial Laplacian eigenvectors; write '" + s.text +
        ":pad=1' to zero-fill the missing columns, or a smaller k");
  }
  GraphEncoded e;
  e.arrays.emplace_back("lap", pe.vectors);
  e.arrays.emplace_back("lap_eigenvalues", vec(pe.eigenvalues));
  e.metadata.emplace_back("components", pe.components);
  e.metadata.emplace_back("trivial", pe.trivial);
  if (std::isfinite(pe.eigengap)) e.metadata.emplace_back("eigengap", pe.eigengap);
  if (!pe.warning.empty()) e.metadata.emplace_back("warning", pe.warning);
  return e;
}

std::vector<Node> make_nodes() {
  std::vector<Node> n;
  n.push_back(Bind<SpdP>("spd")
                  .option("max", [](SpdP& p) -> auto& { return p.o.max_distance; })
                  .option("unreachable", [](SpdP& p) -> auto& { return p.o.unreachable; })
                  .finish([](const SpdP&) { return std::vector<std::string>{"spd"}; },
                          [](const Graph& g, const SpdP& p, const GraphSpec&, int threads) {
                            ShortestPathOptions o = p.o;
                            o.threads = threads;
                            return one("spd", shortest_path_hops(g, o));
                          }));
  n.push_back(Bind<DijkstraP>("dijkstra")
                  .option("unreachable", [](DijkstraP& p) -> auto& { return p.unreachable; })
                  .finish([](const DijkstraP&) { return std::vector<std::string>{"dijkstra"}; },
                          [](const Graph& g, const DijkstraP& p, const GraphSpec&, int threads) {
                            return one("dijkstra", shortest_path_lengths(g, p.unreachable, threads));
                          }));
  n.push_back(Bind<DegreeP>("degree")
                  .option("kind", [](DegreeP& p) -> auto& { return p.kind; })
                  .finish([](const DegreeP& p) { return std::vector<std::string>{"degree_" + enum_name(p.kind)}; },
                          [](const Graph& g, const DegreeP& p, const GraphSpec&, int) {
                            return one("degree_" + enum_name(p.kind), degrees(g, p.kind));
                          }));
  n.push_back(Bind<BetweennessP>("betweenness")
                  .option("normalized", [](BetweennessP& p) -> auto& { return p.normalized; })
                  .finish([](const BetweennessP&) { return std::vector<std::string>{"betweenness"}; },
                          [](const Graph& g, const BetweennessP& p, const GraphSpec&, int) {
                            return one("betweenness", vec(betweenness_centrality(g, p.normalized)));
                          }));
  n.push_back(Bind<ClosenessP>("closeness")
                  .option("use_weights", [](ClosenessP& p) -> auto& { return p.use_weights; })
                  .finish([](const ClosenessP&) { return std::vector<std::string>{"closeness"}; },
                          [](const Graph& g, const ClosenessP& p, const GraphSpec&, int) {
                            return one("closeness", vec(closeness_centrality(g, p.use_weights)));
                          }));
  n.push_back(Bind<PagerankP>("pagerank")
                  .option("alpha", [](PagerankP& p) -> auto& { return p.alpha; }, "in [0, 1]", in_unit)
                  .option("tol", [](PagerankP& p) -> auto& { return p.it.tol; }, "a finite number > 0", positive_finite)
                  .option("max_iter", [](PagerankP& p) -> auto& { return p.it.max_iter; }, kIterationRule,
                          iteration_count)
                  .finish([](const PagerankP&) { return std::vector<std::string>{"pagerank"}; },
                          [](const Graph& g, const PagerankP& p, const GraphSpec& s, int) {
                            return iterate(s, p.it, [&](double tol, int it) { return pagerank(g, p.alpha, tol, it); });
                          }));
  n.push_back(Bind<EigenvectorP>("eigenvector")
                  .option("tol", [](EigenvectorP& p) -> auto& { return p.it.tol; }, "a finite number > 0",
                          positive_finite)
                  .option("max_iter", [](EigenvectorP& p) -> auto& { return p.it.max_iter; }, kIterationRule,
                          iteration_count)
                  .finish([](const EigenvectorP&) { return std::vector<std::string>{"eigenvector"}; },
                          [](const Graph& g, const EigenvectorP& p, const GraphSpec& s, int) {
                            return iterate(s, p.it,
                                           [&](double tol, int it) { return eigenvector_centrality(g, tol, it); });
                          }));
  n.push_back(Bind<LapP>("lap")
                  .option("k", [](LapP& p) -> auto& { return p.o.k; })
                  .option("kind", [](LapP& p) -> auto& { return p.o.kind; })
                  .option("pad", [](LapP& p) -> auto& { return p.o.pad; })
                  .option("solver", [](LapP& p) -> auto& { return p.o.solver; })
                  .option("flip", [](LapP& p) -> auto& { return p.o.random_flip; })
                  .option("seed", [](LapP& p) -> auto& { return p.o.seed; })
                  .option("pyg", [](LapP& p) -> auto& { return p.pyg; })
                  .option("dense_max_nodes", [](LapP& p) -> auto& { return p.o.dense_max_nodes; }, "an integer >= 0",
                          non_negative)
                  .finish([](const LapP&) { return std::vector<std::string>{"lap", "lap_eigenvalues"}; },
                          [](const Graph& g, const LapP& p, const GraphSpec& s, int) { return run_lap(g, p, s); }));
  n.push_back(Bind<RwseP>("rwse")
                  .option("steps", [](RwseP& p) -> auto& { return p.steps; })
                  .option("pyg", [](RwseP& p) -> auto& { return p.pyg; })
                  .finish([](const RwseP&) { return std::vector<std::string>{"rwse"}; },
                          [](const Graph& g, const RwseP& p, const GraphSpec&, int) {
                            return one("rwse", random_walk_pe(g, p.steps, p.pyg));
                          }));
  return n;
}

const std::vector<Node>& nodes() {
  static const std::vector<Node> n = make_nodes();
  return n;
}

const Node& node_of(const std::string& name) {
  for (const auto& n : nodes())
    if (n.name == name) return n;
  bad("graph_encodings: no encoding '" + name + "'");
}

// ------------------------------------------------------------------ parsing one spec

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "none" : out;
}

/// A value from its text by the option's type (the type errors of `posenc graph`).
Value parse_option(const GraphSpec& s, const Option& o, const std::string& v) {
  const std::string what = message_prefix(s) + ": option '" + o.info.name + "'";
  const char* first = v.data() + (!v.empty() && v[0] == '+' ? 1 : 0);
  const char* last = v.data() + v.size();
  switch (o.info.type) {
    case FieldType::boolean: {
      const std::string n = normalise(v);
      if (n == "1" || n == "true" || n == "yes" || n == "on") return true;
      if (n == "0" || n == "false" || n == "no" || n == "off") return false;
      bad(what + " must be true or false, got '" + v + "'");
    }
    case FieldType::integer: {
      std::int64_t x = 0;
      const auto [p, ec] = std::from_chars(first, last, x);
      if (v.empty() || ec != std::errc() || p != last) bad(what + " must be an integer, got '" + v + "'");
      return x;
    }
    case FieldType::real: {
      double x = 0;
      const auto [p, ec] = std::from_chars(first, last, x);
      if (v.empty() || ec != std::errc() || p != last || std::isnan(x))
        bad(what + " must be a number, got '" + v + "'");
      return x;
    }
    case FieldType::choice: {
      const std::string n = normalise(v);
      for (const auto& c : o.info.choices)
        if (normalise(c) == n) return c;
      if (auto it = o.info.aliases.find(n); it != o.info.aliases.end()) return it->second;
      unknown_choice(what, o.info.choices, v);
    }
    default: bad(what + ": unsupported option type");
  }
}

[[noreturn]] void unknown_name(const std::string& caller, const std::string& name) {
  std::vector<std::string> names;
  for (const auto& n : nodes()) names.push_back(n.name);
  const std::string guess = closest(name, names);
  bad(caller + ": unknown encoding '" + name + "'" + (guess.empty() ? "" : "; did you mean '" + guess + "'?") + " (" +
      join(names) + ")");
}

GraphSpec parse_spec(const std::string& item, const std::string& caller) {
  GraphSpec s;
  s.text = item;
  s.caller = caller;
  std::stringstream parts(item);
  std::getline(parts, s.name, ':');
  s.name = normalise(s.name);
  auto node = std::find_if(nodes().begin(), nodes().end(), [&](const Node& n) { return n.name == s.name; });
  if (node == nodes().end()) unknown_name(caller, s.name);
  std::vector<std::string> keys;
  for (const auto& o : node->options) keys.push_back(o.info.name);
  for (const auto& o : node->options) s.values[o.info.name] = *o.info.default_value;
  for (std::string part; std::getline(parts, part, ':');) {
    const auto eq = part.find('=');
    const std::string key = normalise(part.substr(0, eq));
    auto o = std::find_if(node->options.begin(), node->options.end(),
                          [&](const Option& x) { return x.info.name == key; });
    if (eq == std::string::npos || o == node->options.end()) {
      const std::string guess = closest(key, keys);
      const std::string hint = guess.empty() ? "" : "; did you mean '" + guess + "'?";
      bad(message_prefix(s) + ": unknown option '" + part + "'" + hint + " (options of " + s.name + ": " + join(keys) +
          ")");
    }
    const std::string text = part.substr(eq + 1);
    const Value v = parse_option(s, *o, text);
    if (o->ok && !o->ok(v))
      bad(message_prefix(s) + ": option '" + key + "' must be " + o->rule + ", got '" + text + "'");
    s.values[key] = v;
  }
  s.files = node->files(s);
  return s;
}

}  // namespace

const Value& GraphSpec::value(const std::string& option) const {
  auto it = values.find(normalise(option));
  if (it == values.end()) bad(caller + ": encoding '" + text + "' has no option '" + option + "'");
  return it->second;
}

std::vector<GraphSpec> parse_graph_specs(const std::vector<std::string>& specs, const std::string& caller) {
  std::vector<GraphSpec> out;
  for (const auto& item : specs)
    if (!item.empty()) out.push_back(parse_spec(item, caller));
  if (out.empty()) bad(caller + ": parameter 'encodings' names no encoding");
  return out;
}

GraphEncoded run_graph_spec(const Graph& graph, const GraphSpec& spec, int threads) {
  return node_of(spec.name).run(graph, spec, threads);
}

std::vector<std::pair<std::string, Array>> graph_encodings(const Graph& graph, const std::vector<std::string>& specs,
                                                           int threads) {
  const std::vector<GraphSpec> parsed = parse_graph_specs(specs);
  std::map<std::string, std::string> owner;
  for (const auto& s : parsed)
    for (const auto& f : s.files)
      if (auto [it, fresh] = owner.emplace(f, s.text); !fresh)
        bad("graph_encodings: encodings '" + it->second + "' and '" + s.text + "' would both write '" + f + "'");
  std::vector<std::pair<std::string, Array>> out;
  for (const auto& s : parsed)
    for (auto& a : run_graph_spec(graph, s, threads).arrays) out.push_back(std::move(a));
  return out;
}

std::vector<std::string> graph_encoding_names() {
  std::vector<std::string> out;
  for (const auto& n : nodes()) {
    std::string line = n.name;
    for (std::size_t i = 0; i < n.options.size(); ++i)
      line += (i ? ", " : ": ") + n.options[i].info.name + "=" + n.options[i].info.default_text;
    out.push_back(line);
  }
  return out;
}

}  // namespace posenc::catalogue
