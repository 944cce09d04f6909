// Regressions of the reliability report's command-line defects: each runs the built `posenc`
// like test_cli.cpp does and expects one line on stderr, a non-zero exit and nothing left behind
// (or the right output). docs/reliability.md states the policies these tests pin down.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "posenc/npy.hpp"
#include "support/cli.hpp"
#include "support/helpers.hpp"

#ifdef POSENC_CLI_PATH

namespace posenc {
namespace {

namespace fs = std::filesystem;

using test::CliRun;
using test::slurp;

class CliReliability : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::fresh_test_dir("posenc_clirel_"); }
  void TearDown() override { fs::remove_all(dir_); }
  /// `args` after the program; `env` before it (e.g. "POSENC_MEMORY_BUDGET=1G").
  CliRun run(const std::string& args, const std::string& env = "") {
    return shell(env + " '" + POSENC_CLI_PATH + "' " + args);
  }
  CliRun shell(const std::string& script) { return test::run_in(dir_, script); }
  /// Fails with one line containing `fragment`, and leaves the directory as it was.
  void expect_error(const std::string& args, const std::string& fragment, const std::string& env = "") {
    const auto before = listing();
    const CliRun r = run(args, env);
    EXPECT_NE(r.code, 0) << args;
    EXPECT_NE(r.err.find(fragment), std::string::npos) << args << "\nstderr: " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line expected: " << r.err;
    EXPECT_EQ(r.err.rfind("posenc", 0), 0u) << r.err;
    EXPECT_EQ(listing(), before) << args << " left files behind";
  }
  /// Every path under the directory (hidden ones included).
  std::vector<std::string> listing() {
    std::vector<std::string> names;
    for (const auto& e : fs::recursive_directory_iterator(dir_)) names.push_back(fs::relative(e.path(), dir_).string());
    std::sort(names.begin(), names.end());
    return names;
  }
  void write(const std::string& name, const std::string& text) { std::ofstream(dir_ / name) << text; }
  void tiny_graph() { write("g.csv", "0,1\n1,2\n2,3\n"); }
  fs::path dir_;
};

const std::string kWine = std::string(POSENC_TEST_DATA) + "/tabular/wine.csv";

// ------------------------------------------------------------------ 1. partial outputs

TEST_F(CliReliability, EmptyDemoDirectoryWritesNothing) {
  expect_error("demo ''", "is empty");
  EXPECT_TRUE(listing().empty());
}

TEST_F(CliReliability, NameCollisionsAreFoundBeforeAnythingIsWritten) {
  tiny_graph();
  expect_error("graph g.csv --out o --encodings lap:k=2,lap:k=2:kind=rw", "would both write lap.npy");
  expect_error("graph g.csv --out o --encodings spd,degree,spd", "would both write spd.npy");
  EXPECT_FALSE(fs::exists(dir_ / "o"));
}

TEST_F(CliReliability, AttendLeavesNoWeightsWhenTheOutputCannotBeWritten) {
  const Tensor q = test::random_tensor({1, 1, 3, 4}, 1);
  save_npy((dir_ / "q.npy").string(), q);
  expect_error("attend --q q.npy --k q.npy --v q.npy --weights w.npy --out nodir/o.npy", "'nodir' does not exist");
  EXPECT_FALSE(fs::exists(dir_ / "w.npy"));
  expect_error("attend --q q.npy --k q.npy --v q.npy --weights o.npy --out o.npy", "name the same path");
  expect_error("attend --q q.npy --k q.npy --v q.npy --out o.npy --grad-output q.npy --grads o.npy", "name the same path");
  // Both files appear together on success.
  ASSERT_EQ(run("attend --q q.npy --k q.npy --v q.npy --weights w.npy --out o.npy").code, 0);
  EXPECT_TRUE(fs::exists(dir_ / "w.npy"));
  EXPECT_TRUE(fs::exists(dir_ / "o.npy"));
}

TEST_F(CliReliability, SignalsRemoveTheStagingDirectory) {
  // The demo runs ~0.4 s after its staging directory appears, long enough to be stopped while it
  // exists. On a loaded machine it may still finish first, or be stopped between moving its output
  // into place and exiting: such an attempt stopped nothing and is repeated (as is one where the
  // staging directory was not seen before the signal). In every attempt, nothing but a finished
  // output may be left.
  for (const char* sig : {"TERM", "SEGV"}) {
    bool stopped = false;
    for (int attempt = 0; attempt < 5 && !stopped; ++attempt) {
      std::string script = "'";  // appended piecewise: GCC 12 warns falsely (-Warray-bounds) on operator+
      script += POSENC_CLI_PATH;
      script += "' demo d & pid=$!; n=0; while [ ! -d .d.tmp-$pid ] && [ $n -lt 2000 ]; do sleep 0.005; n=$((n+1)); done; "
                "seen=0; [ -d .d.tmp-$pid ] && seen=1; kill -";
      script += sig;
      script += " $pid; wait $pid; echo \"$seen $?\"";
      const CliRun r = shell(script);
      const bool finished = r.out == "1 0\n" || r.out == "0 0\n" || fs::exists(dir_ / "d");
      std::vector<std::string> left;
      for (const auto& name : listing())
        if (name != "d" && name.rfind("d/", 0) != 0) left.push_back(name);
      EXPECT_TRUE(left.empty()) << sig << ": left " << (left.empty() ? "" : left[0]);
      // Stopped while staging: the directory was there at the signal and the process did not exit
      // normally (128 + the signal, or a sanitizer's own exit status after its SEGV report).
      stopped = !finished && r.out.rfind("1 ", 0) == 0;
      fs::remove_all(dir_ / "d");
    }
    EXPECT_TRUE(stopped) << sig << ": the demo finished before the signal in 5 attempts";
  }
}

