// Position modules of the sphere modality (posenc/model.hpp, PositionModule). PositionInput::positions
// holds (lon, lat) in radians [B|1, N', 2] (prefix rows at (0, 0)); the library's sphere builders take
// degrees (posenc/sphere.hpp).
//
//   latlon          (lon, lat) radians              -> Linear(2, D)     -> input_add
//   unit_vector     unit_vectors: (x, y, z)         -> Linear(3, D)     -> input_add
//   sphere2vec      sphere2vec_features, sphere_c_plus, 16 scales, r_min / r_max from the config
//                   (radians)                       -> Linear(96, D)    -> input_add
//   harmonics       spherical_harmonics, degrees 0 .. L-1 (L = sphere_degree), locationencoder
//                   convention                      -> Linear(L^2, D)   -> input_add
//   geodesic_alibi  b_h(i, j) = -m_h d_ij, d the great-circle angle (radians), m_h the ALiBi slopes of H
//                   heads (max_bias 8); learnable_slopes: the slopes are parameters (geodesic_alibi_backward)
// Prefix tokens (a class token) get zero features: their input part is the Linear's bias alone.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <numbers>

#include "posenc/npy.hpp"
#include "posenc/sphere.hpp"
#include "posenc/text.hpp"
#include "train/common.hpp"
#include "train/position_registry.hpp"

namespace posenc::train {

namespace {

constexpr double kDeg = std::numbers::pi / 180.0;

/// positions [B|1, N', 2] radians -> points [B|1 * N', 2] degrees (latitude clamped to [-90, 90] against rounding).
DTensor points_in_degrees(const char* fn, const DTensor& p) {
  if (p.dimension() != 3 || p.shape()[2] != 2)
    detail::fail(fn, "parameter 'positions' must be [B|1, N, 2] (lon, lat) in radians, got ", shape_string(p));
  const std::size_t rows = p.shape()[0] * p.shape()[1];
  DTensor out = DTensor::from_shape({rows, 2});
  for (std::size_t r = 0; r < rows; ++r) {
    const double lon = p.data()[2 * r], lat = p.data()[2 * r + 1];
    if (!std::isfinite(lon) || !std::isfinite(lat) || std::abs(lat) > std::numbers::pi / 2 + 1e-9)
      detail::fail(fn, "parameter 'positions' row ", r, " = (", lon, ", ", lat,
                   ") is not a finite (lon, lat) with |lat| <= pi/2 radians");
    out(r, 0) = lon / kDeg;
    out(r, 1) = std::clamp(lat / kDeg, -90.0, 90.0);
  }
  return out;
}

/// Fixed features of points in degrees [M, 2] -> [M, P].
using FeatureFn = std::function<Tensor(const DTensor&)>;

/// A fixed feature map of the point followed by a learnable Linear(P, D): input_add = F W^T + b.
class SphereLinearModule final : public PositionModule {
 public:
  SphereLinearModule(std::string kind, FeatureFn features, std::int64_t width, const PositionContext& x,
                     std::uint64_t seed)
      : PositionModule(std::move(kind)), features_(std::move(features)), width_(width) {
    Linear init(width, x.d_model, seed);
    weight_ = init.weight;
    bias_ = init.bias;
  }

  Encoding build(const PositionInput& in) const override {
    const Tensor f = features(in);
    const std::size_t rows = f.shape()[0] * f.shape()[1], d = weight_.shape()[0];
    Tensor out = Tensor::from_shape({f.shape()[0], f.shape()[1], d});
    for (std::size_t r = 0; r < rows; ++r) std::copy_n(bias_.data(), d, out.data() + r * d);
    detail::gemm(false, true, rows, d, static_cast<std::size_t>(width_), f.data(), weight_.data(), out.data(), true);
    Encoding e;
    e.name = kind_;
    e.input_add = std::move(out);
    return e;
  }

