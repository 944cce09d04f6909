// Text modality example: one self-attention layer over a packed batch, with
// the encodings of the text family, and a picture of what each does to the
// attention pattern.
//
//   build/examples/posenc_text_example [OUT_DIR]      (default: examples_out)
//
// Writes OUT_DIR/text_attention.png: attention weights of the same random
// layer and tokens under NoPE, sinusoidal (input side), RoPE, ALiBi and T5,
// causal, one head; and prints what each encoding filled.
#include <filesystem>
#include <iostream>

#include "plot.hpp"
#include "posenc/posenc.hpp"

int main(int argc, char** argv) {
  using namespace posenc;
  const std::string out = argc > 1 ? argv[1] : "examples_out";
  std::filesystem::create_directories(out);

  const std::int64_t tokens = 48, model_dim = 64, heads = 4;
  const MultiHeadAttention layer({.model_dim = model_dim, .heads = heads}, /*seed=*/7);
  // Token embeddings: slowly varying content so that the position signal is visible.
  Tensor x = Tensor::from_shape({1, static_cast<std::size_t>(tokens), static_cast<std::size_t>(model_dim)});
  for (std::size_t t = 0; t < x.shape()[1]; ++t)
    for (std::size_t c = 0; c < x.shape()[2]; ++c) x(0, t, c) = 0.3f * static_cast<float>(std::sin(0.05 * c * (1 + t % 3)));

  const DTensor pos = text_positions(tokens);
  const std::int64_t head_dim = model_dim / heads;
  struct Case {
    std::string name;
    Encoding encoding;
  };
  const std::vector<Case> cases = {
      {"nope", nope()},
      {"sinusoidal", sinusoidal(pos, SinusoidOptions{.dim = model_dim})},
      {"rope", rope(pos, RopeOptions{.head_dim = head_dim})},
      {"alibi", alibi(pos, AlibiOptions{.heads = heads})},
      {"t5", t5_bias(pos, t5_table_init(heads, 32, 1.0, 3), T5Options{.bidirectional = false})},
  };
  AttentionOptions causal;
  causal.mask.causal = true;
  std::vector<plot::Image> panels;
  for (const auto& c : cases) {
    // Input-side parts go on the embeddings; score terms act inside the core.
    const Tensor xe = apply_input(c.encoding, x);
    // The layer's projections, then the weights of head 0 through the reference core (for the picture).
    const std::size_t n = static_cast<std::size_t>(tokens), dh = static_cast<std::size_t>(head_dim);
    Tensor q = Tensor::from_shape({1, 1, n, dh}), k = Tensor::from_shape({1, 1, n, dh});
    for (std::size_t t = 0; t < n; ++t)
      for (std::size_t o = 0; o < dh; ++o) {
        double aq = layer.b_q(o), ak = layer.b_k(o);
        for (std::size_t i = 0; i < static_cast<std::size_t>(model_dim); ++i) {
          aq += static_cast<double>(xe(0, t, i)) * layer.w_q(o, i);
          ak += static_cast<double>(xe(0, t, i)) * layer.w_k(o, i);
        }
        q(0, 0, t, o) = static_cast<float>(aq);
        k(0, 0, t, o) = static_cast<float>(ak);
      }
    Encoding head0 = c.encoding;  // keep head 0's slice of per-head parts
    for (auto& b : head0.biases) {
      if (b.kind == BiasKind::slope) b.slopes = xt::view(b.slopes, xt::range(0, 1));
      if (b.kind == BiasKind::table) b.table = xt::view(b.table, xt::range(0, 1), xt::all());
    }
    const Tensor w = attention_weights(q, k, head0, causal);
    std::vector<double> v(w.begin(), w.end());
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = i + 1; j < n; ++j) v[i * n + j] = NAN;  // hidden by the causal mask
    panels.push_back(plot::heatmap(v, tokens, tokens, 4, 0.0, 0.25));
    const Tensor y = layer.forward(xe, c.encoding, causal);
    std::cout << c.name << ": " << (c.encoding.empty() ? "fills nothing" : "filled")
              << (is_set(c.encoding.input_add) ? " input_add" : "") << (!c.encoding.rotation.empty() ? " rotation" : "")
              << (c.encoding.biases.empty() ? "" : " bias") << "; layer output " << shape_string(y) << "\n";
  }
  plot::write_png(out + "/text_attention.png", plot::hstack(panels));
  std::cout << "wrote " << out << "/text_attention.png (NoPE | sinusoidal | RoPE | ALiBi | T5, causal, head 0)\n";
  return 0;
}
