// The catalogue (posenc/catalogue.hpp): every entry builds with its defaults and with a changed
// value for every field; defaults come from the option structs; enum tables round-trip; errors
// name the method, field, type and value; and a sample agrees with `posenc encode`.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

#include "posenc/catalogue.hpp"
#include "posenc/npy.hpp"
#include "posenc/text.hpp"

namespace posenc {
namespace {

namespace cat = catalogue;
namespace fs = std::filesystem;

template <class T>
bool all_finite(const xt::xarray<T>& a) {
  if constexpr (std::is_floating_point_v<T>) {
    for (const auto& x : a)
      if (!std::isfinite(x)) return false;
  }
  return true;
}

// Arrays that may hold non-finite values by definition.
bool may_be_non_finite(const std::string& entry, const std::string& array) {
  return (entry == "laplacian_pe" && array == "lap_eigenvalues");
}

void expect_sane(const std::string& name, const cat::Built& b) {
  for (const auto& [stem, a] : b.arrays) {
    const bool finite = std::visit([](const auto& t) { return all_finite(t); }, a);
    if (!may_be_non_finite(name, stem)) {
      EXPECT_TRUE(finite) << name << ": " << stem;
    }
    EXPECT_GT(std::visit([](const auto& t) { return t.size(); }, a), 0u) << name << ": " << stem;
  }
  ASSERT_GT(b.tokens, 0u) << name;
  const Encoding& e = b.encoding;
  if (is_set(e.input_add)) {
    EXPECT_EQ(e.input_add.dimension(), 3u) << name;
    EXPECT_EQ(e.input_add.shape()[1], b.tokens) << name;
  }
  if (is_set(e.input_concat)) {
    EXPECT_EQ(e.input_concat.shape()[1], b.tokens) << name;
  }
  if (!e.rotation.empty()) {
    EXPECT_EQ(e.rotation.key_angles.shape()[2], b.tokens) << name;
    EXPECT_EQ(e.rotation.query_angles.shape()[2], b.query_tokens) << name;
    EXPECT_TRUE(all_finite(e.rotation.key_angles)) << name;
  }
  for (const auto& bias : e.biases)
    if (bias.kind == BiasKind::dense) {
      EXPECT_EQ(bias.dense.shape()[3], b.tokens) << name;
    }
}

TEST(Catalogue, EveryEntryBuildsWithItsDefaults) {
  ASSERT_GE(cat::entries().size(), 45u);
  std::set<std::string> seen;
  for (const auto& e : cat::entries()) {
    EXPECT_TRUE(seen.insert(e.name).second) << "duplicate " << e.name;
    EXPECT_FALSE(e.summary.empty() || e.parts.empty() || e.source.empty() || e.header.empty()) << e.name;
    SCOPED_TRACE(e.name);
    const cat::Built b = cat::build(e.name);
    expect_sane(e.name, b);
    for (const auto& t : e.tables) {
      EXPECT_NE(e.field(t.field), nullptr) << e.name << " table field " << t.field;
      if (t.array.find(',') == std::string::npos && t.array.find('<') == std::string::npos) {
        EXPECT_NE(b.array(t.array), nullptr) << e.name << " table " << t.array;
      }
    }
  }
  for (const char* must : {"graphormer_spatial", "graphormer_centrality", "graphormer_edge", "tabpet", "rope", "t5",
                           "laplacian_pe", "rwse", "vivit", "mrope"})
    EXPECT_TRUE(seen.count(must)) << must;
}

// ---------------------------------------------------------------------- a changed value per field

template <class T>
xt::xarray<T> half(const cat::Array& a) {
  return std::visit([](const auto& t) {
    xt::xarray<T> out = xt::xarray<T>::from_shape(t.shape());
    std::transform(t.begin(), t.end(), out.begin(), [](auto x) { return static_cast<T>(x * 0.5); });
    return out;
  }, a);
}

/// Arrays to load a table from: the default build's array, halved.
std::vector<cat::Value> table_candidates(const cat::EntryInfo& e, const cat::FieldInfo& f, const cat::Built& base) {
  std::vector<cat::Value> out;
  for (const auto& t : e.tables) {
    if (t.field != f.name) continue;
    if (f.type == cat::FieldType::tensor_list) {
      std::vector<Tensor> list;
      for (std::size_t a = 0; const cat::Array* arr = base.array("table_" + std::to_string(a)); ++a) list.push_back(half<float>(*arr));
      out.push_back(list);
    } else if (const cat::Array* arr = base.array(t.array)) {
      if (f.type == cat::FieldType::tensor) out.push_back(half<float>(*arr));
      if (f.type == cat::FieldType::real_list) {
        const Tensor h = half<float>(*arr);
        out.push_back(std::vector<double>(h.begin(), h.end()));
      }
    }
  }
  return out;
}

std::vector<cat::Value> special_candidates(const std::string& entry, const std::string& field, const fs::path& tmp,
                                           const cat::Built& base) {
  if (field == "points") return {DTensor{{0.0, 10.0}, {30.0, -20.0}, {-120.0, 45.0}, {170.0, 89.0}, {-179.0, -60.0}}};
  if (field == "valid") {
    ITensor v = xt::ones<std::int64_t>({14, 14});
    xt::view(v, xt::all(), 12) = 0;
    return {v};
  }
  if (field == "edges") {
    ITensor e = ITensor::from_shape({12, 2});
    for (std::int64_t i = 0; i < 12; ++i) e(i, 0) = i, e(i, 1) = (i + 1) % 12;
    return {e};
  }
  if (field == "weights" && entry != "continuous_mlp" && entry != "learned_fourier")
    return {std::vector<double>(14, 2.0)};  // the example graph's 14 edges
  if (field == "weights") {  // a directory of .npy files named as the arrays
    const fs::path dir = tmp / (entry + "_weights");
    fs::create_directories(dir);
    for (const auto& [stem, a] : base.arrays)
      if (const auto* t = std::get_if<Tensor>(&a); t && stem != "input_add") save_npy((dir / (stem + ".npy")).string(), *t);
    return {dir.string()};
  }
  if (field == "edge_features") return {ITensor(xt::ones<std::int64_t>({14, 2}))};
  if (field == "segments") return {std::string("text:2,image:1x2x2,video:2x2x2@0.5,text:1")};
  if (field == "values") {
    DTensor m = DTensor::from_shape({40, 4});
    for (std::size_t r = 0; r < 40; ++r)
      for (std::size_t c = 0; c < 4; ++c) m(r, c) = std::sin(0.3 * r * (c + 1)) + (c == 1 ? m(r, 0) : 0.0);
    return {m};
  }
  if (field == "csv") {
    const fs::path p = tmp / "table.csv";
    std::ofstream f(p);
    f << "a,b,c,d\n";
    for (int r = 0; r < 30; ++r) f << r << "," << r * r % 7 << "," << std::sin(r) << "," << (r % 2 ? "x" : "y") << "\n";
    return {p.string()};
  }
  if (field == "drop") return {std::string("x4")};
  if (field == "source_grid") return {std::string("without_poles")};
  return {};
}

std::vector<cat::Value> generic_candidates(const cat::FieldInfo& f) {
  std::vector<cat::Value> out;
  const auto& d = f.default_value;
  switch (f.type) {
    case cat::FieldType::boolean: out.push_back(d ? !std::get<bool>(*d) : true); break;
    case cat::FieldType::integer: {
      const std::int64_t v = d ? std::get<std::int64_t>(*d) : 0;
      for (std::int64_t c : {v * 2, v / 2, v + 4, v - 4, v + 1, v - 1, std::int64_t{8}, std::int64_t{4}, std::int64_t{2},
                             std::int64_t{12}, std::int64_t{1}, std::int64_t{3}, std::int64_t{32}})
        if (c != v) out.push_back(c);
      break;
    }
    case cat::FieldType::real: {
      const double v = d ? std::get<double>(*d) : 0.0;
      for (double c : {v * 0.5, v * 2, v + 1, 0.5, 2.0, 1.5})
        if (c != v) out.push_back(c);
      break;
    }
    case cat::FieldType::choice:
      for (const auto& c : f.choices)
        if (!d || c != std::get<std::string>(*d)) out.push_back(c);
      break;
    case cat::FieldType::integer_list: {
      std::vector<std::int64_t> v = d ? std::get<std::vector<std::int64_t>>(*d) : std::vector<std::int64_t>{};
      if (v.size() > 1) {
        std::vector<std::int64_t> r(v.rbegin(), v.rend());
        out.push_back(r);
        std::rotate(v.begin(), v.begin() + 1, v.end());
        out.push_back(v);
      }
      out.push_back(std::vector<std::int64_t>{10, 11, 11});
      out.push_back(std::vector<std::int64_t>{128, 64});
      break;
    }
    case cat::FieldType::real_list: out.push_back(std::vector<double>(32, 1.0)); break;
    default: break;
  }
  return out;
}

/// Fields that only change together with another (the library checks them against each other).
cat::Values companions(const std::string& entry, const std::string& field, const cat::Value& v) {
  cat::Values out;
  if (entry == "fourier_features" && (field == "ref_height" || field == "ref_width"))
    out[field == "ref_height" ? "ref_width" : "ref_height"] = std::int64_t{16};
  if (entry == "timesformer" && (field == "source_height" || field == "source_width"))
    out[field == "source_height" ? "source_width" : "source_height"] = v;  // a square source grid
  if (entry == "relative_bias_2d" && field == "class_token") out["prefix_tokens"] = std::int64_t{1};
  if (entry == "relative_bias_2d" && field == "prefix_tokens") out["class_token"] = true;
  if (entry == "mrope" && field == "head_dim") out["mrope_section"] = std::vector<std::int64_t>{8, 12, 12};
  return out;
}

TEST(Catalogue, EveryFieldAcceptsAChangedValue) {
  const fs::path tmp = fs::temp_directory_path() / "posenc_catalogue_fields";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  for (const auto& e : cat::entries()) {
    const cat::Built base = cat::build(e.name);
    for (const auto& f : e.fields) {
      SCOPED_TRACE(e.name + "." + f.name);
      std::vector<cat::Value> candidates = table_candidates(e, f, base);
      for (auto& v : special_candidates(e.name, f.name, tmp, base)) candidates.push_back(v);
      if (candidates.empty()) candidates = generic_candidates(f);
      std::string errors;
      bool built = false;
      for (const auto& v : candidates) {
        try {
          cat::Values values = companions(e.name, f.name, v);
          values[f.name] = v;
          const cat::Built b = cat::build(e.name, cat::check(e.name, values));
          expect_sane(e.name, b);
          built = true;
          break;
        } catch (const std::invalid_argument& ex) {
          errors += std::string(" | ") + cat::value_text(v) + ": " + ex.what();
        }
      }
      EXPECT_TRUE(built) << e.name << "." << f.name << " has no valid changed value:" << errors;
    }
  }
  fs::remove_all(tmp);
}

// ---------------------------------------------------------------------- defaults

void expect_same(const cat::Built& a, const cat::Built& b, const std::string& what) {
  ASSERT_EQ(a.arrays.size(), b.arrays.size()) << what;
  for (std::size_t i = 0; i < a.arrays.size(); ++i) {
    EXPECT_EQ(a.arrays[i].first, b.arrays[i].first) << what;
    const bool same = std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          const auto* y = std::get_if<T>(&b.arrays[i].second);
          return y && x.shape() == y->shape() && std::equal(x.begin(), x.end(), y->begin(), [](auto p, auto q) {
                   return p == q || (std::isnan(static_cast<double>(p)) && std::isnan(static_cast<double>(q)));
                 });
        },
        a.arrays[i].second);
    EXPECT_TRUE(same) << what << ": " << a.arrays[i].first;
  }
}

