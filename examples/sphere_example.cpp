// Sphere modality example: tokens on a 5-degree lat/lon grid (36 x 72, no
// poles, as weather and climate models use), the absolute encodings
// (Sphere2Vec, spherical harmonics, learned tables) and the relative ones
// (geodesic ALiBi, geodesic buckets, sphere RoPE) through one attention layer.
//
//   build/examples/posenc_sphere_example [OUT_DIR]      (default: examples_out)
//
// Writes OUT_DIR/sphere_harmonics.png (Y_1^0, Y_2^1, Y_4^-3, Y_8^5 on a world
// map, north at the top, longitude -180 at the left) and
// OUT_DIR/sphere_geodesic.png (the geodesic ALiBi bias from Paris, head 2 of 8 |
// the attention of a Paris query over the globe under it, from random content).
#include <filesystem>
#include <iostream>

#include "common.hpp"
#include "pictures.hpp"
#include "posenc/posenc.hpp"

int main(int argc, char** argv) {
  using namespace posenc;
  const std::string out = argc > 1 ? argv[1] : "examples_out";
  std::filesystem::create_directories(out);

  const std::int64_t nlat = 36, nlon = 72, n = nlat * nlon, dim = 64, heads = 8, head_dim = dim / heads;
  const DTensor cells = latlon_grid(nlat, nlon, LatLonGrid::without_poles);
  const MultiHeadAttention layer({.model_dim = dim, .heads = heads}, /*seed=*/6);
  std::cout << "grid " << nlat << " x " << nlon << " (5 degrees, no poles) = " << n << " tokens\n";

  // Absolute features are concatenated to the token channels (then projected by the model).
  const Tensor sh = spherical_harmonics(cells, {.degree = 4});  // 16 features
  const Tensor s2v = sphere2vec_features(cells, {.variant = Sphere2VecVariant::sphere_c_plus, .scales = 2,
                                                 .min_radius = 0.1, .max_radius = 1.0});  // 12 features
  struct Case {
    std::string name;
    Encoding encoding;
  };
  std::vector<Case> cases = {
      {"spherical harmonics L=4 (concat)", sphere_features_encoding(sh, "spherical_harmonics")},
      {"sphere2vec sphereC+ (concat)", sphere_features_encoding(s2v, "sphere2vec")},
      {"per-latitude table", latitude_table_encoding(sphere_table_init(nlat, dim, 0.02, 1), nlon)},
      {"geodesic alibi", geodesic_alibi(cells, cells, heads, 8.0, 10.0)},
      {"geodesic buckets", geodesic_bucket_bias(cells, cells, sphere_table_init(heads, 32, 0.02, 2),
                                                {.num_buckets = 32, .resolution_degrees = 5.0})},
      {"sphere rope", sphere_rope(cells, {.head_dim = head_dim})},
  };
  for (const auto& c : cases) {
    const std::int64_t concat = is_set(c.encoding.input_concat) ? static_cast<std::int64_t>(c.encoding.input_concat.shape()[2]) : 0;
    const Tensor xe = apply_input(c.encoding, example::random_tokens(n, dim - concat, 41, 0.5));
    example::report(c.name, c.encoding, xe, layer.forward(xe, c.encoding));
  }
  // A 5-degree learned table regridded to 1 degree for a finer model (bilinear, periodic in longitude).
  const Tensor table = sphere_table_init(n, 4, 0.02, 3);
  const Tensor fine = regrid_latlon(xt::reshape_view(table, {nlat, nlon, std::int64_t{4}}), LatLonGrid::without_poles,
                                    180, 360, LatLonGrid::without_poles);
  const Tensor smooth = regrid_latlon_harmonics(xt::reshape_view(table, {nlat, nlon, std::int64_t{4}}),
                                                LatLonGrid::without_poles, 180, 360, LatLonGrid::without_poles, 24);
  std::cout << "lat/lon table [36, 72, 4] regridded to " << shape_string(fine) << " (bilinear) and "
            << shape_string(smooth) << " (spherical harmonics, L = 24)\n";

  // Pictures on a 2-degree map.
  std::vector<plot::Image> maps;
  for (auto [l, m] : std::vector<std::pair<int, int>>{{1, 0}, {2, 1}, {4, -3}, {8, 5}})
    maps.push_back(plot::world_map(plot::harmonic_on_grid(l, m, 90, 180), 90, 180, 2));
  plot::write_png(out + "/sphere_harmonics.png", plot::hstack(maps, 8));

  const double paris_lon = 2.35, paris_lat = 48.85;
  const auto bias = plot::geodesic_bias_on_grid(paris_lon, paris_lat, 90, 180, heads, 2);
  // One query at Paris attending over every 2-degree cell: random content plus the geodesic bias.
  const DTensor map = latlon_grid(90, 180, LatLonGrid::without_poles);
  DTensor paris = DTensor::from_shape({1, 2});
  paris(0, 0) = paris_lon;
  paris(0, 1) = paris_lat;
  const Tensor q = xt::view(example::random_tokens(heads, head_dim, 42, 0.3), 0, xt::newaxis(), xt::all(), xt::newaxis(), xt::all());
  Tensor k = example::random_tokens(heads * map.shape()[0], head_dim, 43, 0.3);
  k.reshape({1, static_cast<std::size_t>(heads), map.shape()[0], static_cast<std::size_t>(head_dim)});
  const Tensor w = attention_weights(q, k, geodesic_alibi(paris, map, heads, 8.0, 10.0));
  std::vector<double> head2(map.shape()[0]);
  for (std::size_t j = 0; j < head2.size(); ++j) head2[j] = w(0, 2, 0, j);
  plot::write_png(out + "/sphere_geodesic.png",
                  plot::hstack({plot::world_map(bias, 90, 180, 2, false), plot::world_map(head2, 90, 180, 2, false)}));
  std::cout << "wrote " << out << "/sphere_harmonics.png (Y_1^0 | Y_2^1 | Y_4^-3 | Y_8^5) and " << out
            << "/sphere_geodesic.png (geodesic ALiBi bias from Paris | attention of a Paris query, head 2)\n";
  return 0;
}
