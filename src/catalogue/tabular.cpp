// Catalogue entry of posenc/tabular.hpp: Tab-PET from a CSV file, a numeric matrix, or an
// example table.
#include <cmath>
#include <sstream>

#include "catalogue/define.hpp"
#include "posenc/tabular.hpp"

namespace posenc::catalogue::detail {

namespace {

std::vector<std::string> split_names(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

std::string number_text(double v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

/// A numeric matrix [rows, C] as a table with columns "0" .. "C-1".
Table matrix_table(const DTensor& m) {
  if (m.dimension() != 2 || m.shape()[0] < 2 || m.shape()[1] < 2)
    bad("tabpet: field 'values' must be a [rows, columns] array with at least 2 of each, got " + shape_string(m));
  std::vector<std::string> names;
  std::vector<std::vector<std::string>> cols(m.shape()[1]);
  for (std::size_t c = 0; c < m.shape()[1]; ++c) {
    names.push_back(std::to_string(c));
    for (std::size_t r = 0; r < m.shape()[0]; ++r) cols[c].push_back(std::isnan(m(r, c)) ? "" : number_text(m(r, c)));
  }
  return make_table(names, cols);
}

/// The example: 64 rows of five numeric columns x0..x4 with a chain of dependencies and a
/// categorical column, deterministic (no random generator).
Table example_table() {
  std::vector<std::string> names = {"x0", "x1", "x2", "x3", "x4", "kind"};
  std::vector<std::vector<std::string>> cols(names.size());
  for (int r = 0; r < 64; ++r) {
    const double t = r * 0.37;
    const double x0 = std::sin(t) + 0.1 * r, x1 = x0 * 0.8 + std::cos(3 * t), x2 = x1 - 0.5 * std::sin(7 * t);
    const double x3 = std::cos(t * 1.3), x4 = x3 * x3 + 0.2 * std::sin(11 * t);
    const double v[] = {x0, x1, x2, x3, x4};
    for (int c = 0; c < 5; ++c) cols[c].push_back(number_text(v[c]));
    cols[5].push_back(r % 3 == 0 ? "a" : r % 3 == 1 ? "b" : "c");
  }
  return make_table(names, cols);
}

struct TabPetP {
  std::optional<std::string> csv, drop;
  std::optional<DTensor> values;
  TabPetPipelineOptions o;
  double alpha = 1.0;
  std::int64_t prefix_tokens = 0;
};
/// The entry's fields, bound to TabPetP (tabpet_entry builds with them; tabpet_settings reads them).
Def<TabPetP> tabpet_def() {
  using P = TabPetP;
  Def<P> d("tabpet", "Tab-PET: Laplacian eigenvectors of the feature-dependency graph, per column", "input_concat",
           "Leng, Ghosh & Motani 2026 (arXiv 2511.13338); kentridgeai/Tab-PET", "tabular");
  d.input("table (a CSV file, a numeric [rows, columns] matrix, or an example table)")
      .member("csv", &P::csv, "read the table from this CSV (header row)", "input")
      .member("values", &P::values, "a numeric table [rows, columns] (columns named 0 .. C-1)", "input")
      .member("drop", &P::drop, "columns left out, comma-separated (e.g. the target)", "input")
      .field("graph", [](P& p) -> auto& { return p.o.graph.method; }, "feature graph estimator")
      .field("bins", [](P& p) -> auto& { return p.o.graph.bins; }, "Chow-Liu discretisation bins")
      .field("threshold", [](P& p) -> auto& { return p.o.graph.threshold; }, "> 0: |W| below it set to 0")
      .field("top_k", [](P& p) -> auto& { return p.o.graph.top_k; }, "> 0: keep each feature's top_k |W|")
      .field("k", [](P& p) -> auto& { return p.o.pe.k; }, "eigenvectors per end (0 = automatic)")
      .field("deterministic_sign", [](P& p) -> auto& { return p.o.pe.deterministic_sign; }, "largest-|entry| positive per eigenvector")
      .field("max_levels", [](P& p) -> auto& { return p.o.preprocess.max_levels; }, "categories kept before 'Other'")
      .field("keep_levels", [](P& p) -> auto& { return p.o.preprocess.keep_levels; }, "most frequent levels kept")
      .field("subsample", [](P& p) -> auto& { return p.o.preprocess.subsample; }, "> 0: rows drawn without replacement")
      .field("seed", [](P& p) -> auto& { return p.o.preprocess.seed; }, "subsampling seed")
      .member("alpha", &P::alpha, "scale of the concatenated PE")
      .member("prefix_tokens", &P::prefix_tokens, "zero rows first (CLS)", "grid");
  return d;
}

Entry tabpet_entry() {
  using P = TabPetP;
  Def<P> d = tabpet_def();
  d.build([](const P& p) {
    TableCsvOptions csv;
    if (p.drop) csv.drop = split_names(*p.drop);
    if (p.csv && p.values) bad("tabpet: give field 'csv' or field 'values', not both");
    const Table table = p.csv ? read_table_csv(*p.csv, csv) : p.values ? matrix_table(*p.values) : example_table();
    const TabPet r = tabpet(table, p.o);
    Built b = absolute(tabpet_encoding(r.pe.columns_pe, p.alpha, p.prefix_tokens), true);
    b.arrays[0].first = "pe";
    b.arrays.emplace_back("pe_features", r.pe.features_pe);
    b.arrays.emplace_back("graph", r.graph.weights);
    b.arrays.emplace_back("adjacency", r.pe.adjacency);
    b.arrays.emplace_back("eigenvalues", to_double(r.pe.eigenvalues));
    std::string features, columns;
    for (const auto& n : r.features.names) features += (features.empty() ? "" : ",") + n;
    for (const auto& c : r.features.columns) columns += (columns.empty() ? "" : ",") + c;
    b.metadata.emplace_back("k", r.pe.k);
    b.metadata.emplace_back("features", features);
    b.metadata.emplace_back("columns", columns);
    b.metadata.emplace_back("selected_eigenvalues", r.pe.selected);
    return b;
  });
  return d.finish();
}

}  // namespace

void add_tabular(std::vector<Entry>& out) { out.push_back(tabpet_entry()); }

}  // namespace posenc::catalogue::detail

namespace posenc::catalogue {

TabPetSettings tabpet_settings(const Values& values) {
  TabPetSettings out;
  detail::Def<detail::TabPetP> d = detail::tabpet_def();
  d.build([&out](const detail::TabPetP& p) {
    out.options = p.o;
    out.alpha = p.alpha;
    out.prefix_tokens = p.prefix_tokens;
    return Built{};
  });
  d.finish().build(check("tabpet", values));
  return out;
}

}  // namespace posenc::catalogue
