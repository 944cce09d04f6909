// Positional encodings as trainable modules (posenc/model.hpp): each builds an Encoding from its
// parameters through the public builder and maps EncodingGrads back through the builder's _backward.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>

#include "posenc/model.hpp"
#include "posenc/npy.hpp"
#include "posenc/relative.hpp"
#include "posenc/rotary.hpp"
#include "posenc/sinusoid.hpp"
#include "posenc/text.hpp"
#include "train/common.hpp"
#include "train/position_registry.hpp"

namespace posenc::train {

using detail::fail;

std::string detail::path_in(const std::string& dir, const std::string& file) {
  return (std::filesystem::path(dir) / file).string();
}

namespace {

std::int64_t max_position(const DTensor& p) {
  double m = 0;
  for (auto v : p) m = std::max(m, v);
  return static_cast<std::int64_t>(m);
}

bool has_bias_table(const EncodingGrad& g) { return !g.biases.empty() && is_set(g.biases[0].table); }

/// A module of the text kinds: its encoding depends on the token positions only.
class TextModule : public PositionModule {
 public:
  Encoding build(const PositionInput& in) const final { return build_at(in.positions); }
  void backward(const PositionInput& in, const EncodingGrad& g) final { backward_at(in.positions, g); }

 protected:
  explicit TextModule(std::string kind) : PositionModule(std::move(kind)) {}
  virtual Encoding build_at(const DTensor& positions) const = 0;
  virtual void backward_at(const DTensor&, const EncodingGrad&) {}
};

/// A module with no parameters: builds the encoding with `fn`.
class FixedModule final : public TextModule {
 public:
  FixedModule(std::string kind, std::function<Encoding(const DTensor&)> fn)
      : TextModule(std::move(kind)), fn_(std::move(fn)) {}
  Encoding build_at(const DTensor& p) const override { return fn_(p); }

 private:
  std::function<Encoding(const DTensor&)> fn_;
};

// ---------------------------------------------------------------------- learned absolute

class LearnedModule final : public TextModule {
 public:
  LearnedModule(const PositionConfig& c, const PositionContext& x, std::uint64_t seed)
      : TextModule("learned"), table_(learned_table_init(c.max_len, x.d_model, c.init_std, seed)) {}
  Encoding build_at(const DTensor& p) const override {
    const std::int64_t rows = static_cast<std::int64_t>(table_.shape()[0]);
    const std::int64_t need = max_position(p);
    if (need >= rows)
      fail("LearnedPosition::build", "parameter 'positions' reaches ", need, " but the learned table has max_len = ",
           rows, " rows (positions 0..", rows - 1, "); raise position.max_len or shorten the input");
    return learned_absolute(table_, p);
  }
  void backward_at(const DTensor& p, const EncodingGrad& g) override {
    if (is_set(g.input_add)) detail::accumulate(grad_, learned_absolute_backward(table_, p, g));
  }
  void parameters(const std::string& prefix, std::vector<Parameter>& out) override {
    detail::add_param(out, prefix, "table", table_, grad_);
  }
  void export_parameters(const std::string& dir) const override { save_npy(detail::path_in(dir, "table.npy"), table_); }

 private:
  Tensor table_, grad_;
};

// ---------------------------------------------------------------------- learnable relative bias

class RelativeBiasModule final : public TextModule {
 public:
  RelativeBiasModule(const PositionConfig& c, const PositionContext& x, std::uint64_t seed)
      : TextModule("relative_bias"), k_(c.max_distance),
        weight_(relative_bias_init(c.max_distance, x.heads, c.init_std, seed)) {}
  Encoding build_at(const DTensor& p) const override { return relative_bias(p, p, weight_, k_); }
  GradRequest request() const override { return GradRequest{.biases = true}; }
  void backward_at(const DTensor& p, const EncodingGrad& g) override {
    if (has_bias_table(g)) detail::accumulate(grad_, relative_bias_backward(p, p, weight_, k_, g));
  }
  void parameters(const std::string& prefix, std::vector<Parameter>& out) override {
    detail::add_param(out, prefix, "weight", weight_, grad_);
  }
  void export_parameters(const std::string& dir) const override { save_npy(detail::path_in(dir, "weight.npy"), weight_); }

