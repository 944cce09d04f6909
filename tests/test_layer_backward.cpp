// Backward of the multi-head attention layer and of the input-side parts.
//
//   LayerBackwardParts  the layer's own pieces (forward cache, output and input projections)
//                       checked without the core's backward: the projections alone, and the
//                       whole layer with a plain softmax backward written here (NoPE, no mask).
//   LayerBackward       backward() end to end, through attention_backward: central finite
//                       differences in float with Richardson extrapolation of
//                       L = sum(G * forward(...)) for a sample of weights, biases, inputs and
//                       encoding parts.
//   InputBackward       apply_input_backward and reduce_to_shape: hand cases, adjoint identity.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "posenc/gradients.hpp"
#include "posenc/layer.hpp"
#include "posenc/rotary.hpp"
#include "support/helpers.hpp"

namespace posenc {
namespace {

using test::expect_invalid;
using test::make;
using test::random_tensor;

double dot_all(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.size(), b.size());
  double s = 0;
  for (std::size_t t = 0; t < std::min(a.size(), b.size()); ++t) s += static_cast<double>(a.data()[t]) * b.data()[t];
  return s;
}

// ====================================================================== finite differences

/// d loss / d p by central differences at h and h/2 combined by Richardson extrapolation
/// (error O(h^4)); the steps are the float values actually taken.
double fd_derivative(const std::function<double()>& loss, float& p, double h) {
  auto central = [&](double step) {
    const float saved = p;
    const float up = static_cast<float>(saved + step), down = static_cast<float>(saved - step);
    p = up;
    const double lu = loss();
    p = down;
    const double ld = loss();
    p = saved;
    return (lu - ld) / (static_cast<double>(up) - static_cast<double>(down));
  };
  return (4 * central(h / 2) - central(h)) / 3;
}

constexpr double kStep = 3e-2;   // Richardson: truncation O(h^4)
constexpr double kNoise = 3e-5;  // absolute floor: rounding noise of the float forward over 2h

/// Compares `analytic` with finite differences at a spread sample of entries of `param`. The
/// tolerance is 2e-3 relative, measured against at least 10% of the tensor's largest gradient,
/// plus kNoise (b_k's gradient is exactly zero without position terms or masks: softmax ignores
/// a logit shift common to all keys, so there only the noise floor applies).
void check_sample(const std::string& what, Tensor& param, const Tensor& analytic,
                  const std::function<double()>& loss, std::size_t samples = 5) {
  ASSERT_EQ(shape_string(param), shape_string(analytic)) << what;
  double scale = 0;
  for (auto v : analytic) scale = std::max(scale, std::abs(static_cast<double>(v)));
  const std::size_t n = param.size();
  for (std::size_t s = 0; s < std::min(samples, n); ++s) {
    const std::size_t idx = (s * n) / samples + (s * 5) % std::max<std::size_t>(n / samples, 1);
    const double fd = fd_derivative(loss, param.data()[idx], kStep);
    const double an = analytic.data()[idx];
    const double tol = 2e-3 * std::max(std::abs(an), 0.1 * scale) + kNoise;
    EXPECT_NEAR(fd, an, tol) << what << " flat index " << idx;
  }
}

// ====================================================================== the setups

struct Case {
  std::size_t batch, nq, nk;
  std::int64_t kv_heads;
  bool bias, self;
};
const Case kCases[] = {{1, 4, 4, 2, true, true},
                       {2, 3, 5, 1, true, false},
                       {2, 5, 5, 1, false, true},
                       {1, 5, 3, 2, false, false}};

std::string name(const Case& c) {
  return "B=" + std::to_string(c.batch) + " Nq=" + std::to_string(c.nq) + " Nk=" + std::to_string(c.nk) +
         " kv_heads=" + std::to_string(c.kv_heads) + (c.bias ? " bias" : " no bias") + (c.self ? " self" : " cross");
}

struct Bench {
  MultiHeadAttention mha;
  Tensor xq, xkv, G;
  Encoding enc;
  AttentionOptions opt;
  bool self;

