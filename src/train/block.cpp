// The encoder block, pooling and losses (posenc/model.hpp).
#include <algorithm>
#include <cmath>
#include <limits>

#include "posenc/model.hpp"
#include "train/common.hpp"

namespace posenc::train {

using detail::fail;
using detail::shape_of;

namespace {

void add_into(Tensor& a, const Tensor& b) {
  float* x = a.data();
  const float* y = b.data();
  for (std::size_t i = 0; i < a.size(); ++i) x[i] += y[i];
}

}  // namespace

// ====================================================================== EncoderBlock

EncoderBlock::EncoderBlock(const Config& c, std::uint64_t seed)
    : attn(MultiHeadAttention::Config{.model_dim = c.d_model, .heads = c.heads}, detail::derive_seed(seed, 0)),
      ln1(c.d_model),
      ln2(c.d_model),
      ffn(c.d_model, c.ff_hidden, c.activation, c.dropout, detail::derive_seed(seed, 1)),
      config_(c),
      drop1_(c.dropout, detail::derive_seed(seed, 2)),
      drop2_(c.dropout, detail::derive_seed(seed, 3)) {
  grad_w_q = detail::zeros_like(attn.w_q);
  grad_w_k = detail::zeros_like(attn.w_k);
  grad_w_v = detail::zeros_like(attn.w_v);
  grad_w_o = detail::zeros_like(attn.w_o);
  grad_b_q = detail::zeros_like(attn.b_q);
  grad_b_k = detail::zeros_like(attn.b_k);
  grad_b_v = detail::zeros_like(attn.b_v);
  grad_b_o = detail::zeros_like(attn.b_o);
}

Tensor EncoderBlock::forward(const Tensor& x, const Encoding& enc, const AttentionOptions& opts, bool training) {
  if (config_.pre_ln) {
    attn_input_ = ln1.forward(x);
    Tensor x1 = drop1_.forward(attn.forward(attn_input_, enc, opts, &cache_), training);
    add_into(x1, x);  // x + Drop(Attn(LN1 x)): float addition commutes, so the sum is exact either way
    Tensor y = drop2_.forward(ffn.forward(ln2.forward(x1), training), training);
    add_into(y, x1);
    return y;
  }
  attn_input_ = x;
  Tensor s1 = drop1_.forward(attn.forward(x, enc, opts, &cache_), training);
  add_into(s1, x);
  const Tensor x1 = ln1.forward(s1);
  Tensor s2 = drop2_.forward(ffn.forward(x1, training), training);
  add_into(s2, x1);
  return ln2.forward(s2);
}

Tensor EncoderBlock::backward(const Tensor& dy, const Encoding& enc, const AttentionOptions& opts,
                              const GradRequest& request, EncodingGrad& encoding_grad) {
  auto attention_backward = [&](const Tensor& d_out) {
    MultiHeadAttention::Grads g = attn.backward(attn_input_, enc, opts, cache_, d_out, request);
    detail::accumulate(grad_w_q, g.w_q);
    detail::accumulate(grad_w_k, g.w_k);
    detail::accumulate(grad_w_v, g.w_v);
    detail::accumulate(grad_w_o, g.w_o);
    detail::accumulate(grad_b_q, g.b_q);
    detail::accumulate(grad_b_k, g.b_k);
    detail::accumulate(grad_b_v, g.b_v);
    detail::accumulate(grad_b_o, g.b_o);
    encoding_grad = std::move(g.encoding);
    return std::move(g.dx_q);
  };
  if (config_.pre_ln) {
    Tensor dx1 = ln2.backward(ffn.backward(drop2_.backward(dy)));
    add_into(dx1, dy);
    Tensor dh1 = attention_backward(drop1_.backward(dx1));
    add_into(dx1, ln1.backward(dh1));
    return dx1;
  }
  Tensor ds2 = ln2.backward(dy);
  Tensor dx1 = ffn.backward(drop2_.backward(ds2));
  add_into(dx1, ds2);
  const Tensor ds1 = ln1.backward(dx1);
  Tensor dx = attention_backward(drop1_.backward(ds1));
  add_into(dx, ds1);
  return dx;
}

void EncoderBlock::parameters(const std::string& prefix, std::vector<Parameter>& out) {
  detail::add_param(out, prefix, "attn.w_q", attn.w_q, grad_w_q);
  detail::add_param(out, prefix, "attn.b_q", attn.b_q, grad_b_q);
  detail::add_param(out, prefix, "attn.w_k", attn.w_k, grad_w_k);
  detail::add_param(out, prefix, "attn.b_k", attn.b_k, grad_b_k);
  detail::add_param(out, prefix, "attn.w_v", attn.w_v, grad_w_v);
  detail::add_param(out, prefix, "attn.b_v", attn.b_v, grad_b_v);
  detail::add_param(out, prefix, "attn.w_o", attn.w_o, grad_w_o);
  detail::add_param(out, prefix, "attn.b_o", attn.b_o, grad_b_o);
  ln1.parameters(prefix + "ln1.", out);
  ffn.parameters(prefix + "ffn.", out);
  ln2.parameters(prefix + "ln2.", out);
}

// ====================================================================== pooling

namespace {

std::size_t valid_length(const char* fn, const std::vector<std::int64_t>& lengths, std::size_t b, std::size_t n) {
  if (lengths.empty()) return n;
  const std::int64_t l = lengths[b];
  if (l < 1 || static_cast<std::size_t>(l) > n)
    fail(fn, "parameter 'lengths' [", b, "] = ", l, " must be in [1, ", n, "]");
  return static_cast<std::size_t>(l);
}

}  // namespace

Tensor mean_pool(const Tensor& x, const std::vector<std::int64_t>& lengths) {
  const char* fn = "mean_pool";
  if (x.dimension() != 3) fail(fn, "parameter 'x' must be [B, N, D], got ", shape_string(x));
  const std::size_t batch = x.shape()[0], n = x.shape()[1], d = x.shape()[2];
  if (!lengths.empty() && lengths.size() != batch)
    fail(fn, "parameter 'lengths' has ", lengths.size(), " entries for batch ", batch);
  Tensor y = Tensor::from_shape({batch, d});
  for (std::size_t b = 0; b < batch; ++b) {
    const std::size_t len = valid_length(fn, lengths, b, n);
    std::vector<double> acc(d, 0.0);
    for (std::size_t t = 0; t < len; ++t)
      for (std::size_t c = 0; c < d; ++c) acc[c] += x.data()[(b * n + t) * d + c];
    for (std::size_t c = 0; c < d; ++c) y(b, c) = static_cast<float>(acc[c] / static_cast<double>(len));
  }
  return y;
}

Tensor mean_pool_backward(const Tensor& dy, std::size_t tokens, const std::vector<std::int64_t>& lengths) {
  const char* fn = "mean_pool_backward";
  if (dy.dimension() != 2) fail(fn, "parameter 'dy' must be [B, D], got ", shape_string(dy));
  const std::size_t batch = dy.shape()[0], d = dy.shape()[1];
  if (!lengths.empty() && lengths.size() != batch)
    fail(fn, "parameter 'lengths' has ", lengths.size(), " entries for batch ", batch);
  Tensor dx = Tensor::from_shape({batch, tokens, d});
  dx.fill(0.0f);
  for (std::size_t b = 0; b < batch; ++b) {
    const std::size_t len = valid_length(fn, lengths, b, tokens);
    for (std::size_t t = 0; t < len; ++t)
      for (std::size_t c = 0; c < d; ++c)
        dx(b, t, c) = static_cast<float>(static_cast<double>(dy(b, c)) / static_cast<double>(len));
  }
  return dx;
}

Tensor cls_pool(const Tensor& x) {
  if (x.dimension() != 3 || x.shape()[1] == 0)
    fail("cls_pool", "parameter 'x' must be [B, N >= 1, D], got ", shape_string(x));
  const std::size_t batch = x.shape()[0], n = x.shape()[1], d = x.shape()[2];
  Tensor y = Tensor::from_shape({batch, d});
  for (std::size_t b = 0; b < batch; ++b) std::copy_n(x.data() + b * n * d, d, y.data() + b * d);
  return y;
}

Tensor cls_pool_backward(const Tensor& dy, std::size_t tokens) {
  if (dy.dimension() != 2) fail("cls_pool_backward", "parameter 'dy' must be [B, D], got ", shape_string(dy));
  if (tokens == 0) fail("cls_pool_backward", "parameter 'tokens' must be positive, got 0");
  const std::size_t batch = dy.shape()[0], d = dy.shape()[1];
  Tensor dx = Tensor::from_shape({batch, tokens, d});
  dx.fill(0.0f);
  for (std::size_t b = 0; b < batch; ++b) std::copy_n(dy.data() + b * d, d, dx.data() + b * tokens * d);
  return dx;
}

// ====================================================================== losses

Loss cross_entropy(const Tensor& logits, const ITensor& targets, std::int64_t ignore_index) {
  const char* fn = "cross_entropy";
  if (logits.dimension() < 2) fail(fn, "parameter 'logits' must be [..., C], got ", shape_string(logits));
  const std::size_t c = logits.shape()[logits.dimension() - 1];
  const std::size_t rows = logits.size() / std::max<std::size_t>(c, 1);
  if (c == 0) fail(fn, "parameter 'logits' has no classes: ", shape_string(logits));
  const Shape lead(logits.shape().begin(), logits.shape().end() - 1);
  if (Shape(targets.shape().begin(), targets.shape().end()) != lead)
    fail(fn, "parameter 'targets' must be ", shape_string(lead), ", got ", shape_string(targets));
  std::size_t valid = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    const std::int64_t t = targets.data()[r];
    if (t == ignore_index) continue;
    if (t < 0 || static_cast<std::size_t>(t) >= c)
      fail(fn, "parameter 'targets' holds ", t, " at flat index ", r, ", outside [0, classes = ", c, ")");
    ++valid;
  }
  Loss out;
  out.grad = Tensor::from_shape(shape_of(logits));
  out.grad.fill(0.0f);
  if (valid == 0) {
    out.value = std::numeric_limits<double>::quiet_NaN();  // as PyTorch: mean over no element
    return out;
  }
  double total = 0;
  std::vector<double> e(c);
  for (std::size_t r = 0; r < rows; ++r) {
    const std::int64_t t = targets.data()[r];
    if (t == ignore_index) continue;
    const float* z = logits.data() + r * c;
    const double m = *std::max_element(z, z + c);
    double s = 0;
    for (std::size_t k = 0; k < c; ++k) s += (e[k] = std::exp(z[k] - m));
    total += m + std::log(s) - z[t];
    float* g = out.grad.data() + r * c;
    for (std::size_t k = 0; k < c; ++k)
      g[k] = static_cast<float>((e[k] / s - (static_cast<std::int64_t>(k) == t ? 1.0 : 0.0)) / valid);
  }
  out.value = total / static_cast<double>(valid);
  return out;
}

