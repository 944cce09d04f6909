// posenc/sphere_tasks.hpp — the seeded field behind the `sphere_field` training task
// (posenc/tasks.hpp, src/train/tasks_sphere.cpp; docs/experiments-sphere.md).
//
// sphere_field (regression; per-point targets)
//   One smooth field f on the unit sphere per task, drawn from TaskOptions::field_seed (the same
//   field for every sample and split; another field only for another field seed):
//     f(p) = sum_{l=0..L} sum_{m=-l..l} c_lm Y_lm(p)  +  A exp(-d(p, c)^2 / (2 sigma^2))
//   Y_lm are the real orthonormal harmonics of spherical_harmonics (posenc/sphere.hpp, colatitude
//   convention, no Condon-Shortley phase), c_lm = sqrt(4 pi) g_lm / (l + 1) with g_lm ~ N(0, 1)
//   (degree l contributes (2l + 1)/(l + 1)^2 to the mean of f^2 on average: a decaying spectrum),
//   L = TaskOptions::field_degree (6). The localized feature is a Gaussian bump of amplitude A = 3
//   and width sigma = 10 degrees in the great-circle angle d from a centre c uniform on the sphere.
//   Each sample holds N = TaskOptions::length (64) points uniform on the sphere (lon uniform in
//   [-pi, pi), sin(lat) uniform in [-1, 1]), seeded per split and sample. Every point is a query:
//   its input feature is the constant 1, its target f(p); the model sees the point only through
//   its position encoding (Dataset::where.positions [S, N, 2], (lon, lat) in radians).
//   Evaluation set (Task::lengths, unless eval_lengths = {0}): the 2048 cell centres of the 32 x 64
//   lat/lon grid (latlon_grid without poles: 5.625 degree cells), in a fixed seeded order cut into 16
//   samples of 128 points (twice the training density, each sample spread over the globe). Its MSE
//   weights every cell alike (the poles' small cells count as much as the equator's); the training
//   pictures draw the model's field on it.
#pragma once

#include <cstdint>
#include <vector>

#include "posenc/tensor.hpp"

namespace posenc::train {

/// The field of the sphere_field task (formula at the top).
struct SphereField {
  std::int64_t degree = 6;           ///< L: harmonics of degree 0 .. L
  std::vector<double> coefficients;  ///< c_lm, (L + 1)^2 of them, l-major with m = -l .. l (spherical_harmonics' order)
  double centre_lon = 0.0;           ///< the bump's centre, longitude in degrees
  double centre_lat = 0.0;           ///< the bump's centre, latitude in degrees
  double amplitude = 3.0;            ///< A
  double width_degrees = 10.0;       ///< sigma
};

/// The field of a field seed (formula at the top): SplitMix64 stream of `seed`, normal draws by
/// Box-Muller. degree outside [0, 40] throws std::invalid_argument.
SphereField make_sphere_field(std::uint64_t seed, std::int64_t degree = 6);

/// f at points [M, 2] (lon, lat) in DEGREES -> [M] (double). Coefficients not (L + 1)^2, a negative
/// width or invalid points (latitudes outside [-90, 90]) throw std::invalid_argument.
DTensor sphere_field_values(const SphereField& field, const DTensor& points);

}  // namespace posenc::train
