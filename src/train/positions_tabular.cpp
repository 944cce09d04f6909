// Position modules of the tabular modality (posenc/model.hpp, PositionModule): one token per table
// feature (FT-Transformer), positions from the features' dependency graph (Tab-PET) or learned.
//
//   tabpet           fixed: token n (a data token) gets input_add[n, D - P + j] = alpha clip(PE[n, j], -10, 10),
//                    j < P, zeros in the other D - P channels and on the prefix (class) token. PE [N, P] is
//                    PositionInput::features (the task's Tab-PET vectors, posenc/tabular.hpp), alpha =
//                    PositionConfig::tabpet_alpha. The values are posenc::tabpet_encoding's (the reference's
//                    "concat_fixed" [e | alpha clip(PE)]); posenc's trunk has one width D, so the P PE channels
//                    are the last P of D and the tokenizer's output is added there instead of being absent
//                    (docs/experiments-tabular.md#integration).
//   learned_feature  table [N, D] ~ N(0, init_std^2): token n gets table[n] (prefix tokens nothing); N is the
//                    task's token count (PositionContext::tokens).
#include <cmath>
#include <filesystem>
#include <random>

#include "posenc/npy.hpp"
#include "posenc/tabular.hpp"
#include "train/common.hpp"
#include "train/position_registry.hpp"

namespace posenc::train::detail {

namespace {

/// The fixed Tab-PET module (the table at the top).
class TabPetModule final : public PositionModule {
 public:
  TabPetModule(const PositionConfig& c, const PositionContext& x)
      : PositionModule("tabpet"), alpha_(c.tabpet_alpha), d_(x.d_model), p_(x.position_features) {
    const char* fn = "TabPetPosition";
    if (!std::isfinite(alpha_)) fail(fn, "parameter 'tabpet_alpha' must be finite, got ", alpha_);
    if (p_ <= 0)
      fail(fn, "parameter 'position_features' must be positive (a task with Tab-PET vectors, e.g. table_wine), got ",
           p_);
    if (p_ > d_) fail(fn, "parameter 'position_features' = ", p_, " exceeds d_model = ", d_, " (lower tabpet_k)");
  }
  Encoding build(const PositionInput& in) const override {
    const char* fn = "TabPetPosition::build";
    const Tensor& f = in.features;
    if (f.dimension() != 3 || f.shape()[2] != static_cast<std::size_t>(p_) || f.shape()[1] == 0)
      fail(fn, "parameter 'features' must be [B|1, N, ", p_, "] (the task's Tab-PET vectors), got ",
           shape_string(f));
    const std::size_t batch = f.shape()[0], n = f.shape()[1], p = static_cast<std::size_t>(p_);
    const std::size_t prefix = static_cast<std::size_t>(in.prefix_tokens), d = static_cast<std::size_t>(d_);
    Encoding e;
    e.name = "tabpet";
    e.input_add = Tensor::from_shape({batch, prefix + n, d});
    e.input_add.fill(0.0f);
    for (std::size_t b = 0; b < batch; ++b) {
      Tensor pe = Tensor::from_shape({n, p});
      std::copy_n(f.data() + b * n * p, n * p, pe.data());
      const Encoding t = tabpet_encoding(pe, alpha_, static_cast<std::int64_t>(prefix));  // [1, prefix + n, p]
      for (std::size_t i = 0; i < prefix + n; ++i)
        std::copy_n(t.input_concat.data() + i * p, p, e.input_add.data() + (b * (prefix + n) + i) * d + (d - p));
    }
    return e;
  }

 private:
  double alpha_;
  std::int64_t d_, p_;
};

/// A learnable embedding per feature token (the table at the top).
class LearnedFeatureModule final : public PositionModule {
 public:
  LearnedFeatureModule(const PositionConfig& c, const PositionContext& x, std::uint64_t seed)
      : PositionModule("learned_feature") {
    if (x.tokens <= 0)
      fail("LearnedFeaturePosition", "parameter 'tokens' must be positive (a task with a fixed token count), got ",
           x.tokens);
    table_ = Tensor::from_shape({static_cast<std::size_t>(x.tokens), static_cast<std::size_t>(x.d_model)});
    std::mt19937_64 gen(seed);
    std::normal_distribution<double> normal(0.0, c.init_std);
    for (auto& v : table_) v = static_cast<float>(normal(gen));
    grad_ = zeros_like(table_);
  }
  Encoding build(const PositionInput& in) const override {
    const std::size_t prefix = static_cast<std::size_t>(in.prefix_tokens);
    const std::size_t n = table_.shape()[0], d = table_.shape()[1];
    const std::size_t total = in.positions.dimension() == 3 ? in.positions.shape()[1] : prefix + n;
    if (total != prefix + n)
      fail("LearnedFeaturePosition::build", "the input has ", total - prefix, " data tokens but the table has ", n,
           " rows (one per feature)");
    Encoding e;
    e.name = "learned_feature";
    e.input_add = Tensor::from_shape({1, prefix + n, d});
    e.input_add.fill(0.0f);
    std::copy_n(table_.data(), n * d, e.input_add.data() + prefix * d);
    return e;
  }
  void backward(const PositionInput& in, const EncodingGrad& g) override {
    if (!is_set(g.input_add)) return;
    const std::size_t prefix = static_cast<std::size_t>(in.prefix_tokens);
    const std::size_t n = table_.shape()[0], d = table_.shape()[1];
    const std::size_t batch = g.input_add.shape()[0], rows = g.input_add.shape()[1];
    for (std::size_t b = 0; b < batch; ++b)
      for (std::size_t i = 0; i < n * d; ++i) grad_.data()[i] += g.input_add.data()[(b * rows + prefix) * d + i];
  }
  void parameters(const std::string& prefix, std::vector<Parameter>& out) override {
    add_param(out, prefix, "table", table_, grad_);
  }
  void export_parameters(const std::string& dir) const override {
    save_npy((std::filesystem::path(dir) / "table.npy").string(), table_);
  }

 private:
  Tensor table_, grad_;
};

}  // namespace

void add_tabular_positions(PositionFactories& out) {
  out["tabpet"] = [](const PositionConfig& c, const PositionContext& x, std::uint64_t) {
    return std::make_unique<TabPetModule>(c, x);
  };
  out["learned_feature"] = [](const PositionConfig& c, const PositionContext& x, std::uint64_t seed) {
    return std::make_unique<LearnedFeatureModule>(c, x, seed);
  };
}

}  // namespace posenc::train::detail