TEST(Catalogue, DefaultsAreTheOptionStructs) {
  for (const auto& e : cat::entries()) {
    cat::Values explicit_defaults;
    for (const auto& f : e.fields)
      if (f.default_value) explicit_defaults[f.name] = *f.default_value;
    expect_same(cat::build(e.name), cat::build(e.name, explicit_defaults), e.name);
  }
  // Values read from the structs themselves.
  const RopeOptions rope{};
  const auto& r = cat::describe("rope");
  EXPECT_EQ(std::get<double>(*r.field("beta_fast")->default_value), rope.beta_fast);
  EXPECT_EQ(std::get<double>(*r.field("high_freq_factor")->default_value), rope.high_freq_factor);
  EXPECT_EQ(std::get<bool>(*r.field("truncate")->default_value), rope.truncate);
  EXPECT_EQ(std::get<std::string>(*r.field("layout")->default_value), cat::enum_name(rope.layout));
  EXPECT_FALSE(r.field("attention_factor")->default_value.has_value());
  EXPECT_EQ(std::get<std::int64_t>(*cat::describe("t5").field("num_buckets")->default_value), T5Options{}.num_buckets);
  EXPECT_EQ(std::get<std::vector<std::int64_t>>(*cat::describe("mrope").field("mrope_section")->default_value),
            MropeOptions{}.mrope_section);
  // Only members the structs leave required get a catalogue value, and describe() says so.
  const std::set<std::string> preset = {"sinusoidal.dim", "alibi.heads", "rope.head_dim", "xpos.head_dim",
                                        "transformer_xl.d_model", "transformer_xl.heads", "transformer_xl.head_dim",
                                        "tener.heads", "tener.head_dim", "continuous_mlp.dim", "learned_fourier.dim",
                                        "sincos_2d.dim", "sincos_2d.height", "sincos_2d.width", "detr_sine.height",
                                        "detr_sine.width", "rope_2d.head_dim", "fourier_features.height",
                                        "fourier_features.width", "sincos_3d.dim", "rope_3d.head_dim",
                                        "spectrogram_sincos.frequency_dim", "spectrogram_sincos.time_dim",
                                        "spectrogram_rope.frequency_dim", "spectrogram_rope.time_dim", "sphere_rope.head_dim"};
  for (const auto& e : cat::entries())
    for (const auto& f : e.fields)
      EXPECT_EQ(f.struct_default.has_value(), preset.count(e.name + "." + f.name) == 1) << e.name << "." << f.name;
  EXPECT_EQ(*cat::describe("rope").field("head_dim")->struct_default, "0");
  const std::string help = cat::help_text("rope");
  EXPECT_NE(help.find("--beta_fast real number [32]"), std::string::npos) << help;
  EXPECT_NE(help.find("default|linear|ntk|dynamic|yarn|longrope|llama3"), std::string::npos) << help;
}

