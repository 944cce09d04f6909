// Seeded tasks of the tabular modality (posenc/tasks.hpp; docs/experiments-tabular.md): the Tab-PET
// experiment (Leng, Ghosh & Motani, AAAI 2026; code kentridgeai/Tab-PET) on scikit-learn's small tables.
//
// table_<name> for the shipped datasets wine, breast_cancer, iris (classification) and diabetes
// (regression) (posenc/datasets.hpp, load_dataset). One row = N feature tokens, one scalar each
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
// Preprocessing (the reference's StandardScaler fitted on the training split): every feature
// z-scored with the training rows' mean and population std (std 0 -> 1); regression targets too
// (a departure: the reference regresses the raw target; RMSE in the target's units = sqrt(MSE) sd).
//
// Tab-PET vectors (Dataset::where.features [1, N, P], shared by every row; Task::position_features
// = P = 2k), from the TRAINING split only: the z-scored training features -> estimate_feature_graph
// (TaskOptions::tabpet_graph) -> tabpet_pe(W, one node per column, k = TaskOptions::tabpet_k or the
// reference's automatic rule) -> columns_pe. The position kind "tabpet" scales and clips them.
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

/// The Tab-PET vectors [1, N, 2k] of the z-scored training rows.
Tensor tabpet_vectors(const Tensor& x, const std::vector<std::size_t>& train, const std::vector<double>& mean,
                      const std::vector<double>& sd, const TaskOptions& o) {
  const std::size_t f = x.shape()[1];
  DTensor z = DTensor::from_shape({train.size(), f});
  for (std::size_t i = 0; i < train.size(); ++i)
    for (std::size_t j = 0; j < f; ++j) z(i, j) = (x(train[i], j) - mean[j]) / sd[j];
  FeatureGraphOptions go;
  go.method = graph_method(o.tabpet_graph);
  const FeatureGraph g = estimate_feature_graph(z, go);
  std::vector<std::int64_t> source(f);
  std::iota(source.begin(), source.end(), 0);
  TabPetOptions po;
  po.k = o.tabpet_k;
  const TabPetResult pe = tabpet_pe(g.weights, source, static_cast<std::int64_t>(f), po);
  const std::size_t p = pe.columns_pe.shape()[1];
  Tensor out = Tensor::from_shape({1, f, p});
  std::copy_n(pe.columns_pe.data(), f * p, out.data());
  return out;
}

/// The rows `rows` as a Dataset: standardised features [S, N, 1], labels or standardised targets [S, 1].
Dataset make_split(const TableData& t, const std::vector<std::size_t>& rows, const std::vector<double>& mean,
                   const std::vector<double>& sd, double y_mean, double y_sd, const Tensor& pe) {
  const std::size_t f = t.feature_count();
  Dataset d;
  d.features = Tensor::from_shape({rows.size(), f, 1});
  for (std::size_t i = 0; i < rows.size(); ++i)
    for (std::size_t j = 0; j < f; ++j)
      d.features(i, j, 0) = static_cast<float>((t.features(rows[i], j) - mean[j]) / sd[j]);
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

Task table_task(const std::string& dataset, const TaskOptions& o) {
  const char* fn = "make_task";
  if (o.tabpet_k < 0) fail(fn, "parameter 'tabpet_k' must be >= 0 (0: automatic), got ", o.tabpet_k);
  graph_method(o.tabpet_graph);  // fail early on a bad name
  const TableData t = load_dataset(dataset);
  const std::size_t s = t.size(), f = t.feature_count();
  if (o.tabpet_k > 0 && 2 * static_cast<std::size_t>(o.tabpet_k) > f - 1)
    fail(fn, "parameter 'tabpet_k' = ", o.tabpet_k, " is too large for table_", dataset, ": ", f,
         " features give ", f - 1, " non-trivial eigenvectors, and 2k must not exceed them");
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
  const Tensor pe = tabpet_vectors(t.features, train, mean, sd, o);
  Task task;
  task.name = "table_" + dataset;
  task.regression = !t.classification;
  task.input_features = 1;
  task.input = InputKind::per_feature;
  task.pooling = Pooling::cls;
  task.position_features = static_cast<std::int64_t>(pe.shape()[2]);
  task.classes = t.classification ? t.classes : 1;
  task.length = static_cast<std::int64_t>(f);
  task.train = make_split(t, train, mean, sd, y_mean, y_sd, pe);
  task.validation = make_split(t, val, mean, sd, y_mean, y_sd, pe);
  task.lengths.push_back({task.length, make_split(t, test, mean, sd, y_mean, y_sd, pe)});
  return task;
}

}  // namespace

void add_tabular_tasks(TaskEntries& out) {
  const std::vector<std::pair<std::string, std::string>> tables = {
      {"wine", "wine cultivars (178 rows, 13 features, 3 classes)"},
      {"breast_cancer", "breast cancer Wisconsin (569 rows, 30 features, 2 classes)"},
      {"iris", "iris species (150 rows, 4 features, 3 classes)"},
      {"diabetes", "diabetes progression (442 rows, 10 features, regression on the standardised target)"},
  };
  for (const auto& [name, what] : tables)
    out.push_back({"table_" + name,
                   "scikit-learn " + what + ": one token per feature, Tab-PET vectors of the training split "
                   "(Leng et al. 2026), split 60/20/20 with the test split as the second evaluation",
                   [name](const TaskOptions& o) { return table_task(name, o); }});
}

}  // namespace posenc::train::detail
