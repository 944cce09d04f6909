// Pictures of a trained model for `posenc train`: curves, the position module's tables and
// biases, attention maps (PNG through plot.hpp).
#include <algorithm>
#include <cmath>
#include <filesystem>

#include "posenc/attention.hpp"
#include "posenc/text.hpp"
#include "train_cmd.hpp"

namespace posenc::cli {

using namespace posenc::train;

namespace {

/// Cosine similarity of every pair of rows of a [N, D] block.
std::vector<double> cosine_matrix(const float* rows, std::size_t n, std::size_t d) {
  std::vector<double> norm(n, 0.0), out(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t c = 0; c < d; ++c) norm[i] += static_cast<double>(rows[i * d + c]) * rows[i * d + c];
    norm[i] = std::sqrt(norm[i]) + 1e-12;
  }
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      double dot = 0;
      for (std::size_t c = 0; c < d; ++c) dot += static_cast<double>(rows[i * d + c]) * rows[j * d + c];
      out[i * n + j] = dot / (norm[i] * norm[j]);
    }
  return out;
}

int cell_for(std::size_t n) { return std::max(2, static_cast<int>(256 / std::max<std::size_t>(1, n))); }

}  // namespace

plot::Image vstack(const std::vector<plot::Image>& panels, int gap) { return plot::vertical(panels, gap); }

plot::Image curves_picture(const TrainResult& r) {
  std::vector<double> tl, vl, ta, va;
  for (const auto& m : r.history) {
    tl.push_back(m.train_loss);
    vl.push_back(m.val_loss);
    ta.push_back(m.train_accuracy);
    va.push_back(m.val_accuracy);
  }
  plot::ChartStyle loss{.title = "Loss", .x_label = "epoch", .y_label = "cross-entropy (nats)",
                        .legend = {"training", "validation"}, .width = 420, .height = 260, .x_first = 1};
  plot::ChartStyle acc = loss;
  acc.title = "Accuracy";
  acc.y_label = "token accuracy";
  return plot::hstack({plot::line_chart({tl, vl}, loss), plot::line_chart({ta, va}, acc)});
}

std::vector<std::string> position_pictures(const TransformerTrunk& trunk, std::int64_t length, const std::string& dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> written;
  const PositionModule& pm = trunk.position(0);
  const Encoding e = pm.build(PositionInput{.positions = text_positions(length)});
  const auto n = static_cast<std::size_t>(length);
  auto write = [&](const std::string& name, const plot::Image& img) {
    plot::write_png((fs::path(dir) / name).string(), img);
    written.push_back(name);
  };
  if (is_set(e.input_add)) {
    const std::size_t d = e.input_add.shape()[e.input_add.dimension() - 1];
    write("position_similarity.png",
          plot::heatmap(cosine_matrix(e.input_add.data(), n, d), static_cast<int>(n), static_cast<int>(n),
                        plot::HeatmapStyle{.title = "Position table (" + pm.kind() + "): cosine similarity",
                                           .x_label = "position j", .y_label = "position i",
                                           .colorbar_label = "cosine similarity", .cell = cell_for(n), .lo = -1.0,
                                           .hi = 1.0, .diverging = true}));
    if (pm.kind() == "continuous_mlp" || pm.kind() == "learned_fourier") {
      std::vector<std::vector<double>> series(std::min<std::size_t>(8, d), std::vector<double>(n));
      for (std::size_t c = 0; c < series.size(); ++c)
        for (std::size_t i = 0; i < n; ++i) series[c][i] = e.input_add.data()[i * d + c];
      std::vector<std::string> names;
      for (std::size_t c = 0; c < series.size(); ++c) names.push_back("channel " + std::to_string(c));
      write("position_curves.png", plot::line_chart(series, plot::ChartStyle{.title = "Position encoding (" + pm.kind() + ")",
                                                                             .x_label = "position", .y_label = "value",
                                                                             .legend = names, .width = 560, .height = 300}));
    }
  }
  if (!e.biases.empty() && (pm.kind() == "relative_bias" || pm.kind() == "t5" || pm.kind() == "alibi")) {
    // Scores of zero queries and keys are the bias alone: one series per head, query in the middle,
    // keys at distances -N/2 .. N/2 - 1 (the LM's causal forms are drawn as built).
    const auto& c = trunk.config();
    const auto h = static_cast<std::size_t>(c.heads), dh = static_cast<std::size_t>(c.d_model / c.heads);
    Tensor q = Tensor::from_shape({1, h, n, dh});
    q.fill(0.0f);
    const Tensor s = attention_scores(q, q, e, AttentionOptions{});
    const std::size_t i = n / 2;
    std::vector<std::vector<double>> series(h, std::vector<double>(n));
    for (std::size_t hh = 0; hh < h; ++hh)
      for (std::size_t j = 0; j < n; ++j) series[hh][j] = s.data()[(hh * n + i) * n + j];
    std::vector<std::string> names;
    for (std::size_t hh = 0; hh < h; ++hh) names.push_back("head " + std::to_string(hh));
    write("position_bias.png",
          plot::line_chart(series, plot::ChartStyle{.title = "Score bias (" + pm.kind() + "), query at position " +
                                                                 std::to_string(i),
                                                    .x_label = "key position j", .y_label = "bias added to the score",
                                                    .legend = names, .width = 560, .height = 300}));
  }
  return written;
}

plot::Image attention_picture(const TransformerTrunk& trunk, std::size_t sample) {
  const auto maps = trunk.last_attention_weights();
  std::vector<plot::Image> rows;
  for (std::size_t layer = 0; layer < maps.size(); ++layer) {
    const Tensor& w = maps[layer];
    const std::size_t h = w.shape()[1], n = w.shape()[2];
    std::vector<plot::Image> panels;
    const float* first = w.data() + sample * h * n * n;
    const double top = std::max(1e-6, static_cast<double>(*std::max_element(first, first + h * n * n)));
    for (std::size_t hh = 0; hh < h; ++hh) {
      const float* p = first + hh * n * n;
      // The heads of a layer share [0, its largest weight]: the colorbar closes the row.
      panels.push_back(plot::heatmap(
          std::vector<double>(p, p + n * n), static_cast<int>(n), static_cast<int>(n),
          plot::HeatmapStyle{.title = "layer " + std::to_string(layer) + ", head " + std::to_string(hh),
                             .x_label = "key", .y_label = hh == 0 ? "query" : "", .colorbar_label = "weight",
                             .cell = std::max(3, cell_for(n) / 2), .lo = 0.0, .hi = top, .colorbar = hh + 1 == h}));
    }
    rows.push_back(plot::hstack(panels, 6));
  }
  return plot::titled(plot::vertical(rows, 10), "Attention weights (sample " + std::to_string(sample) + ")");
}

std::vector<std::string> feature_pictures(const TransformerTrunk& trunk, const Task& task, const std::string& dir) {
  std::vector<std::string> written;
  image_pictures(trunk, task, dir, written);
  graph_pictures(trunk, task, dir, written);
  sphere_pictures(trunk, task, dir, written);
  tabular_pictures(trunk, task, dir, written);
  return written;
}

}  // namespace posenc::cli
