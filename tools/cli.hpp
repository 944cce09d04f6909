// What the command's files share: the one error type, name normalisation and suggestions (the
// catalogue's rules), the array variant, and the file commands' arguments (graph, tabular).
// Encodings themselves are described once, by the catalogue (posenc/catalogue.hpp).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "posenc/catalogue.hpp"

namespace posenc::cli {

/// Throws std::invalid_argument(msg): main turns it into one line on stderr.
[[noreturn]] inline void bad(const std::string& msg) { throw std::invalid_argument(msg); }
/// Lower case, '-' -> '_': `--beta-fast` and `--beta_fast` are the same parameter.
inline std::string normalise(std::string name) { return catalogue::normalise(std::move(name)); }
/// The candidate closest to `name` (the catalogue's rule), or "".
inline std::string closest(const std::string& name, const std::vector<std::string>& candidates) {
  return catalogue::closest(name, candidates);
}
/// "name" -> "--name" as typed on the command line ('_' written '-').
inline std::string flag_of(std::string name) {
  for (auto& c : name)
    if (c == '_') c = '-';
  return "--" + name;
}

using Array = catalogue::Array;

/// `posenc graph FILE --out DIR ...` (tools/graph_cmd.cpp).
struct GraphArgs {
  std::string input, out;
  std::string encodings = "spd,degree,pagerank,lap:k=8:pad=1,rwse:steps=16";
  bool directed = false;
  std::string header = "auto";
  std::string weight_key = "weight";
  int threads = 0;
  bool force = false;  ///< replace a non-empty --out directory
  std::string nodes;       ///< node list file (one label per line): row order and isolated nodes
  std::string index_base;  ///< "" (ids are labels), "0" or "1" (ids are 0- or 1-based indices)
};
int cmd_graph(const GraphArgs& args);

/// `posenc tabular TABLE.csv --out DIR ...` (tools/tabular_cmd.cpp).
/// `posenc tabular`'s options; graph, alpha, threshold, top_k, subsample and seed start from the
/// catalogue's tabpet entry (catalogue::tabpet_settings(), set where the options are declared).
struct TabularArgs {
  std::string input, out;
  std::string graph;
  std::string k = "auto";
  double alpha = 0;
  std::string drop, types;
  std::string delimiter = ",";
  std::string header = "yes";  ///< yes, no or auto (TableCsvOptions::header)
  double threshold = 0;
  std::int64_t top_k = 0, subsample = 0;
  std::uint64_t seed = 0;
  bool force = false;  ///< replace a non-empty --out directory
};
int cmd_tabular(const TabularArgs& args);

}  // namespace posenc::cli
