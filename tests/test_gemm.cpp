// detail::sgemm and detail::serial_sgemm (the products under the layers and the attention core)
// against a double-precision triple loop, for every transpose pair and shapes around the row
// block; beta = 0 never reads c; the result is bit-identical for any thread count.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "detail/gemm.hpp"

namespace {

struct Operands {
  std::size_t m, n, k;
  bool ta, tb;
  std::vector<float> a, b;
  std::size_t lda, ldb;
};

/// op(a) [m, k] and op(b) [k, n] with leading dimensions padded by 3 (strided views).
Operands operands(std::size_t m, std::size_t n, std::size_t k, bool ta, bool tb, unsigned seed) {
  Operands o{m, n, k, ta, tb, {}, {}, (ta ? m : k) + 3, (tb ? k : n) + 3};
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  o.a.resize((ta ? k : m) * o.lda);
  o.b.resize((tb ? n : k) * o.ldb);
  for (float& x : o.a) x = u(rng);
  for (float& x : o.b) x = u(rng);
  return o;
}

/// op(a)[i, p] and op(b)[p, j].
float at_a(const Operands& o, std::size_t i, std::size_t p) { return o.ta ? o.a[p * o.lda + i] : o.a[i * o.lda + p]; }
float at_b(const Operands& o, std::size_t p, std::size_t j) { return o.tb ? o.b[j * o.ldb + p] : o.b[p * o.ldb + j]; }

/// c = alpha op(a) op(b) + beta c0 in double, c0[i, j] = 0.5 - 0.01 j.
std::vector<double> oracle(const Operands& o, float alpha, float beta, std::size_t ldc) {
  std::vector<double> c(o.m * ldc, 0.0);
  for (std::size_t i = 0; i < o.m; ++i)
    for (std::size_t j = 0; j < o.n; ++j) {
      double s = 0.0;
      for (std::size_t p = 0; p < o.k; ++p) s += static_cast<double>(at_a(o, i, p)) * at_b(o, p, j);
      c[i * ldc + j] = alpha * s + (beta == 0.0f ? 0.0 : beta * (0.5 - 0.01 * static_cast<double>(j)));
    }
  return c;
}

std::vector<float> product(const Operands& o, float alpha, float beta, std::size_t ldc, bool serial) {
  std::vector<float> c(o.m * ldc);
  for (std::size_t i = 0; i < o.m; ++i)
    for (std::size_t j = 0; j < ldc; ++j)
      c[i * ldc + j] = beta == 0.0f ? std::numeric_limits<float>::quiet_NaN() : 0.5f - 0.01f * static_cast<float>(j);
  if (serial)
    posenc::detail::serial_sgemm(o.ta, o.tb, o.m, o.n, o.k, alpha, o.a.data(), o.lda, o.b.data(), o.ldb, beta,
                                 c.data(), ldc);
  else
    posenc::detail::sgemm(o.ta, o.tb, o.m, o.n, o.k, alpha, o.a.data(), o.lda, o.b.data(), o.ldb, beta, c.data(),
                          ldc);
  return c;
}

TEST(Gemm, MatchesDoubleTripleLoopForEveryTransposePair) {
  const std::size_t shapes[][3] = {{1, 1, 1},    {3, 5, 2},     {7, 9, 4},      {17, 17, 16},   {32, 32, 16},
                                   {17, 33, 65}, {64, 64, 128}, {64, 65, 128}, {257, 40, 31}, {600, 130, 129}};
  const float coefficients[][2] = {{1.0f, 0.0f}, {0.5f, 1.0f}, {-2.0f, 0.25f}};
  unsigned seed = 1;
  for (const auto& s : shapes)
    for (int t = 0; t < 4; ++t)
      for (const auto& ab : coefficients)
        for (const bool serial : {false, true}) {
          const Operands o = operands(s[0], s[1], s[2], t & 1, t & 2, seed++);
          const std::size_t ldc = o.n + 2;
          const auto got = product(o, ab[0], ab[1], ldc, serial);
          const auto want = oracle(o, ab[0], ab[1], ldc);
          for (std::size_t i = 0; i < o.m; ++i) {
            for (std::size_t j = 0; j < o.n; ++j) {
              // float products of k terms in [-1, 1]: error below k * 2^-23 * |alpha| * max|term sum|.
              const double tol = 4e-7 * static_cast<double>(o.k + 1) * std::abs(ab[0]) + 1e-6;
              ASSERT_NEAR(got[i * ldc + j], want[i * ldc + j], tol)
                  << "m " << o.m << " n " << o.n << " k " << o.k << " ta " << o.ta << " tb " << o.tb << " at (" << i
                  << ", " << j << ")";
            }
            // The padding columns of c are not written.
            for (std::size_t j = o.n; j < ldc; ++j) {
              if (ab[1] == 0.0f) {
                ASSERT_TRUE(std::isnan(got[i * ldc + j]));  // product() filled c with NaN
              } else {
                ASSERT_EQ(got[i * ldc + j], 0.5f - 0.01f * static_cast<float>(j));
              }
            }
          }
        }
}

// libxsmm_init (the small products' library) sets OMP_PROC_BIND=TRUE when it is unset; child
// processes would inherit it. ctest runs each test in its own process, so this product is the
// process's first.
TEST(Gemm, SmallProductsLeaveTheEnvironmentAlone) {
  const char* before = std::getenv("OMP_PROC_BIND");
  const std::string saved = before ? before : "";
  const Operands o = operands(16, 16, 16, false, true, 7);
  const auto got = product(o, 1.0f, 0.0f, 16, true);
  const auto want = oracle(o, 1.0f, 0.0f, 16);
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5) << i;
  const char* after = std::getenv("OMP_PROC_BIND");
  EXPECT_EQ(before == nullptr, after == nullptr) << (after ? after : "(unset)");
  if (before && after) {
    EXPECT_EQ(saved, after);
  }
}

