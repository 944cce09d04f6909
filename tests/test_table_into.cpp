// The caller-buffer (*_into) variants of the grid, video, spectrogram and sphere table writers:
// into a NaN-filled buffer and again into the same (reused) buffer they write the bits of the
// allocating function (every element, prefix rows included); a buffer of another size is
// rejected with the function, 'out' and both sizes named.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "posenc/image.hpp"
#include "posenc/spectrogram.hpp"
#include "posenc/sphere.hpp"
#include "posenc/video.hpp"
#include "support/helpers.hpp"

namespace {

using namespace posenc;
using posenc::test::expect_invalid;

/// write(buf) into a NaN-filled buffer twice must give fresh's bits; one float short must throw.
void check_into(const std::string& fn, const Tensor& fresh, const std::function<void(std::span<float>)>& write) {
  ASSERT_GT(fresh.size(), 0u) << fn;
  std::vector<float> buf(fresh.size(), std::numeric_limits<float>::quiet_NaN());
  for (int round = 0; round < 2; ++round) {
    write(buf);
    ASSERT_EQ(std::memcmp(buf.data(), fresh.data(), buf.size() * sizeof(float)), 0) << fn << " round " << round;
    if (round == 0) std::fill(buf.begin(), buf.end(), -7.0f);  // the reused buffer holds stale values
  }
  const std::size_t rows = fresh.shape()[0], cols = fresh.size() / rows;
  std::vector<float> short_buf(fresh.size() - 1);
  expect_invalid([&] { write(short_buf); },
                 {fn, "'out'", std::to_string(rows) + " x " + std::to_string(cols) + " = " +
                                   std::to_string(fresh.size()),
                  "got " + std::to_string(fresh.size() - 1)});
}

DTensor latlon_points() {
  DTensor p = DTensor::from_shape({5, 2});
  const double lonlat[5][2] = {{0, 0}, {-180, 90}, {179.5, -90}, {12.25, 47.5}, {-73.9, 40.7}};
  for (std::size_t i = 0; i < 5; ++i) {
    p(i, 0) = lonlat[i][0];
    p(i, 1) = lonlat[i][1];
  }
  return p;
}

TEST(TableInto, SinCos2dEveryLayoutWithPrefixRows) {
  for (const auto layout : {SinCos2dLayout::mae, SinCos2dLayout::timm, SinCos2dLayout::timm_interleaved}) {
    const SinCos2dOptions o{.height = 3, .width = 5, .dim = 16, .layout = layout, .prefix_tokens = 1};
    check_into("sincos_2d_table_into", sincos_2d_table(o), [&](std::span<float> b) { sincos_2d_table_into(o, b); });
  }
}

TEST(TableInto, DetrSineWithAndWithoutPaddingMask) {
  const DetrSineOptions o{.height = 4, .width = 3, .num_pos_feats = 6};
  check_into("detr_sine_into", detr_sine(o), [&](std::span<float> b) { detr_sine_into(o, b); });
  ITensor valid = ITensor::from_shape({4, 3});
  valid.fill(1);
  valid(3, 0) = valid(3, 1) = valid(3, 2) = valid(0, 2) = 0;
  check_into("detr_sine_into", detr_sine(o, valid), [&](std::span<float> b) { detr_sine_into(o, b, valid); });
}

TEST(TableInto, FourierFeaturesPixelAndIndexModes) {
  const FourierFeaturesOptions pixel{.height = 3, .width = 4, .num_bands = 5};
  check_into("fourier_features_into", fourier_features(pixel), [&](std::span<float> b) { fourier_features_into(pixel, b); });
  const FourierFeaturesOptions index{.height = 2, .width = 3, .num_bands = 4, .in_pixels = false, .ref_height = 4,
                                     .ref_width = 6, .include_grid = false};
  check_into("fourier_features_into", fourier_features(index), [&](std::span<float> b) { fourier_features_into(index, b); });
}

TEST(TableInto, SinCos3dBothLayoutsWithPrefixRows) {
  for (const auto layout : {SinCos3dLayout::scenic, SinCos3dLayout::positional_encodings}) {
    const SinCos3dOptions o{.grid = {.t = 2, .h = 3, .w = 2}, .dim = 12, .layout = layout, .prefix_tokens = 2};
    check_into("sincos_3d_table_into", sincos_3d_table(o), [&](std::span<float> b) { sincos_3d_table_into(o, b); });
  }
}

TEST(TableInto, SpectrogramSinCosWithPrefixRows) {
  const SpectrogramGrid g{.f_dim = 3, .t_dim = 4};
  const SpectrogramAxis f{.dim = 6}, t{.dim = 4, .temperature = 100.0, .scale = 0.5};
  check_into("spectrogram_sincos_table_into", spectrogram_sincos_table(g, f, t, 2),
             [&](std::span<float> b) { spectrogram_sincos_table_into(g, f, t, 2, b); });
}

TEST(TableInto, SphereWrapAndEverySphere2VecVariant) {
  const DTensor p = latlon_points();
  check_into("wrap_features_into", wrap_features(p), [&](std::span<float> b) { wrap_features_into(p, b); });
  for (const auto v : {Sphere2VecVariant::sphere_c, Sphere2VecVariant::sphere_c_plus, Sphere2VecVariant::sphere_m,
                       Sphere2VecVariant::sphere_m_plus, Sphere2VecVariant::theory, Sphere2VecVariant::grid}) {
    const Sphere2VecOptions o{.variant = v, .scales = 3};
    check_into("sphere2vec_features_into", sphere2vec_features(p, o),
               [&](std::span<float> b) { sphere2vec_features_into(p, o, b); });
  }
}

TEST(TableInto, BadOptionsNameTheIntoFunction) {
  std::vector<float> buf(64);
  expect_invalid([&] { sincos_2d_table_into(SinCos2dOptions{.height = 2, .width = 2, .dim = 6}, buf); },
                 {"sincos_2d_table_into", "'dim'", "6"});
  expect_invalid([&] { sincos_3d_table_into(SinCos3dOptions{.grid = {.t = 0, .h = 2, .w = 2}, .dim = 6}, buf); },
                 {"sincos_3d_table_into", "0"});
  expect_invalid([&] { detr_sine_into(DetrSineOptions{.height = 2, .width = 2, .num_pos_feats = 3}, buf); },
                 {"detr_sine_into", "'num_pos_feats'", "3"});
  DTensor bad = latlon_points();
  bad(1, 1) = 91.0;
  expect_invalid([&] { wrap_features_into(bad, buf); }, {"wrap_features_into", "'points'", "91"});
}

}  // namespace
