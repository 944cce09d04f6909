// `posenc demo DIR`: every encoding's tables with default parameters (64 tokens) and one
// picture per modality (PNG + SVG, docs/gallery.md), staged and moved into DIR as a whole.
#include <unistd.h>

#include <cmath>
#include <complex>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "jobs.hpp"
#include "pictures.hpp"
#include "plot.hpp"
#include "posenc/graph.hpp"
#include "posenc/image.hpp"
#include "posenc/relative.hpp"
#include "posenc/rotary.hpp"
#include "posenc/tabular.hpp"
#include "posenc/text.hpp"
#include "cli.hpp"
#include "dir_report.hpp"
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

using plot::HeatmapStyle;
using plot::ChartStyle;

void save(Staging& out, const std::string& name, const plot::Image& img) { plot::write_png(out.file(name).string(), img); }

void text_pictures(Staging& out) {
  // The text modality's picture: sinusoid table | RoPE decay | ALiBi bias | T5 buckets.
  const Tensor sin_table = sinusoid_table(64, SinusoidOptions{.dim = 128, .layout = SinusoidLayout::blocked});
  const auto panel_sin = plot::heatmap(std::vector<double>(sin_table.begin(), sin_table.end()), 64, 128,
                                       HeatmapStyle{.title = "Sinusoidal table [sin | cos], d = 128",
                                                    .x_label = "channel", .y_label = "position",
                                                    .colorbar_label = "value", .cell = 3, .diverging = true});
  const auto panel_rope = plot::line_chart(
      {rope_decay(128, 256)}, ChartStyle{.title = "RoPE long-term decay (d = 128, base 10000)",
                                         .x_label = "relative distance", .y_label = "relative upper bound",
                                         .width = 420, .height = 260});
  std::vector<double> alibi_v(32 * 32);
  const double m = alibi_slopes(8)[2];
  for (int i = 0; i < 32; ++i)
    for (int j = 0; j < 32; ++j) alibi_v[i * 32 + j] = j <= i ? -m * (i - j) : NAN;
  const auto panel_alibi = plot::heatmap(alibi_v, 32, 32,
                                         HeatmapStyle{.title = "ALiBi bias, head 3 of 8 (causal)", .x_label = "key",
                                                      .y_label = "query", .colorbar_label = "bias", .cell = 6,
                                                      .masked_note = "grey: masked (future keys)"});
  const ITensor buckets = t5_bucket_matrix(text_positions(48), text_positions(48), T5Options{});
  const auto panel_t5 = plot::heatmap(std::vector<double>(buckets.begin(), buckets.end()), 48, 48,
                                      HeatmapStyle{.title = "T5 relative buckets (32, max distance 128)",
                                                   .x_label = "key", .y_label = "query", .colorbar_label = "bucket",
                                                   .cell = 4});
  save(out, "text.png", plot::hstack({panel_sin, panel_rope, panel_alibi, panel_t5}));
  save(out, "text_sinusoid.png", panel_sin);
  save(out, "text_rope_decay.png", panel_rope);
  save(out, "text_alibi.png", panel_alibi);
  save(out, "text_t5_buckets.png", panel_t5);
}

void relative_pictures(Staging& out) {
  // The relative family: Shaw's clipped relation, TENER's direction-aware sinusoid, DA-Transformer's rescaling.
  const DTensor p32 = text_positions(32);
  const ShawOptions so{.clip = 4};
  const Encoding sh = shaw(p32, p32, shaw_init(so, 1, 4, 4), so);
  const ITensor shaw_rel = relation_indices(sh.content_position[0].relation);
  const auto panel_shaw = plot::heatmap(std::vector<double>(shaw_rel.begin(), shaw_rel.end()), 32, 32,
                                        HeatmapStyle{.title = "Shaw relation index (clip 4)", .x_label = "key",
                                                     .y_label = "query", .colorbar_label = "table row", .cell = 6});
  const Tensor tener_r = tener_sinusoid(-32, 32, 32);
  const auto panel_tener = plot::heatmap(std::vector<double>(tener_r.begin(), tener_r.end()), 65, 32,
                                         HeatmapStyle{.title = "TENER sinusoid", .x_label = "channel",
                                                      .y_label = "relative distance", .colorbar_label = "value",
                                                      .cell = 3, .y_first = -32, .diverging = true});
  std::vector<std::vector<double>> curves;
  std::vector<std::string> names;
  for (auto [v, w] : std::vector<std::pair<float, float>>{{0.f, 0.5f}, {1.f, 0.2f}, {2.f, 0.1f}, {1.f, -0.2f}, {0.f, -0.5f}}) {
    DaParams da;
    da.v = Tensor::from_shape({1});
    da.w = Tensor::from_shape({1});
    da.v(0) = v;
    da.w(0) = w;
    const Tensor r = da_rescaling(da, 40);
    curves.emplace_back(r.begin(), r.end());
    char buf[48];
    std::snprintf(buf, sizeof buf, "v = %g, w = %g", static_cast<double>(v), static_cast<double>(w));
    names.emplace_back(buf);
  }
  const auto panel_da = plot::line_chart(curves, ChartStyle{.title = "DA-Transformer rescaling", .x_label = "distance",
                                                            .y_label = "multiplier", .legend = names, .width = 420,
                                                            .height = 260});
  save(out, "text_relative.png", plot::hstack({panel_shaw, panel_tener}));
  save(out, "text_da_curves.png", panel_da);
}

