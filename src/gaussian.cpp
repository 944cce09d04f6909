// counter_gaussians (detail/gaussian.hpp): SplitMix64 counters, then Box-Muller in xsimd batches.
#include "detail/gaussian.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

// GCC 12 warns inside its own AVX-512 intrinsics (_mm512_undefined_pd) as xsimd inlines them
// (xsimd's log takes the -Wuninitialized form of the warning).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <xsimd/xsimd.hpp>

namespace posenc::detail {

namespace {

constexpr std::uint64_t kGamma = 0x9e3779b97f4a7c15;  // SplitMix64's counter increment

/// SplitMix64's output function with Stafford's "Mix13" constants (as in Java's SplittableRandom
/// and Vigna's splitmix64): two xor-shift-multiply rounds and a final xor-shift.
inline std::uint64_t splitmix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  return z ^ (z >> 31);
}

/// Pairs [m0, m0 + count) into out (2 count values from index 2 m0); count <= kPairs.
constexpr std::size_t kPairs = 256;
void pairs(std::uint64_t seed, std::size_t m0, std::size_t count, double* out) {
  using B = xsimd::batch<double>;
  constexpr std::size_t S = B::size;
  alignas(64) double u1[kPairs + S], u2[kPairs + S], r[kPairs + S], c[kPairs + S], s[kPairs + S];
  constexpr double kUnit = 0x1p-53;
  for (std::size_t j = 0; j < count; ++j) {
    const std::uint64_t k = 2 * (m0 + j);
    u1[j] = static_cast<double>((splitmix(seed + (k + 1) * kGamma) >> 11) + 1) * kUnit;
    u2[j] = static_cast<double>(splitmix(seed + (k + 2) * kGamma) >> 11) * kUnit;
  }
  const std::size_t padded = (count + S - 1) / S * S;
  std::fill(u1 + count, u1 + padded, 1.0);
  std::fill(u2 + count, u2 + padded, 0.0);
  const B two_pi(2 * std::numbers::pi), minus_two(-2.0);
  for (std::size_t j = 0; j < padded; j += S) {
    xsimd::sqrt(minus_two * xsimd::log(B::load_aligned(u1 + j))).store_aligned(r + j);
    const auto [sv, cv] = xsimd::sincos(two_pi * B::load_aligned(u2 + j));
    sv.store_aligned(s + j);
    cv.store_aligned(c + j);
  }
  for (std::size_t j = 0; j < count; ++j) {
    out[2 * j] = r[j] * c[j];
    out[2 * j + 1] = r[j] * s[j];
  }
}

}  // namespace

void counter_gaussians(std::uint64_t seed, double* out, std::size_t n) {
  const std::size_t whole = n / 2, blocks = (whole + kPairs - 1) / kPairs;
#pragma omp parallel for schedule(static) if (n > 8192)
  for (std::size_t b = 0; b < blocks; ++b)
    pairs(seed, b * kPairs, std::min(kPairs, whole - b * kPairs), out + 2 * b * kPairs);
  if (n % 2) {  // the last pair's cosine half
    double last[2];
    pairs(seed, whole, 1, last);
    out[n - 1] = last[0];
  }
}

}  // namespace posenc::detail
