// The attention core: hand cases for the reference, and the streaming
// implementation against the reference on every term type, mask, ragged
// batch, packed documents, cross-attention with offsets, odd tile sizes and
// 1 vs 2 threads (bit-identical).
#include <gtest/gtest.h>

#include <cmath>

#if defined(__x86_64__)
#include <pmmintrin.h>
#include <xmmintrin.h>
#endif

#include "posenc/attention.hpp"
#include "posenc/gradients.hpp"
#include "posenc/relative.hpp"
#include "posenc/rotary.hpp"
#include "posenc/text.hpp"
#include "support/helpers.hpp"

namespace posenc {
namespace {

using test::expect_invalid;
using test::max_abs_diff;
using test::positions;
using test::random_tensor;

// Streaming must equal the reference, for small odd tiles and default tiles,
// and 1 and 2 threads must give bit-identical results.
void check_streaming(const Tensor& q, const Tensor& k, const Tensor& v, const Encoding& e, AttentionOptions opts,
                     double tol = 3e-5) {
  const Tensor ref = attention_reference(q, k, v, e, opts);
  for (auto tiles : {std::pair<std::size_t, std::size_t>{5, 7}, {64, 256}, {3, 1}}) {
    opts.query_block = tiles.first;
    opts.key_block = tiles.second;
    opts.threads = 1;
    const Tensor one = attention(q, k, v, e, opts);
    opts.threads = 2;
    const Tensor two = attention(q, k, v, e, opts);
    EXPECT_LT(max_abs_diff(one, ref), tol) << "tiles " << tiles.first << "x" << tiles.second;
    EXPECT_EQ(max_abs_diff(one, two), 0.0) << "thread count changed the result";
  }
}

TEST(AttentionReference, HandCaseTwoTokens) {
  // One head, d = 1, scale 1: row 0 scores (1*1, 1*2), row 1 scores (0, 0).
  Tensor q = test::make({1, 1, 2, 1}, {1, 0});
  Tensor k = test::make({1, 1, 2, 1}, {1, 2});
  Tensor v = test::make({1, 1, 2, 1}, {1, 3});
  AttentionOptions o;
  o.scale = 1.0;
  const Tensor out = attention_reference(q, k, v, {}, o);
  const double p0 = std::exp(1.0) / (std::exp(1.0) + std::exp(2.0));
  EXPECT_NEAR(out(0, 0, 0, 0), p0 * 1 + (1 - p0) * 3, 1e-6);
  EXPECT_NEAR(out(0, 0, 1, 0), 2.0, 1e-6);
  // Causal: query 0 sees only key 0.
  o.mask.causal = true;
  EXPECT_NEAR(attention_reference(q, k, v, {}, o)(0, 0, 0, 0), 1.0, 1e-6);
  EXPECT_NEAR(attention(q, k, v, {}, o)(0, 0, 0, 0), 1.0, 1e-6);
}

TEST(AttentionReference, AlibiHandCase) {
  // Zero content scores: weights follow exp(-m (i - j)) over visible keys.
  Tensor q = xt::zeros<float>({1, 1, 3, 2});
  Tensor k = xt::zeros<float>({1, 1, 3, 2});
  Tensor v = test::make({1, 1, 3, 2}, {1, 0, 0, 1, 0, 0});
  AttentionOptions o;
  o.mask.causal = true;
  const Encoding e = alibi(positions(3), AlibiOptions{.heads = 1});
  const double m = 1.0 / 256.0;  // H = 1: 2^-8
  const Tensor w = attention_weights(q, k, e, o);
  const double z = std::exp(-2 * m) + std::exp(-m) + 1;
  EXPECT_NEAR(w(0, 0, 2, 0), std::exp(-2 * m) / z, 1e-7);
  EXPECT_NEAR(w(0, 0, 2, 1), std::exp(-m) / z, 1e-7);
  EXPECT_NEAR(w(0, 0, 2, 2), 1 / z, 1e-7);
  EXPECT_EQ(w(0, 0, 0, 1), 0.0f);
  const Tensor out = attention(q, k, v, e, o);
  EXPECT_NEAR(out(0, 0, 2, 0), std::exp(-2 * m) / z, 1e-6);
  EXPECT_NEAR(out(0, 0, 2, 1), std::exp(-m) / z, 1e-6);
}

TEST(AttentionReference, WeightsRowsSumToOne) {
  const Tensor q = random_tensor({2, 3, 9, 8}, 1), k = random_tensor({2, 3, 11, 8}, 2);
  AttentionOptions o;
  o.mask.key_lengths = {11, 6};
  const Tensor w = attention_weights(q, k, alibi(positions(9), positions(11), {.heads = 3, .causal = false}), o);
  for (std::size_t b = 0; b < 2; ++b)
    for (std::size_t h = 0; h < 3; ++h)
      for (std::size_t i = 0; i < 9; ++i) {
        double s = 0;
        for (std::size_t j = 0; j < 11; ++j) s += w(b, h, i, j);
        EXPECT_NEAR(s, 1.0, 1e-6);
        if (b == 1) {
          EXPECT_EQ(w(b, h, i, 8), 0.0f);  // padding key
        }
      }
}

TEST(AttentionStreaming, PlainAndCausal) {
  const Tensor q = random_tensor({2, 3, 37, 16}, 3), k = random_tensor({2, 3, 37, 16}, 4),
               v = random_tensor({2, 3, 37, 12}, 5);
  check_streaming(q, k, v, {}, {});
  AttentionOptions o;
  o.mask.causal = true;
  check_streaming(q, k, v, {}, o);
}

// Under a causal mask the tile on the diagonal is multiplied and exponentiated in groups of 32
// query rows, each only up to the last key it sees. Blocks of several groups and a partial one,
// more keys than queries (a cache) and fewer (the first queries see nothing), padding, tiles
// whose shared part is not a multiple of 16, ALiBi, and a Shaw value term (whose histograms read
// the columns a group does not see, which must hold zeros): all against the reference, and 1 and
// 2 threads bit-identical.
TEST(AttentionStreaming, CausalDiagonalTilesInRowGroups) {
  const std::size_t d = 16;
  for (const auto& [nq, nk] : {std::pair<std::size_t, std::size_t>{300, 300}, {200, 261}, {261, 200}}) {
    const Tensor q = random_tensor({2, 2, nq, d}, 50), k = random_tensor({2, 2, nk, d}, 51),
                 v = random_tensor({2, 2, nk, d}, 52);
    AttentionOptions o;
    o.mask.causal = true;
    o.mask.key_lengths = {static_cast<std::int64_t>(nk), static_cast<std::int64_t>(nk) - 37};
    const DTensor pq = positions(nq, static_cast<double>(nk) - static_cast<double>(nq)), pk = positions(nk);
    const ShawOptions so{.clip = 8};
    for (const Encoding& e : {Encoding{}, alibi(pq, pk, {.heads = 2, .causal = false}),
                              shaw(pq, pk, shaw_init(so, 2, d, d, 0.5, 53), so)}) {
      const Tensor ref = attention_reference(q, k, v, e, o);
      for (const auto& [bq, bk] : {std::pair<std::size_t, std::size_t>{128, 256}, {100, 96}, {37, 300}}) {
        o.query_block = bq;
        o.key_block = bk;
        o.threads = 1;
        const Tensor one = attention(q, k, v, e, o);
        o.threads = 2;
        const Tensor two = attention(q, k, v, e, o);
        EXPECT_LT(max_abs_diff(one, ref), 3e-5) << nq << " x " << nk << ", tiles " << bq << " x " << bk;
        EXPECT_EQ(max_abs_diff(one, two), 0.0) << "thread count changed the result";
      }
    }
  }
}

TEST(AttentionStreaming, GroupedQueryHeads) {
  const Tensor q = random_tensor({1, 4, 20, 8}, 6), k = random_tensor({1, 2, 20, 8}, 7),
               v = random_tensor({1, 2, 20, 8}, 8);
  check_streaming(q, k, v, rope(positions(20), RopeOptions{.head_dim = 8}), {});
}

TEST(AttentionStreaming, RotationLayoutsPartialAndPerHead) {
  const Tensor q = random_tensor({1, 2, 23, 12}, 9), k = random_tensor({1, 2, 23, 12}, 10),
               v = random_tensor({1, 2, 23, 12}, 11);
  for (auto layout : {PairLayout::halves, PairLayout::interleaved}) {
    check_streaming(q, k, v, rope(positions(23), RopeOptions{.head_dim = 12, .rotary_dim = 8, .layout = layout}), {});
  }
  // Per-head angles (e.g. learned mixed frequencies): [1, H, N, pairs].
  Encoding e;
  e.rotation.pairs = 6;
  e.rotation.query_angles = xt::eval(xt::cast<double>(random_tensor({1, 2, 23, 6}, 12, 3.0)));
  e.rotation.key_angles = xt::eval(xt::cast<double>(random_tensor({1, 2, 23, 6}, 13, 3.0)));
  check_streaming(q, k, v, e, {});
  check_streaming(q, k, v, xpos(positions(23), XposOptions{.head_dim = 12}), {});
  check_streaming(q, k, v,
                  rope(positions(23), RopeOptions{.head_dim = 12, .scaling = RopeScaling::yarn, .factor = 4,
                                                  .original_max_position_embeddings = 8}),
                  {});
}

TEST(AttentionStreaming, EveryRelativeTerm) {
  const std::size_t n = 29, d = 8, heads = 2;
  const Tensor q = random_tensor({2, heads, n, d}, 14), k = random_tensor({2, heads, n, d}, 15),
               v = random_tensor({2, heads, n, 6}, 16);
  const DTensor p = positions(n);
  Encoding e;
  RelativeVectors cp;
  cp.relation = Relation::offset(p, p, +1, -4, 4);  // Shaw: clip(j - i, -4, 4)
  cp.table = random_tensor({1, 9, d}, 17);
  cp.query_bias = random_tensor({heads, d}, 18);
  e.content_position.push_back(cp);
  RelativeVectors pc;
  pc.relation = Relation::offset(p, p, -1, -(int)n + 1, n - 1);  // HF relative_key_query: i - j, no clipping
  pc.table = random_tensor({heads, 2 * n - 1, d}, 19, 0.3);
  e.position_content.push_back(pc);
  RelativeVectors vt;
  vt.relation = Relation::offset(p, p, +1, -3, 3);
  vt.table = random_tensor({heads, 7, 6}, 20);
  e.value.push_back(vt);
  e.content_bias = random_tensor({heads, d}, 21);
  Bias t5;
  t5.kind = BiasKind::table;
  t5.relation = Relation::t5(p, p, true, 8, 16);
  t5.table = random_tensor({heads, 8}, 22);
  e.biases.push_back(t5);
  Bias dense;
  dense.kind = BiasKind::dense;
  dense.dense = random_tensor({2, 1, n, n}, 23);
  e.biases.push_back(dense);
  e = combine(e, alibi(p, AlibiOptions{.heads = 2, .causal = false}));
  check_streaming(q, k, v, e, {});
  AttentionOptions o;
  o.mask.causal = true;
  o.mask.key_lengths = {29, 17};
  check_streaming(q, k, v, e, o);
}

TEST(AttentionStreaming, MultipliersAndRelu) {
  const std::size_t n = 19;
  const Tensor q = random_tensor({1, 3, n, 8}, 24), k = random_tensor({1, 3, n, 8}, 25),
               v = random_tensor({1, 3, n, 8}, 26);
  const DTensor p = positions(n);
  Encoding e;
  Multiplier m;
  m.relation = Relation::distance(p, p, 6);
  m.table = xt::abs(random_tensor({3, 7}, 27)) + 0.5f;
  e.multipliers.push_back(m);
  e.score_relu = true;
  check_streaming(q, k, v, e, {});
  e.score_relu = false;
  Multiplier signed_m;
  signed_m.relation = Relation::offset(p, p, -1, -5, 5);
  signed_m.table = random_tensor({1, 11}, 28);
  e.multipliers.push_back(signed_m);
  check_streaming(q, k, v, e, {});
}

TEST(AttentionStreaming, PackedDocumentsResetPositionsAndBlockAttention) {
  const PackedText packed = packed_text_positions({{5, 9, 3}, {11, 2}}, 20);
  EXPECT_EQ(packed.positions(0, 5, 0), 0.0);   // second document restarts
  EXPECT_EQ(packed.positions(0, 13, 0), 8.0);
  EXPECT_EQ(packed.segments(1, 13), -1);       // padding
  const Tensor q = random_tensor({2, 2, 20, 8}, 29), k = random_tensor({2, 2, 20, 8}, 30),
               v = random_tensor({2, 2, 20, 8}, 31);
  AttentionOptions o;
  o.mask.causal = true;
  o.mask.query_segments = packed.segments;
  o.mask.key_segments = packed.segments;
  const Encoding e = combine(rope(packed.positions, RopeOptions{.head_dim = 8}),
                             alibi(packed.positions, AlibiOptions{.heads = 2}));
  check_streaming(q, k, v, e, o);
  // A document's output equals running it alone.
  const Tensor all = attention(q, k, v, e, o);
  const auto slice = [](const Tensor& t, std::size_t from, std::size_t len) {
    return Tensor(xt::view(t, xt::range(0, 1), xt::all(), xt::range(from, from + len), xt::all()));
  };
  AttentionOptions alone;
  alone.mask.causal = true;
  const Tensor doc = attention(slice(q, 5, 9), slice(k, 5, 9), slice(v, 5, 9),
                               combine(rope(positions(9), RopeOptions{.head_dim = 8}),
                                       alibi(positions(9), AlibiOptions{.heads = 2})),
                               alone);
  EXPECT_LT(max_abs_diff(slice(all, 5, 9), doc), 1e-5);
}

TEST(AttentionStreaming, CrossAttentionAndCacheOffsets) {
  // 4 new queries after a cache of 13 keys: positions 13..16 vs 0..16.
  const Tensor q = random_tensor({1, 2, 4, 8}, 32), k = random_tensor({1, 2, 17, 8}, 33),
               v = random_tensor({1, 2, 17, 8}, 34);
  const DTensor qp = positions(4, 13), kp = positions(17);
  AttentionOptions o;
  o.mask.causal = true;
  const Encoding e = combine(rope(qp, kp, RopeOptions{.head_dim = 8}), alibi(qp, kp, AlibiOptions{.heads = 2}));
  check_streaming(q, k, v, e, o);
  // Decoding the last 4 tokens one by one with a cache equals the full causal pass.
  const Tensor qa = random_tensor({1, 2, 17, 8}, 35);
  const Tensor full = attention(qa, k, v, rope(kp, RopeOptions{.head_dim = 8}), o);
  for (std::size_t t = 13; t < 17; ++t) {
    const Tensor qt = xt::view(qa, xt::all(), xt::all(), xt::range(t, t + 1), xt::all());
    const Tensor kt = xt::view(k, xt::all(), xt::all(), xt::range(0, t + 1), xt::all());
    const Tensor vt = xt::view(v, xt::all(), xt::all(), xt::range(0, t + 1), xt::all());
    const Tensor step = attention(qt, kt, vt, rope(positions(1, t), positions(t + 1), RopeOptions{.head_dim = 8}), o);
    const Tensor want = xt::view(full, xt::all(), xt::all(), xt::range(t, t + 1), xt::all());
    EXPECT_LT(max_abs_diff(step, want), 1e-5);
  }
}

TEST(AttentionStreaming, SubnormalProductsAndTheCallersFloatingPointMode) {
  // Far keys under a steep ALiBi slope (1/16, distances up to 1755) get weights near e^-87 ~ 1e-38;
  // times values of order 1e-3 their products are subnormal, which the core flushes to zero
  // (src/detail/flush_to_zero.hpp). The outputs still match the double reference; the core leaves
  // the caller's floating-point mode as it found it (flush-to-zero or denormals-are-zero set or
  // not), and reads subnormal inputs as given even when the caller has denormals-are-zero set.
  const std::size_t n = 40;
  DTensor p = DTensor::from_shape({1, n, 1});
  for (std::size_t i = 0; i < n; ++i) p(0, i, 0) = 45.0 * static_cast<double>(i);
  const Encoding e = alibi(p, AlibiOptions{.heads = 2});
  const Tensor q = random_tensor({1, 2, n, 8}, 11), k = random_tensor({1, 2, n, 8}, 12),
               v = random_tensor({1, 2, n, 8}, 13, 1e-3);
  AttentionOptions o;
  o.mask.causal = true;
  check_streaming(q, k, v, e, o, 1e-9);
#if defined(__x86_64__)
  const unsigned original = _mm_getcsr(), modes = _MM_FLUSH_ZERO_MASK | _MM_DENORMALS_ZERO_MASK;
  const unsigned plain = original & ~modes;
  for (const unsigned mode : {plain, plain | _MM_FLUSH_ZERO_ON, plain | _MM_DENORMALS_ZERO_ON}) {
    _mm_setcsr(mode);
    AttentionStats stats;
    const Tensor out = attention(q, k, v, e, o, &stats);
    EXPECT_EQ(_mm_getcsr() & modes, mode & modes);
    attention_backward(q, k, v, e, o, out, stats, v, GradRequest::all(e));
    EXPECT_EQ(_mm_getcsr() & modes, mode & modes);
  }
  // Subnormal keys (~1e-39) against large queries (~1e37): ordinary scores, whatever the caller's mode.
  const Tensor qs = random_tensor({1, 2, n, 8}, 21, 1e37), ks = random_tensor({1, 2, n, 8}, 22, 1e-39);
  _mm_setcsr(plain);
  const Tensor as_given = attention(qs, ks, v, e, o);
  _mm_setcsr(plain | _MM_DENORMALS_ZERO_ON);
  for (const int threads : {1, 2}) {
    o.threads = threads;
    EXPECT_EQ(max_abs_diff(attention(qs, ks, v, e, o), as_given), 0.0) << threads << " threads, caller's DAZ set";
  }
  _mm_setcsr(original);
#endif
}

#if defined(__x86_64__)
// A thread that starts while the core has flush-to-zero set inherits it, and keeps it after the
// call (OpenMP's workers are started by the first parallel region that needs them): the core must
// set it only inside its parallel regions. In a fresh process (gtest's threadsafe death-test style
// re-runs the binary for this test alone), the call's own regions start the workers; afterwards
// every worker must have the caller's modes.
/// Runs a forward and a backward on 2-3 threads, then counts the OpenMP workers whose FTZ / DAZ
/// modes differ from the calling thread's before the calls.
int workers_with_other_modes_after_a_call() {
  const unsigned modes = _MM_FLUSH_ZERO_MASK | _MM_DENORMALS_ZERO_MASK, want = _mm_getcsr() & modes;
  const Tensor q = random_tensor({1, 2, 40, 8}, 1), k = random_tensor({1, 2, 40, 8}, 2),
               v = random_tensor({1, 2, 40, 8}, 3);
  AttentionOptions o;
  o.threads = 2;
  AttentionStats stats;
  const Tensor out = attention(q, k, v, {}, o, &stats);
  o.threads = 3;  // the backward's region may start one more
  attention_backward(q, k, v, {}, o, out, stats, v, GradRequest{});
  int other = 0;
#pragma omp parallel num_threads(3) reduction(+ : other)
  other += (_mm_getcsr() & modes) != want;
  return other;
}

TEST(AttentionStreamingDeathTest, ThreadsStartedDuringACallKeepTheCallersMode) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(std::exit(workers_with_other_modes_after_a_call()), ::testing::ExitedWithCode(0), "");
}
#endif

TEST(AttentionStreaming, FullyMaskedRowsGiveZeros) {
  const Tensor q = random_tensor({2, 1, 6, 4}, 36), k = random_tensor({2, 1, 6, 4}, 37),
               v = random_tensor({2, 1, 6, 4}, 38);
  AttentionOptions o;
  o.mask.key_lengths = {6, 0};
  const Tensor out = attention(q, k, v, {}, o);
  const Tensor ref = attention_reference(q, k, v, {}, o);
  for (std::size_t i = 0; i < 6; ++i)
    for (std::size_t c = 0; c < 4; ++c) {
      EXPECT_EQ(out(1, 0, i, c), 0.0f);
      EXPECT_EQ(ref(1, 0, i, c), 0.0f);
    }
  // More queries than keys with a causal mask: the first queries see nothing.
  const Tensor k2 = random_tensor({1, 1, 2, 4}, 39), v2 = random_tensor({1, 1, 2, 4}, 40);
  AttentionOptions c;
  c.mask.causal = true;
  const Tensor q2 = random_tensor({1, 1, 5, 4}, 41);
  const Tensor o2 = attention(q2, k2, v2, {}, c);
  EXPECT_EQ(o2(0, 0, 0, 0), 0.0f);
  EXPECT_LT(max_abs_diff(o2, attention_reference(q2, k2, v2, {}, c)), 1e-6);
  for (float x : o2) EXPECT_TRUE(std::isfinite(x));
}

TEST(AttentionErrors, BadShapesNameTheArgument) {
  const Tensor q = random_tensor({1, 2, 4, 8}, 1), k = random_tensor({1, 2, 4, 8}, 2);
  expect_invalid([&] { attention(q, k, random_tensor({1, 2, 5, 8}, 3)); }, {"attention", "'k'", "'v'"});
  expect_invalid([&] { attention(q, random_tensor({1, 2, 4, 6}, 3), random_tensor({1, 2, 4, 8}, 3)); },
                 {"attention", "'q'", "'k'", "head dim"});
  expect_invalid([&] { attention(random_tensor({1, 2, 4}, 3), k, k); }, {"attention", "'q'", "[1, 2, 4]"});
  expect_invalid([&] { attention(random_tensor({1, 0, 4, 8}, 3), k, k); }, {"attention", "'q'", "empty"});
  expect_invalid([&] { attention(random_tensor({1, 3, 4, 8}, 3), k, k); }, {"key heads (2)", "query heads (3)"});
  AttentionOptions o;
  o.mask.key_lengths = {7};
  expect_invalid([&] { attention(q, k, k, {}, o); }, {"key_lengths", "7"});
  // Encoding built for other sizes.
  expect_invalid([&] { attention(q, k, k, rope(positions(5), RopeOptions{.head_dim = 8})); },
                 {"attention", "rotation.query_angles", "5"});
  expect_invalid([&] { attention(q, k, k, alibi(positions(4), AlibiOptions{.heads = 3})); },
                 {"attention", "biases[0].slopes", "3"});
  o.mask.key_lengths.clear();
  o.scale = -1.0;
  expect_invalid([&] { attention(q, k, k, {}, o); }, {"attention", "'scale'", "-1"});
}

TEST(AttentionErrors, UnclippedTableOutOfRange) {
  const Tensor q = random_tensor({1, 1, 6, 4}, 1);
  const DTensor p = positions(6);
  Encoding e;
  RelativeVectors cp;
  cp.relation = Relation::offset(p, p, -1, -2, 2, /*clip=*/false);
  cp.table = random_tensor({1, 5, 4}, 2);
  e.content_position.push_back(cp);
  expect_invalid([&] { attention(q, q, q, e); }, {"attention", "content_position[0]", "clipping is off"});
}

}  // namespace
}  // namespace posenc
