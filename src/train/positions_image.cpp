// Position modules of the image modality (posenc/model.hpp, PositionModule): patch grids whose tokens are
// row-major (token y * W + x at (y, x)) after PositionContext::prefix_tokens prefix rows (the class token).
//
//   kind           parameters (init)                                  parts      rule at another grid h x w
//   sinusoidal_1d  - (Vaswani et al. 2017 over the flattened index)   input_add  the index of the new grid, 0..N'-1
//   learned_2d     table [P + Hg*Wg, D] ~ N(0, 0.02^2) (timm ViT)     input_add  resample_abs_pos_embed (bicubic, antialias)
//   sincos_2d      - (MAE 2D sin-cos, T 1e4, prefix rows 0)           input_add  the table of the new grid
//   rope_2d        - (EVA axial, base rope_base)                      rotation   evaluated at the new positions
//   rope_mixed     freqs [2, H, Dh/2] (rope_mixed_init, theta)        rotation   evaluated at the new positions
//   alibi_2d       - or slopes [H] (learnable_slopes; ALiBi's)        slope bias slopes unchanged
//   swin_bias      table [H, (2Hg-1)(2Wg-1) (+3 with a class token)]  table bias resize_relative_bias_table (bicubic)
//
// Hg x Wg is the training grid (PositionContext::grid_height/width); the grid of a batch is read from its
// positions (rows 0..h-1, columns 0..w-1), which for the table kinds must be the full row-major grid.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>

#include "posenc/image.hpp"
#include "posenc/npy.hpp"
#include "posenc/sinusoid.hpp"
#include "posenc/text.hpp"
#include "train/common.hpp"
#include "train/position_registry.hpp"

namespace posenc::train::detail {

namespace {

/// The patch grid of a batch: h x w data tokens after `prefix` prefix rows.
struct Grid {
  std::int64_t height = 0, width = 0, prefix = 0;
};

/// Positions [B|1, N', 2] must hold (row, column) pairs (an image task's where.positions).
void check_axes(const std::string& kind, const PositionInput& in) {
  const DTensor& p = in.positions;
  if (p.dimension() != 3 || p.shape()[2] != 2)
    fail(("PositionModule(" + kind + ")::build").c_str(), "parameter 'input.positions' must be [B|1, N', 2] (row, column) "
         "positions of an image task, got ", shape_string(p));
}

/// The grid of `in`: every sample's data rows must be the row-major grid (y, x) = (t / w, t % w).
Grid read_grid(const std::string& kind, const PositionInput& in) {
  check_axes(kind, in);
  const std::string name = "PositionModule(" + kind + ")::build";
  const char* fn = name.c_str();
  const DTensor& p = in.positions;
  const std::size_t batch = p.shape()[0], n = p.shape()[1], prefix = static_cast<std::size_t>(in.prefix_tokens);
  if (prefix >= n) fail(fn, "parameter 'input.positions' has ", n, " rows, no data token after ", prefix, " prefix rows");
  Grid g{0, 0, in.prefix_tokens};
  for (std::size_t t = prefix; t < n; ++t) {
    g.height = std::max(g.height, static_cast<std::int64_t>(p(0, t, 0)) + 1);
    g.width = std::max(g.width, static_cast<std::int64_t>(p(0, t, 1)) + 1);
  }
  bool ok = g.height * g.width == static_cast<std::int64_t>(n - prefix);
  for (std::size_t b = 0; ok && b < batch; ++b)
    for (std::size_t t = prefix; ok && t < n; ++t) {
      const auto i = static_cast<std::int64_t>(t - prefix);
      ok = p(b, t, 0) == static_cast<double>(i / g.width) && p(b, t, 1) == static_cast<double>(i % g.width);
    }
  if (!ok)
    fail(fn, "parameter 'input.positions' must be a full row-major patch grid (token y * W + x at (y, x)); ", kind,
         " indexes a table by grid cell");
  return g;
}

/// The gradient of a [1, N', D] input part from g.input_add [B|1, N', D] (summed over the batch): [N', D].
Tensor batch_sum(const Tensor& g) {
  const std::size_t batch = g.shape()[0], per = g.size() / batch;
  Tensor out = Tensor::from_shape({g.shape()[1], g.shape()[2]});
  for (std::size_t i = 0; i < per; ++i) {
    double s = 0;
    for (std::size_t b = 0; b < batch; ++b) s += g.data()[b * per + i];
    out.data()[i] = static_cast<float>(s);
  }
  return out;
}

Tensor with_batch(Tensor t) {
  const std::size_t n = t.shape()[0], d = t.shape()[1];
  Tensor out = Tensor::from_shape({1, n, d});
  std::copy(t.begin(), t.end(), out.begin());
  return out;
}

/// A fixed (parameter-free) image kind: builds with `fn`.
class FixedImageModule final : public PositionModule {
 public:
  FixedImageModule(std::string kind, std::function<Encoding(const PositionInput&)> fn)
      : PositionModule(std::move(kind)), fn_(std::move(fn)) {}
  Encoding build(const PositionInput& in) const override { return fn_(in); }

