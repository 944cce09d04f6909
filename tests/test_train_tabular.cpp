// Tables in the training component: the Tab-PET position kinds (src/train/positions_tabular.cpp) and
// the table_* tasks (src/train/tasks_tabular.cpp; docs/experiments-tabular.md).
//
//   TabularTrainGradient  the whole FeatureTransformer's gradient (per-feature tokenizer, class token,
//                         tabpet, learned_feature and their combination) by finite differences.
//   TabularTrainOracle    the tabpet input part = alpha clip(PE) in the last P channels, PE from the library
//                         (estimate_feature_graph + tabpet_pe) called directly on the training split only;
//                         learned_feature = its table; the split's sizes, stratification and scaling.
//   TabularTrainFit       seconds-long runs: wine far above chance, diabetes below the variance; the test
//                         split is measured on the best model.
//   TabularTrainErrors    unknown dataset, k too large, bad graph name, missing or mis-shaped vectors, alpha.
//   TabularCategorical    categorical features (an embedding table each): the whole model's gradient, the
//                         token b_n + e_n[v] by hand, table_diabetes's `sex`, its Tab-PET one-hot nodes against
//                         the library's tabpet_preprocess, a checkpoint round trip, bad category indices;
//                         table_csv: a CSV's text column read as levels and learned through its embedding.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "posenc/datasets.hpp"
#include "posenc/model.hpp"
#include "posenc/tabular.hpp"
#include "posenc/tasks.hpp"
#include "posenc/trainer.hpp"
#include "support/gradcheck.hpp"
#include "support/helpers.hpp"