TEST_F(CliReliability, StagingOfKilledProcessesIsRemovedByTheNextRun) {
  fs::create_directories(dir_ / ".r.tmp-999999999" / "sub");
  fs::create_directories(dir_ / ".r.tmp-999999998.removing" / "sub");  // a signal handler cut short
  ASSERT_EQ(run("encode rope --out r --tokens 4").code, 0);
  EXPECT_FALSE(fs::exists(dir_ / ".r.tmp-999999999"));
  EXPECT_FALSE(fs::exists(dir_ / ".r.tmp-999999998.removing"));
  EXPECT_TRUE(fs::exists(dir_ / "r" / "angles.npy"));
}

// ------------------------------------------------------------------ 2. DIR or DIR/, overwrite rule

TEST_F(CliReliability, EveryDirectoryCommandTakesATrailingSlash) {
  tiny_graph();
  CliRun r = run("encode rope --out r/ --tokens 4");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir_ / "r" / "angles.npy"));
  r = run("graph g.csv --out g/ --encodings spd");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir_ / "g" / "spd.npy"));
  r = run("tabular '" + kWine + "' --out t/");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir_ / "t" / "pe.npy"));
  r = run("demo d/");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir_ / "d" / "rope" / "angles.npy"));
  // The parent named in errors is the real one.
  expect_error("encode rope --out nope/r/", "the parent directory 'nope' does not exist");
}

TEST_F(CliReliability, NonEmptyDirectoriesNeedForceAndAreReplacedAsAWhole) {
  ASSERT_EQ(run("encode rope --out r --tokens 4").code, 0);
  expect_error("encode alibi --out r/", "is not empty; pass --force");
  const CliRun r = run("encode alibi --out r/ --force");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir_ / "r" / "slopes.npy"));
  EXPECT_FALSE(fs::exists(dir_ / "r" / "angles.npy")) << "a stale file of the earlier run remained";
  // An existing empty directory is filled without --force.
  fs::create_directories(dir_ / "e");
  ASSERT_EQ(run("encode rope --out e --tokens 4").code, 0);
  EXPECT_TRUE(fs::exists(dir_ / "e" / "angles.npy"));
  write("file", "x");
  expect_error("encode rope --out file", "exists and is not a directory");
  expect_error("encode rope --out .", "must name a directory");
}

// ------------------------------------------------------------------ 3. absurd sizes

TEST_F(CliReliability, AbsurdSizesAreRefusedBeforeAllocating) {
  const std::string budget = "POSENC_MEMORY_BUDGET=1G";
  expect_error("encode sinusoidal --out x --dim 1000000000", "--dim 1000000000 (with --tokens 16) would need 64000000000 bytes",
               budget);
  expect_error("encode spherical_harmonics --out x --degree 1000000000", "--degree 1000000000", budget);
  expect_error("encode mrope --out x --segments text:1000000000000", "--segments text:1000000000000", budget);
  expect_error("encode t5 --out x --tokens 100000", "relation [query_tokens, tokens] int64", budget);
  expect_error("encode sincos_2d --out x --height 100000000000 --width 100000000000", "--height 100000000000", budget);
  tiny_graph();
  expect_error("graph g.csv --out x --encodings rwse:steps=1000000000000", "rwse:steps=1000000000000", budget);
  expect_error("graph g.csv --out x --encodings spd", "g.csv (4 nodes)", "POSENC_MEMORY_BUDGET=64");
  expect_error("encode rope --out x", "POSENC_MEMORY_BUDGET must be a positive number", "POSENC_MEMORY_BUDGET=lots");
}

// ------------------------------------------------------------------ 4. NaN and inf

TEST_F(CliReliability, NumericOptionsMustBeFinite) {
  expect_error("tabular '" + kWine + "' --out x --alpha 1e39", "parameter 'alpha' must be finite with |alpha| <= 1e30");
  expect_error("tabular '" + kWine + "' --out x --threshold nan", "'threshold'");
  for (const char* v : {"nan", "inf", "-inf", "1e400"}) expect_error(std::string("encode learned --out x --std ") + v, "'std'");
  expect_error("encode detr_sine --out x --scale nan", "field 'scale' expects real number, got 'nan'");
  expect_error("encode sinusoidal --out x --offset 1e308", "'offset' 1e308");
  expect_error("encode rope --out x --long-factor 1,nan", "'long_factor'");
}

