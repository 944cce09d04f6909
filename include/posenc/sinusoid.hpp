// posenc/sinusoid.hpp — sinusoidal position tables (Vaswani et al. 2017, arXiv 1706.03762).
//
//   PE(p, sin_k) = sin(p * w_k),  PE(p, cos_k) = cos(p * w_k),  k < m
//
// Conventions (docs/methods.md#sinusoidal):
//   exponent  paper: w_k = base^(-2k/d)            (PyTorch tutorial, HF Marian, Transformer-XL)
//             t2t:   w_k = base^(-k/max(m-1, 1))   (tensor2tensor get_timing_signal_1d, fairseq, TENER)
//   layout    interleaved: (s0, c0, s1, c1, ...)   blocked: [s0 .. s_{m-1} | c0 .. c_{m-1}]
// Odd d: interleaved computes d+1 channels and drops the last one
// (odd_zero_channel = true instead writes a zero last channel, like the
// blocked layout always does: m = floor(d/2) and a zero column).
// Positions and angles are double; each value is rounded to float once.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "posenc/encoding.hpp"

namespace posenc {

/// Channel order: interleaved (s0, c0, s1, c1, ...) or blocked [s0 .. s_{m-1} | c0 .. c_{m-1}].
enum class SinusoidLayout { interleaved, blocked };
/// Frequency rule: paper w_k = base^(-2k/d); t2t w_k = base^(-k/max(m-1, 1)) (tensor2tensor, fairseq).
enum class SinusoidExponent { paper, t2t };

/// Sinusoid table options (`docs/methods.md#sinusoidal`). Defaults in brackets.
struct SinusoidOptions {
  std::int64_t dim = 0;                                     ///< d, required > 0
  double base = 10000.0;                                    ///< [1e4], > 0 and != 1
  SinusoidLayout layout = SinusoidLayout::interleaved;      ///< [interleaved]
  SinusoidExponent exponent = SinusoidExponent::paper;      ///< [paper]
  bool odd_zero_channel = false;                            ///< interleaved, odd d: zero last channel
};

/// The frequencies w_k (double), k < m, for the options' d, base and exponent.
std::vector<double> sinusoid_frequencies(const SinusoidOptions& options);

/// Table for positions [B|1, N, 1] (any real values): [B|1, N, d] float.
/// Consecutive integer runs use an exact angle-addition recurrence re-anchored
/// every 64 rows; the rest use sin/cos directly; both agree with a direct
/// double evaluation to fp32 rounding.
Tensor sinusoid_table(const DTensor& positions, const SinusoidOptions& options);
/// Table for positions offset, offset+1, ..., offset+tokens-1: [tokens, d].
Tensor sinusoid_table(std::int64_t tokens, const SinusoidOptions& options, double offset = 0.0);

/// The same tables into a caller's buffer `out` (row-major [B|1, N, d] resp. [tokens, d], any
/// alignment; every value is overwritten): the same bits as sinusoid_table, without allocating
/// or first-touching a fresh output, so a pipeline that reuses its buffer runs at the memory's
/// write speed (docs/performance.md, W1). A table of 8 MiB or more with d a multiple of 128 into
/// a buffer that starts on a 64-byte boundary (as PyTorch's allocator gives) is written with
/// non-temporal stores where the build has AVX-512 (nothing read from memory to be overwritten,
/// nothing left in the cache). Throws std::invalid_argument for the inputs
/// sinusoid_table rejects and for a buffer of another size (naming both sizes).
void sinusoid_table_into(const DTensor& positions, const SinusoidOptions& options, std::span<float> out);
/// Positions offset, offset+1, ..., offset+tokens-1 into `out` of tokens x d floats (see above).
void sinusoid_table_into(std::int64_t tokens, const SinusoidOptions& options, std::span<float> out,
                         double offset = 0.0);

/// The sinusoidal absolute encoding: input_add = sinusoid_table(positions) [B|1, N, d].
Encoding sinusoidal(const DTensor& positions, const SinusoidOptions& options);

}  // namespace posenc
