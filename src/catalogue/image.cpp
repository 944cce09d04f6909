// Catalogue entries of posenc/image.hpp: learned 2D tables (resampled), 2D sin-cos, DETR sine,
// 2D axial RoPE, 2D ALiBi, Swin/BEiT relative bias, timm Fourier features, RoPE-Mixed.
#include "catalogue/define.hpp"
#include "posenc/image.hpp"
#include "posenc/text.hpp"

namespace posenc::catalogue {
namespace detail {
/// timm's grid_indexing of FourierEmbed (FourierFeaturesOptions::xy_indexing).
enum class GridIndexing { ij, xy };
}  // namespace detail
template <>
const std::vector<EnumName<detail::GridIndexing>>& enum_table<detail::GridIndexing>() {
  static const std::vector<EnumName<detail::GridIndexing>> t = {{detail::GridIndexing::ij, "ij", {}},
                                                                {detail::GridIndexing::xy, "xy", {}}};
  return t;
}
}  // namespace posenc::catalogue

namespace posenc::catalogue::detail {

namespace {

struct ImageGrid {
  std::int64_t height = 14, width = 14, prefix_tokens = 0;
  DTensor positions() const { return grid_positions(height, width, prefix_tokens); }
};
template <class P, class Access>
Def<P>& image_grid(Def<P>& d, Access access) {
  d.input("image grid (prefix tokens, then H x W row-major)");
  d.field("height", [access](P& p) -> auto& { return access(p).height; }, "grid rows H", "grid");
  d.field("width", [access](P& p) -> auto& { return access(p).width; }, "grid columns W", "grid");
  d.field("prefix_tokens", [access](P& p) -> auto& { return access(p).prefix_tokens; },
          "class/register tokens before the grid (tokens = prefix + H*W)", "grid");
  return d;
}
/// Grid fields bound to an option struct's own height / width (/ prefix_tokens) members.
template <class P, class Access>
Def<P>& own_grid(Def<P>& d, Access access, bool prefix) {
  d.input("image grid (H x W row-major)");
  d.field("height", [access](P& p) -> auto& { return access(p).height; }, "grid rows H", "grid");
  d.field("width", [access](P& p) -> auto& { return access(p).width; }, "grid columns W", "grid");
  if constexpr (requires(P& p) { access(p).prefix_tokens; })
    if (prefix)
      d.field("prefix_tokens", [access](P& p) -> auto& { return access(p).prefix_tokens; },
              "zero rows before the grid (MAE's class row)", "grid");
  return d;
}
template <class O>
void grid_preset(O& o) {
  o.height = 14;
  o.width = 14;
}

struct Learned2dP {
  std::int64_t dim = 768;
  std::optional<std::int64_t> source_height, source_width;
  ResampleOptions r;
  Init init;
  std::optional<Tensor> table;
  ImageGrid g;
};
Entry learned_2d_entry() {
  using P = Learned2dP;
  Def<P> d("learned_2d", "learned ViT table over the grid, resampled to a new grid size", "input_add",
           "timm vision_transformer pos_embed + resample_abs_pos_embed (PyTorch interpolate kernels)", "image");
  d.member("dim", &P::dim, "width D")
      .member("source_height", &P::source_height, "grid rows of the table (default: height, no resampling)")
      .member("source_width", &P::source_width, "grid columns of the table (default: width)")
      .field("interpolation", [](P& p) -> auto& { return p.r.interpolation; }, "resampling kernel")
      .field("antialias", [](P& p) -> auto& { return p.r.antialias; }, "PIL-style antialias (timm's default)");
  init_fields(d, [](P& p) -> auto& { return p.init; });
  d.member("table", &P::table, "load [prefix_tokens + source_H*source_W, D]", "table")
      .table({"table", "table", "[prefix_tokens + source_height*source_width, dim]", "learned_table_init: N(0, std^2)",
              "std", "seed", ""});
  image_grid(d, [](P& p) -> auto& { return p.g; });
  d.build([](const P& p) {
    const std::int64_t sh = p.source_height.value_or(p.g.height), sw = p.source_width.value_or(p.g.width);
    const Tensor table =
        p.table ? *p.table : learned_table_init(p.g.prefix_tokens + sh * sw, p.dim, p.init.std, seed_of(p.init.seed));
    Tensor resampled = resample_abs_pos_embed(table, sh, sw, p.g.height, p.g.width, p.g.prefix_tokens, p.r);
    Built b;
    b.arrays.emplace_back("table", table);
    b.arrays.emplace_back("input_add", resampled);
    resampled.reshape({1, resampled.shape()[0], resampled.shape()[1]});
    b.encoding.name = "learned_2d";
    b.encoding.input_add = resampled;
    b.metadata.emplace_back("resampled_from", std::to_string(sh) + "x" + std::to_string(sw));
    return sized(std::move(b), resampled.shape()[1]);
  });
  return d.finish();
}

struct SinCos2dP {
  SinCos2dOptions o;
};
Entry sincos_2d_entry() {
  using P = SinCos2dP;
  Def<P> d("sincos_2d", "fixed 2D sin-cos table over the patch grid", "input_add",
           "MAE util/pos_embed.py; timm build_sincos2d_pos_embed", "image");
  d.preset([](P& p) { grid_preset(p.o), p.o.dim = 768; })
      .field("dim", [](P& p) -> auto& { return p.o.dim; }, "width D (multiple of 4)")
      .field("temperature", [](P& p) -> auto& { return p.o.temperature; }, "T in w_k = T^(-k/(D/4))")
      .field("layout", [](P& p) -> auto& { return p.o.layout; },
             "mae [sin x|cos x|sin y|cos y], timm [sin y|sin x|cos y|cos x], timm_interleaved");
  own_grid(d, [](P& p) -> auto& { return p.o; }, true);
  d.build([](const P& p) { return absolute(sincos_2d(p.o)); });
  d.into("input_add", [](const P& p, std::span<float> out) { sincos_2d_table_into(p.o, out); });
  return d.finish();
}

struct DetrP {
  DetrSineOptions o;
  std::optional<ITensor> valid;
};
DetrSineOptions detr_options(const DetrP& p) {
  DetrSineOptions o = p.o;
  o.scale_given = o.scale != DetrSineOptions{}.scale;  // an explicit scale without normalize is an error
  return o;
}
Entry detr_entry() {
  using P = DetrP;
  Def<P> d("detr_sine", "DETR's normalised sine embedding of pixel coordinates", "input_add",
           "Carion et al. 2020; facebookresearch/detr PositionEmbeddingSine", "image");
  d.preset([](P& p) { grid_preset(p.o); })
      .field("num_pos_feats", [](P& p) -> auto& { return p.o.num_pos_feats; }, "F per axis (output 2F)")
      .field("temperature", [](P& p) -> auto& { return p.o.temperature; }, "T")
      .field("normalize", [](P& p) -> auto& { return p.o.normalize; }, "divide by the last cumulative count and multiply by scale")
      .field("scale", [](P& p) -> auto& { return p.o.scale; }, "2 pi (only with normalize)")
      .member("valid", &P::valid, "valid-pixel mask [H, W] (1 = pixel)", "input");
  own_grid(d, [](P& p) -> auto& { return p.o; }, false);
  d.build([](const P& p) {
    Tensor t = detr_sine(detr_options(p), p.valid ? *p.valid : ITensor{});
    Built b;
    b.arrays.emplace_back("input_add", t);
    t.reshape({1, t.shape()[0], t.shape()[1]});
    b.encoding.name = "detr_sine";
    b.encoding.input_add = t;
    return sized(std::move(b), t.shape()[1]);
  });
  d.into("input_add", [](const P& p, std::span<float> out) {
    detr_sine_into(detr_options(p), out, p.valid ? *p.valid : ITensor{});
  });
  return d.finish();
}

struct Rope2dP {
  Rope2dOptions o;
  ImageGrid g;
};
Entry rope_2d_entry() {
  using P = Rope2dP;
  Def<P> d("rope_2d", "2D axial RoPE: half the pairs by the row, half by the column", "rotation",
           "EVA-02 rope.py / timm RotaryEmbeddingCat; naver-ai/rope-vit; HF Qwen2-VL VisionRotaryEmbedding", "image");
  d.preset([](P& p) { p.o.head_dim = 64; })
      .field("head_dim", [](P& p) -> auto& { return p.o.head_dim; }, "head dimension (multiple of 4)")
      .field("base", [](P& p) -> auto& { return p.o.base; }, "theta_k = base^(-k/(d/4)) (rope-vit uses 100)")
      .field("layout", [](P& p) -> auto& { return p.o.layout; },
             "eva (y first, adjacent), rope_vit (x first, adjacent), qwen2vl (halves)");
  image_grid(d, [](P& p) -> auto& { return p.g; });
  d.build([](const P& p) {
    const DTensor g = p.g.positions();
    Built b;
    b.encoding = rope_2d(g, g, p.o);
    b.arrays.emplace_back("angles", angles_2d(b.encoding.rotation.key_angles));
    b.arrays.emplace_back("positions", DTensor(xt::view(g, 0, xt::all(), xt::all())));
    b.metadata.emplace_back("layout", enum_name(p.o.layout));
    b.metadata.emplace_back("pair_layout", std::string(p.o.layout == Rope2dLayout::qwen2vl ? "halves" : "interleaved"));
    return sized(std::move(b), g.shape()[1]);
  });
  return d.finish();
}

struct Alibi2dP {
  std::int64_t heads = 8;
  double max_bias = 8.0;
  std::optional<std::vector<double>> slopes;
  ImageGrid g;
};
Entry alibi_2d_entry() {
  using P = Alibi2dP;
  Def<P> d("alibi_2d", "ALiBi with the Euclidean patch distance", "position-position bias (slope x distance)",
           "ALiBi slopes (Press et al. 2022) on 2D distances", "image");
  d.member("heads", &P::heads, "number of heads")
      .member("max_bias", &P::max_bias, "the 8 in 2^(-8(h+1)/H)")
      .member("slopes", &P::slopes, "learnable slopes [heads] instead of ALiBi's", "table")
      .table({"slopes", "slopes", "[heads]", "alibi_slopes(heads, max_bias)", "", "", "biases.0.slopes"});
  image_grid(d, [](P& p) -> auto& { return p.g; });
  d.build([](const P& p) {
    const DTensor g = p.g.positions();
    const Tensor slopes = to_float(p.slopes ? *p.slopes : alibi_slopes(p.heads, p.max_bias));
    Built b;
    b.encoding = p.slopes ? alibi_2d(g, g, slopes) : alibi_2d(g, g, p.heads, p.max_bias);
    b.arrays.emplace_back("slopes", slopes);
    DTensor dist = relation_values(b.encoding.biases[0].relation);
    dist.reshape({dist.shape()[1], dist.shape()[2]});
    b.arrays.emplace_back("relation", dist);
    b.metadata.emplace_back("bias_rule", std::string("b[h,i,j] = -slopes[h] * relation[i,j] (Euclidean distance in patches)"));
    return sized(std::move(b), g.shape()[1]);
  });
  d.backward([](const P& p, const Built& b, const EncodingGrad& g) {
    const DTensor pos = p.g.positions();
    return Gradients{{"slopes", alibi_2d_backward(pos, pos, built_tensor(b, "slopes"), g)}};
  });
  return d.finish();
}

struct RelBias2dP {
  std::int64_t heads = 8;
  bool class_token = false;
  Init init;
  std::optional<std::int64_t> source_height, source_width;
  std::optional<Tensor> table;
  ImageGrid g;
};
Entry relative_bias_2d_entry() {
  using P = RelBias2dP;
  Def<P> d("relative_bias_2d", "Swin / BEiT learned relative position bias of a window",
           "position-position bias (table[index])", "Swin, BEiT; timm layers/pos_embed_rel.py", "image");
  d.member("heads", &P::heads, "number of heads")
      .member("class_token", &P::class_token, "BEiT: 3 extra rows for the class token (prefix_tokens 1)");
  init_fields(d, [](P& p) -> auto& { return p.init; }, "truncated-normal initialisation");
  d.member("source_height", &P::source_height, "window rows the table was learned for (resized bicubically)")
      .member("source_width", &P::source_width, "window columns the table was learned for")
      .member("table", &P::table, "load the table [heads, rows]", "table")
      .table({"table", "bias_table", "[heads, (2Wh-1)(2Ww-1) (+3 with class_token)]", "relative_bias_table_init: trunc normal",
              "std", "seed", "biases.0.table"});
  image_grid(d, [](P& p) -> auto& { return p.g; });
  d.build([](const P& p) {
    const std::int64_t wh = p.g.height, ww = p.g.width;
    if (p.g.prefix_tokens != (p.class_token ? 1 : 0))
      bad("relative_bias_2d: field 'prefix_tokens' must be 1 with class_token and 0 without, got " +
          std::to_string(p.g.prefix_tokens));
    const std::int64_t sh = p.source_height.value_or(wh), sw = p.source_width.value_or(ww);
    const Tensor source =
        p.table ? *p.table : relative_bias_table_init(p.heads, sh, sw, p.class_token, p.init.std, seed_of(p.init.seed));
    const Tensor table = (sh == wh && sw == ww) ? source : resize_relative_bias_table(source, sh, sw, wh, ww);
    Built b;
    b.encoding = relative_bias_2d(wh, ww, table, p.class_token);
    b.arrays.emplace_back("relation", relative_position_index_2d(wh, ww, p.class_token));
    b.arrays.emplace_back("bias_table", table);
    b.metadata.emplace_back("bias_rule", std::string("b[h,i,j] = bias_table[h, relation[i,j]]"));
    return sized(std::move(b), static_cast<std::size_t>(p.g.prefix_tokens + wh * ww));
  });
  d.backward([](const P& p, const Built& b, const EncodingGrad& g) {
    const std::int64_t wh = p.g.height, ww = p.g.width;
    const std::int64_t sh = p.source_height.value_or(wh), sw = p.source_width.value_or(ww);
    Tensor d = relative_bias_2d_backward(wh, ww, built_tensor(b, "bias_table"), g, p.class_token);
    // A table learned for another window was resized first: back through the resize's adjoint.
    if (sh != wh || sw != ww) d = resize_relative_bias_table_backward(d, sh, sw, wh, ww);
    return Gradients{{"table", d}};
  });
  return d.finish();
}

struct FourierFeaturesP {
  FourierFeaturesOptions o;
  GridIndexing indexing = GridIndexing::ij;
};
FourierFeaturesOptions fourier_options(const FourierFeaturesP& p) {
  FourierFeaturesOptions o = p.o;
  o.xy_indexing = p.indexing == GridIndexing::xy;
  return o;
}
Entry fourier_features_entry() {
  using P = FourierFeaturesP;
  Def<P> d("fourier_features", "timm FourierEmbed: sin/cos of pixel coordinates in frequency bands (+ the grid)",
           "input_concat", "timm layers/pos_embed_sincos.py build_fourier_pos_embed, FourierEmbed", "image");
  d.preset([](P& p) { grid_preset(p.o); })
      .field("num_bands", [](P& p) -> auto& { return p.o.num_bands; }, "n frequency bands")
      .field("in_pixels", [](P& p) -> auto& { return p.o.in_pixels; }, "pixel mode: coordinates linspace(-1, 1), bands pi * ...")
      .field("max_res", [](P& p) -> auto& { return p.o.max_res; }, "pixel mode: the largest band is pi * max_res / 2")
      .field("linear_bands", [](P& p) -> auto& { return p.o.linear_bands; }, "pixel mode: linear (true) or log2-spaced bands")
      .field("temperature", [](P& p) -> auto& { return p.o.temperature; }, "non-pixel mode: bands T^(-k/n)")
      .field("grid_offset", [](P& p) -> auto& { return p.o.grid_offset; }, "non-pixel mode: added to arange")
      .field("ref_height", [](P& p) -> auto& { return p.o.ref_height; }, "reference grid rows (t <- t / H * ref), 0 = none")
      .field("ref_width", [](P& p) -> auto& { return p.o.ref_width; }, "reference grid columns")
      .member("grid_indexing", &P::indexing, "ij (row coordinate first) or xy")
      .field("include_grid", [](P& p) -> auto& { return p.o.include_grid; }, "FourierEmbed's concat_grid");
  own_grid(d, [](P& p) -> auto& { return p.o; }, false);
  d.build([](const P& p) {
    const FourierFeaturesOptions o = fourier_options(p);
    Built b = absolute(fourier_features_encoding(o), true);
    b.arrays.emplace_back("bands", to_float(fourier_bands(o)));
    return b;
  });
  d.into("input_concat", [](const P& p, std::span<float> out) { fourier_features_into(fourier_options(p), out); });
  return d.finish();
}

struct RopeMixedP {
  std::int64_t heads = 8, head_dim = 64, seed = 0;
  double theta = 10.0;
  bool rotate = true;
  std::optional<Tensor> freqs;
  ImageGrid g;
};
Entry rope_mixed_entry() {
  using P = RopeMixedP;
  Def<P> d("rope_mixed", "RoPE-Mixed: learnable per-head 2D frequencies, angle = x f_x + y f_y", "rotation (per head)",
           "Heo et al. 2024; naver-ai/rope-vit; timm RotaryEmbeddingMixed", "image");
  d.member("heads", &P::heads, "number of heads")
      .member("head_dim", &P::head_dim, "head dimension (multiple of 4)")
      .member("theta", &P::theta, "mu_k = theta^(-4k/d)")
      .member("rotate", &P::rotate, "random per-head direction alpha ~ U(0, 2 pi)")
      .member("seed", &P::seed, "initialisation seed", "table")
      .member("freqs", &P::freqs, "load [2, heads, head_dim/2]", "table")
      .table({"freqs", "freqs", "[2, heads, head_dim/2]", "rope_mixed_init", "", "seed",
              "rotation angles (through rope_mixed_backward)"});
  image_grid(d, [](P& p) -> auto& { return p.g; });
  d.build([](const P& p) {
    const Tensor freqs = p.freqs ? *p.freqs : rope_mixed_init(p.heads, p.head_dim, p.theta, p.rotate, seed_of(p.seed));
    const DTensor g = p.g.positions();
    Built b;
    b.encoding = rope_mixed(g, g, freqs);
    b.arrays.emplace_back("freqs", freqs);
    DTensor a = b.encoding.rotation.key_angles;
    a.reshape({a.shape()[1], a.shape()[2], a.shape()[3]});
    b.arrays.emplace_back("angles", a);
    b.metadata.emplace_back("pair_layout", std::string("interleaved"));
    return sized(std::move(b), g.shape()[1]);
  });
  d.backward([](const P& p, const Built& b, const EncodingGrad& g) {
    const DTensor pos = p.g.positions();
    return Gradients{{"freqs", rope_mixed_backward(pos, pos, built_tensor(b, "freqs"), g)}};
  });
  return d.finish();
}

}  // namespace

void add_image(std::vector<Entry>& out) {
  out.push_back(learned_2d_entry());
  out.push_back(sincos_2d_entry());
  out.push_back(detr_entry());
  out.push_back(rope_2d_entry());
  out.push_back(alibi_2d_entry());
  out.push_back(relative_bias_2d_entry());
  out.push_back(fourier_features_entry());
  out.push_back(rope_mixed_entry());
}

}  // namespace posenc::catalogue::detail
