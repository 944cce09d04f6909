// Trainable layers: Embedding, Linear, LayerNorm, Dropout, FeedForward (posenc/model.hpp).
#include <algorithm>
#include <cmath>
#include <random>

#include <Eigen/Core>
#include <unsupported/Eigen/SpecialFunctions>

#include "detail/gemm.hpp"
#include "detail/wide_simd.hpp"

#include "posenc/catalogue.hpp"
#include "posenc/model.hpp"
#include "train/common.hpp"

namespace posenc::train {

namespace detail {

void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const float* a, const float* b, float* c,
          bool accumulate) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (!accumulate) std::fill_n(c, m * n, 0.0f);
    return;
  }
  posenc::detail::sgemm(ta, tb, m, n, k, 1.0f, a, ta ? m : k, b, tb ? k : n, accumulate ? 1.0f : 0.0f, c, n);
}

void accumulate(Tensor& grad, const Tensor& delta) {
  if (!is_set(grad) || shape_of(grad) != shape_of(delta)) {
    grad = delta;
    return;
  }
  float* g = grad.data();
  const float* d = delta.data();
  for (std::size_t i = 0; i < grad.size(); ++i) g[i] += d[i];
}

void add_param(std::vector<Parameter>& out, const std::string& prefix, const std::string& name, Tensor& value,
               Tensor& grad, bool decay) {
  if (shape_of(grad) != shape_of(value) || !is_set(grad)) grad = zeros_like(value);
  out.push_back({prefix + name, &value, &grad, decay});
}

std::string closest(const std::string& name, const std::vector<std::string>& candidates) {
  return catalogue::closest(name, candidates);  // one suggestion rule for every front end
}

}  // namespace detail

using detail::fail;
using detail::shape_of;
using detail::lane_sum;

namespace {

std::size_t last_dim(const Tensor& x) { return x.dimension() == 0 ? 0 : x.shape()[x.dimension() - 1]; }

/// Column sums of dy [rows, n] in double, added to acc [n].
void add_column_sums(const float* dy, std::size_t rows, std::size_t n, float* acc) {
  std::vector<double> s(n, 0.0);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < n; ++c) s[c] += dy[r * n + c];
  for (std::size_t c = 0; c < n; ++c) acc[c] = static_cast<float>(acc[c] + s[c]);
}

/// Element-wise kernels work on whole SIMD packets of 16 floats: Eigen peels unaligned heads and
/// tails of a dynamic-size array into scalar code whose erf differs from the vector one in the
/// last bits, so a value would depend on where the allocator put the tensor. Fixed-size packets
/// read and written unaligned always take the vector code, and the last partial packet goes
/// through zero-padded scratch. Chunks are fixed, so results never depend on the thread count.
constexpr std::ptrdiff_t kChunk = 4096;
using Packet = Eigen::Array<float, 16, 1>;
using PacketIn = Eigen::Map<const Packet, Eigen::Unaligned>;
using PacketOut = Eigen::Map<Packet, Eigen::Unaligned>;

/// f(z, g) -> new g over packets (z, g of n elements; g may be null for a one-input kernel).
template <class F>
void elementwise(const float* z, const float* g, float* out, std::size_t n, F f) {
  const auto chunks = (static_cast<std::ptrdiff_t>(n) + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (chunks > 8)
  for (std::ptrdiff_t c = 0; c < chunks; ++c) {
    const std::ptrdiff_t lo = c * kChunk, len = std::min<std::ptrdiff_t>(kChunk, static_cast<std::ptrdiff_t>(n) - lo);
    const std::ptrdiff_t end = lo + len / 16 * 16;
    for (std::ptrdiff_t i = lo; i < end; i += 16)
      PacketOut(out + i) = f(PacketIn(z + i), g ? Packet(PacketIn(g + i)) : Packet::Zero());
    if (end == lo + len) continue;
    alignas(64) float zs[16] = {}, gs[16] = {};
    std::copy(z + end, z + lo + len, zs);
    if (g) std::copy(g + end, g + lo + len, gs);
    const Packet r = f(PacketIn(zs), Packet(PacketIn(gs)));
    std::copy_n(r.data(), lo + len - end, out + end);
  }
}

/// out = z Phi(z), Phi(z) = (1 + erf(z / sqrt 2)) / 2 (the exact GELU), in float with Eigen's
/// vectorised erf (within 2e-6 of the double formula; PyTorch's float GELU is the same formula).
void gelu(const float* z, float* out, std::size_t n) {
  elementwise(z, nullptr, out, n, [](const auto& x, const auto&) {
    return (0.5f * x * (1.0f + (x * static_cast<float>(M_SQRT1_2)).erf())).eval();
  });
}

/// g *= Phi(z) + z phi(z), the derivative of the exact GELU.
void gelu_backward(const float* z, float* g, std::size_t n) {
  elementwise(z, g, g, n, [](const auto& x, const auto& dy) {
    constexpr float inv_sqrt_2pi = 0.398942280401432678f;
    return (dy * (0.5f * (1.0f + (x * static_cast<float>(M_SQRT1_2)).erf()) +
                  x * inv_sqrt_2pi * (-0.5f * x * x).exp()))
        .eval();
  });
}

}  // namespace

