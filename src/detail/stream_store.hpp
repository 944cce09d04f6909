// Stores that bypass the caches, for tables too large to stay in them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace posenc::detail {

/// Tables of at least this many bytes are written with non-temporal stores (LineStreamer,
/// stream_copy; the sinusoid and spherical harmonic tables). An
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

/// Writes a run of floats given 16 at a time, from `at` on (any float-aligned address), with a
/// non-temporal store for every whole 64-byte line of the run: when `at` is not on a line boundary,
/// each line is put together from two consecutive vectors (one permute), and the partial lines at
/// either end of the run get ordinary masked stores. Non-temporal stores of partial lines, or
/// ordinary and non-temporal stores to one line, would be slow: a run should cover many lines,
/// and no other run should end inside its lines. Call finish() after the last vector, then an
/// sfence (stream_fence) before another thread reads the run.
class LineStreamer {
 public:
  explicit LineStreamer(float* at)
      : next_(at), skew_(static_cast<int>(reinterpret_cast<std::uintptr_t>(at) % 64 / sizeof(float))) {
    // Line lane l holds the run's float 16 - skew + l of the pair (previous vector, this vector).
    idx_ = _mm512_add_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                            _mm512_set1_epi32(16 - skew_));
  }
  void put(__m512 v) {
    if (skew_ == 0) {
      _mm512_stream_ps(next_, v);
    } else if (first_) {  // the run's first floats end its first (partial) line
      _mm512_mask_storeu_ps(next_, static_cast<__mmask16>((1u << (16 - skew_)) - 1), v);
      first_ = false;
    } else {
      _mm512_stream_ps(next_ - skew_, _mm512_permutex2var_ps(prev_, idx_, v));
    }
    prev_ = v;
    next_ += 16;
  }
  /// The last vector's floats past the last whole line (none when the run starts on a line).
  void finish() {
    if (skew_ != 0 && !first_)
      _mm512_mask_storeu_ps(next_ - 16, static_cast<__mmask16>(0xFFFFu << (16 - skew_)), prev_);
  }

 private:
  float* next_;
  int skew_;
  bool first_ = true;
  __m512i idx_;
  __m512 prev_ = _mm512_setzero_ps();
};
#endif

/// Orders this thread's non-temporal stores before its later stores (an sfence).
inline void stream_fence() {
#if defined(__AVX512F__)
  _mm_sfence();
#endif
}

}  // namespace posenc::detail
