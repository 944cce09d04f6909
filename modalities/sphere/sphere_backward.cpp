// Backward passes of the learnable sphere encodings: the per-latitude and
// per-cell tables, the great-circle bucket table, great-circle ALiBi with
// learnable slopes, and the adjoints of the bilinear and harmonic lat/lon regrids.
#include <algorithm>
#include <cmath>
#include <numbers>

// Eigen's AVX-512 kernels trip GCC 12's -Wmaybe-uninitialized inside the compiler's own intrinsics headers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/QR>

#include "detail/check.hpp"
#include "posenc/gradients.hpp"
#include "posenc/sphere.hpp"

namespace posenc {

namespace {

/// [N, 2] (lon, lat) degrees, finite, latitude in [-90, 90] (as the forward checks).
void check_points(const char* fn, const char* name, const DTensor& p) {
  if (p.dimension() != 2 || p.shape()[1] != 2 || p.shape()[0] == 0)
    detail::fail(fn, "parameter '", name, "' must be [N, 2] (lon, lat) in degrees with N > 0, got ", shape_string(p));
  for (std::size_t i = 0; i < p.shape()[0]; ++i) {
    const double lon = p(i, 0), lat = p(i, 1);
    if (!std::isfinite(lon) || !std::isfinite(lat))
      detail::fail(fn, "parameter '", name, "' row ", i, " is not finite: (", lon, ", ", lat, ")");
    if (lat < -90.0 || lat > 90.0)
      detail::fail(fn, "parameter '", name, "' row ", i, " has latitude ", lat, " outside [-90, 90]");
  }
}

DTensor unit_vectors_3d(const char* fn, const DTensor& points, const char* name) {
  check_points(fn, name, points);
  DTensor u = unit_vectors(points);
  u.reshape({1, u.shape()[0], 3});
  return u;
}

void check_slopes(const char* fn, const Tensor& slopes) {
  if (slopes.dimension() != 1 || slopes.size() == 0)
    detail::fail(fn, "parameter 'slopes' must be [H] with H > 0, got ", shape_string(slopes));
  for (float v : slopes)
    if (!std::isfinite(v)) detail::fail(fn, "parameter 'slopes' holds a non-finite value ", v);
}

const BiasGrad& single_bias(const char* fn, const EncodingGrad& grad) {
  if (grad.biases.size() != 1)
    detail::fail(fn, "parameter 'grad' must hold exactly the encoding's one bias gradient, got ",
                 grad.biases.size(), " (request biases in the backward)");
  return grad.biases[0];
}

/// grad.input_add of an encoding whose input_add is [1, rows, D].
const Tensor& input_add_grad(const char* fn, const EncodingGrad& grad, std::size_t rows, std::size_t d) {
  const Tensor& g = grad.input_add;
  if (!is_set(g)) detail::fail(fn, "parameter 'grad' has no input_add gradient (grad.input_add is empty)");
  const Shape want{1, rows, d};
  if (Shape(g.shape().begin(), g.shape().end()) != want)
    detail::fail(fn, "parameter 'grad': grad.input_add must be ", shape_string(want), ", got ", shape_string(g));
  return g;
}

void check_grid(const char* fn, std::int64_t nlat, std::int64_t nlon, LatLonGrid kind) {
  if (nlat < (kind == LatLonGrid::with_poles ? 2 : 1))
    detail::fail(fn, "parameter 'nlat' must be >= ", kind == LatLonGrid::with_poles ? 2 : 1,
                 kind == LatLonGrid::with_poles ? " for a grid with poles" : "", ", got ", nlat);
  if (nlon < 1) detail::fail(fn, "parameter 'nlon' must be positive, got ", nlon);
}

/// One bilinear tap pair: source cells a and b, weight wb on b (1 - wb on a).
struct Tap {
  std::size_t a, b;
  double wb;
};

/// The regrid's taps, as the forward: latitude bracketed between decreasing rings and clamped
/// beyond the outermost rings; longitude periodic, lon_j = -180 + 360 j / n on both grids.
void regrid_taps(std::int64_t nlat, std::int64_t nlon, LatLonGrid from, std::int64_t new_nlat, std::int64_t new_nlon,
                 LatLonGrid to, std::vector<Tap>& lat_taps, std::vector<Tap>& lon_taps) {
  const auto src_lat = grid_latitudes(nlat, from), dst_lat = grid_latitudes(new_nlat, to);
  lat_taps.assign(static_cast<std::size_t>(new_nlat), {0, 0, 0.0});
  for (std::size_t o = 0; o < lat_taps.size(); ++o) {
    const double t = dst_lat[o];
    if (t >= src_lat.front()) continue;
    if (t <= src_lat.back()) {
      lat_taps[o] = {src_lat.size() - 1, src_lat.size() - 1, 0.0};
      continue;
    }
    std::size_t a = 0;
    while (src_lat[a + 1] > t) ++a;
    lat_taps[o] = {a, a + 1, (src_lat[a] - t) / (src_lat[a] - src_lat[a + 1])};
  }
  lon_taps.assign(static_cast<std::size_t>(new_nlon), {0, 0, 0.0});
  for (std::size_t o = 0; o < lon_taps.size(); ++o) {
    const double u = static_cast<double>(o) * static_cast<double>(nlon) / static_cast<double>(new_nlon);
    const double fl = std::floor(u);
    const auto a = static_cast<std::size_t>(fl) % static_cast<std::size_t>(nlon);
    lon_taps[o] = {a, (a + 1) % static_cast<std::size_t>(nlon), u - fl};
  }
}

constexpr double kPi = std::numbers::pi;
constexpr double kDeg = kPi / 180.0;

/// pbar_l^m(sin lat) at every ring, [ring][l(l+1)/2 + m] for l < L: the normalised recurrence of
/// the forward (colatitude convention; pbar_0^0 = 1/sqrt(4 pi), diagonal, first off-diagonal, then
/// the three-term step).
std::vector<std::vector<double>> ring_legendre(const std::vector<double>& lats, std::size_t L) {
  std::vector<std::vector<double>> out(lats.size(), std::vector<double>(L * (L + 1) / 2));
  for (std::size_t i = 0; i < lats.size(); ++i) {
    const double x = std::sin(lats[i] * kDeg), u = std::cos(lats[i] * kDeg);
    std::vector<double>& p = out[i];
    double pmm = 0;
    for (std::size_t m = 0; m < L; ++m) {
      const double dm = static_cast<double>(m);
      pmm = m == 0 ? 1.0 / std::sqrt(4 * kPi) : std::sqrt((2 * dm + 1) / (2 * dm)) * u * pmm;
      p[m * (m + 1) / 2 + m] = pmm;
      if (m + 1 < L) p[(m + 1) * (m + 2) / 2 + m] = std::sqrt(2 * dm + 3) * x * pmm;
      for (std::size_t l = m + 2; l < L; ++l) {
        const double dl = static_cast<double>(l);
        const double a = std::sqrt((4 * dl * dl - 1) / (dl * dl - dm * dm));
        const double b = std::sqrt(((dl - 1) * (dl - 1) - dm * dm) / (4 * (dl - 1) * (dl - 1) - 1));
        p[l * (l + 1) / 2 + m] = a * (x * p[(l - 1) * l / 2 + m] - b * p[(l - 2) * (l - 1) / 2 + m]);
      }
    }
  }
  return out;
}

/// Adjoint of the forward's per-order solve coef = P.colPivHouseholderQr().solve(rhs), i.e. of
/// x = Pi [R11^-1 (Q^T b)_{:r}; 0]: returns b = Q [R11^-T (Pi^T x)_{:r}; 0], [rows(P), cols(x)].
Eigen::MatrixXd solve_adjoint(const Eigen::MatrixXd& P, const Eigen::MatrixXd& dx) {
  const Eigen::ColPivHouseholderQR<Eigen::MatrixXd> qr(P);
  const Eigen::Index r = qr.nonzeroPivots();
  Eigen::MatrixXd z = Eigen::MatrixXd::Zero(P.rows(), dx.cols());
  if (r == 0) return z;
  for (Eigen::Index i = 0; i < r; ++i) z.row(i) = dx.row(qr.colsPermutation().indices()(i));
  qr.matrixQR().topLeftCorner(r, r).triangularView<Eigen::Upper>().transpose().solveInPlace(z.topRows(r));
  return qr.householderQ().setLength(r) * z;
}

}  // namespace

// ====================================================================== learned tables

Tensor latitude_table_encoding_backward(const Tensor& table, std::int64_t nlon, const EncodingGrad& grad) {
  const char* fn = "latitude_table_encoding_backward";
  if (table.dimension() != 2 || table.shape()[0] == 0 || table.shape()[1] == 0)
    detail::fail(fn, "parameter 'table' must be [nlat, D], got ", shape_string(table));
  if (nlon < 1) detail::fail(fn, "parameter 'nlon' must be positive, got ", nlon);
  const std::size_t nlat = table.shape()[0], d = table.shape()[1], w = static_cast<std::size_t>(nlon);
  const Tensor& g = input_add_grad(fn, grad, nlat * w, d);
  Tensor out = Tensor::from_shape({nlat, d});
  std::vector<double> acc(d);
  for (std::size_t i = 0; i < nlat; ++i) {
    std::fill(acc.begin(), acc.end(), 0.0);
    for (std::size_t j = 0; j < w; ++j) {
      const float* row = g.data() + (i * w + j) * d;
      for (std::size_t c = 0; c < d; ++c) acc[c] += row[c];
    }
    for (std::size_t c = 0; c < d; ++c) out(i, c) = static_cast<float>(acc[c]);
  }
  return out;
}

Tensor latlon_table_encoding_backward(const Tensor& table, const EncodingGrad& grad) {
  const char* fn = "latlon_table_encoding_backward";
  if (table.dimension() != 2 || table.shape()[0] == 0 || table.shape()[1] == 0)
    detail::fail(fn, "parameter 'table' must be [nlat * nlon, D], got ", shape_string(table));
  Tensor out = input_add_grad(fn, grad, table.shape()[0], table.shape()[1]);
  out.reshape({table.shape()[0], table.shape()[1]});
  return out;
}

// ====================================================================== relative encodings

Encoding geodesic_alibi(const DTensor& qp, const DTensor& kp, const Tensor& slopes) {
  const char* fn = "geodesic_alibi";
  check_slopes(fn, slopes);
  const DTensor uq = unit_vectors_3d(fn, qp, "query_points"), uk = unit_vectors_3d(fn, kp, "key_points");
  Bias b;
  b.kind = BiasKind::slope;
  b.relation = Relation::geodesic(uq, uk);
  b.slopes = slopes;
  Encoding e;
  e.name = "geodesic_alibi";
  e.biases.push_back(std::move(b));
  return e;
}

Tensor geodesic_alibi_backward(const DTensor& qp, const DTensor& kp, const Tensor& slopes, const EncodingGrad& grad) {
  const char* fn = "geodesic_alibi_backward";
  check_slopes(fn, slopes);
  check_points(fn, "query_points", qp);
  check_points(fn, "key_points", kp);
  const Tensor& g = single_bias(fn, grad).slopes;
  if (!is_set(g)) detail::fail(fn, "parameter 'grad' has no slope gradient (grad.biases[0].slopes is empty)");
  if (g.dimension() != 1 || g.size() != slopes.size())
    detail::fail(fn, "parameter 'grad': slope gradient must be [", slopes.size(), "], got ", shape_string(g));
  return g;
}

Tensor geodesic_bucket_bias_backward(const DTensor& qp, const DTensor& kp, const Tensor& table,
                                     const GeodesicBuckets& buckets, const EncodingGrad& grad) {
  const char* fn = "geodesic_bucket_bias_backward";
  check_points(fn, "query_points", qp);
  check_points(fn, "key_points", kp);
  if (buckets.num_buckets < 2) detail::fail(fn, "parameter 'num_buckets' must be >= 2, got ", buckets.num_buckets);
  const auto nb = static_cast<std::size_t>(buckets.num_buckets);
  if (table.dimension() != 2 || table.shape()[0] == 0 || table.shape()[1] != nb)
    detail::fail(fn, "parameter 'table' must be [H|1, ", nb, "], got ", shape_string(table));
  const Tensor& g = single_bias(fn, grad).table;
  if (!is_set(g)) detail::fail(fn, "parameter 'grad' has no bias table gradient (grad.biases[0].table is empty)");
  const Shape want(table.shape().begin(), table.shape().end()), got(g.shape().begin(), g.shape().end());
  if (got == want) return g;
  if (g.dimension() == 2 && want[0] == 1 && got[1] == nb) return reduce_to_shape(g, want);
  detail::fail(fn, "parameter 'grad': bias table gradient must be ", shape_string(want), " like the table, got ",
               shape_string(got));
}

// ====================================================================== regridding

Tensor regrid_latlon_backward(const Tensor& d_out, std::int64_t nlat, std::int64_t nlon, LatLonGrid from,
                              LatLonGrid to) {
  const char* fn = "regrid_latlon_backward";
  if (d_out.dimension() != 3 || d_out.shape()[0] == 0 || d_out.shape()[1] == 0 || d_out.shape()[2] == 0)
    detail::fail(fn, "parameter 'd_out' must be a non-empty [new_nlat, new_nlon, C] tensor, got ", shape_string(d_out));
  check_grid(fn, nlat, nlon, from);
  const auto new_nlat = static_cast<std::int64_t>(d_out.shape()[0]), new_nlon = static_cast<std::int64_t>(d_out.shape()[1]);
  check_grid(fn, new_nlat, new_nlon, to);
  if (nlat == new_nlat && nlon == new_nlon && from == to) return d_out;  // the forward is the identity
  std::vector<Tap> lat_taps, lon_taps;
  regrid_taps(nlat, nlon, from, new_nlat, new_nlon, to, lat_taps, lon_taps);
  const std::size_t C = d_out.shape()[2], W = static_cast<std::size_t>(nlon);
  std::vector<double> acc(static_cast<std::size_t>(nlat) * W * C, 0.0);
  for (std::size_t i = 0; i < lat_taps.size(); ++i)
    for (std::size_t j = 0; j < lon_taps.size(); ++j) {
      const Tap& y = lat_taps[i];
      const Tap& x = lon_taps[j];
      const float* g = d_out.data() + (i * lon_taps.size() + j) * C;
      // out = (1 - wy)[(1 - wx) p00 + wx p01] + wy[(1 - wx) p10 + wx p11]
      const double w00 = (1 - y.wb) * (1 - x.wb), w01 = (1 - y.wb) * x.wb;
      const double w10 = y.wb * (1 - x.wb), w11 = y.wb * x.wb;
      double* p00 = acc.data() + (y.a * W + x.a) * C;
      double* p01 = acc.data() + (y.a * W + x.b) * C;
      double* p10 = acc.data() + (y.b * W + x.a) * C;
      double* p11 = acc.data() + (y.b * W + x.b) * C;
      for (std::size_t c = 0; c < C; ++c) {
        const double v = g[c];
        p00[c] += w00 * v;
        p01[c] += w01 * v;
        p10[c] += w10 * v;
        p11[c] += w11 * v;
      }
    }
  Tensor out = Tensor::from_shape({static_cast<std::size_t>(nlat), W, C});
  std::transform(acc.begin(), acc.end(), out.data(), [](double v) { return static_cast<float>(v); });
  return out;
}

Tensor regrid_latlon_harmonics_backward(const Tensor& d_out, std::int64_t nlat, std::int64_t nlon, LatLonGrid from,
                                        LatLonGrid to, std::int64_t degree) {
  const char* fn = "regrid_latlon_harmonics_backward";
  if (d_out.dimension() != 3 || d_out.shape()[0] == 0 || d_out.shape()[1] == 0 || d_out.shape()[2] == 0)
    detail::fail(fn, "parameter 'd_out' must be a non-empty [new_nlat, new_nlon, C] tensor, got ", shape_string(d_out));
  check_grid(fn, nlat, nlon, from);
  const std::size_t dst_rings = d_out.shape()[0], dst_cols = d_out.shape()[1], C = d_out.shape()[2];
  check_grid(fn, static_cast<std::int64_t>(dst_rings), static_cast<std::int64_t>(dst_cols), to);
  const std::int64_t max_degree = max_regrid_degree(nlat, nlon, from);
  if (degree < 0 || degree > max_degree)
    detail::fail(fn, "parameter 'degree' (L) must be in [0, ", max_degree, "] for a ", nlat, " x ", nlon,
                 " source grid (0 = the largest), got ", degree);
  const auto L = static_cast<std::size_t>(degree == 0 ? max_degree : degree);
  const auto src_rings = static_cast<std::size_t>(nlat), src_cols = static_cast<std::size_t>(nlon);
  const std::size_t orders = nlon == 1 ? 1 : L;  // orders the forward fitted (others carry zero)
  const auto src_p = ring_legendre(grid_latitudes(nlat, from), L);
  const auto dst_p = ring_legendre(grid_latitudes(static_cast<std::int64_t>(dst_rings), to), L);
  auto fidx = [&](std::size_t i, std::size_t m, std::size_t part, std::size_t c) {
    return ((i * L + m) * 2 + part) * C + c;
  };
  // 3'. Synthesis transposed: damp[ring][m][cos | sin][c] = sum_j (cos | sin)(m az_j) d_out[ring, j, c].
  std::vector<double> damp(dst_rings * L * 2 * C, 0.0);
  for (std::size_t j = 0; j < dst_cols; ++j) {
    const double az = (-180.0 + 360.0 * static_cast<double>(j) / static_cast<double>(dst_cols)) * kDeg;
    for (std::size_t m = 0; m < orders; ++m) {
      const double cm = std::cos(static_cast<double>(m) * az), sm = std::sin(static_cast<double>(m) * az);
      for (std::size_t i = 0; i < dst_rings; ++i) {
        const float* g = d_out.data() + (i * dst_cols + j) * C;
        for (std::size_t c = 0; c < C; ++c) {
          damp[fidx(i, m, 0, c)] += cm * g[c];
          damp[fidx(i, m, 1, c)] += sm * g[c];
        }
      }
    }
  }
  // 2'. Per order: the evaluation on the target rings transposed, then the least-squares solve.
  std::vector<double> dfour(src_rings * L * 2 * C, 0.0);
  for (std::size_t m = 0; m < orders; ++m) {
    const auto unknowns = static_cast<Eigen::Index>(L - m);
    Eigen::MatrixXd P(static_cast<Eigen::Index>(src_rings), unknowns);
    for (std::size_t i = 0; i < src_rings; ++i)
      for (std::size_t l = m; l < L; ++l)
        P(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(l - m)) = src_p[i][l * (l + 1) / 2 + m];
    Eigen::MatrixXd dcoef = Eigen::MatrixXd::Zero(unknowns, static_cast<Eigen::Index>(2 * C));
    for (std::size_t i = 0; i < dst_rings; ++i)
      for (std::size_t l = m; l < L; ++l)
        for (std::size_t k = 0; k < 2 * C; ++k)
          dcoef(static_cast<Eigen::Index>(l - m), static_cast<Eigen::Index>(k)) +=
              dst_p[i][l * (l + 1) / 2 + m] * damp[fidx(i, m, k / C, k % C)];
    const Eigen::MatrixXd drhs = solve_adjoint(P, dcoef);  // [src_rings, 2C]
    for (std::size_t i = 0; i < src_rings; ++i)
      for (std::size_t k = 0; k < 2 * C; ++k)
        dfour[fidx(i, m, k / C, k % C)] = drhs(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(k));
  }
  // 1'. The weighted ring DFT transposed: a weighted synthesis on the source grid.
  Tensor out = Tensor::from_shape({src_rings, src_cols, C});
  std::vector<double> acc(C);
  for (std::size_t j = 0; j < src_cols; ++j) {
    const double az = (-180.0 + 360.0 * static_cast<double>(j) / static_cast<double>(nlon)) * kDeg;
    for (std::size_t i = 0; i < src_rings; ++i) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (std::size_t m = 0; m < orders; ++m) {
        const double w = (m == 0 ? 1.0 : 2.0) / static_cast<double>(nlon);
        const double cm = w * std::cos(static_cast<double>(m) * az), sm = w * std::sin(static_cast<double>(m) * az);
        for (std::size_t c = 0; c < C; ++c) acc[c] += cm * dfour[fidx(i, m, 0, c)] + sm * dfour[fidx(i, m, 1, c)];
      }
      float* dst = out.data() + (i * src_cols + j) * C;
      for (std::size_t c = 0; c < C; ++c) dst[c] = static_cast<float>(acc[c]);
    }
  }
  return out;
}

}  // namespace posenc