  explicit Bench(const Case& c, std::uint64_t seed = 1)
      : mha({.model_dim = 8, .heads = 2, .kv_heads = c.kv_heads, .bias = c.bias}, seed),
        xq(random_tensor({c.batch, c.nq, 8}, seed + 1)),
        xkv(c.self ? Tensor() : random_tensor({c.batch, c.nk, 8}, seed + 2)),
        G(random_tensor({c.batch, c.nq, 8}, seed + 3)),
        self(c.self) {}
  const Tensor& kv() const { return self ? xq : xkv; }
  Tensor forward(MultiHeadAttention::Cache* cache = nullptr) const { return mha.forward(xq, kv(), enc, opt, cache); }
  double loss() const { return dot_all(G, forward()); }
};

/// The input gradient of a setup: dx_q + dx_kv for self-attention.
Tensor dx_total(const Bench& s, const MultiHeadAttention::Grads& g) {
  return s.self ? Tensor(g.dx_q + g.dx_kv) : g.dx_q;
}

/// Every weight, bias and input of the layer against finite differences.
void check_layer(Bench& s, const MultiHeadAttention::Grads& g, const std::string& what) {
  const std::function<double()> loss = [&] { return s.loss(); };
  check_sample(what + " w_q", s.mha.w_q, g.w_q, loss);
  check_sample(what + " w_k", s.mha.w_k, g.w_k, loss);
  check_sample(what + " w_v", s.mha.w_v, g.w_v, loss);
  check_sample(what + " w_o", s.mha.w_o, g.w_o, loss);
  if (s.mha.config().bias) {
    check_sample(what + " b_q", s.mha.b_q, g.b_q, loss, 3);
    check_sample(what + " b_k", s.mha.b_k, g.b_k, loss, 3);
    check_sample(what + " b_v", s.mha.b_v, g.b_v, loss, 3);
    check_sample(what + " b_o", s.mha.b_o, g.b_o, loss, 3);
  } else {
    EXPECT_FALSE(is_set(g.b_q) || is_set(g.b_k) || is_set(g.b_v) || is_set(g.b_o)) << what;
  }
  check_sample(what + " x_q", s.xq, dx_total(s, g), loss);
  if (!s.self) check_sample(what + " x_kv", s.xkv, g.dx_kv, loss);
}

/// Plain softmax attention backward (NoPE, no mask, scale 1/sqrt(d)) in double: the core's
/// part of the layer for the tests that do not wait for attention_backward.
void naive_core_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& dout, Tensor& dq, Tensor& dk,
                         Tensor& dv) {
  const std::size_t B = q.shape()[0], H = q.shape()[1], nq = q.shape()[2], d = q.shape()[3];
  const std::size_t hk = k.shape()[1], nk = k.shape()[2];
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  xt::xarray<double> gq = xt::zeros<double>(Shape{B, H, nq, d}), gk = xt::zeros<double>(Shape{B, hk, nk, d}),
                     gv = xt::zeros<double>(Shape{B, hk, nk, d});
  std::vector<double> p(nk), dp(nk);
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t h = 0; h < H; ++h) {
      const std::size_t kh = h / (H / hk);
      for (std::size_t i = 0; i < nq; ++i) {
        double m = -INFINITY, sum = 0, D = 0;
        for (std::size_t j = 0; j < nk; ++j) {
          double s = 0;
          for (std::size_t c = 0; c < d; ++c) s += static_cast<double>(q(b, h, i, c)) * k(b, kh, j, c);
          p[j] = s * scale;
          m = std::max(m, p[j]);
        }
        for (std::size_t j = 0; j < nk; ++j) sum += (p[j] = std::exp(p[j] - m));
        for (std::size_t j = 0; j < nk; ++j) {
          p[j] /= sum;
          dp[j] = 0;
          for (std::size_t c = 0; c < d; ++c) dp[j] += static_cast<double>(dout(b, h, i, c)) * v(b, kh, j, c);
          D += p[j] * dp[j];
        }
        for (std::size_t j = 0; j < nk; ++j) {
          const double ds = p[j] * (dp[j] - D) * scale;
          for (std::size_t c = 0; c < d; ++c) {
            gq(b, h, i, c) += ds * k(b, kh, j, c);
            gk(b, kh, j, c) += ds * q(b, h, i, c);
            gv(b, kh, j, c) += p[j] * dout(b, h, i, c);
          }
        }
      }
    }
  dq = xt::cast<float>(gq);
  dk = xt::cast<float>(gk);
  dv = xt::cast<float>(gv);
}

