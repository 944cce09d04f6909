// Vectorisable float kernels for the streaming softmax.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace posenc::detail {

/// e^x for x <= 0 (softmax arguments after subtracting the row maximum),
/// -inf and very negative values give 0. Range reduction x = n ln2 + r with
/// |r| <= ln2/2 and the degree-7 Taylor polynomial of e^r (truncation error
/// < 6e-9 relative): within 2 ulp of expf. Written branch-free so that the
/// compiler vectorises the loop.
inline void exp_nonpositive_inplace(float* x, std::size_t n) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693145751953125f;   // ln 2 split in two for an exact n*ln2
  constexpr float kLn2Lo = 1.42860682030941723e-6f;
  for (std::size_t i = 0; i < n; ++i) {
    float v = x[i];
    const bool tiny = v < -87.0f;
    v = tiny ? -87.0f : v;
    const float fn = __builtin_roundf(v * kLog2e);
    const float r = (v - fn * kLn2Hi) - fn * kLn2Lo;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    const std::int32_t bits = (static_cast<std::int32_t>(fn) + 127) << 23;
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    x[i] = tiny ? 0.0f : p * scale;
  }
}

}  // namespace posenc::detail
