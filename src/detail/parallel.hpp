// OpenMP helpers. Work is split so that each output element is computed by
// exactly the same operations whatever the thread count (determinism).
#pragma once

#include <omp.h>

#include <algorithm>

namespace posenc::detail {

/// At most this many threads per processor: more only adds stacks (an OpenMP team of 100000
/// threads exhausts memory and overflows the runtime) and never speeds anything up.
inline constexpr int kMaxThreadsPerProcessor = 4;

/// The cap of thread_count: 4 x omp_get_num_procs() (at least 4).
inline int max_thread_count() { return kMaxThreadsPerProcessor * std::max(1, omp_get_num_procs()); }

/// Threads to use: `requested` when > 0, else OpenMP's default (omp_get_max_threads()), in both
/// cases capped at max_thread_count() = 4 x the processors OpenMP sees. Capping is safe because
/// results never depend on the thread count; 0 or a negative value means the default.
inline int thread_count(int requested) {
  const int want = requested > 0 ? requested : omp_get_max_threads();
  return std::clamp(want, 1, max_thread_count());
}

}  // namespace posenc::detail