 private:
  std::function<Encoding(const PositionInput&)> fn_;
};

// ---------------------------------------------------------------------- learned 2D table (timm ViT)

class Learned2dModule final : public PositionModule {
 public:
  Learned2dModule(const PositionConfig& c, const PositionContext& x, std::uint64_t seed)
      : PositionModule("learned_2d"), grid_{x.grid_height, x.grid_width, x.prefix_tokens},
        table_(learned_table_init(x.prefix_tokens + x.grid_height * x.grid_width, x.d_model, c.init_std, seed)) {}
  Encoding build(const PositionInput& in) const override {
    const Grid g = read_grid(kind(), in);
    Encoding e;
    e.name = "learned_2d";
    e.input_add = with_batch(at_grid(g));
    return e;
  }
  void backward(const PositionInput& in, const EncodingGrad& grad) override {
    if (!is_set(grad.input_add)) return;
    const Grid g = read_grid(kind(), in);
    Tensor d = batch_sum(grad.input_add);
    if (g.height != grid_.height || g.width != grid_.width)
      d = resample_abs_pos_embed_backward(d, grid_.height, grid_.width, g.height, g.width, grid_.prefix);
    train::detail::accumulate(grad_, d);
  }
  void parameters(const std::string& prefix, std::vector<Parameter>& out) override {
    add_param(out, prefix, "table", table_, grad_);
  }
  void export_parameters(const std::string& dir) const override { save_npy(detail::path_in(dir, "table.npy"), table_); }

 private:
  /// The table at grid g: itself at the training grid, else timm's resample_abs_pos_embed.
  Tensor at_grid(const Grid& g) const {
    if (g.prefix != grid_.prefix)
      fail("PositionModule(learned_2d)::build", "parameter 'input.prefix_tokens' = ", g.prefix,
           " differs from the table's ", grid_.prefix, " prefix rows");
    if (g.height == grid_.height && g.width == grid_.width) return table_;
    return resample_abs_pos_embed(table_, grid_.height, grid_.width, g.height, g.width, grid_.prefix);
  }
  Grid grid_;
  Tensor table_, grad_;
};

// ---------------------------------------------------------------------- RoPE-Mixed (learnable frequencies)

class RopeMixedModule final : public PositionModule {
 public:
  RopeMixedModule(const PositionConfig& c, const PositionContext& x, std::uint64_t seed)
      : PositionModule("rope_mixed"), freqs_(rope_mixed_init(x.heads, x.d_model / x.heads, c.rope_mixed_theta, true, seed)) {}
  Encoding build(const PositionInput& in) const override {
    check_axes(kind(), in);
    return rope_mixed(in.positions, freqs_);
  }
  GradRequest request() const override { return GradRequest{.rotation = true}; }
  void backward(const PositionInput& in, const EncodingGrad& g) override {
    if (g.rotation.query_angles.size() == 0 && g.rotation.key_angles.size() == 0) return;
    train::detail::accumulate(grad_, rope_mixed_backward(in.positions, freqs_, g));
  }
  void parameters(const std::string& prefix, std::vector<Parameter>& out) override {
    add_param(out, prefix, "freqs", freqs_, grad_);
  }
  void export_parameters(const std::string& dir) const override { save_npy(detail::path_in(dir, "freqs.npy"), freqs_); }

 private:
  Tensor freqs_, grad_;
};

// ---------------------------------------------------------------------- 2D ALiBi with learnable slopes

class Alibi2dModule final : public PositionModule {
 public:
  explicit Alibi2dModule(const PositionContext& x) : PositionModule("alibi_2d") {
    const std::vector<double> s = alibi_slopes(x.heads);
    slopes_ = Tensor::from_shape({s.size()});
    std::transform(s.begin(), s.end(), slopes_.begin(), [](double v) { return static_cast<float>(v); });
  }
  Encoding build(const PositionInput& in) const override {
    check_axes(kind(), in);
    return alibi_2d(in.positions, in.positions, slopes_);
  }
  GradRequest request() const override { return GradRequest{.biases = true}; }
  void backward(const PositionInput& in, const EncodingGrad& g) override {
    if (g.biases.empty() || !is_set(g.biases[0].slopes)) return;
    train::detail::accumulate(grad_, alibi_2d_backward(in.positions, in.positions, slopes_, g));
  }
  void parameters(const std::string& prefix, std::vector<Parameter>& out) override {
    add_param(out, prefix, "slopes", slopes_, grad_);
  }
  void export_parameters(const std::string& dir) const override { save_npy(detail::path_in(dir, "slopes.npy"), slopes_); }

