// Gradients of the attention core and of the encodings' builders against
// PyTorch autograd. tests/data/gen_grad_torch.py writes each case as the
// published formula of the method in float64 autograd on float32 inputs
// (HF T5 buckets, HF Llama GQA with YaRN RoPE, fairseq ALiBi, tensor2tensor
// Shaw, kimiyoung Transformer-XL with memory, DA-Transformer, timm's bicubic
// antialiased resampling of a learned ViT table, a continuous MLP encoding);
// here the same computation is built with posenc's builders, run forward with
// attention(..., &stats) and backward with both attention_backward and
// attention_backward_reference (GradRequest::all), and the builders' backward
// functions carry the part gradients down to the learnable parameters.
//
// Tolerance: for each gradient tensor, max |posenc - torch| / max |torch|
// must stay below 1e-4 (kTorchGradTol); forward outputs below 1e-5 (kForwardTol).
// Set POSENC_TORCHGRAD_VERBOSE=1 to print every measured error.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "posenc/attention.hpp"
#include "posenc/gradients.hpp"
#include "posenc/image.hpp"
#include "posenc/npy.hpp"
#include "posenc/relative.hpp"
#include "posenc/rotary.hpp"
#include "posenc/text.hpp"
#include "support/helpers.hpp"

namespace posenc {
namespace {

constexpr double kTorchGradTol = 1e-4;
constexpr double kForwardTol = 1e-5;

// One case directory tests/data/grad/<name>/.
struct CaseData {
  std::string name;
  std::string path(const std::string& file) const {
    return std::string(POSENC_TEST_DATA) + "/grad/" + name + "/" + file + ".npy";
  }
  Tensor f(const std::string& file) const { return load_npy(path(file)); }
  DTensor d(const std::string& file) const { return load_npy_double(path(file)); }
  ITensor i(const std::string& file) const { return load_npy_int(path(file)); }
};

// max |got - want| / max |want| (shapes must agree).
template <class T>
void expect_close(const xt::xarray<T>& got, const DTensor& want, const std::string& what, double tol = kTorchGradTol) {
  const Shape gs(got.shape().begin(), got.shape().end()), ws(want.shape().begin(), want.shape().end());
  ASSERT_EQ(gs, ws) << what << ": shape " << shape_string(gs) << " vs torch " << shape_string(ws);
  double diff = 0, scale = 0;
  for (std::size_t n = 0; n < want.size(); ++n) {
    diff = std::max(diff, std::abs(static_cast<double>(got.data()[n]) - want.data()[n]));
    scale = std::max(scale, std::abs(want.data()[n]));
  }
  ASSERT_GT(scale, 0.0) << what << ": the torch gradient is all zeros (a vacuous check)";
  const double err = diff / scale;
  if (std::getenv("POSENC_TORCHGRAD_VERBOSE") != nullptr)
    std::printf("[ torchgrad ] %-58s max|torch| %.3e  scaled err %.3e\n", what.c_str(), scale, err);
  EXPECT_LT(err, tol) << what << ": max abs diff " << diff << ", max |torch| " << scale;
}

struct CoreRun {
  Tensor out;
  AttentionStats stats;
  AttentionGrads fast, ref;
  // (gradients, label) for the streaming backward and the reference backward
  std::vector<std::pair<const AttentionGrads*, std::string>> both() const {
    return {{&fast, "attention_backward"}, {&ref, "attention_backward_reference"}};
  }
};

// Forward (checked against torch's out.npy) and both backwards with every gradient the encoding has.
CoreRun run_core(const CaseData& data, const Tensor& q, const Tensor& k, const Tensor& v, const Encoding& enc,
                 const AttentionOptions& options) {
  CoreRun r;
  const DTensor want_out = data.d("out");
  r.out = attention(q, k, v, enc, options, &r.stats);
  expect_close(r.out, want_out, data.name + " forward attention", kForwardTol);
  AttentionStats ref_stats;
  const Tensor ref_out = attention_reference(q, k, v, enc, options, &ref_stats);
  expect_close(ref_out, want_out, data.name + " forward attention_reference", kForwardTol);
  const Tensor d_out = data.f("d_out");
  const GradRequest request = GradRequest::all(enc);
  r.fast = attention_backward(q, k, v, enc, options, r.out, r.stats, d_out, request);
  r.ref = attention_backward_reference(q, k, v, enc, options, r.out, r.stats, d_out, request);
  return r;
}

void expect_input_grads(const CaseData& data, const AttentionGrads& g, const std::string& label) {
  expect_close(g.dq, data.d("dq"), data.name + " dq " + label);
  expect_close(g.dk, data.d("dk"), data.name + " dk " + label);
  expect_close(g.dv, data.d("dv"), data.name + " dv " + label);
}

std::size_t dim(const Tensor& t, std::size_t axis) { return t.shape()[axis]; }

// ------------------------------------------------------------------ 1. T5 buckets

TEST(TorchGrad, T5BucketBias) {
  const CaseData data{"t5"};
  const Tensor q = data.f("q"), k = data.f("k"), v = data.f("v"), table = data.f("table");
  const auto n = static_cast<std::int64_t>(dim(q, 2));
  const DTensor p = text_positions(n);
  const T5Options o{.bidirectional = true, .num_buckets = 8, .max_distance = 16};
  // HF's _relative_position_bucket of j - i, as the generator evaluated it.
  ITensor want_buckets = data.i("bucket");
  want_buckets.reshape({1, static_cast<std::size_t>(n), static_cast<std::size_t>(n)});
  EXPECT_EQ(t5_bucket_matrix(p, p, o), want_buckets);
  const Encoding e = t5_bias(p, table, o);
  const CoreRun r = run_core(data, q, k, v, e, {});
  for (const auto& [g, label] : r.both()) {
    expect_input_grads(data, *g, label);
    ASSERT_EQ(g->encoding.biases.size(), 1u) << label;
    expect_close(g->encoding.biases[0].table, data.d("dtable"), "t5 bias table " + label);
  }
  expect_close(t5_bias_backward(p, p, table, o, r.fast.encoding), data.d("dtable"), "t5 t5_bias_backward");
}

// ------------------------------------------------------------------ 2. Llama GQA + YaRN

TEST(TorchGrad, LlamaGqaYarnRope) {
  const CaseData data{"llama_gqa_yarn"};
  const Tensor q = data.f("q"), k = data.f("k"), v = data.f("v");
  const DTensor positions = data.d("positions");  // [2, N, 1]: row 0 at 0.., row 1 at 7..
  const RopeOptions ro{.head_dim = 8,
                       .scaling = RopeScaling::yarn,
                       .factor = 4.0,
                       .max_position_embeddings = 64,
                       .original_max_position_embeddings = 16};
  const RopeFrequencies freq = rope_frequencies(ro);
  const DTensor want_inv = data.d("inv_freq");
  ASSERT_EQ(freq.inv_freq.size(), want_inv.size());
  for (std::size_t i = 0; i < want_inv.size(); ++i) EXPECT_NEAR(freq.inv_freq[i] / want_inv(i), 1.0, 1e-12) << i;
  EXPECT_NEAR(freq.attention_factor, data.d("attention_factor")(0), 1e-12);
  const Encoding e = rope(positions, ro);
  AttentionOptions o;
  o.mask.causal = true;
  o.mask.key_lengths = {static_cast<std::int64_t>(dim(k, 2)), static_cast<std::int64_t>(dim(k, 2))};
  const CoreRun r = run_core(data, q, k, v, e, o);
  for (const auto& [g, label] : r.both()) {
    expect_input_grads(data, *g, label);
    expect_close(g->encoding.rotation.query_angles, data.d("dquery_angles"), "llama query angles " + label);
    expect_close(g->encoding.rotation.key_angles, data.d("dkey_angles"), "llama key angles " + label);
    const DTensor dmag{g->encoding.rotation.magnitude};  // the YaRN attention factor's gradient
    expect_close(dmag, data.d("dmagnitude"), "llama magnitude " + label);
  }
}

// ------------------------------------------------------------------ 3. ALiBi, causal, padded keys

TEST(TorchGrad, AlibiCausalSlopes) {
  const CaseData data{"alibi_causal"};
  const Tensor q = data.f("q"), k = data.f("k"), v = data.f("v");
  const auto n = static_cast<std::int64_t>(dim(q, 2));
  const Encoding e = alibi(text_positions(n), AlibiOptions{.heads = static_cast<std::int64_t>(dim(q, 1))});
  ASSERT_EQ(e.biases.size(), 1u);
  expect_close(e.biases[0].slopes, data.d("slopes"), "alibi slopes (fairseq get_slopes)", 1e-7);
  const ITensor lengths = data.i("key_lengths");
  AttentionOptions o;
  o.mask.causal = true;
  o.mask.key_lengths.assign(lengths.begin(), lengths.end());
  const CoreRun r = run_core(data, q, k, v, e, o);
  for (const auto& [g, label] : r.both()) {
    expect_input_grads(data, *g, label);
    ASSERT_EQ(g->encoding.biases.size(), 1u) << label;
    expect_close(g->encoding.biases[0].slopes, data.d("dslopes"), "alibi slopes " + label);
  }
  expect_close(alibi_backward(r.fast.encoding), data.d("dslopes"), "alibi alibi_backward");
}

// ------------------------------------------------------------------ 4. Shaw key and value terms

TEST(TorchGrad, ShawKeyAndValueTables) {
  const CaseData data{"shaw"};
  const Tensor q = data.f("q"), k = data.f("k"), v = data.f("v");
  const ShawTables tables{data.f("a_k"), data.f("a_v")};
  const ShawOptions so{.clip = 3};
  const DTensor p = text_positions(static_cast<std::int64_t>(dim(q, 2)));
  const Encoding e = shaw(p, p, tables, so);
  const CoreRun r = run_core(data, q, k, v, e, {});
  for (const auto& [g, label] : r.both()) {
    expect_input_grads(data, *g, label);
    ASSERT_EQ(g->encoding.content_position.size(), 1u) << label;
    ASSERT_EQ(g->encoding.value.size(), 1u) << label;
    expect_close(g->encoding.content_position[0].table, data.d("da_k"), "shaw aK " + label);
    expect_close(g->encoding.value[0].table, data.d("da_v"), "shaw aV " + label);
  }
  const auto grads = shaw_backward(p, p, tables, so, r.fast.encoding);
  expect_close(grads.key, data.d("da_k"), "shaw shaw_backward key");
  expect_close(grads.value, data.d("da_v"), "shaw shaw_backward value");
}

// ------------------------------------------------------------------ 5. Transformer-XL with memory

TEST(TorchGrad, TransformerXlMemory) {
  const CaseData data{"txl_memory"};
  const Tensor q = data.f("q"), k = data.f("k"), v = data.f("v");
  const TransformerXLParams params{data.f("w_r"), data.f("u"), data.f("v_bias")};
  const std::size_t nq = dim(q, 2), nk = dim(k, 2), heads = dim(q, 1), dh = dim(q, 3);
  const TransformerXLOptions to{.d_model = static_cast<std::int64_t>(dim(params.w_r, 1)),
                                .heads = static_cast<std::int64_t>(heads),
                                .head_dim = static_cast<std::int64_t>(dh)};
  // M = nk - nq memory tokens: keys at 0..M+Q-1, queries at M..M+Q-1, causal (bottom-right).
  const DTensor qp = text_positions(static_cast<std::int64_t>(nq), static_cast<std::int64_t>(nk - nq));
  const DTensor kp = text_positions(static_cast<std::int64_t>(nk));
  const Encoding e = transformer_xl(qp, kp, params, to);
  AttentionOptions o;
  o.mask.causal = true;
  const CoreRun r = run_core(data, q, k, v, e, o);
  const DTensor drel = data.d("drel_table");  // d (W_R R_r) in posenc's layout [H, rows, d_h]
  for (const auto& [g, label] : r.both()) {
    expect_input_grads(data, *g, label);
    ASSERT_EQ(g->encoding.content_position.size(), 1u) << label;
    expect_close(g->encoding.content_position[0].table, drel, "txl relative table " + label);
    expect_close(g->encoding.content_position[0].query_bias, data.d("dv_bias"), "txl v (query bias) " + label);
    expect_close(g->encoding.content_bias, data.d("du"), "txl u (content bias) " + label);
  }
  // The chain rule to W_R written out here: dW_R[h d_h + c, m] = sum_r dtable[h, r, c] R_r[m].
  {
    const Tensor& dtab = r.ref.encoding.content_position[0].table;
    const std::size_t rows = dtab.shape()[1], dm = static_cast<std::size_t>(to.d_model);
    const Tensor sin = transformer_xl_sinusoid(static_cast<std::int64_t>(rows), to.d_model);
    DTensor dw = xt::zeros<double>({heads * dh, dm});
    for (std::size_t h = 0; h < heads; ++h)
      for (std::size_t c = 0; c < dh; ++c)
        for (std::size_t m = 0; m < dm; ++m)
          for (std::size_t row = 0; row < rows; ++row) dw(h * dh + c, m) += double(dtab(h, row, c)) * sin(row, m);
    expect_close(dw, data.d("dw_r"), "txl W_R via the table gradient");
  }
  const auto grads = transformer_xl_backward(qp, kp, params, to, r.fast.encoding);
  expect_close(grads.w_r, data.d("dw_r"), "txl transformer_xl_backward w_r");
  expect_close(grads.u, data.d("du"), "txl transformer_xl_backward u");
  expect_close(grads.v, data.d("dv_bias"), "txl transformer_xl_backward v");
}

// ------------------------------------------------------------------ 6. DA-Transformer

TEST(TorchGrad, DaTransformerRescaling) {
  const CaseData data{"da"};
  const Tensor q = data.f("q"), k = data.f("k"), v = data.f("v");
  const DaParams params{data.f("v_param"), data.f("w_param")};
  const DTensor p = text_positions(static_cast<std::int64_t>(dim(q, 2)));
  const Encoding e = da_transformer(p, p, params);
  const CoreRun r = run_core(data, q, k, v, e, {});
  for (const auto& [g, label] : r.both()) {
    expect_input_grads(data, *g, label);
    ASSERT_EQ(g->encoding.multipliers.size(), 1u) << label;
    expect_close(g->encoding.multipliers[0].table, data.d("drescale"), "da rescaling table " + label);
  }
  // The chain rule written out here: R = (1 + e^v) / (1 + e^(v - w r)),
  // dR/dv = R (sigma(v) - sigma(v - w r)), dR/dw = R r sigma(v - w r).
  {
    const Tensor& dtab = r.ref.encoding.multipliers[0].table;
    const auto sigma = [](double x) { return 1.0 / (1.0 + std::exp(-x)); };
    DTensor dv = xt::zeros<double>({dim(params.v, 0)}), dw = xt::zeros<double>({dim(params.v, 0)});
    for (std::size_t h = 0; h < dim(params.v, 0); ++h)
      for (std::size_t row = 0; row < dtab.shape()[1]; ++row) {
        const double vh = params.v(h), wh = params.w(h), rr = double(row);
        const double big_r = (1 + std::exp(vh)) / (1 + std::exp(vh - wh * rr));
        dv(h) += dtab(h, row) * big_r * (sigma(vh) - sigma(vh - wh * rr));
        dw(h) += dtab(h, row) * big_r * rr * sigma(vh - wh * rr);
      }
    expect_close(dv, data.d("dv_param"), "da v via the table gradient");
    expect_close(dw, data.d("dw_param"), "da w via the table gradient");
  }
  const auto grads = da_transformer_backward(p, p, params, r.fast.encoding);
  expect_close(grads.v, data.d("dv_param"), "da da_transformer_backward v");
  expect_close(grads.w, data.d("dw_param"), "da da_transformer_backward w");
}

// ------------------------------------------------------------------ input-side encodings: q = k = v = apply_input(enc, x)

// One head over y = apply_input(enc, x) [B, N, C] used as q, k and v; returns the core run and,
// per backward, dy = dq + dk + dv as [B, N, C].
struct SelfRun {
  CoreRun core;
  std::vector<std::pair<Tensor, std::string>> dy;
};

SelfRun run_self(const CaseData& data, const Encoding& enc, const Tensor& x, const AttentionOptions& options) {
  const std::size_t b = dim(x, 0), n = dim(x, 1), c = dim(x, 2);
  Tensor y = apply_input(enc, x);
  y.reshape({b, 1, n, c});
  SelfRun s{run_core(data, y, y, y, Encoding{}, options), {}};
  for (const auto& [g, label] : s.core.both()) {
    Tensor dy = g->dq + g->dk + g->dv;
    dy.reshape({b, n, c});
    s.dy.emplace_back(std::move(dy), label);
  }
  return s;
}

// ------------------------------------------------------------------ 7. learned ViT table, bicubic antialias

TEST(TorchGrad, LearnedTableBicubicResample) {
  const CaseData data{"learned2d_bicubic"};
  const Tensor table = data.f("table"), x = data.f("x");  // [1 + 3*3, C], [B, 1 + 4*5, C]
  const ResampleOptions ro{.interpolation = Interpolation::bicubic, .antialias = true};
  const Tensor resampled = resample_abs_pos_embed(table, 3, 3, 4, 5, 1, ro);
  const DTensor pos = text_positions(static_cast<std::int64_t>(resampled.shape()[0]));
  const Encoding e = learned_absolute(resampled, pos);
  expect_close(e.input_add, data.d("pe"), "learned2d resampled table (forward)", kForwardTol);
  const SelfRun s = run_self(data, e, x, {});
  for (const auto& [dy, label] : s.dy) {
    EncodingGrad eg;
    const Tensor dx = apply_input_backward(e, x, dy, eg);
    expect_close(dx, data.d("dx"), "learned2d dx " + label);
    expect_close(eg.input_add, data.d("dpe"), "learned2d d input_add " + label);
  }
  EncodingGrad eg;
  apply_input_backward(e, x, s.dy[0].first, eg);
  const Tensor d_resampled = learned_absolute_backward(resampled, pos, eg);
  const Tensor d_table = resample_abs_pos_embed_backward(d_resampled, 3, 3, 4, 5, 1, ro);
  expect_close(d_table, data.d("dtable"), "learned2d table via learned_absolute_backward + resample backward");
}

// ------------------------------------------------------------------ 8. continuous MLP

TEST(TorchGrad, ContinuousMlpParameters) {
  const CaseData data{"continuous_mlp"};
  const Tensor x = data.f("x");
  const DTensor positions = data.d("positions");  // [1, N, 1], real
  ContinuousMlp mlp(ContinuousMlp::Config{.input_dim = 1,
                                          .hidden = 16,
                                          .output_dim = static_cast<std::int64_t>(dim(x, 2)),
                                          .activation = Activation::gelu,
                                          .scaling = PositionScaling::divide,
                                          .reference_length = 10.0});
  mlp.w1 = data.f("w1");
  mlp.b1 = data.f("b1");
  mlp.w2 = data.f("w2");
  mlp.b2 = data.f("b2");
  const Encoding e = mlp.encoding(positions);
  expect_close(e.input_add, data.d("encoding"), "continuous_mlp encoding (forward)", kForwardTol);
  AttentionOptions o;
  o.mask.causal = true;
  const SelfRun s = run_self(data, e, x, o);
  for (const auto& [dy, label] : s.dy) {
    EncodingGrad eg;
    const Tensor dx = apply_input_backward(e, x, dy, eg);
    expect_close(dx, data.d("dx"), "continuous_mlp dx " + label);
    expect_close(eg.input_add, data.d("dencoding"), "continuous_mlp d input_add " + label);
  }
  EncodingGrad eg;
  apply_input_backward(e, x, s.dy[0].first, eg);
  const auto grads = mlp.backward(positions, eg.input_add);
  expect_close(grads.w1, data.d("dw1"), "continuous_mlp backward w1");
  expect_close(grads.b1, data.d("db1"), "continuous_mlp backward b1");
  expect_close(grads.w2, data.d("dw2"), "continuous_mlp backward w2");
  expect_close(grads.b2, data.d("db2"), "continuous_mlp backward b2");
}

}  // namespace
}  // namespace posenc
