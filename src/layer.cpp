// The multi-head attention layer: projections through BLAS, attention through the shared core.
#include "posenc/layer.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <vector>

#include "detail/check.hpp"
#include "detail/gemm.hpp"
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
  detail::sgemm(false, true, rows, out, in, 1.0f, x.data(), in, w.data(), in, 0.0f, y.data(), out);
  if (is_set(b)) {
    float* yr = y.data();
    const float* bias = b.data();
    for (std::size_t r = 0; r < rows; ++r, yr += out)
      for (std::size_t o = 0; o < out; ++o) yr[o] += bias[o];
  }
  return y;
}

/// Row-stacked [a; b; c] of three tensors with equal trailing sizes ([out_i, in] or [out_i]):
/// the self-attention projections as one matrix, so x is read by one product instead of three.
Tensor stacked(const Tensor& a, const Tensor& b, const Tensor& c) {
  Shape s(a.shape().begin(), a.shape().end());
  s[0] = a.shape()[0] + b.shape()[0] + c.shape()[0];
  Tensor out = Tensor::from_shape(s);
  std::copy(c.begin(), c.end(), std::copy(b.begin(), b.end(), std::copy(a.begin(), a.end(), out.begin())));
  return out;
}

/// Rows [r0, r0 + rows) of a stacked [out, ...] tensor as a tensor of its own.
Tensor rows_of(const Tensor& t, std::size_t r0, std::size_t rows) {
  Shape s(t.shape().begin(), t.shape().end());
  const std::size_t width = t.size() / s[0];
  s[0] = rows;
  Tensor out = Tensor::from_shape(s);
  std::copy_n(t.data() + r0 * width, rows * width, out.data());
  return out;
}

// One head's dh values: an inline loop, since a library copy per 16-float row costs more than the copy.
void copy_head(const float* src, std::size_t dh, float* dst) {
  for (std::size_t c = 0; c < dh; ++c) dst[c] = src[c];
}

// Columns [col, col + heads*dh) of y [B*N, ld] -> [B, heads, N, dh]
Tensor split_heads(const float* y, std::size_t ld, std::size_t col, std::size_t batch, std::size_t n,
                   std::size_t heads, std::size_t dh) {
  Tensor out = Tensor::from_shape({batch, heads, n, dh});
  for (std::size_t b = 0; b < batch; ++b)
    for (std::size_t t = 0; t < n; ++t)
      for (std::size_t h = 0; h < heads; ++h)
        copy_head(y + (b * n + t) * ld + col + h * dh, dh, out.data() + ((b * heads + h) * n + t) * dh);
  return out;
}

// [B*N, heads*dh] -> [B, heads, N, dh]
Tensor split_heads(const Tensor& y, std::size_t batch, std::size_t n, std::size_t heads, std::size_t dh) {
  return split_heads(y.data(), heads * dh, 0, batch, n, heads, dh);
}

// t [B, heads, N, dh] -> columns [col, col + heads*dh) of out [B*N, ld]
void merge_heads_into(const Tensor& t, float* out, std::size_t ld, std::size_t col) {
  const std::size_t batch = t.shape()[0], heads = t.shape()[1], n = t.shape()[2], dh = t.shape()[3];
  for (std::size_t b = 0; b < batch; ++b)
    for (std::size_t h = 0; h < heads; ++h)
      for (std::size_t i = 0; i < n; ++i)
        copy_head(t.data() + ((b * heads + h) * n + i) * dh, dh, out + (b * n + i) * ld + col + h * dh);
}

// [B, heads, N, dh] -> [B*N, heads*dh]
Tensor merge_heads(const Tensor& t) {
  Tensor out = Tensor::from_shape({t.shape()[0] * t.shape()[2], t.shape()[1] * t.shape()[3]});
  merge_heads_into(t, out.data(), out.shape()[1], 0);
  return out;
}

