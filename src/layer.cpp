// The multi-head attention layer: projections through BLAS, attention through the shared core.
#include "posenc/layer.hpp"

#include <cmath>
#include <filesystem>
#include <random>

#include <cblas.h>

#include "detail/check.hpp"
#include "posenc/npy.hpp"

namespace posenc {

namespace {

MultiHeadAttention::Config resolve(MultiHeadAttention::Config c) {
  const char* fn = "MultiHeadAttention";
  if (c.model_dim <= 0) detail::fail(fn, "parameter 'model_dim' must be positive, got ", c.model_dim);
  if (c.heads <= 0) detail::fail(fn, "parameter 'heads' must be positive, got ", c.heads);
  if (c.kv_heads == 0) c.kv_heads = c.heads;
  if (c.kv_heads < 0 || c.heads % c.kv_heads != 0)
    detail::fail(fn, "parameter 'kv_heads' = ", c.kv_heads, " must divide heads = ", c.heads);
  if (c.head_dim == 0) {
    if (c.model_dim % c.heads != 0)
      detail::fail(fn, "model_dim = ", c.model_dim, " is not divisible by heads = ", c.heads, "; set head_dim");
    c.head_dim = c.model_dim / c.heads;
  }
  if (c.head_dim <= 0) detail::fail(fn, "parameter 'head_dim' must be positive, got ", c.head_dim);
  return c;
}

Tensor uniform(Shape s, double bound, std::mt19937_64& gen) {
  Tensor t = Tensor::from_shape(s);
  std::uniform_real_distribution<double> dist(-bound, bound);
  for (auto& v : t) v = static_cast<float>(dist(gen));
  return t;
}

// y[rows, out] = x[rows, in] W^T + b
Tensor linear(const Tensor& x, std::size_t rows, const Tensor& w, const Tensor& b) {
  const std::size_t out = w.shape()[0], in = w.shape()[1];
  Tensor y = Tensor::from_shape({rows, out});
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), static_cast<int>(out),
              static_cast<int>(in), 1.0f, x.data(), static_cast<int>(in), w.data(), static_cast<int>(in), 0.0f,
              y.data(), static_cast<int>(out));
  if (is_set(b))
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t o = 0; o < out; ++o) y(r, o) += b(o);
  return y;
}

// [B*N, heads*dh] -> [B, heads, N, dh]
Tensor split_heads(const Tensor& y, std::size_t batch, std::size_t n, std::size_t heads, std::size_t dh) {
  Tensor out = Tensor::from_shape({batch, heads, n, dh});
  for (std::size_t b = 0; b < batch; ++b)
    for (std::size_t t = 0; t < n; ++t)
      for (std::size_t h = 0; h < heads; ++h)
        std::copy_n(y.data() + ((b * n + t) * heads + h) * dh, dh, out.data() + ((b * heads + h) * n + t) * dh);
  return out;
}

}  // namespace

MultiHeadAttention::MultiHeadAttention(const Config& config, std::uint64_t seed) : config_(resolve(config)) {
  std::mt19937_64 gen(seed);
  const auto d = static_cast<std::size_t>(config_.model_dim);
  const auto hq = static_cast<std::size_t>(config_.heads * config_.head_dim);
  const auto hk = static_cast<std::size_t>(config_.kv_heads * config_.head_dim);
  const double bin = 1.0 / std::sqrt(static_cast<double>(d)), bout = 1.0 / std::sqrt(static_cast<double>(hq));
  w_q = uniform({hq, d}, bin, gen);
  w_k = uniform({hk, d}, bin, gen);
  w_v = uniform({hk, d}, bin, gen);
  w_o = uniform({d, hq}, bout, gen);
  if (config_.bias) {
    b_q = uniform({hq}, bin, gen);
    b_k = uniform({hk}, bin, gen);
    b_v = uniform({hk}, bin, gen);
    b_o = uniform({d}, bout, gen);
  }
}