TEST_F(CliReliability, NonFiniteOutputsAreNeverWritten) {
  // Finite parameters whose outputs overflow float32: refused by the final check before writing.
  expect_error("encode learned --out x --std 1e308", "std");
  expect_error("encode xpos --out x --offset 1e15", "would hold inf");
}

TEST_F(CliReliability, LoadedTablesMustBeFinite) {
  Tensor bad = test::random_tensor({4, 4}, 3);
  bad(1, 2) = NAN;
  save_npy((dir_ / "nan.npy").string(), bad);
  fs::create_directories(dir_ / "w");
  save_npy((dir_ / "w" / "w1.npy").string(), bad);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"learned", "--table nan.npy"},          {"t5", "--table nan.npy"},
      {"transformer_xl", "--w-r nan.npy"},     {"tener", "--u nan.npy"},
      {"learned_2d", "--table nan.npy"},       {"relative_bias_2d", "--table nan.npy"},
      {"timesformer", "--space-table nan.npy"}, {"ast_table", "--table nan.npy"},
      {"geodesic_bias", "--table nan.npy"},    {"sphere_table", "--table nan.npy"},
      {"continuous_mlp", "--weights w"},       {"learned_fourier", "--weights w"},
      {"alibi", "--slopes nan.npy"}};
  for (const auto& [name, arg] : cases) {
    SCOPED_TRACE(name);
    expect_error("encode " + name + " --out x " + arg, "holds nan at flat index 6");
  }
}

// ------------------------------------------------------------------ 5. threads

TEST_F(CliReliability, ThreadCountsAreValidated) {
  const Tensor q = test::random_tensor({1, 1, 3, 4}, 1);
  save_npy((dir_ / "q.npy").string(), q);
  expect_error("attend --q q.npy --k q.npy --v q.npy --out o.npy --threads 100000", "--threads must be in [0, 256]");
  expect_error("attend --q q.npy --k q.npy --v q.npy --out o.npy --threads -1", "got -1");
  tiny_graph();
  expect_error("graph g.csv --out x --threads 100000", "--threads must be in [0, 256]");
  EXPECT_EQ(run("graph g.csv --out g --encodings spd --threads 256").code, 0);
}

// ------------------------------------------------------------------ 6. messages

TEST_F(CliReliability, MessagesNameTheCommandTheInputAndWhatToDo) {
  fs::create_directories(dir_ / "adir");
  expect_error("graph adir --out x", "posenc graph: input 'adir' is a directory");
  expect_error("tabular adir --out x", "input 'adir' is a directory");
  expect_error("apply rope --input adir --out y.npy", "--input 'adir' is a directory");
  expect_error("encode learned --out x --table adir/t.npy", "'adir/t.npy' does not exist");
  expect_error("encode sinusoidal --out x --tokens -5", "'tokens' must be >= 1, got -5");
  expect_error("encode sinusoidal --out x --query-tokens 0", "'query_tokens' must be >= 1, got 0");
  expect_error("encode sinusoidal --out x --tokens 99999999999999999999", "field 'tokens' expects integer, got '99999999999999999999'");
  expect_error("encode rope --out x --head-dim 7", "posenc encode: rope");
}

TEST_F(CliReliability, SmallGraphsWorkWithTheDefaultsAndShowThePadSyntax) {
  tiny_graph();
  const CliRun r = run("graph g.csv --out g");
  ASSERT_EQ(r.code, 0) << r.err;
  const Tensor lap = load_npy((dir_ / "g" / "lap.npy").string());
  EXPECT_EQ(lap.shape()[1], 8u);
  EXPECT_EQ(lap(0, 7), 0.0f);  // zero-filled beyond the 3 non-trivial eigenvectors
  expect_error("graph g.csv --out x --encodings lap:k=8", "write 'lap:k=8:pad=1' to zero-fill");
}

TEST_F(CliReliability, TabularHeaderDetectionIsExplicit) {
  // Three numeric columns, no header row: "yes" takes row 1 as names, "no" and "auto" keep it as data.
  std::string rows;
  for (int i = 1; i < 13; ++i)
    rows += std::to_string(i) + "," + std::to_string((i * 7) % 5) + "," + std::to_string((i * 3) % 11) + "\n";
  write("nohdr.csv", rows);
  for (const char* mode : {"no", "auto"}) {
    const CliRun r = run(std::string("tabular nohdr.csv --k 1 --out t_") + mode + " --header " + mode);
    ASSERT_EQ(r.code, 0) << mode << ": " << r.err;
    EXPECT_EQ(slurp(dir_ / (std::string("t_") + mode) / "columns.txt"), "0\n1\n2\n") << mode;
  }
  const CliRun yes = run("tabular nohdr.csv --k 1 --out t_yes --header yes");
  ASSERT_EQ(yes.code, 0) << yes.err;
  EXPECT_EQ(slurp(dir_ / "t_yes" / "columns.txt"), "1\n2\n3\n");  // the first row's values became names
  expect_error("tabular nohdr.csv --out x --header maybe", "--header must be yes, no or auto, got 'maybe'");
}

}  // namespace
}  // namespace posenc

#endif  // POSENC_CLI_PATH
