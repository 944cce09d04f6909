// The posenc command line: outputs agree with the library, errors are one
// line on stderr with a non-zero exit, and failed runs leave no files.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "posenc/attention.hpp"
#include "posenc/graph.hpp"
#include "posenc/image.hpp"
#include "posenc/npy.hpp"
#include "posenc/relative.hpp"
#include "posenc/tabular.hpp"
#include "posenc/spectrogram.hpp"
#include "posenc/sphere.hpp"
#include "posenc/video.hpp"
#include "posenc/text.hpp"
#include "support/cli.hpp"
#include "support/helpers.hpp"

#ifdef POSENC_CLI_PATH

namespace posenc {
namespace {

namespace fs = std::filesystem;

using test::CliRun;

class Cli : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::fresh_test_dir("posenc_cli_"); }
  void TearDown() override { fs::remove_all(dir_); }
  CliRun run(const std::string& args) { return test::run_in(dir_, std::string("'") + POSENC_CLI_PATH + "' " + args); }
  void expect_error(const std::string& args, const std::string& fragment) {
    const CliRun r = run(args);
    EXPECT_NE(r.code, 0) << args;
    EXPECT_NE(r.err.find(fragment), std::string::npos) << "stderr: " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line expected: " << r.err;
  }
  std::size_t file_count() {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::recursive_directory_iterator(dir_)) ++n;
    return n;
  }
  fs::path dir_;
};

TEST_F(Cli, ListShowsEveryEncodingWithDefaults) {
  const CliRun r = run("list");
  EXPECT_EQ(r.code, 0);
  for (const char* name : {"sinusoidal", "learned", "rope", "xpos", "alibi", "t5", "shaw", "transformer_xl", "tener",
                           "huang", "da_transformer", "reformer_axial", "continuous_mlp", "learned_fourier", "learned_2d", "sincos_2d",
                           "detr_sine", "rope_2d", "alibi_2d", "relative_bias_2d", "mrope", "fourier_features", "rope_mixed",
                           "sincos_3d", "videomae", "rope_3d", "timesformer", "spectrogram_sincos", "spectrogram_rope",
                           "ast_table", "sphere_features", "spherical_harmonics", "geodesic_alibi", "geodesic_bias",
                           "sphere_rope", "sphere_table", "nope"})
    EXPECT_NE(r.out.find(std::string(name) + "  —"), std::string::npos) << name;
  EXPECT_NE(r.out.find("--original_max_position_embeddings 0"), std::string::npos);
  EXPECT_NE(r.out.find("--num_buckets 32"), std::string::npos);
}

TEST_F(Cli, EncodeRopeMatchesTheLibrary) {
  const CliRun r = run("encode rope --out r --head-dim 16 --rope_type llama3 --factor 8 "
                    "--original-max-position-embeddings 64 --base 500000 --tokens 10");
  ASSERT_EQ(r.code, 0) << r.err;
  const DTensor inv = load_npy_double((dir_ / "r" / "inv_freq.npy").string());
  const auto want = rope_frequencies({.head_dim = 16, .base = 500000, .scaling = RopeScaling::llama3, .factor = 8,
                                      .original_max_position_embeddings = 64})
                        .inv_freq;
  ASSERT_EQ(inv.size(), want.size());
  for (std::size_t k = 0; k < want.size(); ++k) EXPECT_EQ(inv(k), want[k]);
  const DTensor angles = load_npy_double((dir_ / "r" / "angles.npy").string());
  EXPECT_EQ(angles.shape()[0], 10u);
  EXPECT_EQ(angles(7, 3), 7 * want[3]);
  EXPECT_TRUE(fs::exists(dir_ / "r" / "encoding.json"));
}

TEST_F(Cli, EncodeT5AndAlibiWriteRelationsAndTables) {
  ASSERT_EQ(run("encode t5 --out t --tokens 200 --bidirectional false --heads 3").code, 0);
  const ITensor rel = load_npy_int((dir_ / "t" / "relation.npy").string());
  EXPECT_EQ(rel(150, 30), 31);  // i - j = 120 >= 113 -> 31
  EXPECT_EQ(rel(20, 0), 17);    // i - j = 20 -> 17
  EXPECT_EQ(rel(0, 5), 0);      // future
  EXPECT_EQ(load_npy((dir_ / "t" / "bias_table.npy").string()).shape()[0], 3u);
  ASSERT_EQ(run("encode alibi --out a --heads 12 --tokens 4").code, 0);
  const Tensor slopes = load_npy((dir_ / "a" / "slopes.npy").string());
  EXPECT_FLOAT_EQ(slopes(8), std::pow(2.0f, -0.5f));
}