// ====================================================================== Embedding

Embedding::Embedding(std::int64_t vocab, std::int64_t dim, std::uint64_t seed) {
  if (vocab <= 0) fail("Embedding", "parameter 'vocab' must be positive, got ", vocab);
  if (dim <= 0) fail("Embedding", "parameter 'dim' must be positive, got ", dim);
  weight = Tensor::from_shape({static_cast<std::size_t>(vocab), static_cast<std::size_t>(dim)});
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> n01(0.0, 1.0);
  for (auto& w : weight) w = static_cast<float>(n01(gen));
  grad = detail::zeros_like(weight);
}

Tensor Embedding::forward(const ITensor& ids) {
  const char* fn = "Embedding::forward";
  if (ids.dimension() != 2) fail(fn, "parameter 'tokens' must be [B, N], got ", shape_string(ids));
  const std::size_t vocab = weight.shape()[0], dim = weight.shape()[1];
  const std::size_t b = ids.shape()[0], n = ids.shape()[1];
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const std::int64_t t = ids.data()[i];
    if (t < 0 || static_cast<std::size_t>(t) >= vocab)
      fail(fn, "parameter 'tokens' holds ", t, " at [", i / n, ", ", i % n, "], outside [0, vocab = ", vocab, ")");
  }
  Tensor y = Tensor::from_shape({b, n, dim});
  for (std::size_t i = 0; i < ids.size(); ++i)
    std::copy_n(weight.data() + static_cast<std::size_t>(ids.data()[i]) * dim, dim, y.data() + i * dim);
  ids_ = ids;
  return y;
}

void Embedding::backward(const Tensor& dy) {
  const std::size_t dim = weight.shape()[1];
  detail::require_shape("Embedding::backward", "dy", dy, {ids_.shape()[0], ids_.shape()[1], dim});
  if (shape_of(grad) != shape_of(weight)) grad = detail::zeros_like(weight);
  for (std::size_t i = 0; i < ids_.size(); ++i) {
    float* g = grad.data() + static_cast<std::size_t>(ids_.data()[i]) * dim;
    const float* d = dy.data() + i * dim;
    for (std::size_t c = 0; c < dim; ++c) g[c] += d[c];
  }
}

void Embedding::parameters(const std::string& prefix, std::vector<Parameter>& out) {
  detail::add_param(out, prefix, "weight", weight, grad);
}

// ====================================================================== Linear

Linear::Linear(std::int64_t in, std::int64_t out, std::uint64_t seed, bool with_bias) {
  if (in <= 0) fail("Linear", "parameter 'in' must be positive, got ", in);
  if (out <= 0) fail("Linear", "parameter 'out' must be positive, got ", out);
  std::mt19937_64 gen(seed);
  const double k = 1.0 / std::sqrt(static_cast<double>(in));
  std::uniform_real_distribution<double> u(-k, k);
  weight = Tensor::from_shape({static_cast<std::size_t>(out), static_cast<std::size_t>(in)});
  for (auto& w : weight) w = static_cast<float>(u(gen));
  grad_weight = detail::zeros_like(weight);
  if (with_bias) {
    bias = Tensor::from_shape({static_cast<std::size_t>(out)});
    for (auto& w : bias) w = static_cast<float>(u(gen));
    grad_bias = detail::zeros_like(bias);
  }
}

Tensor Linear::forward(Tensor x) {
  const std::size_t out = weight.shape()[0], in = weight.shape()[1];
  if (x.dimension() < 1 || last_dim(x) != in)
    fail("Linear::forward", "parameter 'x' must be [..., ", in, "], got ", shape_string(x));
  const std::size_t rows = x.size() / in;
  Shape s = shape_of(x);
  s.back() = out;
  Tensor y = Tensor::from_shape(s);
  detail::gemm(false, true, rows, out, in, x.data(), weight.data(), y.data(), false);
  if (is_set(bias))
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t o = 0; o < out; ++o) y.data()[r * out + o] += bias.data()[o];
  input_ = std::move(x);
  return y;
}

