// The encodings of `posenc graph --encodings`: the comma-separated list handed to the catalogue's
// one grammar (catalogue::parse_graph_specs, run_graph_spec), and what each written file's rows
// and columns are.
#pragma once

#include <string>
#include <vector>

#include "cli.hpp"
#include "posenc/catalogue.hpp"

namespace posenc::cli {

/// "lap:k=8:kind=sym" parsed by the catalogue: name, text as typed, every option typed, files.
using GraphSpec = catalogue::GraphSpec;

/// Parse a comma-separated list; unknown names and options, malformed or out-of-range values are
/// errors naming the spec as typed ("graph: encoding '...': option '...' ..."), before anything
/// is read or computed.
std::vector<GraphSpec> parse_graph_specs(const std::string& list);

/// What the rows, columns and values of a file written by the graph command are.
struct FileAxes {
  std::string rows, columns, values;
};
FileAxes graph_file_axes(const std::string& stem, const GraphSpec& s);

}  // namespace posenc::cli
