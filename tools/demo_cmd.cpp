// `posenc demo DIR`: every encoding's tables with default parameters (64 tokens) and one
// picture per modality, staged and moved into DIR as a whole.
#include <unistd.h>

#include <cmath>
#include <complex>
#include <filesystem>
#include <iostream>

#include "jobs.hpp"
#include "pictures.hpp"
#include "plot.hpp"
#include "posenc/graph.hpp"
#include "posenc/image.hpp"
#include "posenc/relative.hpp"
#include "posenc/rotary.hpp"
#include "posenc/text.hpp"
#include "registry.hpp"
#include "staging.hpp"

namespace posenc::cli {

namespace {

namespace fs = std::filesystem;

// RoPE's long-term decay (Su et al. 2021, section 3.4.3): the relative upper
// bound (1/(d/2)) sum_j |S_j|, S_j = sum_{k<j} exp(i r theta_k), against r.
std::vector<double> rope_decay(int head_dim, int max_distance) {
  const auto f = rope_frequencies(RopeOptions{.head_dim = head_dim}).inv_freq;
  std::vector<double> y(static_cast<std::size_t>(max_distance) + 1);
  for (int r = 0; r <= max_distance; ++r) {
    std::complex<double> s = 0;
    double total = 0;
    for (double theta : f) {
      s += std::polar(1.0, r * theta);
      total += std::abs(s);
    }
    y[static_cast<std::size_t>(r)] = total / static_cast<double>(f.size());
  }
  return y;
}

void text_pictures(Staging& out) {
  // The text modality's picture: sinusoid table | RoPE decay | ALiBi bias | T5 buckets.
  const Tensor sin_table = sinusoid_table(64, SinusoidOptions{.dim = 128, .layout = SinusoidLayout::blocked});
  std::vector<double> sv(sin_table.begin(), sin_table.end());
  const auto panel_sin = plot::heatmap(sv, 64, 128, 3);
  const auto panel_rope = plot::line_chart(rope_decay(128, 256), 384, 192);
  std::vector<double> alibi_v(32 * 32);
  const double m = alibi_slopes(8)[2];
  for (int i = 0; i < 32; ++i)
    for (int j = 0; j < 32; ++j) alibi_v[i * 32 + j] = j <= i ? -m * (i - j) : NAN;
  const auto panel_alibi = plot::heatmap(alibi_v, 32, 32, 6);
  const ITensor buckets = t5_bucket_matrix(text_positions(48), text_positions(48), T5Options{});
  std::vector<double> bv(buckets.begin(), buckets.end());
  const auto panel_t5 = plot::heatmap(bv, 48, 48, 4);
  plot::write_png(out.file("text.png").string(), plot::hstack({panel_sin, panel_rope, panel_alibi, panel_t5}));
  plot::write_png(out.file("text_sinusoid.png").string(), panel_sin);
  plot::write_png(out.file("text_rope_decay.png").string(), panel_rope);
  plot::write_png(out.file("text_alibi.png").string(), panel_alibi);
  plot::write_png(out.file("text_t5_buckets.png").string(), panel_t5);

}

void relative_pictures(Staging& out) {
  // The relative family: Shaw's clipped relation, TENER's direction-aware sinusoid, DA-Transformer's rescaling.
  const DTensor p32 = text_positions(32);
  const ShawOptions so{.clip = 4};
  const Encoding sh = shaw(p32, p32, shaw_init(so, 1, 4, 4), so);
  const ITensor shaw_rel = relation_indices(sh.content_position[0].relation);
  const auto panel_shaw = plot::heatmap(std::vector<double>(shaw_rel.begin(), shaw_rel.end()), 32, 32, 6);
  const Tensor tener_r = tener_sinusoid(-32, 32, 32);
  const auto panel_tener = plot::heatmap(std::vector<double>(tener_r.begin(), tener_r.end()), 65, 32, 3);
  std::vector<std::vector<double>> curves;
  for (auto [v, w] : std::vector<std::pair<float, float>>{{0.f, 0.5f}, {1.f, 0.2f}, {2.f, 0.1f}, {1.f, -0.2f}, {0.f, -0.5f}}) {
    DaParams da;
    da.v = Tensor::from_shape({1});
    da.w = Tensor::from_shape({1});
    da.v(0) = v;
    da.w(0) = w;
    const Tensor r = da_rescaling(da, 40);
    curves.emplace_back(r.begin(), r.end());
  }
  const auto panel_da = plot::line_chart(curves, 384, 192);
  plot::write_png(out.file("text_relative.png").string(), plot::hstack({panel_shaw, panel_tener}));
  plot::write_png(out.file("text_da_curves.png").string(), panel_da);

}

void grid_pictures(Staging& out) {
  // The image modality's picture: cosine similarity of each patch's 2D sin-cos encoding with every other
  // patch (the classic ViT figure), 8 x 8 grid, D = 64, MAE layout; then the Swin 7x7 relative index.
  const Tensor pe = sincos_2d_table({.height = 8, .width = 8, .dim = 64});
  const auto panel_sim = plot::similarity_grid(pe, 8, 8);
  const ITensor swin = relative_position_index_2d(7, 7);
  const auto panel_swin = plot::heatmap(std::vector<double>(swin.begin(), swin.end()), 49, 49, 4);
  plot::write_png(out.file("image.png").string(), plot::hstack({panel_sim, panel_swin}));
  plot::write_png(out.file("image_sincos_similarity.png").string(), panel_sim);
  plot::write_png(out.file("image_swin_index.png").string(), panel_swin);

  // Video: M-RoPE ids of text | image 4x6 patches | text | video 2x4x4 | text (merge 2), Qwen2-VL.
  const DTensor ids = plot::demo_mrope_ids();
  const auto panel_mrope = plot::mrope_ids_picture(ids);
  plot::write_png(out.file("video.png").string(), panel_mrope);
  plot::write_png(out.file("video_mrope_ids.png").string(), panel_mrope);

  // Spectrogram: patch coverage of AST's 16x16 / stride 10 patches over 128 bins x 100 frames, and
  // the cosine similarity of the per-axis sin-cos encoding on a 12 x 12 patch grid (time temperature 100).
  const auto panel_cover = plot::patch_coverage({}, 100, 2);
  const SpectrogramGrid sg{.f_dim = 12, .t_dim = 12};
  const Tensor st = spectrogram_sincos_table(sg, {.dim = 32}, {.dim = 32, .temperature = 100.0}, 0);
  const auto panel_ssim = plot::similarity_grid(st, 12, 12, 2, 1);
  plot::write_png(out.file("spectrogram.png").string(), plot::hstack({panel_cover, panel_ssim}));
  plot::write_png(out.file("spectrogram_patches.png").string(), panel_cover);

}

void sphere_and_graph_pictures(Staging& out) {
  // Sphere: real spherical harmonics Y_1^0, Y_2^1, Y_4^-3, Y_8^5 on a 90 x 180 world map, and the
  // geodesic ALiBi bias (head 1 of 8) from Paris to every cell.
  std::vector<plot::Image> sh_panels;
  for (auto [l, m] : std::vector<std::pair<int, int>>{{1, 0}, {2, 1}, {4, -3}, {8, 5}})
    sh_panels.push_back(plot::world_map(plot::harmonic_on_grid(l, m, 90, 180), 90, 180, 1));
  const auto panel_sh = plot::hstack(sh_panels, 6);
  const auto panel_geo = plot::world_map(plot::geodesic_bias_on_grid(2.35, 48.85, 90, 180, 8, 1), 90, 180, 1, false);
  plot::write_png(out.file("sphere.png").string(), plot::hstack({panel_sh, panel_geo}));
  plot::write_png(out.file("sphere_harmonics.png").string(), panel_sh);
  plot::write_png(out.file("sphere_geodesic_bias.png").string(), panel_geo);

  // Graph: the karate club drawn by a spring layout, coloured by the first non-trivial eigenvector of
  // the symmetric Laplacian | its hop-distance matrix.
  const Graph karate = plot::karate_club();
  const LaplacianPe lap = laplacian_pe(karate, {.k = 2});
  std::vector<double> fiedler(34);
  for (std::size_t i = 0; i < 34; ++i) fiedler[i] = lap.vectors(i, 0);
  const ITensor hops = shortest_path_hops(karate);
  const auto panel_graph = plot::graph_drawing(karate, fiedler, 272);
  const auto panel_hops = plot::heatmap(std::vector<double>(hops.begin(), hops.end()), 34, 34, 8);
  plot::write_png(out.file("graph.png").string(), plot::hstack({panel_graph, panel_hops}));
}

}  // namespace

int cmd_demo(const std::string& dir, bool force) {
  Staging out(dir, "demo: the output directory", force);
  const bool tty = ::isatty(STDOUT_FILENO);
  std::vector<std::string> lines;
  const auto& all = registry();
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (tty) std::cout << "\r[" << i + 1 << "/" << all.size() << "] " << all[i].name << "        " << std::flush;
    Job job = build_job("demo", all[i].name, {}, {{"tokens", "64"}});
    write_job("demo", out, all[i].name + "/", job);
    lines.push_back(summary_line(job) + " -> " + (out.target() / all[i].name).string());
  }
  if (tty) std::cout << "\r" << std::string(40, ' ') << "\r";

