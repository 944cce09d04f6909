// attend --grads: the core's backward, the mapping of its EncodingGrad through
// each learnable builder's backward function, and the files it writes. Also
// the catalogue entry of the learnable relative bias (text.hpp relative_bias).
#include "grads.hpp"

#include <cmath>
#include <filesystem>
#include <map>

#include "posenc/image.hpp"
#include "posenc/npy.hpp"
#include "posenc/relative.hpp"
#include "posenc/sphere.hpp"
#include "posenc/text.hpp"

namespace posenc::cli {

namespace {


// ---------------------------------------------------------------------- helpers

/// The float array the builder stored under `stem` (the table it actually used).
const Tensor& built_tensor(const Built& b, const std::string& stem) {
  for (const auto& [s, a] : b.arrays)
    if (s == stem)
      if (const auto* t = std::get_if<Tensor>(&a)) return *t;
  bad("attend --grads: the built encoding has no float array '" + stem + "'");
}

/// "what [shape] (--name FILE)" or "what [shape] (seeded initialisation: --name not given)".
std::string of(const Params& p, const std::string& name, const std::string& what) {
  if (p.given().count(name)) return what + " (--" + name + " " + p.str(name) + ")";
  return what + " (--" + name + " not given: the initialised / default values)";
}

/// The last n_query rows of [1, N, A] key positions (the registry's KV-cache convention).
DTensor query_rows(const DTensor& keys, const Context& c) {
  return xt::view(keys, xt::all(), xt::range(c.n_key - c.n_query, c.n_key), xt::all());
}

/// The sphere entries' points [N, 2] (as registry_grids.cpp builds them) and the query rows.
DTensor sphere_points(const Params& p) {
  if (p.has("points")) return load_npy_double(p.str("points"));
  const std::string k = normalise(p.str("grid"));
  return latlon_grid(p.integer("nlat"), p.integer("nlon"), k == "without_poles" ? LatLonGrid::without_poles : LatLonGrid::with_poles);
}
DTensor sphere_query_points(const DTensor& pts, const Context& c) {
  return xt::view(pts, xt::range(c.n_key - c.n_query, c.n_key), xt::all());
}

DTensor image_grid_positions(const Params& p) {
  return grid_positions(p.integer("height"), p.integer("width"), p.integer("prefix_tokens"));
}

// ---------------------------------------------------------------------- text

std::vector<ParamGrad> alibi_grads(const Params& p, const Context&, const Built&, const EncodingGrad& g) {
  return {{"slopes", alibi_backward(g), of(p, "slopes", "ALiBi slopes [heads]")}};
}

std::vector<ParamGrad> t5_grads(const Params& p, const Context& c, const Built& b, const EncodingGrad& g) {
  T5Options o;
  o.bidirectional = p.flag("bidirectional");
  o.num_buckets = p.integer("num_buckets");
  o.max_distance = p.integer("max_distance");
  return {{"table",
           t5_bias_backward(c.query_positions, c.key_positions, built_tensor(b, "bias_table"), o, g),
           of(p, "table", "T5 bias table [heads, num_buckets]")}};
}

std::vector<ParamGrad> relative_bias_grads(const Params& p, const Context& c, const Built& b, const EncodingGrad& g) {
  return {{"weight",
           relative_bias_backward(c.query_positions, c.key_positions, built_tensor(b, "weight"),
                                  p.integer("max_distance"), g),
           of(p, "weight", "relative bias weight [2 max_distance + 1, heads]")}};
}

std::vector<ParamGrad> shaw_grads(const Params& p, const Context& c, const Built& b, const EncodingGrad& g) {
  ShawOptions o;
  o.clip = p.integer("clip");
  o.key_term = p.flag("key_term");
  o.value_term = p.flag("value_term");
  o.hf_relative_key = p.flag("hf_relative_key");
  o.max_position_embeddings = p.integer("max_position_embeddings");
  ShawTables t;
  if (o.key_term) t.key = built_tensor(b, "key_table");
  if (o.value_term && !o.hf_relative_key) t.value = built_tensor(b, "value_table");
  const ShawTables d = shaw_backward(c.query_positions, c.key_positions, t, o, g);
  std::vector<ParamGrad> out;
  if (is_set(d.key)) out.push_back({"key_table", d.key, of(p, "key_table", "Shaw key table aK [H|1, rows, head_dim]")});
  if (is_set(d.value))
    out.push_back({"value_table", d.value, of(p, "value_table", "Shaw value table aV [H|1, rows, value_dim]")});
  return out;
}

std::vector<ParamGrad> transformer_xl_grads(const Params& p, const Context& c, const Built& b, const EncodingGrad& g) {
  TransformerXLOptions o;
  o.d_model = p.integer("d_model");
  o.heads = p.integer("heads");
  o.head_dim = p.integer("head_dim");
  o.clamp_len = p.integer("clamp_len");
  const TransformerXLParams w{built_tensor(b, "w_r"), built_tensor(b, "u"), built_tensor(b, "v")};
  const TransformerXLParams d = transformer_xl_backward(c.query_positions, c.key_positions, w, o, g);
  return {{"w_r", d.w_r, of(p, "w_r", "W_R [heads*head_dim, d_model]")},
          {"u", d.u, of(p, "u", "global content bias u [heads, head_dim]")},
          {"v", d.v, of(p, "v", "global position bias v [heads, head_dim]")}};
}

std::vector<ParamGrad> tener_grads(const Params& p, const Context& c, const Built& b, const EncodingGrad& g) {
  TenerOptions o;
  o.heads = p.integer("heads");
  o.head_dim = p.integer("head_dim");
  o.paper_form = p.flag("paper_form");
  o.scaled = p.flag("scaled");
  const TenerParams w{built_tensor(b, "u"), built_tensor(b, "v")};
  const TenerParams d = tener_backward(c.query_positions, c.key_positions, w, o, g);
  return {{"u", d.u, of(p, "u", "TENER u [heads, head_dim]")}, {"v", d.v, of(p, "v", "TENER v [heads, head_dim]")}};
}

std::vector<ParamGrad> huang_grads(const Params& p, const Context& c, const Built& b, const EncodingGrad& g) {
  HuangOptions o;
  o.method = static_cast<int>(p.integer("method"));
  o.max_distance = p.integer("max_distance");
  o.clip = p.flag("clip");
  return {{"table", huang_backward(c.query_positions, c.key_positions, built_tensor(b, "table"), o, g),
           of(p, "table", "Huang method " + std::to_string(o.method) + " table")}};
}

std::vector<ParamGrad> da_grads(const Params& p, const Context& c, const Built& b, const EncodingGrad& g) {
  const DaParams w{built_tensor(b, "v"), built_tensor(b, "w")};
  const DaParams d = da_transformer_backward(c.query_positions, c.key_positions, w, g);
  return {{"v", d.v, of(p, "v", "DA-Transformer v [heads]")}, {"w", d.w, of(p, "w", "DA-Transformer w [heads]")}};
}

// ---------------------------------------------------------------------- images and the sphere

std::vector<ParamGrad> alibi_2d_grads(const Params& p, const Context& c, const Built& b, const EncodingGrad& g) {
  const DTensor pos = image_grid_positions(p);
  return {{"slopes", alibi_2d_backward(query_rows(pos, c), pos, built_tensor(b, "slopes"), g),
           of(p, "slopes", "2D ALiBi slopes [heads]")}};
}

std::vector<ParamGrad> relative_bias_2d_grads(const Params& p, const Context&, const Built& b, const EncodingGrad& g) {
  const std::int64_t wh = p.integer("height"), ww = p.integer("width");
  const std::int64_t sh = p.has("source_height") ? p.integer("source_height") : wh;
  const std::int64_t sw = p.has("source_width") ? p.integer("source_width") : ww;
  Tensor d = relative_bias_2d_backward(wh, ww, built_tensor(b, "bias_table"), g, p.flag("class_token"));
  // A table learned for another window was resized first: back through the resize's adjoint.
  if (sh != wh || sw != ww) d = resize_relative_bias_table_backward(d, sh, sw, wh, ww);
  return {{"table", d, of(p, "table", "relative position bias table [heads, rows of the source window]")}};
}

std::vector<ParamGrad> rope_mixed_grads(const Params& p, const Context& c, const Built& b, const EncodingGrad& g) {
  const DTensor pos = image_grid_positions(p);
  return {{"freqs", rope_mixed_backward(query_rows(pos, c), pos, built_tensor(b, "freqs"), g),
           of(p, "freqs", "RoPE-Mixed frequencies [2, heads, head_dim/2]")}};
}

std::vector<ParamGrad> geodesic_alibi_grads(const Params& p, const Context& c, const Built& b, const EncodingGrad& g) {
  const DTensor pts = sphere_points(p);
  return {{"slopes", geodesic_alibi_backward(sphere_query_points(pts, c), pts, built_tensor(b, "slopes"), g),
           of(p, "slopes", "geodesic ALiBi slopes [heads]")}};
}

std::vector<ParamGrad> geodesic_bias_grads(const Params& p, const Context& c, const Built& b, const EncodingGrad& g) {
  const DTensor pts = sphere_points(p);
  const GeodesicBuckets buckets{p.integer("num_buckets"), p.num("resolution"), p.num("max_degrees")};
  return {{"table",
           geodesic_bucket_bias_backward(sphere_query_points(pts, c), pts, built_tensor(b, "bias_table"), buckets, g),
           of(p, "table", "geodesic bucket bias table [heads, num_buckets]")}};
}

// ---------------------------------------------------------------------- the learnable relative bias entry

Built build_relative_bias(const Params& p, const Context& c) {
  const std::int64_t k = p.integer("max_distance");
  const Tensor weight = table_or(p, "weight", [&] {
    return relative_bias_init(k, p.integer("heads"), p.num("std"), static_cast<std::uint64_t>(p.integer("seed")));
  });
  Built b;
  b.encoding = relative_bias(c.query_positions, c.key_positions, weight, k);
  b.arrays.emplace_back("relation", relation_2d(b.encoding.biases[0].relation));
  b.arrays.emplace_back("weight", weight);
  b.scalars["bias_rule"] = "b[h,i,j] = weight[relation[i,j], h], relation = clip(p_j - p_i, -K, K) + K";
  return b;
}

// ---------------------------------------------------------------------- what each encoding's --grads writes

struct Learnable {
  std::string files;  ///< for posenc list -v
  BackwardFn backward;
};

const std::map<std::string, Learnable>& learnable_encodings() {
  static const std::map<std::string, Learnable> m = {
      {"alibi", {"slopes.npy", alibi_grads}},
      {"t5", {"table.npy", t5_grads}},
      {"relative_bias", {"weight.npy", relative_bias_grads}},
      {"shaw", {"key_table.npy (key_term), value_table.npy (value_term, not hf_relative_key)", shaw_grads}},
      {"transformer_xl", {"w_r.npy, u.npy, v.npy", transformer_xl_grads}},
      {"tener", {"u.npy, v.npy", tener_grads}},
      {"huang", {"table.npy", huang_grads}},
      {"da_transformer", {"v.npy, w.npy", da_grads}},
      {"alibi_2d", {"slopes.npy", alibi_2d_grads}},
      {"relative_bias_2d", {"table.npy (the source window's table when resized)", relative_bias_2d_grads}},
      {"rope_mixed", {"freqs.npy", rope_mixed_grads}},
      {"geodesic_alibi", {"slopes.npy", geodesic_alibi_grads}},
      {"geodesic_bias", {"table.npy", geodesic_bias_grads}},
  };
  return m;
}

/// Learnable encodings whose parameters are input-side: attend applies no input part, so their
/// gradients through attend are not defined; --grads writes dq, dk, dv only.
const std::map<std::string, std::string>& input_side_encodings() {
  static const std::map<std::string, std::string> m = {
      {"learned", "table"},       {"reformer_axial", "tables"},        {"continuous_mlp", "weights"},
      {"learned_fourier", "weights"}, {"learned_2d", "table"},        {"timesformer", "space_table, time_table"},
      {"ast_table", "table"},     {"sphere_table", "table"},
  };
  return m;
}

const char* kInputSideNote =
    "input-side parameters (input_add) are added to the token embeddings, which attend never sees: "
    "--grads writes dq, dk, dv only";

nlohmann::json file_entry(const Tensor& t, const std::string& what) {
  return {{"shape", std::vector<std::size_t>(t.shape().begin(), t.shape().end())}, {"dtype", "float32"}, {"of", what}};
}

}  // namespace

// ====================================================================== public

EncodingSpec relative_bias_encoding() {
  return {"relative_bias", "learned per-head bias over clipped relative offsets (nn.Embedding(2K+1, H))",
          "position-position bias (weight[rho, h])", "learnable relative position bias (T5 without buckets; Shaw-style clipping)",
          with_positions({{"heads", "8", "number of heads"},
                          {"max_distance", "16", "K: offsets p_j - p_i clipped to [-K, K] (2K + 1 rows)"},
                          {"std", "0.02", "N(0, std^2) initialisation"},
                          {"seed", "0", "initialisation seed"},
                          {"weight", "", "load the weight [2K + 1, heads] from .npy"}}),
          build_relative_bias};
}

void attach_backwards(std::vector<EncodingSpec>& registry) {
  for (auto& spec : registry) {
    if (auto it = learnable_encodings().find(spec.name); it != learnable_encodings().end()) {
      spec.backward = it->second.backward;
      spec.grads = it->second.files + " (attend --grads)";
    } else if (auto in = input_side_encodings().find(spec.name); in != input_side_encodings().end()) {
      spec.grads = "none through attend: its learned parameters (" + in->second + ") are input-side (input_add), which attend " +
                   "does not apply; --grads writes dq, dk, dv only";
    } else {
      spec.grads = "none (no learnable parameter); --grads writes dq, dk, dv only";
    }
  }
}

AttendGrads attend_backward(const EncodingSpec& spec, const Params& params, const Context& context, const Built& built,
                            const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& options,
                            const Tensor& out, const AttentionStats& stats, const Tensor& d_out, bool reference) {
  const GradRequest request = spec.backward ? GradRequest::all(built.encoding) : GradRequest{};
  AttendGrads g;
  g.core = reference ? attention_backward_reference(q, k, v, built.encoding, options, out, stats, d_out, request)
                     : attention_backward(q, k, v, built.encoding, options, out, stats, d_out, request);
  if (spec.backward) g.parameters = spec.backward(params, context, built, g.core.encoding);
  for (const auto& pg : g.parameters)
    for (std::size_t i = 0; i < pg.grad.size(); ++i)
      if (!std::isfinite(pg.grad.data()[i]))
        bad("attend --grads: the gradient of '" + pg.file + "' is not finite at flat index " + std::to_string(i));
  return g;
}

void write_grads(Staging& dir, const EncodingSpec& spec, const AttendGrads& grads, const nlohmann::json& inputs) {
  nlohmann::json files = nlohmann::json::object();
  const std::pair<const char*, const Tensor*> core[] = {{"q", &grads.core.dq}, {"k", &grads.core.dk}, {"v", &grads.core.dv}};
  for (const auto& [name, t] : core) {
    const std::string file = std::string("d") + name + ".npy";
    save_npy(dir.file(file).string(), *t);
    files[file] = file_entry(*t, std::string(name) + " (--" + name + " " + inputs.value(name, std::string()) + ")");
  }
  nlohmann::json learnable = nlohmann::json::array();
  for (const auto& pg : grads.parameters) {
    const std::string file = pg.file + ".npy";
    save_npy(dir.file(file).string(), pg.grad);
    files[file] = file_entry(pg.grad, pg.of);
    learnable.push_back(pg.file);
  }
  nlohmann::json j;
  j["encoding"] = spec.name;
  j["loss"] = "L = sum(grad_output * out); every file is dL/d(its input), float32";
  j["inputs"] = inputs;
  j["files"] = files;
  j["parameters"] = learnable;
  if (!spec.backward)
    j["note"] = input_side_encodings().count(spec.name) ? std::string(kInputSideNote)
                                                        : std::string("the encoding has no learnable parameter");
  write_file_atomic(dir.file("grads.json").string(), j.dump(2) + "\n");
}

std::string grads_directory(const std::string& value, bool force) {
  return output_directory(value, "attend: --grads", force).string();
}

}  // namespace posenc::cli