void grid_pictures(Staging& out) {
  // The image modality's picture: cosine similarity of each patch's 2D sin-cos encoding with every other
  // patch (the classic ViT figure), 8 x 8 grid, D = 64, MAE layout; then the Swin 7x7 relative index.
  const Tensor pe = sincos_2d_table({.height = 8, .width = 8, .dim = 64});
  const auto panel_sim = plot::titled(plot::similarity_grid(pe, 8, 8), "2D sin-cos (MAE), 8 x 8 patches, D = 64", 12.5);
  const ITensor swin = relative_position_index_2d(7, 7);
  const auto panel_swin = plot::heatmap(std::vector<double>(swin.begin(), swin.end()), 49, 49,
                                        HeatmapStyle{.title = "Swin relative position index, 7 x 7 window",
                                                     .x_label = "key patch", .y_label = "query patch",
                                                     .colorbar_label = "table row", .cell = 4});
  save(out, "image.png", plot::hstack({panel_sim, panel_swin}));
  save(out, "image_sincos_similarity.png", panel_sim);
  save(out, "image_swin_index.png", panel_swin);

  // Video: M-RoPE ids of text | image 4x6 patches | text | video 2x4x4 | text (merge 2), Qwen2-VL.
  const auto panel_mrope = plot::mrope_ids_picture(plot::demo_mrope_ids());
  save(out, "video.png", panel_mrope);
  save(out, "video_mrope_ids.png", panel_mrope);

  // Spectrogram: patch coverage of AST's 16x16 / stride 10 patches over 128 bins x 100 frames, and
  // the cosine similarity of the per-axis sin-cos encoding on a 12 x 12 patch grid (time temperature 100).
  const auto panel_cover = plot::patch_coverage({}, 100, 2);
  const SpectrogramGrid sg{.f_dim = 12, .t_dim = 12};
  const Tensor st = spectrogram_sincos_table(sg, {.dim = 32}, {.dim = 32, .temperature = 100.0}, 0);
  const auto panel_ssim = plot::titled(plot::similarity_grid(st, 12, 12, 2, 1), "Per-axis sin-cos, 12 x 12 patches", 12.5);
  save(out, "spectrogram.png", plot::hstack({panel_cover, panel_ssim}));
  save(out, "spectrogram_patches.png", panel_cover);
}

