// The spectrogram modality: AST's patch grid (Conv2d arithmetic), its table
// adaptation against reference outputs of AST's own steps run with PyTorch
// (tests/data/ast_adapt), per-axis sin-cos by hand, per-axis RoPE invariants.
#include <gtest/gtest.h>

#include <cmath>

#include "posenc/attention.hpp"
#include "posenc/npy.hpp"
#include "posenc/spectrogram.hpp"
#include "support/helpers.hpp"

namespace posenc {
namespace {

using test::expect_invalid;
using test::random_tensor;

TEST(SpectrogramGrid, AstDefaultsAndOverlap) {
  const SpectrogramGrid g = spectrogram_grid();
  EXPECT_EQ(g.f_dim, 12);
  EXPECT_EQ(g.t_dim, 101);
  EXPECT_EQ(g.tokens(), 1212);
  // No overlap (stride 16): 128 x 100 frames -> 8 x 6.
  const SpectrogramGrid h = spectrogram_grid({.frames = 100, .stride_frequency = 16, .stride_time = 16});
  EXPECT_EQ(h.f_dim, 8);
  EXPECT_EQ(h.t_dim, 6);
  // Exactly one patch.
  EXPECT_EQ(spectrogram_grid({.frequency_bins = 16, .frames = 16}).tokens(), 1);
  const DTensor p = spectrogram_positions(g);
  ASSERT_EQ(p.shape()[1], 1214u);
  EXPECT_EQ(p(0, 2 + 3 * 101 + 7, 0), 3.0);  // frequency-major: f = 3
  EXPECT_EQ(p(0, 2 + 3 * 101 + 7, 1), 7.0);  // t = 7
  expect_invalid([] { spectrogram_grid({.frames = 15}); }, {"spectrogram_grid", "'frames'", "15"});
  expect_invalid([] { spectrogram_grid({.frequency_bins = 8}); }, {"'frequency_bins'", "8"});
  expect_invalid([] { spectrogram_grid({.stride_time = 0}); }, {"'stride_time'", "0"});
}

TEST(SpectrogramTable, MatchesAstAdaptationRunWithPyTorch) {
  const std::string dir = std::string(POSENC_TEST_DATA) + "/ast_adapt/";
  const Tensor deit = load_npy(dir + "deit_in.npy"), audioset = load_npy(dir + "audioset_in.npy");
  struct Case { const char* name; const Tensor* in; SpectrogramGrid from, to; };
  const Case cases[] = {{"deit_12x101", &deit, {24, 24}, {12, 101}},
                        {"deit_30x7", &deit, {24, 24}, {30, 7}},
                        {"audioset_12x50", &audioset, {12, 101}, {12, 50}},
                        {"audioset_12x150", &audioset, {12, 101}, {12, 150}}};
  for (const Case& c : cases) {
    const Tensor want = load_npy(dir + c.name + ".npy");
    const Tensor got = adapt_spectrogram_table(*c.in, c.from, c.to);
    ASSERT_EQ(got.shape(), want.shape()) << c.name;
    // PyTorch interpolates in float32 (source indices too); posenc in double, rounded once.
    EXPECT_LT(test::max_abs_diff(got, want), 1e-5) << c.name;
  }
  // Same grid: identity. Interpolate mode never crops: shrinking 24 -> 12 differs from the crop.
  EXPECT_EQ(test::max_abs_diff(adapt_spectrogram_table(deit, {24, 24}, {24, 24}), deit), 0.0);
  const Tensor crop = adapt_spectrogram_table(deit, {24, 24}, {12, 24});
  const Tensor interp = adapt_spectrogram_table(deit, {24, 24}, {12, 24}, 2, TableAdaptation::interpolate);
  EXPECT_GT(test::max_abs_diff(crop, interp), 1e-3);
  EXPECT_EQ(crop(2, 0), deit(2 + 6 * 24, 0));  // row 12/2 - 12/2 = 6 is the first kept row
  expect_invalid([&] { adapt_spectrogram_table(deit, {24, 23}, {12, 101}); }, {"adapt_spectrogram_table", "'table'"});
  expect_invalid([&] { adapt_spectrogram_table(deit, {24, 24}, {0, 101}); }, {"'to'", "0 x 101"});
}

TEST(SpectrogramSinCos, SeparateSettingsPerAxis) {
  const SpectrogramGrid g{3, 5};
  const SpectrogramAxis fa{.dim = 4, .temperature = 100.0, .scale = 1.0};
  const SpectrogramAxis ta{.dim = 2, .temperature = 10000.0, .scale = 0.1};
  const Tensor t = spectrogram_sincos_table(g, fa, ta, 1);
  ASSERT_EQ(t.shape()[0], 16u);
  ASSERT_EQ(t.shape()[1], 6u);
  const std::size_t tok = 1 + 2 * 5 + 4;  // f = 2, t = 4
  const double want[6] = {std::sin(2.0), std::sin(2.0 / 10), std::cos(2.0), std::cos(2.0 / 10), std::sin(0.4),
                          std::cos(0.4)};
  for (int c = 0; c < 6; ++c) {
    EXPECT_NEAR(t(tok, c), want[c], 1e-7) << c;
    EXPECT_EQ(t(0, c), 0.0f);
  }
  expect_invalid([&] { spectrogram_sincos_table(g, {.dim = 3}, ta); }, {"spectrogram_sincos", "'frequency.dim'", "3"});
  expect_invalid([&] { spectrogram_sincos_table(g, fa, {.dim = 2, .scale = 0}); }, {"'time.scale'", "0"});
}

TEST(SpectrogramRope, ScoresDependOnlyOnTheOffsets) {
  const SpectrogramGrid g{4, 6};
  const Encoding e = spectrogram_rope(g, {.dim = 4, .temperature = 100}, {.dim = 8, .temperature = 1000}, 2);
  EXPECT_EQ(e.rotation.pairs, 6);
  const std::size_t n = 26, d = 12;
  // The same query and key vector everywhere: the score is a function of the offset only.
  Tensor q = Tensor::from_shape({1, 1, n, d}), k = Tensor::from_shape({1, 1, n, d});
  const Tensor base_q = random_tensor({d}, 1), base_k = random_tensor({d}, 2);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t c = 0; c < d; ++c) q(0, 0, i, c) = base_q(c), k(0, 0, i, c) = base_k(c);
  const Tensor s = attention_scores(q, k, e);
  auto tok = [&](int f, int t) { return std::size_t(2 + f * 6 + t); };
  EXPECT_NEAR(s(0, 0, tok(0, 0), tok(1, 2)), s(0, 0, tok(2, 3), tok(3, 5)), 1e-5);
  EXPECT_NEAR(s(0, 0, tok(3, 1), tok(1, 0)), s(0, 0, tok(2, 4), tok(0, 3)), 1e-5);
  EXPECT_GT(std::abs(s(0, 0, tok(0, 0), tok(1, 2)) - s(0, 0, tok(0, 0), tok(2, 1))), 1e-4);
  EXPECT_EQ(e.rotation.query_angles(0, 0, 1, 3), 0.0);  // prefix tokens are not rotated
}

}  // namespace
}  // namespace posenc
