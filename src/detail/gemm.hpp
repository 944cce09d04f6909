// Row-major single-precision matrix products for the layers and the trainer.
#pragma once

#include <cstddef>

namespace posenc::detail {

/// c[m, n] = alpha op(a) op(b) + beta c, row-major, op(x) = x or x^T (the cblas_sgemm contract
/// with leading dimensions lda, ldb, ldc). beta = 0 never reads c (NaN in c does not leak).
///
/// Eigen's blocked product (compiled for the building machine's vector width; ~1.3x OpenBLAS
/// 0.3.21 on AVX-512 at the shapes of small transformers). Threads: the rows of c are cut into
/// fixed blocks of kRowBlock whatever the thread count, each block is one serial product, and
/// OpenMP spreads the blocks (when the product is large enough), so every element of c is
/// computed by the same operations for any thread count (bit-identical results).
void sgemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a,
           std::size_t lda, const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc);

/// Rows of c per serial block in sgemm.
inline constexpr std::size_t kRowBlock = 256;

}  // namespace posenc::detail