Loss mse(const Tensor& y, const Tensor& t) {
  if (shape_of(y) != shape_of(t))
    fail("mse", "parameter 'target' must match prediction ", shape_string(y), ", got ", shape_string(t));
  if (y.size() == 0) fail("mse", "parameter 'prediction' is empty");
  Loss out;
  out.grad = Tensor::from_shape(shape_of(y));
  double total = 0;
  const double n = static_cast<double>(y.size());
  for (std::size_t i = 0; i < y.size(); ++i) {
    const double d = static_cast<double>(y.data()[i]) - t.data()[i];
    total += d * d;
    out.grad.data()[i] = static_cast<float>(2.0 * d / n);
  }
  out.value = total / n;
  return out;
}

Loss mse(const Tensor& y, const Tensor& t, const std::vector<std::int64_t>& lengths) {
  if (lengths.empty()) return mse(y, t);
  if (y.dimension() != 3)
    fail("mse", "parameter 'lengths' needs a per-token prediction [B, N, K], got ", shape_string(y));
  if (shape_of(y) != shape_of(t))
    fail("mse", "parameter 'target' must match prediction ", shape_string(y), ", got ", shape_string(t));
  const std::size_t batch = y.shape()[0], n = y.shape()[1], k = y.shape()[2];
  detail::check_lengths("mse", lengths, batch, n);
  std::size_t counted = 0;
  for (auto l : lengths) counted += static_cast<std::size_t>(l) * k;
  if (counted == 0) fail("mse", "parameter 'prediction' is empty");
  Loss out;
  out.grad = zeros_like(y);
  double total = 0;
  const double c = static_cast<double>(counted);
  for (std::size_t b = 0; b < batch; ++b)
    for (std::size_t i = b * n * k; i < (b * n + static_cast<std::size_t>(lengths[b])) * k; ++i) {
      const double d = static_cast<double>(y.data()[i]) - t.data()[i];
      total += d * d;
      out.grad.data()[i] = static_cast<float>(2.0 * d / c);
    }
  out.value = total / c;
  return out;
}

}  // namespace posenc::train
