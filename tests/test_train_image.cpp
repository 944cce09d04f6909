// Image position kinds and tasks of the training component (src/train/positions_image.cpp,
// src/train/tasks_image.cpp; docs/experiments-image.md).
//
//   TrainImageGradient  each learnable image kind's gradient by finite differences through the whole
//                       FeatureTransformer (learned_2d, rope_mixed, swin_bias, alibi_2d with learnable
//                       slopes), with mean and class-token pooling, at the training grid and at a larger
//                       grid (the resampling adjoints of learned_2d and swin_bias).
//   TrainImageOracle    learned_2d at another grid = resample_abs_pos_embed of its table; swin_bias =
//                       relative_bias_2d of resize_relative_bias_table; sincos_2d = sincos_2d_table;
//                       sinusoidal_1d = the 1D sinusoid of the flattened index.
//   TrainImageTasks     digits: stratified seeded 1347/450 split, patches are the image's pixels / 16;
//                       bright_left: labels by definition, larger-grid evaluation sets.
//   TrainImageFit       a seconds-long run on bright_left: rope_2d and learned_2d beat 'none' (at chance).
//   TrainImageErrors    bad grids, positions and options name function, parameter and value.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "posenc/datasets.hpp"
#include "posenc/image.hpp"
#include "posenc/model.hpp"
#include "posenc/sinusoid.hpp"
#include "posenc/text.hpp"
#include "posenc/trainer.hpp"
#include "support/gradcheck.hpp"
#include "support/helpers.hpp"