TEST_F(Cli, ApplyRotatesLikeTheLibrary) {
  const Tensor x = test::random_tensor({2, 5, 8}, 1);
  save_npy((dir_ / "x.npy").string(), x);
  ASSERT_EQ(run("apply rope --input x.npy --out y.npy --offset 3 --layout interleaved").code, 0);
  const Tensor y = load_npy((dir_ / "y.npy").string());
  const Tensor want = apply_rotary(x, rope(test::positions(5, 3), {.head_dim = 8, .layout = PairLayout::interleaved}).rotation);
  EXPECT_EQ(test::max_abs_diff(y, want), 0.0);
  ASSERT_EQ(run("apply sinusoidal --input x.npy --out z.npy").code, 0);
  const Tensor z = load_npy((dir_ / "z.npy").string());
  EXPECT_NEAR(z(1, 2, 0), x(1, 2, 0) + std::sin(2.0), 1e-6);
  expect_error("apply alibi --input x.npy --out w.npy", "no input-side part or rotation");
}

TEST_F(Cli, AttendMatchesTheCore) {
  const Tensor q = test::random_tensor({1, 2, 6, 8}, 2), k = test::random_tensor({1, 2, 9, 8}, 3),
               v = test::random_tensor({1, 2, 9, 8}, 4);
  save_npy((dir_ / "q.npy").string(), q);
  save_npy((dir_ / "k.npy").string(), k);
  save_npy((dir_ / "v.npy").string(), v);
  const CliRun r = run("attend --q q.npy --k k.npy --v v.npy --encoding alibi --out o.npy --weights w.npy");
  ASSERT_EQ(r.code, 0) << r.err;
  AttentionOptions o;
  o.mask.causal = true;  // ALiBi's causal form implies the causal mask
  const Encoding e = alibi(test::positions(6, 3), test::positions(9), {.heads = 2});
  EXPECT_LT(test::max_abs_diff(load_npy((dir_ / "o.npy").string()), attention(q, k, v, e, o)), 1e-6);
  EXPECT_EQ(load_npy((dir_ / "w.npy").string()).shape()[3], 9u);
}

TEST_F(Cli, AttendTakesRelativeTablesFromNpy) {
  const Tensor q = test::random_tensor({1, 2, 7, 4}, 5), k = test::random_tensor({1, 2, 7, 4}, 6),
               v = test::random_tensor({1, 2, 7, 4}, 7);
  save_npy((dir_ / "q.npy").string(), q);
  save_npy((dir_ / "k.npy").string(), k);
  save_npy((dir_ / "v.npy").string(), v);
  const ShawOptions opt{.clip = 2};
  const ShawTables tab = shaw_init(opt, 2, 4, 4, 0.5, 9);
  save_npy((dir_ / "ak.npy").string(), tab.key);
  save_npy((dir_ / "av.npy").string(), tab.value);
  const CliRun r = run("attend --q q.npy --k k.npy --v v.npy --encoding shaw --clip 2 --per-head true "
                       "--key-table ak.npy --value-table av.npy --out o.npy --causal");
  ASSERT_EQ(r.code, 0) << r.err;
  AttentionOptions o;
  o.mask.causal = true;
  const Tensor want = attention(q, k, v, shaw(test::positions(7), test::positions(7), tab, opt), o);
  EXPECT_LT(test::max_abs_diff(load_npy((dir_ / "o.npy").string()), want), 1e-6);
  // A table of the wrong shape is named.
  save_npy((dir_ / "bad.npy").string(), Tensor(test::random_tensor({2, 4, 4}, 1)));
  expect_error("attend --q q.npy --k k.npy --v v.npy --encoding shaw --clip 2 --key-table bad.npy --out o2.npy",
               "key table");
  expect_error("encode reformer_axial --out x --shape 2,3 --dims 4,4 --tokens 7", "does not fit the axial shape");
  expect_error("encode shaw --out x --clip 0", "'clip'");
}

TEST_F(Cli, GridEncodingsCheckTheTokenCount) {
  const Tensor q = test::random_tensor({1, 2, 12, 8}, 11);
  save_npy((dir_ / "q.npy").string(), q);
  const CliRun r = run("attend --q q.npy --k q.npy --v q.npy --encoding rope_2d --height 3 --width 4 --head-dim 8 --out o.npy");
  ASSERT_EQ(r.code, 0) << r.err;
  const Tensor want = attention(q, q, q, rope_2d(grid_positions(3, 4), {.head_dim = 8}));
  EXPECT_LT(test::max_abs_diff(load_npy((dir_ / "o.npy").string()), want), 1e-6);
  expect_error("attend --q q.npy --k q.npy --v q.npy --encoding rope_2d --height 3 --width 5 --out o2.npy",
               "the grid has 15 tokens");
  expect_error("encode sincos_2d --out x --dim 10", "multiple of 4");
}