// ---------------------------------------------------------------------- enum tables

template <class E>
void round_trip(const char* what) {
  std::set<std::string> names;
  for (const auto& n : cat::enum_table<E>()) {
    EXPECT_TRUE(names.insert(n.name).second) << what << " duplicate " << n.name;
    EXPECT_EQ(cat::enum_value<E>(n.name, what), n.value) << what << " " << n.name;
    EXPECT_EQ(cat::enum_name(n.value), n.name) << what;
    EXPECT_EQ(cat::enum_value<E>(n.name, what), cat::enum_value<E>(cat::enum_name(n.value), what));
    for (const auto& a : n.aliases) EXPECT_EQ(cat::enum_value<E>(a, what), n.value) << what << " alias " << a;
  }
  EXPECT_THROW(cat::enum_value<E>("no_such_value", what), std::invalid_argument);
}

TEST(Catalogue, EnumTablesRoundTrip) {
#define POSENC_ROUND_TRIP(E) round_trip<E>(#E);
  POSENC_CATALOGUE_ENUMS(POSENC_ROUND_TRIP)
#undef POSENC_ROUND_TRIP
  EXPECT_EQ(cat::enum_value<RopeScaling>("Dynamic-NTK", "x"), RopeScaling::dynamic);
  EXPECT_EQ(cat::enum_value<PairLayout>("gptj", "x"), PairLayout::interleaved);
}

