// Backward passes of the learnable text builders (text.hpp, relative.hpp).
// Oracles, never the code under test against itself:
//   - linear builders: the adjoint identity <G, F(P + dP) - F(P)> = <backward(G), dP>
//     in double for random part-gradients G and several random dP, plus small
//     cases whose gradients are written out by hand;
//   - nonlinear builders (DA-Transformer, continuous MLP, learned Fourier): central
//     finite differences of sum(G * forward(P)) with Richardson extrapolation, and a
//     hand formula for DA's dR/dv, dR/dw;
//   - bad input: missing or misshaped parts, K = 0.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>

#include "posenc/attention.hpp"
#include "posenc/gradients.hpp"
#include "posenc/relative.hpp"
#include "posenc/text.hpp"
#include "support/helpers.hpp"

namespace posenc {
namespace {

using test::expect_invalid;
using test::make;
using test::max_abs_diff;
using test::positions;
using test::random_tensor;
using Params = std::vector<Tensor>;

Shape shape_of(const Tensor& t) { return Shape(t.shape().begin(), t.shape().end()); }

// <a, b> and sum |a b| in double over two tensors of one shape (an unset part counts 0).
void accumulate_inner(const Tensor& a, const Tensor& b, double& dot, double& mag) {
  if (!is_set(a) && !is_set(b)) return;
  ASSERT_EQ(shape_of(a), shape_of(b));
  for (std::size_t t = 0; t < a.size(); ++t) {
    const double p = static_cast<double>(a.data()[t]) * static_cast<double>(b.data()[t]);
    dot += p;
    mag += std::abs(p);
  }
}

// <G, E> over every part of an encoding (no rotation among the text builders here).
void inner(const EncodingGrad& g, const Encoding& e, double& dot, double& mag) {
  accumulate_inner(g.input_add, e.input_add, dot, mag);
  accumulate_inner(g.input_concat, e.input_concat, dot, mag);
  auto lists = [&](const std::vector<RelativeVectorsGrad>& gl, const std::vector<RelativeVectors>& el) {
    ASSERT_EQ(gl.size(), el.size());
    for (std::size_t i = 0; i < el.size(); ++i) {
      accumulate_inner(gl[i].table, el[i].table, dot, mag);
      accumulate_inner(gl[i].query_bias, el[i].query_bias, dot, mag);
    }
  };
  lists(g.content_weights, e.content_weights);
  lists(g.content_position, e.content_position);
  lists(g.position_content, e.position_content);
  lists(g.value, e.value);
  accumulate_inner(g.content_bias, e.content_bias, dot, mag);
  ASSERT_EQ(g.biases.size(), e.biases.size());
  for (std::size_t i = 0; i < e.biases.size(); ++i) {
    accumulate_inner(g.biases[i].slopes, e.biases[i].slopes, dot, mag);
    accumulate_inner(g.biases[i].table, e.biases[i].table, dot, mag);
    accumulate_inner(g.biases[i].dense, e.biases[i].dense, dot, mag);
  }
  ASSERT_EQ(g.multipliers.size(), e.multipliers.size());
  for (std::size_t i = 0; i < e.multipliers.size(); ++i) accumulate_inner(g.multipliers[i].table, e.multipliers[i].table, dot, mag);
}

// A random gradient for every filled part of `e`, with the part's shape.
EncodingGrad random_grad(const Encoding& e, std::uint64_t seed) {
  auto rnd = [&](const Tensor& t) { return is_set(t) ? random_tensor(shape_of(t), seed++) : Tensor{}; };
  auto rel = [&](const std::vector<RelativeVectors>& l) {
    std::vector<RelativeVectorsGrad> out;
    for (const auto& r : l) out.push_back({rnd(r.table), rnd(r.query_bias)});
    return out;
  };
  EncodingGrad g;
  g.input_add = rnd(e.input_add);
  g.input_concat = rnd(e.input_concat);
  g.content_weights = rel(e.content_weights);
  g.content_position = rel(e.content_position);
  g.position_content = rel(e.position_content);
  g.value = rel(e.value);
  g.content_bias = rnd(e.content_bias);
  for (const auto& b : e.biases) g.biases.push_back({rnd(b.slopes), rnd(b.table), rnd(b.dense)});
  for (const auto& m : e.multipliers) g.multipliers.push_back({rnd(m.table)});
  return g;
}

// The adjoint identity for a linear (or affine) builder F over parameters P, three random dP.
void expect_adjoint(const std::function<Encoding(const Params&)>& forward,
                    const std::function<Params(const EncodingGrad&)>& backward, const Params& p, std::uint64_t seed) {
  const Encoding base = forward(p);
  const EncodingGrad g = random_grad(base, seed);
  const Params bp = backward(g);
  ASSERT_EQ(bp.size(), p.size());
  for (std::size_t i = 0; i < p.size(); ++i) ASSERT_EQ(shape_of(bp[i]), shape_of(p[i])) << "parameter " << i;
  for (int trial = 0; trial < 3; ++trial) {
    Params dp, moved;
    for (std::size_t i = 0; i < p.size(); ++i) {
      dp.push_back(random_tensor(shape_of(p[i]), seed + 1000 + 17 * trial + i, 0.5));
      moved.push_back(p[i] + dp.back());
    }
    double lhs = 0, mag = 0, base_dot = 0;
    inner(g, forward(moved), lhs, mag);
    inner(g, base, base_dot, mag);
    lhs -= base_dot;
    double rhs = 0, rmag = 0;
    for (std::size_t i = 0; i < p.size(); ++i) accumulate_inner(bp[i], dp[i], rhs, rmag);
    EXPECT_NEAR(lhs, rhs, 1e-5 * (mag + rmag) + 1e-9) << "trial " << trial;
  }
}

DTensor batch_positions(std::vector<std::vector<double>> rows) {
  DTensor p = DTensor::from_shape({rows.size(), rows[0].size(), 1});
  for (std::size_t b = 0; b < rows.size(); ++b)
    for (std::size_t i = 0; i < rows[b].size(); ++i) p(b, i, 0) = rows[b][i];
  return p;
}

// ============================================================ learned absolute

TEST(TextBackwardLearned, HandScatterOfThreeTokens) {
  const Tensor table = random_tensor({4, 2}, 1);
  EncodingGrad g;
  g.input_add = make({1, 3, 2}, {1, 2, 3, 4, 5, 6});  // positions 2, 0, 2
  const Tensor d = learned_absolute_backward(table, batch_positions({{2, 0, 2}}), g);
  EXPECT_EQ(max_abs_diff(d, make({4, 2}, {3, 4, 0, 0, 6, 8, 0, 0})), 0.0);
  // Shared positions [1, N, 1] and a gradient per batch row [2, N, d]: rows sum.
  g.input_add = make({2, 3, 2}, {1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60});
  const Tensor d2 = learned_absolute_backward(table, batch_positions({{2, 0, 2}}), g);
  EXPECT_EQ(max_abs_diff(d2, make({4, 2}, {33, 44, 0, 0, 66, 88, 0, 0})), 0.0);
}

TEST(TextBackwardLearned, AdjointIdentity) {
  const DTensor pos = batch_positions({{0, 1, 2, 3, 1}, {5, 5, 0, 2, 4}});
  expect_adjoint([&](const Params& p) { return learned_absolute(p[0], pos); },
                 [&](const EncodingGrad& g) { return Params{learned_absolute_backward(random_tensor({6, 3}, 0), pos, g)}; },
                 {learned_table_init(6, 3, 0.5, 3)}, 10);
}

// ============================================================ ALiBi slopes

TEST(TextBackwardAlibi, SlopeOverloadMatchesTheGeometricForm) {
  const AlibiOptions o{.heads = 4};
  const auto geo = alibi_slopes(4);
  Tensor s = Tensor::from_shape({4});
  for (std::size_t h = 0; h < 4; ++h) s(h) = static_cast<float>(geo[h]);
  const Encoding a = alibi(positions(3), positions(5), o), b = alibi(positions(3), positions(5), s, o);
  ASSERT_EQ(b.biases.size(), 1u);
  EXPECT_EQ(b.biases[0].kind, BiasKind::slope);
  EXPECT_EQ(max_abs_diff(a.biases[0].slopes, b.biases[0].slopes), 0.0);
  EXPECT_EQ(max_abs_diff(relation_values(a.biases[0].relation), relation_values(b.biases[0].relation)), 0.0);
  expect_invalid([&] { alibi(positions(3), positions(3), s, AlibiOptions{.heads = 3}); }, {"alibi", "'heads'", "3"});
  expect_invalid([&] { alibi(positions(3), positions(3), Tensor{}, o); }, {"alibi", "'slopes'"});
}

TEST(TextBackwardAlibi, AdjointIdentityAndMissingPart) {
  for (bool causal : {true, false}) {
    const AlibiOptions o{.heads = 3, .causal = causal};
    expect_adjoint([&](const Params& p) { return alibi(positions(4, 2), positions(6), p[0], o); },
                   [&](const EncodingGrad& g) { return Params{alibi_backward(g)}; }, {random_tensor({3}, 5)}, 20);
  }
  EncodingGrad g;
  expect_invalid([&] { alibi_backward(g); }, {"alibi_backward", "biases[0]"});
  g.biases.push_back({});
  g.biases[0].table = random_tensor({3, 4}, 1);
  expect_invalid([&] { alibi_backward(g); }, {"alibi_backward", "biases[0].slopes"});
}

// ============================================================ T5

TEST(TextBackwardT5, AdjointIdentityAndSharedTable) {
  const T5Options o{.bidirectional = true, .num_buckets = 8, .max_distance = 20};
  const DTensor qp = batch_positions({{0, 3, 7}, {1, 2, 9}}), kp = positions(12);
  expect_adjoint([&](const Params& p) { return t5_bias(qp, kp, p[0], o); },
                 [&](const EncodingGrad& g) { return Params{t5_bias_backward(qp, kp, random_tensor({2, 8}, 0), o, g)}; },
                 {t5_table_init(2, 8, 0.3, 1)}, 30);
  // A shared table [1, R] receives the sum of a per-head gradient [H, R].
  EncodingGrad g;
  g.biases.push_back({});
  g.biases[0].table = make({2, 8}, {1, 2, 3, 4, 5, 6, 7, 8, 10, 20, 30, 40, 50, 60, 70, 80});
  const Tensor d = t5_bias_backward(qp, kp, random_tensor({1, 8}, 2), o, g);
  EXPECT_EQ(max_abs_diff(d, make({1, 8}, {11, 22, 33, 44, 55, 66, 77, 88})), 0.0);
  expect_invalid([&] { t5_bias_backward(qp, kp, random_tensor({2, 8}, 2), o, EncodingGrad{}); },
                 {"t5_bias_backward", "biases[0]"});
  g.biases[0].table = random_tensor({2, 9}, 3);
  expect_invalid([&] { t5_bias_backward(qp, kp, random_tensor({2, 8}, 2), o, g); },
                 {"t5_bias_backward", "biases[0].table", "[2, 9]"});
}

// ============================================================ learnable relative bias

TEST(TextBackwardRelativeBias, InitForwardScoresAndHandGradient) {
  const Tensor w = relative_bias_init(2, 3, 0.02, 7);
  EXPECT_EQ(shape_of(w), (Shape{5, 3}));
  EXPECT_EQ(max_abs_diff(w, relative_bias_init(2, 3, 0.02, 7)), 0.0);
  EXPECT_GT(max_abs_diff(w, relative_bias_init(2, 3, 0.02, 8)), 0.0);
  // With q = k = 0 the logits are the bias: weight[clip(j - i, -K, K) + K, h].
  const std::size_t n = 6, heads = 3;
  const Tensor weight = random_tensor({5, heads}, 4);
  const Tensor zeros = xt::zeros<float>(Shape{1, heads, n, 4});
  const Tensor s = attention_scores(zeros, zeros, relative_bias(positions(n), positions(n), weight, 2));
  for (std::size_t h = 0; h < heads; ++h)
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        const long off = std::clamp(static_cast<long>(j) - static_cast<long>(i), -2L, 2L) + 2;
        EXPECT_EQ(s(0, h, i, j), weight(static_cast<std::size_t>(off), h)) << h << " " << i << " " << j;
      }
  // The table gradient [H, 2K + 1] comes back transposed.
  EncodingGrad g;
  g.biases.push_back({});
  g.biases[0].table = make({2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor d = relative_bias_backward(positions(3), positions(3), random_tensor({3, 2}, 1), 1, g);
  EXPECT_EQ(max_abs_diff(d, make({3, 2}, {1, 4, 2, 5, 3, 6})), 0.0);
}

TEST(TextBackwardRelativeBias, AdjointIdentityAndBadInput) {
  const DTensor qp = batch_positions({{0, 1, 2, 9}, {4, 4, 3, 0}}), kp = positions(7, 1);
  expect_adjoint([&](const Params& p) { return relative_bias(qp, kp, p[0], 3); },
                 [&](const EncodingGrad& g) { return Params{relative_bias_backward(qp, kp, random_tensor({7, 4}, 0), 3, g)}; },
                 {relative_bias_init(3, 4, 0.5, 2)}, 40);
  const Tensor w = random_tensor({3, 2}, 1);
  expect_invalid([&] { relative_bias(qp, kp, w, 0); }, {"relative_bias", "'max_distance'", "0"});
  expect_invalid([&] { relative_bias_init(0, 2); }, {"relative_bias_init", "'max_distance'", "0"});
  expect_invalid([&] { relative_bias_init(2, 0); }, {"relative_bias_init", "'heads'", "0"});
  expect_invalid([&] { relative_bias(qp, kp, w, 2); }, {"relative_bias", "'weight'", "[3, 2]"});
  EncodingGrad g;
  expect_invalid([&] { relative_bias_backward(qp, kp, w, 0, g); }, {"relative_bias_backward", "'max_distance'", "0"});
  expect_invalid([&] { relative_bias_backward(qp, kp, w, 1, g); }, {"relative_bias_backward", "biases[0]"});
  g.biases.push_back({});
  g.biases[0].table = random_tensor({3, 2}, 2);
  expect_invalid([&] { relative_bias_backward(qp, kp, w, 1, g); }, {"relative_bias_backward", "[3, 2]", "[2, 3]"});
}

// ============================================================ Shaw

TEST(TextBackwardShaw, AdjointIdentitySharedTablesAndMissingPart) {
  const DTensor qp = positions(4, 3), kp = positions(8);
  const ShawOptions o{.clip = 2};
  expect_adjoint([&](const Params& p) { return shaw(qp, kp, {p[0], p[1]}, o); },
                 [&](const EncodingGrad& g) {
                   const ShawTables d = shaw_backward(qp, kp, shaw_init(o, 2, 3, 4), o, g);
                   return Params{d.key, d.value};
                 },
                 {random_tensor({2, 5, 3}, 1), random_tensor({2, 5, 4}, 2)}, 50);
  const ShawOptions hf{.hf_relative_key = true, .max_position_embeddings = 8};
  expect_adjoint([&](const Params& p) { return shaw(qp, kp, {p[0], {}}, hf); },
                 [&](const EncodingGrad& g) { return Params{shaw_backward(qp, kp, shaw_init(hf, 2, 3, 4), hf, g).key}; },
                 {random_tensor({2, 15, 3}, 3)}, 60);
  // Tables shared by the heads receive the sum over the heads.
  const ShawTables shared = shaw_init(o, 1, 3, 4);
  EncodingGrad g;
  g.content_position.push_back({xt::ones<float>(Shape{2, 5, 3}), {}});
  g.value.push_back({xt::full_like(Tensor::from_shape({3, 5, 4}), 0.5f), {}});
  const ShawTables d = shaw_backward(qp, kp, shared, o, g);
  EXPECT_EQ(max_abs_diff(d.key, xt::full_like(shared.key, 2.0f)), 0.0);
  EXPECT_EQ(max_abs_diff(d.value, xt::full_like(shared.value, 1.5f)), 0.0);
  g.value.clear();
  expect_invalid([&] { shaw_backward(qp, kp, shared, o, g); }, {"shaw_backward", "value[0]"});
}

// ============================================================ Transformer-XL

TEST(TextBackwardTransformerXL, HandCaseOfOneChannel) {
  // H = d_h = 1, d_model = 2: R_r = [sin r, cos r]; queries at 1, keys at 0, 1 give r = 0, 1.
  const TransformerXLOptions o{.d_model = 2, .heads = 1, .head_dim = 1};
  EncodingGrad g;
  g.content_position.push_back({make({1, 2, 1}, {2, 3}), make({1, 1}, {7})});
  g.content_bias = make({1, 1}, {5});
  const auto d = transformer_xl_backward(positions(1, 1), positions(2), transformer_xl_init(o), o, g);
  EXPECT_NEAR(d.w_r(0, 0), 2 * 0.0 + 3 * std::sin(1.0), 1e-6);
  EXPECT_NEAR(d.w_r(0, 1), 2 * 1.0 + 3 * std::cos(1.0), 1e-6);
  EXPECT_EQ(d.u(0, 0), 5.0f);
  EXPECT_EQ(d.v(0, 0), 7.0f);
}

TEST(TextBackwardTransformerXL, AdjointIdentityAndMissingParts) {
  for (std::int64_t clamp : {-1, 3}) {
    const TransformerXLOptions o{.d_model = 6, .heads = 2, .head_dim = 3, .clamp_len = clamp};
    const DTensor qp = positions(4, 4), kp = positions(8);
    const TransformerXLParams p0 = transformer_xl_init(o, 0.5, 1);
    expect_adjoint([&](const Params& p) { return transformer_xl(qp, kp, {p[0], p[1], p[2]}, o); },
                   [&](const EncodingGrad& g) {
                     const auto d = transformer_xl_backward(qp, kp, p0, o, g);
                     return Params{d.w_r, d.u, d.v};
                   },
                   {p0.w_r, p0.u, p0.v}, 70);
    EncodingGrad g = random_grad(transformer_xl(qp, kp, p0, o), 3);
    g.content_position[0].query_bias = Tensor{};
    expect_invalid([&] { transformer_xl_backward(qp, kp, p0, o, g); },
                   {"transformer_xl_backward", "content_position[0].query_bias"});
    EncodingGrad g2 = random_grad(transformer_xl(qp, kp, p0, o), 4);
    g2.content_bias = Tensor{};
    expect_invalid([&] { transformer_xl_backward(qp, kp, p0, o, g2); }, {"transformer_xl_backward", "content_bias"});
  }
}

// ============================================================ TENER

TEST(TextBackwardTener, AdjointIdentityBothForms) {
  for (bool paper : {false, true}) {
    const TenerOptions o{.heads = 2, .head_dim = 4, .paper_form = paper};
    const DTensor qp = batch_positions({{0, 1, 2}, {3, 5, 1}}), kp = positions(6);
    const TenerParams p0 = tener_init(o, 4);
    expect_adjoint([&](const Params& p) { return tener(qp, kp, {p[0], p[1]}, o); },
                   [&](const EncodingGrad& g) {
                     const auto d = tener_backward(qp, kp, p0, o, g);
                     return Params{d.u, d.v};
                   },
                   {p0.u, p0.v}, 80);
  }
  const TenerOptions o{.heads = 2, .head_dim = 4};
  expect_invalid([&] { tener_backward(positions(3), positions(3), tener_init(o), o, EncodingGrad{}); },
                 {"tener_backward", "content_position[0]"});
}

// ============================================================ Huang

TEST(TextBackwardHuang, AdjointIdentityForEachMethod) {
  const DTensor qp = batch_positions({{0, 2, 4}, {1, 6, 3}}), kp = positions(7);
  for (int method : {1, 2, 3, 4})
    for (std::size_t heads : {std::size_t{1}, std::size_t{2}}) {
      const HuangOptions o{.method = method, .max_distance = 3};
      const Tensor t0 = random_tensor(shape_of(huang_init(o, static_cast<std::int64_t>(heads), 3)), 9 + method);
      expect_adjoint([&](const Params& p) { return huang(qp, kp, p[0], o); },
                     [&](const EncodingGrad& g) { return Params{huang_backward(qp, kp, t0, o, g)}; }, {t0}, 90);
    }
  const HuangOptions unclipped{.method = 4, .max_distance = 7, .clip = false};
  const Tensor t4 = random_tensor({2, 15, 3}, 3);
  expect_adjoint([&](const Params& p) { return huang(qp, kp, p[0], unclipped); },
                 [&](const EncodingGrad& g) { return Params{huang_backward(qp, kp, t4, unclipped, g)}; }, {t4}, 95);
}

TEST(TextBackwardHuang, MethodFourSumsBothTermsAndChecksParts) {
  const HuangOptions o{.method = 4, .max_distance = 1};
  const Tensor t = random_tensor({1, 3, 2}, 1);
  EncodingGrad g;
  g.content_position.push_back({make({1, 3, 2}, {1, 2, 3, 4, 5, 6}), {}});
  g.position_content.push_back({make({1, 3, 2}, {10, 20, 30, 40, 50, 60}), {}});
  const Tensor d = huang_backward(positions(3), positions(3), t, o, g);
  EXPECT_EQ(max_abs_diff(d, make({1, 3, 2}, {11, 22, 33, 44, 55, 66})), 0.0);
  g.position_content.clear();
  expect_invalid([&] { huang_backward(positions(3), positions(3), t, o, g); }, {"huang_backward", "position_content[0]"});
  EncodingGrad m;
  m.multipliers.push_back({random_tensor({1, 4}, 2)});
  expect_invalid([&] { huang_backward(positions(3), positions(3), xt::ones<float>(Shape{1, 2}), HuangOptions{.method = 1, .max_distance = 1}, m); },
                 {"huang_backward", "multipliers[0].table", "[1, 4]"});
}

// ============================================================ reformer axial

TEST(TextBackwardAxial, HandScatterAndAdjointIdentity) {
  // n = (2, 3): p = 3 a + b. Positions 0, 4, 5, 4 -> digits (0, 0), (1, 1), (1, 2), (1, 1).
  const std::vector<Tensor> tables = reformer_axial_init({2, 3}, {1, 1});
  EncodingGrad g;
  g.input_add = make({1, 4, 2}, {1, 10, 2, 20, 3, 30, 4, 40});
  const auto d = reformer_axial_backward(tables, batch_positions({{0, 4, 5, 4}}), g);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(max_abs_diff(d[0], make({2, 1}, {1, 9})), 0.0);
  EXPECT_EQ(max_abs_diff(d[1], make({3, 1}, {10, 60, 30})), 0.0);
  const DTensor pos = batch_positions({{0, 5, 11, 23, 7}, {3, 3, 22, 1, 0}});
  const auto t0 = reformer_axial_init({2, 3, 4}, {2, 1, 3}, 1.0, 5);
  expect_adjoint([&](const Params& p) { return reformer_axial(p, pos); },
                 [&](const EncodingGrad& gg) { return reformer_axial_backward(t0, pos, gg); }, t0, 100);
  expect_invalid([&] { reformer_axial_backward(t0, pos, EncodingGrad{}); }, {"reformer_axial_backward", "input_add"});
}

// ============================================================ finite differences

// Richardson-extrapolated central difference of loss() in the float parameter x:
// (4 D(h/2) - D(h)) / 3 with D(s) = (f(x + s) - f(x - s)) / (the float step actually taken).
double finite_difference(float& x, const std::function<double()>& loss, double h) {
  const float x0 = x;
  auto central = [&](double s) {
    x = static_cast<float>(x0 + s);
    const double fp = loss(), xp = x;
    x = static_cast<float>(x0 - s);
    const double fm = loss(), xm = x;
    x = x0;
    return (fp - fm) / (xp - xm);
  };
  return (4 * central(h / 2) - central(h)) / 3;
}

double weighted_sum(const Tensor& g, const Tensor& y) {
  double dot = 0, mag = 0;
  accumulate_inner(g, y, dot, mag);
  return dot;
}

// Compare an analytic gradient with finite differences at `samples` entries of `param`.
void expect_fd(Tensor& param, const Tensor& analytic, const std::function<double()>& loss, double h,
               std::uint64_t seed, const char* what, std::size_t samples = 6) {
  ASSERT_EQ(shape_of(param), shape_of(analytic)) << what;
  const double typical = xt::amax(xt::abs(analytic))();
  std::mt19937_64 gen(seed);
  for (std::size_t s = 0; s < std::min(samples, param.size()); ++s) {
    const std::size_t t = s < samples / 2 ? s : gen() % param.size();
    const double fd = finite_difference(param.data()[t], loss, h);
    const double an = analytic.data()[t];
    EXPECT_NEAR(fd, an, 1e-3 * std::max(std::abs(an), 1e-2 * typical) + 1e-6) << what << " entry " << t;
  }
}

// ============================================================ DA-Transformer

TEST(TextBackwardDa, HandDerivativeAtOneDistance) {
  const double v = 0.3, w = -0.5, dist = 2;
  DaParams p{make({2}, {0.1f, static_cast<float>(v)}), make({2}, {0.7f, static_cast<float>(w)})};
  EncodingGrad g;
  g.multipliers.push_back({xt::zeros<float>(Shape{2, 3})});
  g.multipliers[0].table(1, 2) = 1.0f;  // head 1, distance 2
  const DaParams d = da_transformer_backward(positions(3), positions(3), p, g);
  // R = (1 + e^v) / (1 + e^(v - w d)) by the quotient rule.
  const double vf = p.v(1), wf = p.w(1), a = 1 + std::exp(vf), e = std::exp(vf - wf * dist), b = 1 + e;
  EXPECT_NEAR(d.v(1), (std::exp(vf) * b - a * e) / (b * b), 1e-6);
  EXPECT_NEAR(d.w(1), a * e * dist / (b * b), 1e-6);
  EXPECT_EQ(d.v(0), 0.0f);
  EXPECT_EQ(d.w(0), 0.0f);
}

TEST(TextBackwardDa, FiniteDifferencesAndBadInput) {
  const DTensor qp = batch_positions({{0, 3, 5}, {2, 2, 9}}), kp = positions(8);
  DaParams p = da_init(3, 4);
  const Encoding e = da_transformer(qp, kp, p);
  const EncodingGrad g = random_grad(e, 5);
  const DaParams d = da_transformer_backward(qp, kp, p, g);
  auto loss = [&] { return weighted_sum(g.multipliers[0].table, da_transformer(qp, kp, p).multipliers[0].table); };
  expect_fd(p.v, d.v, loss, 1e-2, 1, "v", 3);
  expect_fd(p.w, d.w, loss, 1e-2, 2, "w", 3);
  EncodingGrad bad;
  bad.multipliers.push_back({random_tensor({3, 4}, 1)});
  expect_invalid([&] { da_transformer_backward(qp, kp, p, bad); }, {"da_transformer_backward", "multipliers[0].table"});
  expect_invalid([&] { da_transformer_backward(qp, kp, p, EncodingGrad{}); }, {"da_transformer_backward", "multipliers[0]"});
}

// ============================================================ continuous MLP

TEST(TextBackwardContinuousMlp, FiniteDifferencesForEachActivation) {
  for (Activation act : {Activation::gelu, Activation::relu, Activation::tanh})
    for (PositionScaling sc : {PositionScaling::divide, PositionScaling::minus1to1}) {
      ContinuousMlp mlp({.input_dim = 2, .hidden = 7, .output_dim = 3, .activation = act, .scaling = sc,
                         .reference_length = 16},
                        3);
      DTensor pos = DTensor::from_shape({2, 5, 2});
      std::mt19937_64 gen(11);
      std::uniform_real_distribution<double> u(0, 16);
      for (auto& x : pos) x = u(gen);
      const Tensor gy = random_tensor({2, 5, 3}, 12);
      const ContinuousMlpGrads d = mlp.backward(pos, gy);
      auto loss = [&] { return weighted_sum(gy, mlp.encode(pos)); };
      const double h = act == Activation::relu ? 1e-3 : 1e-2;
      expect_fd(mlp.w1, d.w1, loss, h, 1, "w1");
      expect_fd(mlp.b1, d.b1, loss, h, 2, "b1");
      expect_fd(mlp.w2, d.w2, loss, h, 3, "w2");
      expect_fd(mlp.b2, d.b2, loss, h, 4, "b2");
    }
}

TEST(TextBackwardContinuousMlp, SharedPositionsAndBadInput) {
  const ContinuousMlp mlp({.input_dim = 1, .hidden = 4, .output_dim = 2}, 1);
  const Tensor g2 = random_tensor({2, 3, 2}, 1);
  Tensor g1 = xt::view(g2, xt::range(0, 1)) + xt::view(g2, xt::range(1, 2));
  // Shared positions [1, N, M] with a per-row gradient [B, N, d] equal the summed gradient.
  const auto a = mlp.backward(positions(3), g2), b = mlp.backward(positions(3), g1);
  EXPECT_LT(max_abs_diff(a.w1, b.w1), 1e-5);
  EXPECT_LT(max_abs_diff(a.w2, b.w2), 1e-5);
  expect_invalid([&] { mlp.backward(positions(3), random_tensor({1, 3, 3}, 2)); },
                 {"ContinuousMlp::backward", "d_encoding", "[1, 3, 3]"});
  expect_invalid([&] { mlp.backward(positions(3), Tensor{}); }, {"ContinuousMlp::backward", "missing"});
  expect_invalid([&] { mlp.backward(DTensor::from_shape({1, 3, 2}), g1); }, {"ContinuousMlp::backward", "'positions'"});
}

// ============================================================ learned Fourier

TEST(TextBackwardLearnedFourier, FiniteDifferences) {
  LearnedFourier lf({.input_dim = 2, .groups = 2, .fourier_dim = 4, .hidden = 5, .output_dim = 6}, 7);
  DTensor pos = DTensor::from_shape({2, 3, 4});
  std::mt19937_64 gen(13);
  std::uniform_real_distribution<double> u(-2, 2);
  for (auto& x : pos) x = u(gen);
  const Tensor gy = random_tensor({2, 3, 6}, 14);
  const LearnedFourierGrads d = lf.backward(pos, gy);
  auto loss = [&] { return weighted_sum(gy, lf.encode(pos)); };
  expect_fd(lf.w_r, d.w_r, loss, 1e-2, 1, "w_r", 8);
  expect_fd(lf.w1, d.w1, loss, 1e-2, 2, "w1");
  expect_fd(lf.b1, d.b1, loss, 1e-2, 3, "b1");
  expect_fd(lf.w2, d.w2, loss, 1e-2, 4, "w2");
  expect_fd(lf.b2, d.b2, loss, 1e-2, 5, "b2");
  expect_invalid([&] { lf.backward(pos, random_tensor({2, 3, 5}, 1)); }, {"LearnedFourier::backward", "[2, 3, 5]"});
  expect_invalid([&] { lf.backward(DTensor::from_shape({2, 3, 2}), gy); }, {"LearnedFourier::backward", "'positions'"});
}

}  // namespace
}  // namespace posenc
