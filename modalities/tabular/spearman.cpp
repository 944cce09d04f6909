// Spearman's rho for Tab-PET's feature graph: average ranks by a radix sort, and the rank
// cross-products as blocked DSYRK calls (OpenBLAS) that are exact in double (spearman.hpp).
#include "spearman.hpp"

#include <omp.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <utility>

#include <cblas.h>

#include "detail/blas_threads.hpp"
#include "detail/memory.hpp"


namespace posenc::tabular_detail {

namespace {

/// The doubles' bits mapped to unsigned integers in the same order (-0 as +0).
inline std::uint64_t order_key(double v) {
  const double x = v + 0.0;
  std::uint64_t u;
  std::memcpy(&u, &x, sizeof u);
  return (u >> 63) ? ~u : (u | (std::uint64_t{1} << 63));
}

/// The elements of sorted positions [i, j) that share the radix sort's top bits, ordered by their
/// whole keys (read back from z) and ranked; a tie group [g, h) of the sorted order has
/// 2 mean rank - (n + 1) = g + h - n. Out of line, so that the common one-element case keeps its
/// loop in registers.
template <class T>
[[gnu::noinline]] void rank_run(const double* z, const std::uint64_t* words, std::size_t i, std::size_t j,
                                std::size_t n, std::uint64_t low, T* out) {
  thread_local std::vector<std::pair<std::uint64_t, std::uint32_t>> run;
  run.clear();
  bool mixed = false;
  for (std::size_t k = i; k < j; ++k) {
    const auto at = static_cast<std::uint32_t>(words[k] & low);
    run.emplace_back(order_key(z[at]), at);
    mixed = mixed || run.back().first != run.front().first;
  }
  if (mixed)  // a run of one repeated value (discrete columns: most runs) is one tie group as it is
    std::sort(run.begin(), run.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  for (std::size_t g = 0; g < run.size();) {
    std::size_t h = g + 1;
    while (h < run.size() && run[h].first == run[g].first) ++h;
    const auto r = static_cast<T>(static_cast<std::int64_t>(2 * i + g + h) - static_cast<std::int64_t>(n));
    for (std::size_t k = g; k < h; ++k) out[run[k].second] = r;
    g = h;
  }
}

}  // namespace

template <class T>
void centred_ranks(const double* z, std::size_t n, T* out) {
  // Each element as one word: the top key bits above its index (b = bits of n - 1, at most 31). An
  // LSD radix sort on the word's top 33 bits (three 11-bit digits, a digit shared by every word
  // skipped) moves 8 bytes an element and writes one stream per bucket; the rare runs that share
  // those bits are ordered by their whole keys, read back from z.
  if (n == 0) return;
  const int b = std::max(1, static_cast<int>(std::bit_width(n - 1)));  // <= 31: n <= 2^31 (the callers check)
  const std::uint64_t low = (std::uint64_t{1} << b) - 1;
  thread_local std::vector<std::uint64_t> words, tmp;
  words.resize(n);
  tmp.resize(n);
  constexpr int kBits = 11, kPasses = 3, kLow = 64 - kBits * kPasses;
  constexpr std::size_t kBuckets = std::size_t{1} << kBits;
  std::vector<std::uint32_t> counts(kPasses * kBuckets, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t word = (order_key(z[i]) & ~low) | i;
    words[i] = word;
    for (int p = 0; p < kPasses; ++p) ++counts[p * kBuckets + ((word >> (kLow + kBits * p)) & (kBuckets - 1))];
  }
  for (int p = 0; p < kPasses; ++p) {
    std::uint32_t* c = counts.data() + p * kBuckets;
    if (std::any_of(c, c + kBuckets, [&](std::uint32_t v) { return v == n; })) continue;
    std::uint32_t sum = 0;
    for (std::size_t d = 0; d < kBuckets; ++d) {
      const std::uint32_t c0 = c[d];
      c[d] = sum;
      sum += c0;
    }
    const int shift = kLow + kBits * p;
    for (std::size_t i = 0; i < n; ++i) tmp[c[(words[i] >> shift) & (kBuckets - 1)]++] = words[i];
    words.swap(tmp);
  }
  // Runs [i, j) sharing the top bits (rare for continuous columns: one element each, ranked here);
  // longer runs are tie groups or need the whole keys (rank_run).
  const std::uint64_t* wd = words.data();
  for (std::size_t i = 0; i < n;) {
    const std::uint64_t top = wd[i] >> kLow;
    std::size_t j = i + 1;
    while (j < n && (wd[j] >> kLow) == top) ++j;
    if (j == i + 1)
      out[wd[i] & low] = static_cast<T>(static_cast<std::int64_t>(2 * i + 1) - static_cast<std::int64_t>(n));
    else
      rank_run(z, wd, i, j, n, low, out);
    i = j;
  }
}

template void centred_ranks<float>(const double*, std::size_t, float*);
template void centred_ranks<double>(const double*, std::size_t, double*);

namespace {

/// S = R R^T [F, F] (upper triangle) of the centred ranks R [F, n]: rows in blocks of L whose
/// partial sums stay below 2^53 (exact), blocks grouped into a fixed number of chunks (threads
/// over chunks, OpenBLAS on one thread), chunks summed in order.
template <class T>
std::vector<double> rank_products(const T* R, std::size_t F, std::size_t n) {
  const double lim = 9007199254740992.0, m = static_cast<double>(n - 1);  // 2^53; |rank entry| <= n - 1
  std::size_t L = 2048;
  if (static_cast<double>(L) * m * m >= lim) L = std::max<std::size_t>(1, static_cast<std::size_t>(lim / (m * m)) - 1);
  const std::size_t blocks = (n + L - 1) / L;
  std::size_t chunks = std::min<std::size_t>(8, blocks);
  while (chunks > 1 && chunks * F * F * sizeof(double) > (std::size_t{256} << 20)) --chunks;
  std::vector<double> part(chunks * F * F, 0.0);
  const detail::SingleThreadedBlas one;
#pragma omp parallel
  {
    std::vector<double> blk;
#pragma omp for schedule(static)
    for (std::int64_t cc = 0; cc < static_cast<std::int64_t>(chunks); ++cc) {
      const auto c = static_cast<std::size_t>(cc);
      double* out = part.data() + c * F * F;
      for (std::size_t b = c * blocks / chunks; b < (c + 1) * blocks / chunks; ++b) {
        const std::size_t r0 = b * L, len = std::min(L, n - r0);
        blk.resize(F * len);
        for (std::size_t f = 0; f < F; ++f) std::copy_n(R + f * n + r0, len, blk.data() + f * len);
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, static_cast<int>(F), static_cast<int>(len), 1.0,
                    blk.data(), static_cast<int>(len), 1.0, out, static_cast<int>(F));
      }
    }
  }
  for (std::size_t c = 1; c < chunks; ++c)
    for (std::size_t k = 0; k < F * F; ++k) part[k] += part[c * F * F + k];
  part.resize(F * F);
  return part;
}

template <class T>
std::vector<double> ranks_and_products(std::size_t F, std::size_t n, const ColumnFn& column) {
  auto R = detail::fresh_tensor<xt::xarray<T>>(Shape{F, n});
#pragma omp parallel
  {
    std::vector<double> scratch;
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t f = 0; f < static_cast<std::int64_t>(F); ++f) {
      const auto ff = static_cast<std::size_t>(f);
      centred_ranks(column(ff, scratch), n, R.data() + ff * n);
    }
  }
  return rank_products(R.data(), F, n);
}

}  // namespace

DTensor spearman_matrix(std::size_t F, std::size_t n, const ColumnFn& column, std::vector<std::int64_t>& constant) {
  const std::vector<double> S = n < (std::size_t{1} << 24) ? ranks_and_products<float>(F, n, column)
                                                           : ranks_and_products<double>(F, n, column);
  DTensor w = xt::zeros<double>(Shape{F, F});
  for (std::size_t a = 0; a < F; ++a)
    if (!(S[a * F + a] > 0)) constant.push_back(static_cast<std::int64_t>(a));
  for (std::size_t a = 0; a < F; ++a)
    for (std::size_t b = a + 1; b < F; ++b) {
      const double saa = S[a * F + a], sbb = S[b * F + b];
      if (!(saa > 0 && sbb > 0)) continue;
      const double r = std::clamp(S[a * F + b] / std::sqrt(saa * sbb), -1.0, 1.0);
      w(a, b) = r;
      w(b, a) = r;
    }
  return w;
}

}  // namespace posenc::tabular_detail
