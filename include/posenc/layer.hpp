// posenc/layer.hpp — a multi-head attention layer on top of the shared core.
//
//   x_q [B, Nq, D], x_kv [B, Nk, D]
//   q = x_q W_q^T + b_q  -> [B, H, Nq, dh]      W_q [H*dh, D]    (PyTorch nn.Linear layout: [out, in])
//   k = x_kv W_k^T + b_k -> [B, Hk, Nk, dh]     W_k [Hk*dh, D]
//   v = x_kv W_v^T + b_v -> [B, Hk, Nk, dh]     W_v [Hk*dh, D]
//   y = attention(q, k, v, encoding) merged to [B, Nq, H*dh], then y W_o^T + b_o -> [B, Nq, D]
//
// The encoding's score terms (rotation, relative terms, biases, multipliers)
// act inside the core. Its input-side parts belong to the embeddings and are
// applied by the caller with apply_input() before the first layer.
//
// Backward: forward(..., &cache) keeps q, k, v, the core's output and its
// statistics; backward(...) then runs, with o the core's output merged to
// [B Nq, H dh] and dO, dQ, dK, dV the gradients of o, q, k, v in the same
// merged layouts ([rows, heads * dh]):
//   dW_o = dy^T o          db_o = sum_rows dy       dO = dy W_o
//   dq, dk, dv = attention_backward(q, k, v, encoding, dO)   (GQA: dk, dv summed over the group)
//   dW_q = dQ^T x_q        db_q = sum_rows dQ       dx_q  = dQ W_q
//   dW_k = dK^T x_kv       db_k = sum_rows dK       dx_kv = dK W_k + dV W_v
//   dW_v = dV^T x_kv       db_v = sum_rows dV
// For self-attention (x_q and x_kv the same tensor) the input gradient is
// dx_q + dx_kv; the single-input backward() returns that sum.
#pragma once

#include <cstdint>
#include <string>

#include "posenc/attention.hpp"
#include "posenc/gradients.hpp"

namespace posenc {

/// A multi-head (or grouped-query) attention layer: the projections of the formula at the top of
/// this file around the shared core, with forward, backward, load and save.
class MultiHeadAttention {
 public:
  /// Layer sizes. Defaults in brackets.
  struct Config {
    std::int64_t model_dim = 0;  ///< D
    std::int64_t heads = 0;      ///< H
    std::int64_t kv_heads = 0;   ///< Hk [0 = H]; must divide H (grouped-query attention)
    std::int64_t head_dim = 0;   ///< dh [0 = D / H]
    bool bias = true;            ///< projections carry biases
  };

  /// Random initialisation as PyTorch's nn.Linear (U(-1/sqrt(D), 1/sqrt(D))), seeded.
  explicit MultiHeadAttention(const Config& config, std::uint64_t seed = 0);

  /// Load w_q.npy, w_k.npy, w_v.npy, w_o.npy (and b_*.npy when config.bias) from `directory`.
  /// Shapes are checked against the config; a wrong shape names the file.
  static MultiHeadAttention load(const std::string& directory, const Config& config);
  /// Save the same files (atomically).
  void save(const std::string& directory) const;

  /// What forward() keeps for backward().
  struct Cache {
    Tensor q;                ///< [B, H, Nq, dh]   projected queries
    Tensor k;                ///< [B, Hk, Nk, dh]  projected keys
    Tensor v;                ///< [B, Hk, Nk, dh]  projected values
    Tensor attn;             ///< [B, H, Nq, dh]   the core's output
    Tensor attn_out_merged;  ///< [B, Nq, H*dh]    the core's output with heads merged (input of W_o)
    AttentionStats stats;    ///< the core's log-sum-exp for attention_backward
  };

