#include "registry.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <sstream>
#include <stdexcept>

#include "posenc/catalogue.hpp"
#include "posenc/image.hpp"
#include "posenc/npy.hpp"
#include "posenc/relative.hpp"
#include "posenc/rotary.hpp"
#include "posenc/sinusoid.hpp"
#include "posenc/text.hpp"
#include "posenc/video.hpp"

namespace posenc::cli {

// ====================================================================== names and values

// The catalogue's rules, so the command line and the library suggest the same names.
std::string normalise(std::string name) { return catalogue::normalise(std::move(name)); }

std::string closest(const std::string& name, const std::vector<std::string>& candidates) {
  return catalogue::closest(name, candidates);
}

// ====================================================================== helpers shared with registry_grids.cpp

[[noreturn]] void bad(const std::string& msg) { throw std::invalid_argument(msg); }

// [1, N, d] -> [N, d] for files that users index by token.
Tensor drop_batch(const Tensor& t) {
  Tensor out = t;
  out.reshape({t.shape()[1], t.shape()[2]});
  return out;
}

DTensor angles_2d(const DTensor& a) {  // [1, 1, N, P] -> [N, P]
  DTensor out = a;
  out.reshape({a.shape()[2], a.shape()[3]});
  return out;
}

Tensor to_float(const std::vector<double>& v) {
  Tensor t = Tensor::from_shape({v.size()});
  for (std::size_t i = 0; i < v.size(); ++i) t(i) = static_cast<float>(v[i]);
  return t;
}

ITensor relation_2d(const Relation& r) {
  ITensor m = relation_indices(r);
  m.reshape({m.shape()[1], m.shape()[2]});
  return m;
}

Tensor table_or(const Params& p, const std::string& name, const std::function<Tensor()>& init) {
  return p.has(name) ? load_npy(p.str(name)) : init();
}

std::vector<std::int64_t> int_list(const Params& p, const std::string& name) {
  std::vector<std::int64_t> out;
  for (double v : p.list(name)) {
    if (v != std::floor(v)) bad("parameter '" + name + "' must hold integers, got " + std::to_string(v));
    out.push_back(static_cast<std::int64_t>(v));
  }
  return out;
}

Params::Params(std::string encoding, const std::vector<ParamSpec>& specs, std::map<std::string, std::string> given)
    : encoding_(std::move(encoding)), given_(std::move(given)) {
  for (const auto& s : specs)
    if (!s.default_value.empty()) defaults_[s.name] = s.default_value;
}

void Params::imply(const std::string& name, const std::string& value) { implied_[name] = value; }

bool Params::has(const std::string& name) const {
  return given_.count(name) || implied_.count(name) || defaults_.count(name);
}

std::string Params::str(const std::string& name) const {
  if (auto it = given_.find(name); it != given_.end()) return it->second;
  if (auto it = implied_.find(name); it != implied_.end()) return it->second;
  if (auto it = defaults_.find(name); it != defaults_.end()) return it->second;
  bad(encoding_ + ": parameter '" + name + "' is required (pass --" + name + " VALUE)");
}

double Params::num(const std::string& name) const {
  const std::string s = str(name);
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != s.size() || s.empty() || !std::isfinite(v)) bad(encoding_ + ": parameter '" + name + "' must be a finite number, got '" + s + "'");
  return v;
}

std::int64_t Params::integer(const std::string& name) const {
  const std::string s = str(name);
  std::int64_t v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size())
    bad(encoding_ + ": parameter '" + name + "' must be an integer, got '" + s + "'");
  return v;
}

bool Params::flag(const std::string& name) const {
  const std::string s = normalise(str(name));
  if (s == "true" || s == "1" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "0" || s == "no" || s == "off") return false;
  bad(encoding_ + ": parameter '" + name + "' must be true or false, got '" + s + "'");
}

std::vector<double> Params::list(const std::string& name) const {
  const std::string s = str(name);
  std::vector<double> out;
  if (s.size() > 4 && s.substr(s.size() - 4) == ".npy") {
    const DTensor t = load_npy_double(s);
    out.assign(t.begin(), t.end());
    return out;
  }
  std::size_t at = 0;
  while (at <= s.size()) {
    const std::size_t comma = std::min(s.find(',', at), s.size());
    const std::string item = s.substr(at, comma - at);
    std::size_t used = 0;
    double v = 0;
    try {
      v = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item.empty() || used != item.size() || !std::isfinite(v))
      bad(encoding_ + ": parameter '" + name + "' must be comma-separated finite numbers or a .npy file, got '" + s + "'");
    out.push_back(v);
    at = comma + 1;
  }
  return out;
}

nlohmann::json Params::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : defaults_) j[k] = v;
  for (const auto& [k, v] : implied_) j[k] = v;
  for (const auto& [k, v] : given_) j[k] = v;
  return j;
}

Context Context::make(std::size_t n_query, std::size_t n_key, double offset) {
  if (n_key == 0) bad("positions: 'tokens' must be positive, got 0");
  if (n_query == 0 || n_query > n_key)
    bad("positions: 'query_tokens' must be in [1, tokens = " + std::to_string(n_key) + "], got " +
        std::to_string(n_query));
  if (!std::isfinite(offset) || offset < 0) bad("positions: 'offset' must be finite and >= 0");
  Context c;
  c.n_query = n_query;
  c.n_key = n_key;
  c.offset = offset;
  c.key_positions = DTensor::from_shape({1, n_key, 1});
  c.query_positions = DTensor::from_shape({1, n_query, 1});
  for (std::size_t j = 0; j < n_key; ++j) c.key_positions.data()[j] = offset + static_cast<double>(j);
  for (std::size_t i = 0; i < n_query; ++i)
    c.query_positions.data()[i] = offset + static_cast<double>(n_key - n_query + i);
  return c;
}

// ====================================================================== the text encodings

std::vector<ParamSpec> with_positions(std::vector<ParamSpec> p) {
  p.push_back({"tokens", "16", "key tokens N (positions offset .. offset+N-1); attend/apply take it from the tensors"});
  p.push_back({"query_tokens", "", "query tokens (the last ones of the N; default N)"});
  p.push_back({"offset", "0", "position of the first token (cached tokens before it)"});
  return p;
}

