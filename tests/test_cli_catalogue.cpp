// The command line reads the catalogue: every entry through `posenc encode` with its defaults and
// with a changed value for each field equals the library's build of the same values; --help
// shows every field with its type and default (read from the option structs); booleans parse
// the same in every form; attend's causal rule; mistyped names get the closest suggestion; sphere
// points from CSV; report.json describes every file written.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numbers>

#include <nlohmann/json.hpp>

#include "posenc/attention.hpp"
#include "posenc/catalogue.hpp"
#include "posenc/npy.hpp"
#include "posenc/relative.hpp"
#include "posenc/sphere.hpp"
#include "posenc/text.hpp"
#include "support/catalogue_values.hpp"
#include "support/cli.hpp"
#include "support/helpers.hpp"

#ifdef POSENC_CLI_PATH

namespace posenc {
namespace {

namespace fs = std::filesystem;
namespace cat = catalogue;
using test::CliRun;

std::string flag(std::string name) {
  std::replace(name.begin(), name.end(), '_', '-');
  return "--" + name;
}

class CliCatalogue : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::fresh_test_dir("posenc_cli_cat_"); }
  void TearDown() override { fs::remove_all(dir_); }
  CliRun run(const std::string& args) { return test::run_in(dir_, std::string("'") + POSENC_CLI_PATH + "' " + args); }
  void expect_error(const std::string& args, const std::string& fragment) {
    const CliRun r = run(args);
    EXPECT_NE(r.code, 0) << args;
    EXPECT_NE(r.err.find(fragment), std::string::npos) << args << "\nstderr: " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line expected: " << r.err;
  }
  void save(const std::string& name, const Tensor& t) { save_npy((dir_ / name).string(), t); }
  fs::path dir_;
};

// ---------------------------------------------------------------------- every entry, every field

/// A value as command-line text: scalars and lists as written, arrays saved as .npy in `dir`.
std::string as_text(const cat::Value& v, const fs::path& dir, const std::string& stem) {
  if (const auto* t = std::get_if<Tensor>(&v)) return save_npy((dir / (stem + ".npy")).string(), *t), stem + ".npy";
  if (const auto* t = std::get_if<DTensor>(&v)) return save_npy((dir / (stem + ".npy")).string(), *t), stem + ".npy";
  if (const auto* t = std::get_if<ITensor>(&v)) return save_npy((dir / (stem + ".npy")).string(), *t), stem + ".npy";
  if (const auto* l = std::get_if<std::vector<Tensor>>(&v)) {
    std::string s;
    for (std::size_t i = 0; i < l->size(); ++i) {
      const std::string f = stem + "_" + std::to_string(i) + ".npy";
      save_npy((dir / f).string(), (*l)[i]);
      s += (s.empty() ? "" : ",") + f;
    }
    return s;
  }
  return cat::value_text(v);
}

template <class T>
void expect_catalogue_file_equals(const fs::path& file, const xt::xarray<T>& want, const std::string& what) {
  ASSERT_TRUE(fs::exists(file)) << what;
  xt::xarray<T> got;
  if constexpr (std::is_same_v<T, float>) got = load_npy(file.string());
  else if constexpr (std::is_same_v<T, double>) got = load_npy_double(file.string());
  else got = load_npy_int(file.string());
  ASSERT_EQ(got.shape(), want.shape()) << what;
  EXPECT_TRUE(std::equal(got.begin(), got.end(), want.begin(), [](T a, T b) {
    return a == b || (std::isnan(static_cast<double>(a)) && std::isnan(static_cast<double>(b)));
  })) << what;
}

class EveryEntry : public ::testing::TestWithParam<std::string> {};

/// `posenc encode NAME` with `values` (written as text) equals cat::build(NAME, values), file by file.
void expect_encode_matches(const fs::path& dir, const std::string& name, const cat::Values& values, const std::string& what) {
  const fs::path out = dir / "out";
  fs::remove_all(out);
  std::string args = "encode " + name + " --out out";
  for (const auto& [k, v] : values)  // appends: GCC 12 misreads "literal" + std::string&& (-Wstringop-overflow)
    args.append(" ").append(flag(k)).append(" '").append(as_text(v, dir, "value_" + k)).append("'");
  const CliRun r = test::run_in(dir, std::string("'") + POSENC_CLI_PATH + "' " + args);
  ASSERT_EQ(r.code, 0) << what << ": " << args << "\n" << r.err;
  const cat::Built want = cat::build(name, values);
  for (const auto& [stem, a] : want.arrays)
    std::visit([&, s = stem](const auto& t) { expect_catalogue_file_equals(out / (s + ".npy"), t, what + " " + s); }, a);
}

