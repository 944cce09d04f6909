// The sphere modality: lat/lon points and grids, unit vectors, Space2Vec /
// Sphere2Vec, real spherical harmonics by the normalised recurrence, learned
// per-latitude tables, great-circle biases, RoPE on (lat, lon) and regridding.
#include "posenc/sphere.hpp"

#include <cmath>
#include <numbers>
#include <random>

#include <Eigen/QR>

#include "detail/bias_part.hpp"
#include "detail/check.hpp"
#include "detail/init.hpp"
#include "detail/latlon.hpp"
#include "detail/memory.hpp"
#include "detail/parallel.hpp"
#include "posenc/text.hpp"

namespace posenc {

namespace {

constexpr double kPi = std::numbers::pi;
constexpr double kDeg = kPi / 180.0;

using detail::check_latlon_grid;
using detail::check_latlon_points;
using detail::latlon_unit_vectors;

}  // namespace

// ====================================================================== points and grids

std::vector<double> grid_latitudes(std::int64_t nlat, LatLonGrid kind) {
  check_latlon_grid("grid_latitudes", nlat, 1, kind);
  std::vector<double> lat(static_cast<std::size_t>(nlat));
  for (std::int64_t i = 0; i < nlat; ++i)
    lat[static_cast<std::size_t>(i)] =
        kind == LatLonGrid::with_poles
            ? 90.0 - 180.0 * static_cast<double>(i) / static_cast<double>(nlat - 1)
            : 90.0 - 180.0 * (static_cast<double>(i) + 0.5) / static_cast<double>(nlat);
  return lat;
}

DTensor latlon_grid(std::int64_t nlat, std::int64_t nlon, LatLonGrid kind) {
  check_latlon_grid("latlon_grid", nlat, nlon, kind);
  const auto lat = grid_latitudes(nlat, kind);
  DTensor p = DTensor::from_shape({static_cast<std::size_t>(nlat * nlon), 2});
  for (std::int64_t i = 0; i < nlat; ++i)
    for (std::int64_t j = 0; j < nlon; ++j) {
      const auto r = static_cast<std::size_t>(i * nlon + j);
      p(r, 0) = -180.0 + 360.0 * static_cast<double>(j) / static_cast<double>(nlon);
      p(r, 1) = lat[static_cast<std::size_t>(i)];
    }
  return p;
}

DTensor unit_vectors(const DTensor& points) {
  check_latlon_points("unit_vectors", "points", points);
  DTensor u = DTensor::from_shape({points.shape()[0], 3});
  for (std::size_t i = 0; i < points.shape()[0]; ++i) {
    const double lon = points(i, 0) * kDeg, lat = points(i, 1) * kDeg;
    u(i, 0) = std::cos(lat) * std::cos(lon);
    u(i, 1) = std::cos(lat) * std::sin(lon);
    u(i, 2) = std::sin(lat);
  }
  return u;
}

namespace {

/// Writes (cos lambda, sin lambda, cos phi, sin phi) of checked points into f [N, 4].
void wrap_write(const DTensor& points, float* f) {
  for (std::size_t i = 0; i < points.shape()[0]; ++i) {
    const double lon = points(i, 0) * kDeg, lat = points(i, 1) * kDeg;
    f[i * 4 + 0] = static_cast<float>(std::cos(lon));
    f[i * 4 + 1] = static_cast<float>(std::sin(lon));
    f[i * 4 + 2] = static_cast<float>(std::cos(lat));
    f[i * 4 + 3] = static_cast<float>(std::sin(lat));
  }
}

}  // namespace

Tensor wrap_features(const DTensor& points) {
  check_latlon_points("wrap_features", "points", points);
  Tensor f = Tensor::from_shape({points.shape()[0], 4});
  wrap_write(points, f.data());
  return f;
}

void wrap_features_into(const DTensor& points, std::span<float> out) {
  const char* fn = "wrap_features_into";
  check_latlon_points(fn, "points", points);
  detail::require_out_size(fn, out.size(), points.shape()[0], 4);
  wrap_write(points, out.data());
}

// ====================================================================== Space2Vec / Sphere2Vec

std::int64_t sphere2vec_width(const Sphere2VecOptions& o) {
  static constexpr std::int64_t per_scale[] = {3, 6, 5, 8, 4, 6};
  return per_scale[static_cast<int>(o.variant)] * o.scales;
}

std::vector<double> sphere2vec_frequencies(const Sphere2VecOptions& o) {
  const char* fn = "sphere2vec";
  if (o.scales < 1) detail::fail(fn, "parameter 'scales' must be >= 1, got ", o.scales);
  detail::require_positive(fn, "min_radius", o.min_radius);
  detail::require_positive(fn, "max_radius", o.max_radius);
  if (o.max_radius < o.min_radius)
    detail::fail(fn, "parameter 'max_radius' (", o.max_radius, ") must be >= min_radius (", o.min_radius, ")");
  std::vector<double> f(static_cast<std::size_t>(o.scales));
  const double step = o.scales > 1 ? std::log(o.max_radius / o.min_radius) / static_cast<double>(o.scales - 1) : 0.0;
  for (std::size_t s = 0; s < f.size(); ++s) f[s] = 1.0 / (o.min_radius * std::exp(static_cast<double>(s) * step));
  return f;
}

namespace {

/// The features [N, width]: returned, or written into *out (size checked) when out is given.
Tensor sphere2vec_impl(const char* fn, const DTensor& points, const Sphere2VecOptions& o, std::span<float>* out) {
  check_latlon_points(fn, "points", points);
  const auto freq = sphere2vec_frequencies(o);
  const std::size_t n = points.shape()[0], S = freq.size(), width = static_cast<std::size_t>(sphere2vec_width(o));
  const double unit = o.degrees_as_radians ? 1.0 : kDeg;
  Tensor table;
  float* into = detail::table_target(fn, out, table, n, width);
  static const double dir[3][2] = {{1.0, 0.0}, {-0.5, 0.8660254037844386}, {-0.5, -0.8660254037844386}};
  for (std::size_t i = 0; i < n; ++i) {
    const double lam = points(i, 0) * unit, phi = points(i, 1) * unit;
    const double sl = std::sin(lam), cl = std::cos(lam), cp = std::cos(phi);
    float* row = into + i * width;
    std::size_t c = 0;
    auto put = [&](double v) { row[c++] = static_cast<float>(v); };
    if (o.variant == Sphere2VecVariant::grid) {
      for (double coord : {lam, phi})
        for (std::size_t s = 0; s < S; ++s) {
          put(std::sin(coord * freq[s]));
          put(std::cos(coord * freq[s]));
        }
      continue;
    }
    for (std::size_t s = 0; s < S; ++s) {
      const double ls = lam * freq[s], ps = phi * freq[s];
      const double sin_ps = std::sin(ps), cos_ps = std::cos(ps), sin_ls = std::sin(ls), cos_ls = std::cos(ls);
      switch (o.variant) {
        case Sphere2VecVariant::sphere_c:
          put(sin_ps), put(cos_ps * cos_ls), put(cos_ps * sin_ls);
          break;
        case Sphere2VecVariant::sphere_c_plus:
          put(sin_ps), put(cos_ps), put(sin_ls), put(cos_ls), put(cos_ps * cos_ls), put(cos_ps * sin_ls);
          break;
        case Sphere2VecVariant::sphere_m:
          put(sin_ps), put(cos_ps * cl), put(cp * cos_ls), put(cos_ps * sl), put(cp * sin_ls);
          break;
        case Sphere2VecVariant::sphere_m_plus:
          put(sin_ps), put(cos_ps), put(sin_ls), put(cos_ls);
          put(cos_ps * cl), put(cp * cos_ls), put(cos_ps * sl), put(cp * sin_ls);
          break;
        case Sphere2VecVariant::theory:
          for (const auto& a : dir) {
            const double t = (lam * a[0] + phi * a[1]) * freq[s];
            put(std::sin(t)), put(std::cos(t));
          }
          break;
        case Sphere2VecVariant::grid: break;
      }
    }
  }
  return table;
}

}  // namespace

Tensor sphere2vec_features(const DTensor& points, const Sphere2VecOptions& o) {
  return sphere2vec_impl("sphere2vec", points, o, nullptr);
}

void sphere2vec_features_into(const DTensor& points, const Sphere2VecOptions& o, std::span<float> out) {
  sphere2vec_impl("sphere2vec_features_into", points, o, &out);
}

// Real spherical harmonics: sphere_harmonics.cpp.

// ====================================================================== absolute encodings as parts

Encoding sphere_features_encoding(const Tensor& features, const std::string& name) {
  if (features.dimension() != 2 || features.shape()[0] == 0)
    detail::fail("sphere_features_encoding", "parameter 'features' must be [N, F] with N > 0, got ",
                 shape_string(features));
  return detail::table_part(name, features, /*concat=*/true);
}

Encoding latitude_table_encoding(const Tensor& table, std::int64_t nlon) {
  const char* fn = "latitude_table_encoding";
  if (table.dimension() != 2 || table.shape()[0] == 0 || table.shape()[1] == 0)
    detail::fail(fn, "parameter 'table' must be [nlat, D], got ", shape_string(table));
  if (nlon < 1) detail::fail(fn, "parameter 'nlon' must be positive, got ", nlon);
  const std::size_t nlat = table.shape()[0], d = table.shape()[1], w = static_cast<std::size_t>(nlon);
  Encoding e;
  e.name = "sphere_lat_table";
  e.input_add = Tensor::from_shape({1, nlat * w, d});
  for (std::size_t i = 0; i < nlat; ++i)
    for (std::size_t j = 0; j < w; ++j)
      std::copy_n(table.data() + i * d, d, e.input_add.data() + (i * w + j) * d);
  return e;
}

Encoding latlon_table_encoding(const Tensor& table) {
  if (table.dimension() != 2 || table.shape()[0] == 0 || table.shape()[1] == 0)
    detail::fail("latlon_table_encoding", "parameter 'table' must be [nlat * nlon, D], got ", shape_string(table));
  return detail::table_part("sphere_latlon_table", table);
}

Tensor sphere_table_init(std::int64_t rows, std::int64_t dim, double std, std::uint64_t seed) {
  const char* fn = "sphere_table_init";
  if (rows < 1) detail::fail(fn, "parameter 'rows' must be positive, got ", rows);
  if (dim < 1) detail::fail(fn, "parameter 'dim' must be positive, got ", dim);
  if (!(std >= 0) || !std::isfinite(std)) detail::fail(fn, "parameter 'std' must be finite and >= 0, got ", std);
  Tensor t = xt::zeros<float>(Shape{static_cast<std::size_t>(rows), static_cast<std::size_t>(dim)});
  if (std > 0) detail::fill_trunc_normal(t, std, seed);
  return t;
}

// ====================================================================== relative encodings

DTensor geodesic_distances(const DTensor& qp, const DTensor& kp) {
  const char* fn = "geodesic_distances";
  const DTensor uq = latlon_unit_vectors(fn, qp, "query_points"), uk = latlon_unit_vectors(fn, kp, "key_points");
  DTensor d = relation_values(Relation::geodesic(uq, uk));
  d.reshape({qp.shape()[0], kp.shape()[0]});
  return d;
}

Encoding geodesic_alibi(const DTensor& qp, const DTensor& kp, std::int64_t heads, double max_bias, double slope_scale) {
  const char* fn = "geodesic_alibi";
  detail::require_positive(fn, "slope_scale", slope_scale);
  const DTensor uq = latlon_unit_vectors(fn, qp, "query_points"), uk = latlon_unit_vectors(fn, kp, "key_points");
  const auto slopes = alibi_slopes(heads, max_bias);
  Tensor t = Tensor::from_shape({slopes.size()});
  for (std::size_t h = 0; h < slopes.size(); ++h) t(h) = static_cast<float>(slopes[h] * slope_scale);
  return detail::bias_part("geodesic_alibi", BiasKind::slope, Relation::geodesic(uq, uk), std::move(t));
}

namespace {
Relation bucket_relation(const char* fn, const DTensor& qp, const DTensor& kp, const GeodesicBuckets& g) {
  if (g.num_buckets < 2) detail::fail(fn, "parameter 'num_buckets' must be >= 2, got ", g.num_buckets);
  detail::require_positive(fn, "resolution_degrees", g.resolution_degrees);
  const DTensor uq = latlon_unit_vectors(fn, qp, "query_points"), uk = latlon_unit_vectors(fn, kp, "key_points");
  const double e = static_cast<double>(g.num_buckets / 2) * g.resolution_degrees;
  if (!(g.max_degrees > e) || !std::isfinite(g.max_degrees))
    detail::fail(fn, "parameter 'max_degrees' (", g.max_degrees, ") must exceed num_buckets/2 * resolution = ", e);
  return Relation::geodesic(uq, uk, g.num_buckets, g.resolution_degrees * kDeg, g.max_degrees * kDeg);
}
}  // namespace

Encoding geodesic_bucket_bias(const DTensor& qp, const DTensor& kp, const Tensor& table, const GeodesicBuckets& g) {
  const char* fn = "geodesic_bucket_bias";
  Relation r = bucket_relation(fn, qp, kp, g);
  if (table.dimension() != 2 || table.shape()[0] == 0 || table.shape()[1] != static_cast<std::size_t>(g.num_buckets))
    detail::fail(fn, "parameter 'table' must be [H|1, ", g.num_buckets, "], got ", shape_string(table));
  return detail::bias_part("geodesic_bucket_bias", BiasKind::table, std::move(r), table);
}

ITensor geodesic_bucket_indices(const DTensor& qp, const DTensor& kp, const GeodesicBuckets& g) {
  ITensor idx = relation_indices(bucket_relation("geodesic_bucket_indices", qp, kp, g));
  idx.reshape({qp.shape()[0], kp.shape()[0]});
  return idx;
}

namespace {
DTensor sphere_rope_angles(const DTensor& p, const std::vector<double>& f) {
  const std::size_t q = f.size(), n = p.shape()[0];
  DTensor a = DTensor::from_shape({1, 1, n, 2 * q});
  for (std::size_t i = 0; i < n; ++i) {
    const double lon = p(i, 0) * kDeg, lat = p(i, 1) * kDeg;
    double* row = a.data() + i * 2 * q;
    for (std::size_t k = 0; k < q; ++k) {
      row[k] = lat * f[k];
      // Integer frequency: reduce lambda f mod 2 pi exactly enough that lon and lon + 360 agree.
      row[q + k] = std::remainder(lon * f[k], 2 * kPi);
    }
  }
  return a;
}
}  // namespace

Encoding sphere_rope(const DTensor& qp, const DTensor& kp, const SphereRopeOptions& o) {
  const char* fn = "sphere_rope";
  if (o.head_dim <= 0 || o.head_dim % 4 != 0)
    detail::fail(fn, "parameter 'head_dim' must be a positive multiple of 4 (two axes of pairs), got ", o.head_dim);
  check_latlon_points(fn, "query_points", qp);
  check_latlon_points(fn, "key_points", kp);
  const auto q = static_cast<std::size_t>(o.head_dim / 4);
  const double F = o.max_frequency == 0 ? static_cast<double>(q) : o.max_frequency;
  if (!(F >= 1) || !std::isfinite(F)) detail::fail(fn, "parameter 'max_frequency' must be >= 1 and finite, got ", F);
  std::vector<double> f(q);
  for (std::size_t k = 0; k < q; ++k)
    f[k] = q == 1 ? 1.0 : std::round(1.0 + static_cast<double>(k) * (F - 1.0) / static_cast<double>(q - 1));
  Encoding e;
  e.name = "sphere_rope";
  e.rotation.layout = PairLayout::interleaved;
  e.rotation.pairs = o.head_dim / 2;
  e.rotation.query_angles = sphere_rope_angles(qp, f);
  e.rotation.key_angles = sphere_rope_angles(kp, f);
  return e;
}

Encoding sphere_rope(const DTensor& points, const SphereRopeOptions& o) { return sphere_rope(points, points, o); }

// ====================================================================== regridding

namespace {

/// A table [nlat, nlon, C] on a valid source grid, and a valid non-empty target grid.
void check_regrid(const char* fn, const Tensor& table, LatLonGrid from, std::int64_t new_nlat, std::int64_t new_nlon,
                  LatLonGrid to) {
  if (table.dimension() != 3 || table.shape()[2] == 0)
    detail::fail(fn, "parameter 'table' must be [nlat, nlon, C], got ", shape_string(table));
  check_latlon_grid(fn, static_cast<std::int64_t>(table.shape()[0]), static_cast<std::int64_t>(table.shape()[1]), from);
  if (new_nlat < 1 || new_nlon < 1)
    detail::fail(fn, "target grid must be non-empty, got ", new_nlat, " x ", new_nlon);
  check_latlon_grid(fn, new_nlat, new_nlon, to);
}

}  // namespace

Tensor regrid_latlon(const Tensor& table, LatLonGrid from, std::int64_t new_nlat, std::int64_t new_nlon,
                     LatLonGrid to) {
  const char* fn = "regrid_latlon";
  check_regrid(fn, table, from, new_nlat, new_nlon, to);
  const auto nlat = static_cast<std::int64_t>(table.shape()[0]), nlon = static_cast<std::int64_t>(table.shape()[1]);
  const std::size_t C = table.shape()[2];
  if (nlat == new_nlat && nlon == new_nlon && from == to) return table;
  const auto [lat_taps, lon_taps] = detail::latlon_regrid_taps(nlat, nlon, from, new_nlat, new_nlon, to);
  Tensor out = Tensor::from_shape({static_cast<std::size_t>(new_nlat), static_cast<std::size_t>(new_nlon), C});
  const std::size_t W = static_cast<std::size_t>(nlon);
  for (std::size_t i = 0; i < lat_taps.size(); ++i)
    for (std::size_t j = 0; j < lon_taps.size(); ++j) {
      const detail::LinearTap& y = lat_taps[i];
      const detail::LinearTap& x = lon_taps[j];
      float* dst = out.data() + (i * lon_taps.size() + j) * C;
      const float* p00 = table.data() + (y.a * W + x.a) * C;
      const float* p01 = table.data() + (y.a * W + x.b) * C;
      const float* p10 = table.data() + (y.b * W + x.a) * C;
      const float* p11 = table.data() + (y.b * W + x.b) * C;
      for (std::size_t c = 0; c < C; ++c) {
        const double top = (1 - x.wb) * p00[c] + x.wb * p01[c];
        const double bot = (1 - x.wb) * p10[c] + x.wb * p11[c];
        dst[c] = static_cast<float>((1 - y.wb) * top + y.wb * bot);
      }
    }
  return out;
}

}  // namespace posenc

