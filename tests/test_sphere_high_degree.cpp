// Real spherical harmonics at high degree (l up to 2000) against an arbitrary-precision
// oracle (tests/data/gen_mpmath_sph.py: the explicit polynomial form of P_l^m in mpmath), the
// addition theorem band by band (to l = 4000), and the caller-buffer variant
// spherical_harmonics_into (same bits as the fresh call, 1 and 2 threads, size checks).
#include <gtest/gtest.h>

#include <omp.h>

#include <cmath>
#include <numbers>
#include <span>
#include <string>

#include "posenc/npy.hpp"
#include "posenc/sphere.hpp"
#include "support/helpers.hpp"

namespace posenc {
namespace {

constexpr double kPiHigh = std::numbers::pi;

/// sqrt((2l+1)/(4 pi)): by the addition theorem sum_m Y_lm^2 = (2l+1)/(4 pi) at every point, so this
/// bounds every value of degree l and is the scale against which errors are measured.
double band_scale(std::int64_t l) { return std::sqrt(double(2 * l + 1) / (4 * kPiHigh)); }

struct Reference {
  DTensor points, values;
  ITensor lm;
};

const Reference& reference() {
  static const Reference r = [] {
    const std::string dir = std::string(POSENC_TEST_DATA) + "/mpmath_sph/";
    return Reference{load_npy_double(dir + "points.npy"), load_npy_double(dir + "values.npy"),
                     load_npy_int(dir + "lm.npy")};
  }();
  return r;
}

/// The harmonics of degree l < L at the reference points, colatitude convention, checked finite.
Tensor harmonics(std::int64_t L) {
  const Tensor y = spherical_harmonics(reference().points, {.degree = L, .convention = SphericalConvention::colatitude});
  for (float v : y) EXPECT_TRUE(std::isfinite(v));
  return y;
}

/// max over the reference entries of degree lo <= l < L of |posenc - mpmath| / band_scale(l).
double worst_band_error(const Tensor& y, std::int64_t lo, std::int64_t L) {
  const Reference& r = reference();
  double worst = 0;
  std::size_t checked = 0;
  for (std::size_t k = 0; k < r.lm.shape()[0]; ++k) {
    const std::int64_t l = r.lm(k, 0), m = r.lm(k, 1);
    if (l < lo || l >= L) continue;
    for (std::size_t i = 0; i < r.points.shape()[0]; ++i) {
      const double got = y(i, static_cast<std::size_t>(l * l + l + m));
      worst = std::max(worst, std::abs(got - r.values(i, k)) / band_scale(l));
      ++checked;
    }
  }
  EXPECT_GT(checked, 0u);
  return worst;
}

TEST(SphericalHarmonicsHighDegree, MatchesMpmathToDegree1000) {
  // Poles, points 1e-6 .. 1 degree from them, latitudes 60 .. 85 (sin(theta)^m underflows double
  // for m of several hundred there) and the equator. float32 rounding alone is 6e-8 of the band.
  const Tensor y = harmonics(1001);
  EXPECT_LT(worst_band_error(y, 0, 1001), 2e-7);
}

TEST(SphericalHarmonicsHighDegree, MatchesMpmathAtDegree2000) {
  // One point at a time into a reused buffer (L^2 = 4e6 values a point).
  const Reference& r = reference();
  const std::int64_t L = 2001;
  std::vector<float> row(static_cast<std::size_t>(L * L));
  double worst = 0;
  for (std::size_t i = 0; i < r.points.shape()[0]; ++i) {
    const DTensor p = xt::view(r.points, xt::range(i, i + 1), xt::all());
    spherical_harmonics_into(p, std::span<float>(row), {.degree = L, .convention = SphericalConvention::colatitude});
    for (float v : row) ASSERT_TRUE(std::isfinite(v));
    for (std::size_t k = 0; k < r.lm.shape()[0]; ++k) {
      const std::int64_t l = r.lm(k, 0), m = r.lm(k, 1);
      if (l != 2000) continue;
      worst = std::max(worst, std::abs(row[static_cast<std::size_t>(l * l + l + m)] - r.values(i, k)) / band_scale(l));
    }
  }
  EXPECT_LT(worst, 2e-7);
}

TEST(SphericalHarmonicsHighDegree, EveryBandHasTheAdditionTheoremNorm) {
  // sum_m Y_lm(p)^2 = (2l+1)/(4 pi) for every degree l < 1001 at every reference point (including
  // bands the mpmath file does not list): a band that lost its small-m or large-m part fails.
  const Tensor y = harmonics(1001);
  double worst = 0;
  for (std::size_t i = 0; i < y.shape()[0]; ++i)
    for (std::int64_t l = 0; l < 1001; ++l) {
      double s = 0;
      for (std::int64_t m = -l; m <= l; ++m) s += std::pow(double(y(i, static_cast<std::size_t>(l * l + l + m))), 2);
      worst = std::max(worst, std::abs(s / (band_scale(l) * band_scale(l)) - 1));
    }
  EXPECT_LT(worst, 1e-6);
}

TEST(SphericalHarmonicsHighDegree, AdditionTheoremAtDegree4000) {
  // At |lat| ~ 68 deg and l ~ 4000, pbar_m^m for m ~ 1400 is ~2^-2000: the scale has to come down
  // by three steps of 2^600 along the column. Every band must keep the norm (2l+1)/(4 pi).
  const std::int64_t L = 4001;
  std::vector<float> row(static_cast<std::size_t>(L * L));
  for (double lat : {68.2, -80.0}) {
    DTensor p = DTensor::from_shape({1, 2});
    p(0, 0) = 20, p(0, 1) = lat;
    spherical_harmonics_into(p, std::span<float>(row), {.degree = L});
    double worst = 0;
    for (std::int64_t l = 0; l < L; ++l) {
      double s = 0;
      for (std::int64_t m = -l; m <= l; ++m) s += std::pow(double(row[static_cast<std::size_t>(l * l + l + m)]), 2);
      ASSERT_TRUE(std::isfinite(s)) << l;
      worst = std::max(worst, std::abs(s / (band_scale(l) * band_scale(l)) - 1));
    }
    EXPECT_LT(worst, 1e-6) << lat;
  }
}

TEST(SphericalHarmonicsInto, WritesTheSameBitsIntoACallersBuffer) {
  DTensor p = DTensor::from_shape({1003, 2});
  for (std::size_t i = 0; i < 1003; ++i) p(i, 0) = -180 + 0.359 * double(i), p(i, 1) = -90 + 0.1795 * double(i);
  for (std::int64_t L : {1, 3, 10, 12, 128, 129}) {  // 129: the scaled recurrence
    for (auto conv : {SphericalConvention::locationencoder, SphericalConvention::colatitude}) {
      const SphericalHarmonicsOptions o{.degree = L, .convention = conv, .cs_phase = L == 3};
      const Tensor fresh = spherical_harmonics(p, o);
      std::vector<float> buf(fresh.size(), std::nanf(""));  // a reused buffer holds stale values
      for (int threads : {1, 2}) {
        const int before = omp_get_max_threads();
        omp_set_num_threads(threads);
        spherical_harmonics_into(p, std::span<float>(buf), o);
        omp_set_num_threads(before);
        for (std::size_t k = 0; k < buf.size(); ++k) ASSERT_EQ(buf[k], fresh.data()[k]) << L << " " << k;
      }
    }
  }
}

TEST(SphericalHarmonicsInto, RejectsAWrongSizedBuffer) {
  const DTensor p = xt::zeros<double>({4, 2});
  std::vector<float> buf(4 * 100 - 1);
  test::expect_invalid([&] { spherical_harmonics_into(p, std::span<float>(buf), {.degree = 10}); },
                       {"spherical_harmonics_into", "'out'", "399"});
  test::expect_invalid([&] { spherical_harmonics_into(p, std::span<float>(buf), {.degree = -2}); },
                       {"spherical_harmonics_into", "'degree'", "-2"});
}

}  // namespace
}  // namespace posenc
