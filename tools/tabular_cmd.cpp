// `posenc tabular TABLE.csv --out DIR ...`: the Tab-PET encoding of a table's columns, with the
// FT-Transformer token order, feature graph, eigenvalues, names and a report (docs/tabular.md).
#include <chrono>
#include <cmath>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "posenc/npy.hpp"
#include "posenc/tabular.hpp"
#include "checks.hpp"
#include "cli.hpp"
#include "file_report.hpp"
#include "progress.hpp"
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

/// The arrays, each checked finite before any is written, and their entries in report.json.
void write_arrays(Staging& out, const Tensor& pe, const Tensor& pe_tokens, const TabPet& r, nlohmann::json& files) {
  const std::string hint = "the table's values and --alpha";
  DTensor ev = DTensor::from_shape({r.pe.eigenvalues.size()});
  std::copy(r.pe.eigenvalues.begin(), r.pe.eigenvalues.end(), ev.begin());
  const std::string pe_columns =
      "PE dimension j < 2k: eigenvectors of the k lowest non-trivial eigenvalues, then of the k highest "
      "(selected_eigenvalues)";
  const std::string feature = "feature (features.txt order)";
  struct Out {
    const char* file;
    Array array;
    std::string rows, columns, values;
  };
  const Out arrays[] = {
      {"pe.npy", pe, "column (columns.txt order: table order, dropped columns left out)", pe_columns,
       "alpha * clip(PE, -10, 10); one-hot features averaged per column"},
      {"pe_tokens.npy", pe_tokens,
       "FT-Transformer feature token (tokens.txt order); row t = pe.npy row ftt_token_order[t]", pe_columns,
       "as pe.npy"},
      {"pe_features.npy", r.pe.features_pe, feature, pe_columns, "normalised PE (z-scored per column, before alpha)"},
      {"graph.npy", r.graph.weights, feature, feature, "signed feature graph W, diagonal 0"},
      {"adjacency.npy", r.pe.adjacency, feature, feature, "A = max(|W|, |W|^T)"},
      {"eigenvalues.npy", ev, "eigenvalue index, ascending", "", "every eigenvalue of the normalised Laplacian"}};
  for (const auto& o : arrays) require_finite_output("tabular", o.file, o.array, hint);
  for (const auto& o : arrays) {
    std::visit([&](const auto& t) { save_npy(out.file(o.file).string(), t); }, o.array);
    files[o.file] = npy_entry(o.array, o.rows, o.columns, o.values);
  }
}

/// Each line of `lines` followed by a newline, written into the staging directory.
void write_lines(Staging& out, const std::string& file, const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  write_file_atomic(out.file(file).string(), text);
}

