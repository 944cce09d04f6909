// The sphere modality: grids and unit vectors by hand, Sphere2Vec from the
// paper's table, real spherical harmonics against SciPy's sph_harm (committed
// reference values), locationencoder's own constants, orthonormality under
// Gauss-Legendre quadrature up to L = 200, the addition theorem; geodesic
// biases (symmetry, zero diagonal, antipodes, rotation invariance, haversine)
// through both attention cores; sphere RoPE invariants; regridding.
#include <gtest/gtest.h>

#include <omp.h>

#include <cmath>
#include <tuple>
#include <numbers>

#include "posenc/attention.hpp"
#include "posenc/npy.hpp"
#include "posenc/sphere.hpp"
#include "posenc/text.hpp"
#include "support/helpers.hpp"

namespace posenc {
namespace {

using test::expect_invalid;
using test::random_tensor;
constexpr double kPi = std::numbers::pi;
constexpr double kDeg = kPi / 180;

DTensor pts(std::vector<std::pair<double, double>> lonlat) {
  DTensor p = DTensor::from_shape({lonlat.size(), 2});
  for (std::size_t i = 0; i < lonlat.size(); ++i) p(i, 0) = lonlat[i].first, p(i, 1) = lonlat[i].second;
  return p;
}

/// Gauss-Legendre nodes and weights on [-1, 1] by Newton iteration on P_n (independent of posenc).
void gauss_legendre(int n, std::vector<double>& x, std::vector<double>& w) {
  x.resize(n), w.resize(n);
  for (int i = 0; i < n; ++i) {
    double z = std::cos(kPi * (i + 0.75) / (n + 0.5)), dp = 0;
    for (int it = 0; it < 100; ++it) {
      double p0 = 1, p1 = z;
      for (int k = 2; k <= n; ++k) {
        const double p2 = ((2 * k - 1) * z * p1 - (k - 1) * p0) / k;
        p0 = p1, p1 = p2;
      }
      if (n == 1) p1 = z, p0 = 1;
      dp = n * (z * p1 - p0) / (z * z - 1);
      const double dz = p1 / dp;
      z -= dz;
      if (std::abs(dz) < 1e-16) break;
    }
    x[i] = z;
    w[i] = 2 / ((1 - z * z) * dp * dp);
  }
}

double legendre_p(int l, double x) {  // plain three-term recurrence for P_l
  double p0 = 1, p1 = x;
  if (l == 0) return 1;
  for (int k = 2; k <= l; ++k) {
    const double p2 = ((2 * k - 1) * x * p1 - (k - 1) * p0) / k;
    p0 = p1, p1 = p2;
  }
  return p1;
}

TEST(SphereGrid, EquiangularWithAndWithoutPoles) {
  const DTensor a = latlon_grid(3, 4);
  ASSERT_EQ(a.shape()[0], 12u);
  EXPECT_EQ(a(0, 1), 90.0);
  EXPECT_EQ(a(4, 1), 0.0);
  EXPECT_EQ(a(11, 1), -90.0);
  EXPECT_EQ(a(5, 0), -90.0);  // lon_1 = -180 + 360/4
  const DTensor b = latlon_grid(2, 1, LatLonGrid::without_poles);
  EXPECT_EQ(b(0, 1), 45.0);
  EXPECT_EQ(b(1, 1), -45.0);
  expect_invalid([] { latlon_grid(1, 4); }, {"latlon_grid", "'nlat'", "1"});
  expect_invalid([] { latlon_grid(4, 0); }, {"latlon_grid", "'nlon'", "0"});
}

TEST(SphereGrid, UnitVectorsAndWrapAndRangeChecks) {
  const DTensor u = unit_vectors(pts({{0, 0}, {90, 0}, {10, 90}, {-180, -90}}));
  EXPECT_NEAR(u(0, 0), 1, 1e-15);
  EXPECT_NEAR(u(1, 1), 1, 1e-15);
  EXPECT_NEAR(u(2, 2), 1, 1e-15);
  EXPECT_NEAR(u(3, 2), -1, 1e-15);
  const Tensor w = wrap_features(pts({{60, 30}}));
  EXPECT_NEAR(w(0, 0), 0.5, 1e-7);
  EXPECT_NEAR(w(0, 1), std::sqrt(3) / 2, 1e-7);
  EXPECT_NEAR(w(0, 2), std::sqrt(3) / 2, 1e-7);
  EXPECT_NEAR(w(0, 3), 0.5, 1e-7);
  expect_invalid([] { unit_vectors(pts({{0, 90.5}})); }, {"unit_vectors", "'points'", "latitude", "90.5"});
  expect_invalid([] { unit_vectors(pts({{NAN, 0}})); }, {"unit_vectors", "not finite"});
}

TEST(Sphere2Vec, FrequenciesAndEveryVariantFromThePaperTable) {
  Sphere2VecOptions o{.variant = Sphere2VecVariant::sphere_c, .scales = 2, .min_radius = 0.5, .max_radius = 2};
  const auto f = sphere2vec_frequencies(o);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_DOUBLE_EQ(f[0], 2.0);  // 1 / r_min
  EXPECT_DOUBLE_EQ(f[1], 0.5);  // 1 / r_max
  const double lon = 50, lat = -20;
  const DTensor p = pts({{lon, lat}});
  const double lam = lon * kDeg, phi = lat * kDeg;
  auto check = [&](Sphere2VecVariant v, int per, auto feature) {
    o.variant = v;
    const Tensor t = sphere2vec_features(p, o);
    ASSERT_EQ(t.shape()[1], static_cast<std::size_t>(per * 2));
    EXPECT_EQ(sphere2vec_width(o), per * 2);
    for (int s = 0; s < 2; ++s)
      for (int c = 0; c < per; ++c)
        EXPECT_NEAR(t(0, s * per + c), feature(lam * f[s], phi * f[s], c), 1e-6) << int(v) << " " << s << " " << c;
  };
  using std::cos, std::sin;
  check(Sphere2VecVariant::sphere_c, 3, [&](double ls, double ps, int c) {
    const double v[] = {sin(ps), cos(ps) * cos(ls), cos(ps) * sin(ls)};
    return v[c];
  });
  check(Sphere2VecVariant::sphere_c_plus, 6, [&](double ls, double ps, int c) {
    const double v[] = {sin(ps), cos(ps), sin(ls), cos(ls), cos(ps) * cos(ls), cos(ps) * sin(ls)};
    return v[c];
  });
  check(Sphere2VecVariant::sphere_m, 5, [&](double ls, double ps, int c) {
    const double v[] = {sin(ps), cos(ps) * cos(lam), cos(phi) * cos(ls), cos(ps) * sin(lam), cos(phi) * sin(ls)};
    return v[c];
  });
  check(Sphere2VecVariant::sphere_m_plus, 8, [&](double ls, double ps, int c) {
    const double v[] = {sin(ps), cos(ps), sin(ls), cos(ls), cos(ps) * cos(lam), cos(phi) * cos(ls),
                        cos(ps) * sin(lam), cos(phi) * sin(ls)};
    return v[c];
  });
  // Space2Vec grid: [axis][scale][sin, cos].
  o.variant = Sphere2VecVariant::grid;
  const Tensor g = sphere2vec_features(p, o);
  EXPECT_NEAR(g(0, 0), sin(lam * 2), 1e-7);
  EXPECT_NEAR(g(0, 3), cos(lam * 0.5), 1e-7);
  EXPECT_NEAR(g(0, 4), sin(phi * 2), 1e-7);
  // The locationencoder compat path uses the degrees themselves.
  o.variant = Sphere2VecVariant::sphere_c;
  o.degrees_as_radians = true;
  EXPECT_NEAR(sphere2vec_features(p, o)(0, 0), sin(lat * 2), 1e-6);
  expect_invalid([] { sphere2vec_features(pts({{0, 0}}), {.scales = 0}); }, {"sphere2vec", "'scales'", "0"});
  expect_invalid([] { sphere2vec_features(pts({{0, 0}}), {.min_radius = 5, .max_radius = 1}); },
                 {"sphere2vec", "'max_radius'", "1"});
}

TEST(SphericalHarmonics, MatchesScipySphHarm) {
  const DTensor p = load_npy_double(std::string(POSENC_TEST_DATA) + "/scipy_sph/points.npy");
  const DTensor ref = load_npy_double(std::string(POSENC_TEST_DATA) + "/scipy_sph/real_sh.npy");
  const Tensor y = spherical_harmonics(p, {.degree = 16, .convention = SphericalConvention::colatitude});
  ASSERT_EQ(y.shape(), ref.shape());
  EXPECT_LT(test::max_abs_diff(y, ref), 3e-6);
  // locationencoder's convention is (-1)^l times the colatitude form; cs_phase multiplies by (-1)^m.
  const Tensor le = spherical_harmonics(p, {.degree = 16});
  const Tensor cs = spherical_harmonics(p, {.degree = 16, .convention = SphericalConvention::colatitude, .cs_phase = true});
  for (std::size_t i = 0; i < p.shape()[0]; ++i)
    for (int l = 0; l < 16; ++l)
      for (int m = -l; m <= l; ++m) {
        const std::size_t c = l * l + l + m;
        EXPECT_NEAR(le(i, c), (l % 2 ? -1 : 1) * ref(i, c), 3e-6);
        EXPECT_NEAR(cs(i, c), (std::abs(m) % 2 ? -1 : 1) * ref(i, c), 3e-6);
      }
}

TEST(SphericalHarmonics, LocationencoderConstants) {
  // MarcCoru/locationencoder spherical_harmonics_ylm.py: phi = rad(lon + 180), theta = rad(lat + 90).
  const double lon = 33, lat = 17;
  const double ph = (lon + 180) * kDeg, th = (lat + 90) * kDeg, c = std::cos(th), s = std::sqrt(1 - c * c);
  const Tensor y = spherical_harmonics(pts({{lon, lat}}), {.degree = 3});
  EXPECT_NEAR(y(0, 0), 0.282094791773878, 1e-7);
  EXPECT_NEAR(y(0, 1), 0.48860251190292 * s * std::sin(ph), 1e-7);
  EXPECT_NEAR(y(0, 2), 0.48860251190292 * c, 1e-7);
  EXPECT_NEAR(y(0, 3), 0.48860251190292 * s * std::cos(ph), 1e-7);
  EXPECT_NEAR(y(0, 4), 0.18209140509868 * (3 - 3 * c * c) * std::sin(2 * ph), 1e-7);
  EXPECT_NEAR(y(0, 5), 1.09254843059208 * s * std::sin(ph) * c, 1e-7);
  EXPECT_NEAR(y(0, 6), 0.94617469575756 * c * c - 0.31539156525252, 1e-7);
}

TEST(SphericalHarmonics, DegreeOneIsTheUnitVector) {
  const DTensor p = pts({{10, 20}, {-120, -60}, {179, 89}});
  const DTensor u = unit_vectors(p);
  const Tensor y = spherical_harmonics(p, {.degree = 2, .convention = SphericalConvention::colatitude});
  const double k = std::sqrt(3 / (4 * kPi));
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(y(i, 1), k * u(i, 1), 1e-7);
    EXPECT_NEAR(y(i, 2), k * u(i, 2), 1e-7);
    EXPECT_NEAR(y(i, 3), k * u(i, 0), 1e-7);
  }
}

TEST(SphericalHarmonics, OrthonormalUnderQuadratureL20) {
  const int L = 20, nlat = L, nlon = 2 * L + 1;
  std::vector<double> x, w;
  gauss_legendre(nlat, x, w);
  DTensor p = DTensor::from_shape({std::size_t(nlat * nlon), 2});
  std::vector<double> weight(nlat * nlon);
  for (int i = 0; i < nlat; ++i)
    for (int j = 0; j < nlon; ++j) {
      p(i * nlon + j, 0) = -180 + 360.0 * j / nlon;
      p(i * nlon + j, 1) = std::asin(x[i]) / kDeg;
      weight[i * nlon + j] = w[i] * 2 * kPi / nlon;
    }
  for (auto conv : {SphericalConvention::locationencoder, SphericalConvention::colatitude}) {
    const Tensor y = spherical_harmonics(p, {.degree = L, .convention = conv});
    double worst = 0;
    for (int a = 0; a < L * L; ++a)
      for (int b = a; b < L * L; ++b) {
        double s = 0;
        for (int t = 0; t < nlat * nlon; ++t) s += weight[t] * double(y(t, a)) * double(y(t, b));
        worst = std::max(worst, std::abs(s - (a == b ? 1.0 : 0.0)));
      }
    EXPECT_LT(worst, 2e-6);
  }
}

TEST(SphericalHarmonics, DegreeTwoHundredStaysFiniteAndOrthonormal) {
  // Along the meridian az = 0 (colatitude convention, lon = 0) the sin terms vanish and
  // Y_l^m = sqrt2 pbar_l^m: the latitude integral alone must give delta_ll' / pi (m > 0), 1 / 2pi (m = 0).
  const int L = 200, n = L + 1;
  std::vector<double> x, w;
  gauss_legendre(n, x, w);
  DTensor p = DTensor::from_shape({std::size_t(n), 2});
  for (int i = 0; i < n; ++i) p(i, 0) = 0, p(i, 1) = std::asin(x[i]) / kDeg;
  const Tensor y = spherical_harmonics(p, {.degree = L, .convention = SphericalConvention::colatitude});
  for (float v : y) ASSERT_TRUE(std::isfinite(v));
  double worst = 0;
  for (int m : {0, 1, 2, 57, 150, 199})
    for (int l = m; l < L; l += (l < m + 4 ? 1 : 13))
      for (int l2 = m; l2 < L; l2 += 7) {
        const std::size_t a = l * l + l + m, b = l2 * l2 + l2 + m;
        double s = 0;
        for (int i = 0; i < n; ++i) s += w[i] * double(y(i, a)) * double(y(i, b));
        s *= m == 0 ? 2 * kPi : kPi;
        worst = std::max(worst, std::abs(s - (l == l2 ? 1.0 : 0.0)));
      }
  EXPECT_LT(worst, 1e-4);
  EXPECT_EQ(spherical_harmonics(p, {.degree = 0}).shape()[1], 0u);
  expect_invalid([&] { spherical_harmonics(p, {.degree = -1}); }, {"spherical_harmonics", "'degree'", "-1"});
}

TEST(SphericalHarmonics, SameBitsForAnyThreadCount) {
  // 1003 points: the lane blocks (16) do not divide them, so the padded last block is exercised.
  DTensor p = DTensor::from_shape({1003, 2});
  for (std::size_t i = 0; i < 1003; ++i) p(i, 0) = -180 + 0.359 * double(i), p(i, 1) = -90 + 0.1795 * double(i);
  const int before = omp_get_max_threads();
  omp_set_num_threads(1);
  const Tensor one = spherical_harmonics(p, {.degree = 12});
  omp_set_num_threads(3);
  const Tensor three = spherical_harmonics(p, {.degree = 12});
  omp_set_num_threads(before);
  EXPECT_EQ(test::max_abs_diff(one, three), 0.0);
  // The last point (a padded block) equals the same point evaluated alone.
  const Tensor alone = spherical_harmonics(xt::eval(xt::view(p, xt::range(1002, 1003), xt::all())), {.degree = 12});
  for (std::size_t c = 0; c < 144; ++c) EXPECT_EQ(alone(0, c), one(1002, c)) << c;
}

TEST(SphericalHarmonics, AdditionTheorem) {
  // sum_m Y_lm(a) Y_lm(b) = (2l + 1)/(4 pi) P_l(cos gamma): rotation invariance of each degree.
  const DTensor p = pts({{12, 34}, {-150, -10}});
  const int L = 40;
  const Tensor y = spherical_harmonics(p, {.degree = L});
  const DTensor u = unit_vectors(p);
  const double cg = u(0, 0) * u(1, 0) + u(0, 1) * u(1, 1) + u(0, 2) * u(1, 2);
  for (int l = 0; l < L; ++l) {
    double s = 0;
    for (int m = -l; m <= l; ++m) s += double(y(0, l * l + l + m)) * double(y(1, l * l + l + m));
    EXPECT_NEAR(s, (2 * l + 1) / (4 * kPi) * legendre_p(l, cg), 2e-5 * (2 * l + 1)) << l;
  }
}

TEST(Geodesic, SymmetricZeroDiagonalAntipodesHaversine) {
  const DTensor p = pts({{0, 0}, {180, 0}, {-73.9, 40.7}, {139.7, 35.7}, {0, 90}, {0, -90}, {12, 0}});
  const DTensor d = geodesic_distances(p, p);
  for (std::size_t i = 0; i < 7; ++i) {
    EXPECT_EQ(d(i, i), 0.0);
    for (std::size_t j = 0; j < 7; ++j) {
      EXPECT_DOUBLE_EQ(d(i, j), d(j, i));
      // haversine
      const double p1 = p(i, 1) * kDeg, p2 = p(j, 1) * kDeg, dl = (p(j, 0) - p(i, 0)) * kDeg;
      const double h = std::pow(std::sin((p2 - p1) / 2), 2) + std::cos(p1) * std::cos(p2) * std::pow(std::sin(dl / 2), 2);
      EXPECT_NEAR(d(i, j), 2 * std::asin(std::min(1.0, std::sqrt(h))), 1e-7);
    }
  }
  EXPECT_NEAR(d(0, 1), kPi, 1e-15);
  EXPECT_NEAR(d(4, 5), kPi, 1e-15);
  EXPECT_NEAR(d(0, 6), 12 * kDeg, 1e-15);
  // Rotation about the axis: shifting every longitude changes nothing.
  DTensor q = p;
  for (std::size_t i = 0; i < 7; ++i) q(i, 0) += 77;
  EXPECT_LT(test::max_abs_diff(geodesic_distances(q, q), d), 1e-13);
  // Accurate for tiny separations (acos would give 0 or noise): 1e-9 degrees apart.
  EXPECT_NEAR(geodesic_distances(pts({{0, 0}}), pts({{1e-9, 0}}))(0, 0), 1e-9 * kDeg, 1e-24);
}

TEST(Geodesic, AlibiBiasThroughBothCores) {
  const DTensor p = latlon_grid(5, 8, LatLonGrid::without_poles);
  const std::size_t n = 40, H = 4, d = 8;
  const Tensor q = random_tensor({1, H, n, d}, 1), k = random_tensor({1, H, n, d}, 2), v = random_tensor({1, H, n, d}, 3);
  const Encoding e = geodesic_alibi(p, p, H);
  const DTensor dist = geodesic_distances(p, p);
  const auto slopes = alibi_slopes(H);
  const Encoding dense = test::dense_bias_encoding(
      H, n, n, [&](std::size_t h, std::size_t i, std::size_t j) { return -slopes[h] * dist(i, j); });
  const AttentionOptions small{.query_block = 7, .key_block = 5};
  const Tensor want = attention_reference(q, k, v, dense);
  EXPECT_LT(test::max_abs_diff(attention_reference(q, k, v, e), want), 1e-5);
  EXPECT_LT(test::max_abs_diff(attention(q, k, v, e, small), want), 1e-5);
  const Tensor s = attention_scores(q, k, e);
  const Tensor s0 = attention_scores(q, k, {});
  for (std::size_t i = 0; i < n; ++i) EXPECT_NEAR(s(0, 0, i, i), s0(0, 0, i, i), 1e-5);  // zero on the diagonal
}

TEST(Geodesic, BucketsByHandAndTableBias) {
  // B = 8, e = 4, resolution 1 deg, max 90 deg: d < 4 deg exact; then 4 + floor(ln(d/4)/ln(22.5) * 4).
  const DTensor a = pts({{0, 0}});
  const DTensor b = pts({{0, 0}, {2.5, 0}, {0, 3.99}, {0, 4.5}, {30, 0}, {0, 89}, {180, 0}});
  const GeodesicBuckets g{.num_buckets = 8, .resolution_degrees = 1, .max_degrees = 90};
  const ITensor idx = geodesic_bucket_indices(a, b, g);
  auto want = [](double deg) {
    if (deg < 4) return std::int64_t(deg);
    return std::min<std::int64_t>(7, 4 + std::int64_t(std::floor(std::log(deg / 4) / std::log(22.5) * 4)));
  };
  const double degs[] = {0, 2.5, 3.99, 4.5, 30, 89, 180};
  for (int j = 0; j < 7; ++j) EXPECT_EQ(idx(0, j), want(degs[j])) << degs[j];
  EXPECT_EQ(idx(0, 6), 7);
  // The table bias through both cores against a dense oracle from those indices.
  const DTensor p = latlon_grid(4, 6);
  const std::size_t n = 24, H = 2, d = 4;
  const Tensor table = random_tensor({H, 8}, 9);
  const Encoding e = geodesic_bucket_bias(p, p, table, g);
  const ITensor all = geodesic_bucket_indices(p, p, g);
  const Encoding dense = test::dense_bias_encoding(
      H, n, n, [&](std::size_t h, std::size_t i, std::size_t j) { return double(table(h, std::size_t(all(i, j)))); });
  const Tensor q = random_tensor({1, H, n, d}, 1), k = random_tensor({1, H, n, d}, 2), v = random_tensor({1, H, n, d}, 3);
  const Tensor want_out = attention_reference(q, k, v, dense);
  EXPECT_LT(test::max_abs_diff(attention(q, k, v, e, {.query_block = 5, .key_block = 7}), want_out), 1e-5);
  expect_invalid([&] { geodesic_bucket_bias(p, p, random_tensor({H, 7}, 1), g); }, {"geodesic_bucket_bias", "'table'"});
  expect_invalid([&] { geodesic_bucket_indices(p, p, {.num_buckets = 8, .resolution_degrees = 50}); },
                 {"'max_degrees'", "180"});
}

TEST(SphereRope, ScoresDependOnlyOnLatAndLonOffsetsWithoutASeam) {
  const DTensor p = pts({{-179, 10}, {179, 10}, {0, -30}, {45, 60}, {-90, 0}});
  const std::size_t n = 5, d = 16;
  const Tensor q = random_tensor({1, 1, n, d}, 4), k = random_tensor({1, 1, n, d}, 5);
  const SphereRopeOptions o{.head_dim = 16};
  const Tensor s = attention_scores(q, k, sphere_rope(p, o));
  DTensor shifted = p;
  for (std::size_t i = 0; i < n; ++i) shifted(i, 0) += (i % 2 ? 360.0 + 31 : 31);  // rotate, and wrap some
  EXPECT_LT(test::max_abs_diff(attention_scores(q, k, sphere_rope(shifted, o)), s), 2e-5);
  // A latitude shift of every token also cancels (the lat rotation is a plain 1D RoPE).
  DTensor north = p;
  for (std::size_t i = 0; i < n; ++i) north(i, 1) = std::min(90.0, p(i, 1) + 5);
  north(3, 1) = 65;
  EXPECT_LT(test::max_abs_diff(attention_scores(q, k, sphere_rope(north, o)), s), 2e-5);
  // Frequencies 1..4 for d = 16: token 0's first lon pair turns by lambda.
  const Encoding e = sphere_rope(p, o);
  EXPECT_NEAR(e.rotation.query_angles(0, 0, 2, 0), -30 * kDeg, 1e-12);
  EXPECT_NEAR(e.rotation.query_angles(0, 0, 3, 4 + 3), std::remainder(45 * kDeg * 4, 2 * kPi), 1e-12);
  expect_invalid([&] { sphere_rope(p, {.head_dim = 10}); }, {"sphere_rope", "'head_dim'", "10"});
}

TEST(Regrid, IdentityPeriodicLongitudeAndClampedPoles) {
  const Tensor t = random_tensor({5, 8, 3}, 7);
  EXPECT_EQ(test::max_abs_diff(regrid_latlon(t, LatLonGrid::with_poles, 5, 8, LatLonGrid::with_poles), t), 0.0);
  // A field linear in latitude and 2 pi-periodic in longitude: f = lat + 10 cos(lon).
  // Doubling the longitudes keeps every source column and puts the new ones halfway (linear in between).
  const auto lat = grid_latitudes(5);
  Tensor f = Tensor::from_shape({5, 8, 1});
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 8; ++j) f(i, j, 0) = float(lat[i] + 10 * std::cos((-180 + 45.0 * j) * kDeg));
  const Tensor g = regrid_latlon(f, LatLonGrid::with_poles, 9, 16, LatLonGrid::with_poles);
  const auto lat9 = grid_latitudes(9);
  for (int i = 0; i < 9; ++i)
    for (int j = 0; j < 16; ++j) {
      const int a = j / 2, b = (a + 1) % 8;
      const double ca = std::cos((-180 + 45.0 * a) * kDeg), cb = std::cos((-180 + 45.0 * b) * kDeg);
      const double want = lat9[i] + 10 * (j % 2 ? (ca + cb) / 2 : ca);
      EXPECT_NEAR(g(i, j, 0), want, 1e-4) << i << " " << j;
    }
  // Cell centres beyond the outermost source rings take the ring's values (clamped).
  const Tensor c = regrid_latlon(f, LatLonGrid::without_poles, 2, 8, LatLonGrid::with_poles);
  EXPECT_NEAR(c(0, 0, 0), f(0, 0, 0), 1e-6);
  expect_invalid([&] { regrid_latlon(t, LatLonGrid::with_poles, 0, 8, LatLonGrid::with_poles); },
                 {"regrid_latlon", "0"});
}

