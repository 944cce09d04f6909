// FeatureTransformer (posenc/model.hpp): the trunk over feature tokens (image patches, graph nodes,
// points on the sphere, one token per table feature), with a pooled or per-token head.
#include <cmath>

#include "posenc/model.hpp"
#include "train/common.hpp"

namespace posenc::train {

using detail::fail;

namespace {

void check_features_config(const ModelConfig& c) {
  const char* fn = "FeatureTransformer";
  detail::check_config(fn, c, true, false);
  if (c.input_features <= 0) fail(fn, "parameter 'input_features' must be positive, got ", c.input_features);
  if (c.input == InputKind::per_feature) {
    if (c.input_features != 1)
      fail(fn, "parameter 'input_features' must be 1 with input per_feature (one scalar per token), got ",
           c.input_features);
    if (c.tokens <= 0) fail(fn, "parameter 'tokens' must be positive with input per_feature, got ", c.tokens);
  }
  if (c.categorical.empty()) return;
  if (c.input != InputKind::per_feature)
    fail(fn, "parameter 'categorical' needs input per_feature (got ", c.categorical.size(), " entries with input linear)");
  if (c.categorical.size() != static_cast<std::size_t>(c.tokens))
    fail(fn, "parameter 'categorical' must have tokens = ", c.tokens, " entries (one per feature), got ",
         c.categorical.size());
  for (std::size_t n = 0; n < c.categorical.size(); ++n)
    if (c.categorical[n] < 0)
      fail(fn, "parameter 'categorical' must be >= 0 (0: numeric), got ", c.categorical[n], " for feature ", n);
}

bool is_categorical(const ModelConfig& c, std::size_t n) { return !c.categorical.empty() && c.categorical[n] > 0; }

/// U(-k, k) [rows, cols] with k = 1 / sqrt(cols) (FT-Transformer's tokenizer initialisation).
Tensor uniform(std::int64_t rows, std::int64_t cols, std::uint64_t seed) {
  Tensor t = Tensor::from_shape({static_cast<std::size_t>(rows), static_cast<std::size_t>(cols)});
  std::mt19937_64 gen(seed);
  const double k = 1.0 / std::sqrt(static_cast<double>(cols));
  std::uniform_real_distribution<double> u(-k, k);
  for (auto& v : t) v = static_cast<float>(u(gen));
  return t;
}

/// Prefix rows at position 0 in front of data-token positions [B|1, N, A].
DTensor with_prefix(const DTensor& p, std::size_t prefix) {
  if (prefix == 0 || !is_set(p)) return p;
  const std::size_t batch = p.shape()[0], n = p.shape()[1], axes = p.shape()[2];
  DTensor out = DTensor::from_shape({batch, n + prefix, axes});
  out.fill(0.0);
  for (std::size_t b = 0; b < batch; ++b)
    std::copy_n(p.data() + b * n * axes, n * axes, out.data() + (b * (n + prefix) + prefix) * axes);
  return out;
}

}  // namespace

FeatureTransformer::FeatureTransformer(const ModelConfig& c)
    : trunk_((check_features_config(c), c), false),
      head_(c.d_model, c.classes, detail::derive_seed(c.seed, detail::kHeadStream)) {
  const std::uint64_t seed = detail::derive_seed(c.seed, detail::kInputStream);
  if (c.input == InputKind::per_feature) {
    std::size_t numeric = 0, categories = 0;
    for (std::size_t n = 0; n < static_cast<std::size_t>(c.tokens); ++n) {
      if (is_categorical(c, n)) {
        in_row_.push_back(categories);
        categories += static_cast<std::size_t>(c.categorical[n]);
      } else {
        in_row_.push_back(numeric++);
      }
    }
    in_weight_ = uniform(static_cast<std::int64_t>(numeric), c.d_model, seed);
    in_bias_ = uniform(c.tokens, c.d_model, detail::derive_seed(seed, 1));
    grad_in_weight_ = detail::zeros_like(in_weight_);
    grad_in_bias_ = detail::zeros_like(in_bias_);
    if (categories > 0) {
      in_categories_ = uniform(static_cast<std::int64_t>(categories), c.d_model, detail::derive_seed(seed, 2));
      grad_in_categories_ = detail::zeros_like(in_categories_);
    }
  } else {
    in_linear_ = Linear(c.input_features, c.d_model, seed);
  }
  if (c.pooling == Pooling::cls) {
    cls_token_ = detail::cls_token_init(c.d_model, detail::derive_seed(c.seed, detail::kClsStream));
    grad_cls_token_ = detail::zeros_like(cls_token_);
  }
}

Tensor FeatureTransformer::forward(const Tensor& features, const std::vector<std::int64_t>& lengths,
                                   const PositionInput& where) {
  const char* fn = "FeatureTransformer::forward";
  const ModelConfig& c = config();
  const auto f = static_cast<std::size_t>(c.input_features);
  if (features.dimension() != 3 || features.shape()[1] == 0 || features.shape()[2] != f)
    fail(fn, "parameter 'features' must be [B, N >= 1, ", f, "], got ", shape_string(features));
  const std::size_t batch = features.shape()[0], n = features.shape()[1], d = static_cast<std::size_t>(c.d_model);
  std::vector<std::int64_t> lens = detail::check_lengths(fn, lengths, batch, n);
  Tensor x;
  if (c.input == InputKind::per_feature) {
    if (n != static_cast<std::size_t>(c.tokens))
      fail(fn, "parameter 'features' has ", n, " tokens but the per-feature tokenizer has tokens = ", c.tokens);
    features_ = features;
    // A categorical feature's value: the category index, an integer in [0, K_t).
    const auto category = [&](float v, std::size_t b, std::size_t t) {
      const std::int64_t k = c.categorical[t];
      if (!(v >= 0.0f && v < static_cast<float>(k) && v == std::floor(v)))
        fail(fn, "parameter 'features' holds ", v, " at sample ", b, ", feature ", t, ", which is categorical with ",
             k, " categories: it must be an integer category index in [0, ", k, ")");
      return static_cast<std::size_t>(v);
    };
    x = Tensor::from_shape({batch, n, d});
    for (std::size_t b = 0; b < batch; ++b)
      for (std::size_t t = 0; t < n; ++t) {
        const float v = features(b, t, 0);
        const float* bias = in_bias_.data() + t * d;
        float* y = x.data() + (b * n + t) * d;
        if (is_categorical(c, t)) {
          const float* e = in_categories_.data() + (in_row_[t] + category(v, b, t)) * d;
          for (std::size_t k = 0; k < d; ++k) y[k] = e[k] + bias[k];
        } else {
          const float* w = in_weight_.data() + in_row_[t] * d;
          for (std::size_t k = 0; k < d; ++k) y[k] = v * w[k] + bias[k];
        }
      }
  } else {
    x = in_linear_.forward(features);
  }
  const std::size_t prefix = c.pooling == Pooling::cls ? 1 : 0;
  if (prefix) {
    x = detail::prepend_token(x, cls_token_);
    for (auto& l : lens) ++l;
  }
  PositionInput in = where;
  in.positions = with_prefix(where.positions, prefix);
  in.prefix_tokens = static_cast<std::int64_t>(prefix);
  in.training = training_;
  in.step = training_ ? forwards_++ : 0;
  tokens_ = n + prefix;
  lengths_ = lens;
  const Tensor h = trunk_.forward(x, lens, training_, in);
  if (c.pooling == Pooling::cls) return head_.forward(cls_pool(h));
  if (c.pooling == Pooling::mean) return head_.forward(mean_pool(h, lens));
  return head_.forward(h);
}

void FeatureTransformer::backward(const Tensor& doutputs) {
  const char* fn = "FeatureTransformer::backward";
  if (tokens_ == 0) fail(fn, "called before forward");
  const Tensor dpool = head_.backward(doutputs);  // checks the shape
  const Pooling pooling = config().pooling;
  Tensor dx = pooling == Pooling::cls    ? trunk_.backward(cls_pool_backward(dpool, tokens_))
              : pooling == Pooling::mean ? trunk_.backward(mean_pool_backward(dpool, tokens_, lengths_))
                                         : trunk_.backward(dpool);
  if (pooling == Pooling::cls) dx = detail::prepend_token_backward(dx, grad_cls_token_);
  if (config().input == InputKind::per_feature) {
    const std::size_t batch = dx.shape()[0], n = dx.shape()[1], d = dx.shape()[2];
    std::vector<double> gw(in_weight_.size(), 0.0), gb(n * d, 0.0),
        ge(is_set(in_categories_) ? in_categories_.size() : 0, 0.0);
    for (std::size_t b = 0; b < batch; ++b)
      for (std::size_t t = 0; t < n; ++t) {
        const double v = features_(b, t, 0);
        const float* g = dx.data() + (b * n + t) * d;
        for (std::size_t k = 0; k < d; ++k) gb[t * d + k] += g[k];
        if (is_categorical(config(), t)) {  // the row the forward read: e_t[v] gets dy
          double* row = ge.data() + (in_row_[t] + static_cast<std::size_t>(v)) * d;
          for (std::size_t k = 0; k < d; ++k) row[k] += g[k];
        } else {
          double* row = gw.data() + in_row_[t] * d;
          for (std::size_t k = 0; k < d; ++k) row[k] += v * g[k];
        }
      }
    const auto accumulate = [](Tensor& grad, const std::vector<double>& sum) {
      for (std::size_t i = 0; i < sum.size(); ++i) grad.data()[i] = static_cast<float>(grad.data()[i] + sum[i]);
    };
    accumulate(grad_in_weight_, gw);
    accumulate(grad_in_bias_, gb);
    accumulate(grad_in_categories_, ge);
  } else {
    in_linear_.backward(dx);
  }
}

std::vector<Parameter> FeatureTransformer::parameters() {
  std::vector<Parameter> out;
  if (config().input == InputKind::per_feature) {
    if (is_set(in_weight_)) detail::add_param(out, "input.", "weight", in_weight_, grad_in_weight_);
    detail::add_param(out, "input.", "bias", in_bias_, grad_in_bias_);
    if (is_set(in_categories_)) detail::add_param(out, "input.", "categories", in_categories_, grad_in_categories_);
  } else {
    in_linear_.parameters("input.", out);
  }
  if (config().pooling == Pooling::cls) detail::add_param(out, "", "cls_token", cls_token_, grad_cls_token_);
  trunk_.parameters(out);
  head_.parameters("head.", out);
  return out;
}

void FeatureTransformer::zero_grad() { train::zero_grad(parameters()); }

void FeatureTransformer::save(const std::string& directory) {
  save_checkpoint(directory, "features", config(), parameters());
}

FeatureTransformer FeatureTransformer::load(const std::string& directory) {
  std::string model;
  const ModelConfig c = load_checkpoint_config(directory, model);
  if (model != "features")
    fail("FeatureTransformer::load", "checkpoint '", directory, "' holds a '", model,
         "' model, not a feature transformer");
  FeatureTransformer m(c);
  load_checkpoint_parameters(directory, m.parameters());
  return m;
}

}  // namespace posenc::train
