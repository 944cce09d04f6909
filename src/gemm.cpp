// Row-major sgemm on oneDNN's serial JIT kernels, blocks of rows spread by OpenMP (gemm.hpp).
#include "detail/gemm.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>

namespace posenc::detail {

namespace {

/// oneDNN's OpenMP build splits one product over omp_get_max_threads() threads when it is called
/// outside a parallel region, and the split can cut the k sum (results would then depend on the
/// thread count). Inside an active region it runs on the calling thread; outside, this pins the
/// caller's thread count to one for the call and restores it after.
class SerialOutsideParallel {
 public:
  SerialOutsideParallel() : saved_(omp_in_parallel() ? 0 : omp_get_max_threads()) {
    if (saved_ > 1) omp_set_num_threads(1);
  }
  ~SerialOutsideParallel() {
    if (saved_ > 1) omp_set_num_threads(saved_);
  }
  SerialOutsideParallel(const SerialOutsideParallel&) = delete;
  SerialOutsideParallel& operator=(const SerialOutsideParallel&) = delete;

 private:
  int saved_;
};

/// Products of at most this many multiply-adds (m n k) go to OpenBLAS: below it oneDNN's per-call
/// overhead dominates (16 x 16 x 16: 0.39 us against OpenBLAS's 0.21 us on a Zen 5 core; equal at
/// 32 x 32 x 16, oneDNN ahead above: 64^3 4.3 us against 6.5 us). The attention core's tiles of
/// short sequences (a ViT's 17 x 17 x 16) live here.
constexpr double kTinyProduct = 8192;

}  // namespace

void serial_sgemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a,
                  std::size_t lda, const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    // C = beta C (beta = 0 writes zeros without reading c).
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
    return;
  }
  if (static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k) <= kTinyProduct) {
    // OpenBLAS runs a product this small on the calling thread whatever its thread count (its
    // interface goes single-threaded below m n k = 65536 x GEMM_MULTITHREAD_THRESHOLD).
    const auto dim = [](std::size_t x) { return static_cast<blasint>(x); };
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, dim(m), dim(n), dim(k),
                alpha, a, dim(lda), b, dim(ldb), beta, c, dim(ldc));
    return;
  }
  const SerialOutsideParallel serial;
  const auto dim = [](std::size_t x) { return static_cast<dnnl_dim_t>(x); };
  const dnnl_status_t status = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', dim(m), dim(n), dim(k), alpha, a, dim(lda),
                                          b, dim(ldb), beta, c, dim(ldc));
  if (status != dnnl_success)
    throw std::runtime_error("posenc::detail::serial_sgemm: oneDNN's dnnl_sgemm failed (status " +
                             std::to_string(static_cast<int>(status)) + ") for m = " + std::to_string(m) +
                             ", n = " + std::to_string(n) + ", k = " + std::to_string(k));
}

void prepare_sgemm() {
  // An 8 x 8 x 8 product through oneDNN's blocked driver generates all its kernels at once (a
  // 1 x 1 x 1 product takes a path that generates only its own); oneDNN directly, since
  // serial_sgemm hands a product this small to OpenBLAS, whose first call is made here too.
  constexpr std::size_t n = 8;
  const float a[n * n] = {}, b[n * n] = {};
  float c[n * n];
  const SerialOutsideParallel serial;
  if (dnnl_sgemm('N', 'N', n, n, n, 1.0f, a, n, b, n, 0.0f, c, n) != dnnl_success)
    throw std::runtime_error("posenc::detail::prepare_sgemm: oneDNN's dnnl_sgemm failed");
  serial_sgemm(false, false, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
}

void sgemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a,
           std::size_t lda, const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) {
  if (m == 0 || n == 0) return;
  const auto blocks = static_cast<std::ptrdiff_t>((m + kRowBlock - 1) / kRowBlock);
  const bool large = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k) > 4.0e6;
#pragma omp parallel for schedule(static) if (large && blocks > 1)
  for (std::ptrdiff_t i = 0; i < blocks; ++i) {
    const std::size_t r0 = static_cast<std::size_t>(i) * kRowBlock;
    // op(a)'s rows r0.. : rows of a row-major [m, k], or columns of a [k, m] when transposed.
    serial_sgemm(ta, tb, std::min(kRowBlock, m - r0), n, k, alpha, ta ? a + r0 : a + r0 * lda, lda, b, ldb, beta,
                 c + r0 * ldc, ldc);
  }
}

}  // namespace posenc::detail