 private:
  std::int64_t k_;
  Tensor weight_, grad_;
};

// ---------------------------------------------------------------------- T5

class T5Module final : public TextModule {
 public:
  T5Module(const PositionConfig& c, const PositionContext& x, std::uint64_t seed)
      : TextModule("t5"),
        options_{.bidirectional = !x.causal, .num_buckets = c.num_buckets, .max_distance = c.bucket_max_distance},
        table_(t5_table_init(x.heads, c.num_buckets, c.init_std, seed)) {}
  Encoding build_at(const DTensor& p) const override { return t5_bias(p, table_, options_); }
  GradRequest request() const override { return GradRequest{.biases = true}; }
  void backward_at(const DTensor& p, const EncodingGrad& g) override {
    if (has_bias_table(g)) detail::accumulate(grad_, t5_bias_backward(p, p, table_, options_, g));
  }
  void parameters(const std::string& prefix, std::vector<Parameter>& out) override {
    detail::add_param(out, prefix, "table", table_, grad_);
  }
  void export_parameters(const std::string& dir) const override { save_npy(detail::path_in(dir, "table.npy"), table_); }

 private:
  T5Options options_;
  Tensor table_, grad_;
};

// ---------------------------------------------------------------------- ALiBi with learnable slopes

class AlibiModule final : public TextModule {
 public:
  AlibiModule(const PositionContext& x) : TextModule("alibi"), options_{.heads = x.heads, .causal = x.causal} {
    const std::vector<double> s = alibi_slopes(x.heads);
    slopes_ = Tensor::from_shape({s.size()});
    std::transform(s.begin(), s.end(), slopes_.begin(), [](double v) { return static_cast<float>(v); });
  }
  Encoding build_at(const DTensor& p) const override { return alibi(p, p, slopes_, options_); }
  GradRequest request() const override { return GradRequest{.biases = true}; }
  void backward_at(const DTensor&, const EncodingGrad& g) override {
    if (!g.biases.empty() && is_set(g.biases[0].slopes)) detail::accumulate(grad_, alibi_backward(g));
  }
  void parameters(const std::string& prefix, std::vector<Parameter>& out) override {
    detail::add_param(out, prefix, "slopes", slopes_, grad_);
  }
  void export_parameters(const std::string& dir) const override { save_npy(detail::path_in(dir, "slopes.npy"), slopes_); }

 private:
  AlibiOptions options_;
  Tensor slopes_, grad_;
};

// ---------------------------------------------------------------------- Shaw

class ShawModule final : public TextModule {
 public:
  ShawModule(const PositionConfig& c, const PositionContext& x, std::uint64_t seed)
      : TextModule("shaw"), options_{.clip = c.max_distance} {
    const std::int64_t dh = x.d_model / x.heads;
    tables_ = shaw_init(options_, c.per_head ? x.heads : 1, dh, dh, c.init_std, seed);
  }
  Encoding build_at(const DTensor& p) const override { return shaw(p, p, tables_, options_); }
  GradRequest request() const override { return GradRequest{.relative = true}; }
  void backward_at(const DTensor& p, const EncodingGrad& g) override {
    if (g.content_position.empty() && g.value.empty()) return;
    const ShawTables d = shaw_backward(p, p, tables_, options_, g);
    if (is_set(d.key)) detail::accumulate(grad_key_, d.key);
    if (is_set(d.value)) detail::accumulate(grad_value_, d.value);
  }
  void parameters(const std::string& prefix, std::vector<Parameter>& out) override {
    detail::add_param(out, prefix, "key_table", tables_.key, grad_key_);
    detail::add_param(out, prefix, "value_table", tables_.value, grad_value_);
  }
  void export_parameters(const std::string& dir) const override {
    save_npy(detail::path_in(dir, "key_table.npy"), tables_.key);
    save_npy(detail::path_in(dir, "value_table.npy"), tables_.value);
  }

