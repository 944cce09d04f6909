// What each catalogue entry's builder allocates, from its resolved field values alone, so that absurd sizes are
// refused before anything is allocated (checks.hpp: encoding_sizes, require_budget). The figures
// are lower bounds (the largest outputs); products are taken in long double, so they never
// overflow.
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <sstream>

#include "checks.hpp"

namespace posenc::cli {

namespace {

constexpr long double kNaN = std::numeric_limits<long double>::quiet_NaN();

struct Sizer {
  const catalogue::Values& values;  ///< resolved: defaults < implied < given
  const std::map<std::string, std::string>& given;
  long double nq, nk;
  std::string tokens_from;
  std::vector<SizeNeed> needs;

  const catalogue::Value* find(const std::string& name) const {
    auto it = values.find(name);
    return it == values.end() ? nullptr : &it->second;
  }
  /// The value of an integer field (NaN when unset, not an integer or negative: the builder reports it).
  long double value(const std::string& name) const {
    if (name == "tokens") return nk;
    if (name == "query_tokens") return nq;
    const auto* v = find(name);
    const auto* i = v ? std::get_if<std::int64_t>(v) : nullptr;
    return (!i || *i < 0) ? kNaN : static_cast<long double>(*i);
  }
  /// The value as the user typed it (or the default / implied one).
  std::string typed(const std::string& name) const {
    if (auto it = given.find(name); it != given.end()) return it->second;
    if (name == "tokens" || name == "query_tokens")
      return std::to_string(static_cast<unsigned long long>(name == "tokens" ? nk : nq)) +
             (tokens_from.empty() ? "" : " " + tokens_from);
    const auto* v = find(name);
    return v ? catalogue::value_text(*v) : "?";
  }
  /// An allocation of `per` bytes times the product of the options.
  void need(const std::string& what, long double per, const std::vector<std::string>& opts) {
    long double n = per;
    for (const auto& o : opts) n *= value(o);
    add(what, n, opts);
  }
  void add(const std::string& what, long double bytes, const std::vector<std::string>& opts) {
    SizeNeed s{what, bytes, {}};
    for (const auto& o : opts) s.options.emplace_back(o, typed(o));
    needs.push_back(std::move(s));
  }
  /// Sum (or product) of the numbers in a list field ("64,192"), NaN when it is not a list.
  long double list_sum(const std::string& name, bool product = false) const {
    const auto* v = find(name);
    std::vector<double> xs;
    if (const auto* i = v ? std::get_if<std::vector<std::int64_t>>(v) : nullptr) xs.assign(i->begin(), i->end());
    else if (const auto* d = v ? std::get_if<std::vector<double>>(v) : nullptr) xs = *d;
    else return kNaN;
    long double s = product ? 1 : 0;
    for (double x : xs) s = product ? s * x : s + x;
    return s;
  }
  /// Points of a sphere encoding: nlat * nlon, or unknown (a points file is bounded by its size).
  long double points() const { return find("points") ? kNaN : value("nlat") * value("nlon"); }
  /// AST patches along one axis: (bins - patch) / stride + 1.
  long double patches(const std::string& bins, const std::string& patch, const std::string& stride) const {
    const long double b = value(bins), k = value(patch), s = value(stride);
    return (b < k || !(s > 0)) ? kNaN : std::floor((b - k) / s) + 1;
  }
};

using Rule = std::function<void(Sizer&)>;

const std::vector<std::string> kRelationOpts = {"query_tokens", "tokens"};

void text_rules(std::map<std::string, Rule>& r) {
  r["sinusoidal"] = [](Sizer& s) { s.need("input_add [tokens, dim] float32", 4, {"tokens", "dim"}); };
  r["learned"] = [](Sizer& s) {
    s.need("table [max_position_embeddings, dim] float32", 4, {"max_position_embeddings", "dim"});
    s.need("input_add [tokens, dim] float32", 4, {"tokens", "dim"});
  };
  r["rope"] = [](Sizer& s) { s.need("angles [tokens, head_dim / 2] float64", 4, {"tokens", "head_dim"}); };
  r["xpos"] = [](Sizer& s) { s.need("angles and scales [tokens, head_dim / 2] float64", 12, {"tokens", "head_dim"}); };
  for (const char* name : {"alibi", "t5", "relative_bias", "shaw", "transformer_xl", "tener", "huang", "da_transformer"})
    r[name] = [](Sizer& s) { s.need("relation [query_tokens, tokens] int64", 8, kRelationOpts); };
  auto add = [&r](const std::string& name, Rule extra) {
    r[name] = [base = r[name], extra](Sizer& s) {
      base(s);
      extra(s);
    };
  };
  add("t5", [](Sizer& s) { s.need("bias_table [heads, num_buckets] float32", 4, {"heads", "num_buckets"}); });
  add("relative_bias", [](Sizer& s) { s.need("weight [2 max_distance + 1, heads] float32", 8, {"max_distance", "heads"}); });
  add("shaw", [](Sizer& s) { s.need("key and value tables [2 clip + 1, head_dim] float32", 16, {"clip", "head_dim"}); });
  add("transformer_xl", [](Sizer& s) {
    s.need("r_sinusoid [tokens, d_model] float32", 4, {"tokens", "d_model"});
    s.need("w_r [d_model, heads * head_dim] float32", 4, {"d_model", "heads", "head_dim"});
    s.need("key_table [heads, tokens, head_dim] float32", 4, {"heads", "tokens", "head_dim"});
  });
  add("tener", [](Sizer& s) { s.need("sinusoid [2 tokens - 1, head_dim] float32", 8, {"tokens", "head_dim"}); });
  add("huang", [](Sizer& s) { s.need("table [2 max_distance + 1, head_dim] float32", 8, {"max_distance", "head_dim"}); });
  add("da_transformer", [](Sizer& s) { s.need("rescaling [heads, tokens] float32", 4, {"heads", "tokens"}); });
  r["reformer_axial"] = [](Sizer& s) {
    s.add("input_add [tokens, sum(dims)] float32", 4 * s.nk * s.list_sum("dims"), {"tokens", "dims"});
    s.add("the axial tables", 4 * s.list_sum("shape", true), {"shape"});
  };
  r["continuous_mlp"] = [](Sizer& s) {
    s.need("input_add [tokens, dim] float32", 4, {"tokens", "dim"});
    s.need("w2 [dim, hidden] float32", 4, {"dim", "hidden"});
  };
  r["learned_fourier"] = [](Sizer& s) {
    s.need("input_add [tokens, dim] float32", 4, {"tokens", "dim"});
    s.need("w1, w2 [hidden, dim] float32", 8, {"hidden", "dim"});
  };
  r["nope"] = [](Sizer&) {};
}

void grid_rules(std::map<std::string, Rule>& r) {
  const std::vector<std::string> hw = {"height", "width"}, thw = {"frames", "height", "width"};
  auto with = [](std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  r["learned_2d"] = [=](Sizer& s) {
    s.need("input_add [height * width, dim] float32", 4, with(hw, {"dim"}));
    s.need("table [source_height * source_width, dim] float32", 4, {"source_height", "source_width", "dim"});
  };
  r["sincos_2d"] = [=](Sizer& s) { s.need("input_add [height * width, dim] float32", 4, with(hw, {"dim"})); };
  r["detr_sine"] = [=](Sizer& s) { s.need("input_add [height * width, 2 num_pos_feats] float32", 8, with(hw, {"num_pos_feats"})); };
  r["rope_2d"] = [=](Sizer& s) { s.need("angles [height * width, head_dim / 2] float64", 4, with(hw, {"head_dim"})); };
  r["alibi_2d"] = [=](Sizer& s) { s.need("relation [height * width, height * width] int64", 8, with(hw, hw)); };
  r["relative_bias_2d"] = [=](Sizer& s) {
    s.need("relation [height * width, height * width] int64", 8, with(hw, hw));
    s.need("bias_table [heads, (2 height - 1)(2 width - 1)] float32", 16, with({"heads"}, hw));
  };
  r["fourier_features"] = [=](Sizer& s) { s.need("input_concat [height * width, 4 num_bands] float32", 16, with(hw, {"num_bands"})); };
  r["rope_mixed"] = [=](Sizer& s) {
    s.need("angles [heads, height * width, head_dim / 2] float64", 4, with({"heads"}, with(hw, {"head_dim"})));
  };
  r["sincos_3d"] = r["videomae"] = r["timesformer"] = [=](Sizer& s) {
    s.need("input_add [frames * height * width, dim] float32", 4, with(thw, {"dim"}));
  };
  r["rope_3d"] = [=](Sizer& s) { s.need("angles [frames * height * width, head_dim / 2] float64", 4, with(thw, {"head_dim"})); };
  const std::vector<std::string> spec = {"frequency_bins", "frames", "fstride", "tstride"};
  r["spectrogram_sincos"] = [=](Sizer& s) {
    const long double n = s.patches("frequency_bins", "patch_frequency", "fstride") * s.patches("frames", "patch_time", "tstride");
    s.add("input_add [patches, frequency_dim + time_dim] float32", 4 * n * (s.value("frequency_dim") + s.value("time_dim")),
          with(spec, {"frequency_dim", "time_dim"}));
  };
  r["spectrogram_rope"] = [=](Sizer& s) {
    const long double n = s.patches("frequency_bins", "patch_frequency", "fstride") * s.patches("frames", "patch_time", "tstride");
    s.add("angles [patches, (frequency_dim + time_dim) / 2] float64", 4 * n * (s.value("frequency_dim") + s.value("time_dim")),
          with(spec, {"frequency_dim", "time_dim"}));
  };
  r["ast_table"] = [=](Sizer& s) {
    const long double n = s.patches("frequency_bins", "patch_frequency", "fstride") * s.patches("frames", "patch_time", "tstride");
    s.add("input_add [patches, dim] float32", 4 * n * s.value("dim"), with(spec, {"dim"}));
    s.need("table [source_f_dim * source_t_dim, dim] float32", 4, {"source_f_dim", "source_t_dim", "dim"});
  };
}

/// M-RoPE's segments "text:3,image:1x4x6,video:2x8x8": tokens = text lengths + patches / merge^2.
long double mrope_tokens(const Sizer& s) {
  long double merge = s.value("spatial_merge_size"), total = 0;
  if (!(merge >= 1)) merge = 1;
  const auto* seg = s.find("segments");
  const auto* text = seg ? std::get_if<std::string>(seg) : nullptr;
  std::stringstream ss(text ? *text : "");
  for (std::string item; std::getline(ss, item, ',');) {
    const auto colon = item.find(':');
    if (colon == std::string::npos) return kNaN;
    long double n = 1;
    std::stringstream dims(item.substr(colon + 1));
    for (std::string d; std::getline(dims, d, 'x');) {
      char* end = nullptr;
      const long double v = std::strtold(d.c_str(), &end);
      if (d.empty() || *end != 0 || !(v >= 0)) return kNaN;
      n *= v;
    }
    total += item.compare(0, colon, "text") == 0 ? n : n / (merge * merge);
  }
  return total;
}

void sphere_rules(std::map<std::string, Rule>& r) {
  const std::vector<std::string> ll = {"nlat", "nlon"};
  auto with = [ll](const std::vector<std::string>& b) {
    std::vector<std::string> a = ll;
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  r["sphere_features"] = [=](Sizer& s) { s.add("input_concat [points, 6 scales] float32", 24 * s.points() * s.value("scales"), with({"scales"})); };
  r["spherical_harmonics"] = [=](Sizer& s) {
    const long double l1 = s.value("degree") + 1;
    s.add("one row of (degree + 1)^2 harmonics, float64", 8 * l1 * l1, {"degree"});
    s.add("input_concat [points, (degree + 1)^2] float32", 4 * s.points() * l1 * l1, with({"degree"}));
  };
  r["geodesic_alibi"] = r["geodesic_bias"] = [=](Sizer& s) {
    s.add("relation [points, points] int64", 8 * s.points() * s.points(), with(ll));
  };
  r["sphere_rope"] = [=](Sizer& s) { s.add("angles [points, head_dim / 2] float64", 4 * s.points() * s.value("head_dim"), with({"head_dim"})); };
  r["sphere_table"] = [=](Sizer& s) {
    s.add("input_add [points, dim] float32", 4 * s.points() * s.value("dim"), with({"dim"}));
    s.need("the source table [source_nlat * source_nlon, dim] float32", 4, {"source_nlat", "source_nlon", "dim"});
    const long double l1 = s.value("regrid_degree") + 1;
    s.add("the regridding harmonics [(regrid_degree + 1)^2, dim] float64", 8 * l1 * l1 * s.value("dim"), {"regrid_degree", "dim"});
  };
  r["mrope"] = [](Sizer& s) {
    const long double n = mrope_tokens(s);
    s.add("angles [tokens of the segments, head_dim / 2] float64", 4 * n * s.value("head_dim"), {"segments", "head_dim"});
    s.add("position_ids [3, tokens of the segments] int64", 24 * n, {"segments"});
  };
}

const std::map<std::string, Rule>& rules() {
  static const std::map<std::string, Rule> r = [] {
    std::map<std::string, Rule> m;
    text_rules(m);
    grid_rules(m);
    sphere_rules(m);
    return m;
  }();
  return r;
}

}  // namespace

std::vector<SizeNeed> encoding_sizes(const std::string& entry, const catalogue::Values& values,
                                     const std::map<std::string, std::string>& given, long double nq, long double nk,
                                     const std::string& tokens_from) {
  Sizer s{values, given, nq, nk, tokens_from, {}};
  if (catalogue::describe(entry).field("tokens")) s.need("the token positions float64", 16, {"tokens"});
  if (auto it = rules().find(entry); it != rules().end()) it->second(s);
  return std::move(s.needs);
}

}  // namespace posenc::cli