/// Backward of y[rows, out] = x[rows, in] W^T + b for dy [rows, out]: dW = dy^T x and
/// db = column sums of dy (when `db` is non-null); dx = dy W, added to dx when accumulate.
void linear_backward(const float* dy, const float* x, std::size_t rows, const Tensor& w, Tensor& dw, Tensor* db,
                     Tensor& dx, bool accumulate) {
  const std::size_t out = w.shape()[0], in = w.shape()[1];
  dw = Tensor::from_shape({out, in});
  if (!accumulate) dx = Tensor::from_shape({rows, in});
  if (rows == 0) {
    std::fill(dw.begin(), dw.end(), 0.0f);
  } else {
    detail::sgemm(true, false, out, in, rows, 1.0f, dy, out, x, in, 0.0f, dw.data(), in);
    detail::sgemm(false, false, rows, in, out, 1.0f, dy, out, w.data(), in, accumulate ? 1.0f : 0.0f, dx.data(), in);
  }
  if (db) {
    std::vector<double> acc(out, 0.0);
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t o = 0; o < out; ++o) acc[o] += dy[r * out + o];
    *db = Tensor::from_shape({out});
    std::transform(acc.begin(), acc.end(), db->data(), [](double v) { return static_cast<float>(v); });
  }
}

void require_shape(const char* fn, const char* name, const Tensor& t, const Shape& want) {
  if (Shape(t.shape().begin(), t.shape().end()) != want)
    detail::fail(fn, "parameter '", name, "' must be ", shape_string(want), ", got ", shape_string(t));
}

void require_finite(const char* fn, const char* name, const Tensor& t) {
  for (std::size_t i = 0; i < t.size(); ++i)
    if (!std::isfinite(t.data()[i])) detail::fail(fn, "parameter '", name, "' holds a non-finite value at flat index ", i);
}

/// backward() up to the input projections (shapes checked against the config and the cache):
/// W_o's gradients into `grads`, then the core's dq, dk, dv and the encoding's gradients.
AttentionGrads core_backward(const MultiHeadAttention& m, std::size_t batch, std::size_t nq, std::size_t nk,
                             const Encoding& enc,
                             const AttentionOptions& opts, const MultiHeadAttention::Cache& cache, const Tensor& dy,
                             const GradRequest& request, MultiHeadAttention::Grads& grads) {
  const char* fn = "MultiHeadAttention::backward";
  const auto& c = m.config();
  const auto d = static_cast<std::size_t>(c.model_dim), dh = static_cast<std::size_t>(c.head_dim);
  const auto h = static_cast<std::size_t>(c.heads), hk = static_cast<std::size_t>(c.kv_heads);
  require_shape(fn, "dy", dy, {batch, nq, d});
  require_shape(fn, "cache.q", cache.q, {batch, h, nq, dh});
  require_shape(fn, "cache.k", cache.k, {batch, hk, nk, dh});
  require_shape(fn, "cache.v", cache.v, {batch, hk, nk, dh});
  require_shape(fn, "cache.attn", cache.attn, {batch, h, nq, dh});
  const Tensor d_attn = m.output_backward(cache, dy, grads);
  GradRequest req = request;
  req.inputs = true;  // the projections need dq, dk, dv
  return attention_backward(cache.q, cache.k, cache.v, enc, opts, cache.attn, cache.stats, d_attn, req);
}

