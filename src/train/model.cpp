// The transformer trunk, TransformerClassifier and TransformerLM (posenc/model.hpp).
#include <algorithm>

#include "posenc/model.hpp"
#include "posenc/text.hpp"
#include "train/common.hpp"

namespace posenc::train {

using detail::fail;
using detail::shape_of;

namespace {


}  // namespace

void detail::check_config(const char* fn, const ModelConfig& c, bool classifier, bool tokens) {
  if (tokens && c.vocab <= 0) fail(fn, "parameter 'vocab' must be positive, got ", c.vocab);
  if (c.d_model <= 0) fail(fn, "parameter 'd_model' must be positive, got ", c.d_model);
  if (c.heads <= 0 || c.d_model % c.heads != 0)
    fail(fn, "parameter 'heads' = ", c.heads, " must be positive and divide d_model = ", c.d_model);
  if (c.layers <= 0) fail(fn, "parameter 'layers' must be positive, got ", c.layers);
  if (c.ff_multiplier <= 0) fail(fn, "parameter 'ff_multiplier' must be positive, got ", c.ff_multiplier);
  if (!(c.dropout >= 0.0 && c.dropout < 1.0)) fail(fn, "parameter 'dropout' must be in [0, 1), got ", c.dropout);
  if (classifier && c.classes <= 0) fail(fn, "parameter 'classes' must be positive, got ", c.classes);
  if (classifier && tokens && c.pooling == Pooling::none)
    fail(fn, "parameter 'pooling' = none needs a FeatureTransformer (per-token outputs)");
}

std::vector<std::int64_t> detail::check_lengths(const char* fn, const std::vector<std::int64_t>& lengths, std::size_t batch,
                                        std::size_t n) {
  if (lengths.empty()) return {};
  if (lengths.size() != batch) fail(fn, "parameter 'lengths' has ", lengths.size(), " entries for batch ", batch);
  for (std::size_t b = 0; b < batch; ++b)
    if (lengths[b] < 1 || lengths[b] > static_cast<std::int64_t>(n))
      fail(fn, "parameter 'lengths' [", b, "] = ", lengths[b], " must be in [1, tokens = ", n, "]");
  return lengths;
}

Tensor detail::cls_token_init(std::int64_t dim, std::uint64_t seed) {
  // timm / BERT-style class token: N(0, 0.02^2) truncated at 2 std.
  Tensor t = Tensor::from_shape({static_cast<std::size_t>(dim)});
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> n(0.0, 0.02);
  for (auto& v : t) {
    double x;
    do x = n(gen);
    while (std::abs(x) > 0.04);
    v = static_cast<float>(x);
  }
  return t;
}

Tensor detail::prepend_token(const Tensor& x, const Tensor& token) {
  const std::size_t batch = x.shape()[0], n = x.shape()[1], d = x.shape()[2];
  Tensor xc = Tensor::from_shape({batch, n + 1, d});
  for (std::size_t b = 0; b < batch; ++b) {
    std::copy_n(token.data(), d, xc.data() + b * (n + 1) * d);
    std::copy_n(x.data() + b * n * d, n * d, xc.data() + (b * (n + 1) + 1) * d);
  }
  return xc;
}

Tensor detail::prepend_token_backward(const Tensor& dx, Tensor& grad_token) {
  const std::size_t batch = dx.shape()[0], n = dx.shape()[1] - 1, d = dx.shape()[2];
  Tensor de = Tensor::from_shape({batch, n, d});
  std::vector<double> acc(d, 0.0);
  for (std::size_t b = 0; b < batch; ++b) {
    for (std::size_t c = 0; c < d; ++c) acc[c] += dx.data()[b * (n + 1) * d + c];
    std::copy_n(dx.data() + (b * (n + 1) + 1) * d, n * d, de.data() + b * n * d);
  }
  for (std::size_t c = 0; c < d; ++c) grad_token.data()[c] = static_cast<float>(grad_token.data()[c] + acc[c]);
  return de;
}

namespace {

bool has_input_part(const Encoding& e) { return is_set(e.input_add) || is_set(e.input_concat); }

}  // namespace

// ====================================================================== trunk

TransformerTrunk::TransformerTrunk(const ModelConfig& c, bool causal)
    : config_(c), causal_(causal), final_ln_(c.d_model > 0 ? c.d_model : 1),
      drop_(c.dropout >= 0 && c.dropout < 1 ? c.dropout : 0.0, detail::derive_seed(c.seed, detail::kDropStream)) {
  detail::check_config("TransformerTrunk", c, false, false);
  const PositionContext ctx{.d_model = c.d_model, .heads = c.heads, .causal = causal, .grid_height = c.grid_height,
                            .grid_width = c.grid_width, .position_features = c.position_features,
                            .prefix_tokens = c.pooling == Pooling::cls && !causal ? 1 : 0, .tokens = c.tokens};
  const std::size_t modules = c.position.per_layer ? static_cast<std::size_t>(c.layers) : 1;
  for (std::size_t m = 0; m < modules; ++m)
    positions_.push_back(make_position_module(c.position, ctx, detail::derive_seed(c.seed, detail::kPositionStream + m)));
  const EncoderBlock::Config bc{.d_model = c.d_model, .heads = c.heads, .ff_hidden = c.ff_multiplier * c.d_model,
                                .activation = c.activation, .dropout = c.dropout, .pre_ln = c.pre_ln};
  for (std::int64_t l = 0; l < c.layers; ++l)
    blocks_.emplace_back(bc, detail::derive_seed(c.seed, detail::kBlockStream + static_cast<std::uint64_t>(l)));
}

Tensor TransformerTrunk::forward(const Tensor& x0, const std::vector<std::int64_t>& lengths, bool training,
                                 const PositionInput& input) {
  const char* fn = "TransformerTrunk::forward";
  const auto d = static_cast<std::size_t>(config_.d_model);
  if (x0.dimension() != 3 || x0.shape()[2] != d || x0.shape()[1] == 0)
    fail(fn, "parameter 'x' must be [B, N >= 1, ", d, "], got ", shape_string(x0));
  const std::size_t n = x0.shape()[1];
  options_ = AttentionOptions{};
  options_.mask.causal = causal_;
  options_.mask.key_lengths = detail::check_lengths(fn, lengths, x0.shape()[0], n);
  options_.threads = config_.threads;
  where_ = input;
  if (!is_set(where_.positions)) where_.positions = text_positions(static_cast<std::int64_t>(n));
  else if (where_.positions.dimension() != 3 || where_.positions.shape()[1] != n)
    fail(fn, "parameter 'input.positions' must be [B|1, ", n, ", A], got ", shape_string(where_.positions));
  const std::size_t modules = positions_.size();
  input_enc_.assign(modules, Encoding{});
  score_enc_.assign(modules, Encoding{});
  for (std::size_t m = 0; m < modules; ++m) {
    Encoding e = positions_[m]->build(where_);
    if (is_set(e.input_concat))
      fail(fn, "encoding '", positions_[m]->kind(), "' fills input_concat, which would change the model width");
    input_enc_[m].name = e.name;
    input_enc_[m].input_add = std::move(e.input_add);
    e.input_add = Tensor();
    score_enc_[m] = std::move(e);
  }
  input_x_.assign(blocks_.size(), Tensor());
  Tensor x = x0;
  for (std::size_t l = 0; l < blocks_.size(); ++l) {
    const std::size_t m = modules == 1 ? 0 : l;
    if ((l == 0 || modules > 1) && has_input_part(input_enc_[m])) {
      input_x_[l] = x;
      x = apply_input(input_enc_[m], x);
    }
    if (l == 0) x = drop_.forward(std::move(x), training);
    x = blocks_[l].forward(x, score_enc_[m], options_, training);
  }
  if (config_.pre_ln) x = final_ln_.forward(x);
  return x;
}

Tensor TransformerTrunk::backward(const Tensor& dy) {
  if (score_enc_.empty()) fail("TransformerTrunk::backward", "called before forward");
  Tensor dx = config_.pre_ln ? final_ln_.backward(dy) : dy;
  const std::size_t modules = positions_.size();
  for (std::size_t l = blocks_.size(); l-- > 0;) {
    const std::size_t m = modules == 1 ? 0 : l;
    PositionModule& pm = *positions_[m];
    EncodingGrad g;
    dx = blocks_[l].backward(dx, score_enc_[m], options_, pm.request(), g);
    pm.backward(where_, g);
    if (l == 0) dx = drop_.backward(std::move(dx));
    if (is_set(input_x_[l])) {
      EncodingGrad gi;
      dx = apply_input_backward(input_enc_[m], input_x_[l], dx, gi);
      pm.backward(where_, gi);
    }
  }
  return dx;
}

void TransformerTrunk::parameters(std::vector<Parameter>& out) {
  for (std::size_t m = 0; m < positions_.size(); ++m)
    positions_[m]->parameters(positions_.size() == 1 ? "position." : "position." + std::to_string(m) + ".", out);
  for (std::size_t l = 0; l < blocks_.size(); ++l) blocks_[l].parameters("blocks." + std::to_string(l) + ".", out);
  if (config_.pre_ln) final_ln_.parameters("final_ln.", out);
}

// ====================================================================== classifier

TransformerClassifier::TransformerClassifier(const ModelConfig& c)
    : trunk_((detail::check_config("TransformerClassifier", c, true), c), false),
      embedding_(c.vocab, c.d_model, detail::derive_seed(c.seed, detail::kEmbeddingStream)),
      head_(c.d_model, c.classes, detail::derive_seed(c.seed, detail::kHeadStream)) {
  if (c.pooling == Pooling::cls) {
    cls_token_ = detail::cls_token_init(c.d_model, detail::derive_seed(c.seed, detail::kClsStream));
    grad_cls_token_ = detail::zeros_like(cls_token_);
  }
}

Tensor TransformerClassifier::forward(const ITensor& tokens, const std::vector<std::int64_t>& lengths) {
  const char* fn = "TransformerClassifier::forward";
  if (tokens.dimension() != 2 || tokens.shape()[1] == 0)
    fail(fn, "parameter 'tokens' must be [B, N >= 1], got ", shape_string(tokens));
  const std::size_t batch = tokens.shape()[0], n = tokens.shape()[1];
  lengths_ = detail::check_lengths(fn, lengths, batch, n);
  Tensor x = embedding_.forward(tokens);
  std::vector<std::int64_t> lens = lengths_;
  if (config().pooling == Pooling::cls) {
    x = detail::prepend_token(x, cls_token_);
    for (auto& l : lens) ++l;
  }
  tokens_ = x.shape()[1];
  lengths_ = lens;
  const Tensor h = trunk_.forward(x, lens, training_);
  return head_.forward(config().pooling == Pooling::cls ? cls_pool(h) : mean_pool(h, lens));
}

void TransformerClassifier::backward(const Tensor& dlogits) {
  const char* fn = "TransformerClassifier::backward";
  if (tokens_ == 0) fail(fn, "called before forward");
  const Tensor dpool = head_.backward(dlogits);  // checks dlogits' shape
  const Tensor dh = config().pooling == Pooling::cls ? cls_pool_backward(dpool, tokens_)
                                                     : mean_pool_backward(dpool, tokens_, lengths_);
  Tensor dx = trunk_.backward(dh);
  if (config().pooling == Pooling::cls) dx = detail::prepend_token_backward(dx, grad_cls_token_);
  embedding_.backward(dx);
}

std::vector<Parameter> TransformerClassifier::parameters() {
  std::vector<Parameter> out;
  embedding_.parameters("embedding.", out);
  if (config().pooling == Pooling::cls) detail::add_param(out, "", "cls_token", cls_token_, grad_cls_token_);
  trunk_.parameters(out);
  head_.parameters("head.", out);
  return out;
}

void TransformerClassifier::zero_grad() { train::zero_grad(parameters()); }

void TransformerClassifier::save(const std::string& directory) {
  save_checkpoint(directory, "classifier", config(), parameters());
}

TransformerClassifier TransformerClassifier::load(const std::string& directory) {
  std::string model;
  const ModelConfig c = load_checkpoint_config(directory, model);
  if (model != "classifier")
    fail("TransformerClassifier::load", "checkpoint '", directory, "' holds a '", model, "' model, not a classifier");
  TransformerClassifier m(c);
  load_checkpoint_parameters(directory, m.parameters());
  return m;
}

// ====================================================================== language model

TransformerLM::TransformerLM(const ModelConfig& c)
    : trunk_((detail::check_config("TransformerLM", c, false), c), true),
      embedding_(c.vocab, c.d_model, detail::derive_seed(c.seed, detail::kEmbeddingStream)),
      head_(c.d_model, c.vocab, detail::derive_seed(c.seed, detail::kHeadStream)) {}

Tensor TransformerLM::forward(const ITensor& tokens, const std::vector<std::int64_t>& lengths) {
  const char* fn = "TransformerLM::forward";
  if (tokens.dimension() != 2 || tokens.shape()[1] == 0)
    fail(fn, "parameter 'tokens' must be [B, N >= 1], got ", shape_string(tokens));
  const auto lens = detail::check_lengths(fn, lengths, tokens.shape()[0], tokens.shape()[1]);
  return head_.forward(trunk_.forward(embedding_.forward(tokens), lens, training_));
}

void TransformerLM::backward(const Tensor& dlogits) { embedding_.backward(trunk_.backward(head_.backward(dlogits))); }

ITensor TransformerLM::next_token_targets(const ITensor& tokens, const std::vector<std::int64_t>& lengths,
                                          std::int64_t ignore_index) {
  const char* fn = "TransformerLM::next_token_targets";
  if (tokens.dimension() != 2) fail(fn, "parameter 'tokens' must be [B, N], got ", shape_string(tokens));
  const std::size_t batch = tokens.shape()[0], n = tokens.shape()[1];
  const auto lens = detail::check_lengths(fn, lengths, batch, n);
  ITensor t = ITensor::from_shape({batch, n});
  for (std::size_t b = 0; b < batch; ++b) {
    const std::size_t len = lens.empty() ? n : static_cast<std::size_t>(lens[b]);
    for (std::size_t i = 0; i < n; ++i) t(b, i) = i + 1 < len ? tokens(b, i + 1) : ignore_index;
  }
  return t;
}

std::vector<Parameter> TransformerLM::parameters() {
  std::vector<Parameter> out;
  embedding_.parameters("embedding.", out);
  trunk_.parameters(out);
  head_.parameters("head.", out);
  return out;
}

void TransformerLM::zero_grad() { train::zero_grad(parameters()); }

void TransformerLM::save(const std::string& directory) { save_checkpoint(directory, "lm", config(), parameters()); }

TransformerLM TransformerLM::load(const std::string& directory) {
  std::string model;
  const ModelConfig c = load_checkpoint_config(directory, model);
  if (model != "lm") fail("TransformerLM::load", "checkpoint '", directory, "' holds a '", model, "' model, not an lm");
  TransformerLM m(c);
  load_checkpoint_parameters(directory, m.parameters());
  return m;
}

}  // namespace posenc::train
