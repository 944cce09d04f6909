// Seeded tasks of the sphere modality (posenc/tasks.hpp): sphere_field, regression of one seeded
// smooth field on the globe from scattered points (posenc/sphere_tasks.hpp has the formula).
#include <algorithm>
#include <cmath>
#include <numbers>

#include "posenc/sphere.hpp"
#include "posenc/sphere_tasks.hpp"
#include "train/common.hpp"
#include "train/task_registry.hpp"

namespace posenc::train {

namespace {

constexpr double kPi = std::numbers::pi;
constexpr double kDeg = kPi / 180.0;
constexpr std::int64_t kDefaultPoints = 64, kMaxPoints = 4096, kMaxDegree = 40;
// Streams of derive_seed(seed, stream): the splits' samples and the field.
constexpr std::uint64_t kTrainStream = 1, kValidationStream = 2, kFieldStream = 7;
// The grid evaluation set (Task::lengths[0]): 32 x 64 cell centres in 16 samples of 128 points.
constexpr std::size_t kGridRows = 32, kGridCols = 64, kGridPoints = 128;
constexpr std::uint64_t kGridOrderSeed = 20261130;

/// The tasks' stream plus normal draws and points on the sphere.
class Stream : public detail::TaskStream {
 public:
  using detail::TaskStream::TaskStream;
  /// N(0, 1) by Box-Muller (one draw per call; the second value is dropped).
  double normal() {
    const double u = 1.0 - uniform();  // (0, 1]
    return std::sqrt(-2.0 * std::log(u)) * std::cos(2.0 * kPi * uniform());
  }
  /// A point uniform on the sphere: lon in [-pi, pi), sin(lat) uniform in [-1, 1] (radians).
  void point(double& lon, double& lat) {
    lon = 2.0 * kPi * uniform() - kPi;
    lat = std::asin(std::clamp(2.0 * uniform() - 1.0, -1.0, 1.0));
  }
};

/// One split: S samples of N points, features 1, targets f(p), positions in radians.
Dataset field_split(const SphereField& field, std::int64_t samples, std::int64_t n, std::uint64_t seed) {
  const auto s = static_cast<std::size_t>(samples), un = static_cast<std::size_t>(n);
  Dataset d;
  d.features = Tensor::from_shape({s, un, 1});
  d.features.fill(1.0f);
  d.targets = Tensor::from_shape({s, un, 1});
  d.where.positions = DTensor::from_shape({s, un, 2});
  DTensor degrees = DTensor::from_shape({s * un, 2});
  for (std::size_t i = 0; i < s; ++i) {
    Stream rng(detail::derive_seed(seed, i));
    for (std::size_t j = 0; j < un; ++j) {
      double lon = 0, lat = 0;
      rng.point(lon, lat);
      d.where.positions(i, j, 0) = lon;
      d.where.positions(i, j, 1) = lat;
      degrees(i * un + j, 0) = lon / kDeg;
      degrees(i * un + j, 1) = std::clamp(lat / kDeg, -90.0, 90.0);
    }
  }
  const DTensor f = sphere_field_values(field, degrees);
  for (std::size_t k = 0; k < s * un; ++k) d.targets.data()[k] = static_cast<float>(f(k));
  return d;
}

/// The grid set: the kGridRows x kGridCols cell centres (rows north to south, lon from -180), in a seeded
/// order cut into samples of kGridPoints points (each sample spread over the globe, not one patch).
Dataset grid_split(const SphereField& field) {
  constexpr std::size_t cells = kGridRows * kGridCols, samples = cells / kGridPoints;
  const DTensor grid = latlon_grid(kGridRows, kGridCols, LatLonGrid::without_poles);
  std::vector<std::size_t> order(cells);
  for (std::size_t i = 0; i < cells; ++i) order[i] = i;
  Stream rng(kGridOrderSeed);
  for (std::size_t i = cells - 1; i > 0; --i) std::swap(order[i], order[static_cast<std::size_t>(rng.uniform() * (i + 1))]);
  DTensor picked = DTensor::from_shape({cells, 2});
  for (std::size_t i = 0; i < cells; ++i) {
    picked(i, 0) = grid(order[i], 0);
    picked(i, 1) = grid(order[i], 1);
  }
  const DTensor f = sphere_field_values(field, picked);
  Dataset d;
  d.features = Tensor::from_shape({samples, kGridPoints, 1});
  d.features.fill(1.0f);
  d.targets = Tensor::from_shape({samples, kGridPoints, 1});
  d.where.positions = DTensor::from_shape({samples, kGridPoints, 2});
  for (std::size_t i = 0; i < cells; ++i) {
    d.targets.data()[i] = static_cast<float>(f(i));
    d.where.positions.data()[2 * i] = picked(i, 0) * kDeg;
    d.where.positions.data()[2 * i + 1] = picked(i, 1) * kDeg;
  }
  return d;
}

Task sphere_field_task(const TaskOptions& o) {
  const char* fn = "make_task";
  const std::int64_t n = o.length == 0 ? kDefaultPoints : o.length;
  if (n < 1 || n > kMaxPoints)
    detail::fail(fn, "parameter 'length' (points per sample) = ", n, " must be in [1, ", kMaxPoints, "] for sphere_field");
  if (o.train_samples < 1) detail::fail(fn, "parameter 'train_samples' must be >= 1, got ", o.train_samples);
  if (o.validation_samples < 1)
    detail::fail(fn, "parameter 'validation_samples' must be >= 1, got ", o.validation_samples);
  const bool no_grid = o.eval_lengths.size() == 1 && o.eval_lengths[0] == 0;
  if (!o.eval_lengths.empty() && !no_grid)
    detail::fail(fn, "parameter 'eval_lengths' must be empty (the grid set) or {0} (none) for sphere_field, got ",
                 o.eval_lengths.size(), " lengths starting with ", o.eval_lengths[0]);
  const SphereField field = make_sphere_field(o.field_seed, o.field_degree);
  Task t;
  t.name = "sphere_field";
  t.regression = true;
  t.classes = 1;
  t.input_features = 1;
  t.input = InputKind::linear;
  t.pooling = Pooling::none;
  t.length = n;
  t.train = field_split(field, o.train_samples, n, detail::derive_seed(o.seed, kTrainStream));
  t.validation = field_split(field, o.validation_samples, n, detail::derive_seed(o.seed, kValidationStream));
  if (!no_grid) t.lengths.push_back(LengthSet{static_cast<std::int64_t>(kGridPoints), grid_split(field)});
  return t;
}

}  // namespace

SphereField make_sphere_field(std::uint64_t seed, std::int64_t degree) {
  if (degree < 0 || degree > kMaxDegree)
    detail::fail("make_sphere_field", "parameter 'degree' = ", degree, " must be in [0, ", kMaxDegree, "]");
  Stream rng(detail::derive_seed(seed, kFieldStream));
  SphereField f;
  f.degree = degree;
  for (std::int64_t l = 0; l <= degree; ++l)
    for (std::int64_t m = -l; m <= l; ++m)
      f.coefficients.push_back(std::sqrt(4.0 * kPi) * rng.normal() / static_cast<double>(l + 1));
  double lon = 0, lat = 0;
  rng.point(lon, lat);
  f.centre_lon = lon / kDeg;
  f.centre_lat = std::clamp(lat / kDeg, -90.0, 90.0);
  return f;
}

DTensor sphere_field_values(const SphereField& field, const DTensor& points) {
  const char* fn = "sphere_field_values";
  const auto need = static_cast<std::size_t>((field.degree + 1) * (field.degree + 1));
  if (field.degree < 0 || field.coefficients.size() != need)
    detail::fail(fn, "parameter 'field.coefficients' must hold (degree + 1)^2 = ", need, " values, got ",
                 field.coefficients.size());
  if (!(field.width_degrees > 0) || !std::isfinite(field.width_degrees))
    detail::fail(fn, "parameter 'field.width_degrees' must be positive and finite, got ", field.width_degrees);
  if (points.dimension() != 2 || points.shape()[1] != 2)
    detail::fail(fn, "parameter 'points' must be [M, 2] (lon, lat) in degrees, got ", shape_string(points));
  const std::size_t m = points.shape()[0];
  const Tensor y = spherical_harmonics(
      points, SphericalHarmonicsOptions{.degree = field.degree + 1, .convention = SphericalConvention::colatitude});
  DTensor centre = DTensor::from_shape({1, 2});
  centre(0, 0) = field.centre_lon;
  centre(0, 1) = field.centre_lat;
  const DTensor d = geodesic_distances(points, centre);
  const double sigma = field.width_degrees * kDeg;
  DTensor out = DTensor::from_shape({m});
  for (std::size_t i = 0; i < m; ++i) {
    double v = 0;
    for (std::size_t k = 0; k < need; ++k) v += field.coefficients[k] * static_cast<double>(y(i, k));
    out(i) = v + field.amplitude * std::exp(-d(i, 0) * d(i, 0) / (2.0 * sigma * sigma));
  }
  return out;
}

namespace detail {

void add_sphere_tasks(TaskEntries& out) {
  out.push_back({"sphere_field",
                 "regression of one seeded smooth field on the globe (harmonics to degree 6 plus a 10-degree bump) "
                 "at 64 scattered points per sample; every point a query (input 1), per-point MSE; "
                 "evaluation set @128: the 32 x 64 lat/lon grid in 16 samples of 128 points",
                 sphere_field_task});
}

}  // namespace detail

}  // namespace posenc::train
