// Seeded tasks of the tabular modality (posenc/tasks.hpp; docs/experiments-tabular.md): the Tab-PET
// experiment (Leng, Ghosh & Motani, AAAI 2026; code kentridgeai/Tab-PET) on scikit-learn's small tables.
//
// table_<name> for the shipped datasets wine, breast_cancer, iris (classification) and diabetes
// (regression) (posenc/datasets.hpp, load_dataset), and table_csv for any CSV file (TaskOptions::table_csv,
// target column table_target; load_table_csv with text_levels: text columns become categorical). One row = N feature tokens, one scalar each
// (InputKind::per_feature, F = 1: FT-Transformer's numerical tokenizer x w_n + b_n), a class token
// (Pooling::cls), head: classes, or one standardised target (regression, mean-squared error).
//
// Split (the reference's proportions: train_test_split(test_size = 0.2, stratify = y), then
// test_size = 0.25 of the rest, random_state 42; scikit-learn's shuffle itself cannot be matched):
// test = ceil(0.2 S) rows, validation = ceil(0.25 (S - test)), training the rest: 60 / 20 / 20.
// Classification is stratified: class c gets floor(count n_c / S') rows of a split, the remaining ones
// go to the classes with the largest fractional parts (ties: lower class); each class's rows are
// shuffled (Fisher-Yates, a SplitMix64 stream of (TaskOptions::split_seed, split, class)) and its
// first rows are taken. Every split keeps the file order. The split does not depend on
// TaskOptions::seed (the reference keeps one split and varies the model seed); train_samples and
// validation_samples are not used.
//
// Preprocessing (the reference's StandardScaler fitted on the training split): every numeric feature
// z-scored with the training rows' mean and population std (std 0 -> 1); regression targets too
// (a departure: the reference regresses the raw target; RMSE in the target's units = sqrt(MSE) sd).
// Categorical columns (table_diabetes: `sex`, values 1 / 2; TaskOptions::table_categorical, default
// true) hold their level index instead (levels = the sorted distinct values of every row, as a label
// encoder) and Task::categorical = K per column, so the model gives each its own embedding table
// (FT-Transformer's categorical tokenizer); with table_categorical = false they are numbers like the rest.
//
// Tab-PET vectors (Dataset::where.features [1, N, P], shared by every row; Task::position_features
// = P = 2k), from the TRAINING split only: graph nodes = the z-scored numeric columns, then, as the
// reference's preprocessing, one one-hot node per level of each categorical column (z-scored) ->
// estimate_feature_graph (TaskOptions::tabpet_graph) -> tabpet_pe(W, node -> column, k =
// TaskOptions::tabpet_k or the reference's automatic rule) -> columns_pe (a categorical column: the mean
// of its levels' rows). Tokens and PE rows are both in table order (the reference puts categorical tokens
// after the numeric ones but hands the PE over in table order: ftt_token_order). The position kind
// "tabpet" scales and clips them.
//
// The test split is Task::lengths[0] (length N, the same length as training): fit measures it on the
// best-validation model only (TrainResult::best_lengths[1]; best_lengths[0] is the validation split).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "posenc/datasets.hpp"
#include "posenc/tabular.hpp"
#include "train/common.hpp"
#include "train/task_registry.hpp"

