#include "pictures.hpp"

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/circle_layout.hpp>
#include <boost/graph/kamada_kawai_spring_layout.hpp>
#include <boost/graph/topology.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace posenc::plot {

Image similarity_grid(const Tensor& table, std::int64_t gh, std::int64_t gw, int cell, int gap) {
  const std::size_t n = static_cast<std::size_t>(gh * gw), d = table.shape()[1];
  std::vector<double> norm(n, 0.0);
  for (std::size_t a = 0; a < n; ++a) {
    for (std::size_t c = 0; c < d; ++c) norm[a] += static_cast<double>(table(a, c)) * table(a, c);
    norm[a] = std::sqrt(norm[a]);
  }
  // Blocks of cells with gaps, drawn as one raster of 1-point cells (the gaps as masked cells).
  const int block_w = static_cast<int>(gw) * cell + gap, block_h = static_cast<int>(gh) * cell + gap;
  const int width = static_cast<int>(gw) * block_w - gap, height = static_cast<int>(gh) * block_h - gap;
  std::vector<double> sim(static_cast<std::size_t>(width) * height, std::numeric_limits<double>::quiet_NaN());
  for (std::size_t a = 0; a < n; ++a)
    for (std::size_t b = 0; b < n; ++b) {
      double dot = 0;
      for (std::size_t c = 0; c < d; ++c) dot += static_cast<double>(table(a, c)) * table(b, c);
      const double s = norm[a] > 0 && norm[b] > 0 ? dot / (norm[a] * norm[b]) : 0.0;
      const int oy = static_cast<int>(a / gw) * block_h + static_cast<int>(b / gw) * cell;
      const int ox = static_cast<int>(a % gw) * block_w + static_cast<int>(b % gw) * cell;
      for (int dy = 0; dy < cell; ++dy)
        for (int dx = 0; dx < cell; ++dx) sim[static_cast<std::size_t>(oy + dy) * width + ox + dx] = s;
    }
  HeatmapStyle style{.x_label = "patch column (block: its similarity to every patch)", .y_label = "patch row",
                     .colorbar_label = "cosine similarity", .cell = 1, .ticks = false};
  return heatmap(sim, height, width, style);
}

Image mrope_ids_picture(const DTensor& ids, int cell) {
  const std::size_t len = ids.shape()[1];
  std::vector<double> v(3 * len);
  for (std::size_t a = 0; a < 3; ++a)
    for (std::size_t j = 0; j < len; ++j) v[a * len + j] = ids(a, j);
  return heatmap(v, 3, static_cast<int>(len),
                 HeatmapStyle{.title = "M-RoPE position ids (text | image | text | video | text)", .x_label = "token",
                              .colorbar_label = "position id", .cell = cell, .y_names = {"t", "h", "w"}});
}

DTensor demo_mrope_ids() {
  using K = MropeSegment::Kind;
  return mrope_position_ids({{.kind = K::text, .length = 3},
                             {.kind = K::vision, .t = 1, .h = 4, .w = 6},
                             {.kind = K::text, .length = 2},
                             {.kind = K::vision, .t = 2, .h = 4, .w = 4},
                             {.kind = K::text, .length = 3}});
}

Image patch_coverage(const SpectrogramPatching& p, std::int64_t frames, int cell) {
  const SpectrogramGrid g = spectrogram_grid(p);
  const std::int64_t f_bins = p.frequency_bins;
  std::vector<double> count(static_cast<std::size_t>(f_bins * frames), 0.0);
  for (std::int64_t fi = 0; fi < g.f_dim; ++fi)
    for (std::int64_t ti = 0; ti < g.t_dim; ++ti) {
      const std::int64_t t0 = ti * p.stride_time;
      if (t0 >= frames) break;
      for (std::int64_t f = fi * p.stride_frequency; f < fi * p.stride_frequency + p.patch_frequency; ++f)
        for (std::int64_t t = t0; t < std::min(frames, t0 + p.patch_time); ++t)
          count[static_cast<std::size_t>((f_bins - 1 - f) * frames + t)] += 1;  // high bins on top
    }
  for (auto& c : count)
    if (c == 0) c = std::numeric_limits<double>::quiet_NaN();  // bins no patch reaches: grey
  return heatmap(count, static_cast<int>(f_bins), static_cast<int>(frames),
                 HeatmapStyle{.title = "AST patches covering each bin", .x_label = "frame", .y_label = "frequency bin",
                              .colorbar_label = "patches", .cell = cell, .lo = 0.0, .hi = 4.0,
                              .y_first = static_cast<double>(f_bins - 1), .y_step = -1.0,
                              .masked_note = "grey: no patch"});
}

Image world_map(const std::vector<double>& values, std::int64_t nlat, std::int64_t nlon, int cell, bool symmetric) {
  double lo = 0, hi = 0;
  if (symmetric) {
    double m = 0;
    for (double v : values)
      if (std::isfinite(v)) m = std::max(m, std::abs(v));
    lo = -m;
    hi = m;
  }
  const double dlat = 180.0 / static_cast<double>(nlat), dlon = 360.0 / static_cast<double>(nlon);
  return heatmap(values, static_cast<int>(nlat), static_cast<int>(nlon),
                 HeatmapStyle{.x_label = "longitude (degrees)", .y_label = "latitude (degrees)", .cell = cell, .lo = lo,
                              .hi = hi, .x_first = -180.0 + dlon / 2, .x_step = dlon, .y_first = 90.0 - dlat / 2,
                              .y_step = -dlat, .diverging = symmetric});
}

