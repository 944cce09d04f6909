// The catalogue (posenc/catalogue.hpp): every entry builds with its defaults and with a changed
// value for every field; defaults come from the option structs; enum tables round-trip; errors
// name the method, field, type and value; and a sample agrees with `posenc encode`.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <set>

#include "posenc/catalogue.hpp"
#include "posenc/npy.hpp"
#include "posenc/text.hpp"
#include "support/catalogue_values.hpp"
#include "support/helpers.hpp"

namespace posenc {
namespace {

namespace cat = catalogue;
using test::companions;
using test::expect_invalid;
using test::generic_candidates;
using test::special_candidates;
using test::table_candidates;
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

// ---------------------------------------------------------------------- caller buffers

TEST(Catalogue, BuildIntoWritesTheBuiltArrayIntoAReusedBuffer) {
  // Value sets per entry with a caller-buffer form: its defaults and changed values (every
  // sphere_features variant, odd widths, offsets, prefix rows, the other layouts).
  std::map<std::string, std::vector<cat::Values>> sets = {
      {"sinusoidal", {{}, {{"tokens", std::int64_t{37}}, {"offset", 5.0}, {"dim", std::int64_t{33}},
                           {"layout", std::string("blocked")}, {"exponent", std::string("t2t")}}}},
      {"sincos_2d", {{}, {{"height", std::int64_t{3}}, {"width", std::int64_t{5}}, {"dim", std::int64_t{16}},
                          {"layout", std::string("timm")}, {"prefix_tokens", std::int64_t{2}}}}},
      {"detr_sine", {{}, {{"normalize", false}, {"num_pos_feats", std::int64_t{6}}}}},
      {"fourier_features", {{}, {{"in_pixels", false}, {"grid_indexing", std::string("xy")}}}},
      {"sincos_3d", {{}, {{"layout", std::string("positional_encodings")}, {"dim", std::int64_t{24}}}}},
      {"spectrogram_sincos", {{}, {{"frequency_dim", std::int64_t{8}}, {"time_dim", std::int64_t{12}}}}},
      {"spherical_harmonics", {{}, {{"degree", std::int64_t{7}}, {"convention", std::string("colatitude")}}}},
      {"sphere_features", {}}};
  for (const auto& v : cat::describe("sphere_features").field("variant")->choices)
    sets["sphere_features"].push_back({{"variant", v}, {"nlat", std::int64_t{5}}, {"nlon", std::int64_t{8}}});
  std::set<std::string> with_into;
  for (const auto& e : cat::entries())
    if (!e.into.empty()) with_into.insert(e.name);
  std::set<std::string> expected;
  for (const auto& [name, _] : sets) expected.insert(name);
  EXPECT_EQ(with_into, expected);
  for (const auto& [entry, list] : sets) {
    const std::string& name = entry;  // a variable, not a structured binding: lambdas capture it (clang 14)
    for (const auto& values : list) {
      SCOPED_TRACE(name + " with " + std::to_string(values.size()) + " values");
      const cat::Built b = cat::build(name, values);
      const cat::Array* a = b.array(cat::describe(name).into);
      ASSERT_NE(a, nullptr);
      const Tensor& fresh = std::get<Tensor>(*a);
      std::vector<float> buf(fresh.size(), std::numeric_limits<float>::quiet_NaN());
      for (int round = 0; round < 2; ++round) {
        cat::build_into(name, buf, values);
        ASSERT_EQ(std::memcmp(buf.data(), fresh.data(), buf.size() * sizeof(float)), 0) << "round " << round;
        std::fill(buf.begin(), buf.end(), -7.0f);  // stale values in the reused buffer
      }
      std::vector<float> longer(fresh.size() + 1);
      expect_invalid([&] { cat::build_into(name, longer, values); },
                     {"build_into('" + std::string(name) + "'): ", "'out'", std::to_string(fresh.size()),
                      "got " + std::to_string(fresh.size() + 1)});
    }
  }
  std::vector<float> buf(8);
  expect_invalid([&] { cat::build_into("rope", buf); }, {"build_into", "'rope'", "cannot write", "sinusoidal, "});
  // What build() rejects, build_into() rejects (a field that does not size the table included).
  for (const auto& [name, values] : std::vector<std::pair<std::string, cat::Values>>{
           {"sinusoidal", {{"tokens", std::int64_t{2}}, {"query_tokens", std::int64_t{9}}}},
           {"sinusoidal", {{"dim", std::int64_t{0}}}},
           {"sincos_2d", {{"dim", std::int64_t{6}}}},
           {"spherical_harmonics", {{"degree", std::int64_t{-1}}}}}) {
    EXPECT_THROW(cat::build(name, values), std::invalid_argument) << name;
    EXPECT_THROW(cat::build_into(name, buf, values), std::invalid_argument) << name;
  }
  expect_invalid([&] { cat::build_into("sinusoidl", buf); }, {"did you mean 'sinusoidal'"});
}

// ---------------------------------------------------------------------- a changed value per field

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

TEST(Catalogue, GraphSpecsReadTheirDefaultsFromTheLibraryAndCheckValuesFirst) {
  std::vector<GraphEdge> edges;
  for (std::int64_t i = 0; i < 7; ++i) edges.push_back({i, (i + 1) % 7, 1.0 + 0.5 * static_cast<double>(i % 3)});
  edges.push_back({0, 3, 2.0});
  const Graph g(8, edges);  // node 7 is isolated
  const auto specs = cat::parse_graph_specs({"lap", "spd", "pagerank:tol=1e-10:max_iter=1000", "degree:kind=in"});
  const LaplacianPeOptions lap;
  EXPECT_EQ(std::get<std::int64_t>(specs[0].value("k")), lap.k);
  EXPECT_EQ(std::get<std::string>(specs[0].value("kind")), cat::enum_name(lap.kind));
  EXPECT_EQ(std::get<std::string>(specs[0].value("solver")), cat::enum_name(lap.solver));
  EXPECT_EQ(std::get<std::int64_t>(specs[0].value("dense_max_nodes")), lap.dense_max_nodes);
  EXPECT_EQ(std::get<bool>(specs[0].value("pyg")), !lap.drop_per_component);
  EXPECT_EQ(specs[0].files, (std::vector<std::string>{"lap", "lap_eigenvalues"}));
  EXPECT_EQ(std::get<std::int64_t>(specs[1].value("unreachable")), ShortestPathOptions{}.unreachable);
  EXPECT_EQ(std::get<double>(specs[2].value("tol")), 1e-10);
  EXPECT_EQ(std::get<std::int64_t>(specs[2].value("max_iter")), 1000);
  EXPECT_EQ(specs[3].files, (std::vector<std::string>{"degree_in"}));
  // The defaults are the library functions' own: no option gives what a call without arguments gives.
  auto doubles = [](const cat::Array& a) {
    const DTensor& t = std::get<DTensor>(a);
    return std::vector<double>(t.begin(), t.end());
  };
  const auto plain = cat::graph_encodings(g, {"pagerank", "eigenvector", "betweenness", "closeness", "dijkstra"});
  EXPECT_EQ(doubles(plain[0].second), pagerank(g));
  EXPECT_EQ(doubles(plain[1].second), eigenvector_centrality(g));
  EXPECT_EQ(doubles(plain[2].second), betweenness_centrality(g));
  EXPECT_EQ(doubles(plain[3].second), closeness_centrality(g));
  EXPECT_TRUE(std::get<DTensor>(plain[4].second) == shortest_path_lengths(g));
  // Every option of the command line reaches the library.
  const auto tuned = cat::graph_encodings(g, {"pagerank:alpha=0.9:tol=1e-10:max_iter=1000", "dijkstra:unreachable=-1",
                                              "betweenness:normalized=false", "closeness:use_weights=yes"});
  EXPECT_EQ(doubles(tuned[0].second), pagerank(g, 0.9, 1e-10, 1000));
  EXPECT_TRUE(std::get<DTensor>(tuned[1].second) == shortest_path_lengths(g, -1.0));
  EXPECT_EQ(doubles(tuned[2].second), betweenness_centrality(g, false));
  EXPECT_EQ(doubles(tuned[3].second), closeness_centrality(g, true));
  // Values are checked before anything is computed; messages name the caller, spec, option and value.
  EXPECT_EQ(error_of([] { cat::parse_graph_specs({"pagerank:alpha=2"}, "graph"); }),
            "graph: encoding 'pagerank:alpha=2': option 'alpha' must be in [0, 1], got '2'");
  EXPECT_EQ(error_of([] { cat::parse_graph_specs({"rwse:steps=many"}); }),
            "graph_encodings: encoding 'rwse:steps=many': option 'steps' must be an integer, got 'many'");
  std::string m = error_of([] { cat::parse_graph_specs({"eigenvector:tool=1"}); });
  EXPECT_NE(m.find("unknown option 'tool=1'; did you mean 'tol'? (options of eigenvector: tol, max_iter)"),
            std::string::npos) << m;
  m = error_of([&] { cat::graph_encodings(g, {"spd", "spd:max=2"}); });
  EXPECT_NE(m.find("would both write 'spd'"), std::string::npos) << m;
  m = error_of([&] { cat::graph_encodings(g, {"pagerank:tol=1e-15:max_iter=2"}); });
  EXPECT_NE(m.find("raise max_iter (e.g. 'pagerank:tol=1e-15:max_iter=20')"), std::string::npos) << m;
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
      std::visit([&, s = stem, n = name](const auto& t) { expect_file_equals(out / (s + ".npy"), t, n + "/" + s); }, a);
  }
  fs::remove_all(dir);
}
#endif

}  // namespace
}  // namespace posenc