// ====================================================================== the layer's own parts

TEST(LayerBackwardParts, ForwardWithCacheIsBitIdenticalAndKeepsIntermediates) {
  for (const Case& c : kCases) {
    Bench s(c, 3);
    s.enc = rope(test::positions(c.nq, static_cast<double>(c.nk) - static_cast<double>(c.nq)),
                 test::positions(c.self ? c.nq : c.nk), RopeOptions{.head_dim = 4});
    s.opt.mask.causal = true;
    MultiHeadAttention::Cache cache;
    const Tensor plain = s.forward(), cached = s.forward(&cache);
    EXPECT_EQ(test::max_abs_diff(plain, cached), 0.0) << name(c);
    const std::size_t nk = c.self ? c.nq : c.nk, hk = static_cast<std::size_t>(c.kv_heads);
    EXPECT_EQ(shape_string(cache.q), shape_string(Shape{c.batch, 2, c.nq, 4})) << name(c);
    EXPECT_EQ(shape_string(cache.k), shape_string(Shape{c.batch, hk, nk, 4})) << name(c);
    EXPECT_EQ(shape_string(cache.v), shape_string(Shape{c.batch, hk, nk, 4})) << name(c);
    EXPECT_EQ(test::max_abs_diff(cache.attn, attention(cache.q, cache.k, cache.v, s.enc, s.opt)), 0.0) << name(c);
    ASSERT_EQ(shape_string(cache.attn_out_merged), shape_string(Shape{c.batch, c.nq, 8})) << name(c);
    for (std::size_t b = 0; b < c.batch; ++b)
      for (std::size_t h = 0; h < 2; ++h)
        for (std::size_t i = 0; i < c.nq; ++i)
          for (std::size_t e = 0; e < 4; ++e) EXPECT_EQ(cache.attn_out_merged(b, i, h * 4 + e), cache.attn(b, h, i, e));
  }
}

TEST(LayerBackwardParts, ProjectionsMatchFiniteDifferences) {
  // L = <Gq, q> + <Gk, k> + <Gv, v> + <Gy, y(o)> with o the cached core output held fixed: the
  // projections' backward alone, without the core's.
  for (const Case& c : kCases) {
    Bench s(c, 5);
    MultiHeadAttention::Cache cache;
    s.forward(&cache);
    const Tensor Gq = random_tensor(Shape(cache.q.shape().begin(), cache.q.shape().end()), 6);
    const Tensor Gk = random_tensor(Shape(cache.k.shape().begin(), cache.k.shape().end()), 7);
    const Tensor Gv = random_tensor(Shape(cache.v.shape().begin(), cache.v.shape().end()), 8);
    MultiHeadAttention::Grads g;
    const Tensor d_attn = s.mha.output_backward(cache, s.G, g);
    s.mha.projection_backward(s.xq, s.kv(), Gq, Gk, Gv, g);
    // The output projection y = merge(o) W_o^T + b_o with o, the core's output, as a free input.
    Tensor o = cache.attn;
    const std::function<double()> out_loss = [&] {
      double l = 0;
      for (std::size_t b = 0; b < c.batch; ++b)
        for (std::size_t i = 0; i < c.nq; ++i)
          for (std::size_t m = 0; m < 8; ++m) {
            double y = c.bias ? s.mha.b_o(m) : 0.0;
            for (std::size_t h = 0; h < 2; ++h)
              for (std::size_t e = 0; e < 4; ++e) y += static_cast<double>(o(b, h, i, e)) * s.mha.w_o(m, h * 4 + e);
            l += y * s.G(b, i, m);
          }
      return l;
    };
    check_sample(name(c) + " w_o", s.mha.w_o, g.w_o, out_loss);
    if (c.bias) check_sample(name(c) + " b_o", s.mha.b_o, g.b_o, out_loss, 3);
    check_sample(name(c) + " attention output", o, d_attn, out_loss);
    const std::function<double()> in_loss = [&] {
      MultiHeadAttention::Cache k;
      s.forward(&k);
      return dot_all(Gq, k.q) + dot_all(Gk, k.k) + dot_all(Gv, k.v);
    };
    check_sample(name(c) + " w_q", s.mha.w_q, g.w_q, in_loss);
    check_sample(name(c) + " w_k", s.mha.w_k, g.w_k, in_loss);
    check_sample(name(c) + " w_v", s.mha.w_v, g.w_v, in_loss);
    if (c.bias) {
      check_sample(name(c) + " b_q", s.mha.b_q, g.b_q, in_loss, 3);
      check_sample(name(c) + " b_k", s.mha.b_k, g.b_k, in_loss, 3);
      check_sample(name(c) + " b_v", s.mha.b_v, g.b_v, in_loss, 3);
    }
    check_sample(name(c) + " x_q", s.xq, dx_total(s, g), in_loss);
    if (!c.self) check_sample(name(c) + " x_kv", s.xkv, g.dx_kv, in_loss);
  }
}

