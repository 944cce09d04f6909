// Pictures of trained graph position modules (`posenc train` on a graph task):
//   spatial_bias.png   the learned spatial bias table[h, bucket] per head against the hop count
//                      (buckets 0 .. max_hops, then "unreachable" and "graph token" as the last two x)
//   degree_norm.png    the L2 norm of the degree embedding row per degree (0 .. max_degree)
#include <cmath>

#include "plot.hpp"
#include "train_cmd.hpp"

namespace posenc::cli {

namespace {

/// The trained parameter whose name ends with `stem` ("spatial_table", "degree_table"), or null.
const Tensor* find_parameter(const posenc::train::TransformerTrunk& trunk, const std::string& stem) {
  std::vector<posenc::train::Parameter> params;
  // parameters() only collects pointers (gradients are already shaped after training): read-only use.
  const_cast<posenc::train::PositionModule&>(trunk.position()).parameters("", params);
  for (const auto& p : params)
    if (p.name.size() >= stem.size() && p.name.compare(p.name.size() - stem.size(), stem.size(), stem) == 0)
      return p.value;
  return nullptr;
}

}  // namespace

void graph_pictures(const posenc::train::TransformerTrunk& trunk, const posenc::train::Task& task,
                    const std::string& dir, std::vector<std::string>& written) {
  if (task.name.rfind("graph_", 0) != 0) return;
  if (const Tensor* t = find_parameter(trunk, "spatial_table"); t && t->dimension() == 2) {
    const std::size_t heads = t->shape()[0], cols = t->shape()[1];
    std::vector<std::vector<double>> series(heads);
    std::vector<std::string> legend;
    for (std::size_t h = 0; h < heads; ++h) {
      for (std::size_t c = 0; c < cols; ++c) series[h].push_back((*t)(h, c));
      legend.push_back("head " + std::to_string(h));
    }
    const std::string title = "Learned spatial bias per head (x = hops 0.." + std::to_string(cols - 3) + ", then " +
                              std::to_string(cols - 2) + " = unreachable, " + std::to_string(cols - 1) +
                              " = graph token)";
    plot::write_png(dir + "/spatial_bias.png",
                    plot::line_chart(series, plot::ChartStyle{.title = title, .x_label = "hop count (bucket)",
                                                              .y_label = "bias added to the logit", .legend = legend,
                                                              .width = 640, .height = 300}));
    written.push_back("spatial_bias.png");
  }
  if (const Tensor* t = find_parameter(trunk, "degree_table"); t && t->dimension() == 2) {
    const std::size_t rows = t->shape()[0], d = t->shape()[1];
    std::vector<double> norm(rows, 0.0);
    for (std::size_t r = 0; r < rows; ++r) {
      for (std::size_t k = 0; k < d; ++k) norm[r] += static_cast<double>((*t)(r, k)) * (*t)(r, k);
      norm[r] = std::sqrt(norm[r]);
    }
    plot::write_png(dir + "/degree_norm.png",
                    plot::line_chart({norm}, plot::ChartStyle{.title = "Degree embedding norm (last row: >= " +
                                                                         std::to_string(rows - 1) + ")",
                                                              .x_label = "degree", .y_label = "||z_deg||_2"}));
    written.push_back("degree_norm.png");
  }
}

}  // namespace posenc::cli