  /// Gradients of backward(): the weights' and biases' shapes (biases empty when config.bias
  /// is false), the inputs' shapes, and the encoding's parts that GradRequest asked for.
  struct Grads {
    ///@{
    /// d W_q, d W_k, d W_v, d W_o: [out, in].
    Tensor w_q, w_k, w_v, w_o;
    ///@}
    ///@{
    /// d b_q, d b_k, d b_v, d b_o: [out] (empty without biases).
    Tensor b_q, b_k, b_v, b_o;
    ///@}
    Tensor dx_q;                ///< [B, Nq, D]
    Tensor dx_kv;               ///< [B, Nk, D] (empty from the single-input backward: dx_q holds the sum)
    EncodingGrad encoding;      ///< the encoding's gradients asked for by GradRequest
  };

  /// Cross- or self-attention: x_q [B, Nq, D], x_kv [B, Nk, D] -> [B, Nq, D]. With `cache`,
  /// the intermediates for backward() are kept there (the output is the same bits either way).
  Tensor forward(const Tensor& x_q, const Tensor& x_kv, const Encoding& encoding = {},
                 const AttentionOptions& options = {}, Cache* cache = nullptr) const;
  /// Self-attention: forward(x, x, encoding, options, cache) to float rounding (x W_q^T, x W_k^T
  /// and x W_v^T are computed as one product with the stacked [W_q; W_k; W_v]).
  Tensor forward(const Tensor& x, const Encoding& encoding = {}, const AttentionOptions& options = {},
                 Cache* cache = nullptr) const;

  /// Backward of forward(x_q, x_kv, encoding, options, &cache) for the loss gradient dy
  /// [B, Nq, D]: the formulas at the top of this file. Pass the forward's arguments and its
  /// cache unchanged. `request` chooses the encoding's gradients (request.inputs is implied:
  /// the weights need dq, dk, dv). For self-attention with x_q == x_kv the input gradient is
  /// dx_q + dx_kv (the caller sums them; or use the single-input overload). Throws
  /// std::invalid_argument for shapes that do not match the config or the cache.
  Grads backward(const Tensor& x_q, const Tensor& x_kv, const Encoding& encoding, const AttentionOptions& options,
                 const Cache& cache, const Tensor& dy, const GradRequest& request = {}) const;
  /// Self-attention: as above with x_q = x_kv = x, to float rounding (the stacked projections'
  /// backward is one pair of products); grads.dx_q is the whole dx (dx_q + dx_kv) and grads.dx_kv
  /// is empty.
  Grads backward(const Tensor& x, const Encoding& encoding, const AttentionOptions& options, const Cache& cache,
                 const Tensor& dy, const GradRequest& request = {}) const;

  /// The output projection's part of backward(): fills grads.w_o and grads.b_o from dy
  /// [B, Nq, D] and cache.attn_out_merged, and returns the core's output gradient [B, H, Nq, dh].
  Tensor output_backward(const Cache& cache, const Tensor& dy, Grads& grads) const;
  /// The input projections' part of backward(): from dq [B, H, Nq, dh], dk and dv [B, Hk, Nk, dh]
  /// fills grads.w_q, w_k, w_v, b_q, b_k, b_v, dx_q and dx_kv.
  void projection_backward(const Tensor& x_q, const Tensor& x_kv, const Tensor& dq, const Tensor& dk,
                           const Tensor& dv, Grads& grads) const;

  const Config& config() const { return config_; }  ///< the sizes the layer was built with

  ///@{
  /// Projection weights W_q [H dh, D], W_k and W_v [Hk dh, D], W_o [D, H dh]: [out, in] (nn.Linear).
  Tensor w_q, w_k, w_v, w_o;
  ///@}
  ///@{
  /// Projection biases [out] (empty when config.bias is false).
  Tensor b_q, b_k, b_v, b_o;
  ///@}

 private:
  MultiHeadAttention() = default;
  void check() const;
  void check_inputs(const char* fn, const Tensor& x_q, const Tensor& x_kv) const;
  Config config_;
};

}  // namespace posenc
