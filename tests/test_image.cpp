// The image-grid modality: hand values from the published formulas (MAE and
// timm sin-cos layouts, DETR sine with padding), 2D RoPE invariants and
// channel layouts, 2D ALiBi distances, Swin/BEiT index matrices, errors.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "posenc/attention.hpp"
#include "posenc/image.hpp"
#include "posenc/npy.hpp"
#include "posenc/text.hpp"
#include "support/helpers.hpp"

namespace posenc {
namespace {

using test::expect_invalid;
using test::random_tensor;

TEST(Grid, RowMajorColumnFastestWithPrefix) {
  const DTensor p = grid_positions(3, 4, 1);
  ASSERT_EQ(p.shape()[1], 13u);
  EXPECT_EQ(p(0, 0, 0), 0.0);                          // prefix token at (0, 0)
  EXPECT_EQ(p(0, 1 + 2 * 4 + 3, 0), 2.0);              // y
  EXPECT_EQ(p(0, 1 + 2 * 4 + 3, 1), 3.0);              // x
  expect_invalid([] { grid_positions(0, 4); }, {"grid_positions", "'height'", "0"});
}

TEST(SinCos2d, LayoutsMatchMaeAndTimm) {
  // D = 8: w = (1, 1e4^(-1/2) = 0.01); token (y, x) = (2, 3).
  const double sx0 = std::sin(3.0), sx1 = std::sin(0.03), cx0 = std::cos(3.0), cx1 = std::cos(0.03);
  const double sy0 = std::sin(2.0), sy1 = std::sin(0.02), cy0 = std::cos(2.0), cy1 = std::cos(0.02);
  const std::size_t tok = 1 + 2 * 5 + 3;  // one prefix row, width 5
  SinCos2dOptions o{.height = 4, .width = 5, .dim = 8, .prefix_tokens = 1};
  const Tensor mae = sincos_2d_table(o);
  const double want_mae[8] = {sx0, sx1, cx0, cx1, sy0, sy1, cy0, cy1};
  o.layout = SinCos2dLayout::timm;
  const Tensor timm = sincos_2d_table(o);
  const double want_timm[8] = {sy0, sy1, sx0, sx1, cy0, cy1, cx0, cx1};
  o.layout = SinCos2dLayout::timm_interleaved;
  const Tensor inter = sincos_2d_table(o);
  const double want_inter[8] = {sy0, sy1, cy0, cy1, sx0, sx1, cx0, cx1};
  for (int c = 0; c < 8; ++c) {
    EXPECT_NEAR(mae(tok, c), want_mae[c], 1e-7);
    EXPECT_NEAR(timm(tok, c), want_timm[c], 1e-7);
    EXPECT_NEAR(inter(tok, c), want_inter[c], 1e-7);
    EXPECT_EQ(mae(0, c), 0.0f);  // MAE's zero cls row
  }
  expect_invalid([] { sincos_2d_table({.height = 2, .width = 2, .dim = 6}); }, {"sincos_2d", "'dim'", "multiple of 4", "6"});
}

TEST(DetrSine, NormalisedCumulativeCountsYFirst) {
  // H = 2, W = 3, F = 4, T = 1e4: divisors (1, 1, 100, 100); sin on even, cos on odd channels.
  const DetrSineOptions o{.height = 2, .width = 3, .num_pos_feats = 4};
  const Tensor t = detr_sine(o);
  const double two_pi = 2 * std::numbers::pi;
  auto expect_pixel = [&](const Tensor& out, std::size_t p, double ye, double xe) {
    const double div[4] = {1, 1, 100, 100};
    for (int c = 0; c < 4; ++c) {
      const double fy = c % 2 == 0 ? std::sin(ye / div[c]) : std::cos(ye / div[c]);
      const double fx = c % 2 == 0 ? std::sin(xe / div[c]) : std::cos(xe / div[c]);
      EXPECT_NEAR(out(p, c), fy, 2e-7) << "pixel " << p << " channel " << c;
      EXPECT_NEAR(out(p, 4 + c), fx, 2e-7) << "pixel " << p << " channel " << 4 + c;
    }
  };
  expect_pixel(t, 1 * 3 + 2, 2 / (2 + 1e-6) * two_pi, 3 / (3 + 1e-6) * two_pi);
  expect_pixel(t, 0 * 3 + 1, 1 / (2 + 1e-6) * two_pi, 2 / (3 + 1e-6) * two_pi);
  // Padding (last column invalid) changes the normalisation: the row's count is 2.
  ITensor valid = ITensor::from_shape({2, 3});
  valid.fill(1);
  valid(0, 2) = valid(1, 2) = 0;
  const Tensor m = detr_sine(o, valid);
  expect_pixel(m, 1 * 3 + 1, 2 / (2 + 1e-6) * two_pi, 2 / (2 + 1e-6) * two_pi);
  // Without normalisation the raw counts are used.
  const Tensor raw = detr_sine({.height = 2, .width = 3, .num_pos_feats = 4, .normalize = false});
  expect_pixel(raw, 1 * 3 + 2, 2, 3);
  expect_invalid([] { detr_sine({.height = 2, .width = 2, .num_pos_feats = 3}); }, {"detr_sine", "'num_pos_feats'", "3"});
  expect_invalid([] { detr_sine({.height = 2, .width = 2, .normalize = false, .scale_given = true}); },
                 {"detr_sine", "'scale'"});
}

TEST(Rope2d, ScoresDependOnlyOnTheTwoOffsets) {
  const DTensor p = grid_positions(3, 4);
  for (auto layout : {Rope2dLayout::eva, Rope2dLayout::rope_vit, Rope2dLayout::qwen2vl}) {
    const Tensor qv = random_tensor({1, 1, 1, 16}, 1), kv = random_tensor({1, 1, 1, 16}, 2);
    const Tensor q = xt::broadcast(qv, {1, 1, 12, 16}), k = xt::broadcast(kv, {1, 1, 12, 16});
    const Tensor s = attention_scores(q, k, rope_2d(p, {.head_dim = 16, .layout = layout}));
    for (std::size_t i = 0; i < 12; ++i)
      for (std::size_t j = 0; j < 12; ++j)
        for (std::size_t i2 = 0; i2 < 12; ++i2)
          for (std::size_t j2 = 0; j2 < 12; ++j2) {
            const bool same = p(0, i, 0) - p(0, j, 0) == p(0, i2, 0) - p(0, j2, 0) &&
                              p(0, i, 1) - p(0, j, 1) == p(0, i2, 1) - p(0, j2, 1);
            if (same) {
              EXPECT_NEAR(s(0, 0, i, j), s(0, 0, i2, j2), 2e-5);
            }
          }
  }
}

TEST(Rope2d, ChannelLayoutsOfEvaRopeVitAndQwen) {
  // d = 8: 4 pairs, theta = (1, 1e4^(-1/2)) per axis. Token (y, x) = (1, 2), unit vector on channel 0 and on
  // the first channel of the second half of the pairs.
  DTensor p = DTensor::from_shape({1, 1, 2});
  p(0, 0, 0) = 1;
  p(0, 0, 1) = 2;
  Tensor e = xt::zeros<float>(Shape{1, 8});
  e(0, 0) = 1;
  const Tensor eva = apply_rotary(e, rope_2d(p, {.head_dim = 8}).rotation);
  EXPECT_NEAR(eva(0, 0), std::cos(1.0), 1e-7);  // pair (0, 1) rotated by the row y = 1
  EXPECT_NEAR(eva(0, 1), std::sin(1.0), 1e-7);
  const Tensor vit = apply_rotary(e, rope_2d(p, {.head_dim = 8, .layout = Rope2dLayout::rope_vit}).rotation);
  EXPECT_NEAR(vit(0, 0), std::cos(2.0), 1e-7);  // rope-vit: the column x = 2 first
  EXPECT_NEAR(vit(0, 1), std::sin(2.0), 1e-7);
  const Tensor qw = apply_rotary(e, rope_2d(p, {.head_dim = 8, .layout = Rope2dLayout::qwen2vl}).rotation);
  EXPECT_NEAR(qw(0, 0), std::cos(1.0), 1e-7);  // halves: channel 0 pairs with channel 4
  EXPECT_NEAR(qw(0, 4), std::sin(1.0), 1e-7);
  Tensor e4 = xt::zeros<float>(Shape{1, 8});
  e4(0, 4) = 1;  // first channel of the second half: the column in EVA
  const Tensor eva4 = apply_rotary(e4, rope_2d(p, {.head_dim = 8}).rotation);
  EXPECT_NEAR(eva4(0, 4), std::cos(2.0), 1e-7);
  EXPECT_NEAR(eva4(0, 5), std::sin(2.0), 1e-7);
  expect_invalid([] { rope_2d(grid_positions(2, 2), {.head_dim = 6}); }, {"rope_2d", "'head_dim'", "6"});
  expect_invalid([] { rope_2d(test::positions(4), {.head_dim = 8}); }, {"rope_2d", "[B|1, tokens, 2]"});
}

TEST(Alibi2d, SlopeTimesEuclideanDistance) {
  const DTensor p = grid_positions(3, 3);
  const Tensor q = xt::zeros<float>(Shape{1, 2, 9, 4});
  AttentionOptions o;
  o.scale = 1.0;
  const Tensor s = attention_scores(q, q, alibi_2d(p, p, 2), o);
  const double m[2] = {1.0 / 16, 1.0 / 256};
  for (std::size_t h = 0; h < 2; ++h)
    for (std::size_t i = 0; i < 9; ++i)
      for (std::size_t j = 0; j < 9; ++j) {
        const double dy = p(0, i, 0) - p(0, j, 0), dx = p(0, i, 1) - p(0, j, 1);
        EXPECT_NEAR(s(0, h, i, j), -m[h] * std::sqrt(dy * dy + dx * dx), 1e-6);
      }
}

TEST(RelativeBias2d, SwinAndBeitIndices) {
  const ITensor swin = relative_position_index_2d(2, 2);
  const std::int64_t want[4][4] = {{4, 3, 1, 0}, {5, 4, 2, 1}, {7, 6, 4, 3}, {8, 7, 5, 4}};
  for (int a = 0; a < 4; ++a)
    for (int b = 0; b < 4; ++b) EXPECT_EQ(swin(a, b), want[a][b]);
  EXPECT_EQ(relative_bias_table_rows(7, 7), 169);
  const ITensor beit = relative_position_index_2d(2, 2, true);
  EXPECT_EQ(beit(0, 0), 11);
  EXPECT_EQ(beit(0, 3), 9);   // class token as query
  EXPECT_EQ(beit(3, 0), 10);  // class token as key
  EXPECT_EQ(beit(1, 2), 3);
  // Through the core: the score is table[h, index].
  const Tensor table = relative_bias_table_init(3, 2, 2, true, 0.02, 5);
  for (float v : table) EXPECT_LE(std::abs(v), 0.04f);  // truncated at 2 std
  const Tensor q = xt::zeros<float>(Shape{1, 3, 5, 4});
  AttentionOptions o;
  o.scale = 1.0;
  const Tensor s = attention_scores(q, q, relative_bias_2d(2, 2, table, true), o);
  for (std::size_t h = 0; h < 3; ++h)
    for (std::size_t i = 0; i < 5; ++i)
      for (std::size_t j = 0; j < 5; ++j) EXPECT_EQ(s(0, h, i, j), table(h, beit(i, j)));
  expect_invalid([&] { relative_bias_2d(2, 2, table, false); }, {"relative_bias_2d", "[H|1, 9]", "[3, 12]"});
}

TEST(Resample, MatchesPyTorchInterpolate) {
  // Reference outputs of F.interpolate (tests/data/gen_torch_resample.py), float64 in the reference.
  const std::string dir = std::string(POSENC_TEST_DATA) + "/torch_resample/";
  const std::pair<const char*, ResampleOptions> modes[] = {
      {"bicubic_aa", {Interpolation::bicubic, true}},   {"bicubic", {Interpolation::bicubic, false}},
      {"bilinear_aa", {Interpolation::bilinear, true}}, {"bilinear", {Interpolation::bilinear, false}},
      {"nearest", {Interpolation::nearest, false}}};
  for (const char* cs : {"up", "down"}) {
    const Tensor in = load_npy(dir + cs + "_in.npy");
    for (const auto& [name, opt] : modes) {
      const Tensor want = load_npy(dir + cs + "_" + name + ".npy");
      const Tensor got = resample_grid(in, static_cast<std::int64_t>(want.shape()[0]),
                                       static_cast<std::int64_t>(want.shape()[1]), opt);
      EXPECT_LT(test::max_abs_diff(got, want), 1e-6) << cs << " " << name;
    }
  }
}

TEST(Resample, HandCasesIdentityAndPrefixRows) {
  // [1, 2] -> 4 bilinear (no antialias): 1, 1.25, 1.75, 2; nearest: 1, 1, 2, 2.
  Tensor g = test::make({1, 2, 1}, {1, 2});
  const Tensor bl = resample_grid(g, 1, 4, {Interpolation::bilinear, false});
  const float want[4] = {1.0f, 1.25f, 1.75f, 2.0f};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(bl(0, i, 0), want[i], 1e-7);
  const Tensor nn = resample_grid(g, 1, 4, {Interpolation::nearest, false});
  EXPECT_EQ(nn(0, 1, 0), 1.0f);
  EXPECT_EQ(nn(0, 2, 0), 2.0f);
  // Constants stay constant under every kernel (weights sum to 1).
  const Tensor ones = xt::ones<float>(Shape{5, 6, 2});
  for (auto interp : {Interpolation::bicubic, Interpolation::bilinear})
    for (bool aa : {true, false})
      for (float v : resample_grid(ones, 3, 11, {interp, aa})) EXPECT_NEAR(v, 1.0f, 1e-6);
  // The same size is the identity; prefix rows are kept.
  const Tensor table = random_tensor({1 + 12, 4}, 3);
  EXPECT_EQ(test::max_abs_diff(resample_abs_pos_embed(table, 3, 4, 3, 4), table), 0.0);
  const Tensor big = resample_abs_pos_embed(table, 3, 4, 6, 2);
  ASSERT_EQ(big.shape()[0], 13u);
  for (std::size_t c = 0; c < 4; ++c) EXPECT_EQ(big(0, c), table(0, c));
  expect_invalid([&] { resample_abs_pos_embed(table, 3, 4, 0, 4); }, {"resample_abs_pos_embed", "new grid", "0x4"});
  expect_invalid([&] { resample_abs_pos_embed(table, 4, 4, 2, 2); }, {"resample_abs_pos_embed", "'table'", "17"});
}

// ---------------------------------------------------------------------- timm Fourier features, RoPE-Mixed

Tensor timm_ref(const std::string& name) { return load_npy(std::string(POSENC_TEST_DATA) + "/timm_image/" + name + ".npy"); }

TEST(FourierFeatures, MatchTimmBuildFourierPosEmbed) {
  // timm evaluates in float32: angles up to ~350 rad carry ~2e-5 rounding there.
  const Tensor a = fourier_features({.height = 3, .width = 5, .num_bands = 4});
  EXPECT_LT(test::max_abs_diff(a, timm_ref("fourier_pixel_log")), 5e-5);
  const Tensor b = fourier_features({.height = 4, .width = 2, .num_bands = 3, .max_res = 32, .linear_bands = true});
  EXPECT_LT(test::max_abs_diff(b, timm_ref("fourier_pixel_linear")), 5e-6);
  const Tensor c = fourier_features({.height = 3, .width = 4, .num_bands = 4, .in_pixels = false, .temperature = 100,
                                     .grid_offset = 0.5, .ref_height = 6, .ref_width = 8, .xy_indexing = true,
                                     .include_grid = false});
  EXPECT_LT(test::max_abs_diff(c, timm_ref("fourier_arange_ref_xy")), 5e-6);
  // Hand check of the layout: token (y, x) = (0, 4) of a 3 x 5 pixel grid has coordinates (-1, 1);
  // channels [y, x, sin(y b0), sin(x b0), ...], b0 = pi.
  EXPECT_EQ(a(4, 0), -1.0f);
  EXPECT_EQ(a(4, 1), 1.0f);
  EXPECT_NEAR(a(4, 2), std::sin(-std::numbers::pi), 1e-7);
  expect_invalid([] { fourier_features({.height = 2, .width = 2, .num_bands = 0}); }, {"fourier_features", "'num_bands'", "0"});
}

TEST(RopeMixed, FrequenciesAndPerHeadAngles) {
  const Tensor f = rope_mixed_init(3, 16, 10.0, false);
  // No rotation: f_x = [mu | 0-ish], f_y = [0 | mu], mu_k = 10^(-4k/16).
  for (int k = 0; k < 4; ++k) {
    EXPECT_NEAR(f(0, 1, k), std::pow(10.0, -4.0 * k / 16), 1e-7);
    EXPECT_NEAR(f(1, 1, k), 0.0, 1e-7);
    EXPECT_NEAR(f(1, 1, 4 + k), std::pow(10.0, -4.0 * k / 16), 1e-7);
  }
  const Tensor r = rope_mixed_init(2, 8, 10.0, true, 42);
  for (int h = 0; h < 2; ++h)  // |(f_x, f_y)| = mu on every pair
    for (int k = 0; k < 4; ++k)
      EXPECT_NEAR(std::hypot(r(0, h, k), r(1, h, k)), std::pow(10.0, -4.0 * (k % 2) / 8), 1e-6);
  const DTensor p = grid_positions(3, 4);
  const Encoding e = rope_mixed(p, r);
  const std::size_t tok = 2 * 4 + 3;  // y = 2, x = 3
  EXPECT_NEAR(e.rotation.query_angles(0, 1, tok, 2), 3 * r(0, 1, 2) + 2 * r(1, 1, 2), 1e-6);
  // Scores depend only on the 2D offset, per head.
  const std::size_t n = 12, d = 8;
  Tensor q = Tensor::from_shape({1, 2, n, d}), k = Tensor::from_shape({1, 2, n, d});
  const Tensor bq = random_tensor({d}, 1), bk = random_tensor({d}, 2);
  for (std::size_t h = 0; h < 2; ++h)
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t c = 0; c < d; ++c) q(0, h, i, c) = bq(c), k(0, h, i, c) = bk(c);
  const Tensor s = attention_scores(q, k, e);
  EXPECT_NEAR(s(0, 1, 0, 5), s(0, 1, 6, 11), 1e-5);  // offset (1, 1)
  expect_invalid([] { rope_mixed_init(2, 6); }, {"rope_mixed_init", "'head_dim'", "6"});
}

TEST(RelativeBiasResize, MatchesTimmSimpleResizeKeepingClassRows) {
  const Tensor in = timm_ref("relbias_in"), want = timm_ref("relbias_out");
  const Tensor got = resize_relative_bias_table(in, 3, 2, 4, 5);
  ASSERT_EQ(got.shape(), want.shape());
  // (PyTorch interpolates in float32; posenc in double, rounded once.)
  EXPECT_LT(test::max_abs_diff(got, want), 5e-6);
  EXPECT_EQ(test::max_abs_diff(resize_relative_bias_table(in, 3, 2, 3, 2), in), 0.0);
  expect_invalid([&] { resize_relative_bias_table(in, 3, 3, 4, 5); }, {"resize_relative_bias_table", "'table'"});
  expect_invalid([&] { resize_relative_bias_table(in, 3, 2, 0, 5); }, {"'new_window'", "0 x 5"});
}

}  // namespace
}  // namespace posenc
