// Catalogue entries for the grid and sphere modalities that came after the
// first image encodings: timm Fourier features and RoPE-Mixed (images), the 3D
// video schemes, AST spectrograms and the sphere.
#include <cmath>

#include "posenc/image.hpp"
#include "posenc/npy.hpp"
#include "posenc/sinusoid.hpp"
#include "posenc/spectrogram.hpp"
#include "posenc/sphere.hpp"
#include "posenc/text.hpp"
#include "posenc/video.hpp"
#include "registry.hpp"

namespace posenc::cli {

namespace {

// ---------------------------------------------------------------------- shared pieces

/// The last n_query of the n_key rows of a [1, N, A] position tensor.
DTensor query_rows(const DTensor& keys, const Context& c) {
  return xt::view(keys, xt::all(), xt::range(c.n_key - c.n_query, c.n_key), xt::all());
}

std::int64_t positive(const Params& p, const std::string& name) {
  const std::int64_t v = p.integer(name);
  if (v <= 0) bad("parameter '" + name + "' must be positive, got " + std::to_string(v));
  return v;
}

Built absolute(Encoding e, bool concat = false) {
  Built b;
  b.arrays.emplace_back(concat ? "input_concat" : "input_add", drop_batch(concat ? e.input_concat : e.input_add));
  b.encoding = std::move(e);
  return b;
}

DTensor per_head_angles(const DTensor& a) {  // [1, H, N, P] -> [H, N, P]
  DTensor out = a;
  out.reshape({a.shape()[1], a.shape()[2], a.shape()[3]});
  return out;
}

// ---------------------------------------------------------------------- images

std::vector<ParamSpec> image_grid(std::vector<ParamSpec> p, const char* prefix_default = "0") {
  p.push_back({"height", "14", "grid rows H"});
  p.push_back({"width", "14", "grid columns W"});
  p.push_back({"prefix_tokens", prefix_default, "class/register tokens before the grid (tokens = prefix + H*W)"});
  return p;
}

std::size_t image_tokens(const Params& p) {
  if (p.integer("prefix_tokens") < 0) bad("parameter 'prefix_tokens' must be >= 0");
  return static_cast<std::size_t>(p.integer("prefix_tokens") + positive(p, "height") * positive(p, "width"));
}

Built build_fourier_features(const Params& p, const Context&) {
  if (p.integer("prefix_tokens") != 0) bad("fourier_features: FourierEmbed has no prefix tokens; 'prefix_tokens' must be 0");
  FourierFeaturesOptions o;
  o.height = p.integer("height");
  o.width = p.integer("width");
  o.num_bands = p.integer("num_bands");
  o.in_pixels = p.flag("in_pixels");
  o.max_res = p.num("max_res");
  o.linear_bands = p.flag("linear_bands");
  o.temperature = p.num("temperature");
  o.grid_offset = p.num("grid_offset");
  o.ref_height = p.integer("ref_height");
  o.ref_width = p.integer("ref_width");
  const std::string idx = normalise(p.str("grid_indexing"));
  if (idx != "ij" && idx != "xy") bad("fourier_features: parameter 'grid_indexing' must be ij or xy, got '" + idx + "'");
  o.xy_indexing = idx == "xy";
  o.include_grid = p.flag("include_grid");
  Built b = absolute(fourier_features_encoding(o), true);
  b.arrays.emplace_back("bands", to_float(fourier_bands(o)));
  return b;
}

Built build_rope_mixed(const Params& p, const Context& c) {
  const Tensor freqs = table_or(p, "freqs", [&] {
    return rope_mixed_init(p.integer("heads"), p.integer("head_dim"), p.num("theta"), p.flag("rotate"),
                           static_cast<std::uint64_t>(p.integer("seed")));
  });
  const DTensor g = grid_positions(p.integer("height"), p.integer("width"), p.integer("prefix_tokens"));
  Built b;
  b.encoding = rope_mixed(query_rows(g, c), g, freqs);
  b.arrays.emplace_back("freqs", freqs);
  b.arrays.emplace_back("angles", per_head_angles(b.encoding.rotation.key_angles));
  b.scalars["pair_layout"] = "interleaved";
  return b;
}

// ---------------------------------------------------------------------- video

std::vector<ParamSpec> video_grid(std::vector<ParamSpec> p) {
  p.push_back({"frames", "8", "tubelets along time T"});
  p.push_back({"height", "14", "grid rows H"});
  p.push_back({"width", "14", "grid columns W"});
  return p;
}

VideoGrid video_of(const Params& p) { return {positive(p, "frames"), positive(p, "height"), positive(p, "width")}; }

Built build_sincos_3d(const Params& p, const Context&) {
  SinCos3dOptions o;
  o.grid = video_of(p);
  o.dim = p.integer("dim");
  o.temperature = p.num("temperature");
  o.prefix_tokens = p.integer("prefix_tokens");
  const std::string l = normalise(p.str("layout"));
  if (l == "scenic") o.layout = SinCos3dLayout::scenic;
  else if (l == "positional_encodings") o.layout = SinCos3dLayout::positional_encodings;
  else bad("sincos_3d: parameter 'layout' must be scenic or positional_encodings, got '" + l + "'");
  return absolute(sincos_3d(o));
}

Built build_videomae(const Params& p, const Context&) { return absolute(videomae_sinusoid(video_of(p), p.integer("dim"))); }

Built build_rope_3d(const Params& p, const Context& c) {
  Rope3dOptions o;
  o.head_dim = p.integer("head_dim");
  o.base = p.num("base");
  if (p.has("sections")) o.sections = int_list(p, "sections");
  const std::string l = normalise(p.str("layout"));
  if (l == "interleaved" || l == "adjacent") o.layout = PairLayout::interleaved;
  else if (l == "halves") o.layout = PairLayout::halves;
  else bad("rope_3d: parameter 'layout' must be interleaved or halves, got '" + l + "'");
  const VideoGrid g = video_of(p);
  const DTensor pos = video_positions(g.t, g.h, g.w, p.integer("prefix_tokens"));
  Built b;
  b.encoding = rope_3d(query_rows(pos, c), pos, o);
  b.arrays.emplace_back("angles", angles_2d(b.encoding.rotation.key_angles));
  b.arrays.emplace_back("positions", DTensor(xt::view(pos, 0, xt::all(), xt::all())));
  return b;
}

Built build_timesformer(const Params& p, const Context&) {
  const VideoGrid g = video_of(p);
  const std::int64_t sh = p.has("source_height") ? p.integer("source_height") : g.h;
  const std::int64_t sw = p.has("source_width") ? p.integer("source_width") : g.w;
  const std::int64_t sf = p.has("source_frames") ? p.integer("source_frames") : g.t;
  const auto seed = static_cast<std::uint64_t>(p.integer("seed"));
  const Tensor space = table_or(p, "space_table", [&] { return learned_table_init(1 + sh * sw, p.integer("dim"), p.num("std"), seed); });
  const Tensor time = table_or(p, "time_table", [&] { return learned_table_init(sf, space.shape()[1], p.num("std"), seed + 1); });
  Built b = absolute(timesformer(space, time, {.height = g.h, .width = g.w, .frames = g.t, .space_only = p.flag("space_only")}));
  b.arrays.emplace_back("space_table", space);
  if (!p.flag("space_only")) b.arrays.emplace_back("time_table", time);
  b.scalars["token_order"] = p.flag("space_only") ? "class, then the patches of one frame" : "class, then patch-major, frame-minor: 1 + n*F + t";
  return b;
}

std::size_t timesformer_tokens(const Params& p) {
  const VideoGrid g = video_of(p);
  return static_cast<std::size_t>(1 + g.h * g.w * (p.flag("space_only") ? 1 : g.t));
}

// ---------------------------------------------------------------------- spectrograms

std::vector<ParamSpec> spectrogram(std::vector<ParamSpec> p) {
  p.push_back({"frequency_bins", "128", "mel bins F"});
  p.push_back({"frames", "1024", "time frames T"});
  p.push_back({"patch", "16", "patch size on both axes"});
  p.push_back({"fstride", "10", "frequency stride (16 = no overlap)"});
  p.push_back({"tstride", "10", "time stride"});
  p.push_back({"prefix_tokens", "2", "class and distillation tokens (AST: 2)"});
  return p;
}

SpectrogramGrid spec_grid(const Params& p) {
  return spectrogram_grid({.frequency_bins = p.integer("frequency_bins"), .frames = p.integer("frames"),
                           .patch_frequency = p.integer("patch"), .patch_time = p.integer("patch"),
                           .stride_frequency = p.integer("fstride"), .stride_time = p.integer("tstride")});
}

std::size_t spec_tokens(const Params& p) {
  if (p.integer("prefix_tokens") < 0) bad("parameter 'prefix_tokens' must be >= 0");
  return static_cast<std::size_t>(p.integer("prefix_tokens") + spec_grid(p).tokens());
}

std::pair<SpectrogramAxis, SpectrogramAxis> axes_of(const Params& p) {
  return {{p.integer("frequency_dim"), p.num("frequency_temperature"), p.num("frequency_scale")},
          {p.integer("time_dim"), p.num("time_temperature"), p.num("time_scale")}};
}

std::vector<ParamSpec> with_axes(std::vector<ParamSpec> p, const char* fdim, const char* tdim) {
  p.push_back({"frequency_dim", fdim, "channels for the frequency axis"});
  p.push_back({"time_dim", tdim, "channels for the time axis"});
  p.push_back({"frequency_temperature", "10000", "T_f"});
  p.push_back({"time_temperature", "10000", "T_t"});
  p.push_back({"frequency_scale", "1", "position multiplier on the frequency axis"});
  p.push_back({"time_scale", "1", "position multiplier on the time axis"});
  return spectrogram(std::move(p));
}

Built build_spectrogram_sincos(const Params& p, const Context&) {
  const auto [fa, ta] = axes_of(p);
  Built b = absolute(spectrogram_sincos(spec_grid(p), fa, ta, p.integer("prefix_tokens")));
  b.scalars["grid"] = std::to_string(spec_grid(p).f_dim) + "x" + std::to_string(spec_grid(p).t_dim);
  return b;
}

Built build_spectrogram_rope(const Params& p, const Context& c) {
  if (c.n_query != c.n_key) bad("spectrogram_rope: the patch grid is for self-attention (query_tokens = tokens)");
  const auto [fa, ta] = axes_of(p);
  Built b;
  b.encoding = spectrogram_rope(spec_grid(p), fa, ta, p.integer("prefix_tokens"));
  b.arrays.emplace_back("angles", angles_2d(b.encoding.rotation.key_angles));
  b.scalars["pair_layout"] = "interleaved";
  return b;
}

Built build_ast_table(const Params& p, const Context&) {
  const SpectrogramGrid to = spec_grid(p), from{positive(p, "source_f_dim"), positive(p, "source_t_dim")};
  const std::int64_t pre = p.integer("prefix_tokens");
  const Tensor table = table_or(p, "table", [&] {
    return learned_table_init(pre + from.tokens(), p.integer("dim"), p.num("std"), static_cast<std::uint64_t>(p.integer("seed")));
  });
  const std::string m = normalise(p.str("mode"));
  TableAdaptation mode;
  if (m == "crop_or_interpolate") mode = TableAdaptation::crop_or_interpolate;
  else if (m == "interpolate") mode = TableAdaptation::interpolate;
  else bad("ast_table: parameter 'mode' must be crop_or_interpolate or interpolate, got '" + m + "'");
  Tensor t = adapt_spectrogram_table(table, from, to, pre, mode);
  Built b;
  b.arrays.emplace_back("table", table);
  b.arrays.emplace_back("input_add", t);
  t.reshape({1, t.shape()[0], t.shape()[1]});
  b.encoding.name = "ast_table";
  b.encoding.input_add = t;
  b.scalars["grid"] = std::to_string(to.f_dim) + "x" + std::to_string(to.t_dim);
  return b;
}

// ---------------------------------------------------------------------- sphere

std::vector<ParamSpec> sphere(std::vector<ParamSpec> p) {
  p.push_back({"nlat", "19", "latitude rings of the grid (north to south)"});
  p.push_back({"nlon", "36", "longitudes of the grid (from -180)"});
  p.push_back({"grid", "with_poles", "with_poles (lat 90 .. -90) or without_poles (cell centres)"});
  p.push_back({"points", "", "instead of the grid: [N, 2] (lon, lat) degrees from .npy"});
  return p;
}

LatLonGrid grid_kind(const Params& p, const std::string& name = "grid") {
  const std::string k = normalise(p.str(name));
  if (k == "with_poles") return LatLonGrid::with_poles;
  if (k == "without_poles") return LatLonGrid::without_poles;
  bad("parameter '" + name + "' must be with_poles or without_poles, got '" + k + "'");
}

DTensor points_of(const Params& p) {
  if (p.has("points")) return load_npy_double(p.str("points"));
  return latlon_grid(p.integer("nlat"), p.integer("nlon"), grid_kind(p));
}

std::size_t sphere_tokens(const Params& p) { return points_of(p).shape()[0]; }

DTensor query_points(const DTensor& pts, const Context& c) {
  return xt::view(pts, xt::range(c.n_key - c.n_query, c.n_key), xt::all());
}

Built build_sphere_features(const Params& p, const Context&) {
  const DTensor pts = points_of(p);
  const std::string v = normalise(p.str("variant"));
  Tensor f;
  if (v == "cartesian3d") {
    const DTensor u = unit_vectors(pts);
    f = Tensor::from_shape({u.shape()[0], 3});
    std::transform(u.begin(), u.end(), f.begin(), [](double x) { return static_cast<float>(x); });
  } else if (v == "wrap") {
    f = wrap_features(pts);
  } else {
    Sphere2VecOptions o;
    if (v == "sphere_c" || v == "spherec") o.variant = Sphere2VecVariant::sphere_c;
    else if (v == "sphere_c_plus" || v == "spherecplus") o.variant = Sphere2VecVariant::sphere_c_plus;
    else if (v == "sphere_m" || v == "spherem") o.variant = Sphere2VecVariant::sphere_m;
    else if (v == "sphere_m_plus" || v == "spheremplus") o.variant = Sphere2VecVariant::sphere_m_plus;
    else if (v == "grid") o.variant = Sphere2VecVariant::grid;
    else if (v == "theory") o.variant = Sphere2VecVariant::theory;
    else bad("sphere_features: parameter 'variant' must be cartesian3d, wrap, sphere_c, sphere_c_plus, sphere_m, "
             "sphere_m_plus, grid or theory, got '" + v + "'");
    o.scales = p.integer("scales");
    o.min_radius = p.num("min_radius");
    o.max_radius = p.num("max_radius");
    o.degrees_as_radians = p.flag("degrees_as_radians");
    f = sphere2vec_features(pts, o);
  }
  Built b = absolute(sphere_features_encoding(f, "sphere_" + v), true);
  b.arrays.emplace_back("points", pts);
  return b;
}

Built build_spherical_harmonics(const Params& p, const Context&) {
  const DTensor pts = points_of(p);
  SphericalHarmonicsOptions o;
  o.degree = p.integer("degree");
  const std::string conv = normalise(p.str("convention"));
  if (conv == "locationencoder") o.convention = SphericalConvention::locationencoder;
  else if (conv == "colatitude") o.convention = SphericalConvention::colatitude;
  else bad("spherical_harmonics: parameter 'convention' must be locationencoder or colatitude, got '" + conv + "'");
  o.cs_phase = p.flag("cs_phase");
  Built b = absolute(sphere_features_encoding(spherical_harmonics(pts, o), "spherical_harmonics"), true);
  b.arrays.emplace_back("points", pts);
  b.scalars["feature_order"] = "l-major, m = -l..l: column l*l + l + m";
  return b;
}

Built build_geodesic_alibi(const Params& p, const Context& c) {
  const DTensor pts = points_of(p);
  Built b;
  b.encoding = p.has("slopes") ? geodesic_alibi(query_points(pts, c), pts, to_float(p.list("slopes")))
                               : geodesic_alibi(query_points(pts, c), pts, p.integer("heads"), p.num("max_bias"),
                                                p.num("slope_scale"));
  b.arrays.emplace_back("slopes", b.encoding.biases[0].slopes);
  b.arrays.emplace_back("relation", geodesic_distances(query_points(pts, c), pts));
  b.scalars["bias_rule"] = "b[h,i,j] = -slopes[h] * relation[i,j] (great-circle angle, radians)";
  return b;
}

Built build_geodesic_bias(const Params& p, const Context& c) {
  const DTensor pts = points_of(p);
  const GeodesicBuckets g{p.integer("num_buckets"), p.num("resolution"), p.num("max_degrees")};
  const Tensor table = table_or(p, "table", [&] {
    return sphere_table_init(p.integer("heads"), g.num_buckets, p.num("std"), static_cast<std::uint64_t>(p.integer("seed")));
  });
  Built b;
  b.encoding = geodesic_bucket_bias(query_points(pts, c), pts, table, g);
  b.arrays.emplace_back("relation", geodesic_bucket_indices(query_points(pts, c), pts, g));
  b.arrays.emplace_back("bias_table", table);
  b.scalars["bias_rule"] = "b[h,i,j] = bias_table[h, relation[i,j]]";
  return b;
}

Built build_sphere_rope(const Params& p, const Context& c) {
  const DTensor pts = points_of(p);
  Built b;
  b.encoding = sphere_rope(query_points(pts, c), pts, {.head_dim = p.integer("head_dim"), .max_frequency = p.num("max_frequency")});
  b.arrays.emplace_back("angles", angles_2d(b.encoding.rotation.key_angles));
  b.scalars["pair_layout"] = "interleaved";
  return b;
}

Built build_sphere_table(const Params& p, const Context&) {
  if (p.has("points")) bad("sphere_table: learned tables live on a grid; 'points' is not accepted");
  const std::int64_t nlat = p.integer("nlat"), nlon = p.integer("nlon");
  const bool per_lat = normalise(p.str("kind")) == "lat";
  if (!per_lat && normalise(p.str("kind")) != "latlon")
    bad("sphere_table: parameter 'kind' must be lat or latlon, got '" + p.str("kind") + "'");
  const std::int64_t snlat = p.has("source_nlat") ? p.integer("source_nlat") : nlat;
  const std::int64_t snlon = per_lat ? 1 : (p.has("source_nlon") ? p.integer("source_nlon") : nlon);
  const LatLonGrid sk = p.has("source_grid") ? grid_kind(p, "source_grid") : grid_kind(p);
  const Tensor table = table_or(p, "table", [&] {
    return sphere_table_init(snlat * snlon, p.integer("dim"), p.num("std"), static_cast<std::uint64_t>(p.integer("seed")));
  });
  if (table.dimension() != 2 || table.shape()[0] != static_cast<std::size_t>(snlat * snlon))
    bad("sphere_table: parameter 'table' must have " + std::to_string(snlat * snlon) + " rows (source grid)");
  Tensor grid = table;
  grid.reshape({static_cast<std::size_t>(snlat), static_cast<std::size_t>(snlon), table.shape()[1]});
  const std::string method = normalise(p.str("regrid"));
  if (method != "bilinear" && method != "harmonics")
    bad("sphere_table: parameter 'regrid' must be bilinear or harmonics, got '" + p.str("regrid") + "'");
  const Tensor regridded =
      method == "bilinear" ? regrid_latlon(grid, sk, nlat, per_lat ? 1 : nlon, grid_kind(p))
                           : regrid_latlon_harmonics(grid, sk, nlat, per_lat ? 1 : nlon, grid_kind(p),
                                                     p.integer("regrid_degree"));
  Tensor rows = regridded;
  rows.reshape({regridded.shape()[0] * regridded.shape()[1], regridded.shape()[2]});
  Built b = absolute(per_lat ? latitude_table_encoding(rows, nlon) : latlon_table_encoding(rows));
  b.arrays.emplace_back("table", table);
  return b;
}

}  // namespace

std::vector<EncodingSpec> grid_and_sphere_encodings() {
  std::vector<EncodingSpec> r;
  r.push_back({"fourier_features", "timm FourierEmbed: sin/cos of pixel coordinates in frequency bands (+ the grid)",
               "input_concat", "timm layers/pos_embed_sincos.py build_fourier_pos_embed, FourierEmbed",
               image_grid({{"num_bands", "64", "n frequency bands"},
                           {"in_pixels", "true", "pixel mode: coordinates linspace(-1, 1), bands pi * ..."},
                           {"max_res", "224", "pixel mode: the largest band is pi * max_res / 2"},
                           {"linear_bands", "false", "pixel mode: linear (true) or log2-spaced bands"},
                           {"temperature", "10000", "non-pixel mode: bands T^(-k/n)"},
                           {"grid_offset", "0", "non-pixel mode: added to arange"},
                           {"ref_height", "0", "reference grid rows (t <- t / H * ref), 0 = none"},
                           {"ref_width", "0", "reference grid columns"},
                           {"grid_indexing", "ij", "ij (row coordinate first) or xy"},
                           {"include_grid", "true", "FourierEmbed's concat_grid"}}),
               build_fourier_features, image_tokens});
  r.push_back({"rope_mixed", "RoPE-Mixed: learnable per-head 2D frequencies, angle = x f_x + y f_y", "rotation (per head)",
               "Heo et al. 2024; naver-ai/rope-vit; timm RotaryEmbeddingMixed",
               image_grid({{"heads", "8", "number of heads"},
                           {"head_dim", "64", "head dimension (multiple of 4)"},
                           {"theta", "10", "mu_k = theta^(-4k/d)"},
                           {"rotate", "true", "random per-head direction alpha ~ U(0, 2 pi)"},
                           {"seed", "0", "initialisation seed"},
                           {"freqs", "", "load [2, heads, head_dim/2] from .npy"}}),
               build_rope_mixed, image_tokens});
  r.push_back({"sincos_3d", "fixed 3D sin-cos over the tubelet grid", "input_add",
               "scenic get_fixed_sincos_position_embedding; positional-encodings PositionalEncoding3D",
               video_grid({{"dim", "768", "width C (scenic: multiple of 6)"},
                           {"temperature", "10000", "T"},
                           {"layout", "scenic", "scenic [sin t|cos t|sin x|cos x|sin y|cos y] or positional_encodings"},
                           {"prefix_tokens", "0", "zero rows first"}}),
               build_sincos_3d, [](const Params& p) {
                 return static_cast<std::size_t>(p.integer("prefix_tokens") + video_of(p).tokens());
               }});
  r.push_back({"videomae", "VideoMAE: the 1D sinusoid over all T*H*W tubelet tokens", "input_add",
               "MCG-NJU/VideoMAE get_sinusoid_encoding_table",
               video_grid({{"dim", "768", "width"}}), build_videomae,
               [](const Params& p) { return static_cast<std::size_t>(video_of(p).tokens()); }});
  r.push_back({"rope_3d", "3D axial RoPE: pair blocks for t, y and x", "rotation",
               "axial RoPE over (t, h, w) (video DiTs); sections as M-RoPE",
               video_grid({{"head_dim", "64", "head dimension (even)"},
                           {"base", "10000", "theta_k = base^(-k/sections[a])"},
                           {"sections", "", "pairs per axis t,h,w (default: h = w = floor(P/3), t the rest)"},
                           {"layout", "interleaved", "interleaved (adjacent) or halves"},
                           {"prefix_tokens", "0", "unrotated tokens first"}}),
               build_rope_3d, [](const Params& p) {
                 return static_cast<std::size_t>(p.integer("prefix_tokens") + video_of(p).tokens());
               }});
  r.push_back({"timesformer", "TimeSformer divided space-time tables (space + time), patch-major tokens", "input_add",
               "Bertasius et al. 2021; HF TimesformerEmbeddings",
               video_grid({{"dim", "768", "width D"},
                           {"source_height", "", "grid side of the space table (resized with nearest)"},
                           {"source_width", "", "grid columns of the space table"},
                           {"source_frames", "", "rows of the time table (resized with nearest)"},
                           {"space_only", "false", "no time table"},
                           {"std", "0.02", "N(0, std^2) initialisation"},
                           {"seed", "0", "initialisation seed"},
                           {"space_table", "", "load [1 + Hs*Ws, D] from .npy"},
                           {"time_table", "", "load [F, D] from .npy"}}),
               build_timesformer, timesformer_tokens});
  r.push_back({"spectrogram_sincos", "2D sin-cos on the AST patch grid with separate settings per axis", "input_add",
               "AST patching (YuanGongND/ast); MAE-style per-axis blocks",
               with_axes({}, "384", "384"), build_spectrogram_sincos, spec_tokens});
  r.push_back({"spectrogram_rope", "axial RoPE on the AST patch grid with separate settings per axis", "rotation",
               "AST patching; axial RoPE per axis", with_axes({}, "32", "32"), build_spectrogram_rope, spec_tokens});
  r.push_back({"ast_table", "AST's learned table adapted to a new patch grid (centre crop or bilinear per axis)",
               "input_add", "Gong et al. 2021; YuanGongND/ast ASTModel",
               spectrogram({{"dim", "768", "width D"},
                            {"source_f_dim", "24", "patch rows of the table (DeiT-384: 24; AudioSet: 12)"},
                            {"source_t_dim", "24", "patch columns of the table (DeiT-384: 24; AudioSet: 101)"},
                            {"mode", "crop_or_interpolate", "crop_or_interpolate (AST) or interpolate"},
                            {"std", "0.02", "N(0, std^2) initialisation"},
                            {"seed", "0", "initialisation seed"},
                            {"table", "", "load [prefix + f*t, D] from .npy"}}),
               build_ast_table, spec_tokens});
  r.push_back({"sphere_features", "location features: unit vector, wrap, Space2Vec / Sphere2Vec variants",
               "input_concat", "MarcCoru/locationencoder; gengchenmai/space2vec, sphere2vec",
               sphere({{"variant", "sphere_c_plus", "cartesian3d, wrap, sphere_c, sphere_c_plus, sphere_m, sphere_m_plus, grid, theory"},
                       {"scales", "16", "S frequencies"},
                       {"min_radius", "10", "r_min"},
                       {"max_radius", "10000", "r_max"},
                       {"degrees_as_radians", "false", "locationencoder's compat behaviour"}}),
               build_sphere_features, sphere_tokens});
  r.push_back({"spherical_harmonics", "real orthonormal spherical harmonics up to degree L (stable recurrence)",
               "input_concat", "locationencoder SphericalHarmonics; Schaeffer 2013 recurrence (torch-harmonics)",
               sphere({{"degree", "10", "L: L^2 features"},
                       {"convention", "locationencoder", "locationencoder or colatitude"},
                       {"cs_phase", "false", "Condon-Shortley phase (-1)^m"}}),
               build_spherical_harmonics, sphere_tokens});
  r.push_back({"geodesic_alibi", "ALiBi on the sphere: slope x great-circle angle", "position-position bias (slope)",
               "posenc (docs/methods.md#geodesic-biases)",
               sphere({{"heads", "8", "number of heads"},
                       {"max_bias", "8", "ALiBi slopes 2^(-max_bias (h+1)/H)"},
                       {"slope_scale", "1", "multiplies every slope (the angle is in radians)"},
                       {"slopes", "", "learnable slopes [heads] (comma-separated or .npy); max_bias, slope_scale unused"}}),
               build_geodesic_alibi, sphere_tokens});
  r.push_back({"geodesic_bias", "learned bias table over log buckets of the great-circle angle",
               "position-position bias (table[bucket])", "posenc (docs/methods.md#geodesic-biases), T5-style buckets",
               sphere({{"heads", "8", "number of heads"},
                       {"num_buckets", "32", "B"},
                       {"resolution", "1", "width of the exact buckets (degrees)"},
                       {"max_degrees", "180", "where the log buckets saturate"},
                       {"std", "0.02", "truncated-normal initialisation"},
                       {"seed", "0", "initialisation seed"},
                       {"table", "", "load [heads, num_buckets] from .npy"}}),
               build_geodesic_bias, sphere_tokens});
  r.push_back({"sphere_rope", "RoPE on (lat, lon) with integer longitude frequencies (no date-line seam)", "rotation",
               "posenc (docs/methods.md#sphere-rope)",
               sphere({{"head_dim", "64", "head dimension (multiple of 4)"},
                       {"max_frequency", "0", "largest integer frequency (0 = head_dim/4)"}}),
               build_sphere_rope, sphere_tokens});
  r.push_back({"sphere_table", "learned per-latitude or per-cell table, regridded from a source grid", "input_add",
               "makani pos_embedding lat / latlon; AFNO per-patch table",
               sphere({{"kind", "lat", "lat (one row per latitude ring) or latlon (one per cell)"},
                       {"dim", "64", "width D"},
                       {"source_nlat", "", "rings of the table (regridded to nlat)"},
                       {"source_nlon", "", "longitudes of the table (latlon)"},
                       {"source_grid", "", "with_poles or without_poles (default: grid)"},
                       {"regrid", "bilinear", "bilinear (periodic lon, clamped poles) or harmonics (spectral fit)"},
                       {"regrid_degree", "0", "harmonics: degree L of the fit (0 = the largest the source allows)"},
                       {"std", "0", "0 = zeros (makani); > 0 truncated normal"},
                       {"seed", "0", "initialisation seed"},
                       {"table", "", "load [source_nlat * source_nlon, D] from .npy"}}),
               build_sphere_table, [](const Params& p) {
                 return static_cast<std::size_t>(positive(p, "nlat") * positive(p, "nlon"));
               }});
  return r;
}

}  // namespace posenc::cli