  text_pictures(out);
  relative_pictures(out);
  grid_pictures(out);
  sphere_and_graph_pictures(out);
  out.commit();
  for (const auto& l : lines) std::cout << l << "\n";
  std::cout << "graph: pictures " << (out.target() / "graph.png").string()
            << " (karate club coloured by the Fiedler vector | hop distances)\n";
  std::cout << "video: pictures " << (out.target() / "video.png").string()
            << " (M-RoPE ids t/h/w of text | image | text | video | text)\n";
  std::cout << "spectrogram: pictures " << (out.target() / "spectrogram.png").string()
            << " (AST patch coverage 16x16 stride 10 | per-axis sin-cos similarity)\n";
  std::cout << "sphere: pictures " << (out.target() / "sphere.png").string()
            << " (Y_1^0, Y_2^1, Y_4^-3, Y_8^5 | geodesic ALiBi bias from Paris)\n";
  std::cout << "image: pictures " << (out.target() / "image.png").string()
            << " (2D sin-cos cosine similarity per patch | Swin 7x7 relative position index)\n";
  std::cout << "text: pictures " << (out.target() / "text.png").string()
            << " (sinusoid table [sin | cos] | RoPE long-term decay | ALiBi head 3 | T5 buckets), text_relative.png,"
            << " text_da_curves.png\n";
  return 0;
}


}  // namespace posenc::cli
