// The Encoding contract: combination rules, validation messages, input-side
// parts and relation evaluation.
#include <gtest/gtest.h>

#include "posenc/attention.hpp"
#include "posenc/text.hpp"
#include "support/helpers.hpp"

namespace posenc {
namespace {

using test::expect_invalid;
using test::max_abs_diff;
using test::positions;
using test::random_tensor;

TEST(Combine, RotationsAddAnglesAndBiasesAccumulate) {
  const DTensor p = positions(6);
  const Encoding a = rope(p, RopeOptions{.head_dim = 8});
  const Encoding b = rope(p, RopeOptions{.head_dim = 8, .base = 100});
  const Encoding ab = combine(a, b);
  EXPECT_EQ(ab.name, "rope+rope");
  EXPECT_LT(max_abs_diff(ab.rotation.query_angles, a.rotation.query_angles + b.rotation.query_angles), 1e-12);
  const Encoding c = combine(a, alibi(p, AlibiOptions{.heads = 2}));
  EXPECT_EQ(c.biases.size(), 1u);
  EXPECT_FALSE(c.rotation.empty());
  // Empty parts are no-ops.
  const Encoding n = combine(nope(), a);
  EXPECT_LT(max_abs_diff(n.rotation.key_angles, a.rotation.key_angles), 0.0 + 1e-300);
  // Scores of a combined encoding are the sum of the separate bias contributions.
  const Tensor q = random_tensor({1, 2, 6, 8}, 1);
  AttentionOptions o;
  o.scale = 1.0;
  const Tensor t5t = t5_table_init(2, 32, 1.0, 2);
  const Tensor s1 = attention_scores(q, q, alibi(p, AlibiOptions{.heads = 2, .causal = false}), o);
  const Tensor s2 = attention_scores(q, q, t5_bias(p, t5t, T5Options{}), o);
  const Tensor s0 = attention_scores(q, q, {}, o);
  const Tensor s12 =
      attention_scores(q, q, combine(alibi(p, AlibiOptions{.heads = 2, .causal = false}), t5_bias(p, t5t, {})), o);
  EXPECT_LT(max_abs_diff(s12, s1 + s2 - s0), 1e-5);
}

TEST(Combine, ConflictsAreRejected) {
  const DTensor p = positions(4);
  expect_invalid([&] { combine(rope(p, {.head_dim = 8}), rope(p, {.head_dim = 4})); },
                 {"combine", "pairs", "4", "2"});
  expect_invalid([&] { combine(rope(p, {.head_dim = 8}), rope(p, {.head_dim = 8, .layout = PairLayout::interleaved})); },
                 {"combine", "layouts"});
  Encoding s1, s2;
  s1.scale = 1.0;
  s2.scale = 0.5;
  expect_invalid([&] { combine(s1, s2); }, {"combine", "scales", "1", "0.5"});
}

TEST(InputParts, AddAndConcat) {
  Encoding e = sinusoidal(positions(3), SinusoidOptions{.dim = 4});
  const Tensor x = random_tensor({2, 3, 4}, 3);
  const Tensor y = apply_input(e, x);
  for (std::size_t b = 0; b < 2; ++b)
    for (std::size_t t = 0; t < 3; ++t)
      for (std::size_t c = 0; c < 4; ++c) EXPECT_EQ(y(b, t, c), x(b, t, c) + e.input_add(0, t, c));
  Encoding c;
  c.input_concat = random_tensor({1, 3, 2}, 4);
  const Tensor z = apply_input(c, x);
  ASSERT_EQ(z.shape()[2], 6u);
  EXPECT_EQ(z(1, 2, 4), c.input_concat(0, 2, 0));
  EXPECT_EQ(z(1, 2, 3), x(1, 2, 3));
  const Encoding both = combine(c, c);
  EXPECT_EQ(both.input_concat.shape()[2], 4u);
  expect_invalid([&] { apply_input(e, random_tensor({2, 5, 4}, 5)); }, {"apply_input", "input_add", "3 tokens", "5"});
}

TEST(Relations, ConstructionErrors) {
  const DTensor p = positions(4);
  expect_invalid([&] { Relation::offset(p, p, 2, -1, 1); }, {"Relation::offset", "'direction'", "2"});
  expect_invalid([&] { Relation::offset(p, p, 1, 3, 1); }, {"Relation::offset", "'min'", "3"});
  DTensor half = p * 0.5;
  expect_invalid([&] { Relation::offset(half, half, 1, -2, 2); }, {"Relation::offset", "integer", "0.5"});
  expect_invalid([&] { Relation::explicit_index(ITensor::from_shape({1, 2, 2}) * 0 + 5, 3); },
                 {"Relation::explicit_index", "5", "[0, 3)"});
  DTensor bad = p;
  bad(0, 1, 0) = NAN;
  expect_invalid([&] { Relation::distance(bad, p); }, {"Relation::distance", "query_positions", "nan"});
}

TEST(Relations, ExplicitIndexDrivesTableBiases) {
  // A hand-made relation (e.g. shortest-path hops) indexes a per-head table.
  ITensor idx = ITensor::from_shape({1, 3, 3});
  const std::int64_t v[] = {0, 1, 2, 1, 0, 1, 2, 1, 0};
  std::copy(v, v + 9, idx.begin());
  Encoding e;
  Bias b;
  b.kind = BiasKind::table;
  b.relation = Relation::explicit_index(idx, 3);
  b.table = test::make({1, 3}, {0.f, -1.f, -2.f});
  e.biases.push_back(b);
  AttentionOptions o;
  o.scale = 1.0;
  const Tensor s = attention_scores(xt::zeros<float>(Shape{1, 1, 3, 2}), xt::zeros<float>(Shape{1, 1, 3, 2}), e, o);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) EXPECT_EQ(s(0, 0, i, j), -static_cast<float>(std::abs(i - j)));
}

}  // namespace
}  // namespace posenc