 private:
  ShawOptions options_;
  ShawTables tables_;
  Tensor grad_key_, grad_value_;
};

// ---------------------------------------------------------------------- Transformer-XL

class TransformerXLModule final : public TextModule {
 public:
  TransformerXLModule(const PositionConfig& c, const PositionContext& x, std::uint64_t seed)
      : TextModule("transformer_xl"),
        options_{.d_model = x.d_model, .heads = x.heads, .head_dim = x.d_model / x.heads},
        params_(transformer_xl_init(options_, c.init_std, seed)) {}
  Encoding build_at(const DTensor& p) const override { return transformer_xl(p, p, params_, options_); }
  GradRequest request() const override { return GradRequest{.relative = true}; }
  void backward_at(const DTensor& p, const EncodingGrad& g) override {
    if (g.content_position.empty()) return;
    const TransformerXLParams d = transformer_xl_backward(p, p, params_, options_, g);
    detail::accumulate(grad_.w_r, d.w_r);
    detail::accumulate(grad_.u, d.u);
    detail::accumulate(grad_.v, d.v);
  }
  void parameters(const std::string& prefix, std::vector<Parameter>& out) override {
    detail::add_param(out, prefix, "w_r", params_.w_r, grad_.w_r);
    detail::add_param(out, prefix, "u", params_.u, grad_.u);
    detail::add_param(out, prefix, "v", params_.v, grad_.v);
  }
  void export_parameters(const std::string& dir) const override {
    save_npy(detail::path_in(dir, "w_r.npy"), params_.w_r);
    save_npy(detail::path_in(dir, "u.npy"), params_.u);
    save_npy(detail::path_in(dir, "v.npy"), params_.v);
  }

 private:
  TransformerXLOptions options_;
  TransformerXLParams params_, grad_;
};

// ---------------------------------------------------------------------- DA-Transformer

class DaModule final : public TextModule {
 public:
  DaModule(const PositionContext& x, std::uint64_t seed) : TextModule("da_transformer"), params_(da_init(x.heads, seed)) {}
  Encoding build_at(const DTensor& p) const override { return da_transformer(p, p, params_); }
  GradRequest request() const override { return GradRequest{.multipliers = true}; }
  void backward_at(const DTensor& p, const EncodingGrad& g) override {
    if (g.multipliers.empty() || !is_set(g.multipliers[0].table)) return;
    const DaParams d = da_transformer_backward(p, p, params_, g);
    detail::accumulate(grad_.v, d.v);
    detail::accumulate(grad_.w, d.w);
  }
  void parameters(const std::string& prefix, std::vector<Parameter>& out) override {
    detail::add_param(out, prefix, "v", params_.v, grad_.v);
    detail::add_param(out, prefix, "w", params_.w, grad_.w);
  }
  void export_parameters(const std::string& dir) const override {
    save_npy(detail::path_in(dir, "v.npy"), params_.v);
    save_npy(detail::path_in(dir, "w.npy"), params_.w);
  }

 private:
  DaParams params_, grad_;
};

// ---------------------------------------------------------------------- continuous MLP

class ContinuousMlpModule final : public TextModule {
 public:
  ContinuousMlpModule(const PositionConfig& c, const PositionContext& x, std::uint64_t seed)
      : TextModule("continuous_mlp"),
        mlp_(ContinuousMlp::Config{.input_dim = 1, .hidden = c.hidden, .output_dim = x.d_model,
                                   .reference_length = static_cast<double>(c.max_len)},
             seed) {}
  Encoding build_at(const DTensor& p) const override { return mlp_.encoding(p); }
  void backward_at(const DTensor& p, const EncodingGrad& g) override {
    if (!is_set(g.input_add)) return;
    const ContinuousMlpGrads d = mlp_.backward(p, g.input_add);
    detail::accumulate(grad_.w1, d.w1);
    detail::accumulate(grad_.b1, d.b1);
    detail::accumulate(grad_.w2, d.w2);
    detail::accumulate(grad_.b2, d.b2);
  }
  void parameters(const std::string& prefix, std::vector<Parameter>& out) override {
    detail::add_param(out, prefix, "w1", mlp_.w1, grad_.w1);
    detail::add_param(out, prefix, "b1", mlp_.b1, grad_.b1);
    detail::add_param(out, prefix, "w2", mlp_.w2, grad_.w2);
    detail::add_param(out, prefix, "b2", mlp_.b2, grad_.b2);
  }
  void export_parameters(const std::string& dir) const override { mlp_.save(dir); }