Tensor Linear::backward(const Tensor& dy) {
  const std::size_t out = weight.shape()[0], in = weight.shape()[1];
  Shape want = shape_of(input_);
  if (want.empty()) fail("Linear::backward", "called before forward");
  want.back() = out;
  detail::require_shape("Linear::backward", "dy", dy, want);
  const std::size_t rows = dy.size() / out;
  if (shape_of(grad_weight) != shape_of(weight)) grad_weight = detail::zeros_like(weight);
  detail::gemm(true, false, out, in, rows, dy.data(), input_.data(), grad_weight.data(), true);
  if (is_set(bias)) {
    if (shape_of(grad_bias) != shape_of(bias)) grad_bias = detail::zeros_like(bias);
    add_column_sums(dy.data(), rows, out, grad_bias.data());
  }
  Tensor dx = Tensor::from_shape(shape_of(input_));
  detail::gemm(false, false, rows, in, out, dy.data(), weight.data(), dx.data(), false);
  return dx;
}

void Linear::parameters(const std::string& prefix, std::vector<Parameter>& out) {
  detail::add_param(out, prefix, "weight", weight, grad_weight);
  if (is_set(bias)) detail::add_param(out, prefix, "bias", bias, grad_bias);
}

// ====================================================================== LayerNorm

LayerNorm::LayerNorm(std::int64_t dim, double eps) : eps_(eps) {
  if (dim <= 0) fail("LayerNorm", "parameter 'dim' must be positive, got ", dim);
  if (!(eps > 0)) fail("LayerNorm", "parameter 'eps' must be positive, got ", eps);
  weight = Tensor::from_shape({static_cast<std::size_t>(dim)});
  weight.fill(1.0f);
  bias = Tensor::from_shape({static_cast<std::size_t>(dim)});
  bias.fill(0.0f);
  grad_weight = detail::zeros_like(weight);
  grad_bias = detail::zeros_like(bias);
}

Tensor LayerNorm::forward(const Tensor& x) {
  const std::size_t d = weight.size();
  if (x.dimension() < 1 || last_dim(x) != d)
    fail("LayerNorm::forward", "parameter 'x' must be [..., ", d, "], got ", shape_string(x));
  const std::size_t rows = x.size() / d;
  if (shape_of(xhat_) != shape_of(x)) xhat_ = Tensor::from_shape(shape_of(x));  // reused across steps
  rstd_.assign(rows, 0.0);
  Tensor y = Tensor::from_shape(shape_of(x));
  const float* w = weight.data();
  const float* b = bias.data();
#pragma omp parallel for schedule(static) if (rows * d > 32768)
  for (std::ptrdiff_t r = 0; r < static_cast<std::ptrdiff_t>(rows); ++r) {
    const float* xr = x.data() + r * d;
    const double mean = lane_sum(d, [&](std::size_t c) { return static_cast<double>(xr[c]); }) / static_cast<double>(d);
    const double var = lane_sum(d, [&](std::size_t c) {
                         const double e = xr[c] - mean;
                         return e * e;
                       }) / static_cast<double>(d);
    const double rstd = 1.0 / std::sqrt(var + eps_);
    rstd_[r] = rstd;
    // The statistics in double, the normalisation in float (as PyTorch's float LayerNorm).
    const auto fmean = static_cast<float>(mean), frstd = static_cast<float>(rstd);
    float* xh = xhat_.data() + r * d;
    float* yr = y.data() + r * d;
    for (std::size_t c = 0; c < d; ++c) {
      xh[c] = (xr[c] - fmean) * frstd;
      yr[c] = xh[c] * w[c] + b[c];
    }
  }
  return y;
}

Tensor LayerNorm::backward(const Tensor& dy) {
  const std::size_t d = weight.size();
  detail::require_shape("LayerNorm::backward", "dy", dy, shape_of(xhat_));
  const std::size_t rows = dy.size() / d;
  Tensor dx = Tensor::from_shape(shape_of(dy));
  const float* w = weight.data();
#pragma omp parallel for schedule(static) if (rows * d > 32768)
  for (std::ptrdiff_t r = 0; r < static_cast<std::ptrdiff_t>(rows); ++r) {
    const float* g = dy.data() + r * d;
    const float* xh = xhat_.data() + r * d;
    const double mg = lane_sum(d, [&](std::size_t c) { return static_cast<double>(g[c]) * w[c]; }) / static_cast<double>(d);
    const double mgx = lane_sum(d, [&](std::size_t c) { return static_cast<double>(g[c]) * w[c] * xh[c]; }) /
                       static_cast<double>(d);
    float* out = dx.data() + r * d;
    for (std::size_t c = 0; c < d; ++c)
      out[c] = static_cast<float>(rstd_[r] * (static_cast<double>(g[c]) * w[c] - mg - xh[c] * mgx));
  }
  std::vector<double> gw(d, 0.0), gb(d, 0.0);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < d; ++c) {
      gw[c] += static_cast<double>(dy.data()[r * d + c]) * xhat_.data()[r * d + c];
      gb[c] += dy.data()[r * d + c];
    }
  if (shape_of(grad_weight) != shape_of(weight)) grad_weight = detail::zeros_like(weight);
  if (shape_of(grad_bias) != shape_of(bias)) grad_bias = detail::zeros_like(bias);
  for (std::size_t c = 0; c < d; ++c) {
    grad_weight.data()[c] = static_cast<float>(grad_weight.data()[c] + gw[c]);
    grad_bias.data()[c] = static_cast<float>(grad_bias.data()[c] + gb[c]);
  }
  return dx;
}