TEST(LayerBackwardParts, WholeLayerWithPlainSoftmaxCoreMatchesFiniteDifferences) {
  // output_backward -> a plain softmax backward -> projection_backward: the composition that
  // backward() performs with attention_backward in the middle (NoPE, no mask).
  for (const Case& c : kCases) {
    Bench s(c, 11);
    MultiHeadAttention::Cache cache;
    s.forward(&cache);
    MultiHeadAttention::Grads g;
    const Tensor d_attn = s.mha.output_backward(cache, s.G, g);
    Tensor dq, dk, dv;
    naive_core_backward(cache.q, cache.k, cache.v, d_attn, dq, dk, dv);
    s.mha.projection_backward(s.xq, s.kv(), dq, dk, dv, g);
    check_layer(s, g, name(c));
  }
}

TEST(LayerBackwardParts, ErrorsNameTheArgument) {
  Bench s(kCases[1], 2);
  MultiHeadAttention::Cache cache;
  s.forward(&cache);
  const char* fn = "MultiHeadAttention::backward";
  expect_invalid([&] { s.mha.backward(s.xq, s.xkv, s.enc, s.opt, cache, random_tensor({2, 3, 7}, 1)); },
                 {fn, "'dy'", "[2, 3, 8]", "[2, 3, 7]"});
  MultiHeadAttention::Cache other;
  Bench t(kCases[0], 2);
  t.forward(&other);
  expect_invalid([&] { s.mha.backward(s.xq, s.xkv, s.enc, s.opt, other, s.G); }, {fn, "'cache.q'", "[2, 2, 3, 4]"});
  expect_invalid([&] { s.mha.backward(s.xq, random_tensor({1, 5, 8}, 1), s.enc, s.opt, cache, s.G); },
                 {fn, "'x_kv'", "[1, 5, 8]"});
  expect_invalid([&] { s.mha.backward(s.xq, s.xkv, s.enc, s.opt, MultiHeadAttention::Cache{}, s.G); },
                 {fn, "'cache.q'"});
  MultiHeadAttention::Grads g;
  expect_invalid([&] { s.mha.output_backward(cache, random_tensor({2, 4, 8}, 1), g); },
                 {"MultiHeadAttention::output_backward", "'cache.attn_out_merged'", "[2, 4, 8]", "[2, 3, 8]"});
  Tensor bad_dy = s.G;
  bad_dy(0, 0, 0) = NAN;
  expect_invalid([&] { s.mha.output_backward(cache, bad_dy, g); }, {"'dy'", "non-finite"});
  expect_invalid([&] { s.mha.projection_backward(s.xq, s.xkv, cache.q, cache.q, cache.v, g); },
                 {"MultiHeadAttention::projection_backward", "'dk'", "[2, 1, 5, 4]", "[2, 2, 3, 4]"});
}

// ====================================================================== end to end (needs attention_backward)

TEST(LayerBackward, MatchesFiniteDifferencesWithRopeAndCausalMask) {
  for (const Case& c : kCases) {
    Bench s(c, 21);
    s.enc = rope(test::positions(c.nq, static_cast<double>(c.nk) - static_cast<double>(c.nq)),
                 test::positions(c.self ? c.nq : c.nk), RopeOptions{.head_dim = 4});
    s.opt.mask.causal = true;
    MultiHeadAttention::Cache cache;
    s.forward(&cache);
    const MultiHeadAttention::Grads g = s.mha.backward(s.xq, s.kv(), s.enc, s.opt, cache, s.G);
    check_layer(s, g, name(c) + " rope causal");
  }
}

