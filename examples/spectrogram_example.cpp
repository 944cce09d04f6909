// Spectrogram modality example: AST's overlapping 16 x 16 patches (stride 10)
// on a 128-bin log-mel spectrogram, a learned AudioSet table (10 s, 12 x 101
// patches) adapted to a 5 s clip, and 2D encodings with separate settings for
// the frequency and the time axis, run through one attention layer.
//
//   build/examples/posenc_spectrogram_example [OUT_DIR]      (default: examples_out)
//
// Writes OUT_DIR/spectrogram_patches.png: how many patches cover each (bin,
// frame) over the first 100 frames (overlaps of 2 and 4 patches; grey: bins no
// patch reaches) | the cosine similarity of the per-axis sin-cos rows on a
// 12 x 12 patch grid (frequency temperature 1e4, time 100).
#include <filesystem>
#include <iostream>

#include "common.hpp"
#include "pictures.hpp"
#include "posenc/posenc.hpp"

int main(int argc, char** argv) {
  using namespace posenc;
  const std::string out = argc > 1 ? argv[1] : "examples_out";
  std::filesystem::create_directories(out);

  // 10 s of audio at a 10 ms hop: 128 mel bins x 1024 frames -> 12 x 101 patches (AST's AudioSet setting).
  const SpectrogramGrid ten = spectrogram_grid({.frequency_bins = 128, .frames = 1024});
  const SpectrogramGrid five = spectrogram_grid({.frequency_bins = 128, .frames = 512});
  std::cout << "10 s: " << ten.f_dim << " x " << ten.t_dim << " patches; 5 s: " << five.f_dim << " x " << five.t_dim
            << "\n";
  const std::int64_t dim = 64, heads = 4;
  const Tensor audioset = sphere_table_init(2 + ten.tokens(), dim, 0.02, 7);  // stands in for a trained table
  const Tensor adapted = adapt_spectrogram_table(audioset, ten, five);         // time: centre crop
  std::cout << "AST table " << shape_string(audioset) << " adapted to " << shape_string(adapted)
            << " (time cropped around the centre, class and distillation rows kept)\n";

  const MultiHeadAttention layer({.model_dim = dim, .heads = heads}, /*seed=*/5);
  const Tensor x = example::random_tokens(2 + five.tokens(), dim, 31, 0.5);
  Encoding learned;
  learned.name = "ast learned";
  learned.input_add = xt::view(adapted, xt::newaxis(), xt::all(), xt::all());
  // Frequency in patch units; time in seconds (stride 10 frames x 10 ms = 0.1 s per patch column).
  const SpectrogramAxis freq{.dim = 32}, time{.dim = 32, .temperature = 100.0, .scale = 0.1};
  const SpectrogramAxis rfreq{.dim = 8}, rtime{.dim = 8, .temperature = 100.0};
  struct Case {
    std::string name;
    Encoding encoding;
  };
  const std::vector<Case> cases = {
      {"ast learned (adapted)", learned},
      {"per-axis sin-cos", spectrogram_sincos(five, freq, time)},
      {"per-axis RoPE", spectrogram_rope(five, rfreq, rtime)},
  };
  for (const auto& c : cases) {
    const Tensor xe = apply_input(c.encoding, x);
    example::report(c.name, c.encoding, xe, layer.forward(xe, c.encoding));
  }

  const SpectrogramGrid g12{.f_dim = 12, .t_dim = 12};
  const Tensor st = spectrogram_sincos_table(g12, {.dim = 32}, {.dim = 32, .temperature = 100.0}, 0);
  plot::write_png(out + "/spectrogram_patches.png",
                  plot::hstack({plot::patch_coverage({}, 100, 2), plot::similarity_grid(st, 12, 12, 2, 1)}));
  std::cout << "wrote " << out << "/spectrogram_patches.png (patch coverage | per-axis sin-cos similarity)\n";
  return 0;
}