namespace posenc::train::detail {

namespace {

/// Fisher-Yates over `rows` with a SplitMix64 stream of `seed`.
void shuffle(std::vector<std::size_t>& rows, std::uint64_t seed) {
  std::uint64_t state = seed;
  for (std::size_t i = rows.size(); i > 1; --i) {
    state = derive_seed(state, i);
    std::swap(rows[i - 1], rows[state % i]);  // modulo bias < i / 2^64: negligible
  }
}

/// rows split into `taken` (ceil(fraction |rows|), stratified by `classes` when not empty) and `kept`.
void split_off(const std::vector<std::size_t>& rows, const std::vector<std::int64_t>& classes, double fraction,
               std::uint64_t seed, std::vector<std::size_t>& taken, std::vector<std::size_t>& kept) {
  const std::size_t total = rows.size();
  const auto want = static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(total) - 1e-9));
  std::int64_t groups = 1;
  for (auto c : classes) groups = std::max(groups, c + 1);
  std::vector<std::vector<std::size_t>> by(static_cast<std::size_t>(groups));
  for (auto r : rows) by[classes.empty() ? 0 : static_cast<std::size_t>(classes[r])].push_back(r);
  std::vector<std::size_t> quota(by.size());
  std::vector<std::pair<double, std::size_t>> rest;
  std::size_t given = 0;
  for (std::size_t g = 0; g < by.size(); ++g) {
    const double exact = static_cast<double>(want) * static_cast<double>(by[g].size()) / static_cast<double>(total);
    quota[g] = static_cast<std::size_t>(std::floor(exact));
    given += quota[g];
    rest.emplace_back(-(exact - std::floor(exact)), g);
  }
  std::sort(rest.begin(), rest.end());
  for (std::size_t i = 0; given < want && i < rest.size(); ++i, ++given) ++quota[rest[i].second];
  taken.clear();
  kept.clear();
  for (std::size_t g = 0; g < by.size(); ++g) {
    shuffle(by[g], derive_seed(seed, g));
    for (std::size_t i = 0; i < by[g].size(); ++i) (i < quota[g] ? taken : kept).push_back(by[g][i]);
  }
  std::sort(taken.begin(), taken.end());
  std::sort(kept.begin(), kept.end());
}

FeatureGraphMethod graph_method(const std::string& name) {
  if (name == "spearman") return FeatureGraphMethod::spearman;
  if (name == "pearson") return FeatureGraphMethod::pearson;
  if (name == "chow_liu" || name == "chowliu") return FeatureGraphMethod::chowliu;
  fail("make_task", "parameter 'tabpet_graph' = '", name, "' must be spearman, pearson or chow_liu");
}

/// Mean and population std of every column over `rows` (std 0 -> 1, as StandardScaler).
void moments(const Tensor& x, const std::vector<std::size_t>& rows, std::vector<double>& mean,
             std::vector<double>& sd) {
  const std::size_t f = x.shape()[1];
  mean.assign(f, 0.0);
  sd.assign(f, 0.0);
  for (auto r : rows)
    for (std::size_t j = 0; j < f; ++j) mean[j] += x(r, j);
  for (auto& m : mean) m /= static_cast<double>(rows.size());
  for (auto r : rows)
    for (std::size_t j = 0; j < f; ++j) sd[j] += (x(r, j) - mean[j]) * (x(r, j) - mean[j]);
  for (auto& s : sd) s = s > 0 ? std::sqrt(s / static_cast<double>(rows.size())) : 1.0;
}

/// Per column: its levels (sorted distinct values over every row) when categorical, empty when numeric.
using Levels = std::vector<std::vector<double>>;

/// The levels of the columns named in `categorical` and of the text columns (TableData::levels; none when
/// `use` is false); a name the table lacks throws.
Levels column_levels(const TableData& t, const std::vector<std::string>& categorical, bool use) {
  Levels levels(t.feature_count());
  if (!use) return levels;
  for (std::size_t j = 0; j < t.levels.size(); ++j)
    for (std::size_t k = 0; k < t.levels[j].size(); ++k) levels[j].push_back(static_cast<double>(k));
  for (const auto& name : categorical) {
    const auto it = std::find(t.columns.begin(), t.columns.end(), name);
    if (it == t.columns.end()) fail("make_task", "table_", t.name, " has no categorical column '", name, "'");
    const auto j = static_cast<std::size_t>(it - t.columns.begin());
    for (std::size_t r = 0; r < t.size(); ++r) levels[j].push_back(t.features(r, j));
    std::sort(levels[j].begin(), levels[j].end());
    levels[j].erase(std::unique(levels[j].begin(), levels[j].end()), levels[j].end());
  }
  return levels;
}

/// The category index of value v in `levels` (sorted, v among them).
double level_index(const std::vector<double>& levels, double v) {
  return static_cast<double>(std::lower_bound(levels.begin(), levels.end(), v) - levels.begin());
}