namespace posenc {
namespace {

using namespace posenc::train;
using test::expect_invalid;

ModelConfig tiny(const std::string& kind, std::int64_t tokens, std::int64_t p) {
  ModelConfig c = test::tiny_trunk();
  c.classes = 3;
  c.seed = 11;
  c.input = InputKind::per_feature;
  c.input_features = 1;
  c.pooling = Pooling::cls;
  c.tokens = tokens;
  c.position_features = p;
  c.position.kind = kind;
  c.position.tabpet_alpha = 1.5;
  c.position.init_std = 0.3;
  return c;
}

TEST(TabularTrainGradient, WholeModelByFiniteDifferences) {
  const Tensor x = test::random_tensor({3, 5, 1}, 1);
  PositionInput where;
  where.features = test::random_tensor({1, 5, 4}, 2);
  ITensor t = ITensor::from_shape({3});
  t(0) = 2, t(1) = 0, t(2) = 1;
  for (const std::string kind : {"tabpet", "tabpet+learned_feature"}) {  // the sum checks both modules
    FeatureTransformer m(tiny(kind, 5, 4));
    for (auto& p : m.parameters())  // a class token at N(0, 0.02^2) is below the difference step
      if (p.name == "cls_token") *p.value = test::random_tensor({p.value->size()}, 5);
    bool with_backward = true;
    const auto loss = [&] {
      const Loss l = cross_entropy(m.forward(x, {}, where), t);
      if (with_backward) m.backward(l.grad);
      return l.value;
    };
    m.zero_grad();
    loss();
    with_backward = false;
    test::check_gradients(m.parameters(), loss, "per_feature cls " + kind);
  }
}

/// The library's Tab-PET vectors of a task's training split, computed directly (the oracle).
Tensor oracle_pe(const Task& task, FeatureGraphMethod method) {
  const Tensor& x = task.train.features;  // [S, N, 1], already standardised on these rows
  const std::size_t s = x.shape()[0], n = x.shape()[1];
  DTensor z = DTensor::from_shape({s, n});
  for (std::size_t j = 0; j < n; ++j) {
    double mean = 0, var = 0;
    for (std::size_t i = 0; i < s; ++i) mean += x(i, j, 0);
    mean /= static_cast<double>(s);
    for (std::size_t i = 0; i < s; ++i) var += (x(i, j, 0) - mean) * (x(i, j, 0) - mean);
    const double sd = std::sqrt(var / static_cast<double>(s));
    EXPECT_NEAR(mean, 0.0, 1e-5);  // the scaler was fitted on the training rows
    EXPECT_NEAR(sd, 1.0, 1e-5);
    for (std::size_t i = 0; i < s; ++i) z(i, j) = (x(i, j, 0) - mean) / sd;
  }
  FeatureGraphOptions go;
  go.method = method;
  std::vector<std::int64_t> source(n);
  for (std::size_t j = 0; j < n; ++j) source[j] = static_cast<std::int64_t>(j);
  return tabpet_pe(estimate_feature_graph(z, go).weights, source, static_cast<std::int64_t>(n)).columns_pe;
}

TEST(TabularTrainOracle, TabPetIsAlphaTimesTheLibraryVectorsOfTheTrainingSplit) {
  for (const auto& [graph, method] : {std::pair{"spearman", FeatureGraphMethod::spearman},
                                      std::pair{"pearson", FeatureGraphMethod::pearson},
                                      std::pair{"chow_liu", FeatureGraphMethod::chowliu}}) {
    TaskOptions o;
    o.tabpet_graph = graph;
    const Task task = make_task("table_wine", o);
    const Tensor pe = oracle_pe(task, method);
    const std::size_t n = 13, p = pe.shape()[1];
    ASSERT_EQ(task.position_features, static_cast<std::int64_t>(p));
    ModelConfig c = task_model_config(task, "tabpet", 0);
    c.d_model = 32;
    c.heads = 4;
    c.position.tabpet_alpha = 0.7;
    const PositionContext ctx{.d_model = 32, .heads = 4, .position_features = c.position_features, .prefix_tokens = 1,
                              .tokens = 13};
    const auto module = make_position_module(c.position, ctx, 0);
    PositionInput in = task.validation.where;  // every split shares the training split's vectors
    in.prefix_tokens = 1;
    const Tensor add = module->build(in).input_add;
    ASSERT_EQ(add.shape()[1], n + 1);
    double worst = 0;
    for (std::size_t k = 0; k < 32; ++k) EXPECT_EQ(add(0, 0, k), 0.0f) << "class token, channel " << k;
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t k = 0; k < 32; ++k) {
        const double want = k < 32 - p ? 0.0 : 0.7 * std::clamp<double>(pe(i, k - (32 - p)), -10, 10);
        worst = std::max(worst, std::abs(add(0, i + 1, k) - want));
      }
    EXPECT_LT(worst, 1e-5) << graph;
  }
}

TEST(TabularTrainOracle, LearnedFeatureAddsItsTableToTheDataTokens) {
  ModelConfig c = tiny("learned_feature", 5, 0);
  const PositionContext ctx{.d_model = 8, .heads = 2, .prefix_tokens = 1, .tokens = 5};
  const auto module = make_position_module(c.position, ctx, 3);
  std::vector<Parameter> params;
  module->parameters("", params);
  ASSERT_EQ(params.size(), 1u);
  PositionInput in;
  in.prefix_tokens = 1;
  const Tensor add = module->build(in).input_add;
  for (std::size_t k = 0; k < 8; ++k) EXPECT_EQ(add(0, 0, k), 0.0f);
  for (std::size_t i = 0; i < 5; ++i)
    for (std::size_t k = 0; k < 8; ++k) EXPECT_EQ(add(0, i + 1, k), (*params[0].value)(i, k));
}

TEST(TabularTrainOracle, SplitSizesStratificationAndSeeds) {
  const Task wine = make_task("table_wine");  // 178 rows: test ceil(35.6) = 36, validation ceil(35.5) = 36
  EXPECT_EQ(wine.train.size(), 106u);
  EXPECT_EQ(wine.validation.size(), 36u);
  ASSERT_EQ(wine.lengths.size(), 1u);
  EXPECT_EQ(wine.lengths[0].length, 13);
  EXPECT_EQ(wine.lengths[0].data.size(), 36u);
  EXPECT_EQ(wine.classes, 3);
  EXPECT_FALSE(wine.regression);
  // Stratified: 59 / 71 / 48 rows; the test split takes 36 of them: 12 / 14 / 10 (largest remainders).
  std::vector<int> counts(3, 0);
  for (std::size_t i = 0; i < 36; ++i) ++counts[static_cast<std::size_t>(wine.lengths[0].data.labels(i))];
  EXPECT_EQ(counts, (std::vector<int>{12, 14, 10}));
  const Task again = make_task("table_wine");
  EXPECT_EQ(test::max_abs_diff(wine.train.features, again.train.features), 0.0);
  TaskOptions other;
  other.split_seed = 7;
  EXPECT_GT(test::max_abs_diff(wine.train.features, make_task("table_wine", other).train.features), 0.0);
  const Task diabetes = make_task("table_diabetes");  // 442: test 89, validation 89, training 264
  EXPECT_TRUE(diabetes.regression);
  EXPECT_EQ(diabetes.classes, 1);
  EXPECT_EQ(diabetes.train.size(), 264u);
  double mean = 0;
  for (std::size_t i = 0; i < 264; ++i) mean += diabetes.train.targets(i, 0);
  EXPECT_NEAR(mean / 264, 0.0, 1e-5);  // target standardised on the training rows
}

/// A seconds-long fit of a small FeatureTransformer (d 16, 2 heads, 1 layer, no dropout; batch 16, lr 3e-3).
TrainResult fit_small(const Task& task, const std::string& kind, std::uint64_t seed, std::int64_t epochs) {
  ModelConfig c = task_model_config(task, kind, seed);
  c.d_model = 16;
  c.heads = 2;
  c.layers = 1;
  c.dropout = 0.0;
  TrainOptions o;
  o.epochs = epochs;
  o.batch = 16;
  o.adamw.lr = 3e-3;
  FeatureTransformer m(c);
  return fit(m, task, o);
}

TEST(TabularTrainFit, WineFarAboveChanceAndTestMeasured) {
  const Task task = make_task("table_wine");
  const TrainResult r = fit_small(task, "tabpet", 1, 12);
  // Chance is 71/178 = 0.40 for the majority class; a linear model reaches ~0.97.
  EXPECT_GT(r.best_val_accuracy, 0.85);
  ASSERT_EQ(r.best_lengths.size(), 2u);  // validation, then the test split
  EXPECT_GT(r.best_lengths[1].accuracy, 0.8);
}

TEST(TabularTrainFit, DiabetesBelowTheTargetVariance) {
  const Task task = make_task("table_diabetes");
  const TrainResult r = fit_small(task, "none", 1, 8);
  // Predicting the training mean gives MSE ~1 on the standardised target; a linear model ~0.5.
  EXPECT_LT(r.best_val_loss, 0.8);
  EXPECT_LT(r.best_lengths[1].loss, 0.9);
}

TEST(TabularTrainErrors, NameFunctionParameterAndValue) {
  expect_invalid([] { make_task("table_wines"); }, {"table_wines", "table_wine"});
  TaskOptions o;
  o.tabpet_k = 7;  // wine: 13 features, 12 non-trivial eigenvectors < 2 * 7
  expect_invalid([&] { make_task("table_wine", o); }, {"make_task", "tabpet_k", "7"});
  o.tabpet_k = -1;
  expect_invalid([&] { make_task("table_wine", o); }, {"tabpet_k", "-1"});
  o.tabpet_k = 0;
  o.tabpet_graph = "lingam";
  expect_invalid([&] { make_task("table_wine", o); }, {"tabpet_graph", "lingam"});
  const PositionContext none{.d_model = 8, .heads = 2, .tokens = 5};
  PositionConfig c;
  c.kind = "tabpet";
  expect_invalid([&] { make_position_module(c, none, 0); }, {"position_features", "0"});
  const PositionContext wide{.d_model = 8, .heads = 2, .position_features = 10, .tokens = 5};
  expect_invalid([&] { make_position_module(c, wide, 0); }, {"position_features", "10", "d_model"});
  const PositionContext ok{.d_model = 8, .heads = 2, .position_features = 4, .tokens = 5};
  c.tabpet_alpha = std::nan("");
  expect_invalid([&] { make_position_module(c, ok, 0); }, {"tabpet_alpha"});
  c.tabpet_alpha = 1.0;
  const auto m = make_position_module(c, ok, 0);
  PositionInput in;
  in.features = test::random_tensor({1, 5, 3}, 1);
  expect_invalid([&] { m->build(in); }, {"features", "[1, 5, 3]"});
  c.kind = "learned_feature";
  const PositionContext variable{.d_model = 8, .heads = 2};
  expect_invalid([&] { make_position_module(c, variable, 0); }, {"tokens", "0"});
}

/// tiny() with features 1 and 3 categorical (3 and 2 categories) out of 5.
ModelConfig tiny_categorical(const std::string& kind) {
  ModelConfig c = tiny(kind, 5, 4);
  c.categorical = {0, 3, 0, 2, 0};
  return c;
}

/// [3, 5, 1] rows: numeric features random, features 1 and 3 category indices.
Tensor categorical_rows() {
  Tensor x = test::random_tensor({3, 5, 1}, 1);
  const float cat1[] = {2, 0, 1}, cat3[] = {1, 1, 0};
  for (std::size_t b = 0; b < 3; ++b) {
    x(b, 1, 0) = cat1[b];
    x(b, 3, 0) = cat3[b];
  }
  return x;
}

TEST(TabularCategorical, WholeModelGradientByFiniteDifferences) {
  const Tensor x = categorical_rows();
  PositionInput where;
  where.features = test::random_tensor({1, 5, 4}, 2);
  ITensor t = ITensor::from_shape({3});
  t(0) = 2, t(1) = 0, t(2) = 1;
  for (const std::string kind : {"none", "tabpet"}) {
    FeatureTransformer m(tiny_categorical(kind));
    bool seen = false;
    for (auto& p : m.parameters()) {
      if (p.name == "cls_token") *p.value = test::random_tensor({p.value->size()}, 5);
      if (p.name == "input.categories") {
        seen = true;
        EXPECT_EQ(shape_string(*p.value), "[5, 8]");  // 3 + 2 categories
      }
      if (p.name == "input.weight") {
        EXPECT_EQ(shape_string(*p.value), "[3, 8]");  // numeric features only
      }
    }
    EXPECT_TRUE(seen);
    bool with_backward = true;
    const auto loss = [&] {
      const Loss l = cross_entropy(m.forward(x, {}, where), t);
      if (with_backward) m.backward(l.grad);
      return l.value;
    };
    m.zero_grad();
    loss();
    with_backward = false;
    test::check_gradients(m.parameters(), loss, "categorical " + kind);  // feature 3's row 1 is read twice
  }
}

/// The parameter `name` of a model.
Tensor& param(std::vector<Parameter>& params, const std::string& name) {
  for (auto& p : params)
    if (p.name == name) return *p.value;
  throw std::runtime_error("no parameter " + name);
}

TEST(TabularCategorical, TokenIsBiasPlusTheChosenEmbeddingRow) {
  // Oracle: an all-numeric model with the same trunk and head whose token n is x_n * 0 + (b_n + e_n[v])
  // by hand must give the categorical model's output exactly.
  const Tensor x = categorical_rows();
  FeatureTransformer cat(tiny_categorical("none"));
  ModelConfig numeric_config = tiny("none", 5, 4);
  FeatureTransformer num(numeric_config);
  cat.set_training(false);
  num.set_training(false);
  auto pc = cat.parameters(), pn = num.parameters();
  for (auto& p : pn)
    if (p.name.rfind("input.", 0) != 0) *p.value = param(pc, p.name);  // same trunk, class token, head
  const Tensor& w = param(pc, "input.weight");  // [3, 8]: features 0, 2, 4
  const Tensor& bias = param(pc, "input.bias");
  const Tensor& e = param(pc, "input.categories");  // rows 0..2: feature 1, rows 3..4: feature 3
  for (std::size_t b = 0; b < 3; ++b) {
    Tensor one = Tensor::from_shape({1, 5, 1});  // one sample at a time: the hand-made bias depends on it
    for (std::size_t n = 0; n < 5; ++n) one(0, n, 0) = x(b, n, 0);
    Tensor& nw = param(pn, "input.weight");
    Tensor& nb = param(pn, "input.bias");
    const std::size_t numeric_row[] = {0, 0, 1, 0, 2};
    for (std::size_t n = 0; n < 5; ++n)
      for (std::size_t k = 0; k < 8; ++k) {
        if (n == 1 || n == 3) {
          const std::size_t r = n == 1 ? static_cast<std::size_t>(one(0, 1, 0)) : 3 + static_cast<std::size_t>(one(0, 3, 0));
          nw(n, k) = 0.0f;
          nb(n, k) = bias(n, k) + e(r, k);
        } else {
          nw(n, k) = w(numeric_row[n], k);
          nb(n, k) = bias(n, k);
        }
      }
    EXPECT_EQ(test::max_abs_diff(cat.forward(one), num.forward(one)), 0.0) << "sample " << b;
  }
}

TEST(TabularCategorical, DiabetesSexIsACategoryOrANumber) {
  const Task task = make_task("table_diabetes");
  ASSERT_EQ(task.categorical.size(), 10u);
  for (std::size_t n = 0; n < 10; ++n) EXPECT_EQ(task.categorical[n], n == 1 ? 2 : 0) << n;
  for (const Dataset* d : {&task.train, &task.validation, &task.lengths[0].data})
    for (std::size_t i = 0; i < d->size(); ++i) {
      const float v = d->features(i, 1, 0);
      EXPECT_TRUE(v == 0.0f || v == 1.0f) << v;  // sex 1 -> 0, 2 -> 1
    }
  const ModelConfig c = task_model_config(task, "tabpet", 0);
  EXPECT_EQ(c.categorical, task.categorical);
  TaskOptions o;
  o.table_categorical = false;
  const Task numeric = make_task("table_diabetes", o);
  EXPECT_TRUE(numeric.categorical.empty());
  double mean = 0;
  for (std::size_t i = 0; i < numeric.train.size(); ++i) mean += numeric.train.features(i, 1, 0);
  EXPECT_NEAR(mean / static_cast<double>(numeric.train.size()), 0.0, 1e-5);  // standardised like the others
  // The numeric columns are the same either way.
  for (std::size_t i = 0; i < task.train.size(); ++i)
    for (std::size_t n : {0u, 2u, 9u}) EXPECT_EQ(task.train.features(i, n, 0), numeric.train.features(i, n, 0));
  EXPECT_TRUE(make_task("table_wine").categorical.empty());
}

TEST(TabularCategorical, TabPetNodesAreTheOneHotLevelsAsTheLibraryPreprocesses) {
  // Oracle: the training split as a posenc::Table with `sex` categorical -> tabpet_preprocess (numeric
  // columns z-scored, one-hot levels z-scored) -> estimate_feature_graph -> tabpet_pe per original column.
  for (const auto& [graph, method] : {std::pair{"spearman", FeatureGraphMethod::spearman},
                                      std::pair{"pearson", FeatureGraphMethod::pearson}}) {
    TaskOptions o;
    o.tabpet_graph = graph;
    const Task task = make_task("table_diabetes", o);
    const Tensor& x = task.train.features;
    const std::size_t s = x.shape()[0], n = x.shape()[1];
    std::vector<std::string> names;
    std::vector<std::vector<std::string>> cells(n);
    char buf[64];
    for (std::size_t j = 0; j < n; ++j) {
      // (not "c" + std::to_string(j): GCC 12 warns about that operator+ with a false -Wstringop-overflow)
      names.push_back(j == 1 ? std::string("sex") : std::string("c").append(std::to_string(j)));
      for (std::size_t i = 0; i < s; ++i) {
        std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(x(i, j, 0)));
        cells[j].push_back(j == 1 ? (x(i, j, 0) == 0.0f ? "one" : "two") : buf);
      }
    }
    TableCsvOptions to;
    to.types["sex"] = ColumnType::categorical;
    const FeatureMatrix fm = tabpet_preprocess(make_table(names, cells, to));
    ASSERT_EQ(fm.values.shape()[1], 11u);  // 9 numeric + 2 levels
    FeatureGraphOptions go;
    go.method = method;
    const Tensor want = tabpet_pe(estimate_feature_graph(fm.values, go).weights, fm.source_column,
                                  static_cast<std::int64_t>(n)).columns_pe;
    const Tensor& got = task.train.where.features;
    ASSERT_EQ(got.shape()[1], n);
    ASSERT_EQ(got.shape()[2], want.shape()[1]);
    double worst = 0;
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t k = 0; k < want.shape()[1]; ++k)
        worst = std::max(worst, static_cast<double>(std::abs(got(0, j, k) - want(j, k))));
    EXPECT_LT(worst, 1e-4) << graph;
  }
}

