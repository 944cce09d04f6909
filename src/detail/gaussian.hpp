// Standard normal draws addressed by index: the value at index k depends only on (seed, k), so a
// block of them can be filled by any number of threads, in any order, with the same result.
#pragma once

#include <cstddef>
#include <cstdint>

namespace posenc::detail {

/// out[i] = z(seed, i) for i < n: standard normal draws by the Box-Muller transform,
///   z(2m) = r cos(2 pi u2), z(2m + 1) = r sin(2 pi u2), r = sqrt(-2 ln u1),
/// from two uniforms per pair m, u1 = (h(2m) / 2^11 + 1) 2^-53 in (0, 1] and
/// u2 = (h(2m + 1) / 2^11) 2^-53 in [0, 1), where h(k) is SplitMix64's k-th output from state `seed`, its
/// mixing function applied to seed + (k + 1) * 0x9e3779b97f4a7c15 (Steele, Lea & Flood, "Fast
/// splittable pseudorandom number generators", OOPSLA 2014; Stafford's Mix13 constants, as Java's
/// SplittableRandom). |z| <= sqrt(2 * 53 ln 2) ~ 8.57. The logarithm and sin/cos are
/// xsimd's double kernels (about 1 ulp of libm), so the draws match libm-based Box-Muller to a few
/// ulps, not bit for bit. Threads (OpenMP) above a few thousand draws; the result does not depend
/// on their number. Used where a random start must be cheap and independent of the thread count
/// (the sparse eigensolver's start block); not a cryptographic or statistical-test-grade source.
void counter_gaussians(std::uint64_t seed, double* out, std::size_t n);

}  // namespace posenc::detail