/// The Tab-PET graph nodes of the training rows, as the reference: numeric columns z-scored, then one
/// one-hot node per level of each categorical column (z-scored over the training rows, population std,
/// constant -> 0); `source` maps each node to its column.
DTensor graph_nodes(const Tensor& x, const std::vector<std::size_t>& train, const std::vector<double>& mean,
                    const std::vector<double>& sd, const Levels& levels, std::vector<std::int64_t>& source) {
  const std::size_t f = x.shape()[1], s = train.size();
  source.clear();
  for (std::size_t j = 0; j < f; ++j)
    if (levels[j].empty()) source.push_back(static_cast<std::int64_t>(j));
  std::vector<std::pair<std::size_t, double>> onehot;  // (column, level value)
  for (std::size_t j = 0; j < f; ++j)
    for (double v : levels[j]) {
      source.push_back(static_cast<std::int64_t>(j));
      onehot.emplace_back(j, v);
    }
  const std::size_t numeric = source.size() - onehot.size();
  DTensor z = DTensor::from_shape({s, source.size()});
  for (std::size_t i = 0; i < s; ++i)
    for (std::size_t c = 0; c < numeric; ++c) {
      const auto j = static_cast<std::size_t>(source[c]);
      z(i, c) = (x(train[i], j) - mean[j]) / sd[j];
    }
  for (std::size_t h = 0; h < onehot.size(); ++h) {
    double m = 0, var = 0;
    for (std::size_t i = 0; i < s; ++i) m += x(train[i], onehot[h].first) == onehot[h].second ? 1.0 : 0.0;
    m /= static_cast<double>(s);
    var = m * (1 - m);
    const double scale = var > 0 ? 1.0 / std::sqrt(var) : 0.0;
    for (std::size_t i = 0; i < s; ++i)
      z(i, numeric + h) = ((x(train[i], onehot[h].first) == onehot[h].second ? 1.0 : 0.0) - m) * scale;
  }
  return z;
}

/// The Tab-PET vectors [1, N, 2k] of the training rows (graph_nodes; all-numeric: the z-scored columns).
Tensor tabpet_vectors(const Tensor& x, const std::vector<std::size_t>& train, const std::vector<double>& mean,
                      const std::vector<double>& sd, const Levels& levels, const TaskOptions& o,
                      const std::string& dataset) {
  const std::size_t f = x.shape()[1];
  std::vector<std::int64_t> source;
  const DTensor z = graph_nodes(x, train, mean, sd, levels, source);
  if (o.tabpet_k > 0 && 2 * static_cast<std::size_t>(o.tabpet_k) > source.size() - 1)
    fail("make_task", "parameter 'tabpet_k' = ", o.tabpet_k, " is too large for table_", dataset, ": ",
         source.size(), " graph nodes give ", source.size() - 1,
         " non-trivial eigenvectors, and 2k must not exceed them");
  FeatureGraphOptions go;
  go.method = graph_method(o.tabpet_graph);
  const FeatureGraph g = estimate_feature_graph(z, go);
  TabPetOptions po;
  po.k = o.tabpet_k;
  const TabPetResult pe = tabpet_pe(g.weights, source, static_cast<std::int64_t>(f), po);
  const std::size_t p = pe.columns_pe.shape()[1];
  Tensor out = Tensor::from_shape({1, f, p});
  std::copy_n(pe.columns_pe.data(), f * p, out.data());
  return out;
}

/// The rows `rows` as a Dataset: features [S, N, 1] (numeric: standardised; categorical: the level index),
/// labels or standardised targets [S, 1].
Dataset make_split(const TableData& t, const std::vector<std::size_t>& rows, const std::vector<double>& mean,
                   const std::vector<double>& sd, const Levels& levels, double y_mean, double y_sd, const Tensor& pe) {
  const std::size_t f = t.feature_count();
  Dataset d;
  d.features = Tensor::from_shape({rows.size(), f, 1});
  for (std::size_t i = 0; i < rows.size(); ++i)
    for (std::size_t j = 0; j < f; ++j)
      d.features(i, j, 0) = static_cast<float>(levels[j].empty() ? (t.features(rows[i], j) - mean[j]) / sd[j]
                                                                 : level_index(levels[j], t.features(rows[i], j)));
  if (t.classification) {
    d.labels = ITensor::from_shape({rows.size()});
    for (std::size_t i = 0; i < rows.size(); ++i) d.labels(i) = static_cast<std::int64_t>(t.targets(rows[i]));
  } else {
    d.targets = Tensor::from_shape({rows.size(), 1});
    for (std::size_t i = 0; i < rows.size(); ++i)
      d.targets(i, 0) = static_cast<float>((t.targets(rows[i]) - y_mean) / y_sd);
  }
  d.where.features = pe;
  return d;
}