TEST_F(Cli, SphereVideoAndSpectrogramEncodingsMatchTheLibrary) {
  // Spherical harmonics on a 5 x 8 grid without poles.
  ASSERT_EQ(run("encode spherical_harmonics --out sh --nlat 5 --nlon 8 --grid without_poles --degree 4").code, 0);
  const Tensor sh = load_npy((dir_ / "sh" / "input_concat.npy").string());
  EXPECT_EQ(test::max_abs_diff(sh, spherical_harmonics(latlon_grid(5, 8, LatLonGrid::without_poles), {.degree = 4})), 0.0);
  // Geodesic ALiBi through attend equals the core with the library's encoding.
  const Tensor q = test::random_tensor({1, 2, 12, 8}, 21), k = test::random_tensor({1, 2, 12, 8}, 22);
  save_npy((dir_ / "q.npy").string(), q);
  save_npy((dir_ / "k.npy").string(), k);
  DTensor pts = latlon_grid(3, 4);
  save_npy((dir_ / "pts.npy").string(), pts);
  CliRun r = run("attend --q q.npy --k k.npy --v k.npy --encoding geodesic_alibi --points pts.npy --out o.npy");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_LT(test::max_abs_diff(load_npy((dir_ / "o.npy").string()), attention(q, k, k, geodesic_alibi(pts, pts, 2))), 1e-6);
  r = run("attend --q q.npy --k k.npy --v k.npy --encoding sphere_rope --nlat 3 --nlon 4 --head-dim 8 --out s.npy");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_LT(test::max_abs_diff(load_npy((dir_ / "s.npy").string()), attention(q, k, k, sphere_rope(pts, {.head_dim = 8}))), 1e-6);
  // 3D RoPE over a 1 x 3 x 4 clip.
  r = run("attend --q q.npy --k k.npy --v k.npy --encoding rope_3d --frames 1 --height 3 --width 4 --head-dim 8 --out v.npy");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_LT(test::max_abs_diff(load_npy((dir_ / "v.npy").string()),
                               attention(q, k, k, rope_3d(video_positions(1, 3, 4), {.head_dim = 8}))), 1e-6);
  // AST grid of a 26 x 36 spectrogram: 2 x 3 patches, 2 prefix tokens.
  ASSERT_EQ(run("encode spectrogram_sincos --out sp --frequency-bins 26 --frames 36 --frequency-dim 4 --time-dim 6").code, 0);
  const Tensor sp = load_npy((dir_ / "sp" / "input_add.npy").string());
  EXPECT_EQ(test::max_abs_diff(sp, spectrogram_sincos_table({2, 3}, {.dim = 4}, {.dim = 6})), 0.0);
  // A 5 x 8 learned table regridded spectrally to 9 x 16 (both with poles).
  const Tensor src = test::random_tensor({40, 3}, 23);
  save_npy((dir_ / "src.npy").string(), src);
  r = run("encode sphere_table --out st --kind latlon --nlat 9 --nlon 16 --source-nlat 5 --source-nlon 8 --dim 3"
          " --table src.npy --regrid harmonics --regrid-degree 3");
  ASSERT_EQ(r.code, 0) << r.err;
  Tensor src_grid = src;
  src_grid.reshape({5, 8, 3});
  Tensor want = regrid_latlon_harmonics(src_grid, LatLonGrid::with_poles, 9, 16, LatLonGrid::with_poles, 3);
  want.reshape({144, 3});
  EXPECT_EQ(test::max_abs_diff(load_npy((dir_ / "st" / "input_add.npy").string()), want), 0.0);
  expect_error("encode sphere_table --out x --kind latlon --source-nlat 5 --source-nlon 8 --regrid harmonics --regrid-degree 9",
               "'degree' (L) must be in [0, 4]");
  expect_error("encode spectrogram_sincos --out x --frames 10", "'frames' (10) is smaller than one patch");
  expect_error("encode spherical_harmonics --out x --nlat 3 --degree -1", "'degree'");
  expect_error("encode sincos_3d --out x --dim 10", "multiple of 6");
  pts(0, 1) = 95;
  save_npy((dir_ / "bad.npy").string(), pts);
  expect_error("encode geodesic_alibi --out x --points bad.npy", "latitude 95");
  EXPECT_FALSE(fs::exists(dir_ / "x"));
}

