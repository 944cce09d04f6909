// OpenBLAS's own thread count, pinned to one for a scope (defined in src/blas_threads.cpp).
#pragma once

namespace posenc::detail {

/// OpenBLAS single-threaded while alive, the caller's setting restored after: for BLAS called
/// from inside OpenMP threads, and for LAPACK calls whose result must not depend on the thread
/// count. A no-op when the BLAS is not OpenBLAS (the symbols are weak).
class SingleThreadedBlas {
 public:
  SingleThreadedBlas();
  ~SingleThreadedBlas();
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;

 private:
  int saved_ = 0;
};

}  // namespace posenc::detail
