// OpenBLAS pinned to one thread for a scope (detail/blas_threads.hpp).
#include "detail/blas_threads.hpp"

// Weak: present when the BLAS is OpenBLAS, null otherwise.
extern "C" void openblas_set_num_threads(int) __attribute__((weak));
extern "C" int openblas_get_num_threads() __attribute__((weak));

namespace posenc::detail {

SingleThreadedBlas::SingleThreadedBlas() {
  if (openblas_get_num_threads && openblas_set_num_threads) {
    saved_ = openblas_get_num_threads();
    if (saved_ != 1) openblas_set_num_threads(1);
  }
}
SingleThreadedBlas::~SingleThreadedBlas() {
  if (saved_ > 1) openblas_set_num_threads(saved_);
}

}  // namespace posenc::detail