void MultiHeadAttention::check() const {
  const char* fn = "MultiHeadAttention::load";
  const auto d = static_cast<std::size_t>(config_.model_dim);
  const auto hq = static_cast<std::size_t>(config_.heads * config_.head_dim);
  const auto hk = static_cast<std::size_t>(config_.kv_heads * config_.head_dim);
  auto want = [&](const Tensor& t, const char* name, Shape s) {
    if (Shape(t.shape().begin(), t.shape().end()) != s)
      detail::fail(fn, "weight '", name, "' has shape ", shape_string(t), ", expected ", shape_string(s));
  };
  want(w_q, "w_q", {hq, d});
  want(w_k, "w_k", {hk, d});
  want(w_v, "w_v", {hk, d});
  want(w_o, "w_o", {d, hq});
  if (config_.bias) {
    want(b_q, "b_q", {hq});
    want(b_k, "b_k", {hk});
    want(b_v, "b_v", {hk});
    want(b_o, "b_o", {d});
  }
}

MultiHeadAttention MultiHeadAttention::load(const std::string& dir, const Config& config) {
  MultiHeadAttention m;
  m.config_ = resolve(config);
  namespace fs = std::filesystem;
  auto path = [&](const char* n) { return (fs::path(dir) / n).string(); };
  m.w_q = load_npy(path("w_q.npy"));
  m.w_k = load_npy(path("w_k.npy"));
  m.w_v = load_npy(path("w_v.npy"));
  m.w_o = load_npy(path("w_o.npy"));
  if (m.config_.bias) {
    m.b_q = load_npy(path("b_q.npy"));
    m.b_k = load_npy(path("b_k.npy"));
    m.b_v = load_npy(path("b_v.npy"));
    m.b_o = load_npy(path("b_o.npy"));
  }
  m.check();
  return m;
}

void MultiHeadAttention::save(const std::string& dir) const {
  namespace fs = std::filesystem;
  auto path = [&](const char* n) { return (fs::path(dir) / n).string(); };
  save_npy(path("w_q.npy"), w_q);
  save_npy(path("w_k.npy"), w_k);
  save_npy(path("w_v.npy"), w_v);
  save_npy(path("w_o.npy"), w_o);
  if (config_.bias) {
    save_npy(path("b_q.npy"), b_q);
    save_npy(path("b_k.npy"), b_k);
    save_npy(path("b_v.npy"), b_v);
    save_npy(path("b_o.npy"), b_o);
  }
}

Tensor MultiHeadAttention::forward(const Tensor& xq, const Tensor& xkv, const Encoding& enc,
                                   const AttentionOptions& opts) const {
  const char* fn = "MultiHeadAttention::forward";
  const auto d = static_cast<std::size_t>(config_.model_dim);
  if (xq.dimension() != 3 || xq.shape()[2] != d)
    detail::fail(fn, "parameter 'x_q' must be [B, Nq, ", d, "], got ", shape_string(xq));
  if (xkv.dimension() != 3 || xkv.shape()[2] != d || xkv.shape()[0] != xq.shape()[0])
    detail::fail(fn, "parameter 'x_kv' must be [", xq.shape()[0], ", Nk, ", d, "], got ", shape_string(xkv));
  const std::size_t batch = xq.shape()[0], nq = xq.shape()[1], nk = xkv.shape()[1];
  const auto h = static_cast<std::size_t>(config_.heads), hk = static_cast<std::size_t>(config_.kv_heads);
  const auto dh = static_cast<std::size_t>(config_.head_dim);
  const Tensor q = split_heads(linear(xq, batch * nq, w_q, b_q), batch, nq, h, dh);
  const Tensor k = split_heads(linear(xkv, batch * nk, w_k, b_k), batch, nk, hk, dh);
  const Tensor v = split_heads(linear(xkv, batch * nk, w_v, b_v), batch, nk, hk, dh);
  const Tensor o = attention(q, k, v, enc, opts);  // [B, H, Nq, dh]
  Tensor merged = Tensor::from_shape({batch * nq, h * dh});
  for (std::size_t b = 0; b < batch; ++b)
    for (std::size_t hh = 0; hh < h; ++hh)
      for (std::size_t t = 0; t < nq; ++t)
        std::copy_n(o.data() + ((b * h + hh) * nq + t) * dh, dh, merged.data() + ((b * nq + t) * h + hh) * dh);
  Tensor y = linear(merged, batch * nq, w_o, b_o);
  y.reshape({batch, nq, d});
  return y;
}

Tensor MultiHeadAttention::forward(const Tensor& x, const Encoding& enc, const AttentionOptions& opts) const {
  return forward(x, x, enc, opts);
}

}  // namespace posenc
