// Backward passes of the learnable sphere encodings: the per-latitude and
// per-cell tables, the great-circle bucket table, great-circle ALiBi with
// learnable slopes, and the adjoints of the bilinear and harmonic lat/lon regrids.
#include <algorithm>
#include <cmath>

// Eigen's AVX-512 kernels trip GCC 12's -Wmaybe-uninitialized inside the compiler's own intrinsics headers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/QR>

#include "detail/bias_part.hpp"
#include "detail/check.hpp"
#include "detail/grad_parts.hpp"
#include "detail/latlon.hpp"
#include "posenc/gradients.hpp"
#include "posenc/sphere.hpp"

namespace posenc {

namespace {

using detail::check_latlon_grid;
using detail::check_latlon_points;

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
  const Tensor& g = detail::input_add_grad(fn, grad, nlat * w, d);
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
  Tensor out = detail::input_add_grad(fn, grad, table.shape()[0], table.shape()[1]);
  out.reshape({table.shape()[0], table.shape()[1]});
  return out;
}

// ====================================================================== relative encodings

Encoding geodesic_alibi(const DTensor& qp, const DTensor& kp, const Tensor& slopes) {
  const char* fn = "geodesic_alibi";
  detail::check_slopes(fn, slopes);
  const DTensor uq = detail::latlon_unit_vectors(fn, qp, "query_points");
  const DTensor uk = detail::latlon_unit_vectors(fn, kp, "key_points");
  return detail::bias_part("geodesic_alibi", BiasKind::slope, Relation::geodesic(uq, uk), slopes);
}

Tensor geodesic_alibi_backward(const DTensor& qp, const DTensor& kp, const Tensor& slopes, const EncodingGrad& grad) {
  const char* fn = "geodesic_alibi_backward";
  detail::check_slopes(fn, slopes);
  check_latlon_points(fn, "query_points", qp);
  check_latlon_points(fn, "key_points", kp);
  return detail::slope_grad(fn, grad, slopes.size());
}

Tensor geodesic_bucket_bias_backward(const DTensor& qp, const DTensor& kp, const Tensor& table,
                                     const GeodesicBuckets& buckets, const EncodingGrad& grad) {
  const char* fn = "geodesic_bucket_bias_backward";
  check_latlon_points(fn, "query_points", qp);
  check_latlon_points(fn, "key_points", kp);
  if (buckets.num_buckets < 2) detail::fail(fn, "parameter 'num_buckets' must be >= 2, got ", buckets.num_buckets);
  const auto nb = static_cast<std::size_t>(buckets.num_buckets);
  if (table.dimension() != 2 || table.shape()[0] == 0 || table.shape()[1] != nb)
    detail::fail(fn, "parameter 'table' must be [H|1, ", nb, "], got ", shape_string(table));
  return detail::table_grad(fn, grad, table);
}

// ====================================================================== regridding

Tensor regrid_latlon_backward(const Tensor& d_out, std::int64_t nlat, std::int64_t nlon, LatLonGrid from,
                              LatLonGrid to) {
  const char* fn = "regrid_latlon_backward";
  if (d_out.dimension() != 3 || d_out.shape()[0] == 0 || d_out.shape()[1] == 0 || d_out.shape()[2] == 0)
    detail::fail(fn, "parameter 'd_out' must be a non-empty [new_nlat, new_nlon, C] tensor, got ", shape_string(d_out));
  check_latlon_grid(fn, nlat, nlon, from);
  const auto new_nlat = static_cast<std::int64_t>(d_out.shape()[0]), new_nlon = static_cast<std::int64_t>(d_out.shape()[1]);
  check_latlon_grid(fn, new_nlat, new_nlon, to);
  if (nlat == new_nlat && nlon == new_nlon && from == to) return d_out;  // the forward is the identity
  const auto [lat_taps, lon_taps] = detail::latlon_regrid_taps(nlat, nlon, from, new_nlat, new_nlon, to);
  const std::size_t C = d_out.shape()[2], W = static_cast<std::size_t>(nlon);
  std::vector<double> acc(static_cast<std::size_t>(nlat) * W * C, 0.0);
  for (std::size_t i = 0; i < lat_taps.size(); ++i)
    for (std::size_t j = 0; j < lon_taps.size(); ++j) {
      const detail::LinearTap& y = lat_taps[i];
      const detail::LinearTap& x = lon_taps[j];
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
  check_latlon_grid(fn, nlat, nlon, from);
  const std::size_t dst_rings = d_out.shape()[0], dst_cols = d_out.shape()[1], C = d_out.shape()[2];
  check_latlon_grid(fn, static_cast<std::int64_t>(dst_rings), static_cast<std::int64_t>(dst_cols), to);
  const std::size_t L = detail::regrid_degree(fn, nlat, nlon, from, degree);
  const auto src_rings = static_cast<std::size_t>(nlat), src_cols = static_cast<std::size_t>(nlon);
  const std::size_t orders = nlon == 1 ? 1 : L;  // orders the forward fitted (others carry zero)
  const auto src_p = detail::ring_legendre(grid_latitudes(nlat, from), L);
  const auto dst_p = detail::ring_legendre(grid_latitudes(static_cast<std::int64_t>(dst_rings), to), L);
  auto fidx = [&](std::size_t i, std::size_t m, std::size_t part, std::size_t c) {
    return ((i * L + m) * 2 + part) * C + c;
  };
  // 3'. Synthesis transposed: damp[ring][m][cos | sin][c] = sum_j (cos | sin)(m az_j) d_out[ring, j, c].
  const auto damp = detail::ring_analysis(d_out.data(), dst_rings, dst_cols, C, L, orders, /*dft=*/false);
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
  return detail::ring_synthesis(dfour, src_rings, src_cols, C, L, orders, /*dft=*/true);
}

}  // namespace posenc
