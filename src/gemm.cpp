// Row-major sgemm on Eigen's serial blocked product, blocks of rows spread by OpenMP (gemm.hpp).
#define EIGEN_DONT_PARALLELIZE  // one serial product per block: the partition never depends on threads
#include "detail/gemm.hpp"

#include <algorithm>

#include <Eigen/Core>
#include <cblas.h>

namespace posenc::detail {

namespace {

using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Stride = Eigen::OuterStride<>;
using ConstView = Eigen::Map<const Matrix, 0, Stride>;
using View = Eigen::Map<Matrix, 0, Stride>;

/// Below this size in any dimension a block goes to OpenBLAS (see block()).
constexpr std::size_t kSmall = 8;

int as_int(std::size_t v) { return static_cast<int>(v); }

ConstView view(const float* p, std::size_t rows, std::size_t cols, std::size_t ld) {
  return {p, static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols), Stride(static_cast<Eigen::Index>(ld))};
}

/// Rows [r0, r0 + rows) of c: c = alpha op(a) op(b) + beta c.
void block(bool ta, bool tb, std::size_t r0, std::size_t rows, std::size_t n, std::size_t k, float alpha,
           const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) {
  View out(c + r0 * ldc, static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(n),
           Stride(static_cast<Eigen::Index>(ldc)));
  if (beta == 0.0f)
    out.setZero();
  else if (beta != 1.0f)
    out *= beta;
  if (k == 0) return;
  if (rows < kSmall || n < kSmall || k < kSmall) {
    // Eigen evaluates tiny products coefficient by coefficient (and 1-wide ones as gemv), where
    // the split between scalar and vector code follows the pointers' alignment: results would
    // depend on where the allocator put the operands. OpenBLAS's kernels do not; these products
    // are too small for the speed to matter.
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, as_int(rows),
                as_int(n), as_int(k), alpha, ta ? a + r0 : a + r0 * lda, as_int(lda), b, as_int(ldb), 1.0f, out.data(),
                as_int(ldc));
    return;
  }
  // op(a) rows r0.. : a row-major [m, k] (rows r0..) or a^T of a [k, m] (columns r0..).
  const auto lhs_n = view(a + r0 * lda, rows, k, lda);
  const auto lhs_t = view(a + r0, k, rows, lda);
  const auto rhs_n = view(b, k, n, ldb);
  const auto rhs_t = view(b, n, k, ldb);
  if (!ta && !tb) out.noalias() += alpha * lhs_n * rhs_n;
  if (!ta && tb) out.noalias() += alpha * lhs_n * rhs_t.transpose();
  if (ta && !tb) out.noalias() += alpha * lhs_t.transpose() * rhs_n;
  if (ta && tb) out.noalias() += alpha * lhs_t.transpose() * rhs_t.transpose();
}

}  // namespace

void sgemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a,
           std::size_t lda, const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) {
  if (m == 0 || n == 0) return;
  const auto blocks = static_cast<std::ptrdiff_t>((m + kRowBlock - 1) / kRowBlock);
  const bool large = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k) > 4.0e6;
#pragma omp parallel for schedule(static) if (large && blocks > 1)
  for (std::ptrdiff_t i = 0; i < blocks; ++i) {
    const std::size_t r0 = static_cast<std::size_t>(i) * kRowBlock;
    block(ta, tb, r0, std::min(kRowBlock, m - r0), n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
}

}  // namespace posenc::detail