// ---------------------------------------------------------------------- errors

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Catalogue, ParsingAndErrors) {
  const cat::Values v = cat::parse("rope", {{"beta-fast", "16"}, {"ROPE_TYPE", "yarn"}, {"truncate", "no"},
                                            {"short_factor", "1,2.5"}, {"layout", "gptj"}});
  EXPECT_EQ(std::get<double>(v.at("beta_fast")), 16.0);
  EXPECT_EQ(std::get<std::string>(v.at("rope_type")), "yarn");
  EXPECT_EQ(std::get<std::string>(v.at("layout")), "interleaved");
  EXPECT_FALSE(std::get<bool>(v.at("truncate")));
  EXPECT_EQ(std::get<std::vector<double>>(v.at("short_factor")), (std::vector<double>{1.0, 2.5}));
  for (const char* t : {"true", "1", "yes", "TRUE"}) EXPECT_TRUE(std::get<bool>(cat::parse("alibi", {{"causal", t}}).at("causal")));
  for (const char* f : {"false", "0", "no"}) EXPECT_FALSE(std::get<bool>(cat::parse("alibi", {{"causal", f}}).at("causal")));

  std::string m = error_of([] { cat::describe("rop"); });
  EXPECT_NE(m.find("did you mean 'rope'"), std::string::npos) << m;
  m = error_of([] { cat::parse("rope", {{"beta_fsat", "1"}}); });
  EXPECT_NE(m.find("rope: unknown field 'beta_fsat'; did you mean 'beta_fast'"), std::string::npos) << m;
  m = error_of([] { cat::parse("rope", {{"head_dim", "6x"}}); });
  EXPECT_EQ(m, "rope: field 'head_dim' expects integer, got '6x'");
  m = error_of([] { cat::parse("rope", {{"base", "inf"}}); });
  EXPECT_EQ(m, "rope: field 'base' expects real number, got 'inf'");
  m = error_of([] { cat::parse("alibi", {{"causal", "maybe"}}); });
  EXPECT_EQ(m, "alibi: field 'causal' expects boolean (true/false), got 'maybe'");
  m = error_of([] { cat::parse("rope", {{"rope_type", "yarnn"}}); });
  EXPECT_NE(m.find("rope: field 'rope_type' expects one of default|linear|ntk|dynamic|yarn|longrope|llama3, got 'yarnn'"),
            std::string::npos) << m;
  EXPECT_NE(m.find("did you mean 'yarn'"), std::string::npos) << m;
  m = error_of([] { cat::parse("mrope", {{"mrope_section", "16,2x"}}); });
  EXPECT_NE(m.find("mrope: field 'mrope_section' expects list of integers"), std::string::npos) << m;
  // Typed values (Python): integers for reals, strings parsed, wrong types refused.
  EXPECT_EQ(std::get<double>(cat::check("rope", {{"factor", std::int64_t{4}}}).at("factor")), 4.0);
  EXPECT_EQ(std::get<std::int64_t>(cat::check("rope", {{"head_dim", std::string("32")}}).at("head_dim")), 32);
  m = error_of([] { cat::check("rope", {{"head_dim", 3.5}}); });
  EXPECT_EQ(m, "rope: field 'head_dim' expects integer, got '3.5'");
  m = error_of([] { cat::check("t5", {{"table", std::vector<double>{1, 2}}}); });
  EXPECT_NE(m.find("t5: field 'table' expects float32 array"), std::string::npos) << m;
  // Library errors pass through with the builder's name.
  m = error_of([] { cat::build("rope", cat::parse("rope", {{"head_dim", "7"}})); });
  EXPECT_NE(m.find("rope"), std::string::npos) << m;
  // Implied values sit between the defaults and the given values.
  cat::Context c;
  c.implied["tokens"] = std::int64_t{5};
  EXPECT_EQ(cat::build("alibi", {}, c).tokens, 5u);
  EXPECT_EQ(cat::build("alibi", cat::parse("alibi", {{"tokens", "7"}}), c).tokens, 7u);
}

