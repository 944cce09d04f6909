// Video modality example: the 3D schemes on a clip of 8 frames x 112 x 112
// pixels (tubelets 2 x 16 x 16 -> a 4 x 7 x 7 grid), and Qwen2-VL's M-RoPE over a
// sequence that interleaves text, an image and a video.
//
//   build/examples/posenc_video_example [OUT_DIR]      (default: examples_out)
//
// Writes OUT_DIR/video_mrope_ids.png (the t, h, w position ids of the mixed
// sequence, left to right) and OUT_DIR/video_sincos3d.png (cosine similarity of
// the 3D sin-cos row of frame 0's centre patch with every token, frames 0 to 3),
// and prints what each encoding filled.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>

#include "common.hpp"
#include "pictures.hpp"
#include "posenc/posenc.hpp"

int main(int argc, char** argv) {
  using namespace posenc;
  const std::string out = argc > 1 ? argv[1] : "examples_out";
  std::filesystem::create_directories(out);

  const VideoGrid grid = tubelet_grid({.frames = 8, .height = 112, .width = 112});
  const std::int64_t dim = 96, heads = 4, head_dim = dim / heads, n = grid.tokens();
  std::cout << "tubelet grid " << grid.t << " x " << grid.h << " x " << grid.w << " = " << n << " tokens\n";
  const MultiHeadAttention layer({.model_dim = dim, .heads = heads}, /*seed=*/4);
  const Tensor x = example::random_tokens(n, dim, 21, 0.5);
  const DTensor pos = video_positions(grid.t, grid.h, grid.w);

  struct Case {
    std::string name;
    Encoding encoding;
  };
  const std::vector<Case> cases = {
      {"sincos_3d (scenic)", sincos_3d({.grid = grid, .dim = dim})},
      {"videomae sinusoid", videomae_sinusoid(grid, dim)},
      {"rope_3d", rope_3d(pos, {.head_dim = head_dim})},
  };
  for (const auto& c : cases) {
    const Tensor xe = apply_input(c.encoding, x);
    example::report(c.name, c.encoding, xe, layer.forward(xe, c.encoding));
  }
  // TimeSformer: a class token + 7x7 patches x 4 frames; tables from a 14x14, 8-frame checkpoint are resized.
  const Tensor space = sphere_table_init(1 + 14 * 14, dim, 0.02, 1), time = sphere_table_init(8, dim, 0.02, 2);
  const Encoding ts = timesformer(space, time, {.height = grid.h, .width = grid.w, .frames = grid.t});
  const Tensor xt_ = example::random_tokens(1 + n, dim, 22, 0.5);
  const Tensor xte = apply_input(ts, xt_);
  example::report("timesformer (space + time)", ts, xte, layer.forward(xte, ts));
  // The 8-frame time table stretched to 16 frames for longer clips (linear).
  const Tensor longer = resample_time(time, 16, {.interpolation = Interpolation::bilinear, .antialias = false});
  std::cout << "time table " << shape_string(time) << " resampled to " << shape_string(longer) << "\n";

  // M-RoPE: text, an image of 4 x 6 patches, text, a 2 x 4 x 4 video, text (2 x 2 spatial merge).
  const DTensor ids = plot::demo_mrope_ids();
  const MropeOptions mo{.head_dim = head_dim, .base = 1e6, .mrope_section = {4, 4, 4}};
  const Encoding mr = mrope(ids, mo);
  const Tensor xm = example::random_tokens(static_cast<std::int64_t>(ids.shape()[1]), dim, 23, 0.5);
  AttentionOptions causal;
  causal.mask.causal = true;
  example::report("mrope (Qwen2-VL, causal)", mr, xm, layer.forward(xm, mr, causal));
  std::cout << "mrope ids [3, " << ids.shape()[1] << "], next text position delta "
            << mrope_position_delta(ids) << "\n";

  plot::write_png(out + "/video_mrope_ids.png", plot::mrope_ids_picture(ids));
  // Cosine similarity of the centre patch of frame 0 with every token, one panel per frame, one colour scale.
  const Tensor table = sincos_3d_table({.grid = grid, .dim = dim});
  const std::size_t centre = static_cast<std::size_t>((grid.h / 2) * grid.w + grid.w / 2);
  std::vector<double> sim(static_cast<std::size_t>(n));
  for (std::size_t j = 0; j < sim.size(); ++j) {
    double dot = 0, na = 0, nb = 0;
    for (std::size_t c = 0; c < table.shape()[1]; ++c) {
      dot += static_cast<double>(table(centre, c)) * table(j, c);
      na += static_cast<double>(table(centre, c)) * table(centre, c);
      nb += static_cast<double>(table(j, c)) * table(j, c);
    }
    sim[j] = dot / std::sqrt(na * nb);
  }
  const double lo = *std::min_element(sim.begin(), sim.end()), hi = 1.0;
  std::vector<plot::Image> frames;
  const std::size_t per_frame = static_cast<std::size_t>(grid.h * grid.w);
  for (std::int64_t t = 0; t < grid.t; ++t)
    frames.push_back(plot::heatmap(std::vector<double>(sim.begin() + t * per_frame, sim.begin() + (t + 1) * per_frame),
                                   static_cast<int>(grid.h), static_cast<int>(grid.w), 12, lo, hi));
  plot::write_png(out + "/video_sincos3d.png", plot::hstack(frames, 6));
  std::cout << "wrote " << out << "/video_mrope_ids.png (t | h | w ids) and " << out
            << "/video_sincos3d.png (3D sin-cos similarity to the centre of frame 0, frames 0-3)\n";
  return 0;
}