  void backward(const PositionInput& in, const EncodingGrad& g) override {
    if (!is_set(g.input_add)) return;
    const Tensor f = features(in);
    const std::size_t n = f.shape()[1], d = weight_.shape()[0], p = static_cast<std::size_t>(width_);
    const Tensor& gi = g.input_add;
    if (gi.dimension() != 3 || gi.shape()[1] != n || gi.shape()[2] != d ||
        (gi.shape()[0] != f.shape()[0] && f.shape()[0] != 1))
      detail::fail("SphereLinearModule::backward", "parameter 'grad.input_add' must be [B|1, ", n, ", ", d,
                   "], got ", shape_string(gi));
    Tensor dw = detail::zeros_like(weight_), db = detail::zeros_like(bias_);
    std::vector<double> bias_sum(d, 0.0);
    for (std::size_t b = 0; b < gi.shape()[0]; ++b) {
      const float* gb = gi.data() + b * n * d;
      const float* fb = f.data() + (f.shape()[0] == 1 ? 0 : b) * n * p;
      detail::gemm(true, false, d, p, n, gb, fb, dw.data(), true);
      for (std::size_t r = 0; r < n; ++r)
        for (std::size_t k = 0; k < d; ++k) bias_sum[k] += gb[r * d + k];
    }
    for (std::size_t k = 0; k < d; ++k) db(k) = static_cast<float>(bias_sum[k]);
    detail::accumulate(grad_weight_, dw);
    detail::accumulate(grad_bias_, db);
  }

  void parameters(const std::string& prefix, std::vector<Parameter>& out) override {
    detail::add_param(out, prefix, "weight", weight_, grad_weight_);
    detail::add_param(out, prefix, "bias", bias_, grad_bias_, false);
  }
  void export_parameters(const std::string& dir) const override {
    save_npy(detail::path_in(dir, "weight.npy"), weight_);
    save_npy(detail::path_in(dir, "bias.npy"), bias_);
  }

  /// The fixed features [B|1, N', P] of a batch (prefix rows zero).
  Tensor features(const PositionInput& in) const {
    const char* fn = "SphereLinearModule::build";
    const DTensor pts = points_in_degrees(fn, in.positions);
    const std::size_t batch = in.positions.shape()[0], n = in.positions.shape()[1];
    const auto p = static_cast<std::size_t>(width_);
    Tensor f = features_(pts);
    if (f.dimension() != 2 || f.shape()[0] != batch * n || f.shape()[1] != p)
      detail::fail(fn, "features of '", kind_, "' must be [", batch * n, ", ", p, "], got ", shape_string(f));
    f.reshape({batch, n, p});
    const auto prefix = static_cast<std::size_t>(std::max<std::int64_t>(0, in.prefix_tokens));
    for (std::size_t b = 0; b < batch; ++b)
      std::fill_n(f.data() + b * n * p, std::min(prefix, n) * p, 0.0f);
    return f;
  }

 private:
  FeatureFn features_;
  std::int64_t width_;
  Tensor weight_, bias_, grad_weight_, grad_bias_;
};

/// Great-circle ALiBi over a batch of point sets: the library's geodesic relation on the unit vectors
/// [B|1, N', 3] with slopes [H] (fixed: the ALiBi slopes; or learnable).
class GeodesicAlibiModule final : public PositionModule {
 public:
  GeodesicAlibiModule(const PositionContext& x, bool learnable)
      : PositionModule("geodesic_alibi"), learnable_(learnable) {
    const std::vector<double> s = alibi_slopes(x.heads);
    slopes_ = Tensor::from_shape({s.size()});
    std::transform(s.begin(), s.end(), slopes_.begin(), [](double v) { return static_cast<float>(v); });
  }

