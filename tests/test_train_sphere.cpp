// The sphere modality's training pieces: position kinds latlon, unit_vector, sphere2vec, harmonics,
// geodesic_alibi (src/train/positions_sphere.cpp) and the sphere_field task (posenc/sphere_tasks.hpp).
//
//   SphereTrainGradient  each learnable sphere kind's gradient (and the whole model's) by finite
//                        differences through FeatureTransformer (test::check_gradients), per-token MSE
//                        and a class-token head (prefix rows).
//   SphereTrainOracle    the Linear kinds' input_add = F W^T + b against the library's features; prefix
//                        rows get the bias alone; batched geodesic ALiBi equals each sample alone.
//   SphereFieldOracle    the field against its formula at hand-checked points; task shapes, seeds.
//   SphereFieldFit       a seconds-long run: harmonics beats raw lat/lon and none in validation MSE.
//   SphereTrainErrors    bad options and inputs name function, parameter and value.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>

#include "posenc/model.hpp"
#include "posenc/sphere.hpp"
#include "posenc/sphere_tasks.hpp"
#include "posenc/tasks.hpp"
#include "posenc/text.hpp"
#include "posenc/trainer.hpp"
#include "support/gradcheck.hpp"
#include "support/helpers.hpp"

namespace posenc {
namespace {

using namespace posenc::train;
using test::expect_invalid;

constexpr double kPi = std::numbers::pi;

/// Points [B, N, 2] (lon, lat) in radians from a seed, latitudes well inside (-pi/2, pi/2).
DTensor random_points(std::size_t b, std::size_t n, std::uint64_t seed) {
  const Tensor r = test::random_tensor({b, n, 2}, seed);  // roughly [-1, 1]
  DTensor p = DTensor::from_shape({b, n, 2});
  for (std::size_t i = 0; i < b * n; ++i) {
    p.data()[2 * i] = 3.0 * r.data()[2 * i];
    p.data()[2 * i + 1] = std::clamp(1.4 * static_cast<double>(r.data()[2 * i + 1]), -1.5, 1.5);
  }
  return p;
}

ModelConfig tiny_sphere(const std::string& kind, Pooling pooling) {
  ModelConfig c = test::tiny_trunk();
  c.classes = 1;
  c.seed = 11;
  c.input_features = 1;
  c.pooling = pooling;
  c.tokens = 6;
  c.position.kind = kind;
  c.position.sphere_degree = 4;
  c.position.learnable_slopes = true;
  c.position.sphere2vec_min_radius = 0.3;
  return c;
}

void gradient(const ModelConfig& c, const std::string& what) {
  FeatureTransformer m(c);
  for (auto& p : m.parameters())
    if (p.name == "cls_token") *p.value = test::random_tensor({p.value->size()}, 5);
  const Tensor x = test::random_tensor({2, 6, 1}, 3);
  const PositionInput where{.positions = random_points(2, 6, 4)};
  const Tensor t = c.pooling == Pooling::none ? test::random_tensor({2, 6, 1}, 6) : test::random_tensor({2, 1}, 6);
  bool with_backward = true;
  const auto loss = [&] {
    const Loss l = mse(m.forward(x, {}, where), t);
    if (with_backward) m.backward(l.grad);
    return l.value;
  };
  m.zero_grad();
  loss();
  with_backward = false;
  test::check_gradients(m.parameters(), loss, what);
}

TEST(SphereTrainGradient, EachKindPerTokenHead) {
  for (const std::string kind : {"latlon", "unit_vector", "sphere2vec", "harmonics", "geodesic_alibi"})
    gradient(tiny_sphere(kind, Pooling::none), "sphere per-token " + kind);
}

TEST(SphereTrainGradient, CombinedAndClassToken) {
  gradient(tiny_sphere("harmonics+geodesic_alibi", Pooling::none), "sphere harmonics+geodesic_alibi");
  gradient(tiny_sphere("unit_vector+geodesic_alibi", Pooling::cls), "sphere cls unit_vector+alibi");
}

/// The module's parameters by name stem.
Tensor param(PositionModule& m, const std::string& stem) {
  std::vector<Parameter> ps;
  m.parameters("", ps);
  for (const auto& p : ps)
    if (p.name == stem) return *p.value;
  ADD_FAILURE() << "no parameter " << stem;
  return {};
}

TEST(SphereTrainOracle, LinearKindsAreFeaturesTimesWeightPlusBias) {
  const PositionContext ctx{.d_model = 8, .heads = 2};
  PositionConfig c;
  c.sphere_degree = 3;
  const DTensor pos = random_points(1, 5, 9);
  DTensor deg = DTensor::from_shape({5, 2});
  for (std::size_t i = 0; i < 10; ++i) deg.data()[i] = pos.data()[i] * 180.0 / kPi;
  struct Case {
    std::string kind;
    Tensor features;
  };
  Tensor latlon = Tensor::from_shape({5, 2});
  for (std::size_t i = 0; i < 10; ++i) latlon.data()[i] = static_cast<float>(pos.data()[i]);
  DTensor u = unit_vectors(deg);
  Tensor uf = Tensor::from_shape({5, 3});
  std::transform(u.begin(), u.end(), uf.begin(), [](double v) { return static_cast<float>(v); });
  const std::vector<Case> cases = {
      {"latlon", latlon},
      {"unit_vector", uf},
      {"harmonics", spherical_harmonics(deg, {.degree = 3})},
      {"sphere2vec", sphere2vec_features(deg, {.min_radius = 0.05, .max_radius = 1.0})},
  };
  for (const auto& k : cases) {
    c.kind = k.kind;
    auto m = make_position_module(c, ctx, 2);
    const Tensor w = param(*m, "weight"), b = param(*m, "bias");
    ASSERT_EQ(w.shape()[1], k.features.shape()[1]) << k.kind;
    PositionInput in{.positions = pos};
    const Encoding e = m->build(in);
    ASSERT_EQ(e.input_add.shape()[1], 5u);
    for (std::size_t i = 0; i < 5; ++i)
      for (std::size_t d = 0; d < 8; ++d) {
        double want = b(d);
        for (std::size_t f = 0; f < w.shape()[1]; ++f) want += static_cast<double>(w(d, f)) * k.features(i, f);
        EXPECT_NEAR(e.input_add(0, i, d), want, 1e-5) << k.kind << " point " << i << " channel " << d;
      }
    // A prefix row (the class token) gets the bias alone.
    in.prefix_tokens = 1;
    const Encoding p = m->build(in);
    for (std::size_t d = 0; d < 8; ++d) EXPECT_EQ(p.input_add(0, 0, d), b(d)) << k.kind;
  }
}

TEST(SphereTrainOracle, GeodesicAlibiIsTheBuilderPerSample) {
  const PositionContext ctx{.d_model = 8, .heads = 2};
  PositionConfig c;
  c.kind = "geodesic_alibi";
  const auto m = make_position_module(c, ctx, 0);
  const DTensor pos = random_points(2, 4, 12);
  const Encoding e = m->build(PositionInput{.positions = pos});
  ASSERT_EQ(e.biases.size(), 1u);
  const auto slopes = alibi_slopes(2);
  for (std::size_t h = 0; h < 2; ++h) EXPECT_FLOAT_EQ(e.biases[0].slopes(h), static_cast<float>(slopes[h]));
  // The whole model on the batch equals the model on each sample alone (the bias is per sample).
  ModelConfig mc = tiny_sphere("geodesic_alibi", Pooling::none);
  mc.position.learnable_slopes = false;
  FeatureTransformer model(mc);
  model.set_training(false);
  const Tensor x = test::random_tensor({2, 4, 1}, 13);
  const Tensor both = model.forward(x, {}, PositionInput{.positions = pos});
  for (std::size_t s = 0; s < 2; ++s) {
    Tensor xs = Tensor::from_shape({1, 4, 1});
    std::copy_n(x.data() + s * 4, 4, xs.data());
    DTensor ps = DTensor::from_shape({1, 4, 2});
    std::copy_n(pos.data() + s * 8, 8, ps.data());
    const Tensor one = model.forward(xs, {}, PositionInput{.positions = ps});
    for (std::size_t i = 0; i < 4; ++i) EXPECT_NEAR(both(s, i, 0), one(0, i, 0), 1e-5) << "sample " << s;
  }
  // Fixed slopes have no parameters; learnable ones do.
  std::vector<Parameter> ps;
  make_position_module(c, ctx, 0)->parameters("", ps);
  EXPECT_TRUE(ps.empty());
  c.learnable_slopes = true;
  make_position_module(c, ctx, 0)->parameters("", ps);
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].name, "slopes");
}

