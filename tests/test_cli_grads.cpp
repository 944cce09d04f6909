// posenc attend --grad-output dO.npy --grads DIR: every written gradient equals the
// library's attention_backward followed by the builder's backward on the same inputs,
// one table entry per encoding agrees with finite differences of sum(dO * out) through
// the library forward, and bad input fails with one line and leaves nothing behind.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "posenc/attention.hpp"
#include "posenc/gradients.hpp"
#include "posenc/image.hpp"
#include "posenc/npy.hpp"
#include "posenc/relative.hpp"
#include "posenc/text.hpp"
#include "support/cli.hpp"
#include "support/helpers.hpp"

#ifdef POSENC_CLI_PATH

namespace posenc {
namespace {

namespace fs = std::filesystem;

using test::CliRun;

class CliGrads : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::fresh_test_dir("posenc_cli_grads_"); }
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
  void save(const std::string& name, const Tensor& t) { save_npy((dir_ / name).string(), t); }
  Tensor load(const std::string& rel) { return load_npy((dir_ / rel).string()); }

  /// q [1, 2, nq, 4], k [1, 2, nk, 4], v [1, 2, nk, 3], dO [1, 2, nq, 3] saved as q/k/v/dO.npy.
  void inputs(std::size_t nq, std::size_t nk, std::uint64_t seed) {
    q_ = test::random_tensor({1, 2, nq, 4}, seed);
    k_ = test::random_tensor({1, 2, nk, 4}, seed + 1);
    v_ = test::random_tensor({1, 2, nk, 3}, seed + 2);
    d_out_ = test::random_tensor({1, 2, nq, 3}, seed + 3);
    save("q.npy", q_);
    save("k.npy", k_);
    save("v.npy", v_);
    save("dO.npy", d_out_);
  }

  /// Run attend with --grads into `grads` and compare dq, dk, dv with the library's backward of
  /// `e`; returns the library's AttentionGrads for the parameter comparisons.
  AttentionGrads run_and_compare_core(const std::string& args, const Encoding& e, const AttentionOptions& o,
                                      const std::string& grads = "g") {
    const CliRun r = run("attend --q q.npy --k k.npy --v v.npy --out o.npy --grad-output dO.npy --grads " + grads + " " +
                         args);
    EXPECT_EQ(r.code, 0) << r.err;
    AttentionStats stats;
    const Tensor out = attention(q_, k_, v_, e, o, &stats);
    AttentionGrads want = attention_backward(q_, k_, v_, e, o, out, stats, d_out_, GradRequest::all(e));
    EXPECT_LE(test::max_abs_diff(load("o.npy"), out), 1e-6);
    EXPECT_LE(test::max_abs_diff(load("g/dq.npy"), want.dq), 1e-6);
    EXPECT_LE(test::max_abs_diff(load("g/dk.npy"), want.dk), 1e-6);
    EXPECT_LE(test::max_abs_diff(load("g/dv.npy"), want.dv), 1e-6);
    return want;
  }

  /// grads.json lists exactly dq, dk, dv and `params` with their shapes.
  void expect_listing(const std::vector<std::string>& params) {
    std::ifstream f(dir_ / "g" / "grads.json");
    ASSERT_TRUE(f.good()) << "grads.json missing";
    const nlohmann::json j = nlohmann::json::parse(f);
    EXPECT_EQ(j["files"].size(), 3 + params.size());
    for (const char* core : {"dq.npy", "dk.npy", "dv.npy"}) EXPECT_TRUE(j["files"].contains(core)) << core;
    EXPECT_EQ(j["parameters"].size(), params.size());
    for (const auto& p : params) {
      const std::string file = p + ".npy";
      ASSERT_TRUE(j["files"].contains(file)) << file;
      const Tensor t = load("g/" + file);
      EXPECT_EQ(j["files"][file]["shape"].get<std::vector<std::size_t>>(),
                std::vector<std::size_t>(t.shape().begin(), t.shape().end()))
          << file;
      EXPECT_FALSE(j["files"][file]["of"].get<std::string>().empty());
    }
  }

  /// Central difference of L = sum(dO * attention(q, k, v, make(param))) in entry `index` of
  /// `param`, through the double-accumulated reference forward, against `analytic`.
  void expect_finite_difference(const Tensor& param, std::size_t index, double analytic,
                                const std::function<Encoding(const Tensor&)>& make, const AttentionOptions& o,
                                double eps = 1e-2) {
    auto loss = [&](double delta) {
      Tensor p = param;
      p.data()[index] = static_cast<float>(p.data()[index] + delta);
      const Tensor out = attention_reference(q_, k_, v_, make(p), o);
      double l = 0;
      for (std::size_t i = 0; i < out.size(); ++i) l += static_cast<double>(out.data()[i]) * d_out_.data()[i];
      return l;
    };
    const double fd = (loss(eps) - loss(-eps)) / (2 * eps);
    EXPECT_GT(std::abs(analytic), 1e-3) << "pick an entry with a visible gradient";
    EXPECT_NEAR(fd, analytic, 1e-2 * std::abs(analytic) + 1e-3) << "entry " << index;
  }

