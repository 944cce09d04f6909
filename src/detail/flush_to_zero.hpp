// Subnormal results flushed to zero in the attention core's threads.
//
// The softmax weights reach down to e^-87 (~1.6e-38, the exponential's cut-off in vmath.hpp), and
// such a weight times a value below one is a subnormal float. On x86 every subnormal result of the
// tile products costs a microcode assist (on the order of a hundred cycles): ALiBi's causal
// attention, whose far keys get weights that small, ran 30 % slower than the same attention without
// a bias (H 8, N 2048, d 64, one thread: 44-45 ms against 33-34 with the flag). A product that
// small lies below 2^-126 while the row's largest weight is 1, so flushing it changes an output only
// where that output is itself within a few orders of magnitude of 2^-126. The core therefore sets
// the FTZ flag in each of its threads and restores the thread's previous mode when it is done; DAZ
// (subnormal inputs read as zero) stays off, so the caller's q, k and v are read as given.
#pragma once

#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

namespace posenc::detail {

/// Sets FTZ for the lifetime of the object on the calling thread (x86-64; nothing elsewhere).
class FlushToZero {
 public:
#if defined(__x86_64__)
  FlushToZero() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | _MM_FLUSH_ZERO_ON); }
  ~FlushToZero() { _mm_setcsr(saved_); }
#else
  FlushToZero() {}  // user-provided: a guard object is not an unused variable
#endif
  FlushToZero(const FlushToZero&) = delete;
  FlushToZero& operator=(const FlushToZero&) = delete;

 private:
#if defined(__x86_64__)
  unsigned saved_;
#endif
};

}  // namespace posenc::detail
