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

plot::Image vstack(const std::vector<plot::Image>& panels, int gap) {
  int w = 0, h = 0;
  for (const auto& p : panels) {
    w = std::max(w, p.width);
    h += p.height + (h > 0 ? gap : 0);
  }
  plot::Image out(w, h);
  int y0 = 0;
  for (const auto& p : panels) {
    for (int y = 0; y < p.height; ++y)
      std::copy_n(p.rgb.data() + static_cast<std::size_t>(y) * p.width * 3, static_cast<std::size_t>(p.width) * 3,
                  out.rgb.data() + (static_cast<std::size_t>(y0 + y) * w) * 3);
    y0 += p.height + gap;
  }
  return out;
}

plot::Image curves_picture(const TrainResult& r) {
  std::vector<double> tl, vl, ta, va;
  for (const auto& m : r.history) {
    tl.push_back(m.train_loss);
    vl.push_back(m.val_loss);
    ta.push_back(m.train_accuracy);
    va.push_back(m.val_accuracy);
  }
  if (tl.size() == 1) {  // a chart needs two points
    tl.push_back(tl[0]), vl.push_back(vl[0]), ta.push_back(ta[0]), va.push_back(va[0]);
  }
  // Blue: training, orange: validation; left loss, right accuracy.
  return plot::hstack({plot::line_chart({tl, vl}, 420, 240), plot::line_chart({ta, va}, 420, 240)});
}

std::vector<std::string> position_pictures(const TransformerTrunk& trunk, std::int64_t length, const std::string& dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> written;
  const PositionModule& pm = trunk.position(0);
  const Encoding e = pm.build(text_positions(length));
  const auto n = static_cast<std::size_t>(length);
  auto write = [&](const std::string& name, const plot::Image& img) {
    plot::write_png((fs::path(dir) / name).string(), img);
    written.push_back(name);
  };
  if (is_set(e.input_add)) {
    const std::size_t d = e.input_add.shape()[e.input_add.dimension() - 1];
    write("position_similarity.png", plot::heatmap(cosine_matrix(e.input_add.data(), n, d), static_cast<int>(n),
                                                   static_cast<int>(n), cell_for(n), -1.0, 1.0));
    if (pm.kind() == "continuous_mlp" || pm.kind() == "learned_fourier") {
      std::vector<std::vector<double>> series(std::min<std::size_t>(8, d), std::vector<double>(n));
      for (std::size_t c = 0; c < series.size(); ++c)
        for (std::size_t i = 0; i < n; ++i) series[c][i] = e.input_add.data()[i * d + c];
      write("position_curves.png", plot::line_chart(series, 480, 240));
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
    write("position_bias.png", plot::line_chart(series, 480, 240));
  }
  return written;
}

plot::Image attention_picture(const TransformerTrunk& trunk, std::size_t sample) {
  const auto maps = trunk.last_attention_weights();
  std::vector<plot::Image> rows;
  for (const Tensor& w : maps) {
    const std::size_t h = w.shape()[1], n = w.shape()[2];
    std::vector<plot::Image> panels;
    for (std::size_t hh = 0; hh < h; ++hh) {
      const float* p = w.data() + ((sample * h + hh) * n) * n;
      panels.push_back(plot::heatmap(std::vector<double>(p, p + n * n), static_cast<int>(n), static_cast<int>(n),
                                     std::max(1, cell_for(n) / 3), 0.0, 0.0));
    }
    rows.push_back(plot::hstack(panels, 6));
  }
  return vstack(rows, 10);
}

}  // namespace posenc::cli
