// Row-major sgemm on JIT kernels (libxsmm for small products, oneDNN above), blocks of rows
// spread by OpenMP (gemm.hpp).
#include "detail/gemm.hpp"

#include <libxsmm.h>
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace posenc::detail {

void init_small_products() {
  // libxsmm 1.17 sets OMP_PROC_BIND=TRUE when it is unset, which every child process then
  // inherits (a posenc child run under it returned another basis of a repeated Laplacian
  // eigenspace: LAPACK rounds differently when its threads are bound): undone here.
  static std::once_flag once;
  std::call_once(once, [] {
    const bool had_binding = std::getenv("OMP_PROC_BIND") != nullptr;
    libxsmm_init();
    if (!had_binding) unsetenv("OMP_PROC_BIND");
  });
}

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

/// Products of at most this many multiply-adds (m n k) go to libxsmm's small-matrix kernels
/// (SmallProduct in bench/bench_text.cpp, one Zen 5 core, ns per call, libxsmm / oneDNN /
/// OpenBLAS: 17 x 16 x 17 77 / 337 / 249; 32 x 16 x 32 211 / 527 / 531; 32 x 32 x 16 NT, with
/// the transpose, 247 / 684 / 563; 64^3 2530 / 3070 / 5600; 128 x 64 x 128 about equal to oneDNN,
/// which is ahead from 128 x 128 x 128 in standalone loops). The attention core's tiles of
/// short sequences (a ViT's 17 x 17 x 16, a text model's 32 x 32 x 16) live here.
constexpr double kSmallProduct = 64.0 * 64.0 * 128.0;

/// Per-thread scratch for the small path (a transposed operand, a product to be scaled).
std::vector<float>& scratch(int which) {
  thread_local std::vector<float> buffers[2];
  return buffers[which];
}

/// t[k, n] = b^T for a row-major b [n, k] with leading dimension ldb, through libxsmm's JIT
/// transpose kernel (24 ns for 32 x 16 on a Zen 5 core, a scalar loop 156 ns) when it has one.
void transpose(const float* b, std::size_t n, std::size_t k, std::size_t ldb, float* t) {
  struct Cached {
    std::size_t n = 0, k = 0;
    libxsmm_xtransfunction kernel = nullptr;
  };
  thread_local Cached last;
  if (last.n != n || last.k != k) {
    libxsmm_descriptor_blob blob;
    // Column-major: the [k, n] matrix that b's memory holds becomes [n, k] with leading dimension n.
    const auto* desc = libxsmm_trans_descriptor_init(&blob, sizeof(float), static_cast<unsigned>(k),
                                                      static_cast<unsigned>(n), static_cast<unsigned>(n));
    last = {n, k, desc != nullptr ? libxsmm_dispatch_trans(desc) : nullptr};
  }
  if (last.kernel != nullptr) {
    const auto ldi = static_cast<unsigned>(ldb), ldo = static_cast<unsigned>(n);
    last.kernel(b, &ldi, t, &ldo);
    return;
  }
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t p = 0; p < k; ++p) t[p * n + j] = b[j * ldb + p];
}

/// libxsmm 1.17 kernel for the column-major product C[mm, nn] = A[mm, k] op(B)[k, nn] (+ C when
/// accumulate); null when libxsmm generates none (no JIT for this CPU, or an unsupported case).
libxsmm_smmfunction small_kernel(std::size_t mm, std::size_t nn, std::size_t k, std::size_t lda, std::size_t ldb,
                                 std::size_t ldc, bool trans_b, bool accumulate) {
  const auto dim = [](std::size_t x) { return static_cast<libxsmm_blasint>(x); };
  const libxsmm_blasint la = dim(lda), lb = dim(ldb), lc = dim(ldc);
  const float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
  const int flags = trans_b ? LIBXSMM_GEMM_FLAG_TRANS_B : 0;
  const int prefetch = LIBXSMM_GEMM_PREFETCH_NONE;
  return libxsmm_smmdispatch(dim(mm), dim(nn), dim(k), &la, &lb, &lc, &alpha, &beta, &flags, &prefetch);
}

/// The row-major product through libxsmm, read as the column-major c^T = op(b)^T op(a)^T; false
/// (nothing written) when libxsmm has no kernel for it. libxsmm's kernels take alpha = 1 and
/// beta = 0 or 1 only, and no transposed first operand: b^T is transposed into scratch first, and
/// alpha != 1 scales the product after it (beta = 0 in place, beta = 1 through scratch).
bool small_sgemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a,
                 std::size_t lda, const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) {
  if (beta != 0.0f && beta != 1.0f) return false;
  init_small_products();
  const bool through_scratch = alpha != 1.0f && beta != 0.0f;
  const auto kernel = small_kernel(n, m, k, tb ? n : ldb, lda, through_scratch ? n : ldc, ta,
                                   beta != 0.0f && !through_scratch);
  if (kernel == nullptr) return false;
  if (tb) {
    // op(b) = b^T with b [n, k]: copy it into a [k, n] block.
    auto& t = scratch(0);
    if (t.size() < k * n) t.resize(k * n);
    transpose(b, n, k, ldb, t.data());
    b = t.data();
  }
  if (!through_scratch) {
    kernel(b, a, c);
    if (alpha != 1.0f)
      for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) c[i * ldc + j] *= alpha;
    return true;
  }
  auto& p = scratch(1);
  if (p.size() < m * n) p.resize(m * n);
  kernel(b, a, p.data());
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) c[i * ldc + j] += alpha * p[i * n + j];
  return true;
}

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
  if (static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k) <= kSmallProduct &&
      small_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc))
    return;
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
  // serial_sgemm hands a product this small to libxsmm, whose registry is set up here too (its
  // kernels are generated per shape, a few microseconds each, on first use).
  init_small_products();
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
  init_small_products();  // before the parallel region (it may modify the environment once)
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