namespace posenc {

std::int64_t max_regrid_degree(std::int64_t nlat, std::int64_t nlon, LatLonGrid kind) {
  // Orders m < L need 2(L - 1) < nlon for the ring DFT; degrees l < L of order m >= 1 need L - m
  // rings where sin(theta) > 0 (all rings without poles, nlat - 2 with them), and m = 0 needs L rings.
  // A single longitude (a per-latitude table) is zonal: order 0 only, L <= nlat.
  if (nlon == 1) return std::max<std::int64_t>(1, nlat);
  const std::int64_t by_lon = (nlon - 1) / 2 + 1;
  const std::int64_t by_lat = kind == LatLonGrid::with_poles ? nlat - 1 : nlat;
  return std::max<std::int64_t>(1, std::min(by_lon, by_lat));
}

Tensor regrid_latlon_harmonics(const Tensor& table, LatLonGrid from, std::int64_t new_nlat, std::int64_t new_nlon,
                               LatLonGrid to, std::int64_t degree) {
  const char* fn = "regrid_latlon_harmonics";
  check_regrid(fn, table, from, new_nlat, new_nlon, to);
  const auto nlat = static_cast<std::int64_t>(table.shape()[0]), nlon = static_cast<std::int64_t>(table.shape()[1]);
  const std::size_t L = detail::regrid_degree(fn, nlat, nlon, from, degree);
  const std::size_t C = table.shape()[2], src_rings = static_cast<std::size_t>(nlat),
                    src_cols = static_cast<std::size_t>(nlon);
  const std::size_t orders = nlon == 1 ? 1 : L;  // zonal source: m = 0 only
  const auto src_p = detail::ring_legendre(grid_latitudes(nlat, from), L);
  const auto dst_p = detail::ring_legendre(grid_latitudes(new_nlat, to), L);

  // 1. Along each source ring, the Fourier coefficients of orders m < L (exact for band-limited rings):
  //    four[ring][m][part][c], part 0 = cos, 1 = sin; longitudes lon_j = -180 + 360 j / nlon.
  const auto four = detail::ring_analysis(table.data(), src_rings, src_cols, C, L, orders, /*dft=*/true);
  auto fidx = [&](std::size_t i, std::size_t m, std::size_t part, std::size_t c) {
    return ((i * L + m) * 2 + part) * C + c;
  };
  // 2. Per order m, least squares over the rings for the coefficients of pbar_l^m, l = m .. L-1
  //    (column-pivoting Householder QR), then their values on the target rings: amp[ring][m][part][c].
  const std::size_t dst_rings = static_cast<std::size_t>(new_nlat);
  std::vector<double> amp(dst_rings * L * 2 * C, 0.0);
  for (std::size_t m = 0; m < orders; ++m) {
    const auto unknowns = static_cast<Eigen::Index>(L - m);
    Eigen::MatrixXd P(static_cast<Eigen::Index>(src_rings), unknowns);
    Eigen::MatrixXd rhs(static_cast<Eigen::Index>(src_rings), static_cast<Eigen::Index>(2 * C));
    for (std::size_t i = 0; i < src_rings; ++i) {
      for (std::size_t l = m; l < L; ++l)
        P(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(l - m)) = src_p[i][l * (l + 1) / 2 + m];
      for (std::size_t k = 0; k < 2 * C; ++k)
        rhs(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(k)) = four[fidx(i, m, k / C, k % C)];
    }
    const Eigen::MatrixXd coef = P.colPivHouseholderQr().solve(rhs);  // [L - m, 2C]
    for (std::size_t i = 0; i < dst_rings; ++i)
      for (std::size_t k = 0; k < 2 * C; ++k) {
        double a = 0;
        for (std::size_t l = m; l < L; ++l)
          a += dst_p[i][l * (l + 1) / 2 + m] * coef(static_cast<Eigen::Index>(l - m), static_cast<Eigen::Index>(k));
        amp[fidx(i, m, k / C, k % C)] = a;
      }
  }
  // 3. Synthesis on the target grid (every order; those not fitted are zero).
  return detail::ring_synthesis(amp, dst_rings, static_cast<std::size_t>(new_nlon), C, L, L, /*dft=*/false);
}

}  // namespace posenc
