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
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

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
  ModelConfig c;
  c.d_model = 8;
  c.heads = 2;
  c.layers = 2;
  c.ff_multiplier = 2;
  c.dropout = 0.0;
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

TEST(TabularTrainFit, WineFarAboveChanceAndTestMeasured) {
  const Task task = make_task("table_wine");
  ModelConfig c = task_model_config(task, "tabpet", 1);
  c.d_model = 16;
  c.heads = 2;
  c.layers = 1;
  c.dropout = 0.0;
  TrainOptions o;
  o.epochs = 12;
  o.batch = 16;
  o.adamw.lr = 3e-3;
  FeatureTransformer m(c);
  const TrainResult r = fit(m, task, o);
  // Chance is 71/178 = 0.40 for the majority class; a linear model reaches ~0.97.
  EXPECT_GT(r.best_val_accuracy, 0.85);
  ASSERT_EQ(r.best_lengths.size(), 2u);  // validation, then the test split
  EXPECT_GT(r.best_lengths[1].accuracy, 0.8);
}

TEST(TabularTrainFit, DiabetesBelowTheTargetVariance) {
  const Task task = make_task("table_diabetes");
  ModelConfig c = task_model_config(task, "none", 1);
  c.d_model = 16;
  c.heads = 2;
  c.layers = 1;
  c.dropout = 0.0;
  TrainOptions o;
  o.epochs = 8;
  o.batch = 16;
  o.adamw.lr = 3e-3;
  FeatureTransformer m(c);
  const TrainResult r = fit(m, task, o);
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

}  // namespace
}  // namespace posenc
