// All-pairs hop counts: bit-parallel multi-source BFS, 256 sources per block, written straight
// into the caller's buffer in the element type it asks for (int64, int32, uint16, uint8).
//
// A block of 256 sources runs one BFS over the *in*-edges: node w reached from source s at level L
// means a path w -> ... -> s of L hops, so L is written to row w, column s. Every write of a level
// then goes to 256 consecutive entries of one row (one masked store per 64 sources with AVX-512),
// and each block fills its own column stripe, so threads never share an element.
#include <omp.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <limits>
#include <span>

#if defined(__AVX512BW__)
#include <immintrin.h>
#endif

#include "detail/check.hpp"
#include "detail/memory.hpp"
#include "detail/parallel.hpp"
#include "posenc/graph.hpp"

namespace posenc {

namespace detail {

namespace {

constexpr std::size_t kWords = 4;  // 64-bit words per node: 256 sources per block
constexpr std::size_t kBlock = 64 * kWords;
using Bits = std::array<std::uint64_t, kWords>;

/// The value and clip rules of one output type (docs in posenc/graph.hpp).
template <class T>
struct HopLimits {
  T unreachable;
  std::int64_t cap;  ///< largest hop count written
};

template <class T>
HopLimits<T> hop_limits(const char* fn, const ShortestPathOptions& o) {
  if (o.max_distance < -1) fail(fn, "parameter 'max_distance' must be >= 0 (or -1 for none), got ", o.max_distance);
  constexpr auto lo = static_cast<std::int64_t>(std::numeric_limits<T>::min());
  constexpr auto hi = static_cast<std::int64_t>(std::numeric_limits<T>::max());
  constexpr bool narrow = sizeof(T) <= 2;
  const std::int64_t unreachable = std::is_unsigned_v<T> && o.unreachable == -1 ? hi : o.unreachable;
  if (unreachable < lo || unreachable > hi)
    fail(fn, "parameter 'unreachable' = ", o.unreachable, " does not fit the output type (range [", lo, ", ", hi, "])");
  if (o.max_distance > hi)
    fail(fn, "parameter 'max_distance' = ", o.max_distance, " does not fit the output type (at most ", hi, ")");
  std::int64_t cap = o.max_distance >= 0 ? o.max_distance : narrow ? hi - 1 : hi;
  return {static_cast<T>(unreachable), cap};
}

/// dst[b] = value for every set bit b of mask (64 consecutive entries).
template <class T>
inline void masked_fill(T* dst, std::uint64_t mask, T value) {
#if defined(__AVX512BW__)
  if constexpr (sizeof(T) == 1) {
    _mm512_mask_storeu_epi8(dst, mask, _mm512_set1_epi8(static_cast<char>(value)));
    return;
  } else if constexpr (sizeof(T) == 2) {
    const __m512i v = _mm512_set1_epi16(static_cast<short>(value));
    _mm512_mask_storeu_epi16(dst, static_cast<__mmask32>(mask), v);
    _mm512_mask_storeu_epi16(dst + 32, static_cast<__mmask32>(mask >> 32), v);
    return;
  } else if constexpr (sizeof(T) == 4) {
    const __m512i v = _mm512_set1_epi32(static_cast<int>(value));
    for (int q = 0; q < 4; ++q)
      _mm512_mask_storeu_epi32(dst + 16 * q, static_cast<__mmask16>(mask >> (16 * q)), v);
    return;
  } else {
    const __m512i v = _mm512_set1_epi64(static_cast<long long>(value));
    for (int q = 0; q < 8; ++q)
      _mm512_mask_storeu_epi64(dst + 8 * q, static_cast<__mmask8>(mask >> (8 * q)), v);
    return;
  }
#endif
  for (std::uint64_t bits = mask; bits != 0; bits &= bits - 1) dst[std::countr_zero(bits)] = value;
}

/// Masked stores write only the lanes of set bits (masked-off lanes neither fault nor write), so
/// the last, narrower block and the neighbouring blocks' columns are never touched.
template <class T>
void hops_kernel(const Graph& g, T* out, std::size_t n, HopLimits<T> lim, int threads) {
  const auto& off = g.in_offsets();
  const auto& adj = g.in_adjacency();
  const std::size_t blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel num_threads(thread_count(threads))
  {
    std::vector<Bits> seen(n), frontier(n), next(n);
    std::vector<std::uint32_t> active, touched;
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t bb = 0; bb < static_cast<std::int64_t>(blocks); ++bb) {
      const std::size_t s0 = static_cast<std::size_t>(bb) * kBlock, width = std::min(kBlock, n - s0);
      for (std::size_t w = 0; w < n; ++w) std::fill_n(out + w * n + s0, width, lim.unreachable);
      std::fill(seen.begin(), seen.end(), Bits{});
      std::fill(frontier.begin(), frontier.end(), Bits{});
      active.clear();
      for (std::size_t b = 0; b < width; ++b) {
        const std::size_t s = s0 + b;
        seen[s][b / 64] |= std::uint64_t{1} << (b % 64);
        frontier[s] = seen[s];
        active.push_back(static_cast<std::uint32_t>(s));
        out[s * n + s] = T{0};
      }
      for (std::int64_t level = 1; !active.empty(); ++level) {
        touched.clear();
        for (const std::uint32_t v : active) {
          const Bits f = frontier[v];
          for (auto e = off[v]; e < off[v + 1]; ++e) {
            const auto w = static_cast<std::size_t>(adj[static_cast<std::size_t>(e)]);
            Bits& nx = next[w];
            const Bits& sn = seen[w];
            std::uint64_t any = 0, was = 0;
            for (std::size_t k = 0; k < kWords; ++k) {
              const std::uint64_t fresh = f[k] & ~sn[k];
              was |= nx[k];
              nx[k] |= fresh;
              any |= fresh;
            }
            if (any != 0 && was == 0) touched.push_back(static_cast<std::uint32_t>(w));
          }
        }
        for (const std::uint32_t v : active) frontier[v] = Bits{};
        active.clear();
        const T value = static_cast<T>(std::min(level, lim.cap));
        for (const std::uint32_t w : touched) {
          Bits& nx = next[w];
          T* row = out + static_cast<std::size_t>(w) * n + s0;
          std::uint64_t any = 0;
          for (std::size_t k = 0; k < kWords; ++k) {
            const std::uint64_t fresh = nx[k] & ~seen[w][k];
            nx[k] = 0;
            seen[w][k] |= fresh;
            frontier[w][k] = fresh;
            any |= fresh;
            if (fresh != 0) masked_fill(row + 64 * k, fresh, value);
          }
          if (any != 0) active.push_back(w);
        }
      }
    }
  }
}

template <class T>
void hops_into(const char* fn, const Graph& g, std::span<T> out, const ShortestPathOptions& o) {
  const HopLimits<T> lim = hop_limits<T>(fn, o);
  const auto n = static_cast<std::size_t>(g.nodes());
  if (n > std::numeric_limits<std::uint32_t>::max()) fail(fn, "parameter 'graph' has ", n, " nodes (at most 2^32 - 1)");
  if (out.size() != n * n)
    fail(fn, "parameter 'out' must hold N x N = ", n * n, " elements (N = ", n, "), got ", out.size());
  if (n == 0) return;
  hops_kernel(g, out.data(), n, lim, o.threads);
}

}  // namespace

}  // namespace detail