/// forward() after the input projections: the core on q [B, H, Nq, dh], k and v [B, Hk, Nk, dh],
/// the heads merged, W_o; the intermediates kept in `cache` when given.
Tensor attend(const MultiHeadAttention& m, Tensor q, Tensor k, Tensor v, const Encoding& enc,
              const AttentionOptions& opts, MultiHeadAttention::Cache* cache) {
  const std::size_t batch = q.shape()[0], nq = q.shape()[2];
  Tensor o = attention(q, k, v, enc, opts, cache ? &cache->stats : nullptr);  // [B, H, Nq, dh]
  Tensor merged = merge_heads(o);
  Tensor y = linear(merged, batch * nq, m.w_o, m.b_o);
  y.reshape({batch, nq, static_cast<std::size_t>(m.config().model_dim)});
  if (cache) {
    cache->q = std::move(q);
    cache->k = std::move(k);
    cache->v = std::move(v);
    cache->attn = std::move(o);
    merged.reshape({batch, nq, merged.shape()[1]});
    cache->attn_out_merged = std::move(merged);
  }
  return y;
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
  m.w_q = load_npy(path("w_q.npy"), true);
  m.w_k = load_npy(path("w_k.npy"), true);
  m.w_v = load_npy(path("w_v.npy"), true);
  m.w_o = load_npy(path("w_o.npy"), true);
  if (m.config_.bias) {
    m.b_q = load_npy(path("b_q.npy"), true);
    m.b_k = load_npy(path("b_k.npy"), true);
    m.b_v = load_npy(path("b_v.npy"), true);
    m.b_o = load_npy(path("b_o.npy"), true);
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
                                   const AttentionOptions& opts, Cache* cache) const {
  check_inputs("MultiHeadAttention::forward", xq, xkv);
  const std::size_t batch = xq.shape()[0], nq = xq.shape()[1], nk = xkv.shape()[1];
  const auto h = static_cast<std::size_t>(config_.heads), hk = static_cast<std::size_t>(config_.kv_heads);
  const auto dh = static_cast<std::size_t>(config_.head_dim);
  return attend(*this, split_heads(linear(xq, batch * nq, w_q, b_q), batch, nq, h, dh),
                split_heads(linear(xkv, batch * nk, w_k, b_k), batch, nk, hk, dh),
                split_heads(linear(xkv, batch * nk, w_v, b_v), batch, nk, hk, dh), enc, opts, cache);
}

Tensor MultiHeadAttention::forward(const Tensor& x, const Encoding& enc, const AttentionOptions& opts,
                                   Cache* cache) const {
  check_inputs("MultiHeadAttention::forward", x, x);
  const std::size_t batch = x.shape()[0], n = x.shape()[1];
  const auto h = static_cast<std::size_t>(config_.heads), hk = static_cast<std::size_t>(config_.kv_heads);
  const auto dh = static_cast<std::size_t>(config_.head_dim);
  const std::size_t width = (h + 2 * hk) * dh;
  // One product with the stacked [W_q; W_k; W_v] reads x once; q, k and v are its column blocks.
  const Tensor qkv =
      linear(x, batch * n, stacked(w_q, w_k, w_v), config_.bias ? stacked(b_q, b_k, b_v) : Tensor());
  return attend(*this, split_heads(qkv.data(), width, 0, batch, n, h, dh),
                split_heads(qkv.data(), width, h * dh, batch, n, hk, dh),
                split_heads(qkv.data(), width, (h + hk) * dh, batch, n, hk, dh), enc, opts, cache);
}

void MultiHeadAttention::check_inputs(const char* fn, const Tensor& xq, const Tensor& xkv) const {
  const auto d = static_cast<std::size_t>(config_.model_dim);
  if (xq.dimension() != 3 || xq.shape()[2] != d)
    detail::fail(fn, "parameter 'x_q' must be [B, Nq, ", d, "], got ", shape_string(xq));
  if (xkv.dimension() != 3 || xkv.shape()[2] != d || xkv.shape()[0] != xq.shape()[0])
    detail::fail(fn, "parameter 'x_kv' must be [", xq.shape()[0], ", Nk, ", d, "], got ", shape_string(xkv));
}

// ====================================================================== backward

Tensor MultiHeadAttention::output_backward(const Cache& cache, const Tensor& dy, Grads& grads) const {
  const char* fn = "MultiHeadAttention::output_backward";
  const auto d = static_cast<std::size_t>(config_.model_dim);
  const auto h = static_cast<std::size_t>(config_.heads), dh = static_cast<std::size_t>(config_.head_dim);
  if (dy.dimension() != 3 || dy.shape()[2] != d)
    detail::fail(fn, "parameter 'dy' must be [B, Nq, ", d, "], got ", shape_string(dy));
  const std::size_t batch = dy.shape()[0], nq = dy.shape()[1];
  require_shape(fn, "cache.attn_out_merged", cache.attn_out_merged, {batch, nq, h * dh});
  require_finite(fn, "dy", dy);
  Tensor d_merged;
  linear_backward(dy.data(), cache.attn_out_merged.data(), batch * nq, w_o, grads.w_o,
                  config_.bias ? &grads.b_o : nullptr, d_merged, false);
  return split_heads(d_merged, batch, nq, h, dh);
}

void MultiHeadAttention::projection_backward(const Tensor& xq, const Tensor& xkv, const Tensor& dq, const Tensor& dk,
                                             const Tensor& dv, Grads& grads) const {
  const char* fn = "MultiHeadAttention::projection_backward";
  check_inputs(fn, xq, xkv);
  const std::size_t batch = xq.shape()[0], nq = xq.shape()[1], nk = xkv.shape()[1];
  const auto d = static_cast<std::size_t>(config_.model_dim);
  const auto h = static_cast<std::size_t>(config_.heads), hk = static_cast<std::size_t>(config_.kv_heads);
  const auto dh = static_cast<std::size_t>(config_.head_dim);
  require_shape(fn, "dq", dq, {batch, h, nq, dh});
  require_shape(fn, "dk", dk, {batch, hk, nk, dh});
  require_shape(fn, "dv", dv, {batch, hk, nk, dh});
  const bool bias = config_.bias;
  linear_backward(merge_heads(dq).data(), xq.data(), batch * nq, w_q, grads.w_q, bias ? &grads.b_q : nullptr,
                  grads.dx_q, false);
  linear_backward(merge_heads(dk).data(), xkv.data(), batch * nk, w_k, grads.w_k, bias ? &grads.b_k : nullptr,
                  grads.dx_kv, false);
  linear_backward(merge_heads(dv).data(), xkv.data(), batch * nk, w_v, grads.w_v, bias ? &grads.b_v : nullptr,
                  grads.dx_kv, true);
  grads.dx_q.reshape({batch, nq, d});
  grads.dx_kv.reshape({batch, nk, d});
}

MultiHeadAttention::Grads MultiHeadAttention::backward(const Tensor& xq, const Tensor& xkv, const Encoding& enc,
                                                       const AttentionOptions& opts, const Cache& cache,
                                                       const Tensor& dy, const GradRequest& request) const {
  check_inputs("MultiHeadAttention::backward", xq, xkv);
  Grads grads;
  AttentionGrads core = core_backward(*this, xq.shape()[0], xq.shape()[1], xkv.shape()[1], enc, opts, cache, dy, request, grads);
  projection_backward(xq, xkv, core.dq, core.dk, core.dv, grads);
  grads.encoding = std::move(core.encoding);
  return grads;
}

MultiHeadAttention::Grads MultiHeadAttention::backward(const Tensor& x, const Encoding& enc,
                                                       const AttentionOptions& opts, const Cache& cache,
                                                       const Tensor& dy, const GradRequest& request) const {
  check_inputs("MultiHeadAttention::backward", x, x);
  const std::size_t batch = x.shape()[0], n = x.shape()[1], rows = batch * n;
  const auto d = static_cast<std::size_t>(config_.model_dim);
  const auto hq = static_cast<std::size_t>(config_.heads * config_.head_dim);
  const auto hkd = static_cast<std::size_t>(config_.kv_heads * config_.head_dim);
  const std::size_t width = hq + 2 * hkd;
  Grads grads;
  AttentionGrads core = core_backward(*this, batch, n, n, enc, opts, cache, dy, request, grads);
  // The stacked projection of forward(x): d[q k v] [B*N, width] through [W_q; W_k; W_v] in one
  // pair of products, so dx arrives summed over the three.
  Tensor dqkv = Tensor::from_shape({rows, width});
  merge_heads_into(core.dq, dqkv.data(), width, 0);
  merge_heads_into(core.dk, dqkv.data(), width, hq);
  merge_heads_into(core.dv, dqkv.data(), width, hq + hkd);
  Tensor dw, db;
  linear_backward(dqkv.data(), x.data(), rows, stacked(w_q, w_k, w_v), dw, config_.bias ? &db : nullptr,
                  grads.dx_q, false);
  grads.w_q = rows_of(dw, 0, hq);
  grads.w_k = rows_of(dw, hq, hkd);
  grads.w_v = rows_of(dw, hq + hkd, hkd);
  if (config_.bias) {
    grads.b_q = rows_of(db, 0, hq);
    grads.b_k = rows_of(db, hq, hkd);
    grads.b_v = rows_of(db, hq + hkd, hkd);
  }
  grads.dx_q.reshape({batch, n, d});
  grads.encoding = std::move(core.encoding);
  return grads;
}

}  // namespace posenc
