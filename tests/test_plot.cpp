// The picture helpers of the command line (tools/plot.hpp): figures carry their labels, and
// write_png writes a PNG (and, built with cairo, an SVG next to it).
#ifdef POSENC_TEST_PLOT
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "plot.hpp"

namespace fs = std::filesystem;
using namespace posenc::plot;

namespace {

std::vector<std::string> texts(const Image& img) {
  std::vector<std::string> t;
  for (const auto& op : img.ops)
    if (op.kind == Op::Kind::text) t.push_back(op.text);
  return t;
}

bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

}  // namespace

TEST(Plot, HeatmapHasTitleLabelsTicksAndColorbar) {
  std::vector<double> v(6 * 8);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i);
  v[3] = NAN;  // masked: grey, not an error
  const Image img = heatmap(v, 6, 8, HeatmapStyle{.title = "T", .x_label = "key", .y_label = "query",
                                                  .colorbar_label = "bias", .cell = 10});
  const auto t = texts(img);
  for (const char* s : {"T", "key", "query", "bias", "0", "40"}) EXPECT_TRUE(has(t, s)) << s;
  EXPECT_GT(img.width, 80);
  EXPECT_GT(img.height, 60);
  // The old signature still draws ticks and a colorbar.
  EXPECT_TRUE(has(texts(heatmap(v, 6, 8, 10)), "0"));
}

TEST(Plot, LineChartLegendAndStacks) {
  const Image a = line_chart({{1, 2, 3}, {3, 2, 1}}, ChartStyle{.title = "Loss", .x_label = "epoch",
                                                              .y_label = "nats", .legend = {"train", "val"}});
  const auto t = texts(a);
  for (const char* s : {"Loss", "epoch", "nats", "train", "val"}) EXPECT_TRUE(has(t, s)) << s;
  const Image h = hstack({a, a}, 10), v = vertical({a, a}, 10);
  EXPECT_EQ(h.width, 2 * a.width + 10);
  EXPECT_EQ(v.height, 2 * a.height + 10);
  EXPECT_EQ(h.ops.size(), 2 * a.ops.size());
}

TEST(Plot, WritesPngAndSvg) {
  const fs::path dir = fs::temp_directory_path() / ("posenc_plot_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  fs::create_directories(dir);
  write_png((dir / "h.png").string(), heatmap({0, 1, 2, 3}, 2, 2, HeatmapStyle{.title = "x"}));
  EXPECT_EQ(slurp(dir / "h.png").substr(1, 3), "PNG");
  EXPECT_EQ(fs::exists(dir / "h.svg"), have_cairo());
  if (have_cairo()) {
    EXPECT_NE(slurp(dir / "h.svg").find("<svg"), std::string::npos);
  }
  fs::remove_all(dir);
}
#endif
