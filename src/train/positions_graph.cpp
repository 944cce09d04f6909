// Position modules of the graph modality (posenc/model.hpp, PositionModule): they read the batch's
// PositionInput (hops [B, N, N], degrees [B, N], features [B|1, N, P]) for the N data tokens; the
// P0 = prefix_tokens rows in front (a class / graph token) get their own bucket or a zero row.
//
//   kind     parameters (init)                                   part        formula
//   degree   table [max_degree + 1, D] ~ N(0, init_std^2)        input_add   x_i += table[min(deg_i, max_degree)]
//   spatial  table [H, max_hops + 3] ~ N(0, init_std^2)          table bias  b_h(i, j) = table[h, idx(i, j)]
//            idx = min(hops, max_hops) (0 .. max_hops), max_hops + 1 unreachable, max_hops + 2 any pair with a
//            prefix token (Graphormer's virtual-node distance)
//   lap_pe   weight [D, k], bias [D] ~ U(+-1/sqrt(k))             input_add   x_i += W (s * u_i) + b, s = random
//            signs per graph and eigenvector while training (Dwivedi et al. 2020), 1 in eval mode
//   rwse     weight [D, steps], bias [D] ~ U(+-1/sqrt(steps))     input_add   x_i += W r_i + b
// Sources: Ying et al. 2021 (Graphormer: centrality and spatial encodings); Dwivedi et al. 2020
// (Laplacian PE with sign flips); Dwivedi et al. 2022 (random-walk structural encoding, LSPE).
#include <cmath>
#include <filesystem>
#include <random>

#include "posenc/npy.hpp"
#include "posenc/text.hpp"
#include "train/common.hpp"
#include "train/position_registry.hpp"

namespace posenc::train::detail {

namespace {

/// in.hops [B, N, N] or in.degrees [B, N] must be set: `what` names the missing field.
void require(const char* fn, bool ok, const char* field) {
  if (!ok)
    fail(fn, "parameter 'input.", field,
         "' is not set: graph position kinds need a graph task (e.g. graph_distance) that provides it");
}

// ---------------------------------------------------------------------- degree

class DegreeModule final : public PositionModule {
 public:
  DegreeModule(const PositionConfig& c, const PositionContext& x, std::uint64_t seed)
      : PositionModule("degree"), max_degree_(c.graph_max_degree), d_(x.d_model),
        table_(learned_table_init(c.graph_max_degree + 1, x.d_model, c.init_std, seed)) {
    if (max_degree_ < 1) fail("make_position_module", "parameter 'graph_max_degree' must be >= 1, got ", max_degree_);
  }
  Encoding build(const PositionInput& in) const override {
    const char* fn = "DegreePosition::build";
    require(fn, in.degrees.dimension() == 2, "degrees");
    const std::size_t batch = in.degrees.shape()[0], n = in.degrees.shape()[1];
    const auto p = static_cast<std::size_t>(in.prefix_tokens), d = static_cast<std::size_t>(d_);
    Encoding e;
    e.name = "degree";
    e.input_add = Tensor::from_shape({batch, n + p, d});
    e.input_add.fill(0.0f);
    for (std::size_t b = 0; b < batch; ++b)
      for (std::size_t i = 0; i < n; ++i) {
        const std::size_t r = row(in.degrees(b, i));
        std::copy_n(table_.data() + r * d, d, e.input_add.data() + (b * (n + p) + p + i) * d);
      }
    return e;
  }
  void backward(const PositionInput& in, const EncodingGrad& g) override {
    if (!is_set(g.input_add)) return;
    const std::size_t batch = in.degrees.shape()[0], n = in.degrees.shape()[1];
    const auto p = static_cast<std::size_t>(in.prefix_tokens), d = static_cast<std::size_t>(d_);
    Tensor delta = zeros_like(table_);
    for (std::size_t b = 0; b < batch; ++b)
      for (std::size_t i = 0; i < n; ++i) {
        const float* src = g.input_add.data() + (b * (n + p) + p + i) * d;
        float* dst = delta.data() + row(in.degrees(b, i)) * d;
        for (std::size_t k = 0; k < d; ++k) dst[k] += src[k];
      }
    detail::accumulate(grad_, delta);
  }
  void parameters(const std::string& prefix, std::vector<Parameter>& out) override {
    add_param(out, prefix, "degree_table", table_, grad_);
  }
  void export_parameters(const std::string& dir) const override { save_npy(detail::path_in(dir, "degree_table.npy"), table_); }

