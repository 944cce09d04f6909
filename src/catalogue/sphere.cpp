// Catalogue entries of posenc/sphere.hpp: location features, spherical harmonics, geodesic
// ALiBi and bucket biases, RoPE on (lat, lon), learned latitude / cell tables with regridding.
#include <algorithm>

#include "catalogue/define.hpp"
#include "posenc/sphere.hpp"
#include "posenc/text.hpp"

namespace posenc::catalogue {
namespace detail {
/// The features of sphere_features: the two fixed ones, then the Sphere2Vec variants.
enum class SphereFeature { cartesian3d, wrap, sphere_c, sphere_c_plus, sphere_m, sphere_m_plus, grid, theory };
/// How a learned table is regridded.
enum class Regrid { bilinear, harmonics };
/// Which learned sphere table.
enum class SphereTableKind { lat, latlon };
}  // namespace detail
template <>
const std::vector<EnumName<detail::SphereFeature>>& enum_table<detail::SphereFeature>() {
  using F = detail::SphereFeature;
  static const std::vector<EnumName<F>> t = {
      {F::cartesian3d, "cartesian3d", {}},       {F::wrap, "wrap", {}},
      {F::sphere_c, "sphere_c", {"spherec"}},    {F::sphere_c_plus, "sphere_c_plus", {"spherecplus"}},
      {F::sphere_m, "sphere_m", {"spherem"}},    {F::sphere_m_plus, "sphere_m_plus", {"spheremplus"}},
      {F::grid, "grid", {}},                     {F::theory, "theory", {}}};
  return t;
}
template <>
const std::vector<EnumName<detail::Regrid>>& enum_table<detail::Regrid>() {
  static const std::vector<EnumName<detail::Regrid>> t = {{detail::Regrid::bilinear, "bilinear", {}},
                                                          {detail::Regrid::harmonics, "harmonics", {}}};
  return t;
}
template <>
const std::vector<EnumName<detail::SphereTableKind>>& enum_table<detail::SphereTableKind>() {
  static const std::vector<EnumName<detail::SphereTableKind>> t = {{detail::SphereTableKind::lat, "lat", {}},
                                                                   {detail::SphereTableKind::latlon, "latlon", {}}};
  return t;
}
}  // namespace posenc::catalogue

