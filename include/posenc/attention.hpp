// posenc/attention.hpp — the one attention core that every encoding feeds.
//
// Shapes (row-major):
//   q  [B, H,  Nq, d]      queries
//   k  [B, Hk, Nk, d]      keys   (Hk divides H: grouped-query attention; Hk = H is plain MHA)
//   v  [B, Hk, Nk, dv]     values
//   out [B, H, Nq, dv]
//
// The score of query i and key j is the four-term formula of
// posenc/encoding.hpp; the mask adds -inf where a key is hidden:
//   - causal: key j is visible to query i iff j <= i + (Nk - Nq) (bottom-right
//     aligned, so a KV cache of Nk - Nq earlier keys needs no special case);
//   - key_lengths[b]: keys j >= key_lengths[b] are padding;
//   - segments (packed documents): query i sees key j only when
//     query_segments[b, i] == key_segments[b, j].
// A query whose keys are all hidden gets a zero output (never NaN).
//
// Two implementations of one definition:
//   attention_reference  plain loops over (b, h, i, j), the test oracle;
//   attention            streaming: key tiles with an online softmax, relative
//                        terms evaluated per tile from the relations, BLAS for
//                        the products, OpenMP over (b, h, query blocks); never
//                        holds an [H, N, N] tensor, memory O(N (d + |rho|)).
// Results do not depend on the thread count. The streaming core (forward and
// backward) computes with subnormal results flushed to zero (x86 FTZ on, DAZ
// off, the caller's mode restored): a softmax weight near e^-87 times a small
// value costs a microcode assist per product otherwise; see docs/design.md.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "posenc/encoding.hpp"

namespace posenc {

/// Which keys each query may see. Empty members impose nothing.
struct Mask {
  bool causal = false;                    ///< j <= i + (Nk - Nq)
  std::vector<std::int64_t> key_lengths{};  ///< [B]: valid keys per sequence (key padding at the end)
  ITensor query_segments{};                 ///< [B|1, Nq]: document id of each query (packed documents)
  ITensor key_segments{};                   ///< [B|1, Nk]: document id of each key
};

/// Options of attention(), attention_reference() and the backward passes.
struct AttentionOptions {
  std::optional<double> scale{};  ///< logit scale; default: encoding.scale, else 1/sqrt(d)
  Mask mask{};                    ///< which keys each query sees [nothing hidden]
  int threads = 0;                ///< 0 = OpenMP default; results are identical for any value
  std::size_t query_block = 128;  ///< queries per streaming tile [128] (performance only)
  std::size_t key_block = 256;    ///< keys per streaming tile [256] (performance only)
};

/// What the forward can keep for the backward (posenc/gradients.hpp).
struct AttentionStats {
  Tensor log_sum_exp;  ///< [B, H, Nq]: log sum_j exp(s_ij + mask_ij); -inf for a fully masked row
};

/// Streaming attention: out [B, H, Nq, dv]. Throws std::invalid_argument on
/// inconsistent shapes or encodings (the message names the argument). When
/// `stats` is given, the per-row log-sum-exp is written there for
/// attention_backward (B H Nq floats, nothing else is kept).
Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, const Encoding& encoding = {},
                 const AttentionOptions& options = {}, AttentionStats* stats = nullptr);

/// Reference attention: the same definition in plain double-accumulated loops.
Tensor attention_reference(const Tensor& q, const Tensor& k, const Tensor& v, const Encoding& encoding = {},
                           const AttentionOptions& options = {}, AttentionStats* stats = nullptr);

/// The attention weights softmax_j(s_ij + mask_ij): [B, H, Nq, Nk]. Builds
/// the full matrix: for plots and tests only.
Tensor attention_weights(const Tensor& q, const Tensor& k, const Encoding& encoding = {},
                         const AttentionOptions& options = {});

/// The logits s_ij before the mask and softmax: [B, H, Nq, Nk] (plots, tests).
Tensor attention_scores(const Tensor& q, const Tensor& k, const Encoding& encoding = {},
                        const AttentionOptions& options = {});

}  // namespace posenc
