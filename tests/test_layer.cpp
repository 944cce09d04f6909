// The multi-head attention layer: projections + core against a direct
// computation, GQA shapes, and .npy load/save with shape checks.
#include <gtest/gtest.h>

#include <filesystem>

#include "posenc/layer.hpp"
#include "posenc/npy.hpp"
#include "posenc/text.hpp"
#include "support/helpers.hpp"

namespace posenc {
namespace {

namespace fs = std::filesystem;

TEST(MultiHeadAttentionLayer, MatchesProjectionsPlusReferenceAttention) {
  const MultiHeadAttention mha({.model_dim = 12, .heads = 4, .kv_heads = 2}, 5);
  const Tensor x = test::random_tensor({2, 7, 12}, 6);
  const Encoding e = rope(test::positions(7), RopeOptions{.head_dim = 3 - 1});  // partial: 2 of 3 channels
  AttentionOptions o;
  o.mask.causal = true;
  const Tensor y = mha.forward(x, e, o);
  // Direct: q[b,h,t,c] = sum_i x[b,t,i] w_q[h*3+c, i] + b_q[h*3+c], etc.
  auto project = [&](const Tensor& w, const Tensor& bias, std::size_t heads) {
    Tensor out = xt::zeros<float>(Shape{2, heads, 7, 3});
    for (std::size_t b = 0; b < 2; ++b)
      for (std::size_t h = 0; h < heads; ++h)
        for (std::size_t t = 0; t < 7; ++t)
          for (std::size_t c = 0; c < 3; ++c) {
            double acc = bias(h * 3 + c);
            for (std::size_t i = 0; i < 12; ++i) acc += static_cast<double>(x(b, t, i)) * w(h * 3 + c, i);
            out(b, h, t, c) = static_cast<float>(acc);
          }
    return out;
  };
  const Tensor a = attention_reference(project(mha.w_q, mha.b_q, 4), project(mha.w_k, mha.b_k, 2),
                                       project(mha.w_v, mha.b_v, 2), e, o);
  for (std::size_t b = 0; b < 2; ++b)
    for (std::size_t t = 0; t < 7; ++t)
      for (std::size_t m = 0; m < 12; ++m) {
        double acc = mha.b_o(m);
        for (std::size_t h = 0; h < 4; ++h)
          for (std::size_t c = 0; c < 3; ++c) acc += static_cast<double>(a(b, h, t, c)) * mha.w_o(m, h * 3 + c);
        EXPECT_NEAR(y(b, t, m), acc, 2e-5);
      }
}

TEST(MultiHeadAttentionLayer, SavesLoadsAndChecksShapes) {
  const fs::path d = fs::temp_directory_path() / "posenc_layer_test";
  fs::create_directories(d);
  const MultiHeadAttention::Config cfg{.model_dim = 8, .heads = 2};
  const MultiHeadAttention a(cfg, 1);
  a.save(d.string());
  const MultiHeadAttention b = MultiHeadAttention::load(d.string(), cfg);
  const Tensor x = test::random_tensor({1, 5, 8}, 2);
  EXPECT_EQ(test::max_abs_diff(a.forward(x), b.forward(x)), 0.0);
  save_npy((d / "w_k.npy").string(), Tensor(test::random_tensor({4, 8}, 3)));
  test::expect_invalid([&] { MultiHeadAttention::load(d.string(), cfg); },
                       {"MultiHeadAttention::load", "'w_k'", "[4, 8]", "[8, 8]"});
  test::expect_invalid([] { MultiHeadAttention({.model_dim = 10, .heads = 3}); }, {"model_dim = 10", "heads = 3"});
  test::expect_invalid([] { MultiHeadAttention({.model_dim = 8, .heads = 0}); }, {"'heads'", "0"});
  fs::remove_all(d);
}

}  // namespace
}  // namespace posenc