void sphere_and_graph_pictures(Staging& out) {
  // Sphere: real spherical harmonics Y_1^0, Y_2^1, Y_4^-3, Y_8^5 on a 90 x 180 world map, and the
  // geodesic ALiBi bias (head 1 of 8) from Paris to every cell.
  std::vector<plot::Image> sh_panels;
  for (auto [l, m] : std::vector<std::pair<int, int>>{{1, 0}, {2, 1}, {4, -3}, {8, 5}})
    sh_panels.push_back(plot::titled(plot::world_map(plot::harmonic_on_grid(l, m, 90, 180), 90, 180, 1),
                                     "Y_" + std::to_string(l) + "^" + std::to_string(m), 12.5));
  const auto panel_sh = plot::hstack(sh_panels, 6);
  const auto panel_geo = plot::titled(
      plot::world_map(plot::geodesic_bias_on_grid(2.35, 48.85, 90, 180, 8, 1), 90, 180, 1, false),
      "Geodesic ALiBi bias from Paris (head 2 of 8)", 12.5);
  save(out, "sphere.png", plot::hstack({panel_sh, panel_geo}));
  save(out, "sphere_harmonics.png", panel_sh);
  save(out, "sphere_geodesic_bias.png", panel_geo);

  // Graph: the karate club drawn by a spring layout, coloured by the first non-trivial eigenvector of
  // the symmetric Laplacian | its hop-distance matrix.
  const Graph karate = plot::karate_club();
  const LaplacianPe lap = laplacian_pe(karate, {.k = 2});
  std::vector<double> fiedler(34);
  for (std::size_t i = 0; i < 34; ++i) fiedler[i] = lap.vectors(i, 0);
  const ITensor hops = shortest_path_hops(karate);
  const auto panel_graph = plot::titled(plot::graph_drawing(karate, fiedler, 272, "Laplacian eigenvector 1"),
                                        "Karate club, Laplacian PE", 12.5);
  const auto panel_hops = plot::heatmap(std::vector<double>(hops.begin(), hops.end()), 34, 34,
                                        HeatmapStyle{.title = "Shortest-path hops", .x_label = "node",
                                                     .y_label = "node", .colorbar_label = "hops", .cell = 8});
  save(out, "graph.png", plot::hstack({panel_graph, panel_hops}));
}

// Tabular: Tab-PET on the wine table of the source tree (examples/data/wine.csv; skipped when the
// binary runs away from its source tree). Returns the line to print.
std::string tabular_pictures(Staging& out) {
  const fs::path csv = fs::path(POSENC_DEMO_DATA) / "wine.csv";
  if (!fs::exists(csv)) return "tabular: no pictures (" + csv.string() + " not found)";
  const TabPet spearman = tabpet(read_table_csv(csv.string()));
  const TabPet chowliu = tabpet(read_table_csv(csv.string()), {.graph = {.method = FeatureGraphMethod::chowliu}});
  const auto& names = spearman.features.names;
  const int F = static_cast<int>(names.size());
  std::vector<double> w(spearman.graph.weights.begin(), spearman.graph.weights.end());
  const auto panel_w = plot::heatmap(w, F, F,
                                     HeatmapStyle{.title = "Spearman feature graph W", .colorbar_label = "correlation",
                                                  .cell = 14, .lo = -1, .hi = 1, .x_names = names, .y_names = names,
                                                  .diverging = true});
  const Tensor& pe = spearman.pe.columns_pe;
  const int C = static_cast<int>(pe.shape()[0]), K = static_cast<int>(pe.shape()[1]);
  std::vector<std::string> eig;
  for (int j = 0; j < K; ++j) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", spearman.pe.selected[static_cast<std::size_t>(j)]);
    eig.emplace_back(buf);
  }
  const auto panel_pe = plot::heatmap(std::vector<double>(pe.begin(), pe.end()), C, K,
                                      HeatmapStyle{.title = "Tab-PET per column (k = " + std::to_string(spearman.pe.k) + ")",
                                                   .x_label = "eigenvalue", .colorbar_label = "z-scored value",
                                                   .cell = 14, .x_names = eig, .y_names = spearman.features.columns,
                                                   .diverging = true});
  std::vector<double> tree(chowliu.graph.weights.begin(), chowliu.graph.weights.end());
  const auto panel_tree = plot::heatmap(tree, F, F,
                                        HeatmapStyle{.title = "Chow-Liu tree W", .colorbar_label = "mutual information",
                                                     .cell = 14, .x_names = names, .y_names = names});
  save(out, "tabular.png", plot::hstack({panel_w, panel_pe, panel_tree}, 16));
  save(out, "tabular_spearman.png", panel_w);
  save(out, "tabular_pe.png", panel_pe);
  save(out, "tabular_chowliu.png", panel_tree);
  return "tabular: pictures " + (out.target() / "tabular.png").string() +
         " (wine: Spearman graph | Tab-PET per column | Chow-Liu tree)";
}

}  // namespace

int cmd_demo(const std::string& dir, bool force) {
  Staging out(dir, "demo: the output directory", force);
  const bool tty = ::isatty(STDOUT_FILENO);
  std::vector<std::string> lines;
  const auto& all = catalogue::entries();
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
  const std::string tabular_line = tabular_pictures(out);
  write_directory_report(out, "demo");
  out.commit();
  for (const auto& l : lines) std::cout << l << "\n";
  std::cout << "graph: pictures " << (out.target() / "graph.png").string()
            << " (karate club coloured by the Fiedler vector | hop distances)\n";
  std::cout << tabular_line << "\n";
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