TEST(LayerBackward, NoEncodingMatchesFiniteDifferences) {
  for (const Case& c : kCases) {
    Bench s(c, 31);
    MultiHeadAttention::Cache cache;
    s.forward(&cache);
    check_layer(s, s.mha.backward(s.xq, s.kv(), s.enc, s.opt, cache, s.G), name(c) + " NoPE");
  }
}

TEST(LayerBackward, EncodingGradientsPassThrough) {
  // A dense bias [1, H, Nq, Nk] asked for with request.biases: its gradient comes back in
  // grads.encoding and matches finite differences of the layer's loss.
  const Case c{2, 3, 4, 1, true, false};
  Bench s(c, 41);
  s.enc = test::dense_bias_encoding(2, 3, 4, [](std::size_t h, std::size_t i, std::size_t j) {
    return 0.3 * std::sin(static_cast<double>(h + 2 * i + 3 * j));
  });
  MultiHeadAttention::Cache cache;
  s.forward(&cache);
  GradRequest request;
  request.biases = true;
  const MultiHeadAttention::Grads g = s.mha.backward(s.xq, s.xkv, s.enc, s.opt, cache, s.G, request);
  ASSERT_EQ(g.encoding.biases.size(), 1u);
  check_sample("dense bias", s.enc.biases[0].dense, g.encoding.biases[0].dense, [&] { return s.loss(); }, 6);
  check_layer(s, g, "with a dense bias");
}

TEST(LayerBackward, SelfAttentionConvenienceSumsInputGradients) {
  for (const Case c : {Case{2, 4, 4, 1, true, true}, Case{1, 5, 5, 2, false, true}}) {
    SCOPED_TRACE(name(c));
    Bench s(c, 51);
    s.opt.mask.causal = true;
    MultiHeadAttention::Cache cache;
    s.mha.forward(s.xq, s.enc, s.opt, &cache);
    const MultiHeadAttention::Grads both = s.mha.backward(s.xq, s.xq, s.enc, s.opt, cache, s.G);
    const MultiHeadAttention::Grads one = s.mha.backward(s.xq, s.enc, s.opt, cache, s.G);
    EXPECT_FALSE(is_set(one.dx_kv));
    // The single-input path runs the three projections as one stacked product, so its sums are
    // rounded in another order: equal to float rounding, not bit for bit.
    const Tensor summed = both.dx_q + both.dx_kv;
    EXPECT_LT(test::max_abs_diff(one.dx_q, summed), 1e-6 * (1.0 + xt::amax(xt::abs(summed))()));
    for (const auto& [a, b] : {std::pair{&one.w_q, &both.w_q}, {&one.w_k, &both.w_k}, {&one.w_v, &both.w_v},
                               {&one.b_q, &both.b_q}, {&one.b_k, &both.b_k}, {&one.b_v, &both.b_v}}) {
      if (!is_set(*b)) {  // no biases
        EXPECT_FALSE(is_set(*a));
        continue;
      }
      ASSERT_EQ(Shape(a->shape().begin(), a->shape().end()), Shape(b->shape().begin(), b->shape().end()));
      EXPECT_LT(test::max_abs_diff(*a, *b), 1e-6 * (1.0 + xt::amax(xt::abs(*b))()));
    }
    check_sample("self x", s.xq, one.dx_q, [&] { return s.loss(); });
  }
}

// The self-attention overloads stack W_q, W_k, W_v into one product (forward) and one pair of
// products (backward). At sizes that take the blocked sgemm path (every dimension >= 8), with
// grouped-query heads and biases, they agree with the two-input path (whose gradients the
// finite-difference tests above check) to float rounding.
TEST(LayerBackward, SelfAttentionStackedProjectionsMatchTwoInputPath) {
  MultiHeadAttention mha({32, 4, 2, 0, true}, 7);
  const Tensor x = test::random_tensor({3, 12, 32}, 8);
  const Tensor dy = test::random_tensor({3, 12, 32}, 9);
  AttentionOptions opt;
  opt.mask.causal = true;
  MultiHeadAttention::Cache one_cache, both_cache;
  const Tensor y_one = mha.forward(x, {}, opt, &one_cache);
  const Tensor y_both = mha.forward(x, x, {}, opt, &both_cache);
  auto close = [](const Tensor& a, const Tensor& b) {
    ASSERT_EQ(Shape(a.shape().begin(), a.shape().end()), Shape(b.shape().begin(), b.shape().end()));
    EXPECT_LT(test::max_abs_diff(a, b), 1e-6 * (1.0 + xt::amax(xt::abs(b))()));
  };
  close(y_one, y_both);
  close(one_cache.q, both_cache.q);
  close(one_cache.k, both_cache.k);
  close(one_cache.v, both_cache.v);
  const auto one = mha.backward(x, {}, opt, one_cache, dy);
  const auto both = mha.backward(x, x, {}, opt, both_cache, dy);
  close(one.dx_q, Tensor(both.dx_q + both.dx_kv));
  close(one.w_q, both.w_q);
  close(one.w_k, both.w_k);
  close(one.w_v, both.w_v);
  close(one.w_o, both.w_o);
  close(one.b_q, both.b_q);
  close(one.b_k, both.b_k);
  close(one.b_v, both.b_v);
}