/// Settings from the arguments through the catalogue's `tabpet` entry (its fields, its names for
/// the graph estimators), checked before any work. "auto" leaves k at the entry's default.
catalogue::TabPetSettings pipeline_settings(const TabularArgs& a) {
  catalogue::Values v = {{"graph", a.graph},     {"alpha", a.alpha},         {"threshold", a.threshold},
                         {"top_k", a.top_k}, {"subsample", a.subsample}, {"seed", static_cast<std::int64_t>(a.seed)}};
  if (a.k != "auto") {
    std::size_t used = 0;
    long long k = 0;
    try {
      k = std::stoll(a.k, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != a.k.size() || k < 1) bad("tabular: parameter 'k' must be 'auto' or an integer >= 1, got '" + a.k + "'");
    if (k > 1000000)
      bad("tabular: parameter 'k' must be at most the number of features (<= 1000000), got '" + a.k + "'");
    v["k"] = static_cast<std::int64_t>(k);
  }
  try {
    return catalogue::tabpet_settings(v);
  } catch (const std::invalid_argument& e) {  // "tabpet: field 'graph' expects one of ..." as this command's
    const std::string what = e.what(), entry = "tabpet: field '";
    bad("tabular: " + (what.starts_with(entry) ? "parameter '" + what.substr(entry.size()) : what));
  }
}

TableCsvOptions csv_options(const TabularArgs& a) {
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
  return csv;
}

nlohmann::json tabular_report(const TabularArgs& a, const catalogue::TabPetSettings& set, const Table& table,
                              const TabPet& r, const std::vector<std::int64_t>& order) {
  nlohmann::json rep;
  rep["input"] = a.input;
  rep["rows"] = table.rows;
  rep["rows_used"] = r.features.values.shape()[0];
  rep["rows_dropped_missing_numeric"] = r.features.rows_dropped;
  rep["columns"] = r.features.columns.size();
  rep["features"] = r.features.names.size();
  rep["graph"] = catalogue::enum_name(set.options.graph.method);
  rep["k"] = r.pe.k;
  rep["k_rule"] = a.k == "auto" ? "automatic (eigenvalue gap)" : "fixed";
  rep["pe_dim"] = r.pe.features_pe.shape()[1];
  rep["alpha"] = set.alpha;
  rep["selected_eigenvalues"] = r.pe.selected;
  rep["source_column"] = r.features.source_column;
  rep["ftt_token_order"] = order;
  rep["constant_features"] = r.graph.constant;
  rep["warnings"] = r.pe.warnings;
  const std::size_t C = r.features.columns.size(), F = r.features.names.size();
  rep["files"]["columns.txt"] = text_entry(C, "original column names, table order (rows of pe.npy)");
  rep["files"]["tokens.txt"] =
      text_entry(C, "column names in FT-Transformer token order: numeric columns, then categorical and boolean ones, "
                    "each group in table order (rows of pe_tokens.npy)");
  rep["files"]["features.txt"] = text_entry(F, "feature (graph node) names: numeric columns, then column_level one-hots");
  return rep;
}

}  // namespace

int cmd_tabular(const TabularArgs& a) {
  check_numbers(a);
  output_directory(a.out, "tabular: --out", a.force);  // before any work
  const TableCsvOptions csv = csv_options(a);
  const catalogue::TabPetSettings set = pipeline_settings(a);
  const auto t0 = std::chrono::steady_clock::now();
  require_input_file("tabular: input", a.input);
  Progress progress("tabular");
  progress.step(0, 3, "reading " + a.input);
  const Table table = read_table_csv(a.input, csv);
  progress.step(1, 3, "preprocessing, feature graph, eigenvectors");
  const TabPet r = tabpet(table, set.options);
  progress.step(2, 3, "writing " + a.out);
  Staging out(a.out, "tabular: --out", a.force);
  const Encoding enc = tabpet_encoding(r.pe.columns_pe, set.alpha, 0);
  Tensor pe = enc.input_concat;
  pe.reshape({pe.shape()[1], pe.shape()[2]});
  const std::vector<std::int64_t> order = ftt_token_order(r.features);
  Tensor pe_tokens = Tensor::from_shape(pe.shape());
  std::vector<std::string> tokens;
  for (std::size_t t = 0; t < order.size(); ++t) {
    const auto c = static_cast<std::size_t>(order[t]);
    std::copy_n(pe.data() + c * pe.shape()[1], pe.shape()[1], pe_tokens.data() + t * pe.shape()[1]);
    tokens.push_back(r.features.columns[c]);
  }
  nlohmann::json rep = tabular_report(a, set, table, r, order);
  write_arrays(out, pe, pe_tokens, r, rep["files"]);
  write_lines(out, "features.txt", r.features.names);
  write_lines(out, "columns.txt", r.features.columns);
  write_lines(out, "tokens.txt", tokens);
  rep["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  write_file_atomic(out.file("report.json").string(), rep.dump(2) + "\n");
  out.commit();
  progress.clear();
  std::cout << "tabular: " << table.rows << " rows, " << r.features.columns.size() << " columns -> "
            << r.features.names.size() << " features; " << catalogue::enum_name(set.options.graph.method)
            << " graph, k = " << r.pe.k << " -> "
            << out.target().string() << " (pe.npy [" << pe.shape()[0] << ", " << pe.shape()[1] << "])\n";
  for (const auto& w : r.pe.warnings) std::cerr << "posenc: warning: " << w << "\n";
  return 0;
}

}  // namespace posenc::cli