  Encoding build(const PositionInput& in) const override {
    const DTensor pts = points_in_degrees("GeodesicAlibiModule::build", in.positions);
    const std::size_t batch = in.positions.shape()[0], n = in.positions.shape()[1];
    if (batch == 1) return geodesic_alibi(pts, pts, slopes_);  // the builder itself
    DTensor u = unit_vectors(pts);
    u.reshape({batch, n, 3});
    Bias bias;
    bias.kind = BiasKind::slope;
    bias.relation = Relation::geodesic(u, u);
    bias.slopes = slopes_;
    Encoding e;
    e.name = "geodesic_alibi";
    e.biases.push_back(std::move(bias));
    return e;
  }
  GradRequest request() const override { return GradRequest{.biases = learnable_}; }
  void backward(const PositionInput& in, const EncodingGrad& g) override {
    if (!learnable_ || g.biases.empty() || !is_set(g.biases[0].slopes)) return;
    // The slope gradient is the core's -sum_ij dS_hij d_ij over the whole batch; the points only get checked.
    const DTensor pts = points_in_degrees("GeodesicAlibiModule::backward", in.positions);
    detail::accumulate(grad_, geodesic_alibi_backward(pts, pts, slopes_, g));
  }
  void parameters(const std::string& prefix, std::vector<Parameter>& out) override {
    if (learnable_) detail::add_param(out, prefix, "slopes", slopes_, grad_);
  }
  void export_parameters(const std::string& dir) const override { save_npy(detail::path_in(dir, "slopes.npy"), slopes_); }

 private:
  bool learnable_;
  Tensor slopes_, grad_;
};

Tensor latlon_features(const DTensor& pts) {
  Tensor f = Tensor::from_shape({pts.shape()[0], 2});
  for (std::size_t r = 0; r < pts.shape()[0]; ++r) {
    f(r, 0) = static_cast<float>(pts(r, 0) * kDeg);
    f(r, 1) = static_cast<float>(pts(r, 1) * kDeg);
  }
  return f;
}

Tensor unit_vector_features(const DTensor& pts) {
  const DTensor u = unit_vectors(pts);
  Tensor f = Tensor::from_shape({u.shape()[0], 3});
  std::transform(u.begin(), u.end(), f.begin(), [](double v) { return static_cast<float>(v); });
  return f;
}

Sphere2VecOptions sphere2vec_options(const PositionConfig& c) {
  const char* fn = "make_position_module";
  if (!(c.sphere2vec_min_radius > 0) || !(c.sphere2vec_max_radius >= c.sphere2vec_min_radius) ||
      !std::isfinite(c.sphere2vec_max_radius))
    detail::fail(fn, "parameters 'position.sphere2vec_min_radius' = ", c.sphere2vec_min_radius,
                 " and 'position.sphere2vec_max_radius' = ", c.sphere2vec_max_radius,
                 " must satisfy 0 < min <= max < inf");
  return Sphere2VecOptions{.min_radius = c.sphere2vec_min_radius, .max_radius = c.sphere2vec_max_radius};
}

}  // namespace

namespace detail {

void add_sphere_positions(PositionFactories& f) {
  f["latlon"] = [](const PositionConfig&, const PositionContext& x, std::uint64_t s) {
    return std::make_unique<SphereLinearModule>("latlon", latlon_features, 2, x, s);
  };
  f["unit_vector"] = [](const PositionConfig&, const PositionContext& x, std::uint64_t s) {
    return std::make_unique<SphereLinearModule>("unit_vector", unit_vector_features, 3, x, s);
  };
  f["sphere2vec"] = [](const PositionConfig& c, const PositionContext& x, std::uint64_t s) {
    const Sphere2VecOptions o = sphere2vec_options(c);
    return std::make_unique<SphereLinearModule>(
        "sphere2vec", [o](const DTensor& p) { return sphere2vec_features(p, o); }, sphere2vec_width(o), x, s);
  };
  f["harmonics"] = [](const PositionConfig& c, const PositionContext& x, std::uint64_t s) {
    if (c.sphere_degree < 1 || c.sphere_degree > 100)
      fail("make_position_module", "parameter 'position.sphere_degree' = ", c.sphere_degree, " must be in [1, 100]");
    const SphericalHarmonicsOptions o{.degree = c.sphere_degree};
    return std::make_unique<SphereLinearModule>(
        "harmonics", [o](const DTensor& p) { return spherical_harmonics(p, o); }, c.sphere_degree * c.sphere_degree,
        x, s);
  };
  f["geodesic_alibi"] = [](const PositionConfig& c, const PositionContext& x, std::uint64_t) {
    return std::make_unique<GeodesicAlibiModule>(x, c.learnable_slopes);
  };
}

}  // namespace detail

}  // namespace posenc::train
