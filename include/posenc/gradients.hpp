// posenc/gradients.hpp — backward passes: the shared attention core and the
// contract's parts.
//
// The forward (posenc/attention.hpp) can keep one thing for the backward: the
// per-row log-sum-exp of the masked logits, lse_i = log sum_j exp(s_ij + mask_ij)
// ([B, H, Nq], -inf for a row whose keys are all hidden). The backward
// recomputes each tile's probabilities p_ij = exp(s_ij - lse_i) from q, k and
// the encoding, in the manner of FlashAttention-2 (Dao 2023, arXiv 2307.08691):
//
//   D_i    = dO_i . O_i
//   dP_ij  = dO_i . (v_j + sum_v aV_h[rho_v(i,j)])
//   dS_ij  = p_ij (dP_ij - D_i)                      gradient of the logit s_ij
//   dv_j  += p_ij dO_i,   daV_h[rho] += p_ij dO_i
//
// and then follows the formula of posenc/encoding.hpp backwards: through the
// multipliers and the ReLU (dpre = dS m g'(pre), dm[rho] += dS g(pre) prod of
// the others), the biases (dtable[rho] += dpre, dslope_h -= dpre value(rho),
// ddense += dpre), and, with dA = scale dpre, the content terms
// (dq_rot += dA k_rot W, dk_rot += dA q_rot W, dw[rho] += dA q_rot k_rot),
// content-position (dq += dA aK[rho], dc_h += dA aK[rho], daK[rho] += dA (q + c)),
// position-content (dk += dA aQ[rho], daQ[rho] += dA k), the content bias
// (du += dA k, dk += dA u) and finally the rotation: for pair (a, b) rotated to
// (x, y) with gradients (gx, gy), dtheta = x gy - y gx, dlog_scale = x gx + y gy,
// and (da, db) = M e^{ls} R(theta)^T (gx, gy); dmagnitude = sum (x gx + y gy) / M.
//
// A part that broadcasts (B|1, H|1) receives the sum over what it broadcasts
// to; with grouped-query attention dk and dv sum over the query heads that
// share a key head. Entries masked by -inf (hidden keys, Graphormer's masked
// table entries) carry no probability and give exactly zero gradient.
//
// Determinism: each (batch, head) is one task that walks its query blocks
// and key tiles in a fixed order; shared tables are reduced over the tasks in
// index order, in double. The bits do not depend on the thread count.
#pragma once

#include <cstdint>
#include <vector>

#include "posenc/attention.hpp"

namespace posenc {

// --------------------------------------------------------------------- the gradient of an Encoding

/// Gradient of a Rotation: the same shapes as its angle and log-scale tables.
struct RotationGrad {
  DTensor query_angles;     ///< [B|1, H|1, Nq, pairs]
  DTensor key_angles;       ///< [B|1, H|1, Nk, pairs]
  DTensor query_log_scale;  ///< as query_angles, when the rotation has log-scales
  DTensor key_log_scale;    ///< as key_angles, when the rotation has log-scales
  double magnitude = 0.0;   ///< d loss / d magnitude
};

/// Gradient of one RelativeVectors part: table [H|1, R, d], query_bias [H|1, d] (when set).
struct RelativeVectorsGrad {
  Tensor table;       ///< d table [H|1, R, d]
  Tensor query_bias;  ///< d query_bias [H|1, d], or empty when the part has none
};

/// Gradient of one Bias: the member matching its kind is filled (slopes [H], table [H|1, R],
/// dense [B|1, H|1, Nq, Nk]).
struct BiasGrad {
  Tensor slopes;  ///< d slopes [H] (BiasKind::slope)
  Tensor table;   ///< d table [H|1, R] (BiasKind::table)
  Tensor dense;   ///< d dense [B|1, H|1, Nq, Nk] (BiasKind::dense)
};

/// Gradient of one Multiplier: table [H|1, R].
struct MultiplierGrad {
  Tensor table;  ///< d table [H|1, R]
};

/// Mirrors Encoding part by part, with the same shapes. A part that was not
/// asked for (GradRequest) or is empty in the Encoding stays empty here.
struct EncodingGrad {
  Tensor input_add;                                   ///< [B|1, N, D]    (apply_input_backward)
  Tensor input_concat;                                ///< [B|1, N, Dc]   (apply_input_backward)
  RotationGrad rotation;                              ///< angles, log-scales and magnitude of Encoding::rotation
  std::vector<RelativeVectorsGrad> content_weights;   ///< one per Encoding::content_weights
  std::vector<RelativeVectorsGrad> content_position;  ///< one per Encoding::content_position
  std::vector<RelativeVectorsGrad> position_content;  ///< one per Encoding::position_content
  std::vector<RelativeVectorsGrad> value;             ///< one per Encoding::value
  Tensor content_bias;                                ///< [H|1, d]
  std::vector<BiasGrad> biases;                       ///< one per Encoding::biases
  std::vector<MultiplierGrad> multipliers;            ///< one per Encoding::multipliers
};

/// Which gradients the caller wants. A backward for dq / dk / dv alone
/// (the default) computes no table gradient. Asking for a group whose parts
/// are all empty in the Encoding is an error (it would return nothing).
struct GradRequest {
  bool inputs = true;        ///< dq, dk, dv
  bool rotation = false;     ///< angles, log-scales, magnitude
  bool relative = false;     ///< content_weights, content_position (+ query_bias), position_content, value, content_bias
  bool biases = false;       ///< slopes, tables and dense biases
  bool multipliers = false;  ///< multiplier tables

