// Pictures of trained tabular position modules (`posenc train` on a table_* task): the input part
// the module adds to each feature token (tabpet: alpha clip(PE) in the last P channels; learned_feature:
// its table), one row per feature named by the dataset's column.
#include "posenc/datasets.hpp"
#include "train_cmd.hpp"

namespace posenc::cli {

void tabular_pictures(const posenc::train::TransformerTrunk& trunk, const posenc::train::Task& task,
                      const std::string& dir, std::vector<std::string>& written) {
  using namespace posenc::train;
  if (task.name.rfind("table_", 0) != 0 || trunk.position_modules() != 1) return;
  PositionInput in = task.train.where;
  in.prefix_tokens = trunk.config().pooling == Pooling::cls ? 1 : 0;
  const Encoding e = trunk.position(0).build(in);
  if (!is_set(e.input_add)) return;
  const std::size_t prefix = static_cast<std::size_t>(in.prefix_tokens), n = static_cast<std::size_t>(task.length);
  const std::size_t d = e.input_add.shape()[2];
  std::vector<double> v(n * d);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t k = 0; k < d; ++k) v[i * d + k] = e.input_add(0, prefix + i, k);
  plot::HeatmapStyle s;
  s.title = task.name + ": " + trunk.position(0).kind() + " input part per feature token";
  s.x_label = "channel";
  s.y_label = "feature";
  if (task.name != "table_csv") s.y_names = load_dataset(task.name.substr(6)).columns;
  s.cell = 10;
  s.diverging = true;
  s.colorbar_label = "added to the token";
  plot::write_png(dir + "/position_input.png", plot::heatmap(v, static_cast<int>(n), static_cast<int>(d), s));
  written.push_back("position_input.png");
}

}  // namespace posenc::cli