TEST_P(EveryEntry, EncodeWithDefaultsAndAChangedValuePerFieldMatchesTheLibrary) {
  const std::string name = GetParam();
  const fs::path dir = test::fresh_test_dir("posenc_cli_every_" + name + "_");
  const cat::EntryInfo& e = cat::describe(name);
  expect_encode_matches(dir, name, {}, name + " defaults");
  const cat::Built base = cat::build(name);
  for (const auto& f : e.fields) {
    std::vector<cat::Value> candidates = test::table_candidates(e, f, base);
    for (auto& v : test::special_candidates(name, f.name, dir, base)) candidates.push_back(v);
    if (candidates.empty()) candidates = test::generic_candidates(f);
    bool tried = false;
    for (const auto& v : candidates) {  // the first value the library accepts
      cat::Values values = test::companions(name, f.name, v);
      values[f.name] = v;
      try {
        cat::build(name, cat::check(name, values));
      } catch (const std::invalid_argument&) {
        continue;
      }
      expect_encode_matches(dir, name, cat::check(name, values), name + "." + f.name + " = " + cat::value_text(v));
      tried = true;
      break;
    }
    EXPECT_TRUE(tried) << name << "." << f.name << ": no changed value";
  }
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Cli, EveryEntry, ::testing::ValuesIn(cat::names()),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

// ---------------------------------------------------------------------- help

TEST_F(CliCatalogue, EncodeHelpShowsEveryFieldWithTypeAndDefault) {
  for (const auto& e : cat::entries()) {
    const CliRun r = run("encode " + e.name + " --help");
    ASSERT_EQ(r.code, 0) << e.name << r.err;
    EXPECT_NE(r.out.find(e.summary), std::string::npos) << e.name;
    for (const auto& f : e.fields) {
      const std::string line = flag(f.name) + "  ";
      const auto at = r.out.find(line);
      ASSERT_NE(at, std::string::npos) << e.name << ": " << line;
      const std::string rest = r.out.substr(at, r.out.find('\n', r.out.find('\n', at) + 1) - at);
      EXPECT_NE(rest.find("default " + f.default_text), std::string::npos) << e.name << ": " << rest;
      EXPECT_NE(rest.find(f.help), std::string::npos) << e.name << ": " << rest;
    }
  }
  // The struct's own default is shown next to the catalogue's (RopeOptions::head_dim = 0).
  EXPECT_NE(run("encode rope --help").out.find("--head-dim  integer  default 64 (the option struct's: 0)"), std::string::npos);
}

TEST_F(CliCatalogue, CommandHelpListsEveryOption) {
  const std::map<std::string, std::vector<std::string>> options = {
      {"encode", {"--out", "--force", "Encoding parameters"}},
      {"apply", {"--input", "--out", "--side"}},
      {"attend", {"--q", "--k", "--v", "--out", "--encoding", "--causal", "--key-lengths", "--scale", "--threads",
                  "--weights", "--reference", "--grad-output", "--grads", "--force", "--encoding-v"}},
      {"list", {"--verbose"}}};
  for (const auto& [cmd, want] : options) {
    const CliRun r = run(cmd + " --help");
    EXPECT_EQ(r.code, 0) << cmd;
    for (const auto& o : want) EXPECT_NE(r.out.find(o), std::string::npos) << cmd << " " << o;
  }
  const CliRun r = run("attend --encoding transformer_xl --help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("--encoding-v  float32 array"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("--tokens"), std::string::npos) << "attend takes tokens from --q and --k";
  EXPECT_NE(run("attend --encoding alibi --help").out.find("--causal X sets both the mask"), std::string::npos);
}

// ---------------------------------------------------------------------- booleans and the causal rule

TEST_F(CliCatalogue, BooleansParseTheSameInEveryForm) {
  // ALiBi's relation is |i - j| when symmetric (causal false), i - j when causal.
  const ITensor symmetric = xt::abs(xt::view(xt::arange<std::int64_t>(5), xt::newaxis(), xt::all()) -
                                    xt::view(xt::arange<std::int64_t>(5), xt::all(), xt::newaxis()));
  for (const char* form : {"--causal false", "--causal=false", "--causal 0", "--causal no", "--causal=off", "--causal FALSE"}) {
    SCOPED_TRACE(form);
    fs::remove_all(dir_ / "a");
    ASSERT_EQ(run(std::string("encode alibi --out a --tokens 5 ") + form).code, 0);
    EXPECT_EQ(test::max_abs_diff(load_npy_int((dir_ / "a" / "relation.npy").string()), symmetric), 0.0);
  }
  for (const char* form : {"--causal", "--causal true", "--causal=1", "--causal yes"}) {
    SCOPED_TRACE(form);
    fs::remove_all(dir_ / "a");
    ASSERT_EQ(run(std::string("encode alibi --out a --tokens 5 ") + form + " --heads 2").code, 0);
    const ITensor rel = load_npy_int((dir_ / "a" / "relation.npy").string());
    EXPECT_EQ(rel(4, 1), 3);  // i - j
    EXPECT_EQ(rel(1, 4), -3);
  }
  expect_error("encode alibi --out a2 --causal maybe", "'causal' expects boolean");
  // Command flags take the same words.
  ASSERT_EQ(run("encode alibi --out a --force yes").code, 0);
  expect_error("encode alibi --out a --force no", "--force");
}

TEST_F(CliCatalogue, AttendCausalFollowsOneRule) {
  const Tensor q = test::random_tensor({1, 2, 6, 4}, 31), k = test::random_tensor({1, 2, 6, 4}, 32);
  save("q.npy", q);
  save("k.npy", k);
  const DTensor pos = test::positions(6);
  AttentionOptions masked;
  masked.mask.causal = true;
  const Encoding causal_alibi = alibi(pos, pos, AlibiOptions{.heads = 2});
  const Encoding symmetric_alibi = alibi(pos, pos, AlibiOptions{.heads = 2, .causal = false});
  const std::vector<std::tuple<std::string, Encoding, AttentionOptions>> cases = {
      {"--encoding alibi", causal_alibi, masked},                                  // the field's default: causal
      {"--encoding alibi --causal", causal_alibi, masked},
      {"--encoding alibi --causal false", symmetric_alibi, {}},                   // symmetric ALiBi, no mask
      {"--encoding alibi --causal=no", symmetric_alibi, {}},
      {"--encoding alibi --causal --encoding-causal false", symmetric_alibi, masked},
      {"--encoding t5 --heads 2 --causal 1", t5_bias(pos, pos, t5_table_init(2, 32, 0.02, 0), {}), masked},
      {"--encoding t5 --heads 2 --causal false", t5_bias(pos, pos, t5_table_init(2, 32, 0.02, 0), {}), {}},
      {"--encoding t5 --heads 2", t5_bias(pos, pos, t5_table_init(2, 32, 0.02, 0), {}), {}},
  };
  for (const auto& [args, enc, o] : cases) {
    SCOPED_TRACE(args);
    fs::remove(dir_ / "o.npy");
    const CliRun r = run("attend --q q.npy --k k.npy --v k.npy --out o.npy " + args);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_LT(test::max_abs_diff(load_npy((dir_ / "o.npy").string()), attention_reference(q, k, k, enc, o)), 1e-5);
  }
}

TEST_F(CliCatalogue, AttendTakesTableVAsEncodingV) {
  const Tensor q = test::random_tensor({1, 2, 5, 4}, 41), k = test::random_tensor({1, 2, 5, 4}, 42),
               v = test::random_tensor({1, 2, 5, 3}, 43);
  save("q.npy", q);
  save("k.npy", k);
  save("v.npy", v);
  const TransformerXLOptions opt{.d_model = 6, .heads = 2, .head_dim = 4};
  TransformerXLParams w = transformer_xl_init(opt, 0.02, 0);
  w.v = test::random_tensor({2, 4}, 44, 0.5);
  save("vt.npy", w.v);
  const CliRun r = run("attend --q q.npy --k k.npy --v v.npy --out o.npy --encoding transformer_xl --d-model 6 "
                       "--encoding-v vt.npy");
  ASSERT_EQ(r.code, 0) << r.err;
  const DTensor pos = test::positions(5);
  EXPECT_LT(test::max_abs_diff(load_npy((dir_ / "o.npy").string()), attention(q, k, v, transformer_xl(pos, pos, w, opt))), 1e-6);
}

// ---------------------------------------------------------------------- suggestions and messages

TEST_F(CliCatalogue, MistypedNamesGetTheClosestSuggestion) {
  expect_error("encode rope --out x --rope_scaling yarn", "did you mean '--rope-type'?");
  expect_error("encode rope --out x --scaling yarn", "did you mean '--rope-type'?");
  expect_error("encode rope --out x --rope-typ yarn", "did you mean '--rope-type'?");
  expect_error("encode rope --out x --rope-type yarnn", "did you mean 'yarn'?");
  expect_error("encode t5 --out x --num-bucket 8", "did you mean '--num-buckets'?");
  expect_error("encode ropee --out x", "did you mean 'rope'?");
  save("q.npy", test::random_tensor({1, 1, 3, 4}, 1));
  expect_error("attend --q q.npy --k q.npy --v q.npy --out o.npy --causl", "did you mean '--causal'?");
  expect_error("encode sinusoidal --out x --tokens -5", "'tokens' must be >= 1, got -5");
  expect_error("encode sinusoidal --out x --offset 1e308", "'offset' 1e308");
  EXPECT_FALSE(fs::exists(dir_ / "x"));
}

// ---------------------------------------------------------------------- sphere points

TEST_F(CliCatalogue, SpherePointsFromCsvWithNamedColumns) {
  const std::vector<std::pair<double, double>> lat_lon = {{48.85, 2.35}, {-33.9, 151.2}, {90, 0}, {0, -179.5}};
  DTensor lon_lat = DTensor::from_shape({4, 2});
  {
    std::ofstream deg(dir_ / "deg.csv"), rad(dir_ / "rad.csv"), named(dir_ / "named.csv");
    deg << "name,lat,lon\n";
    rad << "longitude,latitude\n";
    named << "y,x\n";
    for (std::size_t i = 0; i < lat_lon.size(); ++i) {
      const auto [la, lo] = lat_lon[i];
      lon_lat(i, 0) = lo, lon_lat(i, 1) = la;
      deg << "p" << i << "," << la << "," << lo << "\n";
      rad.precision(17);
      rad << lo * std::numbers::pi / 180 << "," << la * std::numbers::pi / 180 << "\n";
      named << la << "," << lo << "\n";
    }
  }
  const Tensor want = spherical_harmonics(lon_lat, {.degree = 3});  // the library on (lon, lat) degrees
  for (const char* args : {"--points deg.csv", "--points rad.csv --radians", "--points named.csv --lat-column y --lon-column x"}) {
    SCOPED_TRACE(args);
    fs::remove_all(dir_ / "sh");
    const CliRun r = run(std::string("encode spherical_harmonics --out sh --degree 3 ") + args);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_LT(test::max_abs_diff(load_npy((dir_ / "sh" / "input_concat.npy").string()), want), 1e-6);
  }
  // Errors state the (lon, lat) order.
  {
    std::ofstream bad(dir_ / "bad.csv");
    bad << "lat,lon\n95,10\n";
  }
  expect_error("encode spherical_harmonics --out x --points bad.csv", "latitude 95 is outside [-90, 90]");
  expect_error("encode spherical_harmonics --out x --points named.csv", "has no column named lat");
  DTensor swapped = DTensor::from_shape({2, 2});
  swapped(0, 0) = 45, swapped(0, 1) = 120, swapped(1, 0) = -10, swapped(1, 1) = -100;  // (lat, lon) by mistake
  save_npy((dir_ / "swapped.npy").string(), swapped);
  expect_error("encode geodesic_alibi --out x --points swapped.npy", "the columns look swapped");
  expect_error("encode geodesic_alibi --out x --points swapped.npy", "(longitude, latitude)");
  expect_error("encode geodesic_alibi --out x --lat-column y", "give --points");
  EXPECT_FALSE(fs::exists(dir_ / "x"));
}

// ---------------------------------------------------------------------- report.json

TEST_F(CliCatalogue, ReportListsEveryFileWithShapeDtypeAndAxes) {
  for (const char* args : {"rope --tokens 7", "t5 --tokens 5", "sincos_2d --height 3 --width 4 --dim 8", "shaw --head-dim 4"}) {
    SCOPED_TRACE(args);
    fs::remove_all(dir_ / "e");
    ASSERT_EQ(run(std::string("encode ") + args + " --out e").code, 0);
    std::ifstream f(dir_ / "e" / "report.json");
    const nlohmann::json j = nlohmann::json::parse(f);
    std::size_t npy = 0;
    for (const auto& entry : fs::directory_iterator(dir_ / "e")) {
      const std::string file = entry.path().filename().string();
      if (file == "report.json") continue;
      ASSERT_TRUE(j["files"].contains(file)) << file;
      if (entry.path().extension() != ".npy") continue;
      ++npy;
      const DTensor a = load_npy_double(entry.path().string());
      EXPECT_EQ(j["files"][file]["shape"].get<std::vector<std::size_t>>(), std::vector<std::size_t>(a.shape().begin(), a.shape().end()));
      EXPECT_FALSE(j["files"][file]["dtype"].get<std::string>().empty());
      EXPECT_FALSE(j["files"][file]["axes"].empty()) << file;
    }
    EXPECT_EQ(j["files"].size(), npy + 1) << "the .npy files and encoding.json";
  }
}

}  // namespace
}  // namespace posenc

#endif  // POSENC_CLI_PATH