// ====================================================================== input-side parts

TEST(InputBackward, ApplyInputHandCase) {
  // y = concat(x + input_add, input_concat) with x [2, 2, 2], input_add [1, 2, 2] (shared by the
  // batch), input_concat [1, 2, 1]; dy [2, 2, 3] = 1 .. 12.
  Encoding e;
  e.input_add = make({1, 2, 2}, {0.5f, 0.5f, 0.5f, 0.5f});
  e.input_concat = make({1, 2, 1}, {7, 8});
  const Tensor x = random_tensor({2, 2, 2}, 1);
  Tensor dy = Tensor::from_shape({2, 2, 3});
  for (std::size_t t = 0; t < 12; ++t) dy.data()[t] = static_cast<float>(t + 1);
  EncodingGrad grad;
  const Tensor dx = apply_input_backward(e, x, dy, grad);
  EXPECT_EQ(test::max_abs_diff(dx, make({2, 2, 2}, {1, 2, 4, 5, 7, 8, 10, 11})), 0.0);
  EXPECT_EQ(test::max_abs_diff(grad.input_add, make({1, 2, 2}, {8, 10, 14, 16})), 0.0);
  EXPECT_EQ(test::max_abs_diff(grad.input_concat, make({1, 2, 1}, {12, 18})), 0.0);
  // Per-sequence parts [B, N, .] are not summed.
  e.input_add = random_tensor({2, 2, 2}, 2);
  e.input_concat = Tensor();
  EncodingGrad per;
  const Tensor dx2 = apply_input_backward(e, x, make({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}), per);
  EXPECT_EQ(test::max_abs_diff(per.input_add, make({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8})), 0.0);
  EXPECT_EQ(test::max_abs_diff(dx2, per.input_add), 0.0);
  EXPECT_FALSE(is_set(per.input_concat));
}

TEST(InputBackward, ApplyInputAdjointIdentity) {
  // apply_input is linear in (x, input_add, input_concat): <y(P + dP) - y(P), G> = <dP, backward(G)>.
  struct Shapes {
    Shape x, add, concat;
  };
  for (const Shapes& sh : {Shapes{{3, 4, 5}, {1, 4, 5}, {1, 4, 2}}, Shapes{{3, 4, 5}, {3, 4, 5}, {3, 4, 3}},
                           Shapes{{2, 3, 4, 5}, {1, 4, 5}, {1, 4, 1}}, Shapes{{4, 5}, {1, 4, 5}, {}}}) {
    const std::string what = "x " + shape_string(sh.x);
    Encoding e0, e1;
    const Tensor x = random_tensor(sh.x, 1), dx = random_tensor(sh.x, 2);
    e0.input_add = random_tensor(sh.add, 3);
    const Tensor dadd = random_tensor(sh.add, 4);
    e1.input_add = e0.input_add + dadd;
    Tensor dcat;
    if (!sh.concat.empty()) {
      e0.input_concat = random_tensor(sh.concat, 5);
      dcat = random_tensor(sh.concat, 6);
      e1.input_concat = e0.input_concat + dcat;
    }
    const Tensor y0 = apply_input(e0, x), y1 = apply_input(e1, Tensor(x + dx));
    const Tensor G = random_tensor(Shape(y0.shape().begin(), y0.shape().end()), 7);
    EncodingGrad grad;
    const Tensor gx = apply_input_backward(e0, x, G, grad);
    double lhs = 0, scale = 0;
    for (std::size_t t = 0; t < G.size(); ++t) {
      lhs += (static_cast<double>(y1.data()[t]) - y0.data()[t]) * G.data()[t];
      scale += (std::abs(static_cast<double>(y1.data()[t])) + std::abs(y0.data()[t])) * std::abs(G.data()[t]);
    }
    double rhs = dot_all(dx, gx) + dot_all(dadd, grad.input_add);
    if (!sh.concat.empty()) rhs += dot_all(dcat, grad.input_concat);
    EXPECT_NEAR(lhs, rhs, 1e-6 * scale) << what;
    EXPECT_EQ(shape_string(grad.input_add), shape_string(sh.add)) << what;
  }
}