DTensor pts(std::initializer_list<std::pair<double, double>> v) {
  DTensor p = DTensor::from_shape({v.size(), 2});
  std::size_t i = 0;
  for (const auto& [lon, lat] : v) {
    p(i, 0) = lon;
    p(i, 1) = lat;
    ++i;
  }
  return p;
}

TEST(SphereFieldOracle, FormulaAtHandCheckedPoints) {
  SphereField f;
  f.degree = 1;
  f.coefficients = {1.0, 0.0, 0.0, 0.0};
  f.amplitude = 0.0;
  // Degree 0 alone: the constant Y_00 = 1/sqrt(4 pi) everywhere.
  const DTensor v = sphere_field_values(f, pts({{0, 0}, {123, -45}, {-170, 89}, {40, 90}}));
  for (std::size_t i = 0; i < 4; ++i) EXPECT_NEAR(v(i), 1.0 / std::sqrt(4 * kPi), 1e-6);
  // Y_1^0 = sqrt(3 / 4 pi) cos(colatitude) = sqrt(3 / 4 pi) sin(lat): north pole, equator, 30 deg S.
  f.coefficients = {0.0, 0.0, 1.0, 0.0};
  const DTensor z = sphere_field_values(f, pts({{10, 90}, {77, 0}, {-20, -30}}));
  EXPECT_NEAR(z(0), std::sqrt(3 / (4 * kPi)), 1e-6);
  EXPECT_NEAR(z(1), 0.0, 1e-6);
  EXPECT_NEAR(z(2), -0.5 * std::sqrt(3 / (4 * kPi)), 1e-6);
  // The bump alone: A at its centre, A e^{-1/2} one width away (along the meridian), ~0 far away.
  f.coefficients = {0.0, 0.0, 0.0, 0.0};
  f.amplitude = 3.0;
  f.centre_lon = 20;
  f.centre_lat = 40;
  const DTensor b = sphere_field_values(f, pts({{20, 40}, {20, 50}, {20, 30}, {-160, -40}}));
  EXPECT_NEAR(b(0), 3.0, 1e-12);
  EXPECT_NEAR(b(1), 3.0 * std::exp(-0.5), 1e-9);
  EXPECT_NEAR(b(2), 3.0 * std::exp(-0.5), 1e-9);
  EXPECT_LT(b(3), 1e-12);
}