void LayerNorm::parameters(const std::string& prefix, std::vector<Parameter>& out) {
  detail::add_param(out, prefix, "weight", weight, grad_weight);
  detail::add_param(out, prefix, "bias", bias, grad_bias);
}

// ====================================================================== Dropout

Dropout::Dropout(double p, std::uint64_t seed) : p_(p), seed_(seed) {
  if (!(p >= 0.0 && p < 1.0)) fail("Dropout", "parameter 'p' must be in [0, 1), got ", p);
}

// The mask's 64-bit hashes vectorise 8 to a register with AVX-512 (wide_simd.hpp).
POSENC_WIDE_SIMD_BEGIN

Tensor Dropout::forward(Tensor x, bool training) {
  mask_.clear();
  if (!training || p_ == 0.0) return x;
  // Element i of call c keeps iff the top 32 bits of SplitMix64(key_c, i) fall below
  // (1 - p) 2^32, key_c = SplitMix64(seed, c): a counter-based stream, so the loop vectorises and
  // the mask never depends on how work is split.
  const std::uint64_t key = detail::derive_seed(seed_, calls_++);
  const auto threshold = static_cast<std::uint64_t>(std::llround((1.0 - p_) * 4294967296.0));
  const float scale = static_cast<float>(1.0 / (1.0 - p_));
  const std::size_t n = x.size();
  mask_.resize(n);
  float* v = x.data();
  float* m = mask_.data();
  for (std::size_t i = 0; i < n; ++i) {
    m[i] = (detail::derive_seed(key, i) >> 32) < threshold ? scale : 0.0f;
    v[i] *= m[i];
  }
  return x;
}

Tensor Dropout::backward(Tensor dy) const {
  if (mask_.empty()) return dy;
  if (dy.size() != mask_.size())
    fail("Dropout::backward", "parameter 'dy' has ", dy.size(), " elements, the forward had ", mask_.size());
  float* g = dy.data();
  for (std::size_t i = 0; i < dy.size(); ++i) g[i] *= mask_[i];
  return dy;
}

POSENC_WIDE_SIMD_END

// ====================================================================== FeedForward

FeedForward::FeedForward(std::int64_t dim, std::int64_t hidden, FfnActivation act, double dropout,
                         std::uint64_t seed)
    : fc1(dim, hidden, detail::derive_seed(seed, 0)),
      fc2(hidden, dim, detail::derive_seed(seed, 1)),
      act_(act),
      drop_(dropout, detail::derive_seed(seed, 2)) {}

Tensor FeedForward::forward(Tensor x, bool training) {
  pre_ = fc1.forward(std::move(x));
  Tensor a = Tensor::from_shape(shape_of(pre_));
  if (act_ == FfnActivation::gelu)
    gelu(pre_.data(), a.data(), pre_.size());
  else
    std::transform(pre_.begin(), pre_.end(), a.begin(), [](float z) { return z > 0.0f ? z : 0.0f; });
  return fc2.forward(drop_.forward(std::move(a), training));
}

Tensor FeedForward::backward(const Tensor& dy) {
  Tensor da = drop_.backward(fc2.backward(dy));
  if (act_ == FfnActivation::gelu) {
    gelu_backward(pre_.data(), da.data(), da.size());
  } else {
    const float* z = pre_.data();
    float* g = da.data();
    for (std::size_t i = 0; i < da.size(); ++i)
      if (!(z[i] > 0.0f)) g[i] = 0.0f;
  }
  return fc1.backward(da);
}

void FeedForward::parameters(const std::string& prefix, std::vector<Parameter>& out) {
  fc1.parameters(prefix + "fc1.", out);
  fc2.parameters(prefix + "fc2.", out);
}

}  // namespace posenc::train
