// Private helpers of the training component: seed streams, sgemm wrappers, shape checks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "detail/check.hpp"
#include "detail/lane_sum.hpp"
#include "posenc/model.hpp"
#include "posenc/optim.hpp"
#include "posenc/tensor.hpp"

namespace posenc::train::detail {

using posenc::detail::fail;

/// SplitMix64 of (seed, stream): independent, reproducible seeds for each layer.
inline std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream) {
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/// sum_{c < d} f(c) in double, in a fixed vectorisable order (detail/lane_sum.hpp).
template <class F>
double lane_sum(std::size_t d, F f) {
  return posenc::detail::lane_sum<double>(d, f);
}

inline Shape shape_of(const Tensor& t) { return Shape(t.shape().begin(), t.shape().end()); }

inline void require_shape(const char* fn, const char* name, const Tensor& t, const Shape& want) {
  if (shape_of(t) != want)
    fail(fn, "parameter '", name, "' must be ", shape_string(want), ", got ", shape_string(t));
}

/// c[m, n] (+)= a[m, k] b[k, n] with optional transposes (row-major sgemm).
void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, const float* a, const float* b,
          float* c, bool accumulate);

/// grad += delta (shapes equal), or grad = delta when grad is unset or shaped differently.
void accumulate(Tensor& grad, const Tensor& delta);

/// dir / file as a string (where a position module exports its parameters).
std::string path_in(const std::string& dir, const std::string& file);

/// A zero tensor of t's shape.
inline Tensor zeros_like(const Tensor& t) {
  Tensor z = Tensor::from_shape(shape_of(t));
  z.fill(0.0f);
  return z;
}

/// Append {prefix + name, value, grad} after giving grad value's shape (zeros) when unset.
void add_param(std::vector<Parameter>& out, const std::string& prefix, const std::string& name, Tensor& value,
               Tensor& grad, bool decay = true);

// Seed streams of the parts of a model (derive_seed(config.seed, stream)).
constexpr std::uint64_t kEmbeddingStream = 1, kHeadStream = 2, kClsStream = 3, kDropStream = 4, kInputStream = 5;
constexpr std::uint64_t kPositionStream = 64, kBlockStream = 1024;

/// Shared checks of the models' configs (std::invalid_argument naming fn): vocab only when `tokens`.
void check_config(const char* fn, const ModelConfig& c, bool classifier, bool tokens = true);
/// lengths [batch] in [1, n] (empty: all n), returned as given.
std::vector<std::int64_t> check_lengths(const char* fn, const std::vector<std::int64_t>& lengths, std::size_t batch,
                                        std::size_t n);
/// A class token [dim] ~ N(0, 0.02^2) truncated at 2 std (timm, BERT).
Tensor cls_token_init(std::int64_t dim, std::uint64_t seed);
/// x [B, N, D] -> [B, N + 1, D] with `token` [D] first in every row.
Tensor prepend_token(const Tensor& x, const Tensor& token);
/// Backward of prepend_token: returns dx without the first token, adds its sum over the batch to grad_token.
Tensor prepend_token_backward(const Tensor& dx, Tensor& grad_token);

/// The candidate closest to name, or "" (posenc::catalogue::closest: one rule for every front end).
std::string closest(const std::string& name, const std::vector<std::string>& candidates);

}  // namespace posenc::train::detail