 private:
  std::size_t row(std::int64_t degree) const {
    if (degree < 0) fail("DegreePosition::build", "parameter 'input.degrees' holds a negative degree ", degree);
    return static_cast<std::size_t>(std::min(degree, max_degree_));
  }
  std::int64_t max_degree_, d_;
  Tensor table_, grad_;
};

// ---------------------------------------------------------------------- spatial

class SpatialModule final : public PositionModule {
 public:
  SpatialModule(const PositionConfig& c, const PositionContext& x, std::uint64_t seed)
      : PositionModule("spatial"), max_hops_(c.graph_max_hops),
        table_(t5_table_init(x.heads, c.graph_max_hops + 3, c.init_std, seed)) {
    if (max_hops_ < 1) fail("make_position_module", "parameter 'graph_max_hops' must be >= 1, got ", max_hops_);
  }
  Encoding build(const PositionInput& in) const override {
    const char* fn = "SpatialPosition::build";
    require(fn, in.hops.dimension() == 3, "hops");
    const std::size_t batch = in.hops.shape()[0], n = in.hops.shape()[1];
    if (in.hops.shape()[2] != n) fail(fn, "parameter 'input.hops' must be [B, N, N], got ", shape_string(in.hops));
    const auto p = static_cast<std::size_t>(in.prefix_tokens), m = n + p;
    ITensor idx = ITensor::from_shape({batch, m, m});
    idx.fill(max_hops_ + 2);
    for (std::size_t b = 0; b < batch; ++b)
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) {
          const std::int64_t h = in.hops(b, i, j);
          idx(b, p + i, p + j) = h < 0 ? max_hops_ + 1 : std::min(h, max_hops_);
        }
    Encoding e;
    e.name = "spatial";
    Bias bias;
    bias.kind = BiasKind::table;
    bias.relation = Relation::explicit_index(idx, max_hops_ + 3);
    bias.table = table_;
    e.biases.push_back(std::move(bias));
    return e;
  }
  GradRequest request() const override { return GradRequest{.biases = true}; }
  void backward(const PositionInput&, const EncodingGrad& g) override {
    if (!g.biases.empty() && is_set(g.biases[0].table)) detail::accumulate(grad_, g.biases[0].table);
  }
  void parameters(const std::string& prefix, std::vector<Parameter>& out) override {
    add_param(out, prefix, "spatial_table", table_, grad_);
  }
  void export_parameters(const std::string& dir) const override { save_npy(detail::path_in(dir, "spatial_table.npy"), table_); }

