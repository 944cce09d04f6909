// counter_gaussians (src/detail/gaussian.hpp), the sparse eigensolver's start block: its first
// draws against SplitMix64's published reference outputs put through Box-Muller with libm, its
// moments over a million draws, and its independence of the thread count and of the length asked.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

#include "detail/gaussian.hpp"

namespace {

using posenc::detail::counter_gaussians;

std::vector<double> draws(std::uint64_t seed, std::size_t n) {
  std::vector<double> out(n);
  counter_gaussians(seed, out.data(), n);
  return out;
}

TEST(CounterGaussians, FirstPairIsBoxMullerOfSplitMixReferenceOutputs) {
  // The first three outputs of SplitMix64 from state 0, as published with Vigna's reference
  // splitmix64.c (and Java's SplittableRandom(0).nextLong()): h(0), h(1), h(2).
  const std::uint64_t h[3] = {0xe220a8397b1dcdafULL, 0x6e789e6aa1b965f4ULL, 0x06c45d188009454fULL};
  const double u1 = static_cast<double>((h[0] >> 11) + 1) * 0x1p-53;
  const double u2 = static_cast<double>(h[1] >> 11) * 0x1p-53;
  const double r = std::sqrt(-2 * std::log(u1)), angle = 2 * std::numbers::pi * u2;
  const std::vector<double> z = draws(0, 3);
  EXPECT_NEAR(z[0], r * std::cos(angle), 1e-14 * r);
  EXPECT_NEAR(z[1], r * std::sin(angle), 1e-14 * r);
  // An odd length ends on the cosine half of the next pair, whose first uniform is h(2).
  const double u1b = static_cast<double>((h[2] >> 11) + 1) * 0x1p-53;
  const double rb = std::sqrt(-2 * std::log(u1b));
  EXPECT_LE(std::abs(z[2]), rb * (1 + 1e-14));
  EXPECT_EQ(z[2], draws(0, 4)[2]);
}

TEST(CounterGaussians, MomentsOfAMillionDrawsAreThoseOfTheStandardNormal) {
  const std::size_t n = 1000000;
  const std::vector<double> z = draws(0x5eed, n);
  double sum = 0, sq = 0, fourth = 0, within1 = 0, max_abs = 0;
  for (double v : z) {
    ASSERT_TRUE(std::isfinite(v));
    sum += v;
    sq += v * v;
    fourth += v * v * v * v;
    within1 += std::abs(v) <= 1;
    max_abs = std::max(max_abs, std::abs(v));
  }
  const double nn = static_cast<double>(n);
  // Five standard errors: mean 1/sqrt(n), variance sqrt(2/n), fourth moment sqrt(96/n), and the
  // binomial fraction inside +-1 (0.682689...) sqrt(p (1 - p) / n).
  EXPECT_NEAR(sum / nn, 0.0, 5 / std::sqrt(nn));
  EXPECT_NEAR(sq / nn, 1.0, 5 * std::sqrt(2 / nn));
  EXPECT_NEAR(fourth / nn, 3.0, 5 * std::sqrt(96 / nn));
  const double p = std::erf(1 / std::numbers::sqrt2);
  EXPECT_NEAR(within1 / nn, p, 5 * std::sqrt(p * (1 - p) / nn));
  EXPECT_LE(max_abs, std::sqrt(2 * 53 * std::numbers::ln2));
  // Different seeds give different draws.
  EXPECT_NE(draws(1, 8), draws(2, 8));
}

TEST(CounterGaussians, SameBitsForAnyThreadCountAndAnyLength) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const std::vector<double> one = draws(7, 120001);
  for (const int threads : {2, 3, 8}) {
    omp_set_num_threads(threads);
    EXPECT_EQ(draws(7, 120001), one) << threads << " threads";
  }
  omp_set_num_threads(saved);
  // A shorter call gives a prefix of a longer one (each value is a function of its index), odd
  // lengths and lengths off the internal blocks included.
  for (const std::size_t n : {std::size_t{1}, std::size_t{2}, std::size_t{511}, std::size_t{513}, std::size_t{9001}}) {
    const std::vector<double> part = draws(7, n);
    EXPECT_TRUE(std::equal(part.begin(), part.end(), one.begin())) << "length " << n;
  }
}

}  // namespace
