// posenc/text.hpp — the 1D text modality and its encodings.
//
// Positions of text tokens are [B|1, N, 1] doubles: 0..N-1, shifted by the
// number of cached keys when decoding, and reset to 0 at each document start
// in packed batches (with segment ids that keep documents from attending to
// each other). The encodings here are the text family of
// docs/methods.md#text; RoPE and XPos live in
// posenc/rotary.hpp and the sinusoid in posenc/sinusoid.hpp, since images,
// video and the sphere use them too.
#pragma once

#include <cstdint>
#include <vector>

#include "posenc/encoding.hpp"
#include "posenc/gradients.hpp"
#include "posenc/rotary.hpp"
#include "posenc/sinusoid.hpp"

namespace posenc {

// ------------------------------------------------------------------ positions

/// Positions offset, ..., offset + tokens - 1 as [1, tokens, 1]. For one-token
/// decoding with a cache of c keys, the query uses text_positions(1, c).
DTensor text_positions(std::int64_t tokens, std::int64_t offset = 0);

/// Packed documents: positions restart at 0 in every document.
struct PackedText {
  DTensor positions;  ///< [B, N, 1]
  ITensor segments;   ///< [B, N]: document index within the row; -1 for padding after the last document
};

/// document_lengths[b] lists the documents of row b; rows are padded to
/// `tokens` (0 = the longest row). Throws on non-positive lengths or rows longer than `tokens`.
PackedText packed_text_positions(const std::vector<std::vector<std::int64_t>>& document_lengths,
                                 std::int64_t tokens = 0);

// ------------------------------------------------------------------ NoPE

/// NoPE (Kazemnejad et al. 2023): an explicit choice that fills nothing. With a
/// causal mask positions remain recoverable; a bidirectional encoder with NoPE
/// is permutation-equivariant (documented behaviour, not an error).
Encoding nope();

// ------------------------------------------------------------------ learned absolute

/// A learned absolute table E [L_max, d] (BERT: 512 x d, GPT-2: 1024 x d),
/// initialised N(0, std^2) with a seeded generator (BERT std = 0.02).
Tensor learned_table_init(std::int64_t max_positions, std::int64_t dim, double std = 0.02, std::uint64_t seed = 0);

/// input_add[b, n] = table[positions[b, n]]: [B|1, N, d]. Positions must be
/// integers in [0, L_max); a position past the table throws (no silent clamp).
Encoding learned_absolute(const Tensor& table, const DTensor& positions);

/// Backward of learned_absolute: grad.input_add G [B|1, N, d] (or [B, N, d] for
/// shared positions [1, N, 1]) scatter-added into the rows it read:
/// d_table[r] = sum_{b, n : positions[b, n] = r} G[b, n], [max_positions, d]; rows never
/// read get 0. Sums in double.
Tensor learned_absolute_backward(const Tensor& table, const DTensor& positions, const EncodingGrad& grad);

// ------------------------------------------------------------------ ALiBi

/// ALiBi slopes (Press et al. 2022; ofirpress/attention_with_linear_biases):
/// for H a power of two, m_h = 2^(-8(h+1)/H); otherwise the P = 2^floor(log2 H)
/// power-of-two slopes followed by the even-indexed slopes of 2P heads,
/// truncated to H - P (H = 12: 2^-1..2^-8, 2^-0.5, 2^-1.5, 2^-2.5, 2^-3.5).
/// `max_bias` is the 8 of the formula (MPT's alibi_bias_max). Computed in double.
std::vector<double> alibi_slopes(std::int64_t heads, double max_bias = 8.0);

/// ALiBi options (`docs/methods.md#alibi`). Defaults in brackets.
struct AlibiOptions {
  std::int64_t heads = 0;      ///< required
  bool causal = true;          ///< true: b = -m (i - j) (use with Mask::causal); false: b = -m |i - j|
  double max_bias = 8.0;       ///< [8]
  bool fairseq_compat = false; ///< causal only: b = +m j on every row (equal after softmax, as fairseq)
};

/// ALiBi as a slope bias evaluated per tile: b_h(i, j) = -m_h * rho(i, j),
/// rho = p_i - p_j (causal) or |p_i - p_j| (symmetric), added to scaled logits.
Encoding alibi(const DTensor& query_positions, const DTensor& key_positions, const AlibiOptions& options);
/// The same with one position set for queries and keys (self-attention).
Encoding alibi(const DTensor& positions, const AlibiOptions& options);

/// Learnable ALiBi: the same bias with given slopes [H] instead of the geometric
/// sequence (b_h(i, j) = -slopes[h] * rho(i, j), rho as above). options.heads must be
/// 0 or H; options.max_bias is unused.
Encoding alibi(const DTensor& query_positions, const DTensor& key_positions, const Tensor& slopes,
               const AlibiOptions& options);

/// Backward of the slope bias: d slopes [H] = grad.biases[0].slopes, which the core
/// computes as d m_h = -sum_{b, i, j} dS_bhij rho(i, j). Throws when the part is missing.
Tensor alibi_backward(const EncodingGrad& grad);

// ------------------------------------------------------------------ T5 relative buckets

/// T5 bucket options (HF T5Config relative_attention_num_buckets / _max_distance). Defaults in brackets.
struct T5Options {
  bool bidirectional = true;        ///< encoder: true; decoder self-attention: false
  std::int64_t num_buckets = 32;    ///< [32]
  std::int64_t max_distance = 128;  ///< [128]
};

/// The T5 bucket matrix [B|1, Nq, Nk] of n = p_key - p_query (see t5_relative_bucket).
ITensor t5_bucket_matrix(const DTensor& query_positions, const DTensor& key_positions, const T5Options& options);

/// A T5 bias table [H, num_buckets] initialised N(0, std^2), seeded.
/// (HF stores nn.Embedding(num_buckets, H): transpose to load it.)
Tensor t5_table_init(std::int64_t heads, std::int64_t num_buckets = 32, double std = 0.02, std::uint64_t seed = 0);

/// T5 relative attention bias: b_h(i, j) = table[h, bucket(p_j - p_i)], evaluated
/// per tile. table [H|1, num_buckets]. Sets scale = 1 (T5 does not scale logits).
Encoding t5_bias(const DTensor& query_positions, const DTensor& key_positions, const Tensor& table,
                 const T5Options& options);
/// The same with one position set for queries and keys (self-attention).
Encoding t5_bias(const DTensor& positions, const Tensor& table, const T5Options& options);

/// Backward of t5_bias: the bias table is the parameter, so d table [H|1, num_buckets]
/// = grad.biases[0].table (the core's d table[h, r] = sum_{i, j : bucket(i, j) = r} dS_hij),
/// summed over heads when the table is shared ([1, num_buckets]) and the gradient is per head.
Tensor t5_bias_backward(const DTensor& query_positions, const DTensor& key_positions, const Tensor& table,
                        const T5Options& options, const EncodingGrad& grad);

// ------------------------------------------------------------------ learnable relative bias

/// A learnable per-head bias over clipped offsets (nn.Embedding(2K + 1, H)):
///   b_h(i, j) = weight[clip(p_j - p_i, -K, K) + K, h],  added to the scaled logits.
/// relative_bias_init: weight [2K + 1, H] ~ N(0, std^2), seeded like learned_table_init.
Tensor relative_bias_init(std::int64_t max_distance, std::int64_t heads, double std = 0.02, std::uint64_t seed = 0);

/// A BiasKind::table bias: table = weight^T [H, 2K + 1], relation Relation::offset(+1, -K, K, clip).
/// Requires K = max_distance >= 1 and weight [2K + 1, H].
Encoding relative_bias(const DTensor& query_positions, const DTensor& key_positions, const Tensor& weight,
                       std::int64_t max_distance);

/// Backward: d weight [2K + 1, H] = (grad.biases[0].table [H, 2K + 1])^T, i.e.
/// d weight[r, h] = sum_{i, j : clip(p_j - p_i, -K, K) + K = r} dS_hij.
Tensor relative_bias_backward(const DTensor& query_positions, const DTensor& key_positions, const Tensor& weight,
                              std::int64_t max_distance, const EncodingGrad& grad);

}  // namespace posenc
