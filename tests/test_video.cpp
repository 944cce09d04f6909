// M-RoPE: position ids built as HF get_rope_index does (hand-computed mixed
// sequences), the sectioned rotation, text-only reduction to 1D RoPE, errors.
#include <gtest/gtest.h>

#include <cmath>

#include "posenc/attention.hpp"
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

}  // namespace
}  // namespace posenc
