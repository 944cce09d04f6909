// `posenc tabular TABLE.csv --out DIR ...`: the Tab-PET encoding of a table's columns, with the
// feature graph, eigenvalues, names and a report.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "posenc/npy.hpp"
#include "posenc/tabular.hpp"
#include "checks.hpp"
#include "registry.hpp"
#include "staging.hpp"

namespace posenc::cli {

namespace {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}


/// Every numeric option finite, alpha small enough that alpha * 10 (the clipped PE's bound) fits float32.
void check_numbers(const TabularArgs& a) {
  auto text = [](double v) {
    std::ostringstream os;
    os << v;
    return os.str();
  };
  if (!std::isfinite(a.alpha) || std::fabs(a.alpha) > 1e30)
    bad("tabular: parameter 'alpha' must be finite with |alpha| <= 1e30 (pe.npy is float32), got " + text(a.alpha));
  if (!std::isfinite(a.threshold) || a.threshold < 0)
    bad("tabular: parameter 'threshold' must be finite and >= 0, got " + text(a.threshold));
  if (a.top_k < 0) bad("tabular: parameter 'top_k' must be >= 0, got " + std::to_string(a.top_k));
  if (a.subsample < 0) bad("tabular: parameter 'subsample' must be >= 0, got " + std::to_string(a.subsample));
}

void write_arrays(Staging& out, const Tensor& pe, const TabPet& r) {
  const std::string hint = "the table's values and --alpha";
  DTensor ev = DTensor::from_shape({r.pe.eigenvalues.size()});
  std::copy(r.pe.eigenvalues.begin(), r.pe.eigenvalues.end(), ev.begin());
  const std::pair<const char*, Array> arrays[] = {{"pe.npy", pe},
                                                  {"pe_features.npy", r.pe.features_pe},
                                                  {"graph.npy", r.graph.weights},
                                                  {"adjacency.npy", r.pe.adjacency},
                                                  {"eigenvalues.npy", ev}};
  for (const auto& [file, a] : arrays) require_finite_output("tabular", file, a, hint);
  for (const auto& [file, a] : arrays) std::visit([&, f = file](const auto& t) { save_npy(out.file(f).string(), t); }, a);
}

}  // namespace

int cmd_tabular(const TabularArgs& a) {
  check_numbers(a);
  output_directory(a.out, "tabular: --out", a.force);  // before any work
  TableCsvOptions csv;
  if (a.delimiter.size() != 1 && a.delimiter != "tab")
    bad("tabular: parameter 'delimiter' must be one character or 'tab', got '" + a.delimiter + "'");
  csv.delimiter = a.delimiter == "tab" ? '\t' : a.delimiter[0];
  if (a.header != "yes" && a.header != "no" && a.header != "auto")
    bad("tabular: --header must be yes, no or auto, got '" + a.header + "'");
  csv.header = a.header;
  csv.drop = split_list(a.drop);
  for (const auto& item : split_list(a.types)) {
    const auto eq = item.find('=');
    const std::string name = item.substr(0, eq), type = eq == std::string::npos ? "" : item.substr(eq + 1);
    if (type != "numeric" && type != "categorical" && type != "boolean")
      bad("tabular: parameter 'types' entry '" + item + "' must be NAME=numeric|categorical|boolean");
    csv.types[name] = type == "numeric" ? ColumnType::numeric : type == "categorical" ? ColumnType::categorical
                                                                                      : ColumnType::boolean;
  }
  TabPetPipelineOptions o;
  if (a.graph == "spearman") o.graph.method = FeatureGraphMethod::spearman;
  else if (a.graph == "pearson") o.graph.method = FeatureGraphMethod::pearson;
  else if (a.graph == "chowliu") o.graph.method = FeatureGraphMethod::chowliu;
  else bad("tabular: parameter 'graph' must be spearman, pearson or chowliu, got '" + a.graph + "'");
  if (a.k == "auto") {
    o.pe.k = 0;
  } else {
    std::size_t used = 0;
    long long k = 0;
    try {
      k = std::stoll(a.k, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != a.k.size() || k < 1) bad("tabular: parameter 'k' must be 'auto' or an integer >= 1, got '" + a.k + "'");
    if (k > 1000000) bad("tabular: parameter 'k' must be at most the number of features (<= 1000000), got '" + a.k + "'");
    o.pe.k = k;
  }
  o.graph.threshold = a.threshold;
  o.graph.top_k = a.top_k;
  o.preprocess.subsample = a.subsample;
  o.preprocess.seed = a.seed;
  const bool tty = ::isatty(STDERR_FILENO);
  const auto t0 = std::chrono::steady_clock::now();
  require_input_file("tabular: input", a.input);
  if (tty) std::cerr << "\rreading " << a.input << "        " << std::flush;
  const Table table = read_table_csv(a.input, csv);
  if (tty) std::cerr << "\rpreprocessing, graph, eigenvectors        " << std::flush;
  const TabPet r = tabpet(table, o);
  if (tty) std::cerr << "\r" << std::string(48, ' ') << "\r";
  Staging out(a.out, "tabular: --out", a.force);
  const Encoding enc = tabpet_encoding(r.pe.columns_pe, a.alpha, 0);
  Tensor pe = enc.input_concat;
  pe.reshape({pe.shape()[1], pe.shape()[2]});
  write_arrays(out, pe, r);
  std::string names, columns;
  for (const auto& n : r.features.names) names += n + "\n";
  for (const auto& c : r.features.columns) columns += c + "\n";
  write_file_atomic(out.file("features.txt").string(), names);
  write_file_atomic(out.file("columns.txt").string(), columns);
  nlohmann::json rep;
  rep["input"] = a.input;
  rep["rows"] = table.rows;
  rep["rows_used"] = r.features.values.shape()[0];
  rep["rows_dropped_missing_numeric"] = r.features.rows_dropped;
  rep["columns"] = r.features.columns.size();
  rep["features"] = r.features.names.size();
  rep["graph"] = a.graph;
  rep["k"] = r.pe.k;
  rep["k_rule"] = a.k == "auto" ? "automatic (eigenvalue gap)" : "fixed";
  rep["pe_dim"] = r.pe.features_pe.shape()[1];
  rep["alpha"] = a.alpha;
  rep["selected_eigenvalues"] = r.pe.selected;
  rep["source_column"] = r.features.source_column;
  rep["constant_features"] = r.graph.constant;
  rep["warnings"] = r.pe.warnings;
  rep["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  rep["files"] = {{"pe.npy", "alpha * clip(PE, -10, 10) per original column [columns, 2k]"},
                  {"pe_features.npy", "normalised PE per feature node [features, 2k]"},
                  {"graph.npy", "feature graph W [features, features]"},
                  {"adjacency.npy", "A = max(|W|, |W|^T)"},
                  {"eigenvalues.npy", "all eigenvalues of the normalised Laplacian, ascending"}};
  write_file_atomic(out.file("report.json").string(), rep.dump(2) + "\n");
  out.commit();
  std::cout << "tabular: " << table.rows << " rows, " << r.features.columns.size() << " columns -> "
            << r.features.names.size() << " features; " << a.graph << " graph, k = " << r.pe.k << " -> " << out.target().string()
            << " (pe.npy [" << pe.shape()[0] << ", " << pe.shape()[1] << "])\n";
  for (const auto& w : r.pe.warnings) std::cerr << "posenc: warning: " << w << "\n";
  return 0;
}

}  // namespace posenc::cli
