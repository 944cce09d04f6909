// RoPE, its scaling rules and XPos: hand cases from the published formulas,
// invariants, precision at large positions, and bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <numbers>
#include <sstream>

#include <omp.h>

#include "posenc/attention.hpp"
#include "posenc/rotary.hpp"
#include "support/helpers.hpp"

namespace posenc {
namespace {

using test::expect_invalid;
using test::max_abs_diff;
using test::positions;
using test::random_tensor;

std::vector<double> plain(double base, int d) {
  std::vector<double> f(d / 2);
  for (int k = 0; k < d / 2; ++k) f[k] = std::pow(base, -2.0 * k / d);
  return f;
}

TEST(Rope, HandRotation) {
  // d = 2, theta_0 = 1: token at position 1 rotates (1, 0) to (cos 1, sin 1), (0, 1) to (-sin 1, cos 1).
  Tensor x = test::make({2, 2}, {1, 0, 0, 1});
  DTensor p = DTensor::from_shape({1, 2, 1});
  p(0, 0, 0) = 1;
  p(0, 1, 0) = 1;
  const Tensor y = apply_rotary(x, rope(p, RopeOptions{.head_dim = 2}).rotation);
  EXPECT_NEAR(y(0, 0), std::cos(1.0), 1e-7);
  EXPECT_NEAR(y(0, 1), std::sin(1.0), 1e-7);
  EXPECT_NEAR(y(1, 0), -std::sin(1.0), 1e-7);
  EXPECT_NEAR(y(1, 1), std::cos(1.0), 1e-7);
}

TEST(Rope, FrequenciesFollowThePaper) {
  const auto f = rope_frequencies(RopeOptions{.head_dim = 64}).inv_freq;
  ASSERT_EQ(f.size(), 32u);
  EXPECT_DOUBLE_EQ(f[0], 1.0);
  EXPECT_NEAR(f[1], std::pow(10000.0, -2.0 / 64), 1e-16);
  EXPECT_NEAR(f[31], std::pow(10000.0, -62.0 / 64), 1e-18);
  // Partial rotation: the exponent uses the rotated dimension (NeoX rotary_pct, Phi partial_rotary_factor).
  const auto g = rope_frequencies(RopeOptions{.head_dim = 64, .partial_rotary_factor = 0.5}).inv_freq;
  ASSERT_EQ(g.size(), 16u);
  EXPECT_NEAR(g[1], std::pow(10000.0, -2.0 / 32), 1e-16);
}

TEST(Rope, ScoresDependOnlyOnOffset) {
  // Same q and k vector at every position: (R_i q).(R_j k) is a function of i - j.
  for (auto layout : {PairLayout::halves, PairLayout::interleaved}) {
    const Tensor qv = random_tensor({1, 1, 1, 16}, 1), kv = random_tensor({1, 1, 1, 16}, 2);
    const Tensor q = xt::broadcast(qv, {1, 1, 12, 16}), k = xt::broadcast(kv, {1, 1, 12, 16});
    const Tensor s = attention_scores(q, k, rope(positions(12, 1000), RopeOptions{.head_dim = 16, .layout = layout}));
    for (std::size_t i = 0; i + 1 < 12; ++i)
      for (std::size_t j = 0; j + 1 < 12; ++j) EXPECT_NEAR(s(0, 0, i, j), s(0, 0, i + 1, j + 1), 2e-5);
  }
}

TEST(Rope, LayoutsAgreeAfterPermutingChannels) {
  // halves pairs (k, k + P); interleaved pairs (2k, 2k + 1): equal scores after the permutation.
  const std::size_t d = 8, P = 4, n = 7;
  const Tensor q = random_tensor({1, 1, n, d}, 3), k = random_tensor({1, 1, n, d}, 4);
  auto permute = [&](const Tensor& x) {
    Tensor y = x;
    for (std::size_t t = 0; t < n; ++t)
      for (std::size_t c = 0; c < P; ++c) {
        y(0, 0, t, 2 * c) = x(0, 0, t, c);
        y(0, 0, t, 2 * c + 1) = x(0, 0, t, c + P);
      }
    return y;
  };
  const Tensor sh = attention_scores(q, k, rope(positions(n), RopeOptions{.head_dim = 8}));
  const Tensor si = attention_scores(permute(q), permute(k),
                                     rope(positions(n), RopeOptions{.head_dim = 8, .layout = PairLayout::interleaved}));
  EXPECT_LT(max_abs_diff(sh, si), 1e-5);
}

TEST(Rope, PartialRotationPassesTheRest) {
  const Tensor x = random_tensor({2, 3, 5, 10}, 5);
  const Tensor y = apply_rotary(x, rope(positions(5, 3), RopeOptions{.head_dim = 10, .rotary_dim = 4}).rotation);
  for (std::size_t i = 0; i < x.size(); ++i)
    if (i % 10 >= 4) {
      EXPECT_EQ(y.data()[i], x.data()[i]);
    }
  // Norms of rotated pairs are preserved.
  for (std::size_t r = 0; r < x.size() / 10; ++r)
    for (std::size_t k = 0; k < 2; ++k) {
      const float* a = x.data() + r * 10;
      const float* b = y.data() + r * 10;
      EXPECT_NEAR(std::hypot(a[k], a[k + 2]), std::hypot(b[k], b[k + 2]), 1e-5);
    }
}

// rotary_table_into writes the bits of rotary_table, and a table reused for a rotation of the
// same shape keeps its storage (no reallocation).
TEST(Rope, TableIntoMatchesAndReusesStorage) {
  const Rotation plain = rope(positions(9, 4), RopeOptions{.head_dim = 8}).rotation;
  const Rotation scaled = xpos(positions(9, 40), XposOptions{.head_dim = 8, .scale_base = 16}).rotation;
  RotaryTable t;
  rotary_table_into(plain, RotarySide::query, t);
  const float* cos_storage = t.cos.data();
  const float* sin_storage = t.sin.data();
  for (const Rotation* r : {&plain, &scaled})
    for (const RotarySide side : {RotarySide::query, RotarySide::key}) {
      rotary_table_into(*r, side, t);
      const RotaryTable fresh = rotary_table(*r, side);
      EXPECT_EQ(t.cos, fresh.cos);
      EXPECT_EQ(t.sin, fresh.sin);
      EXPECT_EQ(t.batch, fresh.batch);
      EXPECT_EQ(t.heads, fresh.heads);
      EXPECT_EQ(t.tokens, fresh.tokens);
      EXPECT_EQ(t.pairs, fresh.pairs);
      EXPECT_EQ(t.layout, fresh.layout);
      EXPECT_EQ(t.cos.data(), cos_storage);
      EXPECT_EQ(t.sin.data(), sin_storage);
    }
  // XPos scales queries and keys oppositely: the two sides differ.
  RotaryTable k;
  rotary_table_into(scaled, RotarySide::key, k);
  EXPECT_NE(k.cos, rotary_table(scaled, RotarySide::query).cos);
  // An empty rotation leaves an empty table.
  rotary_table_into(Rotation{}, RotarySide::query, t);
  EXPECT_TRUE(t.cos.empty());
  EXPECT_EQ(t.tokens, 0u);
}

// The span form of rotary_table_into writes rotary_table's bits into caller buffers (every element:
// they start NaN-filled), and rejects a wrong size, overlapping buffers and an empty rotation.
TEST(Rope, TableIntoCallerBuffers) {
  const Rotation plain = rope(positions(9, 4), RopeOptions{.head_dim = 8}).rotation;
  const Rotation scaled = xpos(positions(9, 40), XposOptions{.head_dim = 8, .scale_base = 16}).rotation;
  for (const Rotation* r : {&plain, &scaled})
    for (const RotarySide side : {RotarySide::query, RotarySide::key}) {
      const RotaryTable fresh = rotary_table(*r, side);
      std::vector<float> c(fresh.cos.size(), NAN), s(fresh.sin.size(), NAN);
      rotary_table_into(*r, side, c, s);
      EXPECT_EQ(c, fresh.cos);
      EXPECT_EQ(s, fresh.sin);
    }
  std::vector<float> c(36), s(36), shorter(35), both(72);
  rotary_table_into(plain, RotarySide::query, c, s);  // 9 tokens x 4 pairs
  test::expect_invalid([&] { rotary_table_into(plain, RotarySide::query, c, shorter); },
                       {"rotary_table_into", "'cos'", "'sin'", "[1, 1, 9, 4]", "36", "35"});
  test::expect_invalid([&] { rotary_table_into(plain, RotarySide::query, {both.data(), 36}, {both.data() + 10, 36}); },
                       {"rotary_table_into", "overlap"});
  rotary_table_into(plain, RotarySide::query, {both.data(), 36}, {both.data() + 36, 36});  // adjacent is fine
  EXPECT_TRUE(std::equal(c.begin(), c.end(), both.begin()));
  test::expect_invalid([&] { rotary_table_into(Rotation{}, RotarySide::query, c, s); }, {"rotary_table_into", "empty"});
}

// Every value of tables large enough for several SIMD spans and threads (RoPE with angles up to
// 3e6, XPos with its scales) against a direct double evaluation: within one fp32 ulp of the value
// plus what the angle's own rounding carries; 1 and 3 threads bit-identical.
TEST(Rope, TableMatchesDirectEvaluationForAnyThreadCount) {
  DTensor p = DTensor::from_shape({2, 301, 1});
  for (std::size_t i = 0; i < 301; ++i) {
    p(0, i, 0) = static_cast<double>(i);
    p(1, i, 0) = 3.0e6 - 7.0 * static_cast<double>(i);
  }
  const Rotation rope_r = rope(p, RopeOptions{.head_dim = 22}).rotation;
  const Rotation xpos_r = xpos(positions(700), XposOptions{.head_dim = 22, .scale_base = 512}).rotation;
  auto ulp = [](double v) { const float a = std::abs(static_cast<float>(v)); return std::nextafter(a, HUGE_VALF) - a; };
  for (const Rotation* r : {&rope_r, &xpos_r})
    for (const RotarySide side : {RotarySide::query, RotarySide::key}) {
      const RotaryTable t = rotary_table(*r, side);
      const DTensor& angles = side == RotarySide::query ? r->query_angles : r->key_angles;
      const DTensor& ls = side == RotarySide::query ? r->query_log_scale : r->key_log_scale;
      ASSERT_EQ(t.cos.size(), angles.size());
      for (std::size_t i = 0; i < angles.size(); ++i) {
        const double a = angles.data()[i];
        const double m = r->magnitude * (is_set(ls) ? std::exp(ls.data()[i]) : 1.0);
        const double c = m * std::cos(a), s = m * std::sin(a);
        const double tol_angle = 2 * m * (std::nextafter(std::abs(a), 1e300) - std::abs(a)) + 1e-12;
        ASSERT_LE(std::abs(t.cos[i] - c), ulp(c) + tol_angle) << (r == &rope_r ? "rope" : "xpos") << " element " << i;
        ASSERT_LE(std::abs(t.sin[i] - s), ulp(s) + tol_angle) << (r == &rope_r ? "rope" : "xpos") << " element " << i;
      }
      const int before = omp_get_max_threads();
      omp_set_num_threads(1);
      const RotaryTable one = rotary_table(*r, side);
      omp_set_num_threads(3);
      const RotaryTable three = rotary_table(*r, side);
      omp_set_num_threads(before);
      EXPECT_EQ(one.cos, t.cos);
      EXPECT_EQ(one.sin, t.sin);
      EXPECT_EQ(three.cos, t.cos);
      EXPECT_EQ(three.sin, t.sin);
    }
}

TEST(Rope, PrecisionAtOneMillion) {
  // cos/sin at position 10^6 match a long-double evaluation to fp32 rounding.
  const int d = 128;
  DTensor p = DTensor::from_shape({1, 1, 1});
  p(0, 0, 0) = 1e6;
  const Rotation r = rope(p, RopeOptions{.head_dim = d}).rotation;
  const RotaryTable t = rotary_table(r, RotarySide::query);
  for (int k = 0; k < d / 2; ++k) {
    const long double angle = 1e6L * std::pow(10000.0L, -2.0L * k / d);
    const float c = static_cast<float>(std::cos(angle)), s = static_cast<float>(std::sin(angle));
    EXPECT_LE(std::abs(t.cos[k] - c), std::nextafter(std::abs(c), 2.0f) - std::abs(c)) << "pair " << k;
    EXPECT_LE(std::abs(t.sin[k] - s), std::nextafter(std::abs(s), 2.0f) - std::abs(s)) << "pair " << k;
  }
}

TEST(RopeScaling, LinearAndStaticNtk) {
  const auto base = plain(10000, 64);
  const auto lin = rope_frequencies({.head_dim = 64, .scaling = RopeScaling::linear, .factor = 4}).inv_freq;
  for (std::size_t k = 0; k < base.size(); ++k) EXPECT_NEAR(lin[k], base[k] / 4, 1e-15);
  const auto ntk = rope_frequencies({.head_dim = 64, .scaling = RopeScaling::ntk, .factor = 4}).inv_freq;
  const auto want = plain(10000 * std::pow(4.0, 64.0 / 62.0), 64);
  for (std::size_t k = 0; k < base.size(); ++k) EXPECT_NEAR(ntk[k], want[k], 1e-15);
}

TEST(RopeScaling, DynamicNtkDependsOnLength) {
  const RopeOptions o{.head_dim = 64, .scaling = RopeScaling::dynamic, .factor = 2, .max_position_embeddings = 2048};
  const auto at_init = rope_frequencies(o, 1000).inv_freq;  // N <= L0: plain frequencies
  const auto base = plain(10000, 64);
  for (std::size_t k = 0; k < base.size(); ++k) EXPECT_NEAR(at_init[k], base[k], 1e-15);
  // N = 2 L0, s = 2: base' = base * (2*2 - 1)^(64/62).
  const auto grown = rope_frequencies(o, 4096).inv_freq;
  const auto want = plain(10000 * std::pow(3.0, 64.0 / 62.0), 64);
  for (std::size_t k = 0; k < base.size(); ++k) EXPECT_NEAR(grown[k], want[k], 1e-15);
  // The Encoding takes the length from the key positions.
  const Encoding e = rope(positions(4096), o);
  EXPECT_NEAR(e.rotation.key_angles(0, 0, 1, 1), want[1], 1e-12);
}

TEST(RopeScaling, YarnHandCase) {
  // d = 128, base 1e4, L0 = 4096, s = 4: corr(32) = 20.94 -> 20, corr(1) = 45.03 -> 46.
  const RopeOptions o{.head_dim = 128, .scaling = RopeScaling::yarn, .factor = 4,
                      .original_max_position_embeddings = 4096};
  const RopeFrequencies f = rope_frequencies(o);
  const auto base = plain(10000, 128);
  EXPECT_NEAR(f.attention_factor, 0.1 * std::log(4.0) + 1, 1e-15);
  EXPECT_NEAR(f.inv_freq[0], base[0], 1e-15);
  EXPECT_NEAR(f.inv_freq[20], base[20], 1e-15);                                  // ramp 0
  EXPECT_NEAR(f.inv_freq[21], base[21] / 4 * (1.0 / 26) + base[21] * (25.0 / 26), 1e-9);
  EXPECT_NEAR(f.inv_freq[33], base[33] * (0.5 / 4 + 0.5), 1e-9);                 // ramp 1/2
  EXPECT_NEAR(f.inv_freq[46], base[46] / 4, 1e-15);                              // ramp 1
  EXPECT_NEAR(f.inv_freq[63], base[63] / 4, 1e-15);
  // Without truncation the ramp runs over [20.944, 45.027].
  RopeOptions u = o;
  u.truncate = false;
  const double lo = 20.94448162063605, hi = 45.02688127375455, r = static_cast<float>((33 - lo) / (hi - lo));
  EXPECT_NEAR(rope_frequencies(u).inv_freq[33], base[33] / 4 * r + base[33] * (1 - r), 1e-9);
  // mscale / mscale_all_dim (DeepSeek style) and an explicit attention factor.
  RopeOptions m = o;
  m.mscale = 0.707;
  m.mscale_all_dim = 1.0;
  EXPECT_NEAR(rope_frequencies(m).attention_factor,
              (0.1 * 0.707 * std::log(4.0) + 1) / (0.1 * std::log(4.0) + 1), 1e-15);
  m.attention_factor = 1.25;
  EXPECT_EQ(rope_frequencies(m).attention_factor, 1.25);
  // The factor squares into the logits.
  const Encoding e = rope(positions(3), o);
  EXPECT_NEAR(e.rotation.magnitude, f.attention_factor, 1e-15);
}

TEST(RopeScaling, LongRopeSwitchesOnLength) {
  RopeOptions o{.head_dim = 8, .scaling = RopeScaling::longrope, .max_position_embeddings = 131072,
                .original_max_position_embeddings = 4096};
  o.short_factor = {1.0, 1.5, 2.0, 3.0};
  o.long_factor = {2.0, 4.0, 8.0, 16.0};
  const auto base = plain(10000, 8);
  const RopeFrequencies s = rope_frequencies(o, 4096), l = rope_frequencies(o, 4097);
  for (std::size_t k = 0; k < 4; ++k) {
    EXPECT_NEAR(s.inv_freq[k], base[k] / o.short_factor[k], 1e-15);
    EXPECT_NEAR(l.inv_freq[k], base[k] / o.long_factor[k], 1e-15);
  }
  // Phi-3-mini-128k: s = 131072 / 4096 = 32, factor sqrt(1 + ln 32 / ln 4096) = 1.190238...
  EXPECT_NEAR(s.attention_factor, 1.1902380714238083, 1e-12);
}

TEST(RopeScaling, Llama3Bands) {
  const RopeOptions o{.head_dim = 128, .base = 500000, .scaling = RopeScaling::llama3, .factor = 8,
                      .original_max_position_embeddings = 8192};
  const auto f = rope_frequencies(o).inv_freq;
  const auto base = plain(500000, 128);
  int high = 0, low = 0, mid = 0;
  for (std::size_t k = 0; k < base.size(); ++k) {
    const double wavelen = 2 * std::numbers::pi / base[k];
    if (wavelen < 8192.0 / 4) {
      EXPECT_EQ(f[k], base[k]);
      ++high;
    } else if (wavelen > 8192.0) {
      EXPECT_NEAR(f[k], base[k] / 8, 1e-18);
      ++low;
    } else {
      const double sigma = (8192.0 / wavelen - 1) / 3;
      EXPECT_NEAR(f[k], (1 - sigma) * base[k] / 8 + sigma * base[k], 1e-15);
      EXPECT_LT(f[k], base[k]);
      EXPECT_GT(f[k], base[k] / 8);
      ++mid;
    }
  }
  EXPECT_GT(high, 0);
  EXPECT_GT(low, 0);
  EXPECT_GT(mid, 0);
}

TEST(Xpos, ScoresDecayWithOffset) {
  // q = k = (1, 0, 0, ...) in pair 0: s_ij = zeta_0^((i - j)/S) cos((i - j) theta_0), theta_0 = 1.
  const std::size_t d = 8, n = 9;
  Tensor q = xt::zeros<float>(Shape{1, 1, n, d});
  for (std::size_t t = 0; t < n; ++t) q(0, 0, t, 0) = 1;
  AttentionOptions o;
  o.scale = 1.0;
  const Tensor s = attention_scores(q, q, xpos(positions(n, 100), XposOptions{.head_dim = d, .scale_base = 16}), o);
  const double zeta0 = (0.4 * d) / (1.4 * d);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      const double delta = static_cast<double>(i) - static_cast<double>(j);
      EXPECT_NEAR(s(0, 0, i, j), std::pow(zeta0, delta / 16) * std::cos(delta), 1e-5);
    }
}

TEST(RopeErrors, BadOptionsAreNamed) {
  expect_invalid([] { rope_frequencies({.head_dim = 7}); }, {"rope_frequencies", "7", "even"});
  expect_invalid([] { rope_frequencies({.head_dim = 8, .rotary_dim = 16}); },
                 {"rope_frequencies", "'rotary_dim'", "16", "head_dim"});
  expect_invalid([] { rope_frequencies({.head_dim = 8, .rotary_dim = 3}); }, {"'rotary_dim'", "even", "3"});
  expect_invalid([] { rope_frequencies({.head_dim = 0}); }, {"'head_dim'", "0"});
  expect_invalid([] { rope_frequencies({.head_dim = 8, .base = -1}); }, {"'base'", "-1"});
  expect_invalid([] { rope_frequencies({.head_dim = 8, .base = NAN}); }, {"'base'", "nan"});
  expect_invalid([] { rope_frequencies({.head_dim = 8, .scaling = RopeScaling::linear, .factor = 0}); },
                 {"'factor'", "0"});
  expect_invalid([] { rope_frequencies({.head_dim = 8, .scaling = RopeScaling::linear, .factor = NAN}); },
                 {"'factor'", "nan"});
  expect_invalid([] { rope_frequencies({.head_dim = 8, .scaling = RopeScaling::yarn, .factor = 4}); },
                 {"YaRN", "original_max_position_embeddings"});
  expect_invalid([] {
    rope_frequencies({.head_dim = 8, .scaling = RopeScaling::longrope, .original_max_position_embeddings = 16,
                      .short_factor = {1, 1}, .long_factor = {1, 1}});
  }, {"LongRoPE", "4 entries", "2"});
  expect_invalid([] {
    rope_frequencies({.head_dim = 8, .scaling = RopeScaling::llama3, .original_max_position_embeddings = 16,
                      .low_freq_factor = 4, .high_freq_factor = 1});
  }, {"low_freq_factor", "high_freq_factor"});
  expect_invalid([] { xpos(positions(3), XposOptions{.head_dim = 5}); }, {"xpos", "'head_dim'", "5"});
  expect_invalid([] { apply_rotary(random_tensor({3, 4}, 1), rope(positions(5), {.head_dim = 4}).rotation); },
                 {"apply_rotary", "5 tokens", "3"});
}

}  // namespace
}  // namespace posenc

