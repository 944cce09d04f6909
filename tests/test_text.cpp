// The text modality: positions, NoPE, learned tables, ALiBi slopes and T5 buckets
// against the published sequences and maps (docs/methods.md#t5-buckets and #alibi).
#include <gtest/gtest.h>

#include <cmath>

#include "posenc/attention.hpp"
#include "posenc/text.hpp"
#include "support/helpers.hpp"

namespace posenc {
namespace {

using test::expect_invalid;
using test::positions;
using test::random_tensor;

TEST(TextPositions, OffsetsAndPacking) {
  const DTensor p = text_positions(4, 10);
  EXPECT_EQ(p(0, 0, 0), 10.0);
  EXPECT_EQ(p(0, 3, 0), 13.0);
  const PackedText t = packed_text_positions({{2, 3}, {4}});
  ASSERT_EQ(t.positions.shape()[1], 5u);
  const double want0[] = {0, 1, 0, 1, 2};
  const std::int64_t seg1[] = {0, 0, 0, 0, -1};
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(t.positions(0, i, 0), want0[i]);
    EXPECT_EQ(t.segments(1, i), seg1[i]);
  }
  expect_invalid([] { text_positions(0); }, {"text_positions", "'tokens'", "0"});
  expect_invalid([] { packed_text_positions({{2, 0}}); }, {"packed_text_positions", "0"});
  expect_invalid([] { packed_text_positions({{4, 4}}, 6); }, {"packed_text_positions", "8", "6"});
}

TEST(Nope, FillsNothingAndIsPermutationEquivariant) {
  const Encoding e = nope();
  EXPECT_TRUE(e.empty());
  // Bidirectional NoPE: permuting the tokens permutes the outputs.
  const Tensor x = random_tensor({1, 1, 5, 4}, 1);
  Tensor perm = x;
  const std::size_t order[] = {3, 0, 4, 1, 2};
  for (std::size_t t = 0; t < 5; ++t)
    for (std::size_t c = 0; c < 4; ++c) perm(0, 0, t, c) = x(0, 0, order[t], c);
  const Tensor a = attention(x, x, x, e), b = attention(perm, perm, perm, e);
  for (std::size_t t = 0; t < 5; ++t)
    for (std::size_t c = 0; c < 4; ++c) EXPECT_NEAR(b(0, 0, t, c), a(0, 0, order[t], c), 1e-6);
}

TEST(Learned, LooksUpRowsAndRejectsPositionsPastTheTable) {
  const Tensor table = learned_table_init(6, 3, 0.02, 7);
  EXPECT_EQ(table.shape()[0], 6u);
  const Encoding e = learned_absolute(table, positions(3, 2));
  for (std::size_t t = 0; t < 3; ++t)
    for (std::size_t c = 0; c < 3; ++c) EXPECT_EQ(e.input_add(0, t, c), table(t + 2, c));
  // Seeded: same seed, same table; std close to 0.02.
  EXPECT_EQ(test::max_abs_diff(table, learned_table_init(6, 3, 0.02, 7)), 0.0);
  const Tensor big = learned_table_init(512, 64, 0.02, 1);
  double s2 = 0;
  for (float v : big) s2 += static_cast<double>(v) * v;
  EXPECT_NEAR(std::sqrt(s2 / big.size()), 0.02, 0.001);
  expect_invalid([&] { learned_absolute(table, positions(3, 4)); }, {"learned_absolute", "position 6", "6 rows"});
  expect_invalid([] { learned_table_init(0, 4); }, {"learned_table_init", "'max_positions'", "0"});
}

TEST(Alibi, SlopesFollowTheReferenceRule) {
  const auto s8 = alibi_slopes(8);
  for (int h = 0; h < 8; ++h) EXPECT_DOUBLE_EQ(s8[h], std::pow(2.0, -(h + 1)));
  EXPECT_DOUBLE_EQ(alibi_slopes(1)[0], std::pow(2.0, -8));
  const auto s12 = alibi_slopes(12);
  const double want12[] = {-1, -2, -3, -4, -5, -6, -7, -8, -0.5, -1.5, -2.5, -3.5};
  for (int h = 0; h < 12; ++h) EXPECT_DOUBLE_EQ(s12[h], std::pow(2.0, want12[h]));
  const auto s5 = alibi_slopes(5);
  const double want5[] = {-2, -4, -6, -8, -1};
  for (int h = 0; h < 5; ++h) EXPECT_DOUBLE_EQ(s5[h], std::pow(2.0, want5[h]));
  expect_invalid([] { alibi_slopes(0); }, {"alibi_slopes", "'heads'", "0"});
}

TEST(Alibi, CausalSymmetricAndFairseqForms) {
  const Tensor q = xt::zeros<float>(Shape{1, 2, 4, 2});
  AttentionOptions o;
  o.scale = 1.0;
  const Tensor causal = attention_scores(q, q, alibi(positions(4), AlibiOptions{.heads = 2}), o);
  const Tensor sym = attention_scores(q, q, alibi(positions(4), AlibiOptions{.heads = 2, .causal = false}), o);
  for (std::size_t h = 0; h < 2; ++h)
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) {
        const double m = std::pow(2.0, -4.0 * (h + 1));
        if (j <= i) {
          EXPECT_NEAR(causal(0, h, i, j), -m * (i - j), 1e-7);
        }
        EXPECT_NEAR(sym(0, h, i, j), -m * std::abs(i - j), 1e-7);
      }
  // fairseq adds m * j on every row: equal after softmax under a causal mask.
  o.mask.causal = true;
  const Tensor w1 = attention_weights(q, q, alibi(positions(4), AlibiOptions{.heads = 2}), o);
  const Tensor w2 = attention_weights(q, q, alibi(positions(4), AlibiOptions{.heads = 2, .fairseq_compat = true}), o);
  EXPECT_LT(test::max_abs_diff(w1, w2), 1e-6);
}