 private:
  ContinuousMlp mlp_;
  ContinuousMlpGrads grad_;
};

// ---------------------------------------------------------------------- learned Fourier features

class LearnedFourierModule final : public TextModule {
 public:
  LearnedFourierModule(const PositionConfig& c, const PositionContext& x, std::uint64_t seed)
      : TextModule("learned_fourier"),
        lff_(LearnedFourier::Config{.fourier_dim = c.fourier_dim, .hidden = c.hidden, .output_dim = x.d_model,
                                    .gamma = c.gamma},
             seed) {}
  Encoding build_at(const DTensor& p) const override { return lff_.encoding(p); }
  void backward_at(const DTensor& p, const EncodingGrad& g) override {
    if (!is_set(g.input_add)) return;
    const LearnedFourierGrads d = lff_.backward(p, g.input_add);
    detail::accumulate(grad_.w_r, d.w_r);
    detail::accumulate(grad_.w1, d.w1);
    detail::accumulate(grad_.b1, d.b1);
    detail::accumulate(grad_.w2, d.w2);
    detail::accumulate(grad_.b2, d.b2);
  }
  void parameters(const std::string& prefix, std::vector<Parameter>& out) override {
    detail::add_param(out, prefix, "w_r", lff_.w_r, grad_.w_r);
    detail::add_param(out, prefix, "w1", lff_.w1, grad_.w1);
    detail::add_param(out, prefix, "b1", lff_.b1, grad_.b1);
    detail::add_param(out, prefix, "w2", lff_.w2, grad_.w2);
    detail::add_param(out, prefix, "b2", lff_.b2, grad_.b2);
  }
  void export_parameters(const std::string& dir) const override { lff_.save(dir); }

