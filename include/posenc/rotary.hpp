// posenc/rotary.hpp — rotary position embeddings: RoPE and its context-extension
// variants, XPos, and applying a Rotation to queries or keys.
//
// Sources: Su et al. 2021 (RoPE, arXiv 2104.09864); HF transformers
// `modeling_rope_utils.py` (ROPE_INIT_FUNCTIONS: linear, dynamic, yarn,
// longrope, llama3) whose v4.5x/v5 semantics posenc follows; Peng et al. 2023
// (YaRN, arXiv 2309.00071); Ding et al. 2024 (LongRoPE, arXiv 2402.13753);
// Sun et al. 2022 (XPos, arXiv 2212.10554) and microsoft/torchscale
// `xpos_relative_position.py`. Formulas: docs/methods.md#rope, #rope-scaling and #xpos.
//
// Shapes: positions are [B|1, tokens, 1] doubles (text); angle tables are
// [B|1, H|1, tokens, pairs] doubles. Every frequency and angle is computed in
// double and rounded to float once, when cos/sin are formed (SIMD sin/cos
// within ~1 ulp in double; a value may differ in its last double bit between a
// table and a slice of a larger one, which rarely survives the rounding to float).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "posenc/encoding.hpp"

namespace posenc {

// ------------------------------------------------------------------ applying a rotation

/// Which side of the score a rotation is applied to (XPos scales them oppositely).
enum class RotarySide { query, key };

/// cos and sin of a rotation for one side, already multiplied by
/// magnitude * exp(log_scale): [batch, heads, tokens, pairs] with batch and
/// heads possibly 1 (broadcast). Build it once, apply it to many tensors.
struct RotaryTable {
  PairLayout layout = PairLayout::halves;  ///< the rotation's channel pairing
  ///@{
  /// Table shape [batch, heads, tokens, pairs]; batch and heads may be 1 (broadcast).
  std::size_t batch = 1, heads = 1, tokens = 0, pairs = 0;
  ///@}
  ///@{
  /// cos and sin of the angles times magnitude * exp(log_scale), row-major [batch, heads, tokens, pairs].
  std::vector<float> cos, sin;
  ///@}
};

/// Tabulate cos/sin of `rotation` for queries or keys (double angles, one rounding).
RotaryTable rotary_table(const Rotation& rotation, RotarySide side);
/// The same into a caller's table: its cos and sin vectors are resized (no reallocation when
/// their capacity suffices, e.g. when the table is reused for a rotation of the same shape) and
/// every value is overwritten, giving the same bits as rotary_table. For decoding loops and data
/// pipelines that rebuild a table per batch without allocating.
void rotary_table_into(const Rotation& rotation, RotarySide side, RotaryTable& table);
/// The same bits into two caller buffers (row-major [batch, heads, tokens, pairs] each, the shape
/// of the side's angles), e.g. the storage of framework tensors or a pinned staging area. Throws
/// std::invalid_argument for an empty rotation, a buffer of another size (naming the shape and
/// both sizes) or overlapping buffers.
void rotary_table_into(const Rotation& rotation, RotarySide side, std::span<float> cos, std::span<float> sin);

/// Rotate x, whose last two axes are [tokens, dim] and leading axes are
/// [B, H], [H] or none: pair k of token n becomes
/// (a cos t - b sin t, a sin t + b cos t) with the layout's pairing; channels
/// past 2 * pairs are copied. Threads over rows; deterministic.
Tensor apply_rotary(const Tensor& x, const RotaryTable& table);
/// The same rotation written over x (no allocation): the hot path for caches.
void apply_rotary_inplace(Tensor& x, const RotaryTable& table);
/// Convenience: tabulate and apply.
Tensor apply_rotary(const Tensor& x, const Rotation& rotation, RotarySide side = RotarySide::query);

// ------------------------------------------------------------------ RoPE

/// The context-extension rule (HF `rope_type`).
enum class RopeScaling {
  none,      ///< theta_k = base^(-2k/d)                                   ("default")
  linear,    ///< position interpolation: theta_k / factor                   ("linear")
  ntk,       ///< static NTK: base' = base * factor^(d/(d-2))               ("ntk" in HF v4.44)
  dynamic,   ///< dynamic NTK: base' = base * (factor*N/L0 - (factor-1))^(d/(d-2)), N = max(len, L0)
  yarn,      ///< YaRN ramp between interpolation and extrapolation, attention factor
  longrope,  ///< LongRoPE per-frequency factors (short/long) and attention factor
  llama3,    ///< Llama 3.1 wavelength bands
};

/// RoPE parameters, named as in the reference configs. Defaults in brackets.
struct RopeOptions {
  std::int64_t head_dim = 0;                   ///< required, > 0
  std::int64_t rotary_dim = 0;                 ///< [0 = int(head_dim * partial_rotary_factor)], even, <= head_dim
  double partial_rotary_factor = 1.0;          ///< [1] used when rotary_dim == 0
  double base = 10000.0;                       ///< rope_theta [1e4], > 1
  PairLayout layout = PairLayout::halves;      ///< [halves] (HF Llama); interleaved = GPT-J / Meta
  RopeScaling scaling = RopeScaling::none;     ///< rope_type
  double factor = 1.0;                         ///< scaling factor s (> 0)
  std::int64_t max_position_embeddings = 0;    ///< L (model context); YaRN/LongRoPE derive s = L / L0 when factor unset
  std::int64_t original_max_position_embeddings = 0;  ///< L0 (pretraining context)
  double beta_fast = 32.0;                     ///< YaRN [32]
  double beta_slow = 1.0;                      ///< YaRN [1]
  double mscale = 0.0;                         ///< YaRN [unset]
  double mscale_all_dim = 0.0;                 ///< YaRN [unset]
  std::optional<double> attention_factor{};      ///< YaRN / LongRoPE override
  bool truncate = true;                        ///< YaRN [true]: floor/ceil the correction range
  std::vector<double> short_factor{};            ///< LongRoPE, rotary_dim/2 entries
  std::vector<double> long_factor{};             ///< LongRoPE, rotary_dim/2 entries
  double low_freq_factor = 1.0;                ///< Llama 3 [1]
  double high_freq_factor = 4.0;               ///< Llama 3 [4]
  std::int64_t sequence_length = 0;            ///< current length N for dynamic / LongRoPE [0 = max key position + 1]
};

/// Inverse frequencies theta_k (rotary_dim/2 of them, double) and the
/// attention factor that multiplies cos and sin of both q and k.
struct RopeFrequencies {
  std::vector<double> inv_freq;    ///< theta_k, k < rotary_dim/2 (after scaling)
  double attention_factor = 1.0;   ///< multiplies cos and sin of q and k (YaRN, LongRoPE; else 1)
  std::int64_t rotary_dim = 0;     ///< d_r, the rotated channels
};

/// The frequencies for a given current sequence length (used by dynamic NTK and
/// LongRoPE; ignored otherwise). Throws std::invalid_argument on bad options.
RopeFrequencies rope_frequencies(const RopeOptions& options, std::int64_t sequence_length = 0);

/// angles[b, 0, n, k] = positions[b, n, 0] * inv_freq[k], in double: [B|1, 1, N, P].
DTensor rope_angles(const DTensor& positions, const std::vector<double>& inv_freq);

/// RoPE as an Encoding: rotation of q at its positions and of k at its own
/// (KV caches and cross-attention pass different positions).
/// Positions [B|1, N, 1]; the attention factor becomes rotation.magnitude.
Encoding rope(const DTensor& query_positions, const DTensor& key_positions, const RopeOptions& options);
/// The same with one position set for queries and keys (self-attention).
Encoding rope(const DTensor& positions, const RopeOptions& options);

// ------------------------------------------------------------------ XPos

/// XPos options (torchscale defaults).
struct XposOptions {
  std::int64_t head_dim = 0;            ///< required, even
  double base = 10000.0;                ///< theta_k = base^(-2k/d)
  double scale_base = 512.0;            ///< S
  PairLayout layout = PairLayout::interleaved;  ///< torchscale rotates adjacent pairs
  /// Offset c of the scale positions n = p + c [floor(-(max key position + 1)/2), torchscale's start].
  std::optional<double> center{};
};

/// XPos: RoPE angles plus magnitudes zeta_k^(n/S) on queries and
/// zeta_k^(-n/S) on keys, n = p + c (torchscale's scale positions start at c),
/// zeta_k = (2k + 0.4 d)/(1.4 d), so that q.k ~ zeta^((n_q - n_k)/S) cos((n_q - n_k) theta):
/// scores do not depend on c. Stored as log-scales. Positions [B|1, N, 1];
/// fills Encoding::rotation (interleaved pairs by default, as torchscale).
Encoding xpos(const DTensor& query_positions, const DTensor& key_positions, const XposOptions& options);
/// The same with one position set for queries and keys (self-attention).
Encoding xpos(const DTensor& positions, const XposOptions& options);

}  // namespace posenc