TEST(InputBackward, ApplyInputErrors) {
  Encoding e;
  e.input_add = random_tensor({1, 2, 3}, 1);
  e.input_concat = random_tensor({1, 2, 1}, 2);
  const Tensor x = random_tensor({2, 2, 3}, 3);
  EncodingGrad g;
  expect_invalid([&] { apply_input_backward(e, x, random_tensor({2, 2, 3}, 4), g); },
                 {"apply_input_backward", "'dy'", "[2, 2, 4]", "[2, 2, 3]"});
  Tensor dy = random_tensor({2, 2, 4}, 5);
  dy(1, 1, 3) = INFINITY;
  expect_invalid([&] { apply_input_backward(e, x, dy, g); }, {"apply_input_backward", "'dy'", "non-finite"});
  expect_invalid([&] { apply_input_backward(e, random_tensor({3}, 1), dy, g); }, {"apply_input_backward", "'x'"});
}

TEST(InputBackward, ReduceToShapeHandCases) {
  const Tensor g = make({2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_EQ(test::max_abs_diff(reduce_to_shape(g, {3}), make({3}, {5, 7, 9})), 0.0);
  EXPECT_EQ(test::max_abs_diff(reduce_to_shape(g, {1, 3}), make({1, 3}, {5, 7, 9})), 0.0);
  EXPECT_EQ(test::max_abs_diff(reduce_to_shape(g, {2, 1}), make({2, 1}, {6, 15})), 0.0);
  EXPECT_EQ(test::max_abs_diff(reduce_to_shape(g, {1, 1}), make({1, 1}, {21})), 0.0);
  EXPECT_EQ(test::max_abs_diff(reduce_to_shape(g, {2, 3}), g), 0.0);
  EXPECT_EQ(reduce_to_shape(g, {}).size(), 1u);
  EXPECT_EQ(reduce_to_shape(g, {})(), 21.0f);
  // [2, 2, 3] -> [2, 1, 1]: per leading index.
  const Tensor g3 = make({2, 2, 3}, {1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2});
  EXPECT_EQ(test::max_abs_diff(reduce_to_shape(g3, {2, 1, 1}), make({2, 1, 1}, {6, 12})), 0.0);
  expect_invalid([&] { reduce_to_shape(g, {4}); }, {"reduce_to_shape", "[4]", "[2, 3]"});
  expect_invalid([&] { reduce_to_shape(g, {1, 2, 3}); }, {"reduce_to_shape", "[1, 2, 3]", "more axes"});
}

TEST(InputBackward, ReduceToShapeIsTheAdjointOfBroadcasting) {
  for (const auto& [full, part] : std::vector<std::pair<Shape, Shape>>{
           {{2, 3, 4, 5}, {3, 1, 5}}, {{2, 3, 4, 5}, {1, 3, 1, 1}}, {{4, 1, 6}, {6}}, {{3, 5}, {3, 5}}}) {
    const Tensor p = random_tensor(part, 1), G = random_tensor(full, 2);
    const Tensor b = xt::broadcast(p, full);
    const Tensor r = reduce_to_shape(G, part);
    EXPECT_EQ(shape_string(r), shape_string(part));
    double scale = 0;
    for (std::size_t t = 0; t < G.size(); ++t) scale += std::abs(static_cast<double>(b.data()[t]) * G.data()[t]);
    EXPECT_NEAR(dot_all(b, G), dot_all(p, r), 1e-6 * scale) << shape_string(full) << " -> " << shape_string(part);
  }
}

}  // namespace
}  // namespace posenc
