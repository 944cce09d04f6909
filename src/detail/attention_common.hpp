// Shared by the reference and the streaming attention: argument checking and the mask rule.
#pragma once

#include <cstddef>
#include <cstdint>

#include "posenc/attention.hpp"

namespace posenc::detail {

struct Dims {
  std::size_t batch, heads, kv_heads, nq, nk, d, dv;
  double scale;
};

/// Validate q, k, v (v may be null for weights-only calls), the mask and the encoding. fn names the caller.
Dims check_attention(const char* fn, const Tensor& q, const Tensor& k, const Tensor* v, const Encoding& enc,
                     const AttentionOptions& opts);

/// Whether key j is visible to query i in batch b.
inline bool visible(const Mask& m, const Dims& dm, std::size_t b, std::size_t i, std::size_t j) {
  if (m.causal && static_cast<std::int64_t>(j) >
                      static_cast<std::int64_t>(i) + static_cast<std::int64_t>(dm.nk) - static_cast<std::int64_t>(dm.nq))
    return false;
  if (!m.key_lengths.empty() && static_cast<std::int64_t>(j) >= m.key_lengths[b]) return false;
  if (is_set(m.query_segments)) {
    const std::size_t qb = m.query_segments.shape()[0] == 1 ? 0 : b;
    const std::size_t kb = m.key_segments.shape()[0] == 1 ? 0 : b;
    if (m.query_segments(qb, i) != m.key_segments(kb, j)) return false;
  }
  return true;
}

}  // namespace posenc::detail

namespace posenc {
struct GradRequest;
struct AttentionGrads;
struct AttentionStats;
}  // namespace posenc

namespace posenc::detail {

/// The head index into a per-head table [H, ...] or a shared one [1, ...].
inline std::size_t head_of(const auto& t, std::size_t h) { return t.shape()[0] == 1 ? 0 : h; }

/// Validate the backward's extra arguments (out, stats, d_out, request) against dims; fn names the caller.
void check_backward(const char* fn, const Dims& dm, const Encoding& enc, const Tensor& out,
                    const AttentionStats& stats, const Tensor& d_out, const GradRequest& request, bool need_stats);

/// Zero-filled gradients with the requested parts' shapes (the EncodingGrad, and dq/dk/dv: zeroed
/// when zero_inputs, else left for the caller to fill).
AttentionGrads zero_grads(const Dims& dm, const Encoding& enc, const GradRequest& request, bool zero_inputs = true);

}  // namespace posenc::detail