namespace posenc {
namespace {

using namespace posenc::train;
using test::expect_invalid;

TaskOptions options(std::uint64_t seed, std::int64_t train = 5000, std::int64_t validation = 1000,
                    std::int64_t length = 256) {
  TaskOptions o;
  o.seed = seed;
  o.train_samples = train;
  o.validation_samples = validation;
  o.length_samples = length;
  return o;
}

ModelConfig tiny(const std::string& kind, Pooling pooling) {
  ModelConfig c = test::tiny_trunk();
  c.classes = 3;
  c.seed = 11;
  c.input = InputKind::linear;
  c.input_features = 2;
  c.pooling = pooling;
  c.grid_height = 3;
  c.grid_width = 3;
  c.tokens = 9;
  c.position.kind = kind;
  c.position.init_std = 0.3;
  c.position.learnable_slopes = true;
  return c;
}

/// The whole model's gradient on a grid x grid input (the model's training grid is 3 x 3).
void gradient(const std::string& kind, Pooling pooling, std::int64_t grid) {
  FeatureTransformer m(tiny(kind, pooling));
  for (auto& p : m.parameters())
    if (p.name == "cls_token") *p.value = test::random_tensor({p.value->size()}, 5);
  const auto n = static_cast<std::size_t>(grid * grid);
  const Tensor x = test::random_tensor({2, n, 2}, 3);
  const PositionInput where{.positions = grid_positions(grid, grid)};
  ITensor t = ITensor::from_shape({2});
  t(0) = 2;
  t(1) = 0;
  bool with_backward = true;
  const auto loss = [&] {
    const Loss l = cross_entropy(m.forward(x, {}, where), t);
    if (with_backward) m.backward(l.grad);
    return l.value;
  };
  m.zero_grad();
  loss();
  with_backward = false;
  const std::string what = kind + (pooling == Pooling::cls ? " cls" : " mean") + " grid " + std::to_string(grid);
  test::check_gradients(m.parameters(), loss, what);
}

TEST(TrainImageGradient, LearnableKindsAtTheTrainingGrid) {
  for (const std::string kind : {"learned_2d", "rope_mixed", "swin_bias", "alibi_2d"})
    for (const Pooling p : {Pooling::mean, Pooling::cls}) gradient(kind, p, 3);
}

TEST(TrainImageGradient, TableKindsAtALargerGrid) {
  for (const std::string kind : {"learned_2d", "swin_bias"})
    for (const Pooling p : {Pooling::mean, Pooling::cls}) gradient(kind, p, 4);
}

TEST(TrainImageGradient, CombinedImageKinds) { gradient("learned_2d+swin_bias", Pooling::mean, 3); }

std::unique_ptr<PositionModule> module(const std::string& kind, std::int64_t prefix) {
  PositionConfig c;
  c.kind = kind;
  c.init_std = 0.3;
  return make_position_module(c, PositionContext{.d_model = 8, .heads = 2, .grid_height = 3, .grid_width = 3,
                                                 .prefix_tokens = prefix},
                              7);
}

TEST(TrainImageOracle, LearnedAtAnotherGridIsTheResampledTable) {
  for (const std::int64_t prefix : {0, 1}) {
    auto m = module("learned_2d", prefix);
    std::vector<Parameter> params;
    m->parameters("", params);
    ASSERT_EQ(params.size(), 1u);
    const Tensor& table = *params[0].value;
    ASSERT_EQ(table.shape()[0], static_cast<std::size_t>(prefix + 9));
    const Encoding same = m->build(PositionInput{.positions = grid_positions(3, 3, prefix), .prefix_tokens = prefix});
    EXPECT_EQ(test::max_abs_diff(same.input_add, test::make({1, table.shape()[0], 8},
                                                              std::vector<float>(table.begin(), table.end()))),
              0.0);
    const Encoding big = m->build(PositionInput{.positions = grid_positions(5, 4, prefix), .prefix_tokens = prefix});
    const Tensor want = resample_abs_pos_embed(table, 3, 3, 5, 4, prefix);
    ASSERT_EQ(big.input_add.size(), want.size());
    EXPECT_EQ(test::max_abs_diff(big.input_add, test::make({1, want.shape()[0], 8},
                                                             std::vector<float>(want.begin(), want.end()))),
              0.0);
  }
}

TEST(TrainImageOracle, SwinBiasAtAnotherGridIsTheResizedTable) {
  auto m = module("swin_bias", 1);
  std::vector<Parameter> params;
  m->parameters("", params);
  const Tensor& table = *params[0].value;
  EXPECT_EQ(table.shape()[1], static_cast<std::size_t>(relative_bias_table_rows(3, 3, true)));
  const Encoding e = m->build(PositionInput{.positions = grid_positions(5, 5, 1), .prefix_tokens = 1});
  const Encoding want = relative_bias_2d(5, 5, resize_relative_bias_table(table, 3, 3, 5, 5), true);
  ASSERT_EQ(e.biases.size(), 1u);
  EXPECT_EQ(test::max_abs_diff(e.biases[0].table, want.biases[0].table), 0.0);
}

TEST(TrainImageOracle, FixedKindsEqualTheirBuilders) {
  const Encoding s = module("sincos_2d", 1)->build(PositionInput{.positions = grid_positions(4, 2, 1), .prefix_tokens = 1});
  const Tensor t = sincos_2d_table(SinCos2dOptions{.height = 4, .width = 2, .dim = 8, .prefix_tokens = 1});
  EXPECT_EQ(test::max_abs_diff(s.input_add, test::make({1, 9, 8}, std::vector<float>(t.begin(), t.end()))), 0.0);
  const Encoding f = module("sinusoidal_1d", 0)->build(PositionInput{.positions = grid_positions(3, 3)});
  const Encoding want = sinusoidal(text_positions(9), SinusoidOptions{.dim = 8});
  EXPECT_EQ(test::max_abs_diff(f.input_add, want.input_add), 0.0);
  // RoPE 2D at a larger grid is the builder at those positions; ALiBi 2D keeps its slopes.
  const DTensor p = grid_positions(6, 6);
  EXPECT_NO_THROW(module("rope_2d", 0)->build(PositionInput{.positions = p}));
  const Encoding a = module("alibi_2d", 0)->build(PositionInput{.positions = p});
  ASSERT_EQ(a.biases.size(), 1u);
  const Encoding aw = alibi_2d(p, p, 2);
  EXPECT_EQ(test::max_abs_diff(a.biases[0].slopes, aw.biases[0].slopes), 0.0);
}

TEST(TrainImageTasks, DigitsSplitIsStratifiedSeededAndHoldsThePixels) {
  const Task t = make_task("digits", options(3));
  EXPECT_EQ(t.train.size(), 1347u);
  EXPECT_EQ(t.validation.size(), 450u);
  EXPECT_EQ(t.classes, 10);
  EXPECT_EQ(t.input_features, 4);
  EXPECT_EQ(t.grid_height, 4);
  EXPECT_EQ(t.length, 16);
  std::map<std::int64_t, int> train_count, val_count;
  for (auto v : t.train.labels) ++train_count[v];
  for (auto v : t.validation.labels) ++val_count[v];
  for (std::int64_t c = 0; c < 10; ++c) {
    const double share = static_cast<double>(val_count[c]) / (train_count[c] + val_count[c]);
    EXPECT_NEAR(share, 0.25, 0.01) << "class " << c;
  }
  // The same seed gives the same split, another seed another one.
  const Task again = make_task("digits", options(3));
  EXPECT_EQ(test::max_abs_diff(t.validation.features, again.validation.features), 0.0);
  const Task other = make_task("digits", options(4));
  EXPECT_GT(test::max_abs_diff(t.validation.features, other.validation.features), 0.0);
  // Patches: token (gy, gx) value (dy, dx) is pixel (2 gy + dy, 2 gx + dx) / 16 of an image of the file.
  const TableData data = load_dataset("digits");
  const Tensor img = table_images(data, 8, 8);
  TaskOptions o = options(3);
  o.image_patch = 4;
  const Task big = make_task("digits", o);
  EXPECT_EQ(big.input_features, 16);
  EXPECT_EQ(big.length, 4);
  // Validation row 0 is the first file image in the validation split (file order kept): find it by value.
  bool found = false;
  for (std::size_t s = 0; s < data.size() && !found; ++s) {
    bool same = true;
    for (std::size_t k = 0; k < 4 && same; ++k)
      for (std::size_t v = 0; v < 16 && same; ++v)
        same = big.validation.features(0, k, v) == img(s, (k / 2) * 4 + v / 4, (k % 2) * 4 + v % 4) / 16.0f;
    found = same && big.validation.labels(0) == data.labels()(s);
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(t.train.where.positions.shape()[1], 16u);
}

TEST(TrainImageTasks, BrightLeftLabelsAndLargerGrids) {
  TaskOptions o = options(1, 300, 50, 20);
  o.image_grid = 5;
  o.image_eval_grids = {9, 7};
  const Task t = make_task("bright_left", o);
  ASSERT_EQ(t.lengths.size(), 2u);
  EXPECT_EQ(t.lengths[0].length, 49);
  EXPECT_EQ(t.lengths[1].length, 81);
  EXPECT_EQ(t.lengths[1].data.where.positions.shape()[1], 81u);
  int ones = 0;
  for (std::size_t i = 0; i < t.train.size(); ++i) {
    std::size_t bright = 0, dark = 0;
    for (std::size_t n = 0; n < 25; ++n) {
      if (t.train.features(i, n, 0) == 1.0f) bright = n;
      if (t.train.features(i, n, 0) == -1.0f) dark = n;
    }
    EXPECT_NE(bright % 5, dark % 5);
    EXPECT_EQ(t.train.labels(i), bright % 5 < dark % 5 ? 1 : 0);
    ones += static_cast<int>(t.train.labels(i));
  }
  EXPECT_NEAR(ones / 300.0, 0.5, 0.1);
}

TEST(TrainImageFit, RopeAndLearnedBeatNoPositionOnBrightLeft) {
  TaskOptions o = options(2, 800, 300, 100);
  o.image_grid = 4;
  o.image_eval_grids = {6};
  const Task task = make_task("bright_left", o);
  TrainOptions t;
  t.epochs = 6;
  t.batch = 32;
  t.adamw.lr = 3e-3;
  std::map<std::string, TrainResult> r;
  for (const std::string kind : {"none", "rope_2d", "learned_2d"}) {
    ModelConfig c = task_model_config(task, kind, 1);
    c.d_model = 32;
    c.heads = 4;
    c.layers = 2;
    c.dropout = 0.0;
    FeatureTransformer m(c);
    r[kind] = fit(m, task, t);
    std::printf("[ fit ] bright_left 4x4 %-10s best val accuracy %.3f, at 6x6 %.3f (%.1f s)\n", kind.c_str(),
                r[kind].best_val_accuracy, r[kind].best_lengths.back().accuracy, r[kind].seconds);
  }
  // 'none' sees the same multiset of token values for both labels: chance (0.5) up to sampling noise.
  EXPECT_LT(r["none"].best_val_accuracy, 0.62);
  EXPECT_GT(r["rope_2d"].best_val_accuracy, r["none"].best_val_accuracy + 0.25);
  EXPECT_GT(r["learned_2d"].best_val_accuracy, r["none"].best_val_accuracy + 0.25);
  // The larger grid was measured (the resampled table / the rotation at new positions): a finite accuracy.
  EXPECT_TRUE(std::isfinite(r["learned_2d"].best_lengths.back().accuracy));
}

TEST(TrainImageErrors, NameFunctionParameterAndValue) {
  PositionConfig c;
  c.kind = "learned_2d";
  expect_invalid([&] { make_position_module(c, PositionContext{.d_model = 8, .heads = 2}, 0); }, {"grid_height"});
  c.kind = "swin_bias";
  expect_invalid([&] { make_position_module(c, PositionContext{.d_model = 8, .heads = 2}, 0); }, {"swin_bias"});
  // Text positions (one axis) and a grid that is not row-major full.
  expect_invalid([] { module("rope_2d", 0)->build(PositionInput{.positions = text_positions(9)}); },
                 {"input.positions", "(row, column)"});
  DTensor holes = grid_positions(3, 3);
  holes(0, 4, 1) = 2.0;
  expect_invalid([&] { module("learned_2d", 0)->build(PositionInput{.positions = holes}); }, {"row-major"});
  TaskOptions o;
  o.image_patch = 3;
  expect_invalid([&] { make_task("digits", o); }, {"image_patch", "3"});
  o.image_eval_grids = {6};
  expect_invalid([&] { make_task("bright_left", o); }, {"image_eval_grids", "6"});
  o.image_eval_grids = {};
  o.image_pooling = Pooling::none;
  expect_invalid([&] { make_task("bright_left", o); }, {"image_pooling"});
  o.image_pooling = Pooling::mean;
  o.image_grid = 1;
  expect_invalid([&] { make_task("bright_left", o); }, {"image_grid", "1"});
}

}  // namespace
}  // namespace posenc
