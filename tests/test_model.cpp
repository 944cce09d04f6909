// The trainable model (posenc/model.hpp).
//
//   ModelTorch       LayerNorm, feed-forward (GELU, ReLU), masked mean pooling and cross-entropy
//                    forward and backward against PyTorch autograd (float64 on the float32 inputs;
//                    tests/data/gen_train_torch.py -> tests/data/train/).
//   ModelGradient    the whole model's gradient (every parameter tensor, a sample of entries) by
//                    central finite differences in float with Richardson extrapolation, for
//                    several encodings, both poolings, pre- and post-LN, per-layer modules and the LM.
//   ModelDeterminism two runs with one seed are bit-identical (dropout on, AdamW steps).
//   ModelCheckpoint  save / load round trip, encoding export as command-line parameter files.
//   ModelErrors      bad input names function, parameter and value.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>

#include "posenc/model.hpp"
#include "posenc/npy.hpp"
#include "posenc/text.hpp"
#include "support/gradcheck.hpp"
#include "support/helpers.hpp"

namespace posenc {
namespace {

using test::expect_invalid;
using test::fd;
using test::max_abs_diff;
using namespace posenc::train;

std::string data(const std::string& file) { return std::string(POSENC_TEST_DATA) + "/train/" + file; }

std::filesystem::path temp_dir(const std::string& tag) {
  return std::filesystem::temp_directory_path() / ("posenc_model_" + tag + "_" + std::to_string(::getpid()));
}

// ====================================================================== against PyTorch

TEST(ModelTorch, LayerNormForwardAndBackward) {
  LayerNorm ln(6);
  ln.weight = load_npy(data("layernorm/weight.npy"));
  ln.bias = load_npy(data("layernorm/bias.npy"));
  const Tensor y = ln.forward(load_npy(data("layernorm/x.npy")));
  EXPECT_LT(max_abs_diff(y, load_npy_double(data("layernorm/y.npy"))), 2e-6);
  const Tensor dx = ln.backward(load_npy(data("layernorm/dy.npy")));
  EXPECT_LT(max_abs_diff(dx, load_npy_double(data("layernorm/dx.npy"))), 5e-6);
  EXPECT_LT(max_abs_diff(ln.grad_weight, load_npy_double(data("layernorm/dweight.npy"))), 5e-6);
  EXPECT_LT(max_abs_diff(ln.grad_bias, load_npy_double(data("layernorm/dbias.npy"))), 2e-6);
  std::printf("[ torch ] LayerNorm max |diff|: y %.2e dx %.2e dweight %.2e dbias %.2e\n",
              max_abs_diff(y, load_npy_double(data("layernorm/y.npy"))),
              max_abs_diff(dx, load_npy_double(data("layernorm/dx.npy"))),
              max_abs_diff(ln.grad_weight, load_npy_double(data("layernorm/dweight.npy"))),
              max_abs_diff(ln.grad_bias, load_npy_double(data("layernorm/dbias.npy"))));
}

void check_ffn(const std::string& c, FfnActivation act) {
  FeedForward f(4, 16, act, 0.0, 0);
  f.fc1.weight = load_npy(data(c + "/w1.npy"));
  f.fc1.bias = load_npy(data(c + "/b1.npy"));
  f.fc2.weight = load_npy(data(c + "/w2.npy"));
  f.fc2.bias = load_npy(data(c + "/b2.npy"));
  const Tensor y = f.forward(load_npy(data(c + "/x.npy")), true);
  EXPECT_LT(max_abs_diff(y, load_npy_double(data(c + "/y.npy"))), 2e-6) << c;
  const Tensor dx = f.backward(load_npy(data(c + "/dy.npy")));
  EXPECT_LT(max_abs_diff(dx, load_npy_double(data(c + "/dx.npy"))), 5e-6) << c;
  EXPECT_LT(max_abs_diff(f.fc1.grad_weight, load_npy_double(data(c + "/dw1.npy"))), 5e-6) << c;
  EXPECT_LT(max_abs_diff(f.fc1.grad_bias, load_npy_double(data(c + "/db1.npy"))), 5e-6) << c;
  EXPECT_LT(max_abs_diff(f.fc2.grad_weight, load_npy_double(data(c + "/dw2.npy"))), 5e-6) << c;
  EXPECT_LT(max_abs_diff(f.fc2.grad_bias, load_npy_double(data(c + "/db2.npy"))), 5e-6) << c;
  std::printf("[ torch ] %s max |diff|: y %.2e dx %.2e dw1 %.2e dw2 %.2e\n", c.c_str(),
              max_abs_diff(y, load_npy_double(data(c + "/y.npy"))), max_abs_diff(dx, load_npy_double(data(c + "/dx.npy"))),
              max_abs_diff(f.fc1.grad_weight, load_npy_double(data(c + "/dw1.npy"))),
              max_abs_diff(f.fc2.grad_weight, load_npy_double(data(c + "/dw2.npy"))));
}

TEST(ModelTorch, FeedForwardGeluAndRelu) {
  check_ffn("ffn_gelu", FfnActivation::gelu);
  check_ffn("ffn_relu", FfnActivation::relu);
}

TEST(ModelTorch, MeanPoolLinearCrossEntropy) {
  const Tensor x = load_npy(data("pool_ce/x.npy"));
  const ITensor len = load_npy_int(data("pool_ce/lengths.npy"));
  const std::vector<std::int64_t> lengths(len.begin(), len.end());
  const Tensor pooled = mean_pool(x, lengths);
  EXPECT_LT(max_abs_diff(pooled, load_npy_double(data("pool_ce/pooled.npy"))), 1e-6);
  Linear head(5, 3, 0);
  head.weight = load_npy(data("pool_ce/w.npy"));
  head.bias = load_npy(data("pool_ce/b.npy"));
  const Tensor logits = head.forward(pooled);
  EXPECT_LT(max_abs_diff(logits, load_npy_double(data("pool_ce/logits.npy"))), 2e-6);
  const Loss loss = cross_entropy(logits, load_npy_int(data("pool_ce/targets.npy")));
  EXPECT_NEAR(loss.value, load_npy_double(data("pool_ce/loss.npy"))(0), 2e-6);
  EXPECT_LT(max_abs_diff(loss.grad, load_npy_double(data("pool_ce/dlogits.npy"))), 1e-6);
  const Tensor dpooled = head.backward(loss.grad);
  EXPECT_LT(max_abs_diff(dpooled, load_npy_double(data("pool_ce/dpooled.npy"))), 1e-6);
  const Tensor dx = mean_pool_backward(dpooled, 4, lengths);
  EXPECT_LT(max_abs_diff(dx, load_npy_double(data("pool_ce/dx.npy"))), 1e-6);
  std::printf("[ torch ] pool+CE: |dloss| %.2e, dlogits %.2e, dx %.2e\n",
              std::abs(loss.value - load_npy_double(data("pool_ce/loss.npy"))(0)),
              max_abs_diff(loss.grad, load_npy_double(data("pool_ce/dlogits.npy"))),
              max_abs_diff(dx, load_npy_double(data("pool_ce/dx.npy"))));
}

TEST(ModelTorch, CrossEntropyIgnoreIndex) {
  const Loss l = cross_entropy(load_npy(data("ce_ignore/logits.npy")), load_npy_int(data("ce_ignore/targets.npy")));
  EXPECT_NEAR(l.value, load_npy_double(data("ce_ignore/loss.npy"))(0), 1e-6);
  EXPECT_LT(max_abs_diff(l.grad, load_npy_double(data("ce_ignore/dlogits.npy"))), 1e-7);
}

TEST(ModelLoss, MseValueAndGradient) {
  const Loss l = mse(test::make({2, 2}, {1, 2, 3, 4}), test::make({2, 2}, {1, 0, 3, 2}));
  EXPECT_DOUBLE_EQ(l.value, 2.0);  // (0 + 4 + 0 + 4) / 4
  EXPECT_FLOAT_EQ(l.grad(0, 1), 1.0f);  // 2 * 2 / 4
  EXPECT_FLOAT_EQ(l.grad(1, 0), 0.0f);
}

TEST(ModelLoss, MseOverTheRealTokensOfAPaddedBatch) {
  // [2 samples, 3 tokens, 1 output]; sample 0 has 2 real tokens, sample 1 all 3: 5 counted errors.
  const Tensor y = test::make({2, 3, 1}, {1, 2, 100, 0, 0, 3});
  const Tensor t = test::make({2, 3, 1}, {0, 0, -50, 0, 1, 1});
  const Loss l = mse(y, t, {2, 3});
  EXPECT_DOUBLE_EQ(l.value, (1.0 + 4.0 + 0.0 + 1.0 + 4.0) / 5.0);  // the padded (100 vs -50) is left out
  EXPECT_FLOAT_EQ(l.grad(0, 0, 0), 2.0f * 1 / 5);
  EXPECT_FLOAT_EQ(l.grad(0, 2, 0), 0.0f);
  EXPECT_FLOAT_EQ(l.grad(1, 1, 0), 2.0f * -1 / 5);
  const Loss full = mse(y, t, {3, 3});  // every token real: the plain mean
  EXPECT_DOUBLE_EQ(full.value, mse(y, t).value);
  EXPECT_DOUBLE_EQ(mse(y, t, {}).value, mse(y, t).value);
  for (const auto& bad : std::vector<std::vector<std::int64_t>>{{2}, {0, 3}, {2, 4}})
    EXPECT_THROW(mse(y, t, bad), std::invalid_argument);
  EXPECT_THROW(mse(test::make({2, 2}, {1, 2, 3, 4}), test::make({2, 2}, {1, 2, 3, 4}), {1, 1}), std::invalid_argument);
}

// ====================================================================== finite differences

ModelConfig tiny(const std::string& kind) {
  ModelConfig c;
  c.vocab = 7;
  c.d_model = 8;
  c.heads = 2;
  c.layers = 2;
  c.ff_multiplier = 2;
  c.dropout = 0.0;
  c.classes = 3;
  c.seed = 11;
  c.position.kind = kind;
  c.position.max_len = 16;
  c.position.max_distance = 3;
  c.position.num_buckets = 8;
  c.position.bucket_max_distance = 16;
  c.position.hidden = 8;
  c.position.init_std = 0.3;  // large enough that the position terms move the loss
  return c;
}

ITensor tokens_2x5() {
  ITensor t = ITensor::from_shape({2, 5});
  const std::int64_t v[] = {1, 4, 2, 6, 3, 5, 0, 3, 1, 1};
  std::copy(std::begin(v), std::end(v), t.begin());
  return t;
}

/// Every parameter tensor, 3 spread entries each (test::check_gradients).
void classifier_gradient(const ModelConfig& c, const std::string& what) {
  TransformerClassifier model(c);
  // The class token starts at N(0, 0.02^2): LayerNorm of such a small row varies on the scale of
  // 0.02, below the difference step. Give it unit scale, where the step is small against it.
  for (auto& p : model.parameters())
    if (p.name == "cls_token") *p.value = test::random_tensor({static_cast<std::size_t>(c.d_model)}, 5);
  const ITensor tokens = tokens_2x5();
  const std::vector<std::int64_t> lengths{5, 3};
  ITensor targets = ITensor::from_shape({2});
  targets(0) = 2;
  targets(1) = 0;
  bool with_backward = true;
  const auto loss = [&] {
    const Loss l = cross_entropy(model.forward(tokens, lengths), targets);
    if (with_backward) model.backward(l.grad);
    return l.value;
  };
  model.zero_grad();
  loss();
  with_backward = false;
  test::check_gradients(model.parameters(), loss, what);
}

TEST(ModelGradient, ClassifierLearnedAbsolute) { classifier_gradient(tiny("learned"), "learned"); }
TEST(ModelGradient, ClassifierRelativeBias) { classifier_gradient(tiny("relative_bias"), "relative_bias"); }
TEST(ModelGradient, ClassifierRope) { classifier_gradient(tiny("rope"), "rope"); }
TEST(ModelGradient, ClassifierShaw) { classifier_gradient(tiny("shaw"), "shaw"); }
TEST(ModelGradient, ClassifierContinuousMlp) { classifier_gradient(tiny("continuous_mlp"), "continuous_mlp"); }
TEST(ModelGradient, ClassifierT5) { classifier_gradient(tiny("t5"), "t5"); }
TEST(ModelGradient, ClassifierTransformerXL) { classifier_gradient(tiny("transformer_xl"), "transformer_xl"); }
TEST(ModelGradient, ClassifierLearnedFourier) { classifier_gradient(tiny("learned_fourier"), "learned_fourier"); }

TEST(ModelGradient, ClassifierLearnableAlibiClsPooling) {
  ModelConfig c = tiny("alibi");
  c.position.learnable_slopes = true;
  c.pooling = Pooling::cls;
  classifier_gradient(c, "alibi_slopes_cls");
}

TEST(ModelGradient, ClassifierPerLayerPostLn) {
  // (ReLU is left to ModelTorch: its kink defeats finite differences of this step.)
  ModelConfig c = tiny("learned");
  c.position.per_layer = true;
  c.pre_ln = false;
  classifier_gradient(c, "learned_per_layer_post_ln");
  ModelConfig s = tiny("shaw");
  s.position.per_layer = true;
  s.position.per_head = true;
  classifier_gradient(s, "shaw_per_layer_per_head");
}

TEST(ModelGradient, LanguageModelRopeAndRelativeBias) {
  for (const std::string kind : {"rope", "relative_bias", "t5"}) {
    TransformerLM model(tiny(kind));
    const ITensor tokens = tokens_2x5();
    const std::vector<std::int64_t> lengths{5, 4};
    const ITensor targets = TransformerLM::next_token_targets(tokens, lengths);
    model.zero_grad();
    const Loss l0 = cross_entropy(model.forward(tokens, lengths), targets);
    model.backward(l0.grad);
    const auto loss = [&] { return cross_entropy(model.forward(tokens, lengths), targets).value; };
    std::vector<Parameter> params = model.parameters();
    for (const auto& p : params) {
      double scale = 0;
      for (auto v : *p.grad) scale = std::max(scale, std::abs(static_cast<double>(v)));
      const std::size_t n = p.value->size();
      for (std::size_t idx : {std::size_t{0}, n / 2, n - 1}) {
        const double a = p.grad->data()[idx];
        const double num = fd(loss, p.value->data()[idx], 3e-2);
        EXPECT_NEAR(num, a, 2e-3 * std::max(std::abs(a), 0.1 * scale) + 3e-5) << kind << ": " << p.name << " " << idx;
      }
    }
  }
}

TEST(ModelGradient, EveryKindRunsAndExports) {
  // Every text kind: forward, backward, finite gradients for every parameter, export of its files.
  // (The modalities' kinds need their inputs: tests/test_train_<modality>.cpp.)
  const std::vector<std::string> text_kinds = {"nope", "sinusoidal", "learned", "relative_bias", "t5",
                                               "continuous_mlp", "rope", "alibi", "shaw", "transformer_xl",
                                               "da_transformer", "learned_fourier"};
  const auto all = position_kinds();
  for (const auto& k : text_kinds) EXPECT_NE(std::find(all.begin(), all.end(), k), all.end()) << k;
  for (const std::string& kind : text_kinds) {
    for (bool lm : {false, true}) {
      ModelConfig c = tiny(kind);
      c.position.learnable_slopes = true;
      const ITensor tokens = tokens_2x5();
      std::vector<Parameter> params;
      std::unique_ptr<TransformerClassifier> cls;
      std::unique_ptr<TransformerLM> lang;
      if (lm) {
        lang = std::make_unique<TransformerLM>(c);
        const Tensor logits = lang->forward(tokens, {5, 4});
        EXPECT_EQ(shape_string(logits), "[2, 5, 7]");
        lang->backward(cross_entropy(logits, TransformerLM::next_token_targets(tokens, {5, 4})).grad);
        params = lang->parameters();
      } else {
        cls = std::make_unique<TransformerClassifier>(c);
        const Tensor logits = cls->forward(tokens, {5, 3});
        EXPECT_EQ(shape_string(logits), "[2, 3]");
        ITensor t = ITensor::from_shape({2});
        t(0) = 0;
        t(1) = 1;
        cls->backward(cross_entropy(logits, t).grad);
        params = cls->parameters();
      }
      for (const auto& p : params) {
        double norm = 0;
        for (auto v : *p.grad) norm += static_cast<double>(v) * v;
        EXPECT_TRUE(std::isfinite(norm)) << kind << " " << p.name;
        if (p.name.rfind("position.", 0) == 0) {
          EXPECT_GT(norm, 0.0) << kind << " " << p.name << (lm ? " (lm)" : "");
        }
      }
      if (!lm) {
        const auto dir = temp_dir("kind_" + kind);
        export_position_parameters(cls->trunk(), dir.string());
        std::size_t files = 0, position_params = 0;
        for (const auto& f : std::filesystem::directory_iterator(dir)) files += f.path().extension() == ".npy";
        for (const auto& p : params) position_params += p.name.rfind("position.", 0) == 0;
        // One file per parameter, named as the command line reads them.
        EXPECT_EQ(files, position_params) << kind;
        std::filesystem::remove_all(dir);
      }
    }
  }
}

// ====================================================================== determinism

std::vector<Tensor> train_steps(const ModelConfig& c) {
  TransformerClassifier model(c);
  AdamW opt(model.parameters(), AdamWOptions{.lr = 1e-2});
  const ITensor tokens = tokens_2x5();
  ITensor targets = ITensor::from_shape({2});
  targets(0) = 1;
  targets(1) = 2;
  for (int s = 0; s < 3; ++s) {
    opt.zero_grad();
    const Loss l = cross_entropy(model.forward(tokens, {5, 3}), targets);
    model.backward(l.grad);
    clip_grad_norm(opt.parameters(), 1.0);
    opt.step();
  }
  std::vector<Tensor> out;
  for (const auto& p : model.parameters()) out.push_back(*p.value);
  return out;
}

TEST(ModelDeterminism, SameSeedIsBitIdentical) {
  ModelConfig c = tiny("shaw");
  c.dropout = 0.1;
  const auto a = train_steps(c), b = train_steps(c);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t k = 0; k < a.size(); ++k) EXPECT_EQ(max_abs_diff(a[k], b[k]), 0.0) << k;
  c.seed = 12;
  const auto d = train_steps(c);
  double diff = 0;
  for (std::size_t k = 0; k < a.size(); ++k) diff = std::max(diff, max_abs_diff(a[k], d[k]));
  EXPECT_GT(diff, 0.0);
}

TEST(ModelTraining, LossDecreasesOnAFixedBatch) {
  ModelConfig c = tiny("relative_bias");
  TransformerClassifier model(c);
  AdamW opt(model.parameters(), AdamWOptions{.lr = 3e-2});
  const ITensor tokens = tokens_2x5();
  ITensor targets = ITensor::from_shape({2});
  targets(0) = 1;
  targets(1) = 2;
  double first = 0, last = 0;
  for (int s = 0; s < 30; ++s) {
    opt.zero_grad();
    const Loss l = cross_entropy(model.forward(tokens, {5, 3}), targets);
    model.backward(l.grad);
    opt.step();
    (s == 0 ? first : last) = l.value;
  }
  EXPECT_LT(last, 0.1 * first);
}

// ====================================================================== checkpoints

TEST(ModelCheckpoint, SaveLoadRoundTripAndExport) {
  ModelConfig c = tiny("learned");
  c.pooling = Pooling::cls;
  TransformerClassifier model(c);
  model.set_training(false);
  const ITensor tokens = tokens_2x5();
  // Move the weights off their initial values so that loading must read them.
  for (auto& p : model.parameters())
    for (auto& v : *p.value) v += 0.01f;
  const Tensor before = model.forward(tokens, {5, 2});
  const auto dir = temp_dir("ckpt");
  model.save(dir.string());
  EXPECT_TRUE(std::filesystem::exists(dir / "config.json"));
  EXPECT_TRUE(std::filesystem::exists(dir / "position.table.npy"));
  EXPECT_TRUE(std::filesystem::exists(dir / "blocks.1.attn.w_q.npy"));
  model.save(dir.string());  // replacing an existing checkpoint works
  TransformerClassifier loaded = TransformerClassifier::load(dir.string());
  loaded.set_training(false);
  EXPECT_EQ(max_abs_diff(loaded.forward(tokens, {5, 2}), before), 0.0);
  EXPECT_EQ(loaded.config().position.kind, "learned");
  EXPECT_EQ(loaded.config().pooling, Pooling::cls);
  expect_invalid([&] { TransformerLM::load(dir.string()); }, {"TransformerLM::load", "classifier"});

  // The exported table is what `posenc encode learned --table table.npy` reads: learned_absolute
  // of it at positions 0..N gives the model's input part.
  const auto exp = temp_dir("export");
  export_position_parameters(model.trunk(), exp.string());
  const Tensor table = load_npy((exp / "table.npy").string());
  EXPECT_EQ(shape_string(table), "[16, 8]");
  const Encoding e = learned_absolute(table, text_positions(6));
  EXPECT_EQ(max_abs_diff(e.input_add, model.trunk().position().build({.positions = text_positions(6)}).input_add), 0.0);
  std::filesystem::remove_all(dir);
  std::filesystem::remove_all(exp);
}

TEST(ModelCheckpoint, LanguageModelAndPerLayerExport) {
  ModelConfig c = tiny("relative_bias");
  c.position.per_layer = true;
  TransformerLM model(c);
  model.set_training(false);
  const ITensor tokens = tokens_2x5();
  const Tensor before = model.forward(tokens);
  const auto dir = temp_dir("lm");
  model.save(dir.string());
  TransformerLM loaded = TransformerLM::load(dir.string());
  loaded.set_training(false);
  EXPECT_EQ(max_abs_diff(loaded.forward(tokens), before), 0.0);
  const auto exp = temp_dir("lm_export");
  export_position_parameters(model.trunk(), exp.string());
  EXPECT_EQ(shape_string(load_npy((exp / "layer1" / "weight.npy").string())), "[7, 2]");
  std::filesystem::remove_all(dir);
  std::filesystem::remove_all(exp);
}

// ====================================================================== errors

TEST(ModelErrors, NameFunctionParameterAndValue) {
  expect_invalid([] { TransformerClassifier m(tiny("learnd")); },
                 {"make_position_module", "'position.kind'", "'learnd'", "did you mean 'learned'"});
  expect_invalid([] { TransformerClassifier m(tiny("relative_bais")); }, {"did you mean 'relative_bias'"});
  ModelConfig c = tiny("learned");
  c.position.max_len = 4;
  TransformerClassifier small(c);
  expect_invalid([&] { small.forward(tokens_2x5()); }, {"LearnedPosition::build", "'positions'", "max_len = 4"});
  TransformerClassifier m(tiny("rope"));
  ITensor bad = tokens_2x5();
  bad(1, 2) = 7;
  expect_invalid([&] { m.forward(bad); }, {"Embedding::forward", "'tokens'", "7", "[1, 2]", "vocab = 7"});
  expect_invalid([&] { m.forward(tokens_2x5(), {5, 6}); }, {"TransformerClassifier::forward", "'lengths'", "6"});
  expect_invalid([&] { m.forward(tokens_2x5(), {5}); }, {"'lengths'", "1 entries", "batch 2"});
  m.forward(tokens_2x5());
  expect_invalid([&] { m.backward(Tensor::from_shape({2, 4})); }, {"backward", "'dy'", "[2, 3]", "[2, 4]"});
  ModelConfig h = tiny("rope");
  h.heads = 3;
  expect_invalid([&] { TransformerClassifier x(h); }, {"TransformerClassifier", "'heads' = 3", "d_model = 8"});
  ITensor two = ITensor::from_shape({1});
  two(0) = 2;
  expect_invalid([&] { cross_entropy(test::make({1, 2}, {0, 1}), two); },
                 {"cross_entropy", "'targets'", "2", "classes = 2"});
  expect_invalid([] { TransformerClassifier::load("/nonexistent/posenc_ckpt"); },
                 {"load_checkpoint_config", "'directory'", "/nonexistent/posenc_ckpt"});
}

}  // namespace
}  // namespace posenc