  fs::path dir_;
  Tensor q_, k_, v_, d_out_;
};

TEST_F(CliGrads, T5TableMatchesTheLibraryAndFiniteDifferences) {
  inputs(5, 7, 100);
  const Tensor table = test::random_tensor({2, 8}, 7, 0.5);
  save("t.npy", table);
  const T5Options opt{.bidirectional = true, .num_buckets = 8, .max_distance = 16};
  const DTensor qp = test::positions(5, 2), kp = test::positions(7);
  auto make = [&](const Tensor& t) { return t5_bias(qp, kp, t, opt); };
  const AttentionGrads want =
      run_and_compare_core("--encoding t5 --num-buckets 8 --max-distance 16 --table t.npy", make(table), {}, "g/");
  const Tensor d_table = t5_bias_backward(qp, kp, table, opt, want.encoding);
  EXPECT_LE(test::max_abs_diff(load("g/table.npy"), d_table), 1e-6);
  expect_listing({"table"});
  const ITensor buckets = t5_bucket_matrix(qp, kp, opt);
  const std::size_t r = static_cast<std::size_t>(buckets(0, 1, 2));  // a bucket that occurs
  expect_finite_difference(table, 1 * 8 + r, d_table(1, r), make, {});
}

TEST_F(CliGrads, ShawKeyAndValueTables) {
  inputs(6, 6, 200);
  const ShawOptions opt{.clip = 2};
  const ShawTables tab = shaw_init(opt, 2, 4, 3, 0.5, 9);
  save("ak.npy", tab.key);
  save("av.npy", tab.value);
  const DTensor pos = test::positions(6);
  AttentionOptions o;
  o.mask.causal = true;
  const AttentionGrads want = run_and_compare_core(
      "--encoding shaw --clip 2 --per-head true --value-dim 3 --key-table ak.npy --value-table av.npy --causal",
      shaw(pos, pos, tab, opt), o);
  const ShawTables d = shaw_backward(pos, pos, tab, opt, want.encoding);
  EXPECT_LE(test::max_abs_diff(load("g/key_table.npy"), d.key), 1e-6);
  EXPECT_LE(test::max_abs_diff(load("g/value_table.npy"), d.value), 1e-6);
  expect_listing({"key_table", "value_table"});
  // aV[h = 1, rho = 1 (offset -1), channel 2] and aK[h = 0, rho = 2 (offset 0), channel 1].
  expect_finite_difference(tab.value, (1 * 5 + 1) * 3 + 2, d.value(1, 1, 2),
                           [&](const Tensor& t) { return shaw(pos, pos, {tab.key, t}, opt); }, o);
  expect_finite_difference(tab.key, (0 * 5 + 2) * 4 + 1, d.key(0, 2, 1),
                           [&](const Tensor& t) { return shaw(pos, pos, {t, tab.value}, opt); }, o);
}

TEST_F(CliGrads, TransformerXlWrUV) {
  inputs(4, 6, 300);
  const TransformerXLOptions opt{.d_model = 6, .heads = 2, .head_dim = 4};
  // attend's own --v (the values) shadows the encoding's v: it keeps its seeded initialisation.
  TransformerXLParams w = transformer_xl_init(opt, 0.02, 0);
  const TransformerXLParams loaded = transformer_xl_init(opt, 0.5, 3);
  w.w_r = loaded.w_r;
  w.u = loaded.u;
  save("wr.npy", w.w_r);
  save("u.npy", w.u);
  const DTensor qp = test::positions(4, 2), kp = test::positions(6);
  AttentionOptions o;
  o.mask.causal = true;
  const AttentionGrads want =
      run_and_compare_core("--encoding transformer_xl --d-model 6 --w-r wr.npy --u u.npy --causal",
                           transformer_xl(qp, kp, w, opt), o);
  const TransformerXLParams d = transformer_xl_backward(qp, kp, w, opt, want.encoding);
  EXPECT_LE(test::max_abs_diff(load("g/w_r.npy"), d.w_r), 1e-6);
  EXPECT_LE(test::max_abs_diff(load("g/u.npy"), d.u), 1e-6);
  EXPECT_LE(test::max_abs_diff(load("g/v.npy"), d.v), 1e-6);
  expect_listing({"w_r", "u", "v"});
  expect_finite_difference(w.w_r, 5 * 6 + 1, d.w_r(5, 1),
                           [&](const Tensor& t) { return transformer_xl(qp, kp, {t, w.u, w.v}, opt); }, o);
  expect_finite_difference(w.u, 1 * 4 + 2, d.u(1, 2),
                           [&](const Tensor& t) { return transformer_xl(qp, kp, {w.w_r, t, w.v}, opt); }, o);
}