TEST(T5, BidirectionalMapMatchesTheReference) {
  // j - i -> bucket for 32 buckets, max_distance 128 (HF T5 encoder).
  struct Range { int lo, hi, bucket; };
  const Range map[] = {{-11, -8, 8},   {-15, -12, 9},  {-22, -16, 10}, {-31, -23, 11}, {-45, -32, 12},
                       {-63, -46, 13}, {-90, -64, 14}, {-500, -91, 15}, {8, 11, 24},   {12, 15, 25},
                       {16, 22, 26},   {23, 31, 27},   {32, 45, 28},   {46, 63, 29},   {64, 90, 30},
                       {91, 1000, 31}};
  for (int n = -7; n <= 0; ++n) EXPECT_EQ(t5_relative_bucket(n, true, 32, 128), -n);
  for (int n = 1; n <= 7; ++n) EXPECT_EQ(t5_relative_bucket(n, true, 32, 128), 16 + n);
  for (const auto& r : map)
    for (int n = r.lo; n <= r.hi; ++n) EXPECT_EQ(t5_relative_bucket(n, true, 32, 128), r.bucket) << "n = " << n;
  EXPECT_EQ(t5_relative_bucket(1 << 30, true, 32, 128), 31);
}

TEST(T5, UnidirectionalMapMatchesTheReference) {
  // i - j -> bucket (HF T5 decoder); the future (i - j < 0) maps to 0.
  struct Range { int lo, hi, bucket; };
  const Range map[] = {{16, 18, 16}, {19, 20, 17}, {21, 23, 18}, {24, 26, 19}, {27, 30, 20}, {31, 34, 21},
                       {35, 39, 22}, {40, 45, 23}, {46, 51, 24}, {52, 58, 25}, {59, 66, 26}, {67, 76, 27},
                       {77, 86, 28}, {87, 98, 29}, {99, 112, 30}, {113, 2000, 31}};
  for (int d = -50; d <= 0; ++d) EXPECT_EQ(t5_relative_bucket(-d, false, 32, 128), 0);
  for (int d = 1; d <= 15; ++d) EXPECT_EQ(t5_relative_bucket(-d, false, 32, 128), d);
  for (const auto& r : map)
    for (int d = r.lo; d <= r.hi; ++d) EXPECT_EQ(t5_relative_bucket(-d, false, 32, 128), r.bucket) << "i-j = " << d;
}

TEST(T5, BucketsMonotoneBoundedAndUsedByTheCore) {
  for (bool bi : {true, false})
    for (std::int64_t nb : {8, 32, 64}) {
      std::int64_t prev = -1;
      for (std::int64_t m = 0; m < 5000; ++m) {
        const std::int64_t b = t5_relative_bucket(bi ? m : -m, bi, nb, 128);
        EXPECT_GE(b, prev);
        EXPECT_LT(b, nb);
        prev = b;
      }
    }
  const ITensor rel = t5_bucket_matrix(positions(40), positions(40), T5Options{});
  EXPECT_EQ(rel(0, 10, 0), 8);    // j - i = -10 -> [-11, -8] -> 8
  EXPECT_EQ(rel(0, 0, 10), 24);   // j - i = 10
  EXPECT_EQ(rel(0, 5, 5), 0);
  // The bias reaches the scores unscaled (T5 logits are not divided by sqrt(d)).
  const Tensor table = t5_table_init(2, 32, 1.0, 3);
  const Tensor q = xt::zeros<float>(Shape{1, 2, 40, 4});
  const Tensor s = attention_scores(q, q, t5_bias(positions(40), table, T5Options{}));
  for (std::size_t h = 0; h < 2; ++h)
    for (std::size_t i = 0; i < 40; i += 7)
      for (std::size_t j = 0; j < 40; j += 3) EXPECT_EQ(s(0, h, i, j), table(h, rel(0, i, j)));
  expect_invalid([] { t5_relative_bucket(3, true, 2, 128); }, {"t5_relative_bucket", "'num_buckets'", "2"});
  expect_invalid([] { t5_relative_bucket(3, true, 32, 8); }, {"t5_relative_bucket", "'max_distance'", "8"});
}

}  // namespace
}  // namespace posenc