TEST(Regrid, HarmonicsReproduceBandLimitedFieldsOnAnyGrid) {
  // A field that is a random combination of the harmonics of degree < 6 (built with the public
  // spherical_harmonics, locationencoder convention) on a coarse 13 x 24 grid with poles (15 degrees),
  // regridded spectrally to 30 x 50 without poles and to 7 x 12 with poles, equals the same
  // combination evaluated there directly. Two channels with different coefficients.
  const int L = 6;
  const Tensor coef = random_tensor({std::size_t(L * L), 2}, 21);
  auto field = [&](std::int64_t nlat, std::int64_t nlon, LatLonGrid kind) {
    const Tensor y = spherical_harmonics(latlon_grid(nlat, nlon, kind), {.degree = L});
    Tensor f = Tensor::from_shape({std::size_t(nlat), std::size_t(nlon), 2});
    for (std::size_t i = 0; i < y.shape()[0]; ++i)
      for (std::size_t c = 0; c < 2; ++c) {
        double v = 0;
        for (std::size_t k = 0; k < y.shape()[1]; ++k) v += double(y(i, k)) * coef(k, c);
        f.data()[i * 2 + c] = float(v);
      }
    return f;
  };
  const Tensor src = field(13, 24, LatLonGrid::with_poles);
  EXPECT_EQ(max_regrid_degree(13, 24, LatLonGrid::with_poles), 12);
  for (auto [nlat, nlon, kind] : {std::tuple{30, 50, LatLonGrid::without_poles}, {7, 12, LatLonGrid::with_poles}}) {
    const Tensor got = regrid_latlon_harmonics(src, LatLonGrid::with_poles, nlat, nlon, kind, L);
    EXPECT_LT(test::max_abs_diff(got, field(nlat, nlon, kind)), 2e-5) << nlat << " x " << nlon;
    // With the largest degree the grid allows, the band-limited field is still reproduced.
    const Tensor full = regrid_latlon_harmonics(src, LatLonGrid::with_poles, nlat, nlon, kind);
    EXPECT_LT(test::max_abs_diff(full, field(nlat, nlon, kind)), 2e-5) << nlat << " x " << nlon << " L max";
  }
  // Bilinear regridding of the same field is visibly worse (interpolation error), so the check can fail.
  const Tensor bil = regrid_latlon(src, LatLonGrid::with_poles, 30, 50, LatLonGrid::without_poles);
  EXPECT_GT(test::max_abs_diff(bil, field(30, 50, LatLonGrid::without_poles)), 1e-2);
  // A per-latitude (one-longitude) table is zonal: the m = 0 part of the field, sampled on rings, comes
  // back on finer rings and repeated along them.
  Tensor zonal = Tensor::from_shape({13, 1, 2});
  for (std::size_t i = 0; i < 13; ++i)
    for (std::size_t c = 0; c < 2; ++c) {  // the ring mean = the m = 0 part
      double mean = 0;
      for (std::size_t j = 0; j < 24; ++j) mean += src(i, j, c) / 24.0;
      zonal(i, 0, c) = float(mean);
    }
  const Tensor zfine = regrid_latlon_harmonics(zonal, LatLonGrid::with_poles, 25, 3, LatLonGrid::with_poles, L);
  const Tensor ffine = field(25, 24, LatLonGrid::with_poles);
  for (std::size_t i = 0; i < 25; ++i)
    for (std::size_t c = 0; c < 2; ++c) {
      double mean = 0;
      for (std::size_t j = 0; j < 24; ++j) mean += ffine(i, j, c) / 24.0;
      for (std::size_t j = 0; j < 3; ++j) EXPECT_NEAR(zfine(i, j, c), mean, 2e-5) << i;
    }
  // A degree the source grid cannot resolve, and bad grids, are errors naming the parameter.
  expect_invalid([&] { regrid_latlon_harmonics(src, LatLonGrid::with_poles, 30, 50, LatLonGrid::without_poles, 13); },
                 {"regrid_latlon_harmonics", "'degree'", "13", "12"});
  expect_invalid([&] { regrid_latlon_harmonics(src, LatLonGrid::with_poles, 0, 50, LatLonGrid::without_poles); },
                 {"regrid_latlon_harmonics", "0"});
}

TEST(SphereTables, LatitudeRowsRepeatAlongTheRing) {
  const Tensor table = sphere_table_init(3, 4, 0.02, 11);
  for (float v : table) EXPECT_LE(std::abs(v), 0.04f);
  EXPECT_EQ(test::max_abs_diff(sphere_table_init(3, 4), xt::zeros<float>({3, 4})), 0.0);
  const Encoding e = latitude_table_encoding(table, 5);
  ASSERT_EQ(e.input_add.shape()[1], 15u);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 5; ++j)
      for (int c = 0; c < 4; ++c) EXPECT_EQ(e.input_add(0, i * 5 + j, c), table(i, c));
  expect_invalid([&] { latitude_table_encoding(table, 0); }, {"latitude_table_encoding", "'nlon'", "0"});
}

}  // namespace
}  // namespace posenc
