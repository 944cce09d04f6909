// Gradients of the attention core (posenc/gradients.hpp).
//
// Oracles:
//   1. central finite differences with Richardson extrapolation of
//      L = sum(G * out) through the reference forward in double
//      (detail::attention_reference_f64) against attention_backward_reference:
//      every term of the contract, every mask; inputs are multiples of 2^-10 so
//      that x +- h is exact in float;
//   2. the streaming backward against the reference backward for many tile
//      shapes, and bit-identical for 1 and 2 threads.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "detail/reference.hpp"
#include "posenc/attention.hpp"
#include "posenc/gradients.hpp"
#include "support/helpers.hpp"

namespace posenc {
namespace {

using test::expect_invalid;

/// Normal values rounded to multiples of 2^-10, so that x +- 2^-8 is exact in float.
Tensor qtensor(Shape shape, std::uint64_t seed, double scale = 0.5) {
  Tensor t = test::random_tensor(std::move(shape), seed, scale);
  for (auto& x : t) x = std::round(x * 1024.0f) / 1024.0f;
  return t;
}

DTensor drandom(Shape shape, std::uint64_t seed, double scale) {
  const Tensor t = test::random_tensor(std::move(shape), seed, scale);
  return xt::cast<double>(t);
}

DTensor pos(std::size_t n, double offset = 0) { return test::positions(n, offset); }

struct GradCase {
  Tensor q, k, v;
  Encoding e;
  AttentionOptions o;
};

double loss(const GradCase& c, const Tensor& g) {
  const std::vector<double> out = detail::attention_reference_f64(c.q, c.k, c.v, c.e, c.o);
  double l = 0;
  for (std::size_t x = 0; x < out.size(); ++x) l += out[x] * g.data()[x];
  return l;
}

/// One differentiable input: its storage in the case and its gradient.
struct Target {
  std::string name;
  float* f = nullptr;
  double* d = nullptr;
  std::size_t n = 0;
  xt::xarray<double> grad;
};

template <class T>
void add_target(std::vector<Target>& ts, const std::string& name, xt::xarray<T>& param,
                const xt::xarray<T>& grad) {
  if (!is_set(param) || !is_set(grad)) return;
  Target t{name, nullptr, nullptr, param.size(), xt::cast<double>(grad)};
  if constexpr (std::is_same_v<T, float>) t.f = param.data();
  else t.d = param.data();
  ts.push_back(std::move(t));
}

/// Every input of the case paired with its gradient, in one order.
std::vector<Target> targets(GradCase& c, const AttentionGrads& g) {
  std::vector<Target> ts;
  add_target(ts, "q", c.q, g.dq);
  add_target(ts, "k", c.k, g.dk);
  add_target(ts, "v", c.v, g.dv);
  Encoding& e = c.e;
  const EncodingGrad& eg = g.encoding;
  add_target(ts, "query_angles", e.rotation.query_angles, eg.rotation.query_angles);
  add_target(ts, "key_angles", e.rotation.key_angles, eg.rotation.key_angles);
  add_target(ts, "query_log_scale", e.rotation.query_log_scale, eg.rotation.query_log_scale);
  add_target(ts, "key_log_scale", e.rotation.key_log_scale, eg.rotation.key_log_scale);
  auto rel = [&](const char* what, std::vector<RelativeVectors>& parts, const std::vector<RelativeVectorsGrad>& grads) {
    for (std::size_t t = 0; t < parts.size() && t < grads.size(); ++t) {
      add_target(ts, std::string(what) + "[" + std::to_string(t) + "].table", parts[t].table, grads[t].table);
      add_target(ts, std::string(what) + "[" + std::to_string(t) + "].query_bias", parts[t].query_bias, grads[t].query_bias);
    }
  };
  rel("content_weights", e.content_weights, eg.content_weights);
  rel("content_position", e.content_position, eg.content_position);
  rel("position_content", e.position_content, eg.position_content);
  rel("value", e.value, eg.value);
  add_target(ts, "content_bias", e.content_bias, eg.content_bias);
  for (std::size_t t = 0; t < e.biases.size() && t < eg.biases.size(); ++t) {
    const std::string n = "biases[" + std::to_string(t) + "]";
    add_target(ts, n + ".slopes", e.biases[t].slopes, eg.biases[t].slopes);
    add_target(ts, n + ".table", e.biases[t].table, eg.biases[t].table);
    add_target(ts, n + ".dense", e.biases[t].dense, eg.biases[t].dense);
  }
  for (std::size_t t = 0; t < e.multipliers.size() && t < eg.multipliers.size(); ++t)
    add_target(ts, "multipliers[" + std::to_string(t) + "].table", e.multipliers[t].table, eg.multipliers[t].table);
  return ts;
}

/// Richardson-extrapolated central difference of the loss along one element.
template <class T>
double fd(GradCase& c, const Tensor& g, T* x, double h) {
  const T orig = *x;
  auto central = [&](double step) {
    *x = static_cast<T>(orig + step);
    const double lp = loss(c, g);
    *x = static_cast<T>(orig - step);
    const double lm = loss(c, g);
    *x = orig;
    return (lp - lm) / (2 * step);
  };
  return (4 * central(h / 2) - central(h)) / 3;
}

/// Reference backward against finite differences on every input (sampled to <= 40 elements each).
void check_fd(GradCase c, std::uint64_t seed, double tol = 1e-6) {
  AttentionStats st;
  const Tensor out = attention_reference(c.q, c.k, c.v, c.e, c.o, &st);
  const Tensor g = qtensor(Shape(out.shape().begin(), out.shape().end()), seed, 1.0);
  const AttentionGrads ag = attention_backward_reference(c.q, c.k, c.v, c.e, c.o, out, st, g, GradRequest::all(c.e));
  for (auto& t : targets(c, ag)) {
    double gmax = 1e-12;
    for (double x : t.grad) gmax = std::max(gmax, std::abs(x));
    const std::size_t stride = std::max<std::size_t>(1, t.n / 40);
    double worst = 0;
    for (std::size_t x = 0; x < t.n; x += stride) {
      const double num = t.f ? fd(c, g, t.f + x, 1.0 / 128) : fd(c, g, t.d + x, 1.0 / 128);
      worst = std::max(worst, std::abs(num - t.grad.data()[x]) / gmax);
    }
    EXPECT_LT(worst, tol) << t.name << " (max |grad| " << gmax << ")";
  }
  if (!c.e.rotation.empty()) {
    double* m = &c.e.rotation.magnitude;
    const double num = fd(c, g, m, 1.0 / 128);
    EXPECT_NEAR(num, ag.encoding.rotation.magnitude, tol * std::max(1.0, std::abs(num))) << "magnitude";
  }
}

/// The streaming backward against the reference backward, tiles and threads varied.
void check_streaming_backward(GradCase c, std::uint64_t seed, double tol = 2e-5) {
  AttentionStats st_ref, st;
  const Tensor out_ref = attention_reference(c.q, c.k, c.v, c.e, c.o, &st_ref);
  const Tensor g = qtensor(Shape(out_ref.shape().begin(), out_ref.shape().end()), seed, 1.0);
  const GradRequest req = GradRequest::all(c.e);
  AttentionGrads ref = attention_backward_reference(c.q, c.k, c.v, c.e, c.o, out_ref, st_ref, g, req);
  const auto ref_targets = targets(c, ref);
  for (auto tiles : {std::pair<std::size_t, std::size_t>{2, 3}, {128, 256}, {3, 1}, {5, 7}}) {
    c.o.query_block = tiles.first;
    c.o.key_block = tiles.second;
    std::vector<AttentionGrads> runs;
    for (int threads : {1, 2}) {
      c.o.threads = threads;
      const Tensor out = attention(c.q, c.k, c.v, c.e, c.o, &st);
      EXPECT_LT(test::max_abs_diff(st.log_sum_exp, st_ref.log_sum_exp), 1e-5) << "log-sum-exp";
      runs.push_back(attention_backward(c.q, c.k, c.v, c.e, c.o, out, st, g, req));
    }
    const auto one = targets(c, runs[0]), two = targets(c, runs[1]);
    ASSERT_EQ(one.size(), ref_targets.size());
    for (std::size_t t = 0; t < one.size(); ++t) {
      double gmax = 1e-6;
      for (double x : ref_targets[t].grad) gmax = std::max(gmax, std::abs(x));
      EXPECT_LT(test::max_abs_diff(one[t].grad, ref_targets[t].grad) / gmax, tol)
          << one[t].name << " tiles " << tiles.first << "x" << tiles.second;
      EXPECT_EQ(test::max_abs_diff(one[t].grad, two[t].grad), 0.0) << one[t].name << ": thread count changed the bits";
    }
    EXPECT_EQ(runs[0].encoding.rotation.magnitude, runs[1].encoding.rotation.magnitude);
    EXPECT_NEAR(runs[0].encoding.rotation.magnitude, ref.encoding.rotation.magnitude,
                1e-4 * std::max(1.0, std::abs(ref.encoding.rotation.magnitude)));
  }
}

void check_both(const GradCase& c, std::uint64_t seed) {
  check_fd(c, seed);
  check_streaming_backward(c, seed + 1);
}

GradCase plain(std::size_t b, std::size_t h, std::size_t hk, std::size_t nq, std::size_t nk, std::size_t d,
           std::size_t dv, std::uint64_t seed) {
  GradCase c;
  c.q = qtensor({b, h, nq, d}, seed);
  c.k = qtensor({b, hk, nk, d}, seed + 1);
  c.v = qtensor({b, hk, nk, dv}, seed + 2);
  return c;
}

TEST(GradientsCore, PlainGroupedCausalKeyLengths) {
  GradCase c = plain(2, 4, 2, 6, 6, 4, 3, 10);
  c.o.mask.causal = true;
  c.o.mask.key_lengths = {6, 4};
  check_both(c, 20);
}

TEST(GradientsCore, RotationPartialPerHeadLogScalesMagnitude) {
  GradCase c = plain(2, 2, 2, 5, 5, 6, 4, 30);
  Rotation& r = c.e.rotation;
  r.layout = PairLayout::halves;
  r.pairs = 2;  // channels 4, 5 pass unchanged
  r.query_angles = drandom({2, 2, 5, 2}, 31, 1.5);
  r.key_angles = drandom({1, 2, 5, 2}, 32, 1.5);
  r.query_log_scale = drandom({2, 2, 5, 2}, 33, 0.2);
  r.key_log_scale = drandom({1, 2, 5, 2}, 34, 0.2);
  r.magnitude = 1.25;
  check_both(c, 35);
}

TEST(GradientsCore, RotationInterleavedCrossAttentionGqa) {
  GradCase c = plain(1, 4, 2, 3, 7, 6, 5, 40);
  Rotation& r = c.e.rotation;
  r.layout = PairLayout::interleaved;
  r.pairs = 3;
  r.query_angles = drandom({1, 1, 3, 3}, 41, 2.0);
  r.key_angles = drandom({1, 1, 7, 3}, 42, 2.0);
  c.o.mask.causal = true;  // bottom-right aligned: 4 cached keys
  check_both(c, 43);
}

TEST(GradientsCore, ContentPositionPositionContentContentBiasValueSegments) {
  GradCase c = plain(2, 2, 2, 6, 6, 4, 3, 50);
  const DTensor p = pos(6);
  RelativeVectors cp{Relation::offset(p, p, 1, -2, 2), qtensor({2, 5, 4}, 51), qtensor({2, 4}, 52)};
  RelativeVectors pc{Relation::offset(p, p, -1, -3, 3), qtensor({1, 7, 4}, 53), {}};
  RelativeVectors val{Relation::offset(p, p, 1, -2, 2), qtensor({2, 5, 3}, 54), {}};
  c.e.content_position.push_back(cp);
  c.e.position_content.push_back(pc);
  c.e.value.push_back(val);
  c.e.content_bias = qtensor({1, 4}, 55);
  c.o.mask.query_segments = ITensor::from_shape({1, 6});
  c.o.mask.key_segments = ITensor::from_shape({1, 6});
  const std::int64_t seg[6] = {0, 0, 0, 1, 1, 1};
  std::copy(seg, seg + 6, c.o.mask.query_segments.begin());
  std::copy(seg, seg + 6, c.o.mask.key_segments.begin());
  check_both(c, 56);
}

// Causal tiles cut by the diagonal are multiplied in groups of 32 rows (the backward shares the
// forward's score_tile): blocks of 100 rows (four groups, the last short), a key tile the whole
// block's width, and with 30 more keys than queries (bottom-right aligned: every row sees 31 or
// more, so part of the tile is multiplied for all rows at once). A slope bias, a T5 table and a
// clipped value term ride along; against the reference backward, 1 and 2 threads bit-identical.
TEST(GradientsCore, CausalDiagonalTilesInRowGroups) {
  for (const std::size_t nk : {100u, 130u}) {
    GradCase c = plain(1, 2, 2, 100, nk, 8, 6, 90 + nk);
    const DTensor pq = pos(100, static_cast<double>(nk - 100)), pk = pos(nk);
    Bias slope;
    slope.kind = BiasKind::slope;
    slope.relation = Relation::distance(pq, pk);
    slope.slopes = test::make({2}, {0.5f, 0.125f});
    Bias t5;
    t5.kind = BiasKind::table;
    t5.relation = Relation::t5(pq, pk, false, 8, 32);
    t5.table = qtensor({2, 8}, 91 + nk, 0.5);
    c.e.biases = {slope, t5};
    c.e.value.push_back({Relation::offset(pq, pk, 1, -6, 6), qtensor({2, 13, 6}, 92 + nk, 0.5), {}});
    c.o.mask.causal = true;
    check_streaming_backward(c, 93 + nk);
  }
}

TEST(GradientsCore, SlopeTableAndDenseBiases) {
  GradCase c = plain(2, 3, 3, 5, 5, 4, 4, 60);
  const DTensor p = pos(5);
  Bias slope;
  slope.kind = BiasKind::slope;
  slope.relation = Relation::distance(p, p);
  slope.slopes = test::make({3}, {0.5f, 0.25f, 0.125f});
  Bias t5;
  t5.kind = BiasKind::table;
  t5.relation = Relation::t5(p, p, true, 8, 16);
  t5.table = qtensor({3, 8}, 61);
  Bias dense;
  dense.kind = BiasKind::dense;
  dense.dense = qtensor({2, 1, 5, 5}, 62);
  c.e.biases = {slope, t5, dense};
  check_both(c, 63);
}

TEST(GradientsCore, MultipliersAfterReluAwayFromTheKink) {
  GradCase c = plain(1, 2, 2, 5, 5, 4, 3, 70);
  c.q = qtensor({1, 2, 5, 4}, 70, 0.25);
  c.k = qtensor({1, 2, 5, 4}, 71, 0.25);
  const DTensor p = pos(5);
  // A dense bias of +-1 keeps every pre-activation at least ~0.5 away from the ReLU's kink.
  Bias sign;
  sign.kind = BiasKind::dense;
  sign.dense = Tensor::from_shape({1, 2, 5, 5});
  for (std::size_t x = 0; x < sign.dense.size(); ++x) sign.dense.data()[x] = (x * 7 % 3 == 0) ? -1.0f : 1.0f;
  c.e.biases = {sign};
  c.e.score_relu = true;
  Multiplier m1{Relation::distance(p, p, 4), qtensor({2, 5}, 72) + 1.0f};
  Multiplier m2{Relation::offset(p, p, 1, -1, 1), qtensor({1, 3}, 73) + 1.0f};
  c.e.multipliers = {m1, m2};
  check_both(c, 74);
}

TEST(GradientsCore, PerChannelContentWeights) {
  GradCase c = plain(2, 2, 1, 5, 5, 4, 3, 80);
  const DTensor p = pos(5);
  RelativeVectors w1{Relation::offset(p, p, -1, -2, 2), qtensor({2, 5, 4}, 81, 0.2) + 1.0f, {}};
  RelativeVectors w2{Relation::distance(p, p, 3), qtensor({1, 4, 4}, 82, 0.2) + 1.0f, {}};
  c.e.content_weights = {w1, w2};
  check_both(c, 83);
}

TEST(GradientsCore, FullyMaskedRowsAndMaskingTableEntriesGiveZeroNotNan) {
  GradCase c = plain(2, 2, 2, 4, 4, 4, 3, 90);
  c.o.mask.key_lengths = {0, 3};  // batch 0: every row fully masked
  Bias masked;
  masked.kind = BiasKind::table;
  ITensor idx = ITensor::from_shape({1, 4, 4});
  for (std::size_t x = 0; x < idx.size(); ++x) idx.data()[x] = static_cast<std::int64_t>(x % 3);
  masked.relation = Relation::explicit_index(idx, 3);
  masked.table = test::make({1, 3}, {0.5f, -0.25f, -std::numeric_limits<float>::infinity()});
  c.e.biases = {masked};
  AttentionStats st;
  const Tensor out = attention(c.q, c.k, c.v, c.e, c.o, &st);
  const Tensor g = qtensor({2, 2, 4, 3}, 91, 1.0);
  for (bool reference : {false, true}) {
    const AttentionGrads ag = reference
        ? attention_backward_reference(c.q, c.k, c.v, c.e, c.o, out, st, g, GradRequest::all(c.e))
        : attention_backward(c.q, c.k, c.v, c.e, c.o, out, st, g, GradRequest::all(c.e));
    for (const Tensor* t : {&ag.dq, &ag.dk, &ag.dv, &ag.encoding.biases[0].table})
      for (float x : *t) EXPECT_TRUE(std::isfinite(x));
    EXPECT_EQ(ag.encoding.biases[0].table(0, 2), 0.0f) << "the -inf entry receives no gradient";
    for (std::size_t x = 0; x < 2 * 4 * 4; ++x) EXPECT_EQ(ag.dq.data()[x], 0.0f) << "fully masked batch 0";
    for (std::size_t x = 0; x < 2 * 4 * 4; ++x) EXPECT_EQ(ag.dk.data()[x], 0.0f);
  }
  // Finite differences where the table entries are finite (the -inf entry is not perturbed:
  // its gradient is exactly zero and checked above).
  masked.table(0, 2) = -1e30f;
  c.e.biases = {masked};
  check_fd(c, 92);
}

TEST(GradientsCore, OnlyInputsRequestedLeavesPartsEmpty) {
  GradCase c = plain(1, 2, 2, 4, 4, 4, 4, 100);
  const DTensor p = pos(4);
  Bias t5;
  t5.kind = BiasKind::table;
  t5.relation = Relation::t5(p, p, true, 8, 16);
  t5.table = qtensor({2, 8}, 101);
  c.e.biases = {t5};
  AttentionStats st;
  const Tensor out = attention(c.q, c.k, c.v, c.e, c.o, &st);
  const AttentionGrads ag = attention_backward(c.q, c.k, c.v, c.e, c.o, out, st, qtensor({1, 2, 4, 4}, 102));
  EXPECT_TRUE(is_set(ag.dq));
  EXPECT_FALSE(is_set(ag.encoding.biases[0].table));
  GradRequest only_tables;
  only_tables.inputs = false;
  only_tables.biases = true;
  const AttentionGrads tb = attention_backward(c.q, c.k, c.v, c.e, c.o, out, st, qtensor({1, 2, 4, 4}, 102), only_tables);
  EXPECT_FALSE(is_set(tb.dq));
  EXPECT_TRUE(is_set(tb.encoding.biases[0].table));
}

TEST(GradientsCore, BadInput) {
  GradCase c = plain(1, 2, 2, 4, 4, 4, 4, 110);
  AttentionStats st;
  const Tensor out = attention(c.q, c.k, c.v, c.e, c.o, &st);
  const Tensor g = qtensor({1, 2, 4, 4}, 111);
  expect_invalid([&] { attention_backward(c.q, c.k, c.v, c.e, c.o, out, st, qtensor({1, 2, 4, 3}, 1)); },
                 {"attention_backward", "d_out", "[1, 2, 4, 4]", "[1, 2, 4, 3]"});
  AttentionStats bad;
  bad.log_sum_exp = qtensor({1, 2, 3}, 2);
  expect_invalid([&] { attention_backward(c.q, c.k, c.v, c.e, c.o, out, bad, g); },
                 {"attention_backward", "stats.log_sum_exp", "[1, 2, 4]"});
  expect_invalid([&] { attention_backward(c.q, c.k, c.v, c.e, c.o, out, AttentionStats{}, g); },
                 {"attention_backward", "stats.log_sum_exp", "attention(..., &stats)"});
  Tensor nan = g;
  nan(0, 1, 2, 3) = std::numeric_limits<float>::quiet_NaN();
  expect_invalid([&] { attention_backward(c.q, c.k, c.v, c.e, c.o, out, st, nan); },
                 {"attention_backward", "d_out", "non-finite"});
  expect_invalid([&] { attention_backward_reference(c.q, c.k, c.v, c.e, c.o, out, st, nan); },
                 {"attention_backward_reference", "d_out", "non-finite"});
  expect_invalid([&] { attention_backward(c.q, c.k, c.v, c.e, c.o, qtensor({1, 2, 4, 2}, 3), st, g); },
                 {"attention_backward", "'out'"});
  GradRequest r;
  r.rotation = true;
  expect_invalid([&] { attention_backward(c.q, c.k, c.v, c.e, c.o, out, st, g, r); },
                 {"attention_backward", "request.rotation", "no rotation"});
  r = {};
  r.biases = true;
  expect_invalid([&] { attention_backward(c.q, c.k, c.v, c.e, c.o, out, st, g, r); }, {"request.biases", "no bias"});
  r = {};
  r.relative = true;
  expect_invalid([&] { attention_backward(c.q, c.k, c.v, c.e, c.o, out, st, g, r); }, {"request.relative"});
  r = {};
  r.multipliers = true;
  expect_invalid([&] { attention_backward(c.q, c.k, c.v, c.e, c.o, out, st, g, r); }, {"request.multipliers"});
}

}  // namespace
}  // namespace posenc
