// Pieces shared by the sphere builders and their backward passes: the checks of
// (lon, lat) points and lat/lon grids, unit vectors as [1, N, 3], the normalised
// associated Legendre recurrence, and the bilinear taps of a lat/lon regrid.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <vector>

#include "detail/check.hpp"
#include "detail/linear_taps.hpp"
#include "posenc/sphere.hpp"

namespace posenc::detail {

inline constexpr double kLatLonPi = std::numbers::pi;
inline constexpr double kLatLonDeg = kLatLonPi / 180.0;

/// Checks [N, 2] (lon, lat) degrees: N > 0, finite, latitude in [-90, 90].
inline void check_latlon_points(const char* fn, const char* name, const DTensor& p) {
  if (p.dimension() != 2 || p.shape()[1] != 2 || p.shape()[0] == 0)
    fail(fn, "parameter '", name, "' must be [N, 2] (lon, lat) in degrees with N > 0, got ", shape_string(p));
  for (std::size_t i = 0; i < p.shape()[0]; ++i) {
    const double lon = p(i, 0), lat = p(i, 1);
    if (!std::isfinite(lon) || !std::isfinite(lat))
      fail(fn, "parameter '", name, "' row ", i, " is not finite: (", lon, ", ", lat, ")");
    if (lat < -90.0 || lat > 90.0)
      fail(fn, "parameter '", name, "' row ", i, " has latitude ", lat, " outside [-90, 90]");
  }
}

/// nlat rings (two or more with poles) and nlon >= 1 longitudes.
inline void check_latlon_grid(const char* fn, std::int64_t nlat, std::int64_t nlon, LatLonGrid kind) {
  if (nlat < (kind == LatLonGrid::with_poles ? 2 : 1))
    fail(fn, "parameter 'nlat' must be >= ", kind == LatLonGrid::with_poles ? 2 : 1,
         kind == LatLonGrid::with_poles ? " for a grid with poles" : "", ", got ", nlat);
  if (nlon < 1) fail(fn, "parameter 'nlon' must be positive, got ", nlon);
}

/// The checked points' unit vectors as [1, N, 3] (a relation's batch of one).
inline DTensor latlon_unit_vectors(const char* fn, const DTensor& points, const char* name) {
  check_latlon_points(fn, name, points);
  DTensor u = unit_vectors(points);
  u.reshape({1, u.shape()[0], 3});
  return u;
}

/// The normalised associated Legendre functions pbar_l^m = N_l^m P_l^m (no Condon-Shortley phase)
/// by the recurrence of Schaeffer 2013, for l < L; coefficients precomputed once.
/// The recurrence's coefficients (written once; the vectorised harmonics kernel reads the same):
/// pbar_l^m = a (x pbar_{l-1}^m - b pbar_{l-2}^m) for l >= m + 2, pbar_m^m = diag(m) u pbar_{m-1}^{m-1}
/// (diag(0) = pbar_0^0 = 1 / sqrt(4 pi)), pbar_{m+1}^m = first(m) x pbar_m^m.
inline double legendre_a(std::size_t l, std::size_t m) {
  const double dl = static_cast<double>(l), dm = static_cast<double>(m);
  return std::sqrt((4 * dl * dl - 1) / (dl * dl - dm * dm));
}
inline double legendre_b(std::size_t l, std::size_t m) {
  const double dl = static_cast<double>(l), dm = static_cast<double>(m);
  return std::sqrt(((dl - 1) * (dl - 1) - dm * dm) / (4 * (dl - 1) * (dl - 1) - 1));
}
inline double legendre_diag(std::size_t m) {
  const double dm = static_cast<double>(m);
  return m == 0 ? 1.0 / std::sqrt(4 * kLatLonPi) : std::sqrt((2 * dm + 1) / (2 * dm));
}
inline double legendre_first(std::size_t m) { return std::sqrt(2 * static_cast<double>(m) + 3); }

class NormalisedLegendre {
 public:
  explicit NormalisedLegendre(std::size_t L) : L_(L), ca_(L * (L + 1) / 2), cb_(L * (L + 1) / 2), cmm_(L), cm1_(L) {
    for (std::size_t l = 0; l < L; ++l)
      for (std::size_t m = 0; m + 2 <= l; ++m) {
        ca_[l * (l + 1) / 2 + m] = legendre_a(l, m);
        cb_[l * (l + 1) / 2 + m] = legendre_b(l, m);
      }
    for (std::size_t m = 0; m < L; ++m) {
      cmm_[m] = legendre_diag(m);
      cm1_[m] = legendre_first(m);
    }
  }
  /// pbar_m^m from pbar_{m-1}^{m-1} (ignored for m = 0); u = sin(theta) >= 0.
  double next_diagonal(std::size_t m, double u, double previous) const {
    return m == 0 ? cmm_[0] : cmm_[m] * u * previous;
  }
  double a(std::size_t l, std::size_t m) const { return ca_[l * (l + 1) / 2 + m]; }
  double b(std::size_t l, std::size_t m) const { return cb_[l * (l + 1) / 2 + m]; }
  /// pbar_{m+1}^m = first(m) x pbar_m^m.
  double first(std::size_t m) const { return cm1_[m]; }
  /// col[l] = pbar_l^m(x) for l = m .. L-1, given pmm = pbar_m^m.
  void column(std::size_t m, double x, double pmm, std::vector<double>& col) const {
    col[m] = pmm;
    if (m + 1 < L_) col[m + 1] = cm1_[m] * x * pmm;
    for (std::size_t l = m + 2; l < L_; ++l) {
      const std::size_t k = l * (l + 1) / 2 + m;
      col[l] = ca_[k] * (x * col[l - 1] - cb_[k] * col[l - 2]);
    }
  }