TEST(TabularCategorical, CheckpointRoundTrip) {
  const Tensor x = categorical_rows();
  FeatureTransformer m(tiny_categorical("none"));
  auto params = m.parameters();
  param(params, "input.categories") = test::random_tensor({5, 8}, 9);  // not the initial values
  const auto dir = std::filesystem::temp_directory_path() / ("posenc_tab_cat_" + std::to_string(::getpid()));
  m.save(dir.string());
  FeatureTransformer back = FeatureTransformer::load(dir.string());
  EXPECT_EQ(back.config().categorical, (std::vector<std::int64_t>{0, 3, 0, 2, 0}));
  EXPECT_TRUE(std::filesystem::exists(dir / "input.categories.npy"));
  m.set_training(false);
  back.set_training(false);
  EXPECT_EQ(test::max_abs_diff(m.forward(x), back.forward(x)), 0.0);
  // Every feature categorical: no numeric weight at all.
  ModelConfig c = tiny("none", 2, 0);
  c.categorical = {2, 3};
  FeatureTransformer all(c);
  for (const auto& p : all.parameters()) EXPECT_NE(p.name, "input.weight");
  Tensor cats = Tensor::from_shape({2, 2, 1});
  cats(0, 0, 0) = 1, cats(0, 1, 0) = 2, cats(1, 0, 0) = 0, cats(1, 1, 0) = 0;
  all.save(dir.string());
  FeatureTransformer all_back = FeatureTransformer::load(dir.string());
  all.set_training(false);
  all_back.set_training(false);
  EXPECT_EQ(test::max_abs_diff(all.forward(cats), all_back.forward(cats)), 0.0);
  all.backward(test::random_tensor({2, 3}, 4));
  std::filesystem::remove_all(dir);
}

