// Row-major single-precision matrix products for the layers and the trainer.
#pragma once

#include <cstddef>

namespace posenc::detail {

/// c[m, n] = alpha op(a) op(b) + beta c, row-major, op(x) = x or x^T (the cblas_sgemm contract
/// with leading dimensions lda, ldb, ldc). beta = 0 never reads c (NaN in c does not leak).
///
/// oneDNN's JIT sgemm (dispatched at run time to the CPU's widest vector unit; on AVX-512 about
/// 1.5x Eigen 3.4 and 2x OpenBLAS 0.3.21 at the shapes of small transformers; docs/design.md, and the
/// SgemmOneDnn yardstick in bench/bench_text.cpp).
/// Threads: the rows of c are cut into fixed blocks of kRowBlock whatever the thread count, each
/// block is one serial product, and OpenMP spreads the blocks (when the product is large enough),
/// so every element of c is computed by the same operations for any thread count (bit-identical
/// results).
void sgemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a,
           std::size_t lda, const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc);

/// The same product on the calling thread only (never split over threads, inside or outside a
/// parallel region): for callers that spread their own work, such as the attention core's tiles.
/// Products of at most 64 x 64 x 128 multiply-adds (m n k) go to libxsmm's JIT small-matrix
/// kernels, 1.2-4x faster than oneDNN's there (src/gemm.cpp; bench SmallProduct).
void serial_sgemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha,
                  const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta, float* c,
                  std::size_t ldc);

/// Generates oneDNN's product kernels now (and sets up libxsmm's, for the small products). The
/// first product of a process otherwise pays for it (one-time JIT code
/// generation: ~50 ms on a Zen 5 core for every AVX-512 sgemm kernel at once), so long-running
/// callers (the trainer, before its first epoch) call this while they set up. Idempotent and
/// cheap after the first call.
void prepare_sgemm();

/// Sets up the small products' library (libxsmm) once per process, without its side effect on the
/// environment (libxsmm_init sets OMP_PROC_BIND=TRUE when unset; this unsets it again). Called by
/// the first small product; the attention core and sgemm call it before their parallel regions,
/// so the environment is not modified while worker threads run. Cheap after the first call.
void init_small_products();

/// Rows of c per serial block in sgemm.
inline constexpr std::size_t kRowBlock = 256;

}  // namespace posenc::detail
