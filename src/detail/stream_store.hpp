// Stores that bypass the caches, for tables too large to stay in them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace posenc::detail {

/// Tables of at least this many bytes are written with non-temporal stores (the sinusoid's register
/// kernel, stream_copy for the spherical harmonics). An
/// ordinary store to a line that is not in the cache first reads the line from memory (for a table
/// larger than the caches, twice the traffic of the write itself); a non-temporal store of a whole
/// line does not, but leaves nothing in the cache for a consumer that reads the table at once, so
/// smaller tables keep ordinary stores. 8 MiB: several times a core's L2, a quarter of a 32 MiB L3.
constexpr std::size_t kStreamBytes = std::size_t{8} << 20;

#if defined(__AVX512F__)
/// Copies `count` floats to dst; with `stream`, dst's whole 64-byte lines by non-temporal stores
/// and the partial lines at either end by ordinary ones (copies of neighbouring runs then share
/// only ordinarily written lines).
inline void stream_copy(float* dst, const float* src, std::size_t count, bool stream) {
  const std::size_t head = ((64 - reinterpret_cast<std::uintptr_t>(dst) % 64) % 64) / sizeof(float);
  if (!stream || reinterpret_cast<std::uintptr_t>(dst) % sizeof(float) != 0 || count < head + 16) {
    std::memcpy(dst, src, count * sizeof(float));
    return;
  }
  std::memcpy(dst, src, head * sizeof(float));
  std::size_t i = head;
  for (; i + 16 <= count; i += 16) _mm512_stream_ps(dst + i, _mm512_loadu_ps(src + i));
  std::memcpy(dst + i, src + i, (count - i) * sizeof(float));
}
#endif

/// Orders this thread's non-temporal stores before its later stores (an sfence).
inline void stream_fence() {
#if defined(__AVX512F__)
  _mm_sfence();
#endif
}

}  // namespace posenc::detail