  /// Every group the encoding fills, plus dq / dk / dv.
  static GradRequest all(const Encoding& encoding);
};

// --------------------------------------------------------------------- the core

/// What attention_backward() returns: the input gradients and the encoding's (as requested).
struct AttentionGrads {
  Tensor dq;  ///< [B, H, Nq, d]   (empty unless request.inputs)
  Tensor dk;  ///< [B, Hk, Nk, d]
  Tensor dv;  ///< [B, Hk, Nk, dv]
  EncodingGrad encoding;  ///< the Encoding's gradients, part for part (GradRequest)
};

/// Streaming backward of attention(): given the forward's output `out`
/// [B, H, Nq, dv], its `stats` and the loss gradient `d_out` [B, H, Nq, dv],
/// returns the requested gradients. Per tile it recomputes p from q, k, the
/// encoding and stats.log_sum_exp (never an [H, N, N] buffer); memory
/// O(B H N (d + dv)) plus the per-task table slices. Throws
/// std::invalid_argument when d_out, out or stats have the wrong shape, d_out
/// is not finite, or a gradient is asked of empty parts.
AttentionGrads attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Encoding& encoding,
                                  const AttentionOptions& options, const Tensor& out, const AttentionStats& stats,
                                  const Tensor& d_out, const GradRequest& request = {});

/// Reference backward: the same gradients from the formula in plain loops
/// with double accumulation (recomputes the softmax itself; the oracle of the
/// tests). Same arguments and errors as attention_backward (out and stats
/// are checked for shape but not used).
AttentionGrads attention_backward_reference(const Tensor& q, const Tensor& k, const Tensor& v,
                                            const Encoding& encoding, const AttentionOptions& options,
                                            const Tensor& out, const AttentionStats& stats, const Tensor& d_out,
                                            const GradRequest& request = {});

// --------------------------------------------------------------------- input-side parts

/// Backward of apply_input(enc, x) for y = concat(x + input_add, input_concat):
/// dx = dy[..., :D]; d input_add = dy[..., :D] summed over the axes input_add
/// broadcasts over; d input_concat = dy[..., D:] likewise. Fills
/// grad.input_add / grad.input_concat (when the parts are set) and returns dx.
Tensor apply_input_backward(const Encoding& enc, const Tensor& x, const Tensor& dy, EncodingGrad& grad);

/// Sum a gradient of shape `full` down to a broadcast part's shape `part`
/// (axes of size 1 in `part`, leading axes missing from it). Used by the
/// builders' backward functions.
Tensor reduce_to_shape(const Tensor& grad, const Shape& part);

}  // namespace posenc
