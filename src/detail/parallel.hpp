// OpenMP helpers. Work is split so that each output element is computed by
// exactly the same operations whatever the thread count (determinism).
#pragma once

#include <omp.h>

namespace posenc::detail {

/// Threads to use: `requested` when > 0, else OpenMP's default.
inline int thread_count(int requested) { return requested > 0 ? requested : omp_get_max_threads(); }

}  // namespace posenc::detail