TEST(TabularCategorical, BadCategoryIndexAndConfigErrors) {
  FeatureTransformer m(tiny_categorical("none"));
  for (const float bad : {3.0f, -1.0f, 1.5f}) {
    Tensor x = categorical_rows();
    x(2, 1, 0) = bad;
    std::ostringstream value;
    value << bad;
    expect_invalid([&] { m.forward(x); }, {"FeatureTransformer::forward", "features", value.str(), "feature 1", "3 categories"});
  }
  ModelConfig c = tiny_categorical("none");
  c.categorical = {0, 3};
  expect_invalid([&] { FeatureTransformer f(c); }, {"FeatureTransformer", "categorical", "5"});
  c.categorical = {0, -2, 0, 0, 0};
  expect_invalid([&] { FeatureTransformer f(c); }, {"categorical", "-2"});
  c = tiny_categorical("none");
  c.input = InputKind::linear;
  c.input_features = 1;
  expect_invalid([&] { FeatureTransformer f(c); }, {"categorical", "per_feature"});
}

/// A CSV with a text column `color` (3 levels, one cell missing) between two numeric ones; the class is
/// decided by the colour (red / green: 0, blue: 1), so only a model that reads the category can learn it.
std::string write_color_csv() {
  const auto path = std::filesystem::temp_directory_path() / ("posenc_tab_csv_" + std::to_string(::getpid()) + ".csv");
  std::ofstream f(path);
  f << "a,color,b,target\n";
  const char* colors[] = {"red", "green", "blue"};
  for (int r = 0; r < 120; ++r) {
    const int c = (r * 7) % 3;
    f << (r % 5) * 0.5 << "," << (r == 4 ? "" : colors[c]) << "," << (r % 11) - 5.0 << ","
      << (r == 4 ? 0 : c == 2 ? 1 : 0) << "\n";
  }
  return path.string();
}