 private:
  std::int64_t max_hops_;
  Tensor table_, grad_;
};

// ---------------------------------------------------------------------- lap_pe, rwse

/// x_i += W f_i + b over columns [offset, offset + width) of in.features; `flip`: random signs per
/// (sample, column) while training, seeded by in.step.
class FeatureLinearModule final : public PositionModule {
 public:
  FeatureLinearModule(std::string kind, std::int64_t offset, std::int64_t width, bool flip, const PositionContext& x,
                      std::uint64_t seed)
      : PositionModule(std::move(kind)), offset_(offset), width_(width), d_(x.d_model), flip_(flip), seed_(seed) {
    const char* fn = "make_position_module";
    if (width < 1) fail(fn, "position kind '", kind_, "' needs a positive width, got ", width);
    if (x.position_features != 0 && x.position_features < offset + width)
      fail(fn, "position kind '", kind_, "' reads columns [", offset, ", ", offset + width,
           ") of the task's position features, but the task has position_features = ", x.position_features,
           " (set graph_lap_k / graph_rw_steps to the task's layout)");
    const Linear init(width, x.d_model, seed);
    weight_ = init.weight;
    bias_ = init.bias;
  }
  Encoding build(const PositionInput& in) const override {
    const char* fn = kind_ == "lap_pe" ? "LapPePosition::build" : "RwsePosition::build";
    require(fn, in.features.dimension() == 3, "features");
    if (static_cast<std::int64_t>(in.features.shape()[2]) < offset_ + width_)
      fail(fn, "parameter 'input.features' must have at least ", offset_ + width_, " columns, got ",
           shape_string(in.features));
    const Tensor f = inputs(in);
    const std::size_t batch = f.shape()[0], n = f.shape()[1], w = f.shape()[2];
    const auto p = static_cast<std::size_t>(in.prefix_tokens), d = static_cast<std::size_t>(d_);
    Encoding e;
    e.name = kind_;
    e.input_add = Tensor::from_shape({batch, n + p, d});
    e.input_add.fill(0.0f);
    for (std::size_t b = 0; b < batch; ++b)
      for (std::size_t i = 0; i < n; ++i) {
        const float* x = f.data() + (b * n + i) * w;
        float* y = e.input_add.data() + (b * (n + p) + p + i) * d;
        for (std::size_t k = 0; k < d; ++k) {
          double s = bias_.data()[k];
          for (std::size_t c = 0; c < w; ++c) s += static_cast<double>(weight_.data()[k * w + c]) * x[c];
          y[k] = static_cast<float>(s);
        }
      }
    return e;
  }
  void backward(const PositionInput& in, const EncodingGrad& g) override {
    if (!is_set(g.input_add)) return;
    const Tensor f = inputs(in);
    const std::size_t batch = f.shape()[0], n = f.shape()[1], w = f.shape()[2];
    const auto p = static_cast<std::size_t>(in.prefix_tokens), d = static_cast<std::size_t>(d_);
    const std::size_t gb = g.input_add.shape()[0];
    std::vector<double> dw(d * w, 0.0), db(d, 0.0);
    for (std::size_t b = 0; b < gb; ++b)
      for (std::size_t i = 0; i < n; ++i) {
        const float* x = f.data() + ((batch == 1 ? 0 : b) * n + i) * w;
        const float* gy = g.input_add.data() + (b * (n + p) + p + i) * d;
        for (std::size_t k = 0; k < d; ++k) {
          db[k] += gy[k];
          for (std::size_t c = 0; c < w; ++c) dw[k * w + c] += static_cast<double>(gy[k]) * x[c];
        }
      }
    Tensor dwt = zeros_like(weight_), dbt = zeros_like(bias_);
    for (std::size_t i = 0; i < dw.size(); ++i) dwt.data()[i] = static_cast<float>(dw[i]);
    for (std::size_t i = 0; i < db.size(); ++i) dbt.data()[i] = static_cast<float>(db[i]);
    detail::accumulate(grad_weight_, dwt);
    detail::accumulate(grad_bias_, dbt);
  }
  void parameters(const std::string& prefix, std::vector<Parameter>& out) override {
    add_param(out, prefix, "weight", weight_, grad_weight_);
    add_param(out, prefix, "bias", bias_, grad_bias_);
  }
  void export_parameters(const std::string& dir) const override {
    save_npy(detail::path_in(dir, "weight.npy"), weight_);
    save_npy(detail::path_in(dir, "bias.npy"), bias_);
  }
  /// The sign of column c of sample b at training step `step` (+1 or -1); the same in build and backward.
  static float sign(std::uint64_t seed, std::uint64_t step, std::size_t b, std::size_t c) {
    return (derive_seed(derive_seed(seed, step), b * 4096 + c) >> 63) != 0 ? -1.0f : 1.0f;
  }

 private:
  /// The module's columns [B|1, N, width], sign-flipped while training (flip only).
  Tensor inputs(const PositionInput& in) const {
    const std::size_t batch = in.features.shape()[0], n = in.features.shape()[1];
    const auto w = static_cast<std::size_t>(width_), off = static_cast<std::size_t>(offset_);
    Tensor f = Tensor::from_shape({batch, n, w});
    for (std::size_t b = 0; b < batch; ++b)
      for (std::size_t c = 0; c < w; ++c) {
        const float s = flip_ && in.training ? sign(seed_, in.step, b, c) : 1.0f;
        for (std::size_t i = 0; i < n; ++i) f(b, i, c) = s * in.features(b, i, off + c);
      }
    return f;
  }
  std::int64_t offset_, width_, d_;
  bool flip_;
  std::uint64_t seed_;
  Tensor weight_, bias_, grad_weight_, grad_bias_;
};

}  // namespace

void add_graph_positions(PositionFactories& out) {
  out["degree"] = [](const PositionConfig& c, const PositionContext& x, std::uint64_t seed) {
    return std::make_unique<DegreeModule>(c, x, seed);
  };
  out["spatial"] = [](const PositionConfig& c, const PositionContext& x, std::uint64_t seed) {
    return std::make_unique<SpatialModule>(c, x, seed);
  };
  out["lap_pe"] = [](const PositionConfig& c, const PositionContext& x, std::uint64_t seed) {
    return std::make_unique<FeatureLinearModule>("lap_pe", 0, c.graph_lap_k, true, x, seed);
  };
  out["rwse"] = [](const PositionConfig& c, const PositionContext& x, std::uint64_t seed) {
    return std::make_unique<FeatureLinearModule>("rwse", c.graph_lap_k, c.graph_rw_steps, false, x, seed);
  };
}

}  // namespace posenc::train::detail
