// Pictures of a model trained on a sphere task (`posenc train --task sphere_field`):
//   field_map.png   world maps (equirectangular, 32 x 64 cells of 5.625 degrees, north up, longitude
//                   -180 .. 180 left to right): the true field, the model's field and their difference,
//                   on the task's grid set (Task::lengths[0]: every cell once, in samples of 128 points)
//   field_error.png the root-mean-square error of the model's field per latitude band and per longitude column
//   slopes.png      geodesic_alibi with learnable slopes: the bias -m_h d against the great-circle angle
// The model's field needs the input layer and head, not only the trunk: it is read back from the best
// checkpoint that `posenc train` saved next to the pictures (DIR/checkpoint).
#include <cmath>
#include <filesystem>
#include <numbers>

#include "plot.hpp"
#include "train_cmd.hpp"

namespace posenc::cli {

namespace {

using posenc::train::FeatureTransformer;
using posenc::train::Task;

constexpr int kRows = 32, kCols = 64;
constexpr double kCell = 180.0 / kRows;  // 5.625 degrees

/// Scatter per-point values of the grid set back onto the kRows x kCols map (row 0 north).
std::vector<double> to_map(const Task& task, const Tensor& values) {
  const DTensor& p = task.lengths[0].data.where.positions;
  std::vector<double> map(static_cast<std::size_t>(kRows * kCols), NAN);
  const double deg = 180.0 / std::numbers::pi;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const long row = std::lround((90.0 - p.data()[2 * i + 1] * deg) / kCell - 0.5);
    const long col = std::lround((p.data()[2 * i] * deg + 180.0) / kCell);
    if (row >= 0 && row < kRows && col >= 0 && col < kCols)
      map[static_cast<std::size_t>(row * kCols + col)] = values.data()[i];
  }
  return map;
}

plot::Image world(const std::vector<double>& map, const std::string& title, double lo, double hi, bool diverging) {
  return plot::heatmap(map, kRows, kCols,
                       plot::HeatmapStyle{.title = title, .x_label = "longitude (deg)", .y_label = "latitude (deg)",
                                          .colorbar_label = "f", .cell = 6, .lo = lo, .hi = hi,
                                          .x_first = -180.0, .x_step = kCell, .y_first = 90.0 - kCell / 2,
                                          .y_step = -kCell, .diverging = diverging});
}

/// Root-mean-square error per latitude band (south to north) and per longitude column (west to east):
/// where the model's error sits (poles, the +-180 degree seam of raw lat/lon, the bump).
void error_profiles(const std::vector<double>& diff, const std::string& dir, std::vector<std::string>& written) {
  std::vector<double> by_lat(kRows, 0.0), by_lon(kCols, 0.0);
  for (int r = 0; r < kRows; ++r)
    for (int c = 0; c < kCols; ++c) {
      const double e = diff[static_cast<std::size_t>(r * kCols + c)];
      by_lat[static_cast<std::size_t>(kRows - 1 - r)] += e * e / kCols;  // row 0 is north: reverse
      by_lon[static_cast<std::size_t>(c)] += e * e / kRows;
    }
  for (double& v : by_lat) v = std::sqrt(v);
  for (double& v : by_lon) v = std::sqrt(v);
  const plot::Image lat = plot::line_chart(
      {by_lat}, plot::ChartStyle{.title = "RMS error per latitude band", .x_label = "latitude (deg)",
                                 .y_label = "RMS error", .width = 360, .height = 240, .x_first = -90.0 + kCell / 2,
                                 .x_step = kCell});
  const plot::Image lon = plot::line_chart(
      {by_lon}, plot::ChartStyle{.title = "RMS error per longitude column", .x_label = "longitude (deg)",
                                 .y_label = "RMS error", .width = 360, .height = 240, .x_first = -180.0,
                                 .x_step = kCell});
  plot::write_png((std::filesystem::path(dir) / "field_error.png").string(),
                  plot::titled(plot::hstack({lat, lon}, 16), "sphere_field: where the error sits (grid set)"));
  written.push_back("field_error.png");
}

void field_map(const Task& task, const std::string& dir, std::vector<std::string>& written) {
  const auto checkpoint = std::filesystem::path(dir).parent_path() / "checkpoint";
  if (task.lengths.empty() || !std::filesystem::exists(checkpoint / "config.json")) return;
  FeatureTransformer model = FeatureTransformer::load(checkpoint.string());
  model.set_training(false);
  const auto& grid = task.lengths[0].data;
  const Tensor predicted = model.forward(grid.features, grid.lengths, grid.where);
  const std::vector<double> truth = to_map(task, grid.targets), fit = to_map(task, predicted);
  double lo = INFINITY, hi = -INFINITY, err = 0, mse = 0;
  std::vector<double> diff(truth.size());
  for (std::size_t i = 0; i < truth.size(); ++i) {
    lo = std::min(lo, truth[i]);
    hi = std::max(hi, truth[i]);
    diff[i] = fit[i] - truth[i];
    err = std::max(err, std::abs(diff[i]));
    mse += diff[i] * diff[i];
  }
  mse /= static_cast<double>(truth.size());
  std::string kind = model.config().position.kind;
  if (kind.find("harmonics") != std::string::npos) kind += ", L = " + std::to_string(model.config().position.sphere_degree);
  char mse_text[64];
  std::snprintf(mse_text, sizeof mse_text, "model - truth (grid MSE %.3g)", mse);
  const plot::Image maps = plot::vertical(
      {world(truth, "true field", lo, hi, false), world(fit, "model (" + kind + ")", lo, hi, false),
       world(diff, mse_text, -err, err, true)},
      10);
  plot::write_png((std::filesystem::path(dir) / "field_map.png").string(),
                  plot::titled(maps, "sphere_field: the field on a world map (equirectangular)"));
  written.push_back("field_map.png");
  error_profiles(diff, dir, written);
}

void slopes_picture(const posenc::train::TransformerTrunk& trunk, const std::string& dir,
                    std::vector<std::string>& written) {
  std::vector<posenc::train::Parameter> params;
  // parameters() only collects pointers: read-only use here.
  const_cast<posenc::train::PositionModule&>(trunk.position()).parameters("", params);
  const Tensor* slopes = nullptr;
  for (const auto& p : params)
    if (p.name.size() >= 6 && p.name.compare(p.name.size() - 6, 6, "slopes") == 0) slopes = p.value;
  if (slopes == nullptr) return;
  constexpr int points = 91;  // 0 .. 180 degrees by 2
  std::vector<std::vector<double>> series;
  std::vector<std::string> names;
  for (std::size_t h = 0; h < slopes->size(); ++h) {
    std::vector<double> s(points);
    for (int k = 0; k < points; ++k) s[static_cast<std::size_t>(k)] = -(*slopes)(h) * (2.0 * k) * std::numbers::pi / 180.0;
    series.push_back(std::move(s));
    names.push_back("head " + std::to_string(h));
  }
  plot::write_png((std::filesystem::path(dir) / "slopes.png").string(),
                  plot::line_chart(series, plot::ChartStyle{.title = "geodesic ALiBi: learned bias per head",
                                                             .x_label = "great-circle angle (deg)",
                                                             .y_label = "bias added to the score", .legend = names,
                                                             .width = 560, .height = 300, .x_step = 2.0}));
  written.push_back("slopes.png");
}

}  // namespace

void sphere_pictures(const posenc::train::TransformerTrunk& trunk, const Task& task, const std::string& dir,
                     std::vector<std::string>& written) {
  if (task.name != "sphere_field") return;
  field_map(task, dir, written);
  slopes_picture(trunk, dir, written);
}

}  // namespace posenc::cli