void shortest_path_hops_into(const Graph& g, std::span<std::int64_t> out, const ShortestPathOptions& o) {
  detail::hops_into("shortest_path_hops_into", g, out, o);
}
void shortest_path_hops_into(const Graph& g, std::span<std::int32_t> out, const ShortestPathOptions& o) {
  detail::hops_into("shortest_path_hops_into", g, out, o);
}
void shortest_path_hops_into(const Graph& g, std::span<std::uint16_t> out, const ShortestPathOptions& o) {
  detail::hops_into("shortest_path_hops_into", g, out, o);
}
void shortest_path_hops_into(const Graph& g, std::span<std::uint8_t> out, const ShortestPathOptions& o) {
  detail::hops_into("shortest_path_hops_into", g, out, o);
}

ITensor shortest_path_hops(const Graph& g, const ShortestPathOptions& o) {
  const char* fn = "shortest_path_hops";
  const auto n = static_cast<std::size_t>(g.nodes());
  detail::hop_limits<std::int64_t>(fn, o);  // option errors before the allocation check
  detail::require_allocation(fn, "the N x N hop counts, N x N =", static_cast<long double>(n) * n, sizeof(std::int64_t));
  ITensor dist = detail::fresh_tensor<ITensor>(Shape{n, n});
  detail::hops_into(fn, g, std::span<std::int64_t>(dist.data(), dist.size()), o);
  return dist;
}

}  // namespace posenc
