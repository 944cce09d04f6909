// All-pairs hop counts: bit-parallel multi-source BFS, 512 sources per block, written straight
// into the caller's buffer in the element type it asks for (int64, int32, uint16, uint8).
//
// A block of 512 sources runs one BFS over the *in*-edges: node w reached from source s at level L
// means a path w -> ... -> s of L hops, so L is written to row w, column s. Every write of a level
// then goes to 512 consecutive entries of one row (one masked store per 64 sources with AVX-512),
// and each block fills its own column stripe, so threads never share an element.
//
// Each level runs in one of two directions (Beamer et al. 2012, for bit sets Then et al. 2014),
// chosen by the edges each would scan; both give the same masks, so the choice is speed only:
//   top-down   every frontier node v ORs its frontier mask into the masks of its in-neighbours w
//              (w -> v), then the touched nodes keep the bits they had not seen;
//   bottom-up  every node w that some source in the block has not yet reached ORs the frontier
//              masks of its out-neighbours; nodes reached from all 512 sources leave that list.
// Every output element is written once: the diagonal first, each level's fresh bits as found,
// the bits never reached as `unreachable` at the end (so a reused buffer needs no clearing pass).
#include <omp.h>
#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
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

constexpr std::size_t kWords = 8;  // 64-bit words per node: 512 sources per block
constexpr std::size_t kBlock = 64 * kWords;

/// One node's source mask: bit b of word k is source s0 + 64 k + b of the block.
struct alignas(64) Bits {
  std::uint64_t q[kWords];
};

#if defined(__AVX512BW__)
using Vec = __m512i;
inline Vec load(const Bits& b) { return _mm512_load_si512(b.q); }
inline void store(Bits& b, Vec v) { _mm512_store_si512(b.q, v); }
inline Vec vor(Vec a, Vec b) { return _mm512_or_si512(a, b); }
inline Vec andnot(Vec a, Vec b) { return ~a & b; }  ///< (GCC's vector operators: _mm512_andnot_si512 warns in GCC 12)
inline Vec zero() { return _mm512_setzero_si512(); }
inline bool none(Vec a) { return _mm512_test_epi64_mask(a, a) == 0; }
inline bool same(Vec a, Vec b) { return _mm512_cmpneq_epi64_mask(a, b) == 0; }
#else
using Vec = Bits;
inline Vec load(const Bits& b) { return b; }
inline void store(Bits& b, Vec v) { b = v; }
inline Vec vor(Vec a, Vec b) {
  for (std::size_t k = 0; k < kWords; ++k) a.q[k] |= b.q[k];
  return a;
}
inline Vec andnot(Vec a, Vec b) {
  for (std::size_t k = 0; k < kWords; ++k) b.q[k] &= ~a.q[k];
  return b;
}
inline Vec zero() { return Bits{}; }
inline bool none(Vec a) {
  std::uint64_t any = 0;
  for (std::size_t k = 0; k < kWords; ++k) any |= a.q[k];
  return any == 0;
}
inline bool same(Vec a, Vec b) { return std::memcmp(a.q, b.q, sizeof(a.q)) == 0; }
#endif

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

/// row[b] = value for every set bit b of the 512-bit mask. Masked stores write only the lanes of
/// set bits (masked-off lanes neither fault nor write), so the last, narrower block and the
/// neighbouring blocks' columns are never touched.
template <class T>
inline void write_bits(T* row, Vec mask, T value) {
  Bits m;
  store(m, mask);
  for (std::size_t k = 0; k < kWords; ++k)
    if (m.q[k] != 0) masked_fill(row + 64 * k, m.q[k], value);
}

/// The graph in 32-bit CSR (half the bytes of Graph's int64 arrays in the edge sweeps).
struct Csr32 {
  std::vector<std::uint32_t> off, adj;
  explicit Csr32(const std::vector<std::int64_t>& o, const std::vector<std::int64_t>& a)
      : off(o.begin(), o.end()), adj(a.begin(), a.end()) {}
  std::uint32_t degree(std::uint32_t v) const { return off[v + 1] - off[v]; }
};

/// One thread's masks, 64-byte aligned, on huge pages when large (a 4 KiB page fault costs
/// ~10 us on virtual machines, and the three arrays of a 5000-node graph span 240 pages).
struct Workspace {
  std::unique_ptr<Bits[], detail::FreeDelete> mem;
  Bits *seen, *frontier, *next;
  explicit Workspace(std::size_t n) {
    const std::size_t bytes = 3 * n * sizeof(Bits);
    if (bytes >= (std::size_t{1} << 19)) {
      mem = detail::huge_buffer<Bits>(bytes);
    } else {
      mem.reset(static_cast<Bits*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64)));
      if (!mem) throw std::bad_alloc();
    }
    seen = mem.get();
    frontier = seen + n;
    next = frontier + n;
    std::memset(static_cast<void*>(seen), 0, bytes);
  }
};

