// FeatureTransformer (posenc/model.hpp) against PyTorch autograd: the model's own parts (the per-feature
// tokenizer, the linear input, the class token, mean / class-token / per-token heads, mse and
// cross-entropy) through a whole tiny model (1 pre-LN layer, D 8, H 2, no position encoding, dropout 0),
// since the parts are not reachable one by one. tests/data/gen_feature_torch.py writes the parameters
// (float32) and PyTorch's float64 outputs, loss, d loss / d outputs and every parameter gradient into
// tests/data/train_feature/<case>/; no Python is needed here.
//
//   FeatureTorch.MeanPoolMse        per_feature tokenizer, categorical (0, 3, 0, 2, 0), mean pooling over
//                                   lengths (5, 3), 2 regression targets, F.mse_loss (mean).
//   FeatureTorch.ClsPoolCrossEntropy  per_feature, categorical (2, 0, 0, 4, 0), class token, lengths (5, 4),
//                                   3 classes, F.cross_entropy.
//   FeatureTorch.PerTokenMse        per_feature, every feature numeric, pooling none, 2 targets per token,
//                                   F.mse_loss over every element (posenc's mse, as the trainer uses it).
//   FeatureTorch.PerTokenCrossEntropy  linear input (F = 3), pooling none, lengths (5, 3), per-token labels
//                                   with the padded tokens at -100 (ignored).
//   FeatureTorch.DetectsChangedFormulas  the tolerances are far below what a changed formula costs: a
//                                   missing tokenizer bias, a shifted category table, ignored padding in
//                                   the mean, a sum instead of a mean in mse.
//
// Tolerance: every compared array (outputs, loss, d outputs, each parameter's gradient) within
// tol * max(1, max |torch|), tol = 5e-6 for values and 1e-5 for gradients: the float32 model
// (double reductions, float sgemm) on the float32 parameters, against float64 autograd on the same
// values. Measured (printed as "[ torch ]" lines): at most 6.5e-7 (outputs) and 5.1e-7 (gradients);
// the changed formulas of DetectsChangedFormulas cost 1e-2 and more.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

#include "posenc/model.hpp"
#include "posenc/npy.hpp"
#include "support/helpers.hpp"