TEST_F(Cli, GraphCommandWritesEncodingsAndReport) {
  const std::string karate = std::string(POSENC_TEST_DATA) + "/graphs/karate.csv";
  CliRun r = run("graph '" + karate + "' --out g --encodings spd,betweenness,lap:k=4,rwse:steps=3");
  ASSERT_EQ(r.code, 0) << r.err;
  const ITensor spd = load_npy_int((dir_ / "g" / "spd.npy").string());
  EXPECT_EQ(test::max_abs_diff(spd, load_npy_int(std::string(POSENC_TEST_DATA) + "/graphs/karate_spd.npy")), 0.0);
  const Graph g = read_edge_list_csv(karate);
  EXPECT_EQ(test::max_abs_diff(load_npy((dir_ / "g" / "lap.npy").string()), laplacian_pe(g, {.k = 4}).vectors), 0.0);
  EXPECT_EQ(load_npy((dir_ / "g" / "rwse.npy").string()).shape()[1], 3u);
  EXPECT_TRUE(fs::exists(dir_ / "g" / "report.json"));
  EXPECT_TRUE(fs::exists(dir_ / "g" / "nodes.txt"));
  // Malformed files and specs: one line naming the problem, nothing written.
  {
    std::ofstream bad_csv((dir_ / "bad.csv").string());
    bad_csv << "0,1\n1,2,3\n";
  }
  expect_error("graph bad.csv --out x", "bad.csv:2");
  expect_error("graph '" + karate + "' --out x --encodings lap:k=0", "'k'");
  expect_error("graph '" + karate + "' --out x --encodings pagerak", "did you mean 'pagerank'");
  expect_error("graph '" + karate + "' --out x --encodings lap:kk=2", "unknown option 'kk=2'");
  EXPECT_FALSE(fs::exists(dir_ / "x"));
}

TEST_F(Cli, TabularCommandWritesTheEncodingAndReport) {
  const std::string wine = std::string(POSENC_TEST_DATA) + "/tabular/wine.csv";
  CliRun r = run("tabular '" + wine + "' --out t --graph chowliu --alpha 0.5");
  ASSERT_EQ(r.code, 0) << r.err;
  const TabPet ref = tabpet(read_table_csv(wine), {.graph = {.method = FeatureGraphMethod::chowliu}});
  Tensor want = tabpet_encoding(ref.pe.columns_pe, 0.5, 0).input_concat;
  want.reshape({want.shape()[1], want.shape()[2]});
  EXPECT_EQ(test::max_abs_diff(load_npy((dir_ / "t" / "pe.npy").string()), want), 0.0);
  EXPECT_EQ(test::max_abs_diff(load_npy_double((dir_ / "t" / "graph.npy").string()), ref.graph.weights), 0.0);
  for (const char* f : {"eigenvalues.npy", "features.txt", "columns.txt", "report.json", "adjacency.npy"})
    EXPECT_TRUE(fs::exists(dir_ / "t" / f)) << f;
  expect_error("tabular '" + wine + "' --out x --alpha inf", "'alpha'");
  expect_error("tabular '" + wine + "' --out x --k 0", "'k'");
  expect_error("tabular '" + wine + "' --out x --graph lingam", "'graph'");
  expect_error("tabular '" + wine + "' --out x --drop nosuch", "nosuch");
  {
    std::ofstream bad_csv((dir_ / "bad.csv").string());
    bad_csv << "a,b\n1,2\n3\n";
  }
  expect_error("tabular bad.csv --out x", "bad.csv:3");
  EXPECT_FALSE(fs::exists(dir_ / "x"));
}

TEST_F(Cli, ErrorsAreOneLineAndLeaveNoFiles) {
  const std::size_t before = file_count();
  expect_error("encode ropee --out x", "did you mean 'rope'");
  expect_error("encode rope --out x --fator 2", "did you mean '--factor'");
  expect_error("encode rope --out x --head-dim 7", "even");
  expect_error("encode rope --out x --rope-type yarn --factor -1", "'factor'");
  expect_error("encode rope --out x --base nan", "'base'");
  expect_error("encode alibi --out x --heads 0", "'heads'");
  expect_error("encode sinusoidal --out x --tokens 0", "'tokens'");
  expect_error("encode learned --out x --tokens 600", "outside the learned table");
  expect_error("encode rope --out x --head-dim abc", "field 'head_dim' expects integer, got 'abc'");
  expect_error("attend --q missing.npy --k k.npy --v v.npy --out o.npy", "missing.npy");
  expect_error("frobnicate", "frobnicate");
  Tensor bad = test::random_tensor({1, 1, 3, 4}, 9);
  bad(0, 0, 1, 2) = NAN;
  save_npy((dir_ / "nan.npy").string(), bad);
  expect_error("attend --q nan.npy --k nan.npy --v nan.npy --out o.npy", "non-finite value at flat index 6");
  fs::remove(dir_ / "nan.npy");
  EXPECT_EQ(file_count(), before) << "a failed run left files behind";
}

}  // namespace
}  // namespace posenc

#endif  // POSENC_CLI_PATH