std::vector<double> harmonic_on_grid(int l, int m, std::int64_t nlat, std::int64_t nlon) {
  const DTensor pts = latlon_grid(nlat, nlon, LatLonGrid::without_poles);
  const Tensor y = spherical_harmonics(pts, {.degree = l + 1});
  const std::size_t col = static_cast<std::size_t>(l * l + l + m);
  std::vector<double> v(pts.shape()[0]);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = y(i, col);
  return v;
}

std::vector<double> geodesic_bias_on_grid(double lon, double lat, std::int64_t nlat, std::int64_t nlon,
                                          std::int64_t heads, std::int64_t head) {
  const DTensor grid = latlon_grid(nlat, nlon, LatLonGrid::without_poles);
  DTensor from = DTensor::from_shape({1, 2});
  from(0, 0) = lon;
  from(0, 1) = lat;
  const DTensor d = geodesic_distances(from, grid);
  const double m = alibi_slopes(heads)[static_cast<std::size_t>(head)];
  std::vector<double> v(grid.shape()[0]);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = -m * d(0, i);
  return v;
}

Image graph_drawing(const Graph& graph, const std::vector<double>& values, int size, const std::string& label) {
  using UG = boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS, boost::no_property,
                                   boost::property<boost::edge_weight_t, double>>;
  using Topology = boost::square_topology<>;
  const auto n = static_cast<std::size_t>(graph.nodes());
  UG g(n);
  bool connected_hint = n > 0;
  for (const auto& e : graph.edges())
    if (e.source != e.target) boost::add_edge(static_cast<std::size_t>(e.source), static_cast<std::size_t>(e.target), 1.0, g);
  std::vector<Topology::point_type> pos(n);
  auto pmap = boost::make_iterator_property_map(pos.begin(), boost::get(boost::vertex_index, g));
  boost::circle_graph_layout(g, pmap, 100.0);
  const ITensor hops = shortest_path_hops(graph);
  for (auto h : hops) connected_hint = connected_hint && h >= 0;
  if (connected_hint && n > 1)
    boost::kamada_kawai_spring_layout(g, pmap, boost::get(boost::edge_weight, g), Topology(), boost::side_length(200.0));
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const auto& p : pos) {
    x0 = std::min(x0, p[0]);
    x1 = std::max(x1, p[0]);
    y0 = std::min(y0, p[1]);
    y1 = std::max(y1, p[1]);
  }
  const double margin = 16, span = std::max({x1 - x0, y1 - y0, 1e-9});
  // Scale the longer side to the picture and centre the shorter one.
  const double ox = (span - (x1 - x0)) / 2, oy = (span - (y1 - y0)) / 2;
  auto px = [&](std::size_t v) { return margin + (pos[v][0] - x0 + ox) / span * (size - 2 * margin); };
  auto py = [&](std::size_t v) { return margin + (pos[v][1] - y0 + oy) / span * (size - 2 * margin); };
  Image img(size + 40 + static_cast<int>(label.empty() ? 0 : 18) + 40, size);
  const std::uint8_t grey[3] = {170, 170, 170}, black[3] = {40, 40, 40};
  for (const auto& e : graph.edges()) {
    const auto a = static_cast<std::size_t>(e.source), b = static_cast<std::size_t>(e.target);
    draw_line(img, px(a), py(a), px(b), py(b), grey);
  }
  const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  for (std::size_t v = 0; v < n; ++v) {
    std::uint8_t c[3];
    viridis(*hi > *lo ? (values[v] - *lo) / (*hi - *lo) : 0.5, c);
    fill_disc(img, px(v), py(v), 7, c, black);
  }
  if (n > 0) colorbar(img, size + 4, margin, size - 2 * margin, *lo, *hi > *lo ? *hi : *lo + 1, label);
  return img;
}

Graph karate_club() {
  const std::vector<std::pair<int, int>> pairs = {
      {0, 1}, {0, 2}, {0, 3}, {0, 4}, {0, 5}, {0, 6}, {0, 7}, {0, 8}, {0, 10}, {0, 11}, {0, 12}, {0,
      13}, {0, 17}, {0, 19}, {0, 21}, {0, 31}, {1, 2}, {1, 3}, {1, 7}, {1, 13}, {1, 17}, {1, 19}, {1,
      21}, {1, 30}, {2, 3}, {2, 7}, {2, 8}, {2, 9}, {2, 13}, {2, 27}, {2, 28}, {2, 32}, {3, 7}, {3, 12},
      {3, 13}, {4, 6}, {4, 10}, {5, 6}, {5, 10}, {5, 16}, {6, 16}, {8, 30}, {8, 32}, {8, 33}, {9, 33},
      {13, 33}, {14, 32}, {14, 33}, {15, 32}, {15, 33}, {18, 32}, {18, 33}, {19, 33}, {20, 32}, {20,
      33}, {22, 32}, {22, 33}, {23, 25}, {23, 27}, {23, 29}, {23, 32}, {23, 33}, {24, 25}, {24, 27},
      {24, 31}, {25, 31}, {26, 29}, {26, 33}, {27, 33}, {28, 31}, {28, 33}, {29, 32}, {29, 33}, {30,
      32}, {30, 33}, {31, 32}, {31, 33}, {32, 33}};
  std::vector<GraphEdge> edges;
  for (auto [a, b] : pairs) edges.push_back({a, b});
  return Graph(34, std::move(edges));
}

}  // namespace posenc::plot