 private:
  std::size_t L_;
  std::vector<double> ca_, cb_, cmm_, cm1_;
};

/// pbar_l^m(sin lat) at every ring, [ring][l(l+1)/2 + m] for l < L (colatitude convention).
inline std::vector<std::vector<double>> ring_legendre(const std::vector<double>& lats, std::size_t L) {
  const NormalisedLegendre legendre(L);
  std::vector<std::vector<double>> out(lats.size(), std::vector<double>(L * (L + 1) / 2));
  std::vector<double> col(L);
  for (std::size_t i = 0; i < lats.size(); ++i) {
    const double x = std::sin(lats[i] * kLatLonDeg), u = std::cos(lats[i] * kLatLonDeg);
    double pmm = 0;
    for (std::size_t m = 0; m < L; ++m) {
      pmm = legendre.next_diagonal(m, u, pmm);
      legendre.column(m, x, pmm, col);
      for (std::size_t l = m; l < L; ++l) out[i][l * (l + 1) / 2 + m] = col[l];
    }
  }
  return out;
}

/// The bilinear taps of regrid_latlon: latitude bracketed between the decreasing source rings
/// and clamped beyond the outermost; longitude periodic, lon_j = -180 + 360 j / n on both grids.
struct LatLonTaps {
  std::vector<LinearTap> lat, lon;
};
inline LatLonTaps latlon_regrid_taps(std::int64_t nlat, std::int64_t nlon, LatLonGrid from, std::int64_t new_nlat,
                                     std::int64_t new_nlon, LatLonGrid to) {
  return {decreasing_taps(grid_latitudes(nlat, from), grid_latitudes(new_nlat, to)), periodic_taps(nlon, new_nlon)};
}

/// The degree L of a harmonic regrid from an nlat x nlon source grid: `degree` in [0, max], 0 = the
/// largest max_regrid_degree allows.
inline std::size_t regrid_degree(const char* fn, std::int64_t nlat, std::int64_t nlon, LatLonGrid from,
                                 std::int64_t degree) {
  const std::int64_t max_degree = max_regrid_degree(nlat, nlon, from);
  if (degree < 0 || degree > max_degree)
    fail(fn, "parameter 'degree' (L) must be in [0, ", max_degree, "] for a ", nlat, " x ", nlon,
         " source grid (0 = the largest), got ", degree);
  return static_cast<std::size_t>(degree == 0 ? max_degree : degree);
}

/// Ring Fourier coefficients [ring][m][cos | sin][c] at ((ring L + m) 2 + part) C + c, m < L, with
/// longitudes az_j = -180 + 360 j / cols degrees. With `dft` an order's terms carry the ring DFT's
/// weight (1 for m = 0, 2 above, over cols), else weight 1.
inline double ring_order_weight(bool dft, std::size_t m, std::size_t cols) {
  return dft ? (m == 0 ? 1.0 : 2.0) / static_cast<double>(cols) : 1.0;
}

/// Analysis along each ring of grid [rings, cols, C]: f[ring][m][part][c] = sum_j w_m (cos | sin)(m az_j)
/// grid[ring, j, c] for m < orders (zero above). regrid_latlon_harmonics' first step (dft) and the
/// transpose of its synthesis (plain).
inline std::vector<double> ring_analysis(const float* grid, std::size_t rings, std::size_t cols, std::size_t C,
                                         std::size_t L, std::size_t orders, bool dft) {
  std::vector<double> f(rings * L * 2 * C, 0.0);
  for (std::size_t j = 0; j < cols; ++j) {
    const double az = (-180.0 + 360.0 * static_cast<double>(j) / static_cast<double>(cols)) * kLatLonDeg;
    for (std::size_t m = 0; m < orders; ++m) {
      const double w = ring_order_weight(dft, m, cols);
      const double cm = w * std::cos(static_cast<double>(m) * az), sm = w * std::sin(static_cast<double>(m) * az);
      for (std::size_t i = 0; i < rings; ++i) {
        const float* t = grid + (i * cols + j) * C;
        double* fc = f.data() + (i * L + m) * 2 * C;
        for (std::size_t c = 0; c < C; ++c) {
          fc[c] += cm * t[c];
          fc[C + c] += sm * t[c];
        }
      }
    }
  }
  return f;
}

/// Synthesis, the transpose of ring_analysis: out[ring, j, c] = sum_{m < orders} w_m (cos(m az_j)
/// f[ring][m][0][c] + sin(m az_j) f[ring][m][1][c]), as [rings, cols, C].
inline Tensor ring_synthesis(const std::vector<double>& f, std::size_t rings, std::size_t cols, std::size_t C,
                             std::size_t L, std::size_t orders, bool dft) {
  Tensor out = Tensor::from_shape({rings, cols, C});
  std::vector<double> acc(C);
  for (std::size_t j = 0; j < cols; ++j) {
    const double az = (-180.0 + 360.0 * static_cast<double>(j) / static_cast<double>(cols)) * kLatLonDeg;
    for (std::size_t i = 0; i < rings; ++i) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (std::size_t m = 0; m < orders; ++m) {
        const double w = ring_order_weight(dft, m, cols);
        const double cm = w * std::cos(static_cast<double>(m) * az), sm = w * std::sin(static_cast<double>(m) * az);
        const double* fc = f.data() + (i * L + m) * 2 * C;
        for (std::size_t c = 0; c < C; ++c) acc[c] += cm * fc[c] + sm * fc[C + c];
      }
      float* dst = out.data() + (i * cols + j) * C;
      for (std::size_t c = 0; c < C; ++c) dst[c] = static_cast<float>(acc[c]);
    }
  }
  return out;
}

}  // namespace posenc::detail
