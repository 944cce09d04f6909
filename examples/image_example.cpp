// Image modality example: a ViT-style self-attention layer over a 14 x 14 patch
// grid with a class token, under each 2D encoding, and the classic picture of
// what the absolute encodings look like.
//
//   build/examples/posenc_image_example [OUT_DIR]      (default: examples_out)
//
// Writes OUT_DIR/image_similarity.png: for each patch, the cosine similarity of
// its encoding with every other patch (8 x 8 grid): MAE 2D sin-cos | DETR sine |
// timm Fourier features | a learned 7 x 7 table resampled to 8 x 8 (bicubic +
// antialias, timm's default); and prints what each encoding filled.
#include <filesystem>
#include <iostream>

#include "common.hpp"
#include "pictures.hpp"
#include "posenc/posenc.hpp"

int main(int argc, char** argv) {
  using namespace posenc;
  const std::string out = argc > 1 ? argv[1] : "examples_out";
  std::filesystem::create_directories(out);

  // One layer: D = 64, 4 heads of 16; 1 class token + 14 x 14 patches.
  const std::int64_t h = 14, w = 14, dim = 64, heads = 4, head_dim = dim / heads;
  const MultiHeadAttention layer({.model_dim = dim, .heads = heads}, /*seed=*/3);
  const Tensor x = example::random_tokens(1 + h * w, dim, 11, 0.5);
  const DTensor pos = grid_positions(h, w, /*prefix_tokens=*/1);

  // A learned 7 x 7 table (as from a 112-pixel checkpoint) resampled to 14 x 14; the class row is kept.
  // Trained tables are smooth, so a 7 x 7 sin-cos table plus trunc-normal(0.002) noise stands in for one.
  const Tensor table7 = sincos_2d_table({.height = 7, .width = 7, .dim = dim, .prefix_tokens = 1}) +
                        sphere_table_init(1 + 49, dim, 0.002, 5);
  const Tensor table14 = resample_abs_pos_embed(table7, 7, 7, h, w, 1);
  Encoding learned;
  learned.name = "learned (7x7 -> 14x14)";
  learned.input_add = xt::view(table14, xt::newaxis(), xt::all(), xt::all());

  struct Case {
    std::string name;
    Encoding encoding;
  };
  const std::vector<Case> cases = {
      {"sincos_2d (MAE)", sincos_2d({.height = h, .width = w, .dim = dim, .prefix_tokens = 1})},
      {"learned, resampled", learned},
      {"rope_2d (EVA)", rope_2d(pos, {.head_dim = head_dim})},
      {"rope_mixed", rope_mixed(pos, rope_mixed_init(heads, head_dim, 10.0, true, 1))},
      {"alibi_2d", alibi_2d(pos, pos, heads)},
  };
  for (const auto& c : cases) {
    const Tensor xe = apply_input(c.encoding, x);
    example::report(c.name, c.encoding, xe, layer.forward(xe, c.encoding));
  }
  // Swin attends within 7 x 7 windows: the relative bias table indexed per window.
  const Tensor window = example::random_tokens(49, dim, 12, 0.5);
  const Encoding swin = relative_bias_2d(7, 7, relative_bias_table_init(heads, 7, 7));
  example::report("swin relative bias (7x7 window)", swin, window, layer.forward(window, swin));
  // Fourier features are concatenated to the channels, so the layer sees D + F channels.
  const FourierFeaturesOptions fo{.height = h, .width = w, .num_bands = 8};
  const Encoding fourier = fourier_features_encoding(fo);
  const Tensor xf = example::random_tokens(h * w, dim - static_cast<std::int64_t>(fourier.input_concat.shape()[2]), 13);
  const Tensor xfe = apply_input(fourier, xf);
  example::report("fourier_features (concat)", fourier, xfe, layer.forward(xfe, fourier));

  // The pictures, on an 8 x 8 grid.
  const Tensor mae = sincos_2d_table({.height = 8, .width = 8, .dim = 64});
  const Tensor detr = detr_sine({.height = 8, .width = 8, .num_pos_feats = 32});
  const Tensor four = fourier_features({.height = 8, .width = 8, .num_bands = 8, .max_res = 8});
  const Tensor l8 = xt::view(resample_abs_pos_embed(table7, 7, 7, 8, 8, 1), xt::range(1, 65), xt::all());
  plot::write_png(out + "/image_similarity.png",
                  plot::hstack({plot::similarity_grid(mae, 8, 8, 4), plot::similarity_grid(detr, 8, 8, 4),
                                plot::similarity_grid(four, 8, 8, 4), plot::similarity_grid(l8, 8, 8, 4)}));
  std::cout << "wrote " << out
            << "/image_similarity.png (MAE sin-cos | DETR sine | Fourier features | learned 7x7 -> 8x8)\n";
  return 0;
}