TEST(TabularCategorical, CsvTextColumnsBecomeCategories) {
  const std::string path = write_color_csv();
  expect_invalid([&] { load_table_csv(path); }, {"load_table_csv", "color", "holds text"});  // the default
  const TableData t = load_table_csv(path, "target", TargetKind::automatic, {}, true);
  ASSERT_EQ(t.levels.size(), 3u);
  EXPECT_TRUE(t.levels[0].empty());
  EXPECT_EQ(t.levels[1], (std::vector<std::string>{"Missing", "blue", "green", "red"}));  // sorted as strings
  EXPECT_EQ(t.features(0, 1), 3.0f);  // row 0: red
  EXPECT_EQ(t.features(4, 1), 0.0f);  // the missing cell
  TaskOptions o;
  o.table_csv = path;
  const Task task = make_task("table_csv", o);
  EXPECT_EQ(task.categorical, (std::vector<std::int64_t>{0, 4, 0}));
  EXPECT_EQ(task.classes, 2);
  EXPECT_EQ(task.train.size() + task.validation.size() + task.lengths[0].data.size(), 120u);
  const TrainResult r = fit_small(task, "tabpet", 0, 15);
  // Majority class 0: about 2/3 of the rows; reading the colour's embedding gives every row.
  EXPECT_GT(r.best_val_accuracy, 0.9);
  o.table_categorical = false;
  expect_invalid([&] { make_task("table_csv", o); }, {"table_categorical", "text columns"});
  expect_invalid([] { make_task("table_csv"); }, {"make_task", "table_csv", "empty"});
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace posenc