 private:
  Tensor slopes_, grad_;
};

// ---------------------------------------------------------------------- Swin / BEiT relative bias over the grid

class SwinBiasModule final : public PositionModule {
 public:
  SwinBiasModule(const PositionConfig& c, const PositionContext& x, std::uint64_t seed)
      : PositionModule("swin_bias"), grid_{x.grid_height, x.grid_width, x.prefix_tokens},
        table_(relative_bias_table_init(x.heads, x.grid_height, x.grid_width, x.prefix_tokens > 0, c.init_std, seed)) {
    if (x.prefix_tokens > 1)
      fail("PositionModule(swin_bias)", "parameter 'prefix_tokens' = ", x.prefix_tokens, " must be 0 or 1 (BEiT's class token)");
  }
  Encoding build(const PositionInput& in) const override {
    const Grid g = read_grid(kind(), in);
    return relative_bias_2d(g.height, g.width, at_grid(g), grid_.prefix > 0);
  }
  GradRequest request() const override { return GradRequest{.biases = true}; }
  void backward(const PositionInput& in, const EncodingGrad& grad) override {
    if (grad.biases.empty() || !is_set(grad.biases[0].table)) return;
    const Grid g = read_grid(kind(), in);
    Tensor d = relative_bias_2d_backward(g.height, g.width, at_grid(g), grad, grid_.prefix > 0);
    if (g.height != grid_.height || g.width != grid_.width)
      d = resize_relative_bias_table_backward(d, grid_.height, grid_.width, g.height, g.width);
    train::detail::accumulate(grad_, d);
  }
  void parameters(const std::string& prefix, std::vector<Parameter>& out) override {
    add_param(out, prefix, "table", table_, grad_);
  }
  void export_parameters(const std::string& dir) const override { save_npy(detail::path_in(dir, "table.npy"), table_); }

 private:
  /// The table for grid g: itself at the training grid, else timm's resize_rel_pos_bias_table_simple.
  Tensor at_grid(const Grid& g) const {
    if (g.prefix != grid_.prefix)
      fail("PositionModule(swin_bias)::build", "parameter 'input.prefix_tokens' = ", g.prefix,
           " differs from the table's ", grid_.prefix);
    if (g.height == grid_.height && g.width == grid_.width) return table_;
    return resize_relative_bias_table(table_, grid_.height, grid_.width, g.height, g.width);
  }
  Grid grid_;
  Tensor table_, grad_;
};

/// The table kinds need the training grid from the task.
void require_grid(const std::string& kind, const PositionContext& x) {
  if (x.grid_height < 1 || x.grid_width < 1)
    fail("make_position_module", "kind '", kind, "' needs an image task's patch grid, got grid_height = ",
         x.grid_height, ", grid_width = ", x.grid_width);
}

}  // namespace

void add_image_positions(PositionFactories& f) {
  f["sinusoidal_1d"] = [](const PositionConfig&, const PositionContext& x, std::uint64_t) {
    const SinusoidOptions o{.dim = x.d_model};
    return std::make_unique<FixedImageModule>("sinusoidal_1d", [o](const PositionInput& in) {
      check_axes("sinusoidal_1d", in);
      return sinusoidal(text_positions(static_cast<std::int64_t>(in.positions.shape()[1])), o);
    });
  };
  f["sincos_2d"] = [](const PositionConfig&, const PositionContext& x, std::uint64_t) {
    const std::int64_t d = x.d_model;
    return std::make_unique<FixedImageModule>("sincos_2d", [d](const PositionInput& in) {
      const Grid g = read_grid("sincos_2d", in);
      return sincos_2d(SinCos2dOptions{.height = g.height, .width = g.width, .dim = d, .prefix_tokens = g.prefix});
    });
  };
  f["rope_2d"] = [](const PositionConfig& c, const PositionContext& x, std::uint64_t) {
    const Rope2dOptions o{.head_dim = x.d_model / x.heads, .base = c.rope_base};
    return std::make_unique<FixedImageModule>("rope_2d", [o](const PositionInput& in) {
      check_axes("rope_2d", in);
      return rope_2d(in.positions, o);
    });
  };
  f["alibi_2d"] = [](const PositionConfig& c, const PositionContext& x, std::uint64_t) -> std::unique_ptr<PositionModule> {
    if (c.learnable_slopes) return std::make_unique<Alibi2dModule>(x);
    const std::int64_t heads = x.heads;
    return std::make_unique<FixedImageModule>("alibi_2d", [heads](const PositionInput& in) {
      check_axes("alibi_2d", in);
      return alibi_2d(in.positions, in.positions, heads);
    });
  };
  f["learned_2d"] = [](const PositionConfig& c, const PositionContext& x, std::uint64_t s) {
    require_grid("learned_2d", x);
    return std::make_unique<Learned2dModule>(c, x, s);
  };
  f["rope_mixed"] = [](const PositionConfig& c, const PositionContext& x, std::uint64_t s) {
    return std::make_unique<RopeMixedModule>(c, x, s);
  };
  f["swin_bias"] = [](const PositionConfig& c, const PositionContext& x, std::uint64_t s) {
    require_grid("swin_bias", x);
    return std::make_unique<SwinBiasModule>(c, x, s);
  };
}

}  // namespace posenc::train::detail