TEST(SphereFieldOracle, SeededFieldAndTask) {
  const SphereField a = make_sphere_field(1), a2 = make_sphere_field(1), other = make_sphere_field(2);
  ASSERT_EQ(a.coefficients.size(), 49u);  // degree 6: (6 + 1)^2
  EXPECT_EQ(a.coefficients, a2.coefficients);
  EXPECT_NE(a.coefficients, other.coefficients);
  EXPECT_GE(a.centre_lat, -90.0);
  EXPECT_LE(a.centre_lat, 90.0);
  TaskOptions o;
  o.train_samples = 3;
  o.validation_samples = 2;
  const Task t = make_task("sphere_field", o);
  EXPECT_TRUE(t.regression);
  EXPECT_EQ(t.pooling, Pooling::none);
  EXPECT_EQ(t.length, 64);
  ASSERT_EQ(t.train.features.shape(), (Shape{3, 64, 1}));
  ASSERT_EQ(t.train.targets.shape(), (Shape{3, 64, 1}));
  ASSERT_EQ(t.train.where.positions.shape(), (Shape{3, 64, 2}));
  EXPECT_EQ(t.train.features(2, 5, 0), 1.0f);
  // The grid set: 2048 cells of the 32 x 64 grid in 16 samples of 128, each cell once, targets f.
  ASSERT_EQ(t.lengths.size(), 1u);
  EXPECT_EQ(t.lengths[0].length, 128);
  const Dataset& g = t.lengths[0].data;
  ASSERT_EQ(g.where.positions.shape(), (Shape{16, 128, 2}));
  std::vector<int> seen(2048, 0);
  for (std::size_t i = 0; i < 2048; ++i) {
    const double lon = g.where.positions.data()[2 * i] * 180 / kPi, lat = g.where.positions.data()[2 * i + 1] * 180 / kPi;
    const auto row = static_cast<int>(std::lround((90 - lat) / 5.625 - 0.5)), col = static_cast<int>(std::lround((lon + 180) / 5.625));
    ASSERT_TRUE(row >= 0 && row < 32 && col >= 0 && col < 64) << lon << ", " << lat;
    ++seen[static_cast<std::size_t>(row * 64 + col)];
    if (i == 77) {
      EXPECT_NEAR(g.targets.data()[i], sphere_field_values(a, pts({{lon, lat}}))(0), 1e-5);
    }
  }
  EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), 2048);
  // Targets are the field at the sample's points (radians -> degrees).
  const DTensor p = pts({{t.train.where.positions(1, 7, 0) * 180 / kPi, t.train.where.positions(1, 7, 1) * 180 / kPi}});
  EXPECT_NEAR(t.train.targets(1, 7, 0), sphere_field_values(a, p)(0), 1e-5);
  // Another data seed: other points, the same field; another field seed: another field.
  o.seed = 5;
  const Task t5 = make_task("sphere_field", o);
  EXPECT_NE(t5.train.where.positions(0, 0, 0), t.train.where.positions(0, 0, 0));
  const DTensor p5 = pts({{t5.train.where.positions(0, 3, 0) * 180 / kPi, t5.train.where.positions(0, 3, 1) * 180 / kPi}});
  EXPECT_NEAR(t5.train.targets(0, 3, 0), sphere_field_values(a, p5)(0), 1e-5);
  o.field_seed = 2;
  const Task tf = make_task("sphere_field", o);
  EXPECT_EQ(tf.train.where.positions(0, 3, 0), t5.train.where.positions(0, 3, 0));
  EXPECT_NE(tf.train.targets(0, 3, 0), t5.train.targets(0, 3, 0));
  // Uniform on the sphere: mean sin(lat) ~ 0, mean sin^2(lat) ~ 1/3 over the training points.
  o.train_samples = 100;
  const Task big = make_task("sphere_field", o);
  double s1 = 0, s2 = 0;
  const std::size_t n = 100 * 64;
  for (std::size_t i = 0; i < n; ++i) {
    const double s = std::sin(big.train.where.positions.data()[2 * i + 1]);
    s1 += s;
    s2 += s * s;
  }
  EXPECT_NEAR(s1 / n, 0.0, 0.03);
  EXPECT_NEAR(s2 / n, 1.0 / 3.0, 0.02);
}