namespace posenc {
namespace {

// Reference vectors generated from HF transformers' RoPE initialisers
// (tests/data/gen_hf_rope.py, float32 in the reference: compared to 2e-6 relative).
TEST(RopeReference, MatchesHfTransformersInitialisers) {
  std::ifstream in(std::string(POSENC_TEST_DATA) + "/hf_rope_inv_freq.txt");
  ASSERT_TRUE(in) << "missing tests/data/hf_rope_inv_freq.txt";
  std::string header, values;
  int cases = 0;
  while (std::getline(in, header) && std::getline(in, values)) {
    std::map<std::string, std::string> kv;
    std::istringstream hs(header);
    std::string tok;
    hs >> tok;  // "case"
    while (hs >> tok) kv[tok.substr(0, tok.find('='))] = tok.substr(tok.find('=') + 1);
    auto list = [](const std::string& s) {
      std::vector<double> v;
      std::stringstream ss(s);
      std::string item;
      while (std::getline(ss, item, ',')) v.push_back(std::stod(item));
      return v;
    };
    RopeOptions o;
    o.head_dim = std::stoll(kv["head_dim"]);
    o.rotary_dim = std::stoll(kv["rotary_dim"]);
    o.base = std::stod(kv["base"]);
    o.factor = std::stod(kv["factor"]);
    o.max_position_embeddings = std::stoll(kv["max"]);
    o.original_max_position_embeddings = std::stoll(kv["original"]);
    const std::string type = kv["rope_type"];
    o.scaling = type == "linear"     ? RopeScaling::linear
                : type == "dynamic"  ? RopeScaling::dynamic
                : type == "yarn"     ? RopeScaling::yarn
                : type == "longrope" ? RopeScaling::longrope
                : type == "llama3"   ? RopeScaling::llama3
                                     : RopeScaling::none;
    if (kv.count("beta_fast")) o.beta_fast = std::stod(kv["beta_fast"]);
    if (kv.count("beta_slow")) o.beta_slow = std::stod(kv["beta_slow"]);
    if (kv.count("short")) o.short_factor = list(kv["short"]);
    if (kv.count("long")) o.long_factor = list(kv["long"]);
    if (kv.count("low")) o.low_freq_factor = std::stod(kv["low"]);
    if (kv.count("high")) o.high_freq_factor = std::stod(kv["high"]);
    const RopeFrequencies f = rope_frequencies(o, std::stoll(kv["seq_len"]));
    std::vector<double> want;
    std::istringstream vs(values);
    for (double x; vs >> x;) want.push_back(x);
    ASSERT_EQ(f.inv_freq.size(), want.size()) << kv["name"];
    for (std::size_t k = 0; k < want.size(); ++k)
      EXPECT_NEAR(f.inv_freq[k], want[k], 2e-6 * want[k]) << kv["name"] << " k=" << k;
    EXPECT_NEAR(f.attention_factor, std::stod(kv["attention_factor"]), 1e-12) << kv["name"];
    ++cases;
  }
  EXPECT_EQ(cases, 12);
}

}  // namespace
}  // namespace posenc