TEST_F(CliGrads, AlibiSlopes) {
  inputs(5, 8, 400);
  const Tensor slopes = test::make({2}, {0.5f, 0.25f});
  save("s.npy", slopes);
  const DTensor qp = test::positions(5, 3), kp = test::positions(8);
  AttentionOptions o;
  o.mask.causal = true;  // ALiBi's causal form implies the causal mask
  auto make = [&](const Tensor& s) { return alibi(qp, kp, s, AlibiOptions{}); };
  const AttentionGrads want = run_and_compare_core("--encoding alibi --slopes s.npy", make(slopes), o);
  const Tensor d = alibi_backward(want.encoding);
  EXPECT_LE(test::max_abs_diff(load("g/slopes.npy"), d), 1e-6);
  expect_listing({"slopes"});
  expect_finite_difference(slopes, 0, d(0), make, o);
  // Without --slopes the gradient is the one at the geometric slopes (the same bias).
  ASSERT_EQ(run("attend --q q.npy --k k.npy --v v.npy --out o2.npy --grad-output dO.npy --grads g2 --encoding alibi").code,
            0);
  EXPECT_EQ(load("g2/slopes.npy").shape()[0], 2u);
}

TEST_F(CliGrads, DaTransformerVAndW) {
  inputs(6, 6, 500);
  // v keeps its seeded initialisation (attend's --v is the values); w comes from a file.
  const DaParams w{da_init(2, 0).v, test::make({2}, {0.5f, -0.2f})};
  save("dw_.npy", w.w);
  const DTensor pos = test::positions(6);
  const AttentionGrads want =
      run_and_compare_core("--encoding da_transformer --w dw_.npy", da_transformer(pos, pos, w), {});
  const DaParams d = da_transformer_backward(pos, pos, w, want.encoding);
  EXPECT_LE(test::max_abs_diff(load("g/v.npy"), d.v), 1e-6);
  EXPECT_LE(test::max_abs_diff(load("g/w.npy"), d.w), 1e-6);
  expect_listing({"v", "w"});
  expect_finite_difference(w.w, 1, d.w(1), [&](const Tensor& t) { return da_transformer(pos, pos, {w.v, t}); }, {},
                           1e-3);
  expect_finite_difference(w.v, 0, d.v(0), [&](const Tensor& t) { return da_transformer(pos, pos, {t, w.w}); }, {},
                           1e-3);
}

TEST_F(CliGrads, SwinRelativeBias2dTable) {
  inputs(6, 6, 600);  // a 2 x 3 window
  const Tensor table = test::random_tensor({2, 15}, 8, 0.5);
  save("t.npy", table);
  auto make = [&](const Tensor& t) { return relative_bias_2d(2, 3, t); };
  const AttentionGrads want =
      run_and_compare_core("--encoding relative_bias_2d --height 2 --width 3 --table t.npy", make(table), {});
  const Tensor d = relative_bias_2d_backward(2, 3, table, want.encoding);
  EXPECT_LE(test::max_abs_diff(load("g/table.npy"), d), 1e-6);
  expect_listing({"table"});
  const std::size_t r = static_cast<std::size_t>(relative_position_index_2d(2, 3)(1, 4));
  expect_finite_difference(table, 15 + r, d(1, r), make, {});
}

TEST_F(CliGrads, SwinTableResizedFromAnotherWindowGoesBackThroughTheResize) {
  inputs(6, 6, 650);  // a 2 x 3 window, the table learned for 3 x 4
  const Tensor source = test::random_tensor({2, 35}, 10, 0.5);
  save("t.npy", source);
  auto make = [&](const Tensor& t) { return relative_bias_2d(2, 3, resize_relative_bias_table(t, 3, 4, 2, 3)); };
  const AttentionGrads want = run_and_compare_core(
      "--encoding relative_bias_2d --height 2 --width 3 --source-height 3 --source-width 4 --table t.npy", make(source), {});
  const Tensor resized = resize_relative_bias_table(source, 3, 4, 2, 3);
  const Tensor d = resize_relative_bias_table_backward(relative_bias_2d_backward(2, 3, resized, want.encoding), 3, 4, 2, 3);
  EXPECT_LE(test::max_abs_diff(load("g/table.npy"), d), 1e-6);
  expect_listing({"table"});
  expect_finite_difference(source, 35 + 17, d(1, 17), make, {});  // the centre of the 5 x 7 offset grid
}