/// One block of sources [s0, s0 + width): all its levels, then the unreachable bits.
/// On entry and exit ws.frontier and ws.next are all zero; ws.seen is cleared here.
template <class T>
void hops_block(const Csr32& in, const Csr32& out_edges, T* out, std::size_t n, std::size_t s0,
                std::size_t width, HopLimits<T> lim, Workspace& ws, std::vector<std::uint32_t> (&lists)[3]) {
  std::memset(static_cast<void*>(ws.seen), 0, n * sizeof(Bits));
  Bits full_bits{};
  for (std::size_t k = 0; k < kWords; ++k)
    full_bits.q[k] = width >= 64 * (k + 1) ? ~std::uint64_t{0} : width > 64 * k ? (std::uint64_t{1} << (width % 64)) - 1 : 0;
  const Vec full = load(full_bits);
  auto& active = lists[0];
  auto& fresh_nodes = lists[1];
  auto& remaining = lists[2];  // nodes not yet reached from every source (may hold saturated ones)
  active.clear();
  remaining.clear();
  std::uint64_t active_edges = 0, remaining_edges = 0;
  for (std::size_t b = 0; b < width; ++b) {
    const std::size_t s = s0 + b;
    ws.seen[s].q[b / 64] |= std::uint64_t{1} << (b % 64);
    ws.frontier[s] = ws.seen[s];
    active.push_back(static_cast<std::uint32_t>(s));
    active_edges += in.degree(static_cast<std::uint32_t>(s));
    out[s * n + s] = T{0};
  }
  for (std::uint32_t w = 0; w < n; ++w)
    if (!same(load(ws.seen[w]), full)) {
      remaining.push_back(w);
      remaining_edges += out_edges.degree(w);
    }
  for (std::int64_t level = 1; !active.empty(); ++level) {
    const T value = static_cast<T>(std::min(level, lim.cap));
    fresh_nodes.clear();
    // A bottom-up edge costs a load and an OR; a top-down one a read-modify-write and a branch.
    if (remaining_edges + remaining.size() < 4 * active_edges) {
      std::size_t keep = 0;
      remaining_edges = 0;
      for (const std::uint32_t w : remaining) {
        const Vec seen = load(ws.seen[w]);
        if (same(seen, full)) continue;
        Vec acc = zero();
        for (auto e = out_edges.off[w]; e < out_edges.off[w + 1]; ++e) acc = vor(acc, load(ws.frontier[out_edges.adj[e]]));
        const Vec fresh = andnot(seen, acc);
        if (!none(fresh)) {
          const Vec now = vor(seen, fresh);
          store(ws.seen[w], now);
          store(ws.next[w], fresh);
          fresh_nodes.push_back(w);
          write_bits(out + std::size_t{w} * n + s0, fresh, value);
          if (same(now, full)) continue;
        }
        remaining[keep++] = w;
        remaining_edges += out_edges.degree(w);
      }
      remaining.resize(keep);
    } else {
      std::vector<std::uint32_t>& touched = fresh_nodes;  // the touched nodes, filtered in place below
      for (const std::uint32_t v : active) {
        const Vec f = load(ws.frontier[v]);
        for (auto e = in.off[v]; e < in.off[v + 1]; ++e) {
          Bits& nx = ws.next[in.adj[e]];
          const Vec was = load(nx);
          if (none(was)) touched.push_back(in.adj[e]);
          store(nx, vor(was, f));
        }
      }
      std::size_t keep = 0;
      for (const std::uint32_t w : touched) {
        const Vec seen = load(ws.seen[w]);
        const Vec fresh = andnot(seen, load(ws.next[w]));
        store(ws.next[w], fresh);
        if (none(fresh)) continue;
        store(ws.seen[w], vor(seen, fresh));
        write_bits(out + std::size_t{w} * n + s0, fresh, value);
        touched[keep++] = w;
      }
      touched.resize(keep);
    }
    for (const std::uint32_t v : active) store(ws.frontier[v], zero());
    std::swap(ws.frontier, ws.next);
    active.swap(fresh_nodes);
    active_edges = 0;
    for (const std::uint32_t v : active) active_edges += in.degree(v);
  }
  for (const std::uint32_t w : remaining) {
    const Vec missing = andnot(load(ws.seen[w]), full);
    if (!none(missing)) write_bits(out + std::size_t{w} * n + s0, missing, lim.unreachable);
  }
}

template <class T>
void hops_kernel(const Graph& g, T* out, std::size_t n, HopLimits<T> lim, int threads) {
  const Csr32 in(g.in_offsets(), g.in_adjacency());
  const std::unique_ptr<const Csr32> out_copy =
      g.directed() ? std::make_unique<const Csr32>(g.offsets(), g.adjacency()) : nullptr;
  const Csr32& out_edges = out_copy ? *out_copy : in;
  const std::size_t blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel num_threads(std::min<int>(thread_count(threads), static_cast<int>(blocks)))
  {
    Workspace ws(n);
    std::vector<std::uint32_t> lists[3];
    for (auto& l : lists) l.reserve(n);
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t bb = 0; bb < static_cast<std::int64_t>(blocks); ++bb) {
      const std::size_t s0 = static_cast<std::size_t>(bb) * kBlock;
      hops_block(in, out_edges, out, n, s0, std::min(kBlock, n - s0), lim, ws, lists);
    }
  }
}

template <class T>
void hops_into(const char* fn, const Graph& g, std::span<T> out, const ShortestPathOptions& o) {
  const HopLimits<T> lim = hop_limits<T>(fn, o);
  const auto n = static_cast<std::size_t>(g.nodes());
  if (n >= std::numeric_limits<std::uint32_t>::max()) fail(fn, "parameter 'graph' has ", n, " nodes (at most 2^32 - 2)");
  if (out.size() != n * n)
    fail(fn, "parameter 'out' must hold N x N = ", n * n, " elements (N = ", n, "), got ", out.size());
  if (g.adjacency().size() >= std::numeric_limits<std::uint32_t>::max())
    fail(fn, "parameter 'graph' has ", g.adjacency().size(), " adjacency entries (at most 2^32 - 2)");
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
