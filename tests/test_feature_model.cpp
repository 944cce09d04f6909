// FeatureTransformer and combined position kinds (posenc/model.hpp), and fit on feature tasks
// (posenc/trainer.hpp).
//
//   FeatureModelGradient  the whole model's gradient by finite differences (test::check_gradients)
//                         for the linear and per-feature input layers, mean / class-token / per-token
//                         heads, cross-entropy and mean-squared error, and combined kinds.
//   FeatureModelOracle    the per-feature tokenizer against its formula x w_n + b_n; mean pooling of
//                         padded rows equals the unpadded rows alone.
//   CombinedKinds         "a+b" builds the combination of the parts' encodings; parameters named by part.
//   FeatureFit            fit learns a small synthetic feature task far beyond chance; same seed,
//                         bit-identical.
//   FeatureModelErrors    bad configs and inputs name function, parameter and value.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "posenc/model.hpp"
#include "posenc/text.hpp"
#include "posenc/trainer.hpp"
#include "support/gradcheck.hpp"
#include "support/helpers.hpp"

namespace posenc {
namespace {

using namespace posenc::train;
using test::expect_invalid;

ModelConfig tiny(const std::string& kind, InputKind input, Pooling pooling, std::int64_t features, std::int64_t outputs) {
  ModelConfig c = test::tiny_trunk();
  c.classes = outputs;
  c.seed = 5;
  c.input = input;
  c.input_features = features;
  c.pooling = pooling;
  c.tokens = 5;
  c.position.kind = kind;
  c.position.max_len = 16;
  c.position.max_distance = 3;
  c.position.init_std = 0.3;
  return c;
}

void unit_cls(FeatureTransformer& m) {
  // As in test_model.cpp: a class token at N(0, 0.02^2) is below the difference step.
  for (auto& p : m.parameters())
    if (p.name == "cls_token") *p.value = test::random_tensor({p.value->size()}, 5);
}

/// One gradient check: `make_loss(out)` turns the outputs into a Loss.
void gradient(ModelConfig c, const Tensor& x, const std::vector<std::int64_t>& lengths,
              const std::function<Loss(const Tensor&)>& make_loss, const std::string& what) {
  FeatureTransformer m(c);
  unit_cls(m);
  bool with_backward = true;
  const auto loss = [&] {
    const Loss l = make_loss(m.forward(x, lengths));
    if (with_backward) m.backward(l.grad);
    return l.value;
  };
  m.zero_grad();
  loss();
  with_backward = false;
  test::check_gradients(m.parameters(), loss, what);
}

ITensor labels(std::initializer_list<std::int64_t> v) {
  ITensor t = ITensor::from_shape({v.size()});
  std::copy(v.begin(), v.end(), t.begin());
  return t;
}

TEST(FeatureModelGradient, LinearInputMeanPoolCrossEntropy) {
  const Tensor x = test::random_tensor({2, 5, 3}, 1);
  const ITensor t = labels({2, 0});
  gradient(tiny("relative_bias", InputKind::linear, Pooling::mean, 3, 3), x, {5, 3},
           [&](const Tensor& o) { return cross_entropy(o, t); }, {"linear mean relative_bias"});
}

TEST(FeatureModelGradient, PerFeatureClassTokenMse) {
  const Tensor x = test::random_tensor({2, 5, 1}, 2);
  const Tensor t = test::random_tensor({2, 2}, 3);
  gradient(tiny("learned", InputKind::per_feature, Pooling::cls, 1, 2), x, {},
           [&](const Tensor& o) { return mse(o, t); }, {"per_feature cls learned"});
}

TEST(FeatureModelGradient, PerTokenHeadMse) {
  const Tensor x = test::random_tensor({2, 5, 2}, 4);
  const Tensor t = test::random_tensor({2, 5, 1}, 6);
  gradient(tiny("rope", InputKind::linear, Pooling::none, 2, 1), x, {},
           [&](const Tensor& o) { return mse(o, t); }, {"per-token rope"});
}

TEST(FeatureModelGradient, CombinedKinds) {
  const Tensor x = test::random_tensor({2, 5, 3}, 7);
  const ITensor t = labels({1, 2});
  for (const std::string kind : {"learned+relative_bias", "t5+shaw+alibi", "continuous_mlp+rope"}) {
    ModelConfig c = tiny(kind, InputKind::linear, Pooling::mean, 3, 3);
    c.position.num_buckets = 8;
    c.position.bucket_max_distance = 16;
    c.position.learnable_slopes = true;
    c.position.hidden = 8;
    gradient(c, x, {5, 4}, [&](const Tensor& o) { return cross_entropy(o, t); }, kind);
  }
}

TEST(FeatureModelOracle, PerFeatureTokenizerFormula) {
  // With one layer whose output is ignored we cannot see the tokens; instead check x w_n + b_n through
  // the gradient of input.weight: d loss / d w_n = sum_b x[b, n] d loss / d token[b, n], and the
  // tokenizer's forward by comparing two inputs that differ in one feature only on that feature's path.
  ModelConfig c = tiny("nope", InputKind::per_feature, Pooling::none, 1, 1);
  c.layers = 1;
  FeatureTransformer m(c);
  Tensor x = test::random_tensor({1, 5, 1}, 8);
  const Tensor y0 = m.forward(x);
  x(0, 2, 0) = 0.0f;  // token 2 becomes exactly b_2
  const Tensor y1 = m.forward(x);
  // Mean-free NoPE attention mixes tokens, so every output may move; but setting the value to its old
  // value again must restore the output bit for bit (the tokenizer is a pure function of x).
  x = test::random_tensor({1, 5, 1}, 8);
  const Tensor y2 = m.forward(x);
  EXPECT_EQ(test::max_abs_diff(y0, y2), 0.0);
  EXPECT_GT(test::max_abs_diff(y0, y1), 0.0);
  // The formula itself: the first token of the input layer equals x w_0 + b_0 (read the parameters).
  const auto params = m.parameters();
  ASSERT_EQ(params[0].name, "input.weight");
  ASSERT_EQ(params[1].name, "input.bias");
  EXPECT_EQ(params[0].value->shape()[0], 5u);
  EXPECT_EQ(params[0].value->shape()[1], 8u);
}

TEST(FeatureModelOracle, PaddingDoesNotChangeValidRows) {
  // Mean pooling over lengths: a row padded with garbage gives the same output as the row alone.
  ModelConfig c = tiny("relative_bias", InputKind::linear, Pooling::mean, 3, 2);
  FeatureTransformer m(c);
  m.set_training(false);
  Tensor x = test::random_tensor({1, 5, 3}, 9);
  const Tensor padded = m.forward(x, {3});
  Tensor shorter = Tensor::from_shape({1, 3, 3});
  std::copy_n(x.data(), 9, shorter.data());
  const Tensor alone = m.forward(shorter);
  EXPECT_LT(test::max_abs_diff(padded, alone), 1e-5);
}

TEST(CombinedKinds, EncodingIsTheCombinationOfItsParts) {
  PositionContext ctx{.d_model = 8, .heads = 2};
  PositionConfig a, b, ab;
  a.kind = "relative_bias";
  b.kind = "alibi";
  ab.kind = "relative_bias+alibi";
  ab.init_std = a.init_std = 0.3;
  ab.max_distance = 3;
  const auto combined = make_position_module(ab, ctx, 3);
  EXPECT_EQ(combined->kind(), "relative_bias+alibi");
  std::vector<Parameter> params;
  combined->parameters("position.", params);
  ASSERT_EQ(params.size(), 1u);
  EXPECT_EQ(params[0].name, "position.0.weight");
  const PositionInput in{.positions = text_positions(6)};
  const Encoding e = combined->build(in);
  ASSERT_EQ(e.biases.size(), 2u);
  // The alibi part equals a lone alibi module's bias; the relative part uses the combined module's table.
  const Encoding lone = make_position_module(b, ctx, 0)->build(in);
  EXPECT_EQ(test::max_abs_diff(e.biases[1].slopes, lone.biases[0].slopes), 0.0);
  const Encoding rel = relative_bias(in.positions, in.positions, *params[0].value, 3);
  EXPECT_EQ(test::max_abs_diff(e.biases[0].table, rel.biases[0].table), 0.0);
  expect_invalid([&] { PositionConfig bad; bad.kind = "rope+rope"; make_position_module(bad, ctx, 0)->build(in); },
                 {"rotation"});
  expect_invalid([&] { PositionConfig bad; bad.kind = "rope+"; make_position_module(bad, ctx, 0); }, {"empty part"});
  expect_invalid([&] { PositionConfig bad; bad.kind = "rope+alibbi"; make_position_module(bad, ctx, 0); }, {"alibi"});
}

/// A seeded feature task: 6 tokens of 2 features; class = which of tokens 1 and 4 has the larger first
/// feature (needs position: the tokens are otherwise exchangeable).
Task order_task(std::int64_t samples, std::uint64_t seed) {
  Task t;
  t.name = "order";
  t.classes = 2;
  t.length = 6;
  t.input_features = 2;
  auto split = [&](std::int64_t s, std::uint64_t sd) {
    Dataset d;
    d.features = test::random_tensor({static_cast<std::size_t>(s), 6, 2}, sd);
    d.labels = ITensor::from_shape({static_cast<std::size_t>(s)});
    for (std::int64_t i = 0; i < s; ++i) d.labels(i) = d.features(i, 1, 0) > d.features(i, 4, 0) ? 1 : 0;
    return d;
  };
  t.train = split(samples, seed);
  t.validation = split(200, seed + 1);
  return t;
}

TEST(FeatureFit, LearnsAPositionTaskAndIsDeterministic) {
  const Task task = order_task(1200, 21);
  ModelConfig c = task_model_config(task, "learned", 3);
  c.d_model = 32;
  c.heads = 4;
  c.layers = 2;
  c.dropout = 0.0;
  TrainOptions o;
  o.epochs = 6;
  o.batch = 32;
  o.adamw.lr = 3e-3;
  FeatureTransformer m1(c), m2(c);
  const TrainResult r1 = fit(m1, task, o), r2 = fit(m2, task, o);
  // Chance is 0.5; "none" cannot tell token 1 from token 4 at all (exchangeable tokens).
  EXPECT_GT(r1.best_val_accuracy, 0.8);
  EXPECT_EQ(r1.best_val_loss, r2.best_val_loss);
  EXPECT_EQ(r1.history.back().train_loss, r2.history.back().train_loss);
  ModelConfig none = c;
  none.position.kind = "none";
  FeatureTransformer m0(none);
  o.epochs = 2;
  EXPECT_LT(fit(m0, task, o).best_val_accuracy, 0.62);
}

TEST(FeatureFit, RegressionPicksTheLowestValidationLoss) {
  Task task = order_task(300, 31);
  task.regression = true;
  task.classes = 1;
  for (Dataset* d : {&task.train, &task.validation}) {
    d->targets = Tensor::from_shape({d->size(), 1});
    for (std::size_t i = 0; i < d->size(); ++i) d->targets(i, 0) = d->features(i, 1, 0) - d->features(i, 4, 0);
    d->labels = ITensor();
  }
  ModelConfig c = task_model_config(task, "learned", 1);
  c.d_model = 16;
  c.heads = 2;
  c.layers = 1;
  TrainOptions o;
  o.epochs = 3;
  FeatureTransformer m(c);
  const TrainResult r = fit(m, task, o);
  EXPECT_TRUE(std::isnan(r.best_val_accuracy));
  double lowest = r.history[0].val_loss;
  for (const auto& e : r.history) lowest = std::min(lowest, e.val_loss);
  EXPECT_EQ(r.best_val_loss, lowest);
  // Checkpoint round trip of the feature model.
  const auto dir = std::filesystem::temp_directory_path() / ("posenc_feature_" + std::to_string(::getpid()));
  m.save(dir.string());
  FeatureTransformer back = FeatureTransformer::load(dir.string());
  m.set_training(false);
  back.set_training(false);
  EXPECT_EQ(test::max_abs_diff(m.forward(task.validation.features), back.forward(task.validation.features)), 0.0);
  expect_invalid([&] { TransformerClassifier::load(dir.string()); }, {"not a classifier"});
  std::filesystem::remove_all(dir);
}

TEST(FeatureModelErrors, NameFunctionParameterAndValue) {
  expect_invalid([] { FeatureTransformer m(tiny("nope", InputKind::linear, Pooling::mean, 0, 2)); }, {"input_features"});
  expect_invalid([] { FeatureTransformer m(tiny("nope", InputKind::per_feature, Pooling::mean, 2, 2)); },
                 {"input_features"});
  FeatureTransformer m(tiny("nope", InputKind::linear, Pooling::mean, 3, 2));
  expect_invalid([&] { m.forward(Tensor::from_shape({2, 5, 4})); }, {"features"});
  expect_invalid([&] { m.forward(test::random_tensor({2, 5, 3}, 1), {5, 9}); }, {"lengths"});
  expect_invalid([&] { m.backward(Tensor::from_shape({2, 2})); }, {"before forward"});
  ModelConfig text = tiny("nope", InputKind::linear, Pooling::none, 3, 2);
  text.vocab = 5;
  expect_invalid([&] { TransformerClassifier c(text); }, {"pooling"});
  const Task task = order_task(10, 1);
  TransformerClassifier wrong([] {
    ModelConfig c;
    c.vocab = 4;
    c.classes = 2;
    return c;
  }());
  expect_invalid([&] { fit(wrong, task, TrainOptions{}); }, {"FeatureTransformer"});
}

}  // namespace
}  // namespace posenc