TEST_F(CliGrads, RopeMixedFrequencies) {
  inputs(6, 6, 750);  // a 2 x 3 grid, head_dim 4
  const Tensor freqs = rope_mixed_init(2, 4, 10.0, true, 5);
  save("f.npy", freqs);
  const DTensor pos = grid_positions(2, 3);
  auto make = [&](const Tensor& f) { return rope_mixed(pos, pos, f); };
  const AttentionGrads want = run_and_compare_core("--encoding rope_mixed --height 2 --width 3 --freqs f.npy", make(freqs), {});
  const Tensor d = rope_mixed_backward(pos, pos, freqs, want.encoding);
  EXPECT_LE(test::max_abs_diff(load("g/freqs.npy"), d), 1e-6);
  expect_listing({"freqs"});
  expect_finite_difference(freqs, 1 * 4 + 1 * 2 + 0, d(1, 1, 0), make, {}, 1e-3);  // f_y, head 1, pair 0
}

TEST_F(CliGrads, LearnableRelativeBiasEntry) {
  inputs(5, 7, 700);
  const Tensor weight = test::random_tensor({7, 2}, 9, 0.5);  // K = 3
  save("wt.npy", weight);
  const DTensor qp = test::positions(5, 2), kp = test::positions(7);
  auto make = [&](const Tensor& t) { return relative_bias(qp, kp, t, 3); };
  const AttentionGrads want =
      run_and_compare_core("--encoding relative_bias --max-distance 3 --weight wt.npy", make(weight), {});
  const Tensor d = relative_bias_backward(qp, kp, weight, 3, want.encoding);
  EXPECT_LE(test::max_abs_diff(load("g/weight.npy"), d), 1e-6);
  expect_listing({"weight"});
  expect_finite_difference(weight, 3 * 2 + 1, d(3, 1), make, {});  // offset 0, head 1
}

TEST_F(CliGrads, InputSideEncodingsWriteOnlyTheCoreGradients) {
  inputs(5, 5, 800);
  const CliRun r =
      run("attend --q q.npy --k k.npy --v v.npy --out o.npy --grad-output dO.npy --grads g --encoding learned --dim 4");
  ASSERT_EQ(r.code, 0) << r.err;
  expect_listing({});
  EXPECT_FALSE(fs::exists(dir_ / "g" / "table.npy"));
  std::ifstream f(dir_ / "g" / "grads.json");
  const nlohmann::json j = nlohmann::json::parse(f);
  EXPECT_NE(j["note"].get<std::string>().find("input-side"), std::string::npos);
  // attend applies nothing of 'learned': its gradients are plain attention's.
  AttentionStats stats;
  const Tensor out = attention(q_, k_, v_, {}, {}, &stats);
  const AttentionGrads want = attention_backward(q_, k_, v_, {}, {}, out, stats, d_out_);
  EXPECT_LE(test::max_abs_diff(load("g/dq.npy"), want.dq), 1e-6);
}

TEST_F(CliGrads, ListMarksTheLearnableFiles) {
  const CliRun r = run("list -v");
  ASSERT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("relative_bias  —"), std::string::npos);
  for (const char* files : {"grads: slopes.npy", "grads: table.npy", "grads: w_r.npy, u.npy, v.npy", "grads: v.npy, w.npy",
                            "grads: weight.npy", "grads: key_table.npy"})
    EXPECT_NE(r.out.find(files), std::string::npos) << files;
  EXPECT_NE(r.out.find("input-side"), std::string::npos);
}

TEST_F(CliGrads, BadInputIsOneLineAndLeavesNothing) {
  inputs(5, 7, 900);
  Tensor nan = d_out_;
  nan(0, 1, 2, 1) = NAN;
  save("nan.npy", nan);
  save("wrong.npy", test::random_tensor({1, 2, 5, 4}, 1));
  const std::size_t before = file_count();
  const std::string base = "attend --q q.npy --k k.npy --v v.npy --out o.npy --encoding t5 --num-buckets 8 ";
  expect_error(base + "--grad-output dO.npy", "--grad-output 'dO.npy' needs --grads");
  expect_error(base + "--grads g", "--grads 'g' needs --grad-output");
  expect_error(base + "--grad-output wrong.npy --grads g/", "--grad-output 'wrong.npy' must have the output's shape");
  expect_error(base + "--grad-output nan.npy --grads g", "--grad-output 'nan.npy' holds a non-finite value");
  expect_error(base + "--grad-output dO.npy --grads nosuch/g", "--grads 'nosuch/g'");
  expect_error(base + "--grad-output dO.npy --grads q.npy", "--grads 'q.npy' exists and is not a directory");
  EXPECT_FALSE(fs::exists(dir_ / "g"));
  EXPECT_FALSE(fs::exists(dir_ / "o.npy"));
  EXPECT_EQ(file_count(), before) << "a failed run left files behind";
}

}  // namespace
}  // namespace posenc

#endif  // POSENC_CLI_PATH
