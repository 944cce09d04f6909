// Video: tubelet grids, TimeSformer / ViViT / 3D sin-cos / time resampling
// against reference outputs of the public code paths (tests/data/video_ref,
// made by gen_video_ref.py with PyTorch, SciPy and the scenic formula),
// VideoMAE against the 1D sinusoid, 3D RoPE invariants; M-RoPE: position ids
// built as HF get_rope_index does (hand-computed mixed sequences), the
// sectioned rotation, text-only reduction to 1D RoPE, errors.
#include <gtest/gtest.h>

#include <cmath>

#include "posenc/attention.hpp"
#include "posenc/npy.hpp"
#include "posenc/sinusoid.hpp"
#include "posenc/rotary.hpp"
#include "posenc/video.hpp"
#include "support/helpers.hpp"

namespace posenc {
namespace {

using test::expect_invalid;
using Seg = MropeSegment;

TEST(Mrope, IdsForTextImageText) {
  // 3 text tokens, an image of 4 x 6 patches (merged 2 x 3 = 6 tokens), 2 text tokens.
  const DTensor ids = mrope_position_ids({{.length = 3}, {.kind = Seg::Kind::vision, .t = 1, .h = 4, .w = 6}, {.length = 2}});
  ASSERT_EQ(ids.shape()[1], 11u);
  const double want[3][11] = {{0, 1, 2, 3, 3, 3, 3, 3, 3, 6, 7},
                              {0, 1, 2, 3, 3, 3, 4, 4, 4, 6, 7},
                              {0, 1, 2, 3, 4, 5, 3, 4, 5, 6, 7}};
  for (int a = 0; a < 3; ++a)
    for (int i = 0; i < 11; ++i) EXPECT_EQ(ids(a, i), want[a][i]) << "axis " << a << " token " << i;
  EXPECT_EQ(mrope_position_delta(ids), 8 - 11);
}

TEST(Mrope, VideoAndBackToBackBlocks) {
  // A video of 3 temporal steps of 2 x 2 patches (1 token each), then an image right after it.
  const DTensor ids = mrope_position_ids({{.length = 1},
                                          {.kind = Seg::Kind::vision, .t = 3, .h = 2, .w = 2},
                                          {.kind = Seg::Kind::vision, .t = 1, .h = 2, .w = 4}});
  const double t[] = {0, 1, 2, 3, 4, 4}, h[] = {0, 1, 1, 1, 4, 4}, w[] = {0, 1, 1, 1, 4, 5};
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(ids(0, i), t[i]);
    EXPECT_EQ(ids(1, i), h[i]);
    EXPECT_EQ(ids(2, i), w[i]);
  }
  // Qwen2.5-VL: temporal ids scaled by seconds per grid step x tokens per second (floor).
  const DTensor q25 = mrope_position_ids(
      {{.kind = Seg::Kind::vision, .t = 3, .h = 2, .w = 2, .second_per_grid_t = 1.0}}, {.tokens_per_second = 2.5});
  EXPECT_EQ(q25(0, 1), 2.0);  // floor(1 * 1.0 * 2.5)
  EXPECT_EQ(q25(0, 2), 5.0);
}

TEST(Mrope, SectionedRotationAndTextOnlyEqualsRope) {
  const MropeOptions o{.head_dim = 16, .base = 10000, .mrope_section = {2, 3, 3}};
  const auto axis = mrope_axis_of_pair(o);
  const int want[8] = {0, 0, 1, 1, 1, 2, 2, 2};
  for (int k = 0; k < 8; ++k) EXPECT_EQ(axis[k], want[k]);
  MropeOptions q3 = o;
  q3.mrope_section = {2, 3, 3};
  q3.interleaved = true;
  const auto ax3 = mrope_axis_of_pair(q3);
  const int want3[8] = {0, 1, 2, 0, 1, 2, 0, 1};  // k%3 == 1 -> h while k < 9, k%3 == 2 -> w while k < 9
  for (int k = 0; k < 8; ++k) EXPECT_EQ(ax3[k], want3[k]);
  const DTensor ids = mrope_position_ids({{.length = 3}, {.kind = Seg::Kind::vision, .t = 1, .h = 4, .w = 6}});
  const Encoding e = mrope(ids, o);
  for (std::size_t i = 0; i < ids.shape()[1]; ++i)
    for (std::size_t k = 0; k < 8; ++k)
      EXPECT_NEAR(e.rotation.key_angles(0, 0, i, k), ids(axis[k], i) * std::pow(1e4, -2.0 * k / 16), 1e-12);
  // Text only: all three axes equal, so M-RoPE is 1D RoPE (halves layout).
  const DTensor text = mrope_position_ids({{.length = 9}});
  const Encoding m = mrope(text, o);
  const Encoding r = rope(test::positions(9), RopeOptions{.head_dim = 16});
  EXPECT_LT(test::max_abs_diff(m.rotation.key_angles, r.rotation.key_angles), 1e-12);
  EXPECT_EQ(m.rotation.layout, PairLayout::halves);
}

TEST(Mrope, BadInput) {
  expect_invalid([] { mrope_axis_of_pair({.head_dim = 128, .mrope_section = {16, 24, 20}}); },
                 {"mrope", "'mrope_section'", "60", "64"});
  expect_invalid([] { mrope_position_ids({{.kind = Seg::Kind::vision, .t = 1, .h = 3, .w = 4}}); },
                 {"mrope_position_ids", "h = 3", "spatial_merge_size = 2"});
  expect_invalid([] { mrope_position_ids({{.length = 0}}); }, {"mrope_position_ids", "text segment 0", "0"});
  expect_invalid([] { mrope(DTensor::from_shape({2, 4}), MropeOptions{}); }, {"mrope", "[3, L]"});
}

// ---------------------------------------------------------------------- 3D schemes

Tensor ref(const std::string& name) { return load_npy(std::string(POSENC_TEST_DATA) + "/video_ref/" + name + ".npy"); }

TEST(VideoGrid, TubeletsPositionsAndDivisibility) {
  const VideoGrid g = tubelet_grid();
  EXPECT_EQ(g.t, 8);
  EXPECT_EQ(g.h, 14);
  EXPECT_EQ(g.w, 14);
  const DTensor p = video_positions(2, 3, 4, 1);
  ASSERT_EQ(p.shape()[1], 25u);
  const std::size_t tok = 1 + (1 * 3 + 2) * 4 + 3;
  EXPECT_EQ(p(0, tok, 0), 1.0);
  EXPECT_EQ(p(0, tok, 1), 2.0);
  EXPECT_EQ(p(0, tok, 2), 3.0);
  expect_invalid([] { tubelet_grid({.frames = 15}); }, {"tubelet_grid", "'frames'", "15", "tubelet_time", "2"});
  expect_invalid([] { tubelet_grid({.width = 200}); }, {"'width'", "200", "patch_width", "16"});
}

TEST(Timesformer, MatchesHfEmbeddingStepsWithResizing) {
  const Tensor space = ref("space_in"), time = ref("time_in");
  const Encoding e = timesformer(space, time, {.height = 3, .width = 5, .frames = 4});
  const Tensor want = ref("timesformer");
  ASSERT_EQ(e.input_add.shape()[1], want.shape()[0]);
  Tensor got = e.input_add;
  got.reshape({want.shape()[0], want.shape()[1]});
  EXPECT_LT(test::max_abs_diff(got, want), 1e-6);
  // Matching sizes: token 1 + n F + t is space[1 + n] + time[t] exactly.
  const Encoding same = timesformer(space, time, {.height = 4, .width = 4, .frames = 6});
  EXPECT_EQ(same.input_add(0, 1 + 5 * 6 + 2, 1), space(1 + 5, 1) + time(2, 1));
  const Encoding so = timesformer(space, {}, {.height = 4, .width = 4, .frames = 6, .space_only = true});
  EXPECT_EQ(so.input_add.shape()[1], 17u);
  expect_invalid([&] { timesformer(space, ref("vivit_grid_in"), {.height = 4, .width = 4}); }, {"timesformer", "'time_table'"});
}

TEST(Vivit, InitFromImageMatchesScipyZoom) {
  const Tensor grid = ref("vivit_grid_in");  // [4, 5, 2]
  Tensor image = Tensor::from_shape({1 + 20, 2});
  image(0, 0) = 7, image(0, 1) = -7;  // class row
  std::copy(grid.begin(), grid.end(), image.begin() + 2);
  const Tensor zoom = ref("vivit_zoom");  // [7, 3, 2]
  const Tensor t = vivit_table_from_image(image, 4, 5, {2, 7, 3}, 1, VivitInit::resize_tile);
  ASSERT_EQ(t.shape()[0], 1u + 2 * 21);
  EXPECT_EQ(t(0, 0), 7.0f);
  for (std::size_t f = 0; f < 2; ++f)
    for (std::size_t i = 0; i < 21; ++i)
      for (std::size_t c = 0; c < 2; ++c) EXPECT_NEAR(t(1 + f * 21 + i, c), zoom.data()[i * 2 + c], 1e-6);
  const Tensor tiled = vivit_table_from_image(image, 4, 5, {3, 4, 5}, 1, VivitInit::tile);
  EXPECT_EQ(tiled(1 + 2 * 20 + 7, 1), image(1 + 7, 1));
  EXPECT_LT(test::max_abs_diff(interpolate_time_aligned(ref("time_in"), 9), ref("vivit_time")), 1e-6);
  expect_invalid([&] { vivit_table_from_image(image, 4, 5, {3, 4, 6}, 1, VivitInit::tile); }, {"vivit_table_from_image", "tile"});
}

TEST(SinCos3d, ScenicAndPositionalEncodingsLayouts) {
  const Tensor a = sincos_3d_table({.grid = {2, 3, 4}, .dim = 12});
  EXPECT_LT(test::max_abs_diff(a, ref("sincos3d_scenic")), 1e-6);
  const Tensor b = sincos_3d_table({.grid = {2, 3, 4}, .dim = 10, .layout = SinCos3dLayout::positional_encodings});
  EXPECT_LT(test::max_abs_diff(b, ref("sincos3d_pe")), 1e-6);
  expect_invalid([] { sincos_3d_table({.grid = {2, 3, 4}, .dim = 8}); }, {"sincos_3d", "'dim'", "multiple of 6", "8"});
}

TEST(Videomae, OneSinusoidOverAllTubeletTokens) {
  const Encoding e = videomae_sinusoid({2, 3, 4}, 16);
  const Tensor s = sinusoid_table(24, {.dim = 16});
  Tensor got = e.input_add;
  got.reshape({24, 16});
  EXPECT_EQ(test::max_abs_diff(got, s), 0.0);
  // Interleaved paper form: channel 2k = sin(p / 1e4^(2k/d)), 2k+1 = cos.
  EXPECT_NEAR(got(17, 2), std::sin(17 / std::pow(1e4, 2.0 / 16)), 1e-6);
  EXPECT_NEAR(got(17, 3), std::cos(17 / std::pow(1e4, 2.0 / 16)), 1e-6);
}

TEST(Rope3d, ScoresDependOnlyOnPerAxisOffsets) {
  const DTensor p = video_positions(3, 3, 4);
  const Rope3dOptions o{.head_dim = 16, .sections = {2, 3, 3}};
  const Encoding e = rope_3d(p, o);
  const std::size_t n = 36, d = 16;
  Tensor q = Tensor::from_shape({1, 1, n, d}), k = Tensor::from_shape({1, 1, n, d});
  const Tensor bq = test::random_tensor({d}, 1), bk = test::random_tensor({d}, 2);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t c = 0; c < d; ++c) q(0, 0, i, c) = bq(c), k(0, 0, i, c) = bk(c);
  const Tensor s = attention_scores(q, k, e);
  auto tok = [](int t, int y, int x) { return std::size_t((t * 3 + y) * 4 + x); };
  EXPECT_NEAR(s(0, 0, tok(0, 0, 0), tok(1, 2, 1)), s(0, 0, tok(1, 0, 2), tok(2, 2, 3)), 1e-5);
  EXPECT_NEAR(s(0, 0, tok(2, 1, 3), tok(0, 0, 0)), s(0, 0, tok(2, 2, 3), tok(0, 1, 0)), 1e-5);
  EXPECT_GT(std::abs(s(0, 0, tok(0, 0, 0), tok(1, 0, 0)) - s(0, 0, tok(0, 0, 0), tok(0, 1, 0))), 1e-4);
  // Angles by hand: pair 2 (first of h) = y * base^0, pair 5 (first of w) = x.
  EXPECT_EQ(e.rotation.query_angles(0, 0, tok(1, 2, 3), 1), 1 * std::pow(1e4, -0.5));
  EXPECT_EQ(e.rotation.query_angles(0, 0, tok(1, 2, 3), 2), 2.0);
  EXPECT_EQ(e.rotation.query_angles(0, 0, tok(1, 2, 3), 5), 3.0);
  expect_invalid([&] { rope_3d(p, {.head_dim = 16, .sections = {2, 3, 4}}); }, {"rope_3d", "'sections'", "9", "8"});
}

TEST(ResampleTime, MatchesPyTorchOneDimensionalKernels) {
  const Tensor t = ref("time_in");
  EXPECT_LT(test::max_abs_diff(resample_time(t, 10, {.interpolation = Interpolation::nearest, .antialias = false}),
                               ref("time_nearest")), 1e-6);
  EXPECT_LT(test::max_abs_diff(resample_time(t, 10, {.interpolation = Interpolation::bilinear, .antialias = false}),
                               ref("time_linear")), 1e-6);
  EXPECT_LT(test::max_abs_diff(resample_time(t, 10, {.interpolation = Interpolation::bicubic, .antialias = false}),
                               ref("time_cubic")), 1e-6);
  EXPECT_EQ(test::max_abs_diff(resample_time(t, 6), t), 0.0);
  expect_invalid([&] { resample_time(t, 0); }, {"resample_time", "'new_frames'", "0"});
}

}  // namespace
}  // namespace posenc