TEST(Catalogue, GraphEncodingsByName) {
  std::vector<GraphEdge> edges;
  for (std::int64_t i = 0; i < 10; ++i) edges.push_back({i, (i + 1) % 10, 1.0});
  const Graph g(10, edges);
  const auto out = cat::graph_encodings(g, {"spd", "degree:kind=in", "pagerank:alpha=0.9", "lap:k=4:kind=rw", "rwse:steps=5"});
  std::vector<std::string> names;
  for (const auto& [n, a] : out) names.push_back(n);
  EXPECT_EQ(names, (std::vector<std::string>{"spd", "degree_in", "pagerank", "lap", "lap_eigenvalues", "rwse"}));
  EXPECT_EQ(std::get<Tensor>(out[3].second).shape()[1], 4u);
  std::string m = error_of([&] { cat::graph_encodings(g, {"pagrank"}); });
  EXPECT_NE(m.find("did you mean 'pagerank'"), std::string::npos) << m;
  m = error_of([&] { cat::graph_encodings(g, {"lap:kk=3"}); });
  EXPECT_NE(m.find("did you mean 'k'"), std::string::npos) << m;
  m = error_of([&] { cat::graph_encodings(g, {"lap:kind=sideways"}); });
  EXPECT_NE(m.find("expects one of sym|rw|comb"), std::string::npos) << m;
}

