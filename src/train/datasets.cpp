// Small real datasets for training studies: numeric CSV tables (read by posenc::read_table_csv)
// split into float32 features and one target, and the registry of the copies shipped in
// examples/data/sklearn (examples/data/README.md).
#include "posenc/datasets.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "detail/check.hpp"
#include "posenc/catalogue.hpp"
#include "posenc/tabular.hpp"

// Where the shipped CSVs are (CMakeLists.txt defines both for this file).
#ifndef POSENC_DATA_SOURCE_DIR
#define POSENC_DATA_SOURCE_DIR ""
#endif
#ifndef POSENC_DATA_INSTALL_DIR
#define POSENC_DATA_INSTALL_DIR "/usr/local/share/posenc/data/sklearn"
#endif

namespace posenc::train {

using posenc::detail::fail;

namespace {

// Integers up to 2^24 are exact in float32: the largest class id a target may hold.
constexpr double kMaxClassId = 16777216.0;

std::string joined(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

std::string suggestion(const std::string& name, const std::vector<std::string>& candidates) {
  const std::string near = catalogue::closest(name, candidates);
  return near.empty() ? std::string() : "; did you mean '" + near + "'?";
}

/// The shipped datasets (figures from scikit-learn's descr/*.rst; tests/test_datasets.cpp checks the files).
const std::vector<DatasetInfo>& registry() {
  static const std::vector<DatasetInfo> all = [] {
    std::vector<DatasetInfo> v;
    v.push_back({"breast_cancer", "breast_cancer.csv",
                 "UCI breast cancer Wisconsin (diagnostic), Street, Wolberg & Mangasarian 1993: 30 features of the "
                 "cell nuclei in a fine-needle aspirate image; target 0 malignant (212), 1 benign (357)",
                 569, 30, {"target"}, true, {"malignant", "benign"}});
    v.push_back({"diabetes", "diabetes.csv",
                 "Diabetes, Efron, Hastie, Johnstone & Tibshirani 2004: age, sex (1/2), bmi, blood pressure and six "
                 "blood serum measurements (raw, unscaled); target disease progression one year after baseline (25..346)",
                 442, 10, {"target"}, false, {}});
    v.push_back({"digits", "digits.csv",
                 "UCI optical recognition of handwritten digits (test set), Alpaydin & Kaynak 1998: 8x8 images of "
                 "integer pixels 0..16 (pixel_<row>_<col>); target the digit 0..9",
                 1797, 64, {"target"}, true, {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}});
    v.push_back({"iris", "iris.csv",
                 "Iris, Fisher 1936: sepal and petal length and width in cm; target the species setosa, versicolor, "
                 "virginica (50 each)",
                 150, 4, {"target"}, true, {"setosa", "versicolor", "virginica"}});
    v.push_back({"linnerud", "linnerud.csv",
                 "Linnerud, Tenenhaus 1998: Chins, Situps, Jumps of 20 middle-aged men; targets the physiological "
                 "Weight, Waist, Pulse (one chosen, the others left out)",
                 20, 3, {"Weight", "Waist", "Pulse"}, false, {}});
    v.push_back({"wine", "wine.csv",
                 "UCI wine recognition, Forina et al.: 13 chemical measurements of wines from three Italian "
                 "cultivators; target the cultivar class_0 (59), class_1 (71), class_2 (48)",
                 178, 13, {"target"}, true, {"class_0", "class_1", "class_2"}});
    return v;
  }();
  return all;
}

const DatasetInfo& find_dataset(const char* fn, const std::string& name) {
  for (const auto& d : registry())
    if (d.name == name) return d;
  const auto names = dataset_names();
  fail(fn, "parameter 'name' = '", name, "' is not a shipped dataset", suggestion(name, names), " (",
       joined(names), ")");
}

/// Class ids of a text (or true/false) target: the distinct labels sorted as strings.
void text_classes(const TableColumn& col, TableData& d) {
  std::vector<std::string> levels = col.cells;
  std::sort(levels.begin(), levels.end());
  levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
  float* t = d.targets.data();
  for (std::size_t r = 0; r < col.cells.size(); ++r)
    t[r] = static_cast<float>(std::lower_bound(levels.begin(), levels.end(), col.cells[r]) - levels.begin());
  d.classes = static_cast<std::int64_t>(levels.size());
  d.class_names = std::move(levels);
}

}  // namespace

ITensor TableData::labels() const {
  if (!classification)
    fail("TableData::labels", "the table '", name, "' has a regression target ('", target_column,
         "'), not class ids");
  ITensor out = ITensor::from_shape({targets.size()});
  const float* t = targets.data();
  for (std::size_t i = 0; i < targets.size(); ++i) out.data()[i] = static_cast<std::int64_t>(t[i]);
  return out;
}

TableData load_table_csv(const std::string& path, const std::string& target_column, TargetKind kind,
                         const std::vector<std::string>& drop, bool text_levels) {
  const char* fn = "load_table_csv";
  if (std::find(drop.begin(), drop.end(), target_column) != drop.end())
    fail(fn, "parameter 'drop' names the target column '", target_column, "'");
  TableCsvOptions options;
  options.drop = drop;
  Table table;
  try {
    table = read_table_csv(path, options);
  } catch (const std::invalid_argument& e) {
    fail(fn, e.what());  // "load_table_csv: read_table_csv: <path>:<line>: ..."
  }
  const std::int64_t ti = table.find(target_column);
  if (ti < 0) {
    std::vector<std::string> names;
    for (const auto& c : table.columns) names.push_back(c.name);
    fail(fn, "parameter 'target_column' = '", target_column, "' names no column of '", path, "'",
         suggestion(target_column, names), " (columns: ", joined(names), ")");
  }
  const std::size_t S = table.rows, C = table.columns.size(), F = C - 1;
  if (S == 0) fail(fn, "'", path, "' has no data rows");
  if (F == 0) fail(fn, "'", path, "' has no feature column besides the target '", target_column, "'");

  TableData d;
  d.name = path;
  d.target_column = target_column;
  d.features = Tensor::from_shape({S, F});
  d.targets = Tensor::from_shape({S});
  float* x = d.features.data();
  std::size_t f = 0;
  if (text_levels) d.levels.resize(F);
  for (std::size_t c = 0; c < C; ++c) {
    if (static_cast<std::int64_t>(c) == ti) continue;
    const TableColumn& col = table.columns[c];
    if (col.type != ColumnType::numeric && !text_levels)
      fail(fn, "column '", col.name, "' of '", path,
           "' holds text; feature columns must be numeric (leave it out with parameter 'drop')");
    if (col.type != ColumnType::numeric) {  // text_levels: the level index of each cell
      std::vector<std::string> cells(S);
      for (std::size_t r = 0; r < S; ++r) cells[r] = col.missing[r] ? "Missing" : col.cells[r];
      std::vector<std::string>& levels = d.levels[f];
      levels = cells;
      std::sort(levels.begin(), levels.end());
      levels.erase(std::unique(levels.begin(), levels.end()), levels.end());
      for (std::size_t r = 0; r < S; ++r)
        x[r * F + f] = static_cast<float>(std::lower_bound(levels.begin(), levels.end(), cells[r]) - levels.begin());
      d.columns.push_back(col.name);
      ++f;
      continue;
    }
    const double* v = table.values.data() + c * S;
    for (std::size_t r = 0; r < S; ++r) {
      if (col.missing[r]) fail(fn, "column '", col.name, "' of '", path, "' has a missing cell in data row ", r + 1);
      const float xf = static_cast<float>(v[r]);
      if (!std::isfinite(xf))
        fail(fn, "column '", col.name, "' of '", path, "', data row ", r + 1, ": ", v[r], " does not fit float32");
      x[r * F + f] = xf;
    }
    d.columns.push_back(col.name);
    ++f;
  }

  const TableColumn& target = table.columns[static_cast<std::size_t>(ti)];
  for (std::size_t r = 0; r < S; ++r)
    if (target.missing[r])
      fail(fn, "target column '", target_column, "' of '", path, "' has a missing cell in data row ", r + 1);
  if (target.type != ColumnType::numeric) {
    if (kind == TargetKind::regression)
      fail(fn, "parameter 'kind' = regression, but the target column '", target_column, "' of '", path,
           "' holds text");
    d.classification = true;
    text_classes(target, d);
    return d;
  }
  const double* y = table.values.data() + static_cast<std::size_t>(ti) * S;
  bool ids = true;  // every value an integer in [0, 2^24]
  double largest = 0;
  for (std::size_t r = 0; r < S; ++r) {
    ids = ids && y[r] >= 0 && y[r] <= kMaxClassId && y[r] == std::floor(y[r]);
    largest = std::max(largest, y[r]);
  }
  if (kind == TargetKind::automatic && ids) {
    std::vector<std::uint8_t> seen(static_cast<std::size_t>(largest) + 1, 0);
    for (std::size_t r = 0; r < S; ++r) seen[static_cast<std::size_t>(y[r])] = 1;
    ids = std::all_of(seen.begin(), seen.end(), [](std::uint8_t s) { return s != 0; });
  }
  if (kind == TargetKind::classification && !ids) {
    std::size_t r = 0;
    while (y[r] >= 0 && y[r] <= kMaxClassId && y[r] == std::floor(y[r])) ++r;
    fail(fn, "parameter 'kind' = classification, but the target column '", target_column, "' of '", path,
         "' holds ", y[r], " in data row ", r + 1, " (class ids are integers in [0, 2^24])");
  }
  float* t = d.targets.data();
  for (std::size_t r = 0; r < S; ++r) {
    t[r] = static_cast<float>(y[r]);
    if (!std::isfinite(t[r]))
      fail(fn, "target column '", target_column, "' of '", path, "', data row ", r + 1, ": ", y[r],
           " does not fit float32");
  }
  if (kind != TargetKind::regression && ids) {
    d.classification = true;
    d.classes = static_cast<std::int64_t>(largest) + 1;
    for (std::int64_t k = 0; k < d.classes; ++k) d.class_names.push_back(std::to_string(k));
  }
  return d;
}

std::vector<std::string> dataset_names() {
  std::vector<std::string> names;
  for (const auto& d : registry()) names.push_back(d.name);
  return names;
}

DatasetInfo dataset_info(const std::string& name) { return find_dataset("dataset_info", name); }

std::string data_directory() {
  if (const char* env = std::getenv("POSENC_DATA_DIR"); env && *env) return env;
  const std::string source = POSENC_DATA_SOURCE_DIR;
  std::error_code ec;
  if (!source.empty() && std::filesystem::is_directory(source, ec)) return source;
  return POSENC_DATA_INSTALL_DIR;
}

TableData load_dataset(const std::string& name, const std::string& target_column) {
  const char* fn = "load_dataset";
  const DatasetInfo& info = find_dataset(fn, name);
  const std::string target = target_column.empty() ? info.targets.front() : target_column;
  if (std::find(info.targets.begin(), info.targets.end(), target) == info.targets.end())
    fail(fn, "parameter 'target_column' = '", target, "' is not a target of '", name, "'",
         suggestion(target, info.targets), " (", joined(info.targets), ")");
  std::vector<std::string> drop;
  for (const auto& t : info.targets)
    if (t != target) drop.push_back(t);
  const std::string dir = data_directory();
  const std::string path = (std::filesystem::path(dir) / info.file).string();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    fail(fn, "dataset '", name, "': no file '", path, "' (data_directory() = '", dir,
         "'; set POSENC_DATA_DIR to a folder holding the CSVs of examples/data/sklearn)");
  TableData d = load_table_csv(path, target, info.classification ? TargetKind::classification : TargetKind::regression,
                               drop);
  if (static_cast<std::int64_t>(d.size()) != info.samples ||
      static_cast<std::int64_t>(d.feature_count()) != info.features)
    fail(fn, "dataset '", name, "': '", path, "' holds ", d.size(), " rows x ", d.feature_count(),
         " features, expected ", info.samples, " x ", info.features);
  if (info.classification) {
    const auto n = static_cast<std::int64_t>(info.class_names.size());
    if (d.classes > n)
      fail(fn, "dataset '", name, "': '", path, "' holds class id ", d.classes - 1, ", expected at most ", n - 1);
    d.classes = n;
    d.class_names = info.class_names;
  }
  d.name = info.name;
  return d;
}

Tensor table_images(const TableData& data, std::int64_t height, std::int64_t width) {
  const char* fn = "table_images";
  if (height < 1 || width < 1)
    fail(fn, "parameters 'height' = ", height, " and 'width' = ", width, " must be >= 1");
  const std::size_t F = data.feature_count();
  if (static_cast<std::size_t>(height) * static_cast<std::size_t>(width) != F)
    fail(fn, "parameters 'height' x 'width' = ", height, " x ", width, " must equal the feature count ", F, " of '",
         data.name, "'");
  Tensor out = Tensor::from_shape({data.size(), static_cast<std::size_t>(height), static_cast<std::size_t>(width)});
  std::copy_n(data.features.data(), data.features.size(), out.data());
  return out;
}

}  // namespace posenc::train