namespace posenc {
namespace {

using namespace posenc::train;
using test::max_abs_diff;

constexpr double kValueTol = 5e-6;
constexpr double kGradTol = 1e-5;

std::string feature_data(const std::string& file) { return std::string(POSENC_TEST_DATA) + "/train_feature/" + file; }

/// One generated case: its directory name and the model config gen_feature_torch.py wrote it for.
struct Case {
  std::string name;
  InputKind input;
  std::vector<std::int64_t> categorical;
  Pooling pooling;
  std::int64_t classes, features;
  bool regression;
};

ModelConfig config_of(const Case& k) {
  ModelConfig c;
  c.d_model = 8;
  c.heads = 2;
  c.layers = 1;
  c.ff_multiplier = 2;
  c.dropout = 0.0;
  c.pre_ln = true;
  c.activation = FfnActivation::gelu;
  c.classes = k.classes;
  c.input = k.input;
  c.input_features = k.features;
  c.categorical = k.categorical;
  c.pooling = k.pooling;
  c.tokens = 5;
  c.position.kind = "nope";
  c.seed = 1;
  return c;
}

std::vector<std::int64_t> lengths_of(const Case& k) {
  const ITensor l = load_npy_int(feature_data(k.name + "/lengths.npy"));
  return {l.begin(), l.end()};
}

/// The model with the case's parameters, in eval mode.
FeatureTransformer load_model(const Case& k) {
  FeatureTransformer m(config_of(k));
  load_checkpoint_parameters(feature_data(k.name + "/params"), m.parameters());
  m.set_training(false);
  return m;
}

Loss loss_of(const Case& k, const Tensor& out) {
  return k.regression ? mse(out, load_npy(feature_data(k.name + "/targets.npy")))
                      : cross_entropy(out, load_npy_int(feature_data(k.name + "/labels.npy")));
}

/// max |a - ref| relative to max(1, max |ref|).
double scaled_diff(const Tensor& a, const DTensor& ref) {
  double scale = 1.0;
  for (double v : ref) scale = std::max(scale, std::abs(v));
  return max_abs_diff(a, ref) / scale;
}

/// Forward, loss and backward of one case, every result against PyTorch.
void check_case(const Case& k) {
  FeatureTransformer m = load_model(k);
  const Tensor out = m.forward(load_npy(feature_data(k.name + "/features.npy")), lengths_of(k));
  const double d_out = scaled_diff(out, load_npy_double(feature_data(k.name + "/out.npy")));
  EXPECT_LT(d_out, kValueTol) << k.name << " outputs";
  const Loss loss = loss_of(k, out);
  const double ref_loss = load_npy_double(feature_data(k.name + "/loss.npy"))(0);
  const double d_loss = std::abs(loss.value - ref_loss) / std::max(1.0, std::abs(ref_loss));
  EXPECT_LT(d_loss, kValueTol) << k.name << " loss";
  const double d_dout = scaled_diff(loss.grad, load_npy_double(feature_data(k.name + "/dout.npy")));
  EXPECT_LT(d_dout, kGradTol) << k.name << " d outputs";
  m.zero_grad();
  m.backward(loss.grad);
  double worst = 0;
  std::string worst_name;
  std::size_t compared = 0;
  for (const auto& p : m.parameters()) {
    const std::string file = feature_data(k.name + "/grads/" + p.name + ".npy");
    ASSERT_TRUE(std::filesystem::exists(file)) << file;
    const double d = scaled_diff(*p.grad, load_npy_double(file));
    EXPECT_LT(d, kGradTol) << k.name << " gradient of " << p.name;
    if (d >= worst) worst = d, worst_name = p.name;
    ++compared;
  }
  // Every PyTorch parameter is one of the model's (none missing on the C++ side).
  const auto files = std::distance(std::filesystem::directory_iterator(feature_data(k.name + "/grads")),
                                   std::filesystem::directory_iterator{});
  EXPECT_EQ(static_cast<std::size_t>(files), compared) << k.name;
  std::printf("[ torch ] %s: outputs %.2e, loss %.2e, d outputs %.2e, %zu parameter gradients, worst %.2e (%s)\n",
              k.name.c_str(), d_out, d_loss, d_dout, compared, worst, worst_name.c_str());
}

const Case kMeanMse{"mean_mse", InputKind::per_feature, {0, 3, 0, 2, 0}, Pooling::mean, 2, 1, true};
const Case kClsCe{"cls_ce", InputKind::per_feature, {2, 0, 0, 4, 0}, Pooling::cls, 3, 1, false};
const Case kNoneMse{"none_mse", InputKind::per_feature, {}, Pooling::none, 2, 1, true};
const Case kNoneCe{"none_ce", InputKind::linear, {}, Pooling::none, 3, 3, false};

TEST(FeatureTorch, MeanPoolMse) { check_case(kMeanMse); }
TEST(FeatureTorch, ClsPoolCrossEntropy) { check_case(kClsCe); }
TEST(FeatureTorch, PerTokenMse) { check_case(kNoneMse); }
TEST(FeatureTorch, PerTokenCrossEntropy) { check_case(kNoneCe); }

/// Sets the named parameter of `m` with `edit`.
template <class Edit>
void edit_parameter(FeatureTransformer& m, const std::string& name, Edit edit) {
  for (auto& p : m.parameters())
    if (p.name == name) return edit(*p.value);
  FAIL() << "no parameter " << name;
}

TEST(FeatureTorch, DetectsChangedFormulas) {
  const Tensor x = load_npy(feature_data("mean_mse/features.npy"));
  const DTensor ref = load_npy_double(feature_data("mean_mse/out.npy"));
  const std::vector<std::int64_t> lengths = lengths_of(kMeanMse);
  {  // the tokenizer without its bias b_n
    FeatureTransformer m = load_model(kMeanMse);
    edit_parameter(m, "input.bias", [](Tensor& t) { t.fill(0.0f); });
    const double d = scaled_diff(m.forward(x, lengths), ref);
    EXPECT_GT(d, 100 * kValueTol);
    std::printf("[ torch ] changed formulas, outputs off by: no tokenizer bias %.2e", d);
  }
  {  // categorical rows read one row off (e.g. a wrong offset o_n)
    FeatureTransformer m = load_model(kMeanMse);
    edit_parameter(m, "input.categories", [](Tensor& t) {
      const std::size_t d = t.shape()[1];
      std::rotate(t.begin(), t.begin() + static_cast<std::ptrdiff_t>(d), t.end());
    });
    const double d = scaled_diff(m.forward(x, lengths), ref);
    EXPECT_GT(d, 100 * kValueTol);
    std::printf(", shifted categories %.2e", d);
  }
  {  // the mean over every token instead of the first lengths[b]
    FeatureTransformer m = load_model(kMeanMse);
    const double d = scaled_diff(m.forward(x), ref);
    EXPECT_GT(d, 100 * kValueTol);
    std::printf(", unmasked mean %.2e\n", d);
  }
  {  // mse with reduction sum: the gradient 2 (y - t) instead of 2 (y - t) / numel
    FeatureTransformer m = load_model(kNoneMse);
    const Loss l = loss_of(kNoneMse, m.forward(load_npy(feature_data("none_mse/features.npy"))));
    Tensor summed = l.grad;
    for (auto& v : summed) v *= static_cast<float>(l.grad.size());
    EXPECT_GT(scaled_diff(summed, load_npy_double(feature_data("none_mse/dout.npy"))), 100 * kGradTol);
    EXPECT_GT(std::abs(l.value * static_cast<double>(l.grad.size()) - load_npy_double(feature_data("none_mse/loss.npy"))(0)),
              100 * kValueTol);
  }
}

}  // namespace
}  // namespace posenc
