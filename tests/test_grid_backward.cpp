// Backward passes of the image, video, sphere and spectrogram builders.
// Oracles: the adjoint identity <A x, y> = <x, A^T y> in double with random x
// and y for every linear table map (all resampling kernels and options, prefix
// rows, up- and downsampling, non-square grids), small hand cases, central
// finite differences for RoPE-Mixed, and the errors of bad gradients.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>

#include "posenc/gradients.hpp"
#include "posenc/image.hpp"
#include "posenc/spectrogram.hpp"
#include "posenc/sphere.hpp"
#include "posenc/text.hpp"
#include "posenc/video.hpp"
#include "support/helpers.hpp"

namespace posenc {
namespace {

using test::expect_invalid;
using test::random_tensor;

double dot_abs(const Tensor& a, const Tensor& b, bool absolute = false) {
  EXPECT_EQ(a.shape().size(), b.shape().size());
  EXPECT_EQ(a.size(), b.size());
  double s = 0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    const double p = static_cast<double>(a.data()[i]) * static_cast<double>(b.data()[i]);
    s += absolute ? std::abs(p) : p;
  }
  return s;
}

/// <A x, y> == <x, A^T y>: `ax` = A x, `aty` = A^T y; the shapes must match their partners.
void expect_adjoint(const Tensor& x, const Tensor& ax, const Tensor& y, const Tensor& aty, const std::string& what) {
  ASSERT_EQ(shape_string(ax), shape_string(y)) << what;
  ASSERT_EQ(shape_string(x), shape_string(aty)) << what;
  const double lhs = dot_abs(ax, y), rhs = dot_abs(x, aty);
  const double scale = dot_abs(ax, y, true) + dot_abs(x, aty, true);
  EXPECT_NEAR(lhs, rhs, 1e-5 * scale + 1e-12) << what;
}

template <class T>
Shape shape_of(const xt::xarray<T>& t) {
  return Shape(t.shape().begin(), t.shape().end());
}

BiasGrad bias_table_grad(Tensor table) {
  BiasGrad b;
  b.table = std::move(table);
  return b;
}

BiasGrad bias_slopes_grad(Tensor slopes) {
  BiasGrad b;
  b.slopes = std::move(slopes);
  return b;
}

DTensor random_dtensor(const Shape& shape, std::uint64_t seed) {
  const Tensor f = random_tensor(shape, seed);
  DTensor d = DTensor::from_shape(shape);
  std::copy(f.begin(), f.end(), d.begin());
  return d;
}

const std::pair<const char*, ResampleOptions> kKernels[] = {
    {"bicubic_aa", {Interpolation::bicubic, true}},   {"bicubic", {Interpolation::bicubic, false}},
    {"bilinear_aa", {Interpolation::bilinear, true}}, {"bilinear", {Interpolation::bilinear, false}},
    {"nearest", {Interpolation::nearest, false}}};

// ---------------------------------------------------------------------- resampling kernels

TEST(GridBackwardResample, AdjointIdentityEveryKernelAndShape) {
  // (H, W) -> (new_h, new_w): up, down, mixed, non-square, one-row grids and the identity.
  const std::int64_t cases[][4] = {{4, 4, 8, 8}, {9, 6, 3, 2}, {5, 7, 9, 4}, {3, 5, 3, 5},
                                   {1, 4, 3, 2}, {7, 3, 7, 10}, {2, 2, 1, 1}};
  std::uint64_t seed = 10;
  for (const auto& [name, opt] : kKernels)
    for (const auto& c : cases) {
      const Tensor x = random_tensor({static_cast<std::size_t>(c[0]), static_cast<std::size_t>(c[1]), 3}, ++seed);
      const Tensor y = random_tensor({static_cast<std::size_t>(c[2]), static_cast<std::size_t>(c[3]), 3}, ++seed);
      expect_adjoint(x, resample_grid(x, c[2], c[3], opt), y, resample_grid_backward(y, c[0], c[1], opt),
                     std::string(name) + " " + std::to_string(c[0]) + "x" + std::to_string(c[1]) + "->" +
                         std::to_string(c[2]) + "x" + std::to_string(c[3]));
    }
}

TEST(GridBackwardResample, AbsPosEmbedPrefixRowsPassThrough) {
  std::uint64_t seed = 100;
  for (const auto& [name, opt] : kKernels)
    for (std::int64_t prefix : {0, 1, 4}) {
      const Tensor x = random_tensor({static_cast<std::size_t>(prefix + 3 * 5), 4}, ++seed);
      const Tensor y = random_tensor({static_cast<std::size_t>(prefix + 7 * 2), 4}, ++seed);
      const Tensor d = resample_abs_pos_embed_backward(y, 3, 5, 7, 2, prefix, opt);
      expect_adjoint(x, resample_abs_pos_embed(x, 3, 5, 7, 2, prefix, opt), y, d,
                     std::string(name) + " prefix " + std::to_string(prefix));
      for (std::size_t i = 0; i < static_cast<std::size_t>(prefix) * 4; ++i) EXPECT_EQ(d.data()[i], y.data()[i]);
    }
  // The same grid is the identity both ways.
  const Tensor y = random_tensor({1 + 12, 4}, 7);
  EXPECT_EQ(test::max_abs_diff(resample_abs_pos_embed_backward(y, 3, 4, 3, 4), y), 0.0);
}

TEST(GridBackwardResample, NearestTwoByTwoToFourByFourGathersBlocks) {
  // Nearest 2x2 -> 4x4 copies each cell into a 2x2 block: each cell collects its block's 4 gradients.
  Tensor d = Tensor::from_shape({4, 4, 1});
  for (std::size_t i = 0; i < 16; ++i) d.data()[i] = static_cast<float>(i);
  const Tensor g = resample_grid_backward(d, 2, 2, {Interpolation::nearest, false});
  ASSERT_EQ(shape_of(g), (Shape{2, 2, 1}));
  EXPECT_EQ(g(0, 0, 0), 0 + 1 + 4 + 5);
  EXPECT_EQ(g(0, 1, 0), 2 + 3 + 6 + 7);
  EXPECT_EQ(g(1, 0, 0), 8 + 9 + 12 + 13);
  EXPECT_EQ(g(1, 1, 0), 10 + 11 + 14 + 15);
}

TEST(GridBackwardResample, BilinearOneDimensionalByHand) {
  // Bilinear 2 -> 4 (no antialias), s = 1/2, u = max(o/2 - 1/4, 0):
  // rows of A: (1, 0), (3/4, 1/4), (1/4, 3/4), (0, 1)  (the last clamps u = 5/4 onto the end).
  // A^T (1, 2, 3, 4) = (1 + 3/2 + 3/4, 1/2 + 9/4 + 4) = (3.25, 6.75).
  const ResampleOptions bl{Interpolation::bilinear, false};
  const Tensor t = resample_time_backward(test::make({4, 1}, {1, 2, 3, 4}), 2, bl);
  EXPECT_DOUBLE_EQ(t(0, 0), 3.25);
  EXPECT_DOUBLE_EQ(t(1, 0), 6.75);
  const Tensor g = resample_grid_backward(test::make({1, 4, 1}, {1, 2, 3, 4}), 1, 2, bl);
  EXPECT_DOUBLE_EQ(g(0, 0, 0), 3.25);
  EXPECT_DOUBLE_EQ(g(0, 1, 0), 6.75);
}

TEST(GridBackwardResample, RelativeBiasTableResize) {
  for (bool extra : {false, true}) {
    const std::size_t e = extra ? 3 : 0;
    const Tensor x = random_tensor({2, 5 * 5 + e}, 21);
    const Tensor y = random_tensor({2, 9 * 7 + e}, 22);
    expect_adjoint(x, resize_relative_bias_table(x, 3, 3, 5, 4), y, resize_relative_bias_table_backward(y, 3, 3, 5, 4),
                   extra ? "with class rows" : "plain");
    const Tensor d = resize_relative_bias_table_backward(y, 3, 3, 5, 4);
    for (std::size_t i = 0; i < e; ++i) EXPECT_EQ(d(1, 25 + i), y(1, 63 + i));
  }
}

// ---------------------------------------------------------------------- video

TEST(GridBackwardVideo, TimeResamplingAndAlignedInterpolation) {
  std::uint64_t seed = 200;
  for (const auto& [name, opt] : kKernels)
    for (auto [t0, t1] : {std::pair{5, 9}, {8, 3}, {1, 4}, {6, 6}}) {
      const Tensor x = random_tensor({static_cast<std::size_t>(t0), 3}, ++seed);
      const Tensor y = random_tensor({static_cast<std::size_t>(t1), 3}, ++seed);
      expect_adjoint(x, resample_time(x, t1, opt), y, resample_time_backward(y, t0, opt), name);
    }
  for (auto [t0, t1] : {std::pair{5, 9}, {7, 3}, {1, 4}, {4, 1}, {3, 3}}) {
    const Tensor x = random_tensor({static_cast<std::size_t>(t0), 2}, ++seed);
    const Tensor y = random_tensor({static_cast<std::size_t>(t1), 2}, ++seed);
    expect_adjoint(x, interpolate_time_aligned(x, t1), y, interpolate_time_aligned_backward(y, t0),
                   "aligned " + std::to_string(t0) + "->" + std::to_string(t1));
  }
  // Aligned 2 -> 3: rows (1, 0), (1/2, 1/2), (0, 1); A^T (1, 2, 4) = (2, 5).
  const Tensor h = interpolate_time_aligned_backward(test::make({3, 1}, {1, 2, 4}), 2);
  EXPECT_DOUBLE_EQ(h(0, 0), 2.0);
  EXPECT_DOUBLE_EQ(h(1, 0), 5.0);
}

TEST(GridBackwardVideo, VivitInitialisationFromImage) {
  std::uint64_t seed = 300;
  const struct { VivitInit init; VideoGrid g; } cases[] = {{VivitInit::resize, {3, 5, 2}},
                                                           {VivitInit::resize_tile, {2, 2, 6}},
                                                           {VivitInit::tile, {4, 3, 4}},
                                                           {VivitInit::resize_tile, {1, 3, 4}}};
  for (const auto& c : cases)
    for (std::int64_t prefix : {0, 1}) {
      const Tensor x = random_tensor({static_cast<std::size_t>(prefix + 3 * 4), 3}, ++seed);
      const Tensor y = random_tensor({static_cast<std::size_t>(prefix + c.g.tokens()), 3}, ++seed);
      const Tensor d = vivit_table_from_image_backward(y, 3, 4, c.g, prefix, c.init);
      expect_adjoint(x, vivit_table_from_image(x, 3, 4, c.g, prefix, c.init), y, d,
                     "init " + std::to_string(static_cast<int>(c.init)));
      if (prefix == 1) {
        for (std::size_t ch = 0; ch < 3; ++ch) EXPECT_EQ(d(0, ch), y(0, ch));
      }
    }
}

TEST(GridBackwardVideo, TimesformerSpaceAndTimeTables) {
  // (old square side, old frames) -> (H, W, F): resized both, resized space only, none.
  const struct { std::size_t side, frames; TimesformerOptions o; } cases[] = {
      {4, 5, {.height = 3, .width = 6, .frames = 8}},
      {2, 3, {.height = 4, .width = 4, .frames = 3}},
      {3, 2, {.height = 3, .width = 3, .frames = 2}},
      {3, 2, {.height = 2, .width = 5, .frames = 2, .space_only = true}}};
  std::uint64_t seed = 400;
  for (const auto& c : cases) {
    const Tensor s = random_tensor({1 + c.side * c.side, 4}, ++seed), t = random_tensor({c.frames, 4}, ++seed);
    const Encoding e = timesformer(s, t, c.o);
    EncodingGrad g;
    g.input_add = random_tensor(shape_of(e.input_add), ++seed);
    const TimesformerGrad d = timesformer_backward(s, t, c.o, g);
    ASSERT_EQ(shape_of(d.space_table), shape_of(s));
    ASSERT_EQ(shape_of(d.time_table), shape_of(t));
    // <A (s, t), G> = <s, ds> + <t, dt>.
    const double lhs = dot_abs(e.input_add, g.input_add);
    const double rhs = dot_abs(s, d.space_table) + dot_abs(t, d.time_table);
    const double scale = dot_abs(e.input_add, g.input_add, true);
    EXPECT_NEAR(lhs, rhs, 1e-5 * scale) << c.side << " " << c.o.height << "x" << c.o.width;
    for (std::size_t ch = 0; ch < 4; ++ch) EXPECT_EQ(d.space_table(0, ch), g.input_add(0, 0, ch));  // class row
    if (c.o.space_only) {
      for (float v : d.time_table) EXPECT_EQ(v, 0.0f);
    }
  }
  // No resize: d space[1 + n] = sum over frames, d time[t] = sum over patches.
  const Tensor s = random_tensor({1 + 4, 2}, 1), t = random_tensor({3, 2}, 2);
  const TimesformerOptions o{.height = 2, .width = 2, .frames = 3};
  EncodingGrad g;
  g.input_add = random_tensor({1, 1 + 4 * 3, 2}, 3);
  const TimesformerGrad d = timesformer_backward(s, t, o, g);
  double ds = 0, dt = 0;
  for (std::size_t f = 0; f < 3; ++f) ds += g.input_add(0, 1 + 2 * 3 + f, 1);
  for (std::size_t n = 0; n < 4; ++n) dt += g.input_add(0, 1 + n * 3 + 1, 1);
  EXPECT_NEAR(d.space_table(3, 1), ds, 1e-6);
  EXPECT_NEAR(d.time_table(1, 1), dt, 1e-6);
}

// ---------------------------------------------------------------------- sphere

TEST(GridBackwardSphere, LatitudeAndCellTables) {
  const Tensor lat = random_tensor({5, 3}, 31), cells = random_tensor({5 * 4, 3}, 32);
  EncodingGrad g;
  g.input_add = random_tensor({1, 20, 3}, 33);
  expect_adjoint(lat, latitude_table_encoding(lat, 4).input_add, g.input_add,
                 latitude_table_encoding_backward(lat, 4, g), "latitude table");
  expect_adjoint(cells, latlon_table_encoding(cells).input_add, g.input_add, latlon_table_encoding_backward(cells, g),
                 "latlon table");
  const Tensor d = latitude_table_encoding_backward(lat, 4, g);
  double ring = 0;
  for (std::size_t j = 0; j < 4; ++j) ring += g.input_add(0, 2 * 4 + j, 1);
  EXPECT_NEAR(d(2, 1), ring, 1e-6);
}

TEST(GridBackwardSphere, BilinearRegridAdjoint) {
  using G = LatLonGrid;
  const struct { std::int64_t nlat, nlon; G from; std::int64_t nl, nn; G to; } cases[] = {
      {5, 8, G::with_poles, 9, 16, G::with_poles},   {9, 16, G::with_poles, 4, 6, G::without_poles},
      {6, 10, G::without_poles, 7, 7, G::with_poles}, {4, 1, G::without_poles, 8, 5, G::without_poles},
      {5, 8, G::with_poles, 5, 8, G::with_poles},     {5, 8, G::with_poles, 5, 8, G::without_poles}};
  std::uint64_t seed = 500;
  for (const auto& c : cases) {
    const Tensor x = random_tensor({static_cast<std::size_t>(c.nlat), static_cast<std::size_t>(c.nlon), 2}, ++seed);
    const Tensor y = random_tensor({static_cast<std::size_t>(c.nl), static_cast<std::size_t>(c.nn), 2}, ++seed);
    expect_adjoint(x, regrid_latlon(x, c.from, c.nl, c.nn, c.to), y,
                   regrid_latlon_backward(y, c.nlat, c.nlon, c.from, c.to),
                   std::to_string(c.nlat) + "x" + std::to_string(c.nlon) + "->" + std::to_string(c.nl) + "x" +
                       std::to_string(c.nn));
  }
}

TEST(GridBackwardSphere, HarmonicRegridAdjoint) {
  using G = LatLonGrid;
  const struct { std::int64_t nlat, nlon; G from; std::int64_t nl, nn; G to; std::int64_t degree; } cases[] = {
      {9, 16, G::with_poles, 12, 20, G::without_poles, 0}, {6, 10, G::without_poles, 9, 16, G::with_poles, 3},
      {5, 1, G::without_poles, 7, 6, G::without_poles, 0}, {8, 12, G::with_poles, 8, 12, G::with_poles, 0},
      {7, 9, G::without_poles, 4, 5, G::without_poles, 4}};
  std::uint64_t seed = 600;
  for (const auto& c : cases) {
    const Tensor x = random_tensor({static_cast<std::size_t>(c.nlat), static_cast<std::size_t>(c.nlon), 3}, ++seed);
    const Tensor y = random_tensor({static_cast<std::size_t>(c.nl), static_cast<std::size_t>(c.nn), 3}, ++seed);
    expect_adjoint(x, regrid_latlon_harmonics(x, c.from, c.nl, c.nn, c.to, c.degree), y,
                   regrid_latlon_harmonics_backward(y, c.nlat, c.nlon, c.from, c.to, c.degree),
                   "harmonic " + std::to_string(c.nlat) + "x" + std::to_string(c.nlon) + "->" +
                       std::to_string(c.nl) + "x" + std::to_string(c.nn));
  }
  expect_invalid([] { regrid_latlon_harmonics_backward(Tensor::from_shape({4, 4, 1}), 5, 8, LatLonGrid::with_poles,
                                                       LatLonGrid::with_poles, 9); },
                 {"regrid_latlon_harmonics_backward", "'degree'", "9"});
}

/// The core's table gradient for a lookup bias: dS [H, Nq, Nk] summed per index.
Tensor scatter(const Tensor& dense, const ITensor& idx, std::size_t rows) {
  const std::size_t H = dense.shape()[0], n = idx.size();
  Tensor t = xt::zeros<float>(Shape{H, rows});
  for (std::size_t h = 0; h < H; ++h)
    for (std::size_t p = 0; p < n; ++p) t(h, static_cast<std::size_t>(idx.data()[p])) += dense.data()[h * n + p];
  return t;
}

TEST(GridBackwardSphere, BucketTableAndLearnableSlopes) {
  const DTensor pts = latlon_grid(4, 5, LatLonGrid::without_poles);
  const GeodesicBuckets gb{.num_buckets = 8, .resolution_degrees = 10.0, .max_degrees = 180.0};
  const Tensor table = random_tensor({3, 8}, 41);
  const ITensor idx = geodesic_bucket_indices(pts, pts, gb);
  // <b(table), dS> = <table, backward(scatter(dS))> with b[h, i, j] = table[h, idx(i, j)].
  const Tensor dS = random_tensor({3, 20, 20}, 42);
  Tensor b = Tensor::from_shape({3, 20, 20});
  for (std::size_t h = 0; h < 3; ++h)
    for (std::size_t p = 0; p < 400; ++p) b.data()[h * 400 + p] = table(h, static_cast<std::size_t>(idx.data()[p]));
  EncodingGrad g;
  g.biases.push_back(bias_table_grad(scatter(dS, idx, 8)));
  expect_adjoint(table, b, dS, geodesic_bucket_bias_backward(pts, pts, table, gb, g), "bucket table");
  // A shared table [1, B] receives the sum over heads.
  const Tensor shared = random_tensor({1, 8}, 43);
  const Tensor ds = geodesic_bucket_bias_backward(pts, pts, shared, gb, g);
  ASSERT_EQ(shape_of(ds), (Shape{1, 8}));
  EXPECT_NEAR(ds(0, 5), g.biases[0].table(0, 5) + g.biases[0].table(1, 5) + g.biases[0].table(2, 5), 1e-6);
  // Learnable slopes: the overload reproduces the fixed ALiBi slopes, and d slopes is the core's.
  const auto fixed = alibi_slopes(4);
  Tensor slopes = Tensor::from_shape({4});
  for (std::size_t h = 0; h < 4; ++h) slopes(h) = static_cast<float>(fixed[h]);
  EXPECT_EQ(test::max_abs_diff(geodesic_alibi(pts, pts, slopes).biases[0].slopes,
                               geodesic_alibi(pts, pts, 4).biases[0].slopes), 0.0);
  EncodingGrad gs;
  gs.biases.push_back(bias_slopes_grad(random_tensor({4}, 44)));
  EXPECT_EQ(test::max_abs_diff(geodesic_alibi_backward(pts, pts, slopes, gs), gs.biases[0].slopes), 0.0);
  const DTensor yx = grid_positions(2, 3);
  EXPECT_EQ(test::max_abs_diff(alibi_2d_backward(yx, yx, slopes, gs), gs.biases[0].slopes), 0.0);
  EXPECT_EQ(test::max_abs_diff(alibi_2d(yx, yx, slopes).biases[0].slopes, alibi_2d(yx, yx, 4).biases[0].slopes), 0.0);
}

// ---------------------------------------------------------------------- image tables

TEST(GridBackwardImage, RelativeBias2dWithClassTokenEntries) {
  for (bool cls : {false, true}) {
    const std::int64_t rows = relative_bias_table_rows(2, 3, cls);
    const Tensor table = random_tensor({2, static_cast<std::size_t>(rows)}, 51);
    const ITensor idx = relative_position_index_2d(2, 3, cls);
    const std::size_t n = idx.shape()[0];
    const Tensor dS = random_tensor({2, n, n}, 52);
    Tensor b = Tensor::from_shape({2, n, n});
    for (std::size_t h = 0; h < 2; ++h)
      for (std::size_t p = 0; p < n * n; ++p) b.data()[h * n * n + p] = table(h, static_cast<std::size_t>(idx.data()[p]));
    EncodingGrad g;
    g.biases.push_back(bias_table_grad(scatter(dS, idx, static_cast<std::size_t>(rows))));
    const Tensor d = relative_bias_2d_backward(2, 3, table, g, cls);
    expect_adjoint(table, b, dS, d, cls ? "beit" : "swin");
    if (cls) {
      EXPECT_NEAR(d(1, static_cast<std::size_t>(rows) - 1), dS(1, 0, 0), 1e-6);  // [cls, cls] = T + 2
    }
  }
}

TEST(GridBackwardImage, RopeMixedFiniteDifferencesAndHandCase) {
  // Queries batch-specific ([2, N, 2]), keys shared ([1, N, 2]); loss = sum G * angles(freqs).
  DTensor qp = DTensor::from_shape({2, 3, 2}), kp = DTensor::from_shape({1, 4, 2});
  for (std::size_t i = 0; i < qp.size(); ++i) qp.data()[i] = 0.5 * static_cast<double>(i % 5) - 0.7;
  for (std::size_t i = 0; i < kp.size(); ++i) kp.data()[i] = 0.3 * static_cast<double>(i) - 1.0;
  const Tensor freqs = rope_mixed_init(2, 12, 10.0, true, 5);  // [2, 2, 6]
  const Encoding e = rope_mixed(qp, kp, freqs);
  EncodingGrad g;
  g.rotation.query_angles = random_dtensor(shape_of(e.rotation.query_angles), 61);
  g.rotation.key_angles = random_dtensor(shape_of(e.rotation.key_angles), 62);
  auto loss = [&](const Tensor& f) {
    const Encoding x = rope_mixed(qp, kp, f);
    double s = 0;
    for (std::size_t i = 0; i < x.rotation.query_angles.size(); ++i)
      s += g.rotation.query_angles.data()[i] * x.rotation.query_angles.data()[i];
    for (std::size_t i = 0; i < x.rotation.key_angles.size(); ++i)
      s += g.rotation.key_angles.data()[i] * x.rotation.key_angles.data()[i];
    return s;
  };
  const Tensor d = rope_mixed_backward(qp, kp, freqs, g);
  ASSERT_EQ(shape_of(d), shape_of(freqs));
  for (std::size_t i = 0; i < freqs.size(); ++i) {
    Tensor up = freqs, dn = freqs;
    up.data()[i] += 0.01f;
    dn.data()[i] -= 0.01f;
    const double step = static_cast<double>(up.data()[i]) - static_cast<double>(dn.data()[i]);
    const double fd = (loss(up) - loss(dn)) / step;
    EXPECT_NEAR(d.data()[i], fd, 1e-6 * (1 + std::abs(fd))) << "element " << i;
  }
  // Hand case: one token at (y, x) = (2, 3) as query and key, unit gradients on (h 1, k 0):
  // d f_x = 3 + 3, d f_y = 2 + 2.
  const DTensor p = test::make({1, 1, 2}, {2, 3});
  EncodingGrad h;
  h.rotation.query_angles = xt::zeros<double>(Shape{1, 2, 1, 6});
  h.rotation.key_angles = xt::zeros<double>(Shape{1, 2, 1, 6});
  h.rotation.query_angles(0, 1, 0, 0) = 1;
  h.rotation.key_angles(0, 1, 0, 0) = 1;
  const Tensor dh = rope_mixed_backward(p, freqs, h);
  EXPECT_EQ(dh(0, 1, 0), 6.0f);
  EXPECT_EQ(dh(1, 1, 0), 4.0f);
  EXPECT_EQ(dh(0, 0, 0), 0.0f);
}

// ---------------------------------------------------------------------- spectrogram

TEST(GridBackwardSpectrogram, AstTableAdaptationAdjoint) {
  const struct { SpectrogramGrid from, to; } cases[] = {
      {{24, 24}, {12, 30}}, {{12, 101}, {12, 50}}, {{5, 7}, {8, 3}}, {{6, 4}, {6, 4}}, {{3, 9}, {7, 9}}};
  std::uint64_t seed = 700;
  for (auto mode : {TableAdaptation::crop_or_interpolate, TableAdaptation::interpolate})
    for (const auto& c : cases) {
      const Tensor x = random_tensor({static_cast<std::size_t>(2 + c.from.tokens()), 3}, ++seed);
      const Tensor y = random_tensor({static_cast<std::size_t>(2 + c.to.tokens()), 3}, ++seed);
      const Tensor d = adapt_spectrogram_table_backward(y, c.from, c.to, 2, mode);
      expect_adjoint(x, adapt_spectrogram_table(x, c.from, c.to, 2, mode), y, d,
                     std::to_string(c.from.f_dim) + "x" + std::to_string(c.from.t_dim) + "->" +
                         std::to_string(c.to.f_dim) + "x" + std::to_string(c.to.t_dim));
      for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ(d.data()[i], y.data()[i]);  // prefix rows
    }
  // Crop 1 x 5 -> 1 x 2 keeps columns [5/2 - 1, +2) = [1, 3): the gradient lands there.
  const Tensor d = adapt_spectrogram_table_backward(test::make({2, 1}, {7, 9}), {1, 5}, {1, 2}, 0);
  const float want[5] = {0, 7, 9, 0, 0};
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(d(i, 0), want[i]);
}

// ---------------------------------------------------------------------- bad input

TEST(GridBackwardErrors, WrongShapesAndMissingParts) {
  expect_invalid([] { resample_grid_backward(Tensor::from_shape({4, 4}), 2, 2); },
                 {"resample_grid_backward", "'d_out'", "[4, 4]"});
  expect_invalid([] { resample_grid_backward(Tensor::from_shape({4, 4, 1}), 0, 2); },
                 {"resample_grid_backward", "0x2"});
  expect_invalid([] { resample_abs_pos_embed_backward(Tensor::from_shape({9, 3}), 2, 2, 3, 3); },
                 {"resample_abs_pos_embed_backward", "'d_out'", "10", "[9, 3]"});
  expect_invalid([] { resample_time_backward(Tensor::from_shape({3, 2, 1}), 2); },
                 {"resample_time_backward", "'d_out'"});
  expect_invalid([] { adapt_spectrogram_table_backward(Tensor::from_shape({5, 2}), {2, 2}, {2, 2}, 2); },
                 {"adapt_spectrogram_table_backward", "'d_out'", "[5, 2]"});
  expect_invalid([] { regrid_latlon_backward(Tensor::from_shape({3, 4}), 3, 4, LatLonGrid::with_poles,
                                             LatLonGrid::with_poles); },
                 {"regrid_latlon_backward", "'d_out'"});
  expect_invalid([] { vivit_table_from_image_backward(Tensor::from_shape({8, 2}), 2, 2, {2, 2, 2}); },
                 {"vivit_table_from_image_backward", "'d_out'", "[8, 2]"});
  const EncodingGrad empty;
  const DTensor p = grid_positions(2, 2);
  const Tensor freqs = rope_mixed_init(2, 8);
  expect_invalid([&] { rope_mixed_backward(p, freqs, empty); }, {"rope_mixed_backward", "query_angles"});
  EncodingGrad wrong;
  wrong.rotation.query_angles = xt::zeros<double>(Shape{1, 3, 4, 4});
  wrong.rotation.key_angles = xt::zeros<double>(Shape{1, 2, 4, 4});
  expect_invalid([&] { rope_mixed_backward(p, freqs, wrong); }, {"rope_mixed_backward", "[1, 2, 4, 4]", "[1, 3, 4, 4]"});
  const Tensor s = random_tensor({5, 2}, 1), t = random_tensor({2, 2}, 2);
  expect_invalid([&] { timesformer_backward(s, t, {.height = 2, .width = 2, .frames = 2}, empty); },
                 {"timesformer_backward", "input_add"});
  EncodingGrad bad_add;
  bad_add.input_add = Tensor::from_shape({1, 5, 2});
  expect_invalid([&] { timesformer_backward(s, t, {.height = 2, .width = 2, .frames = 2}, bad_add); },
                 {"timesformer_backward", "[1, 9, 2]", "[1, 5, 2]"});
  expect_invalid([&] { latitude_table_encoding_backward(s, 3, bad_add); },
                 {"latitude_table_encoding_backward", "[1, 15, 2]"});
  expect_invalid([&] { relative_bias_2d_backward(2, 2, random_tensor({2, 9}, 3), empty); },
                 {"relative_bias_2d_backward", "exactly", "0"});
  EncodingGrad bias;
  bias.biases.push_back(bias_table_grad(Tensor::from_shape({2, 8})));
  expect_invalid([&] { relative_bias_2d_backward(2, 2, random_tensor({2, 9}, 3), bias); },
                 {"relative_bias_2d_backward", "[2, 9]", "[2, 8]"});
  expect_invalid([&] { geodesic_alibi_backward(latlon_grid(2, 2), latlon_grid(2, 2), random_tensor({4}, 4), bias); },
                 {"geodesic_alibi_backward", "slope"});
}

}  // namespace
}  // namespace posenc