// ---------------------------------------------------------------------- against `posenc encode`

#ifdef POSENC_CLI_PATH
template <class T>
void expect_file_equals(const fs::path& file, const xt::xarray<T>& a, const std::string& what) {
  ASSERT_TRUE(fs::exists(file)) << what << ": " << file;
  xt::xarray<T> f;
  if constexpr (std::is_same_v<T, float>) f = load_npy(file.string());
  else if constexpr (std::is_same_v<T, double>) f = load_npy_double(file.string());
  else f = load_npy_int(file.string());
  ASSERT_EQ(f.shape(), a.shape()) << what;
  EXPECT_TRUE(std::equal(f.begin(), f.end(), a.begin())) << what;
}

TEST(Catalogue, AgreesWithTheCommandLine) {
  const fs::path dir = fs::temp_directory_path() / "posenc_catalogue_cli";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::vector<std::pair<std::string, std::map<std::string, std::string>>> sample = {
      {"sinusoidal", {{"dim", "33"}, {"exponent", "t2t"}}},
      {"rope", {{"rope_type", "yarn"}, {"factor", "4"}, {"original_max_position_embeddings", "8"}, {"tokens", "40"}}},
      {"alibi", {{"heads", "12"}, {"causal", "false"}, {"tokens", "9"}, {"query_tokens", "3"}}},
      {"t5", {{"bidirectional", "false"}, {"tokens", "20"}, {"seed", "3"}}},
      {"shaw", {{"clip", "4"}, {"per_head", "true"}, {"head_dim", "8"}}},
      {"transformer_xl", {{"d_model", "16"}, {"heads", "2"}, {"head_dim", "4"}}},
      {"sincos_2d", {{"layout", "timm"}, {"height", "5"}, {"width", "7"}, {"dim", "16"}}},
      {"rope_2d", {{"layout", "qwen2vl"}, {"height", "3"}, {"width", "4"}}},
      {"relative_bias_2d", {{"height", "3"}, {"width", "4"}, {"heads", "2"}}},
      {"sincos_3d", {{"frames", "2"}, {"height", "3"}, {"width", "4"}, {"dim", "24"}}},
      {"mrope", {{"segments", "text:2,video:2x4x4@1,text:3"}}},
      {"spectrogram_sincos", {{"frames", "200"}}},
      {"sphere_features", {{"variant", "sphere_m"}, {"nlat", "5"}, {"nlon", "8"}}},
      {"geodesic_bias", {{"nlat", "4"}, {"nlon", "6"}, {"num_buckets", "8"}}},
      {"timesformer", {{"frames", "3"}, {"height", "2"}, {"width", "2"}, {"dim", "8"}}},
  };
  for (const auto& [name, args] : sample) {
    SCOPED_TRACE(name);
    const fs::path out = dir / name;
    std::string cmd = std::string("'") + POSENC_CLI_PATH + "' encode " + name + " --out '" + out.string() + "'";
    for (const auto& [k, v] : args) cmd += " --" + k + " '" + v + "'";
    ASSERT_EQ(std::system((cmd + " >/dev/null 2>&1").c_str()), 0) << cmd;
    const cat::Built b = cat::build(name, cat::parse(name, args));
    for (const auto& [stem, a] : b.arrays)
      std::visit([&, s = stem](const auto& t) { expect_file_equals(out / (s + ".npy"), t, name + "/" + s); }, a);
  }
  fs::remove_all(dir);
}
#endif

}  // namespace
}  // namespace posenc
