// Subnormal results flushed to zero in the attention core.
//
// The softmax weights reach down to e^-87 (~1.6e-38, the exponential's cut-off in vmath.hpp), and
// such a weight times a value below one is a subnormal float. On x86 every subnormal result of the
// tile products costs a microcode assist (on the order of a hundred cycles): ALiBi's causal
// attention, whose far keys get weights that small, ran 17-30 % slower than the same attention
// without a bias (H 8, N 2048, d 64, one thread). A flushed product is below 2^-126 in magnitude, so
// an output or gradient changes by at most the flushed products that reach it (times the factors
// they are multiplied by afterwards): nothing beside float resolution, except in results that are
// themselves within a few orders of magnitude of 2^-126.
//
// The core holds a FlushToZero inside each of its parallel regions and around its serial products,
// never across the start of a parallel region: a new thread inherits the mode of the thread that
// creates it, and OpenMP starts its workers at the first region that needs them, so workers
// started under the flag would keep it after the call. FTZ set, DAZ (subnormal inputs read as zero)
// cleared, so the caller's q, k and v are read as given even if the caller runs with DAZ (and every
// thread reads them alike: otherwise the result would depend on which thread took which block). On
// exit the thread's two mode bits are put back as they were; exception flags raised meanwhile are
// kept.
#pragma once

#if defined(__x86_64__)
#include <pmmintrin.h>
#include <xmmintrin.h>
#endif

namespace posenc::detail {

/// FTZ on, DAZ off for the lifetime of the object on the calling thread (x86-64; nothing elsewhere).
class FlushToZero {
 public:
#if defined(__x86_64__)
  FlushToZero() : saved_(_mm_getcsr()) { _mm_setcsr((saved_ & ~kModes) | _MM_FLUSH_ZERO_ON); }
  ~FlushToZero() { _mm_setcsr((_mm_getcsr() & ~kModes) | (saved_ & kModes)); }
#else
  FlushToZero() {}  // user-provided: a guard object is not an unused variable
#endif
  FlushToZero(const FlushToZero&) = delete;
  FlushToZero& operator=(const FlushToZero&) = delete;

 private:
#if defined(__x86_64__)
  static constexpr unsigned kModes = _MM_FLUSH_ZERO_MASK | _MM_DENORMALS_ZERO_MASK;
  unsigned saved_;
#endif
};

}  // namespace posenc::detail