namespace posenc::catalogue::detail {

namespace {

struct Points {
  std::int64_t nlat = 19, nlon = 36;
  LatLonGrid grid = LatLonGrid::with_poles;
  std::optional<DTensor> points;
  DTensor get() const { return points ? *points : latlon_grid(nlat, nlon, grid); }
};
template <class P>
Def<P>& sphere_points(Def<P>& d, bool allow_points = true) {
  d.input("lat/lon points (a grid, or given [N, 2] (lon, lat) degrees)");
  d.field("nlat", [](P& p) -> auto& { return p.pts.nlat; }, "latitude rings of the grid (north to south)", "grid")
      .field("nlon", [](P& p) -> auto& { return p.pts.nlon; }, "longitudes of the grid (from -180)", "grid")
      .field("grid", [](P& p) -> auto& { return p.pts.grid; }, "with_poles (lat 90 .. -90) or without_poles (cell centres)",
             "grid");
  if (allow_points)
    d.field("points", [](P& p) -> auto& { return p.pts.points; }, "instead of the grid: [N, 2] (lon, lat) degrees, column 0 longitude, column 1 latitude in [-90, 90]", "input");
  return d;
}

struct FeaturesP {
  SphereFeature variant = SphereFeature::sphere_c_plus;
  Sphere2VecOptions o;
  Points pts;
};
/// cartesian3d's features, the unit vectors as floats, into `out` of N x 3 floats.
void cartesian_into(const DTensor& pts, std::span<float> out) {
  const DTensor u = unit_vectors(pts);
  if (out.size() != u.size())
    bad("sphere_features: parameter 'out' must hold N x 3 = " + std::to_string(u.size()) + " floats (cartesian3d, N = " +
        std::to_string(u.shape()[0]) + "), got " + std::to_string(out.size()));
  std::transform(u.begin(), u.end(), out.begin(), [](double x) { return static_cast<float>(x); });
}
Sphere2VecOptions sphere2vec_options(const FeaturesP& p) {
  Sphere2VecOptions o = p.o;
  o.variant = enum_value<Sphere2VecVariant>(enum_name(p.variant), "sphere_features: field 'variant'");
  return o;
}
Entry features_entry() {
  using P = FeaturesP;
  Def<P> d("sphere_features", "location features: unit vector, wrap, Space2Vec / Sphere2Vec variants", "input_concat",
           "MarcCoru/locationencoder; gengchenmai/space2vec, sphere2vec", "sphere");
  d.member("variant", &P::variant, "which features")
      .field("scales", [](P& p) -> auto& { return p.o.scales; }, "S frequencies")
      .field("min_radius", [](P& p) -> auto& { return p.o.min_radius; }, "r_min")
      .field("max_radius", [](P& p) -> auto& { return p.o.max_radius; }, "r_max")
      .field("degrees_as_radians", [](P& p) -> auto& { return p.o.degrees_as_radians; }, "locationencoder's compat behaviour");
  sphere_points(d).build([](const P& p) {
    const DTensor pts = p.pts.get();
    Tensor f;
    if (p.variant == SphereFeature::cartesian3d) {
      f = Tensor::from_shape({pts.shape()[0], 3});
      cartesian_into(pts, {f.data(), f.size()});
    } else if (p.variant == SphereFeature::wrap) {
      f = wrap_features(pts);
    } else {
      f = sphere2vec_features(pts, sphere2vec_options(p));
    }
    Built b = absolute(sphere_features_encoding(f, "sphere_" + enum_name(p.variant)), true);
    b.arrays.emplace_back("points", pts);
    return b;
  });
  d.into("input_concat", [](const P& p, std::span<float> out) {
    const DTensor pts = p.pts.get();
    if (p.variant == SphereFeature::wrap) return wrap_features_into(pts, out);
    if (p.variant != SphereFeature::cartesian3d) return sphere2vec_features_into(pts, sphere2vec_options(p), out);
    cartesian_into(pts, out);
  });
  return d.finish();
}

struct HarmonicsP {
  SphericalHarmonicsOptions o;
  Points pts;
};
Entry harmonics_entry() {
  using P = HarmonicsP;
  Def<P> d("spherical_harmonics", "real orthonormal spherical harmonics up to degree L (stable recurrence)",
           "input_concat", "locationencoder SphericalHarmonics; Schaeffer 2013 recurrence (torch-harmonics)", "sphere");
  d.field("degree", [](P& p) -> auto& { return p.o.degree; }, "L: L^2 features")
      .field("convention", [](P& p) -> auto& { return p.o.convention; }, "locationencoder or colatitude")
      .field("cs_phase", [](P& p) -> auto& { return p.o.cs_phase; }, "Condon-Shortley phase (-1)^m");
  sphere_points(d).build([](const P& p) {
    const DTensor pts = p.pts.get();
    Built b = absolute(sphere_features_encoding(spherical_harmonics(pts, p.o), "spherical_harmonics"), true);
    b.arrays.emplace_back("points", pts);
    b.metadata.emplace_back("feature_order", std::string("l-major, m = -l..l: column l*l + l + m"));
    return b;
  });
  d.into("input_concat", [](const P& p, std::span<float> out) { spherical_harmonics_into(p.pts.get(), out, p.o); });
  return d.finish();
}

struct GeoAlibiP {
  std::int64_t heads = 8;
  double max_bias = 8.0, slope_scale = 1.0;
  std::optional<std::vector<double>> slopes;
  Points pts;
};
Entry geodesic_alibi_entry() {
  using P = GeoAlibiP;
  Def<P> d("geodesic_alibi", "ALiBi on the sphere: slope x great-circle angle", "position-position bias (slope)",
           "posenc (great-circle ALiBi)", "sphere");
  d.member("heads", &P::heads, "number of heads")
      .member("max_bias", &P::max_bias, "ALiBi slopes 2^(-max_bias (h+1)/H)")
      .member("slope_scale", &P::slope_scale, "multiplies every slope (the angle is in radians)")
      .member("slopes", &P::slopes, "learnable slopes [heads]; max_bias, slope_scale unused", "table")
      .table({"slopes", "slopes", "[heads]", "alibi_slopes(heads, max_bias) * slope_scale", "", "", "biases.0.slopes"});
  sphere_points(d).build([](const P& p) {
    const DTensor pts = p.pts.get();
    Built b;
    b.encoding = p.slopes ? geodesic_alibi(pts, pts, to_float(*p.slopes))
                          : geodesic_alibi(pts, pts, p.heads, p.max_bias, p.slope_scale);
    b.arrays.emplace_back("slopes", b.encoding.biases[0].slopes);
    b.arrays.emplace_back("relation", geodesic_distances(pts, pts));
    b.metadata.emplace_back("bias_rule", std::string("b[h,i,j] = -slopes[h] * relation[i,j] (great-circle angle, radians)"));
    return sized(std::move(b), pts.shape()[0]);
  });
  d.backward([](const P& p, const Built& b, const EncodingGrad& g) {
    const DTensor pts = p.pts.get();
    return Gradients{{"slopes", geodesic_alibi_backward(pts, pts, built_tensor(b, "slopes"), g)}};
  });
  return d.finish();
}

struct GeoBiasP {
  std::int64_t heads = 8;
  GeodesicBuckets g;
  Init init;
  std::optional<Tensor> table;
  Points pts;
};
Entry geodesic_bias_entry() {
  using P = GeoBiasP;
  Def<P> d("geodesic_bias", "learned bias table over log buckets of the great-circle angle",
           "position-position bias (table[bucket])", "posenc (T5-style buckets of the great-circle angle)", "sphere");
  d.member("heads", &P::heads, "number of heads")
      .field("num_buckets", [](P& p) -> auto& { return p.g.num_buckets; }, "B")
      .field("resolution", [](P& p) -> auto& { return p.g.resolution_degrees; }, "width of the exact buckets (degrees)")
      .field("max_degrees", [](P& p) -> auto& { return p.g.max_degrees; }, "where the log buckets saturate");
  init_fields(d, [](P& p) -> auto& { return p.init; }, "truncated-normal initialisation");
  d.member("table", &P::table, "load [heads, num_buckets]", "table")
      .table({"table", "bias_table", "[heads, num_buckets]", "sphere_table_init: truncated normal", "std", "seed",
              "biases.0.table"});
  sphere_points(d).build([](const P& p) {
    const DTensor pts = p.pts.get();
    const Tensor table = p.table ? *p.table : sphere_table_init(p.heads, p.g.num_buckets, p.init.std, seed_of(p.init.seed));
    Built b;
    b.encoding = geodesic_bucket_bias(pts, pts, table, p.g);
    b.arrays.emplace_back("relation", geodesic_bucket_indices(pts, pts, p.g));
    b.arrays.emplace_back("bias_table", table);
    b.metadata.emplace_back("bias_rule", std::string("b[h,i,j] = bias_table[h, relation[i,j]]"));
    return sized(std::move(b), pts.shape()[0]);
  });
  d.backward([](const P& p, const Built& b, const EncodingGrad& g) {
    const DTensor pts = p.pts.get();
    return Gradients{{"table", geodesic_bucket_bias_backward(pts, pts, built_tensor(b, "bias_table"), p.g, g)}};
  });
  return d.finish();
}

struct SphereRopeP {
  SphereRopeOptions o;
  Points pts;
};
Entry sphere_rope_entry() {
  using P = SphereRopeP;
  Def<P> d("sphere_rope", "RoPE on (lat, lon) with integer longitude frequencies (no date-line seam)", "rotation",
           "posenc (RoPE on the sphere)", "sphere");
  d.preset([](P& p) { p.o.head_dim = 64; })
      .field("head_dim", [](P& p) -> auto& { return p.o.head_dim; }, "head dimension (multiple of 4)")
      .field("max_frequency", [](P& p) -> auto& { return p.o.max_frequency; }, "largest integer frequency (0 = head_dim/4)");
  sphere_points(d).build([](const P& p) {
    const DTensor pts = p.pts.get();
    Built b;
    b.encoding = sphere_rope(pts, pts, p.o);
    b.arrays.emplace_back("angles", angles_2d(b.encoding.rotation.key_angles));
    b.metadata.emplace_back("pair_layout", std::string("interleaved"));
    return sized(std::move(b), pts.shape()[0]);
  });
  return d.finish();
}

struct SphereTableP {
  SphereTableKind kind = SphereTableKind::lat;
  std::int64_t dim = 64, regrid_degree = 0;
  std::optional<std::int64_t> source_nlat, source_nlon;
  std::optional<LatLonGrid> source_grid;
  Regrid regrid = Regrid::bilinear;
  Init init{0.0, 0};
  std::optional<Tensor> table;
  Points pts;
};
Entry sphere_table_entry() {
  using P = SphereTableP;
  Def<P> d("sphere_table", "learned per-latitude or per-cell table, regridded from a source grid", "input_add",
           "makani pos_embedding lat / latlon; AFNO per-patch table", "sphere");
  d.member("kind", &P::kind, "lat (one row per latitude ring) or latlon (one per cell)")
      .member("dim", &P::dim, "width D")
      .member("source_nlat", &P::source_nlat, "rings of the table (regridded to nlat)")
      .member("source_nlon", &P::source_nlon, "longitudes of the table (latlon)")
      .member("source_grid", &P::source_grid, "grid kind of the table (default: grid)")
      .member("regrid", &P::regrid, "bilinear (periodic lon, clamped poles) or harmonics (spectral fit)")
      .member("regrid_degree", &P::regrid_degree, "harmonics: degree L of the fit (0 = the largest the source allows)");
  init_fields(d, [](P& p) -> auto& { return p.init; }, "0 = zeros (makani); > 0 truncated normal");
  d.member("table", &P::table, "load [source_nlat * source_nlon, D]", "table")
      .table({"table", "table", "[source_nlat * source_nlon, dim]", "sphere_table_init (zeros for std 0)", "std", "seed", ""});
  sphere_points(d, false).build([](const P& p) {
    const bool per_lat = p.kind == SphereTableKind::lat;
    const std::int64_t nlat = p.pts.nlat, nlon = p.pts.nlon;
    const std::int64_t snlat = p.source_nlat.value_or(nlat), snlon = per_lat ? 1 : p.source_nlon.value_or(nlon);
    const LatLonGrid sk = p.source_grid.value_or(p.pts.grid);
    const Tensor table = p.table ? *p.table : sphere_table_init(snlat * snlon, p.dim, p.init.std, seed_of(p.init.seed));
    if (table.dimension() != 2 || table.shape()[0] != static_cast<std::size_t>(snlat * snlon))
      bad("sphere_table: field 'table' must have " + std::to_string(snlat * snlon) + " rows (source grid), got " +
          shape_string(table));
    Tensor grid = table;
    grid.reshape({static_cast<std::size_t>(snlat), static_cast<std::size_t>(snlon), table.shape()[1]});
    const std::int64_t out_lon = per_lat ? 1 : nlon;
    const Tensor regridded = p.regrid == Regrid::bilinear
                                 ? regrid_latlon(grid, sk, nlat, out_lon, p.pts.grid)
                                 : regrid_latlon_harmonics(grid, sk, nlat, out_lon, p.pts.grid, p.regrid_degree);
    Tensor rows = regridded;
    rows.reshape({regridded.shape()[0] * regridded.shape()[1], regridded.shape()[2]});
    Built b = absolute(per_lat ? latitude_table_encoding(rows, nlon) : latlon_table_encoding(rows));
    b.arrays.emplace_back("table", table);
    return b;
  });
  return d.finish();
}

}  // namespace

void add_sphere(std::vector<Entry>& out) {
  out.push_back(features_entry());
  out.push_back(harmonics_entry());
  out.push_back(geodesic_alibi_entry());
  out.push_back(geodesic_bias_entry());
  out.push_back(sphere_rope_entry());
  out.push_back(sphere_table_entry());
}

}  // namespace posenc::catalogue::detail
