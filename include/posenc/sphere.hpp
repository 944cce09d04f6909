// posenc/sphere.hpp — positions on the sphere: lat/lon points and grids,
// absolute location encodings (unit vector, wrap, Space2Vec / Sphere2Vec, real
// spherical harmonics, learned per-latitude tables) and relative ones that no
// other library has (great-circle ALiBi and bucketed biases, a RoPE on
// (lat, lon)), plus regridding of lat/lon tables.
//
// Points are [N, 2] doubles holding (lon, lat) in DEGREES, longitude first (the
// locationencoder / Sphere2Vec order); latitudes must lie in [-90, 90], any
// finite longitude is accepted (it is periodic). phi = latitude, lambda =
// longitude, colatitude = 90 deg - lat. Formulas, defaults and the conventions
// that differ between implementations: docs/methods.md#sphere.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "posenc/encoding.hpp"
#include "posenc/gradients.hpp"

namespace posenc {

// ------------------------------------------------------------------ points and grids

/// Equiangular lat/lon grids, rows north to south, longitude fastest:
///   with_poles     lat_i = 90 - 180 i / (nlat - 1)   (ERA5 0.25 deg: 721 x 1440; nlat >= 2)
///   without_poles  lat_i = 90 - 180 (i + 1/2) / nlat (cell centres)
/// and lon_j = -180 + 360 j / nlon in both (the column at +180 is the one at -180).
enum class LatLonGrid { with_poles, without_poles };

/// (lon, lat) of every grid cell: [nlat * nlon, 2], index = i * nlon + j.
DTensor latlon_grid(std::int64_t nlat, std::int64_t nlon, LatLonGrid kind = LatLonGrid::with_poles);
/// The nlat latitudes (degrees, north to south) of a grid.
std::vector<double> grid_latitudes(std::int64_t nlat, LatLonGrid kind = LatLonGrid::with_poles);

/// Unit vectors u = (cos phi cos lambda, cos phi sin lambda, sin phi): [N, 3] in double
/// (locationencoder `Cartesian3D`). Throws for latitudes outside [-90, 90] or non-finite input.
DTensor unit_vectors(const DTensor& points);

/// (cos lambda, sin lambda, cos phi, sin phi): [N, 4] (locationencoder `Wrap`).
Tensor wrap_features(const DTensor& points);
/// wrap_features written into a caller's buffer of N * 4 floats (the same bits; another size
/// throws std::invalid_argument naming 'out' and both sizes).
void wrap_features_into(const DTensor& points, std::span<float> out);

// ------------------------------------------------------------------ Space2Vec / Sphere2Vec

/// Which Space2Vec / Sphere2Vec feature set (`docs/methods.md#sphere2vec`); widths in brackets at the end.
enum class Sphere2VecVariant {
  sphere_c,        ///< per scale: sin phi_s, cos phi_s cos lambda_s, cos phi_s sin lambda_s          (3S)
  sphere_c_plus,   ///< sin phi_s, cos phi_s, sin lambda_s, cos lambda_s, cos phi_s cos lambda_s, cos phi_s sin lambda_s (6S)
  sphere_m,        ///< sin phi_s, cos phi_s cos lambda, cos phi cos lambda_s, cos phi_s sin lambda, cos phi sin lambda_s (5S)
  sphere_m_plus,   ///< sin phi_s, cos phi_s, sin lambda_s, cos lambda_s, then sphere_m's last four            (8S)
  grid,            ///< Space2Vec grid: [sin lambda f_0, cos lambda f_0, ..., sin phi f_0, cos phi f_0, ...]   (4S)
  theory,          ///< Space2Vec theory: per scale and direction a_k (0, 120, 240 deg): sin, cos of <(lambda, phi), a_k> f_s (6S)
};

/// Space2Vec / Sphere2Vec options; defaults are the reference classes' (r_min 10, r_max 1e4, S 16).
struct Sphere2VecOptions {
  Sphere2VecVariant variant = Sphere2VecVariant::sphere_c_plus;  ///< [sphere_c_plus]
  std::int64_t scales = 16;        ///< S (frequency_num)
  double min_radius = 10.0;        ///< r_min: smallest timescale
  double max_radius = 10000.0;     ///< r_max: largest timescale
  /// false (default): angles in radians, as the Sphere2Vec paper and code;
  /// true: locationencoder's copy, which multiplies degrees by the frequencies and
  /// takes sin/cos of the unscaled degrees as if they were radians (compat only).
  bool degrees_as_radians = false;
};

/// Frequencies f_s = 1 / (r_min exp(s ln(r_max / r_min) / (S - 1))), s < S (highest first; S = 1: 1/r_min).
std::vector<double> sphere2vec_frequencies(const Sphere2VecOptions& options);
/// Features [N, width], lambda_s = lambda f_s, phi_s = phi f_s, ordered [scale][feature]
/// (grid: [axis][scale][sin, cos]). Evaluated in double, stored as float.
Tensor sphere2vec_features(const DTensor& points, const Sphere2VecOptions& options = {});
/// sphere2vec_features written into a caller's buffer of N * width floats (row-major, the same
/// bits; another size throws std::invalid_argument naming 'out' and both sizes).
void sphere2vec_features_into(const DTensor& points, const Sphere2VecOptions& options, std::span<float> out);
/// The feature width of the options: 3S, 6S, 5S, 8S, 4S or 6S by variant.
std::int64_t sphere2vec_width(const Sphere2VecOptions& options);

// ------------------------------------------------------------------ real spherical harmonics

/// Which polar angle and azimuth the harmonics use.
enum class SphericalConvention {
  /// MarcCoru/locationencoder (the default): theta = rad(lat + 90) (0 at the south pole),
  /// azimuth = rad(lon + 180). Equals (-1)^l times the colatitude form.
  locationencoder,
  /// Physics: theta = colatitude = rad(90 - lat), azimuth = rad(lon). Y_1 ~ (y, z, x) of the unit vector.
  colatitude,
};

/// Real spherical harmonics options (`docs/methods.md#spherical-harmonics`). Defaults in brackets.
struct SphericalHarmonicsOptions {
  std::int64_t degree = 10;  ///< L: degrees l = 0 .. L-1, L^2 features (locationencoder's legendre_polys)
  SphericalConvention convention = SphericalConvention::locationencoder;  ///< [locationencoder]
  bool cs_phase = false;     ///< multiply by the Condon-Shortley phase (-1)^m (locationencoder closed-form)
};

/// Real orthonormal harmonics (integral of Y^2 over the unit sphere = 1), [N, L^2],
/// l-major with m = -l .. l:
///   Y_l^0 = pbar_l^0(cos theta),  Y_l^m = sqrt2 pbar_l^m(cos theta) cos(m az) (m > 0),
///   Y_l^-m = sqrt2 pbar_l^m(cos theta) sin(m az),  pbar_l^m = N_l^m P_l^m (no CS phase),
/// N_l^m = sqrt((2l+1)/(4 pi) (l-m)!/(l+m)!). pbar comes from the normalised recurrence
/// (Schaeffer 2013; torch-harmonics): pbar_0^0 = 1/sqrt(4 pi), pbar_m^m = sqrt((2m+1)/(2m)) u pbar_{m-1}^{m-1},
/// pbar_{m+1}^m = sqrt(2m+3) x pbar_m^m, pbar_l^m = a (x pbar_{l-1}^m - b pbar_{l-2}^m) with
/// a = sqrt((4l^2-1)/(l^2-m^2)), b = sqrt(((l-1)^2-m^2)/(4(l-1)^2-1)), x = cos theta,
/// u = sqrt((1-x)(1+x)); the azimuthal factors by the angle-addition recurrence. All in
/// double: no factorials (factorial forms fail above ~30).
/// Above L = 128 the recurrence carries a power-of-two scale per point, so that pbar_m^m ~ u^m
/// cannot underflow near the poles: checked against arbitrary-precision values to l = 2000, poles
/// included (tests/data/gen_mpmath_sph.py). Throws for L < 0; L = 0 gives [N, 0].
Tensor spherical_harmonics(const DTensor& points, const SphericalHarmonicsOptions& options = {});
/// The same into a caller's buffer `out` of N L^2 floats (row-major [N, L^2], any alignment; every
/// value is overwritten; in AVX-512 builds with L <= 128, non-temporal stores for outputs of 8 MiB
/// or more): the same bits as spherical_harmonics, without allocating or first-touching a fresh
/// output (the recurrence's coefficients, ~L^2 doubles, and per-thread scratch are still
/// allocated per call). Throws for L < 0 or a buffer of another size.
void spherical_harmonics_into(const DTensor& points, std::span<float> out,
                              const SphericalHarmonicsOptions& options = {});

// ------------------------------------------------------------------ absolute encodings as parts

/// input_concat [1, N, F] of a feature table [N, F] (sphere features feed a projection or MLP).
Encoding sphere_features_encoding(const Tensor& features, const std::string& name);

/// Learned per-latitude table (makani `lat`): table [nlat, D] -> input_add [1, nlat*nlon, D],
/// the row of each token's latitude ring repeated along the ring.
Encoding latitude_table_encoding(const Tensor& table, std::int64_t nlon);
/// Learned per-cell table (makani `latlon`, AFNO): table [nlat*nlon, D] -> input_add [1, nlat*nlon, D].
Encoding latlon_table_encoding(const Tensor& table);
/// Initial tables: std = 0 gives zeros (makani's default); std > 0 a normal truncated at +-2 std
/// (AFNO's trunc_normal(0.02)), seeded.
Tensor sphere_table_init(std::int64_t rows, std::int64_t dim, double std = 0.0, std::uint64_t seed = 0);
/// Backward of latitude_table_encoding: d table[i] = sum_j G[0, i*nlon + j] over the ring, with
/// G = grad.input_add [1, nlat*nlon, D]. Returns [nlat, D] (double sums, rounded once).
Tensor latitude_table_encoding_backward(const Tensor& table, std::int64_t nlon, const EncodingGrad& grad);
/// Backward of latlon_table_encoding: d table = grad.input_add [1, N, D] as [N, D].
Tensor latlon_table_encoding_backward(const Tensor& table, const EncodingGrad& grad);

// ------------------------------------------------------------------ relative encodings

/// Great-circle angles d_ij = 2 atan2(|u_i - u_j|, |u_i + u_j|) in radians: [Nq, Nk] (for plots and tests).
DTensor geodesic_distances(const DTensor& query_points, const DTensor& key_points);

/// ALiBi on the sphere: b_h(i, j) = -m_h d_ij (radians) with the ALiBi slopes for `heads`
/// (alibi_slopes(heads, max_bias)) times `slope_scale`; evaluated per tile in the streaming core.
Encoding geodesic_alibi(const DTensor& query_points, const DTensor& key_points, std::int64_t heads,
                        double max_bias = 8.0, double slope_scale = 1.0);
/// The same bias with given (learnable) slopes [H]: b_h(i, j) = -slopes[h] d_ij.
Encoding geodesic_alibi(const DTensor& query_points, const DTensor& key_points, const Tensor& slopes);
/// Backward of the slopes overload: b_h is linear in slopes[h], so d slopes [H] = grad.biases[0].slopes
/// (the core forms -sum_ij dS_hij d_ij). grad must hold exactly the one slope bias.
Tensor geodesic_alibi_backward(const DTensor& query_points, const DTensor& key_points, const Tensor& slopes,
                               const EncodingGrad& grad);

/// Log buckets of the great-circle angle (T5-style, in degrees): with B buckets, e = B/2 and
/// m = d / resolution, m < e gives floor(m), else min(B-1, e + floor(ln(m/e)/ln(max/(e res)) (B-e))).
struct GeodesicBuckets {
  std::int64_t num_buckets = 32;    ///< B [32]
  double resolution_degrees = 1.0;  ///< width of the exact buckets
  double max_degrees = 180.0;       ///< where the log buckets saturate
};
/// b_h(i, j) = table[h, bucket(d_ij)]; table [H|1, num_buckets] (learned; init with sphere_table_init).
Encoding geodesic_bucket_bias(const DTensor& query_points, const DTensor& key_points, const Tensor& table,
                              const GeodesicBuckets& buckets = {});
/// Backward of geodesic_bucket_bias: a lookup, so the core's table gradient (dS summed over the
/// pairs in each bucket) is d table: returns grad.biases[0].table [H|1, num_buckets] (summed down
/// to table's shape if it came broadcast). grad must hold exactly the one table bias.
Tensor geodesic_bucket_bias_backward(const DTensor& query_points, const DTensor& key_points, const Tensor& table,
                                     const GeodesicBuckets& buckets, const EncodingGrad& grad);
/// The bucket matrix [Nq, Nk] of geodesic_bucket_bias (plots and tests).
ITensor geodesic_bucket_indices(const DTensor& query_points, const DTensor& key_points,
                                const GeodesicBuckets& buckets = {});

/// RoPE on (lat, lon) [posenc]: the first d/4 pairs turn by phi f_k, the last d/4 by lambda f_k
/// (radians), adjacent pairs, with integer frequencies f_k = round(1 + k (F - 1)/(d/4 - 1)) from 1
/// to F = max_frequency (default d/4, i.e. 1, 2, 3, ...). Integer frequencies make the longitude
/// rotation 2 pi-periodic, so scores depend only on (phi_i - phi_j, lambda_i - lambda_j mod 360):
/// no seam at the date line.
struct SphereRopeOptions {
  std::int64_t head_dim = 0;      ///< divisible by 4
  double max_frequency = 0;       ///< F; 0 = head_dim / 4
};
/// The rotation described above for query and key points [N, 2] (lon, lat in degrees): fills
/// Encoding::rotation (interleaved pairs).
Encoding sphere_rope(const DTensor& query_points, const DTensor& key_points, const SphereRopeOptions& options);
/// The same with one point set for queries and keys (self-attention).
Encoding sphere_rope(const DTensor& points, const SphereRopeOptions& options);

// ------------------------------------------------------------------ regridding

/// Bilinear regridding of a lat/lon table [nlat, nlon, C] to [new_nlat, new_nlon, C] [posenc]:
/// longitude periodic (the cell west of lon_0 is lon_{nlon-1}), latitude interpolated between
/// the rings that bracket the target and clamped beyond the outermost rings (poles). Target cells
/// on source cells copy them, so regridding to the same grid is the identity.
Tensor regrid_latlon(const Tensor& table, LatLonGrid from, std::int64_t new_nlat, std::int64_t new_nlon,
                     LatLonGrid to);
/// Adjoint of regrid_latlon: d_out [new_nlat, new_nlon, C] -> d table [nlat, nlon, C]; each target
/// cell hands its bilinear weights (1-a)(1-b), (1-a)b, a(1-b), ab back to the four source cells it
/// read (the same taps: periodic longitude, clamped latitude). Double sums, rounded once.
Tensor regrid_latlon_backward(const Tensor& d_out, std::int64_t nlat, std::int64_t nlon, LatLonGrid from,
                              LatLonGrid to);

/// Spectral regridding [posenc]: the table [nlat, nlon, C] is fitted by real spherical harmonics of
/// degree l < L (a DFT along each ring for the orders m < L, then per order a least-squares fit of
/// pbar_l^m over the rings by column-pivoting QR, Eigen) and the fit is evaluated on the new grid.
/// A table that is a sum of harmonics of degree < L is reproduced exactly on any grid (no
/// interpolation error, no pole or seam artefacts); other tables come out smoothed to degree L-1.
/// L <= max_regrid_degree(nlat, nlon, from) (the orders need 2(L-1) < nlon, the rings L <= nlat,
/// or nlat - 1 with poles); degree = 0 takes that maximum. A source with one longitude (a per-latitude
/// table) is zonal: only the orders m = 0 are fitted, L <= nlat. Cost O(nlat nlon L C + nlat L^3).
Tensor regrid_latlon_harmonics(const Tensor& table, LatLonGrid from, std::int64_t new_nlat, std::int64_t new_nlon,
                               LatLonGrid to, std::int64_t degree = 0);
/// Adjoint of regrid_latlon_harmonics (a linear map: ring DFT, per-order least squares, synthesis):
/// d_out [new_nlat, new_nlon, C] -> d table [nlat, nlon, C]. Each step is transposed in reverse:
/// the synthesis by a DFT of d_out on the target rings, the evaluation by pbar on the target rings,
/// the least-squares solve x = Pi [R11^-1 (Q^T b)_{:r}; 0] (column-pivoting QR of the same pbar
/// matrix, rank r) by b = Q [R11^-T (Pi^T x)_{:r}; 0], and the analysis by a weighted synthesis on
/// the source rings. Same degree rule as the forward; double throughout, rounded once.
Tensor regrid_latlon_harmonics_backward(const Tensor& d_out, std::int64_t nlat, std::int64_t nlon, LatLonGrid from,
                                        LatLonGrid to, std::int64_t degree = 0);
/// The largest L regrid_latlon_harmonics accepts for a source grid.
std::int64_t max_regrid_degree(std::int64_t nlat, std::int64_t nlon, LatLonGrid kind);

}  // namespace posenc