 private:
  LearnedFourier lff_;
  LearnedFourierGrads grad_;
};

using Factory = detail::PositionFactory;

detail::PositionFactories text_factories() {
  return {
      {"nope", [](const PositionConfig&, const PositionContext&, std::uint64_t) {
         return std::make_unique<FixedModule>("nope", [](const DTensor&) { return nope(); });
       }},
      {"sinusoidal", [](const PositionConfig&, const PositionContext& x, std::uint64_t) {
         const SinusoidOptions o{.dim = x.d_model};
         return std::make_unique<FixedModule>("sinusoidal", [o](const DTensor& p) { return sinusoidal(p, o); });
       }},
      {"rope", [](const PositionConfig& c, const PositionContext& x, std::uint64_t) {
         const RopeOptions o{.head_dim = x.d_model / x.heads, .base = c.rope_base};
         return std::make_unique<FixedModule>("rope", [o](const DTensor& p) { return rope(p, o); });
       }},
      {"alibi", [](const PositionConfig& c, const PositionContext& x, std::uint64_t) -> std::unique_ptr<PositionModule> {
         if (c.learnable_slopes) return std::make_unique<AlibiModule>(x);
         const AlibiOptions o{.heads = x.heads, .causal = x.causal};
         return std::make_unique<FixedModule>("alibi", [o](const DTensor& p) { return alibi(p, o); });
       }},
      {"learned", [](const PositionConfig& c, const PositionContext& x, std::uint64_t s) {
         return std::make_unique<LearnedModule>(c, x, s);
       }},
      {"relative_bias", [](const PositionConfig& c, const PositionContext& x, std::uint64_t s) {
         return std::make_unique<RelativeBiasModule>(c, x, s);
       }},
      {"t5", [](const PositionConfig& c, const PositionContext& x, std::uint64_t s) {
         return std::make_unique<T5Module>(c, x, s);
       }},
      {"shaw", [](const PositionConfig& c, const PositionContext& x, std::uint64_t s) {
         return std::make_unique<ShawModule>(c, x, s);
       }},
      {"transformer_xl", [](const PositionConfig& c, const PositionContext& x, std::uint64_t s) {
         return std::make_unique<TransformerXLModule>(c, x, s);
       }},
      {"da_transformer", [](const PositionConfig&, const PositionContext& x, std::uint64_t s) {
         return std::make_unique<DaModule>(x, s);
       }},
      {"continuous_mlp", [](const PositionConfig& c, const PositionContext& x, std::uint64_t s) {
         return std::make_unique<ContinuousMlpModule>(c, x, s);
       }},
      {"learned_fourier", [](const PositionConfig& c, const PositionContext& x, std::uint64_t s) {
         return std::make_unique<LearnedFourierModule>(c, x, s);
       }},
  };
}

const detail::PositionFactories& factories() {
  static const detail::PositionFactories m = [] {
    detail::PositionFactories f = text_factories();
    detail::add_image_positions(f);
    detail::add_graph_positions(f);
    detail::add_sphere_positions(f);
    detail::add_tabular_positions(f);
    return f;
  }();
  return m;
}

std::vector<std::string> split_kinds(const std::string& kind) {
  std::vector<std::string> out;
  std::size_t from = 0;
  for (std::size_t plus; (plus = kind.find('+', from)) != std::string::npos; from = plus + 1)
    out.push_back(kind.substr(from, plus - from));
  out.push_back(kind.substr(from));
  return out;
}

}  // namespace

void PositionModule::backward(const PositionInput&, const EncodingGrad&) {}
void PositionModule::parameters(const std::string&, std::vector<Parameter>&) {}
void PositionModule::export_parameters(const std::string&) const {}

std::vector<std::string> position_kinds() {
  std::vector<std::string> k;
  for (const auto& [name, f] : factories()) k.push_back(name);
  return k;
}

std::unique_ptr<PositionModule> make_position_module(const PositionConfig& c, const PositionContext& x,
                                                     std::uint64_t seed) {
  const char* fn = "make_position_module";
  if (c.kind.find('+') != std::string::npos) {
    std::vector<std::unique_ptr<PositionModule>> parts;
    std::uint64_t part = 0;
    for (const auto& k : split_kinds(c.kind)) {
      if (k.empty()) fail(fn, "parameter 'position.kind' = '", c.kind, "' has an empty part");
      PositionConfig one = c;
      one.kind = k;
      parts.push_back(make_position_module(one, x, detail::derive_seed(seed, ++part)));
    }
    return detail::combine_modules(std::move(parts));
  }
  const std::string kind = c.kind == "none" ? "nope" : c.kind;
  const auto& m = factories();
  const auto it = m.find(kind);
  if (it == m.end()) {
    const std::string near = detail::closest(kind, position_kinds());
    std::string known;
    for (const auto& k : position_kinds()) known += (known.empty() ? "" : ", ") + k;
    if (near.empty()) fail(fn, "parameter 'position.kind' = '", c.kind, "' is not a known encoding (", known, ")");
    fail(fn, "parameter 'position.kind' = '", c.kind, "' is not a known encoding; did you mean '", near, "'?");
  }
  if (x.d_model <= 0 || x.heads <= 0 || x.d_model % x.heads != 0)
    fail(fn, "parameter 'd_model' = ", x.d_model, " must be a positive multiple of heads = ", x.heads);
  return it->second(c, x, seed);
}

}  // namespace posenc::train