TEST(Gemm, EmptySumScalesOrZeroesC) {
  const Operands o = operands(4, 6, 0, false, false, 7);
  const auto zeroed = product(o, 1.0f, 0.0f, o.n, false);
  for (float x : zeroed) EXPECT_EQ(x, 0.0f);
  const auto scaled = product(o, 1.0f, 2.0f, o.n, true);
  for (std::size_t i = 0; i < o.m; ++i)
    for (std::size_t j = 0; j < o.n; ++j) EXPECT_FLOAT_EQ(scaled[i * o.n + j], 2.0f * (0.5f - 0.01f * j));
}

TEST(Gemm, BitIdenticalForAnyThreadCountInsideAndOutsideParallelRegions) {
  // Tall products whose row blocks sgemm spreads over threads, and a long sum that oneDNN, left to
  // itself, cuts over 8 threads (changing the rounding).
  const Operands shapes[] = {operands(1100, 384, 700, false, true, 11), operands(32, 32, 100000, false, false, 12)};
  const int saved = omp_get_max_threads();
  for (const Operands& o : shapes) {
    omp_set_num_threads(1);
    const auto one = product(o, 1.0f, 0.0f, o.n, false);
    const auto serial_one = product(o, 1.0f, 0.0f, o.n, true);
    for (const int threads : {2, 3, 8}) {
      omp_set_num_threads(threads);
      EXPECT_EQ(product(o, 1.0f, 0.0f, o.n, false), one) << o.m << " x " << o.n << ", " << threads << " threads";
      EXPECT_EQ(product(o, 1.0f, 0.0f, o.n, true), serial_one) << o.m << " x " << o.n << ", " << threads << " threads";
      // serial_sgemm called from inside a parallel region (as the attention core's tiles do).
      std::vector<std::vector<float>> inside(static_cast<std::size_t>(threads));
#pragma omp parallel for num_threads(threads)
      for (int t = 0; t < threads; ++t) inside[static_cast<std::size_t>(t)] = product(o, 1.0f, 0.0f, o.n, true);
      for (const auto& c : inside) EXPECT_EQ(c, serial_one) << threads << " threads inside a parallel region";
      // The caller's thread count is restored after a serial product.
      EXPECT_EQ(omp_get_max_threads(), threads);
    }
  }
  omp_set_num_threads(saved);
}

}  // namespace