Task table_task(const std::string& dataset, const std::vector<std::string>& categorical, const TaskOptions& o) {
  const char* fn = "make_task";
  if (o.tabpet_k < 0) fail(fn, "parameter 'tabpet_k' must be >= 0 (0: automatic), got ", o.tabpet_k);
  graph_method(o.tabpet_graph);  // fail early on a bad name
  if (dataset == "csv" && o.table_csv.empty())
    fail(fn, "parameter 'table_csv' is empty: table_csv needs a CSV file (--table-csv)");
  const TableData t = dataset == "csv" ? load_table_csv(o.table_csv, o.table_target, TargetKind::automatic, {}, true)
                                       : load_dataset(dataset);
  if (dataset == "csv" && !o.table_categorical)
    for (const auto& l : t.levels)
      if (!l.empty()) fail(fn, "parameter 'table_categorical' = false, but '", o.table_csv, "' has text columns");
  const std::size_t s = t.size(), f = t.feature_count();
  const Levels levels = column_levels(t, categorical, o.table_categorical);
  std::vector<std::int64_t> classes;
  if (t.classification)
    for (std::size_t i = 0; i < s; ++i) classes.push_back(static_cast<std::int64_t>(t.targets(i)));
  std::vector<std::size_t> all(s), test, rest, val, train;
  std::iota(all.begin(), all.end(), 0);
  split_off(all, classes, 0.2, derive_seed(o.split_seed, 1), test, rest);
  split_off(rest, classes, 0.25, derive_seed(o.split_seed, 2), val, train);
  std::vector<double> mean, sd;
  moments(t.features, train, mean, sd);
  double y_mean = 0, y_sd = 1;
  if (!t.classification) {
    Tensor y = Tensor::from_shape({s, 1});
    for (std::size_t i = 0; i < s; ++i) y(i, 0) = t.targets(i);
    std::vector<double> m, d;
    moments(y, train, m, d);
    y_mean = m[0];
    y_sd = d[0];
  }
  const Tensor pe = tabpet_vectors(t.features, train, mean, sd, levels, o, dataset);
  Task task;
  task.name = "table_" + dataset;
  task.regression = !t.classification;
  task.input_features = 1;
  task.input = InputKind::per_feature;
  if (std::any_of(levels.begin(), levels.end(), [](const auto& l) { return !l.empty(); }))
    for (const auto& l : levels) task.categorical.push_back(static_cast<std::int64_t>(l.size()));
  task.pooling = Pooling::cls;
  task.position_features = static_cast<std::int64_t>(pe.shape()[2]);
  task.classes = t.classification ? t.classes : 1;
  task.length = static_cast<std::int64_t>(f);
  task.train = make_split(t, train, mean, sd, levels, y_mean, y_sd, pe);
  task.validation = make_split(t, val, mean, sd, levels, y_mean, y_sd, pe);
  task.lengths.push_back({task.length, make_split(t, test, mean, sd, levels, y_mean, y_sd, pe)});
  return task;
}

}  // namespace

void add_tabular_tasks(TaskEntries& out) {
  struct Table {
    std::string name, what;
    std::vector<std::string> categorical;  ///< the columns taken as categories (TaskOptions::table_categorical)
  };
  const std::vector<Table> tables = {
      {"wine", "scikit-learn wine cultivars (178 rows, 13 features, 3 classes)", {}},
      {"breast_cancer", "scikit-learn breast cancer Wisconsin (569 rows, 30 features, 2 classes)", {}},
      {"iris", "scikit-learn iris species (150 rows, 4 features, 3 classes)", {}},
      {"diabetes",
       "scikit-learn diabetes progression (442 rows, 10 features, `sex` categorical, regression on the "
       "standardised target)",
       {"sex"}},
      {"csv", "a CSV file (TaskOptions::table_csv, target table_target; text columns categorical)", {}},
  };
  for (const auto& table : tables)
    out.push_back({"table_" + table.name,
                   table.what + ": one token per feature, Tab-PET vectors of the training split "
                   "(Leng et al. 2026), split 60/20/20 with the test split as the second evaluation",
                   [table](const TaskOptions& o) { return table_task(table.name, table.categorical, o); }});
}

}  // namespace posenc::train::detail