namespace {



PairLayout pair_layout(const Params& p, const char* enc) {
  const std::string s = normalise(p.str("layout"));
  if (s == "halves" || s == "neox") return PairLayout::halves;
  if (s == "interleaved" || s == "adjacent" || s == "gptj") return PairLayout::interleaved;
  bad(std::string(enc) + ": parameter 'layout' must be halves or interleaved, got '" + s + "'");
}


DTensor to_double(const std::vector<double>& v) {
  DTensor t = DTensor::from_shape({v.size()});
  std::copy(v.begin(), v.end(), t.begin());
  return t;
}

// Relation values [Nq, Nk] of a relation (for relation.npy).
ITensor relation_matrix(const Context& c, int direction) {
  ITensor r = ITensor::from_shape({c.n_query, c.n_key});
  for (std::size_t i = 0; i < c.n_query; ++i)
    for (std::size_t j = 0; j < c.n_key; ++j)
      r(i, j) = direction * static_cast<std::int64_t>(c.key_positions.data()[j] - c.query_positions.data()[i]);
  return r;
}

Built build_sinusoidal(const Params& p, const Context& c) {
  SinusoidOptions o;
  o.dim = p.integer("dim");
  o.base = p.num("base");
  const std::string layout = normalise(p.str("layout"));
  if (layout == "interleaved") o.layout = SinusoidLayout::interleaved;
  else if (layout == "blocked") o.layout = SinusoidLayout::blocked;
  else bad("sinusoidal: parameter 'layout' must be interleaved or blocked, got '" + layout + "'");
  const std::string ex = normalise(p.str("exponent"));
  if (ex == "paper") o.exponent = SinusoidExponent::paper;
  else if (ex == "t2t" || ex == "fairseq") o.exponent = SinusoidExponent::t2t;
  else bad("sinusoidal: parameter 'exponent' must be paper or t2t, got '" + ex + "'");
  o.odd_zero_channel = p.flag("odd_zero_channel");
  Built b;
  b.encoding = sinusoidal(c.key_positions, o);
  b.arrays.emplace_back("input_add", drop_batch(b.encoding.input_add));
  b.arrays.emplace_back("frequencies", to_double(sinusoid_frequencies(o)));
  return b;
}

Built build_learned(const Params& p, const Context& c) {
  Tensor table;
  if (p.has("table")) {
    table = load_npy(p.str("table"));
  } else {
    table = learned_table_init(p.integer("max_position_embeddings"), p.integer("dim"), p.num("std"),
                               static_cast<std::uint64_t>(p.integer("seed")));
  }
  Built b;
  b.encoding = learned_absolute(table, c.key_positions);
  b.arrays.emplace_back("table", table);
  b.arrays.emplace_back("input_add", drop_batch(b.encoding.input_add));
  return b;
}

RopeScaling rope_type(const Params& p) {
  const std::string s = normalise(p.str("rope_type"));
  if (s == "default" || s == "none") return RopeScaling::none;
  if (s == "linear") return RopeScaling::linear;
  if (s == "ntk" || s == "static_ntk") return RopeScaling::ntk;
  if (s == "dynamic" || s == "dynamic_ntk") return RopeScaling::dynamic;
  if (s == "yarn") return RopeScaling::yarn;
  if (s == "longrope") return RopeScaling::longrope;
  if (s == "llama3") return RopeScaling::llama3;
  bad("rope: parameter 'rope_type' must be one of default, linear, ntk, dynamic, yarn, longrope, llama3; got '" + s +
      "'");
}

Built build_rope(const Params& p, const Context& c) {
  RopeOptions o;
  o.head_dim = p.integer("head_dim");
  if (p.has("rotary_dim")) o.rotary_dim = p.integer("rotary_dim");
  o.partial_rotary_factor = p.num("partial_rotary_factor");
  o.base = p.num("base");
  o.layout = pair_layout(p, "rope");
  o.scaling = rope_type(p);
  o.factor = p.num("factor");
  o.max_position_embeddings = p.integer("max_position_embeddings");
  o.original_max_position_embeddings = p.integer("original_max_position_embeddings");
  o.beta_fast = p.num("beta_fast");
  o.beta_slow = p.num("beta_slow");
  o.mscale = p.num("mscale");
  o.mscale_all_dim = p.num("mscale_all_dim");
  if (p.has("attention_factor")) o.attention_factor = p.num("attention_factor");
  o.truncate = p.flag("truncate");
  if (p.has("short_factor")) o.short_factor = p.list("short_factor");
  if (p.has("long_factor")) o.long_factor = p.list("long_factor");
  o.low_freq_factor = p.num("low_freq_factor");
  o.high_freq_factor = p.num("high_freq_factor");
  o.sequence_length = p.integer("sequence_length");
  Built b;
  b.encoding = rope(c.query_positions, c.key_positions, o);
  const std::int64_t len = o.sequence_length > 0 ? o.sequence_length
                                                 : static_cast<std::int64_t>(c.offset) + static_cast<std::int64_t>(c.n_key);
  const RopeFrequencies f = rope_frequencies(o, len);
  b.arrays.emplace_back("inv_freq", to_double(f.inv_freq));
  b.arrays.emplace_back("angles", angles_2d(b.encoding.rotation.key_angles));
  if (c.n_query != c.n_key) b.arrays.emplace_back("query_angles", angles_2d(b.encoding.rotation.query_angles));
  b.scalars["attention_factor"] = f.attention_factor;
  b.scalars["rotary_dim"] = f.rotary_dim;
  b.scalars["pairs"] = f.rotary_dim / 2;
  b.scalars["layout"] = o.layout == PairLayout::halves ? "halves" : "interleaved";
  b.scalars["logit_scale_factor"] = f.attention_factor * f.attention_factor;
  return b;
}

Built build_xpos(const Params& p, const Context& c) {
  XposOptions o;
  o.head_dim = p.integer("head_dim");
  o.base = p.num("base");
  o.scale_base = p.num("scale_base");
  o.layout = pair_layout(p, "xpos");
  Built b;
  b.encoding = xpos(c.query_positions, c.key_positions, o);
  b.arrays.emplace_back("angles", angles_2d(b.encoding.rotation.key_angles));
  DTensor qs = xt::exp(angles_2d(b.encoding.rotation.query_log_scale));
  DTensor ks = xt::exp(angles_2d(b.encoding.rotation.key_log_scale));
  b.arrays.emplace_back("query_scale", qs);
  b.arrays.emplace_back("key_scale", ks);
  return b;
}

Built build_alibi(const Params& p, const Context& c) {
  AlibiOptions o;
  o.heads = p.integer("heads");
  o.causal = p.flag("causal");
  o.max_bias = p.num("max_bias");
  o.fairseq_compat = p.flag("fairseq_compat");
  // Given slopes use the learnable overload (the same bias with other slopes; attend --grads differentiates them).
  const Tensor slopes = to_float(p.has("slopes") ? p.list("slopes") : alibi_slopes(o.heads, o.max_bias));
  Built b;
  b.encoding = p.has("slopes") ? alibi(c.query_positions, c.key_positions, slopes, o) : alibi(c.query_positions, c.key_positions, o);
  b.arrays.emplace_back("slopes", slopes);
  ITensor rel = relation_matrix(c, -1);  // p_i - p_j
  if (!o.causal) rel = xt::abs(rel);
  b.arrays.emplace_back("relation", rel);
  b.scalars["bias_rule"] = o.causal ? "b[h,i,j] = -slopes[h] * relation[i,j] for j <= i (causal mask above)"
                                    : "b[h,i,j] = -slopes[h] * relation[i,j]";
  b.scalars["causal"] = o.causal;
  return b;
}

Built build_t5(const Params& p, const Context& c) {
  T5Options o;
  o.bidirectional = p.flag("bidirectional");
  o.num_buckets = p.integer("num_buckets");
  o.max_distance = p.integer("max_distance");
  Tensor table;
  if (p.has("table")) table = load_npy(p.str("table"));
  else table = t5_table_init(p.integer("heads"), o.num_buckets, p.num("std"), static_cast<std::uint64_t>(p.integer("seed")));
  Built b;
  b.encoding = t5_bias(c.query_positions, c.key_positions, table, o);
  ITensor rel = t5_bucket_matrix(c.query_positions, c.key_positions, o);
  rel.reshape({c.n_query, c.n_key});
  b.arrays.emplace_back("relation", rel);
  b.arrays.emplace_back("bias_table", table);
  b.scalars["bias_rule"] = "b[h,i,j] = bias_table[h, relation[i,j]]";
  b.scalars["logit_scale"] = 1.0;
  return b;
}

Built build_nope(const Params&, const Context&) {
  Built b;
  b.encoding = nope();
  return b;
}

// ---------------------------------------------------------------- the relative and learnable family

// [B|1, Nq, Nk] -> [Nq, Nk] for relation.npy



Built build_shaw(const Params& p, const Context& c) {
  ShawOptions o;
  o.clip = p.integer("clip");
  o.key_term = p.flag("key_term");
  o.value_term = p.flag("value_term");
  o.hf_relative_key = p.flag("hf_relative_key");
  o.max_position_embeddings = p.integer("max_position_embeddings");
  const std::int64_t heads = p.flag("per_head") ? p.integer("heads") : 1;
  const std::int64_t dh = p.integer("head_dim");
  const std::int64_t dv = p.has("value_dim") ? p.integer("value_dim") : dh;
  ShawTables t = shaw_init(o, heads, dh, dv, p.num("std"), static_cast<std::uint64_t>(p.integer("seed")));
  if (p.has("key_table")) t.key = load_npy(p.str("key_table"));
  if (p.has("value_table")) t.value = load_npy(p.str("value_table"));
  Built b;
  b.encoding = shaw(c.query_positions, c.key_positions, t, o);
  const Relation& rel = o.key_term ? b.encoding.content_position[0].relation : b.encoding.value[0].relation;
  b.arrays.emplace_back("relation", relation_2d(rel));
  if (o.key_term) b.arrays.emplace_back("key_table", t.key);
  if (o.value_term && !o.hf_relative_key) b.arrays.emplace_back("value_table", t.value);
  b.scalars["score_rule"] = "s[h,i,j] = (q_i.k_j + q_i.key_table[h|0, relation[i,j]]) / sqrt(d)";
  return b;
}

Built build_transformer_xl(const Params& p, const Context& c) {
  TransformerXLOptions o;
  o.d_model = p.integer("d_model");
  o.heads = p.integer("heads");
  o.head_dim = p.integer("head_dim");
  o.clamp_len = p.integer("clamp_len");
  TransformerXLParams w = transformer_xl_init(o, p.num("std"), static_cast<std::uint64_t>(p.integer("seed")));
  if (p.has("w_r")) w.w_r = load_npy(p.str("w_r"));
  if (p.has("u")) w.u = load_npy(p.str("u"));
  if (p.has("v")) w.v = load_npy(p.str("v"));
  Built b;
  b.encoding = transformer_xl(c.query_positions, c.key_positions, w, o);
  const auto& cp = b.encoding.content_position[0];
  b.arrays.emplace_back("relation", relation_2d(cp.relation));
  b.arrays.emplace_back("r_sinusoid", transformer_xl_sinusoid(cp.relation.size, o.d_model));
  b.arrays.emplace_back("key_table", cp.table);
  b.arrays.emplace_back("w_r", w.w_r);
  b.arrays.emplace_back("u", w.u);
  b.arrays.emplace_back("v", w.v);
  b.scalars["score_rule"] = "s = [(q_i+u).k_j + (q_i+v).key_table[h, relation[i,j]]] / sqrt(d_h), causal";
  return b;
}

Built build_tener(const Params& p, const Context& c) {
  TenerOptions o;
  o.heads = p.integer("heads");
  o.head_dim = p.integer("head_dim");
  o.paper_form = p.flag("paper_form");
  o.scaled = p.flag("scaled");
  TenerParams w = tener_init(o, static_cast<std::uint64_t>(p.integer("seed")));
  if (p.has("u")) w.u = load_npy(p.str("u"));
  if (p.has("v")) w.v = load_npy(p.str("v"));
  Built b;
  b.encoding = tener(c.query_positions, c.key_positions, w, o);
  const auto& cp = b.encoding.content_position[0];
  b.arrays.emplace_back("relation", relation_2d(cp.relation));
  Tensor table = cp.table;
  table.reshape({table.shape()[1], table.shape()[2]});
  b.arrays.emplace_back("sinusoid", table);
  b.arrays.emplace_back("u", w.u);
  b.arrays.emplace_back("v", w.v);
  return b;
}

Built build_huang(const Params& p, const Context& c) {
  HuangOptions o;
  o.method = static_cast<int>(p.integer("method"));
  o.max_distance = p.integer("max_distance");
  o.clip = p.flag("clip");
  const std::int64_t heads = p.flag("per_head") ? p.integer("heads") : 1;
  const Tensor table = table_or(p, "table", [&] {
    return huang_init(o, heads, p.integer("head_dim"), p.num("std"), static_cast<std::uint64_t>(p.integer("seed")));
  });
  Built b;
  b.encoding = huang(c.query_positions, c.key_positions, table, o);
  const Relation& rel = o.method <= 2 ? b.encoding.multipliers[0].relation
                        : o.method == 3 ? b.encoding.content_weights[0].relation
                                        : b.encoding.content_position[0].relation;
  b.arrays.emplace_back("relation", relation_2d(rel));
  b.arrays.emplace_back("table", table);
  return b;
}

Built build_da(const Params& p, const Context& c) {
  DaParams w = da_init(p.integer("heads"), static_cast<std::uint64_t>(p.integer("seed")));
  auto vec = [&](const std::string& name, Tensor& into) {
    if (!p.has(name)) return;
    const auto v = p.list(name);
    into = Tensor::from_shape({v.size()});
    for (std::size_t i = 0; i < v.size(); ++i) into(i) = static_cast<float>(v[i]);
  };
  vec("v", w.v);
  vec("w", w.w);
  Built b;
  b.encoding = da_transformer(c.query_positions, c.key_positions, w);
  const auto& m = b.encoding.multipliers[0];
  b.arrays.emplace_back("relation", relation_2d(m.relation));
  b.arrays.emplace_back("rescaling", m.table);
  b.arrays.emplace_back("v", w.v);
  b.arrays.emplace_back("w", w.w);
  b.scalars["score_rule"] = "s = relu(q_i.k_j) * rescaling[h, relation[i,j]] / sqrt(d)";
  return b;
}

Built build_axial(const Params& p, const Context& c) {
  std::vector<Tensor> tables;
  if (p.has("tables")) {
    std::stringstream ss(p.str("tables"));
    for (std::string path; std::getline(ss, path, ',');) tables.push_back(load_npy(path));
  } else {
    tables = reformer_axial_init(int_list(p, "shape"), int_list(p, "dims"), p.num("std"),
                                 static_cast<std::uint64_t>(p.integer("seed")));
  }
  Built b;
  b.encoding = reformer_axial(tables, c.key_positions);
  b.arrays.emplace_back("input_add", drop_batch(b.encoding.input_add));
  for (std::size_t a = 0; a < tables.size(); ++a) b.arrays.emplace_back("table_" + std::to_string(a), tables[a]);
  return b;
}

Activation activation(const Params& p) {
  const std::string s = normalise(p.str("activation"));
  if (s == "gelu") return Activation::gelu;
  if (s == "relu") return Activation::relu;
  if (s == "tanh") return Activation::tanh;
  bad("continuous_mlp: parameter 'activation' must be gelu, relu or tanh, got '" + s + "'");
}

PositionScaling position_scaling(const Params& p) {
  const std::string s = normalise(p.str("scaling"));
  if (s == "divide") return PositionScaling::divide;
  if (s == "none") return PositionScaling::none;
  if (s == "minus1to1") return PositionScaling::minus1to1;
  bad("continuous_mlp: parameter 'scaling' must be divide, none or minus1to1, got '" + s + "'");
}

Built build_mlp(const Params& p, const Context& c) {
  ContinuousMlp::Config cfg;
  cfg.hidden = p.integer("hidden");
  cfg.output_dim = p.integer("dim");
  cfg.activation = activation(p);
  cfg.scaling = position_scaling(p);
  cfg.reference_length = p.num("reference_length");
  const ContinuousMlp mlp = p.has("weights") ? ContinuousMlp::load(p.str("weights"), cfg)
                                             : ContinuousMlp(cfg, static_cast<std::uint64_t>(p.integer("seed")));
  Built b;
  b.encoding = mlp.encoding(c.key_positions);
  b.arrays.emplace_back("input_add", drop_batch(b.encoding.input_add));
  b.arrays.emplace_back("w1", mlp.w1);
  b.arrays.emplace_back("b1", mlp.b1);
  b.arrays.emplace_back("w2", mlp.w2);
  b.arrays.emplace_back("b2", mlp.b2);
  return b;
}

Built build_fourier(const Params& p, const Context& c) {
  LearnedFourier::Config cfg;
  cfg.output_dim = p.integer("dim");
  cfg.fourier_dim = p.integer("fourier_dim");
  cfg.hidden = p.integer("hidden");
  cfg.gamma = p.num("gamma");
  cfg.init_std = p.num("init_std");
  const LearnedFourier lf = p.has("weights") ? LearnedFourier::load(p.str("weights"), cfg)
                                             : LearnedFourier(cfg, static_cast<std::uint64_t>(p.integer("seed")));
  Built b;
  b.encoding = lf.encoding(c.key_positions);
  b.arrays.emplace_back("input_add", drop_batch(b.encoding.input_add));
  b.arrays.emplace_back("w_r", lf.w_r);
  b.arrays.emplace_back("w1", lf.w1);
  b.arrays.emplace_back("b1", lf.b1);
  b.arrays.emplace_back("w2", lf.w2);
  b.arrays.emplace_back("b2", lf.b2);
  return b;
}

// ---------------------------------------------------------------- the image grid

std::vector<ParamSpec> with_grid(std::vector<ParamSpec> p) {
  p.push_back({"height", "14", "grid rows H"});
  p.push_back({"width", "14", "grid columns W"});
  p.push_back({"prefix_tokens", "0", "class/register tokens before the grid (tokens = prefix + H*W)"});
  return p;
}

std::size_t grid_tokens(const Params& p) {
  const std::int64_t n = p.integer("prefix_tokens") + p.integer("height") * p.integer("width");
  if (p.integer("height") <= 0 || p.integer("width") <= 0 || p.integer("prefix_tokens") < 0)
    bad("grid: 'height' and 'width' must be positive and 'prefix_tokens' >= 0");
  return static_cast<std::size_t>(n);
}

DTensor grid_of(const Params& p) {
  return grid_positions(p.integer("height"), p.integer("width"), p.integer("prefix_tokens"));
}

Built build_sincos_2d(const Params& p, const Context&) {
  SinCos2dOptions o;
  o.height = p.integer("height");
  o.width = p.integer("width");
  o.prefix_tokens = p.integer("prefix_tokens");
  o.dim = p.integer("dim");
  o.temperature = p.num("temperature");
  const std::string l = normalise(p.str("layout"));
  if (l == "mae") o.layout = SinCos2dLayout::mae;
  else if (l == "timm") o.layout = SinCos2dLayout::timm;
  else if (l == "timm_interleaved") o.layout = SinCos2dLayout::timm_interleaved;
  else bad("sincos_2d: parameter 'layout' must be mae, timm or timm_interleaved, got '" + l + "'");
  Built b;
  b.encoding = sincos_2d(o);
  b.arrays.emplace_back("input_add", drop_batch(b.encoding.input_add));
  return b;
}

Built build_detr(const Params& p, const Context&) {
  if (p.integer("prefix_tokens") != 0) bad("detr_sine: DETR has no prefix tokens; 'prefix_tokens' must be 0");
  DetrSineOptions o;
  o.height = p.integer("height");
  o.width = p.integer("width");
  o.num_pos_feats = p.integer("num_pos_feats");
  o.temperature = p.num("temperature");
  o.normalize = p.flag("normalize");
  if (p.given().count("scale")) {
    o.scale = p.num("scale");
    o.scale_given = true;
  }
  Built b;
  Tensor t = detr_sine(o, p.has("valid") ? load_npy_int(p.str("valid")) : ITensor{});
  b.arrays.emplace_back("input_add", t);
  t.reshape({1, t.shape()[0], t.shape()[1]});
  b.encoding.name = "detr_sine";
  b.encoding.input_add = t;
  return b;
}

Built build_rope_2d(const Params& p, const Context& c) {
  Rope2dOptions o;
  o.head_dim = p.integer("head_dim");
  o.base = p.num("base");
  const std::string l = normalise(p.str("layout"));
  if (l == "eva") o.layout = Rope2dLayout::eva;
  else if (l == "rope_vit") o.layout = Rope2dLayout::rope_vit;
  else if (l == "qwen2vl") o.layout = Rope2dLayout::qwen2vl;
  else bad("rope_2d: parameter 'layout' must be eva, rope_vit or qwen2vl, got '" + l + "'");
  const DTensor g = grid_of(p);
  const DTensor qg = xt::view(g, xt::all(), xt::range(c.n_key - c.n_query, c.n_key), xt::all());
  Built b;
  b.encoding = rope_2d(qg, g, o);
  b.arrays.emplace_back("angles", angles_2d(b.encoding.rotation.key_angles));
  b.arrays.emplace_back("positions", DTensor(xt::view(g, 0, xt::all(), xt::all())));
  b.scalars["layout"] = l;
  b.scalars["pair_layout"] = o.layout == Rope2dLayout::qwen2vl ? "halves" : "interleaved";
  return b;
}

Built build_alibi_2d(const Params& p, const Context& c) {
  const DTensor g = grid_of(p);
  const DTensor qg = xt::view(g, xt::all(), xt::range(c.n_key - c.n_query, c.n_key), xt::all());
  const Tensor slopes = to_float(p.has("slopes") ? p.list("slopes") : alibi_slopes(p.integer("heads"), p.num("max_bias")));
  Built b;
  b.encoding = p.has("slopes") ? alibi_2d(qg, g, slopes) : alibi_2d(qg, g, p.integer("heads"), p.num("max_bias"));
  b.arrays.emplace_back("slopes", slopes);
  DTensor dist = relation_values(b.encoding.biases[0].relation);
  dist.reshape({dist.shape()[1], dist.shape()[2]});
  b.arrays.emplace_back("relation", dist);
  b.scalars["bias_rule"] = "b[h,i,j] = -slopes[h] * relation[i,j] (Euclidean distance in patches)";
  return b;
}

Built build_relative_bias_2d(const Params& p, const Context& c) {
  const bool cls = p.flag("class_token");
  const std::int64_t wh = p.integer("height"), ww = p.integer("width");
  if (p.integer("prefix_tokens") != (cls ? 1 : 0))
    bad("relative_bias_2d: 'prefix_tokens' must be 1 with class_token and 0 without");
  if (c.n_query != c.n_key) bad("relative_bias_2d: the window bias is for self-attention (query_tokens = tokens)");
  // A table learned for another window is resized first (timm resize_rel_pos_bias_table_simple).
  const std::int64_t sh = p.has("source_height") ? p.integer("source_height") : wh;
  const std::int64_t sw = p.has("source_width") ? p.integer("source_width") : ww;
  const Tensor source = table_or(p, "table", [&] {
    return relative_bias_table_init(p.integer("heads"), sh, sw, cls, p.num("std"),
                                    static_cast<std::uint64_t>(p.integer("seed")));
  });
  const Tensor table = (sh == wh && sw == ww) ? source : resize_relative_bias_table(source, sh, sw, wh, ww);
  Built b;
  b.encoding = relative_bias_2d(wh, ww, table, cls);
  b.arrays.emplace_back("relation", relative_position_index_2d(wh, ww, cls));
  b.arrays.emplace_back("bias_table", table);
  b.scalars["bias_rule"] = "b[h,i,j] = bias_table[h, relation[i,j]]";
  return b;
}

Built build_learned_2d(const Params& p, const Context&) {
  const std::int64_t h = p.integer("height"), w = p.integer("width"), pre = p.integer("prefix_tokens");
  const std::int64_t sh = p.has("source_height") ? p.integer("source_height") : h;
  const std::int64_t sw = p.has("source_width") ? p.integer("source_width") : w;
  const Tensor table = table_or(p, "table", [&] {
    return learned_table_init(pre + sh * sw, p.integer("dim"), p.num("std"), static_cast<std::uint64_t>(p.integer("seed")));
  });
  ResampleOptions o;
  const std::string m = normalise(p.str("interpolation"));
  if (m == "bicubic") o.interpolation = Interpolation::bicubic;
  else if (m == "bilinear") o.interpolation = Interpolation::bilinear;
  else if (m == "nearest") o.interpolation = Interpolation::nearest;
  else bad("learned_2d: parameter 'interpolation' must be bicubic, bilinear or nearest, got '" + m + "'");
  o.antialias = p.flag("antialias");
  Tensor resampled = resample_abs_pos_embed(table, sh, sw, h, w, pre, o);
  Built b;
  b.arrays.emplace_back("table", table);
  b.arrays.emplace_back("input_add", resampled);
  resampled.reshape({1, resampled.shape()[0], resampled.shape()[1]});
  b.encoding.name = "learned_2d";
  b.encoding.input_add = resampled;
  b.scalars["resampled_from"] = std::to_string(sh) + "x" + std::to_string(sw);
  return b;
}

// "text:3,image:1x4x6,video:4x8x8@0.5,text:2" -> segments (vision grids t x h x w in patches; @ seconds per grid step)
std::vector<MropeSegment> parse_segments(const std::string& spec) {
  std::vector<MropeSegment> out;
  std::stringstream ss(spec);
  for (std::string item; std::getline(ss, item, ',');) {
    const auto colon = item.find(':');
    if (colon == std::string::npos) bad("mrope: segment '" + item + "' must be text:N, image:TxHxW or video:TxHxW[@s]");
    const std::string kind = item.substr(0, colon), rest = item.substr(colon + 1);
    MropeSegment seg;
    try {
      if (kind == "text") {
        seg.length = std::stoll(rest);
      } else if (kind == "image" || kind == "video") {
        seg.kind = MropeSegment::Kind::vision;
        std::string dims = rest;
        if (auto at = rest.find('@'); at != std::string::npos) {
          seg.second_per_grid_t = std::stod(rest.substr(at + 1));
          dims = rest.substr(0, at);
        }
        const auto x1 = dims.find('x'), x2 = dims.find('x', x1 + 1);
        if (x1 == std::string::npos || x2 == std::string::npos) throw std::invalid_argument("grid");
        seg.t = std::stoll(dims.substr(0, x1));
        seg.h = std::stoll(dims.substr(x1 + 1, x2 - x1 - 1));
        seg.w = std::stoll(dims.substr(x2 + 1));
      } else {
        throw std::invalid_argument("kind");
      }
    } catch (const std::exception&) {
      bad("mrope: segment '" + item + "' must be text:N, image:TxHxW or video:TxHxW[@seconds]");
    }
    out.push_back(seg);
  }
  return out;
}

DTensor mrope_ids_of(const Params& p) {
  MropeIdOptions o;
  o.spatial_merge_size = p.integer("spatial_merge_size");
  o.tokens_per_second = p.num("tokens_per_second");
  return mrope_position_ids(parse_segments(p.str("segments")), o);
}

Built build_mrope(const Params& p, const Context& c) {
  MropeOptions o;
  o.head_dim = p.integer("head_dim");
  o.base = p.num("base");
  o.mrope_section = int_list(p, "mrope_section");
  o.interleaved = p.flag("interleaved");
  const DTensor ids = mrope_ids_of(p);
  const DTensor qids = xt::view(ids, xt::all(), xt::range(c.n_key - c.n_query, c.n_key));
  Built b;
  b.encoding = mrope(qids, ids, o);
  b.arrays.emplace_back("position_ids", ids);
  b.arrays.emplace_back("angles", angles_2d(b.encoding.rotation.key_angles));
  const auto axis = mrope_axis_of_pair(o);
  ITensor ax = ITensor::from_shape({axis.size()});
  std::copy(axis.begin(), axis.end(), ax.begin());
  b.arrays.emplace_back("axis_of_pair", ax);
  b.scalars["mrope_position_delta"] = mrope_position_delta(ids);
  b.scalars["pair_layout"] = "halves";
  return b;
}

std::vector<EncodingSpec> make_registry() {
  std::vector<EncodingSpec> r;
  r.push_back({"sinusoidal", "fixed sin/cos table added to the embeddings", "input_add",
               "Vaswani et al. 2017; tensor2tensor get_timing_signal_1d; fairseq",
               with_positions({{"dim", "512", "model width d"},
                               {"base", "10000", "wavelength base"},
                               {"layout", "interleaved", "interleaved (s0,c0,s1,c1,..) or blocked [sin | cos]"},
                               {"exponent", "paper", "paper: base^(-2k/d); t2t: base^(-k/(m-1)) (fairseq, TENER)"},
                               {"odd_zero_channel", "false", "odd d, interleaved: zero last channel instead of dropping"}}),
               build_sinusoidal});
  r.push_back({"learned", "learned absolute table E[p] added to the embeddings", "input_add",
               "BERT / GPT-2 (HF BertEmbeddings)",
               with_positions({{"dim", "512", "model width d"},
                               {"max_position_embeddings", "512", "table rows L_max"},
                               {"std", "0.02", "N(0, std^2) initialisation"},
                               {"seed", "0", "initialisation seed"},
                               {"table", "", "load the table [L_max, d] from this .npy instead"}}),
               build_learned});
  r.push_back({"rope", "rotary position embedding with HF rope_type scaling", "rotation (+ magnitude = attention factor)",
               "Su et al. 2021; HF modeling_rope_utils (linear, dynamic, yarn, longrope, llama3)",
               with_positions({{"head_dim", "64", "head dimension"},
                               {"rotary_dim", "", "rotated channels (default int(head_dim * partial_rotary_factor))"},
                               {"partial_rotary_factor", "1", "fraction of head_dim rotated"},
                               {"base", "10000", "rope_theta"},
                               {"layout", "halves", "halves (NeoX/HF Llama) or interleaved (GPT-J/Meta)"},
                               {"rope_type", "default", "default, linear, ntk, dynamic, yarn, longrope, llama3"},
                               {"factor", "1", "scaling factor"},
                               {"max_position_embeddings", "0", "model context L"},
                               {"original_max_position_embeddings", "0", "pretraining context L0"},
                               {"beta_fast", "32", "YaRN"},
                               {"beta_slow", "1", "YaRN"},
                               {"mscale", "0", "YaRN (0 = unset)"},
                               {"mscale_all_dim", "0", "YaRN (0 = unset)"},
                               {"attention_factor", "", "YaRN / LongRoPE override"},
                               {"truncate", "true", "YaRN: floor/ceil the correction range"},
                               {"short_factor", "", "LongRoPE: rotary_dim/2 values, comma-separated or .npy"},
                               {"long_factor", "", "LongRoPE: rotary_dim/2 values, comma-separated or .npy"},
                               {"low_freq_factor", "1", "Llama 3"},
                               {"high_freq_factor", "4", "Llama 3"},
                               {"sequence_length", "0", "current length for dynamic / LongRoPE (0 = offset + tokens)"}}),
               build_rope});
  r.push_back({"xpos", "RoPE with exponential decay of |q.k| with distance", "rotation + log-scales",
               "Sun et al. 2022; microsoft/torchscale xpos_relative_position",
               with_positions({{"head_dim", "64", "head dimension (even)"},
                               {"base", "10000", "rotation base"},
                               {"scale_base", "512", "S in zeta^(n/S)"},
                               {"layout", "interleaved", "pairing (torchscale: interleaved)"}}),
               build_xpos});
  r.push_back({"alibi", "linear distance penalty per head", "position-position bias (slope x distance)",
               "Press et al. 2022; ofirpress/attention_with_linear_biases",
               with_positions({{"heads", "8", "number of heads (any; non-powers of two follow the reference)"},
                               {"causal", "true", "causal -m(i-j) (with a causal mask) or symmetric -m|i-j|"},
                               {"max_bias", "8", "the 8 in 2^(-8(h+1)/H)"},
                               {"fairseq_compat", "false", "causal: +m*j per row as fairseq (same softmax)"},
                               {"slopes", "", "learnable slopes [heads] (comma-separated or .npy) instead of 2^(-8(h+1)/H)"}}),
               build_alibi});
  r.push_back({"t5", "learned per-head bias over log-spaced relative buckets", "position-position bias (table[rho])",
               "Raffel et al. 2020; HF T5Attention._relative_position_bucket",
               with_positions({{"heads", "8", "number of heads"},
                               {"bidirectional", "true", "encoder (true) or decoder (false)"},
                               {"num_buckets", "32", "buckets B"},
                               {"max_distance", "128", "max_distance D"},
                               {"std", "0.02", "N(0, std^2) initialisation of the table"},
                               {"seed", "0", "initialisation seed"},
                               {"table", "", "load the table [heads, num_buckets] from this .npy instead"}}),
               build_t5});
  r.push_back(relative_bias_encoding());
  r.push_back({"shaw", "learned relative key/value vectors over clipped offsets", "content-position + value (table[rho])",
               "Shaw et al. 2018; tensor2tensor dot_product_attention_relative; HF BERT relative_key",
               with_positions({{"heads", "8", "heads (tables per head when per_head)"},
                               {"head_dim", "64", "head dimension"},
                               {"value_dim", "", "value dimension (default head_dim)"},
                               {"clip", "16", "K: offsets clipped to [-K, K]"},
                               {"per_head", "false", "one table per head (default: shared, as the paper)"},
                               {"key_term", "true", "q . aK term"},
                               {"value_term", "true", "aV added to values"},
                               {"hf_relative_key", "false", "HF BERT: i - j over 2L-1 rows, no clipping, key term only"},
                               {"max_position_embeddings", "512", "L for hf_relative_key"},
                               {"std", "0.02", "N(0, std^2) initialisation"},
                               {"seed", "0", "initialisation seed"},
                               {"key_table", "", "load aK [H|1, rows, head_dim] from .npy"},
                               {"value_table", "", "load aV [H|1, rows, value_dim] from .npy"}}),
               build_shaw});
  r.push_back({"transformer_xl", "relative sinusoid projected by W_R, global biases u and v, memory",
               "content-position (+ query bias v) + content bias u",
               "Dai et al. 2019; kimiyoung/transformer-xl RelPartialLearnableMultiHeadAttn",
               with_positions({{"d_model", "512", "width of the relative sinusoid"},
                               {"heads", "8", "heads"},
                               {"head_dim", "64", "head dimension"},
                               {"clamp_len", "-1", "cap on the distance (-1: none)"},
                               {"std", "0.02", "N(0, std^2) initialisation of W_R, u, v"},
                               {"seed", "0", "initialisation seed"},
                               {"w_r", "", "load W_R [heads*head_dim, d_model] from .npy"},
                               {"u", "", "load u [heads, head_dim] from .npy"},
                               {"v", "", "load v [heads, head_dim] from .npy"}}),
               build_transformer_xl});
  r.push_back({"tener", "direction-aware relative sinusoid with u, v biases, un-scaled",
               "content bias + content-position (+ query bias) + position-content",
               "Yan et al. 2019; fastnlp/TENER relative_transformer.py",
               with_positions({{"heads", "8", "heads"},
                               {"head_dim", "64", "head dimension (even, >= 4)"},
                               {"paper_form", "false", "the paper's q.k + u.k + (q+v).R_{i-j} instead of the code"},
                               {"scaled", "false", "divide by sqrt(head_dim) (the code does not)"},
                               {"seed", "0", "initialisation seed"},
                               {"u", "", "load u [heads, head_dim] from .npy"},
                               {"v", "", "load v [heads, head_dim] from .npy"}}),
               build_tener});
  r.push_back({"huang", "Huang et al. methods 1-4: learned distance scalars, vectors, or q.a + k.a",
               "multiplier (1, 2), content weights (3), content-position + position-content (4)",
               "Huang et al. 2020 (arXiv 2009.13658); HF BERT relative_key_query (method 4)",
               with_positions({{"method", "4", "1, 2, 3 or 4"},
                               {"heads", "8", "heads (tables per head when per_head)"},
                               {"head_dim", "64", "head dimension"},
                               {"max_distance", "64", "distances clipped to this"},
                               {"clip", "true", "clip (true) or reject distances past the table"},
                               {"per_head", "false", "one table per head"},
                               {"std", "0.02", "method 4: N(0, std^2); methods 1-3 start at 1"},
                               {"seed", "0", "initialisation seed"},
                               {"table", "", "load the table from .npy"}}),
               build_huang});
  r.push_back({"da_transformer", "ReLU scores rescaled by a learned sigmoid of |i-j| per head",
               "score ReLU + multiplier (table[|i-j|])", "Wu, Wu & Huang 2021 (DA-Transformer)",
               with_positions({{"heads", "8", "heads"},
                               {"seed", "0", "initialisation seed (v, w ~ U(-1, 1))"},
                               {"v", "", "v per head: comma-separated or .npy"},
                               {"w", "", "w per head: comma-separated or .npy"}}),
               build_da});
  r.push_back({"reformer_axial", "axial factor tables concatenated along the features", "input_add",
               "Kitaev et al. 2020; HF ReformerAxialPositionEmbeddings",
               with_positions({{"shape", "64,64", "factor sizes n_1,n_2,... (product > every position)"},
                               {"dims", "64,192", "factor widths d_1,d_2,..."},
                               {"std", "1", "N(0, std^2) initialisation"},
                               {"seed", "0", "initialisation seed"},
                               {"tables", "", "load the factor tables: comma-separated .npy paths"}}),
               build_axial});
  r.push_back({"continuous_mlp", "MLP of the normalised position (extends to unseen lengths)", "input_add",
               "continuous position MLP (docs/methods.md#continuous-mlp); Swin-V2 CPB is its relative cousin",
               with_positions({{"dim", "512", "output width d"},
                               {"hidden", "128", "hidden width"},
                               {"activation", "gelu", "gelu, relu or tanh"},
                               {"scaling", "divide", "divide (x/L_ref), none, minus1to1"},
                               {"reference_length", "512", "L_ref (training length)"},
                               {"seed", "0", "initialisation seed"},
                               {"weights", "", "directory with w1, b1, w2, b2 .npy"}}),
               build_mlp});
  r.push_back({"learned_fourier", "learnable Fourier features followed by an MLP", "input_add",
               "Li et al. 2021 (NeurIPS)",
               with_positions({{"dim", "512", "output width d"},
                               {"fourier_dim", "0", "F_dim, even (0 = dim)"},
                               {"hidden", "32", "MLP hidden width"},
                               {"gamma", "1", "W_r ~ N(0, init_std^2), init_std = 1/gamma"},
                               {"init_std", "0", "explicit init std (0 = 1/gamma)"},
                               {"seed", "0", "initialisation seed"},
                               {"weights", "", "directory with w_r, w1, b1, w2, b2 .npy"}}),
               build_fourier});
  r.push_back({"learned_2d", "learned ViT table over the grid, resampled to a new grid size", "input_add",
               "timm vision_transformer pos_embed + resample_abs_pos_embed (PyTorch interpolate kernels)",
               with_grid({{"dim", "768", "width D"},
                          {"source_height", "", "grid rows of the table (default: height, no resampling)"},
                          {"source_width", "", "grid columns of the table (default: width)"},
                          {"interpolation", "bicubic", "bicubic, bilinear or nearest"},
                          {"antialias", "true", "PIL-style antialias (timm's default)"},
                          {"std", "0.02", "N(0, std^2) initialisation"},
                          {"seed", "0", "initialisation seed"},
                          {"table", "", "load [prefix_tokens + source_H*source_W, D] from .npy"}}),
               build_learned_2d, grid_tokens});
  r.push_back({"sincos_2d", "fixed 2D sin-cos table over the patch grid", "input_add",
               "MAE util/pos_embed.py; timm build_sincos2d_pos_embed",
               with_grid({{"dim", "768", "width D (multiple of 4)"},
                          {"temperature", "10000", "T in w_k = T^(-k/(D/4))"},
                          {"layout", "mae", "mae [sin x|cos x|sin y|cos y], timm [sin y|sin x|cos y|cos x], timm_interleaved"}}),
               build_sincos_2d, grid_tokens});
  r.push_back({"detr_sine", "DETR's normalised sine embedding of pixel coordinates", "input_add",
               "Carion et al. 2020; facebookresearch/detr PositionEmbeddingSine",
               with_grid({{"num_pos_feats", "128", "F per axis (output 2F)"},
                          {"temperature", "10000", "T"},
                          {"normalize", "true", "divide by the last cumulative count and multiply by scale"},
                          {"scale", "6.283185307179586", "2 pi (only with normalize)"},
                          {"valid", "", "valid-pixel mask [H, W] (.npy, 1 = pixel)"}}),
               build_detr, grid_tokens});
  r.push_back({"rope_2d", "2D axial RoPE: half the pairs by the row, half by the column", "rotation",
               "EVA-02 rope.py / timm RotaryEmbeddingCat; naver-ai/rope-vit; HF Qwen2-VL VisionRotaryEmbedding",
               with_grid({{"head_dim", "64", "head dimension (multiple of 4)"},
                          {"base", "10000", "theta_k = base^(-k/(d/4)) (rope-vit uses 100)"},
                          {"layout", "eva", "eva (y first, adjacent), rope_vit (x first, adjacent), qwen2vl (halves)"}}),
               build_rope_2d, grid_tokens});
  r.push_back({"alibi_2d", "ALiBi with the Euclidean patch distance", "position-position bias (slope x distance)",
               "ALiBi slopes (Press et al. 2022) on 2D distances",
               with_grid({{"heads", "8", "number of heads"},
                          {"max_bias", "8", "the 8 in 2^(-8(h+1)/H)"},
                          {"slopes", "", "learnable slopes [heads] (comma-separated or .npy) instead of ALiBi's"}}),
               build_alibi_2d, grid_tokens});
  r.push_back({"relative_bias_2d", "Swin / BEiT learned relative position bias of a window",
               "position-position bias (table[index])", "Swin, BEiT; timm layers/pos_embed_rel.py",
               with_grid({{"heads", "8", "number of heads"},
                          {"class_token", "false", "BEiT: 3 extra rows for the class token (prefix_tokens 1)"},
                          {"std", "0.02", "truncated-normal initialisation"},
                          {"seed", "0", "initialisation seed"},
                          {"source_height", "", "window rows the table was learned for (resized bicubically)"},
                          {"source_width", "", "window columns the table was learned for"},
                          {"table", "", "load the table [heads, rows] from .npy"}}),
               build_relative_bias_2d, grid_tokens});
  r.push_back({"mrope", "Qwen2-VL multimodal RoPE: (t, h, w) ids for text, images and video, sectioned rotation",
               "rotation", "Qwen2-VL (HF get_rope_index, apply_multimodal_rotary_pos_emb); Qwen2.5-VL time ids; Qwen3-VL interleaving",
               {{"segments", "text:3,image:1x4x6,text:2", "text:N, image:TxHxW, video:TxHxW[@seconds per grid step], comma-separated"},
                {"head_dim", "128", "head dimension"},
                {"base", "1000000", "rope_theta"},
                {"mrope_section", "16,24,24", "pairs per axis t,h,w (sum = head_dim/2)"},
                {"interleaved", "false", "Qwen3-VL interleaved t,h,w pairs"},
                {"spatial_merge_size", "2", "patches merged per LLM token along h and w"},
                {"tokens_per_second", "2", "Qwen2.5-VL temporal scaling (used with @seconds)"}},
               build_mrope, [](const Params& p) { return mrope_ids_of(p).shape()[1]; }});
  for (auto& spec : grid_and_sphere_encodings()) r.push_back(std::move(spec));
  r.push_back({"nope", "no positional encoding (an explicit choice)", "nothing",
               "Haviv et al. 2022; Kazemnejad et al. 2023", with_positions({}), build_nope});
  attach_backwards(r);
  return r;
}

}  // namespace

const std::vector<EncodingSpec>& registry() {
  static const std::vector<EncodingSpec> r = make_registry();
  return r;
}

const EncodingSpec& find_encoding(const std::string& name) {
  const std::string n = normalise(name);
  std::vector<std::string> names;
  for (const auto& s : registry()) {
    if (s.name == n) return s;
    names.push_back(s.name);
  }
  const std::string guess = closest(n, names);
  bad("unknown encoding '" + name + "'" + (guess.empty() ? "" : "; did you mean '" + guess + "'?") +
      " (posenc list shows all)");
}

void check_params(const EncodingSpec& spec, const std::map<std::string, std::string>& given) {
  std::vector<std::string> names;
  for (const auto& p : spec.params) names.push_back(p.name);
  for (const auto& [k, v] : given) {
    if (std::find(names.begin(), names.end(), k) != names.end()) continue;
    const std::string guess = closest(k, names);
    bad(spec.name + ": unknown parameter '" + k + "'" + (guess.empty() ? "" : "; did you mean '" + guess + "'?"));
  }
}

}  // namespace posenc::cli
