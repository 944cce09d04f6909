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
#pragma once

#include <cstdint>
#include <string>

#include "posenc/attention.hpp"

namespace posenc {

class MultiHeadAttention {
 public:
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

  /// Cross- or self-attention: x_q [B, Nq, D], x_kv [B, Nk, D] -> [B, Nq, D].
  Tensor forward(const Tensor& x_q, const Tensor& x_kv, const Encoding& encoding = {},
                 const AttentionOptions& options = {}) const;
  Tensor forward(const Tensor& x, const Encoding& encoding = {}, const AttentionOptions& options = {}) const;

  const Config& config() const { return config_; }

  Tensor w_q, w_k, w_v, w_o;  ///< [out, in]
  Tensor b_q, b_k, b_v, b_o;  ///< [out] (empty when config.bias is false)

 private:
  MultiHeadAttention() = default;
  void check() const;
  Config config_;
};

}  // namespace posenc