double fit_mse(const Task& task, const std::string& kind, std::uint64_t seed) {
  ModelConfig c = task_model_config(task, kind, seed);
  c.d_model = 32;
  c.heads = 4;
  c.layers = 2;
  c.dropout = 0.0;
  c.position.sphere_degree = 8;
  TrainOptions o;
  o.epochs = 4;
  o.batch = 16;
  o.adamw.lr = 3e-3;
  FeatureTransformer m(c);
  return fit(m, task, o).best_val_loss;
}

TEST(SphereFieldFit, HarmonicsBeatLatLonAndNone) {
  TaskOptions o;
  o.train_samples = 160;
  o.validation_samples = 40;
  o.eval_lengths = {0};  // no grid set: seconds matter here
  const Task task = make_task("sphere_field", o);
  double mean = 0, var = 0;
  const std::size_t n = task.validation.targets.size();
  for (auto v : task.validation.targets) mean += v;
  mean /= static_cast<double>(n);
  for (auto v : task.validation.targets) var += (v - mean) * (v - mean);
  var /= static_cast<double>(n);
  const double none = fit_mse(task, "none", 1), latlon = fit_mse(task, "latlon", 1),
               harmonics = fit_mse(task, "harmonics", 1);
  std::printf("[ sphere   ] field variance %.3f, val MSE none %.3f, latlon %.3f, harmonics %.3f\n", var, none, latlon,
              harmonics);
  // none predicts one value for every point: about the field's variance.
  EXPECT_GT(none, 0.8 * var);
  EXPECT_LT(harmonics, 0.5 * none);
  EXPECT_LT(harmonics, 0.8 * latlon);
}

TEST(SphereTrainErrors, NameFunctionParameterAndValue) {
  TaskOptions o;
  o.train_samples = 2;
  o.validation_samples = 2;
  o.field_degree = 41;
  expect_invalid([&] { make_task("sphere_field", o); }, {"make_sphere_field", "degree", "41"});
  o.field_degree = 6;
  o.length = 5000;
  expect_invalid([&] { make_task("sphere_field", o); }, {"make_task", "length", "5000"});
  o.length = 0;
  o.eval_lengths = {128};
  expect_invalid([&] { make_task("sphere_field", o); }, {"make_task", "eval_lengths"});
  SphereField f = make_sphere_field(1, 2);
  f.coefficients.pop_back();
  expect_invalid([&] { sphere_field_values(f, pts({{0, 0}})); }, {"sphere_field_values", "coefficients", "9"});
  f = make_sphere_field(1, 2);
  expect_invalid([&] { sphere_field_values(f, pts({{0, 95}})); }, {"95"});
  const PositionContext ctx{.d_model = 8, .heads = 2};
  PositionConfig c;
  c.kind = "harmonics";
  c.sphere_degree = 0;
  expect_invalid([&] { make_position_module(c, ctx, 0); }, {"make_position_module", "sphere_degree", "0"});
  c.kind = "sphere2vec";
  c.sphere2vec_min_radius = -1;
  expect_invalid([&] { make_position_module(c, ctx, 0); }, {"sphere2vec_min_radius", "-1"});
  c.kind = "unit_vector";
  const auto m = make_position_module(c, ctx, 0);
  DTensor bad = DTensor::from_shape({1, 2, 2});
  bad.fill(0.0);
  bad(0, 1, 1) = 2.0;  // latitude beyond pi/2
  expect_invalid([&] { m->build(PositionInput{.positions = bad}); }, {"SphereLinearModule::build", "positions", "row 1"});
  DTensor three = DTensor::from_shape({1, 2, 3});
  three.fill(0.0);
  expect_invalid([&] { m->build(PositionInput{.positions = three}); }, {"positions", "[1, 2, 3]"});
}

}  // namespace
}  // namespace posenc
