// Pictures of trained image position modules (`posenc train` on an image task: digits, bright_left):
//   position_similarity.png  input-side kinds (learned_2d, sincos_2d, sinusoidal_1d): for each patch, the
//                            cosine similarity of its embedding to every patch's, one grid_h x grid_w map
//                            per patch laid out on the grid (the ViT paper's figure 7, centre)
//   position_bias.png        score-bias kinds (swin_bias, alibi_2d): the bias added to the score of the
//                            centre patch's query for every key, one grid map per head
//   position_*_GxG.png       bright_left: the same at the largest square evaluation grid up to 16x16 (each
//                            kind's transfer rule: resampled or recomputed table, resized bias table)
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>

#include "posenc/attention.hpp"
#include "posenc/image.hpp"
#include "train_cmd.hpp"

namespace posenc::cli {

using namespace posenc::train;

namespace {

/// Cosine similarity of row i to every row of a [N, D] block (rows first .. first + n).
std::vector<double> cosine_row(const float* rows, std::size_t n, std::size_t d, std::size_t i) {
  std::vector<double> out(n);
  auto dot = [&](std::size_t a, std::size_t b) {
    double s = 0;
    for (std::size_t c = 0; c < d; ++c) s += static_cast<double>(rows[a * d + c]) * rows[b * d + c];
    return s;
  };
  const double ni = std::sqrt(dot(i, i)) + 1e-12;
  for (std::size_t j = 0; j < n; ++j) out[j] = dot(i, j) / (ni * (std::sqrt(dot(j, j)) + 1e-12));
  return out;
}

plot::Image similarity_grid(const Tensor& input_add, std::size_t prefix, int gh, int gw, const std::string& kind) {
  const std::size_t d = input_add.shape()[2], n = static_cast<std::size_t>(gh * gw);
  const float* rows = input_add.data() + prefix * d;
  const int cell = std::max(3, 48 / std::max(gh, gw));
  std::vector<plot::Image> lines;
  for (int y = 0; y < gh; ++y) {
    std::vector<plot::Image> panels;
    for (int x = 0; x < gw; ++x) {
      const auto i = static_cast<std::size_t>(y * gw + x);
      panels.push_back(plot::heatmap(cosine_row(rows, n, d, i), gh, gw,
                                     plot::HeatmapStyle{.cell = cell, .lo = -1.0, .hi = 1.0, .ticks = false,
                                                        .colorbar = false, .diverging = true}));
    }
    lines.push_back(plot::hstack(panels, 3));
  }
  plot::Image body = plot::vertical(lines, 3);
  plot::Image out(body.width + 90, body.height);
  out.place(body, 0, 0);
  plot::colorbar(out, body.width + 16, 10, std::max(60, body.height - 20), -1.0, 1.0, "cosine similarity", true);
  return plot::titled(out, "Position embedding similarity (" + kind + "): patch (row, col) vs every patch", 12);
}

}  // namespace

namespace {

/// position_similarity<suffix>.png / position_bias<suffix>.png of `pm` built at a gh x gw grid.
void grid_pictures(const PositionModule& pm, const ModelConfig& c, int gh, int gw, const std::string& suffix,
                   const std::function<void(const std::string&, const plot::Image&)>& write) {
  const std::int64_t prefix = c.pooling == Pooling::cls ? 1 : 0;
  const PositionInput in{.positions = grid_positions(gh, gw, prefix), .prefix_tokens = prefix};
  const Encoding e = pm.build(in);
  const std::string at = suffix.empty() ? "" : " at " + std::to_string(gh) + "x" + std::to_string(gw);
  if (is_set(e.input_add))
    write("position_similarity" + suffix + ".png",
          similarity_grid(e.input_add, static_cast<std::size_t>(prefix), gh, gw, pm.kind() + at));
  if (e.biases.empty()) return;
  // Zero queries and keys: the scores are the bias alone. Query: the centre patch.
  const auto h = static_cast<std::size_t>(c.heads), dh = static_cast<std::size_t>(c.d_model / c.heads);
  const std::size_t n = static_cast<std::size_t>(prefix + gh * gw);
  Tensor q = Tensor::from_shape({1, h, n, dh});
  q.fill(0.0f);
  const Tensor s = attention_scores(q, q, e, AttentionOptions{});
  const std::size_t i = static_cast<std::size_t>(prefix + (gh / 2) * gw + gw / 2);
  std::vector<plot::Image> panels;
  for (std::size_t hh = 0; hh < h; ++hh) {
    std::vector<double> v(static_cast<std::size_t>(gh * gw));
    for (std::size_t j = 0; j < v.size(); ++j) v[j] = s.data()[(hh * n + i) * n + static_cast<std::size_t>(prefix) + j];
    panels.push_back(plot::heatmap(v, gh, gw,
                                   plot::HeatmapStyle{.title = "head " + std::to_string(hh), .x_label = "column",
                                                      .y_label = hh == 0 ? "row" : "", .colorbar_label = "bias",
                                                      .cell = std::max(8, 96 / std::max(gh, gw))}));
  }
  write("position_bias" + suffix + ".png",
        plot::titled(plot::hstack(panels, 8), "Score bias (" + pm.kind() + at + ") of the query at patch (" +
                                                  std::to_string(gh / 2) + ", " + std::to_string(gw / 2) + ")", 12));
}

}  // namespace

void image_pictures(const TransformerTrunk& trunk, const Task& task, const std::string& dir,
                    std::vector<std::string>& written) {
  namespace fs = std::filesystem;
  if (task.grid_height < 1 || task.grid_width < 1) return;
  auto write = [&](const std::string& name, const plot::Image& img) {
    plot::write_png((fs::path(dir) / name).string(), img);
    written.push_back(name);
  };
  const PositionModule& pm = trunk.position(0);
  grid_pictures(pm, trunk.config(), static_cast<int>(task.grid_height), static_cast<int>(task.grid_width), "", write);
  // Resolution transfer (bright_left): the same pictures at the largest square evaluation grid,
  // where each kind applies its rule (resampled table, new sin-cos table, resized bias table ...).
  std::int64_t side = 0;
  for (const auto& ls : task.lengths) {
    const auto g = static_cast<std::int64_t>(std::llround(std::sqrt(static_cast<double>(ls.length))));
    if (g * g == ls.length && g > side && g <= 16) side = g;
  }
  if (side > task.grid_height && task.grid_height == task.grid_width)
    grid_pictures(pm, trunk.config(), static_cast<int>(side), static_cast<int>(side),
                  "_" + std::to_string(side) + "x" + std::to_string(side), write);
}

}  // namespace posenc::cli
