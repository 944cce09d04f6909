// `posenc train` and `posenc compare`: the files a run writes, one-line errors with
// suggestions, a non-finite loss, output-directory errors (nothing partial left behind).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "posenc/npy.hpp"
#include "support/cli.hpp"

#ifdef POSENC_CLI_PATH

namespace posenc {
namespace {

namespace fs = std::filesystem;

using Result = test::CliRun;
using test::slurp;

/// Tiny settings: one layer, width 16, 96 training samples, one thread (about a second).
const std::string kTiny =
    " --epochs 1 --layers 1 --d-model 16 --heads 2 --train-samples 96 --val-samples 32 --length-samples 8 --threads 1";

class CliTrain : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::fresh_test_dir("posenc_cli_train_"); }
  void TearDown() override { fs::remove_all(dir_); }
  Result run(const std::string& args) { return test::run_in(dir_, std::string("'") + POSENC_CLI_PATH + "' " + args); }
  /// Fails with one line on stderr holding every fragment, and leaves nothing in the directory.
  void expect_error(const std::string& args, std::initializer_list<std::string> fragments) {
    const Result r = run(args);
    EXPECT_NE(r.code, 0) << args;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    for (const auto& f : fragments) EXPECT_NE(r.err.find(f), std::string::npos) << "missing '" << f << "' in: " << r.err;
    for (const auto& e : fs::directory_iterator(dir_))
      ADD_FAILURE() << "left behind: " << e.path().filename() << " by " << args;
  }
  fs::path dir_;
};

TEST_F(CliTrain, WritesMetricsCheckpointParametersAndPictures) {
  const Result r = run("train --task patterns --encoding relative_bias --out run/" + kTiny);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("epoch 1/1"), std::string::npos) << r.out;  // plain lines when not a terminal
  const fs::path d = dir_ / "run";
  for (const char* f : {"metrics.csv", "metrics.json", "checkpoint/config.json", "position/weight.npy", "curves.png",
                        "pictures/attention.png", "pictures/position_bias.png"})
    EXPECT_TRUE(fs::exists(d / f)) << f;
  const std::string csv = slurp(d / "metrics.csv");
  EXPECT_EQ(csv.rfind("epoch,train_loss,train_accuracy,val_loss,val_accuracy,seconds,lr\n1,", 0), 0u) << csv;
  EXPECT_NE(slurp(d / "metrics.json").find("\"best_val_accuracy\""), std::string::npos);
  // Learned absolute: its table and the cosine-similarity picture; relative_patterns: per-length columns.
  const Result l = run("train --task relative_patterns --encoding learned --eval-lengths 64 --out learned" + kTiny);
  ASSERT_EQ(l.code, 0) << l.err;
  EXPECT_TRUE(fs::exists(dir_ / "learned/position/table.npy"));
  EXPECT_TRUE(fs::exists(dir_ / "learned/pictures/position_similarity.png"));
  EXPECT_NE(slurp(dir_ / "learned/metrics.csv").find("loss_64,accuracy_64"), std::string::npos);
  EXPECT_NE(slurp(dir_ / "learned/metrics.json").find("max_len = 32"), std::string::npos);
}

TEST_F(CliTrain, LanguageModelAndContinuousCurves) {
  const Result r = run("train --task markov --encoding continuous_mlp --eval-lengths 64 --out lm" + kTiny);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir_ / "lm/pictures/position_curves.png"));
  EXPECT_TRUE(fs::exists(dir_ / "lm/position/w1.npy"));
  EXPECT_NE(slurp(dir_ / "lm/checkpoint/config.json").find("\"lm\""), std::string::npos);
}

TEST_F(CliTrain, UnknownNamesSuggestTheClosest) {
  expect_error("train --task patterns --encoding lerned --out x", {"posenc train:", "unknown --encoding 'lerned'",
                                                                   "did you mean 'learned'?"});
  expect_error("train --task patern --out x", {"posenc train:", "unknown --task 'patern'", "did you mean 'patterns'?"});
  expect_error("compare --encodings sinusoidal,alibbi --out x",
               {"posenc compare:", "'alibbi'", "did you mean 'alibi'?"});
  expect_error("train --schedule cosin --out x", {"posenc train:", "did you mean"});
}

TEST_F(CliTrain, ListErrorsNameTheirOption) {
  expect_error("train --task relative_patterns --eval-lengths 64,x --out x" + kTiny,
               {"posenc train:", "--eval-lengths must be comma-separated integers", "'64,x'"});
  const Result r = run("train --task bright_left --encoding rope_2d --eval-grids 8,1x --out x" + kTiny);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("--eval-grids must be comma-separated integers, got '8,1x'"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("--eval-lengths"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "x"));
}

// The validation pass in batches of 32 tokens (one sequence) or the default gives the same
// metrics up to rounding: each sequence's logits do not depend on its batch neighbours.
TEST_F(CliTrain, EvalBatchTokensChangesOnlyRounding) {
  expect_error("train --eval-batch-tokens -1 --out x" + kTiny,
               {"posenc train:", "--eval-batch-tokens must be >= 0 (0: one training batch), got -1"});
  auto val_loss = [&](const std::string& out, const std::string& extra) {
    const Result r = run("train --task patterns --encoding learned --out " + out + kTiny + extra);
    EXPECT_EQ(r.code, 0) << r.err;
    const std::string csv = slurp(dir_ / out / "metrics.csv");
    const std::string row = csv.substr(csv.find('\n') + 1);  // epoch,train_loss,train_accuracy,val_loss,...
    std::stringstream fields(row);
    std::string f;
    for (int i = 0; i < 4; ++i) std::getline(fields, f, ',');
    return std::stod(f);
  };
  const double whole = val_loss("eb_default", ""), one = val_loss("eb_32", " --eval-batch-tokens 32"),
               big = val_loss("eb_4096", " --eval-batch-tokens 4096");
  EXPECT_GT(whole, 0.0);
  EXPECT_NEAR(one, whole, 1e-5 * whole);
  EXPECT_NEAR(big, whole, 1e-5 * whole);
}

TEST_F(CliTrain, ImagePicturesAtTheLargestEvaluationGrid) {
  const Result r = run("train --task bright_left --encoding learned_2d --grid 4 --eval-grids 5,6 --out img" + kTiny);
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* f : {"position_similarity.png", "position_similarity_6x6.png"})
    EXPECT_TRUE(fs::exists(dir_ / "img/pictures" / f)) << f;
  const Result b = run("train --task bright_left --encoding swin_bias --grid 4 --eval-grids 6 --out bias" + kTiny);
  ASSERT_EQ(b.code, 0) << b.err;
  for (const char* f : {"position_bias.png", "position_bias_6x6.png"})
    EXPECT_TRUE(fs::exists(dir_ / "bias/pictures" / f)) << f;
}

TEST_F(CliTrain, SphereFieldWorldMapPictures) {
  const Result r = run("train --task sphere_field --encoding harmonics --harmonics-degree 4 --out sph" + kTiny);
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* f : {"field_map.png", "field_error.png"}) EXPECT_TRUE(fs::exists(dir_ / "sph/pictures" / f)) << f;
}

TEST_F(CliTrain, ListTasksNeedsNoOutput) {
  for (const char* cmd : {"train", "compare"}) {
    const Result r = run(std::string(cmd) + " --list-tasks");
    ASSERT_EQ(r.code, 0) << r.err;
    for (const char* want : {"graph_cycles: ", "table_csv: ", "sphere_field: ", "digits: ", "markov: ", " spatial",
                             " tabpet", " harmonics"})
      EXPECT_NE(r.out.find(want), std::string::npos) << cmd << ": " << want << "\n" << r.out;
    EXPECT_TRUE(fs::is_empty(dir_)) << cmd;
  }
  expect_error("train --task patterns", {"posenc train:", "--out is required"});
  expect_error("compare --task patterns", {"posenc compare:", "--out is required"});
}

TEST_F(CliTrain, RegressionResultsAreMeanSquaredErrorsWithSignificantDigits) {
  const Result r = run("compare --task sphere_field --encodings harmonics --seeds 1 --out cmp" + kTiny);
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream f(dir_ / "cmp/results.md");
  const std::string md((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_NE(md.find("mean-squared error"), std::string::npos) << md;
  EXPECT_EQ(md.find("nats"), std::string::npos) << md;
}

TEST_F(CliTrain, NonFiniteLossNamesTheStep) {
  expect_error("train --task patterns --encoding learned --lr 1e30 --schedule constant --out x" + kTiny,
               {"posenc train:", "non-finite", "at step ", "nothing written to x"});
}

TEST_F(CliTrain, OutputDirectoryErrors) {
  expect_error("train --out missing/run" + kTiny, {"posenc train:", "--out", "missing"});
  fs::create_directories(dir_ / "full");
  std::ofstream(dir_ / "full" / "keep.txt") << "x";
  const Result r = run("train --out full" + kTiny);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("--force"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(dir_ / "full" / "keep.txt"));
  const Result f = run("train --out full --force" + kTiny);
  ASSERT_EQ(f.code, 0) << f.err;
  EXPECT_FALSE(fs::exists(dir_ / "full" / "keep.txt"));
  EXPECT_TRUE(fs::exists(dir_ / "full" / "metrics.csv"));
  fs::remove_all(dir_ / "full");
  expect_error("train --layers 0 --out y", {"posenc train:", "--layers", "0"});
  expect_error("train --heads 3 --out y", {"posenc train:", "--heads 3", "--d-model 128"});
  expect_error("train --task patterns --encoding learned --max-len 16 --out y" + kTiny,
               {"posenc train:", "max_len = 16"});
}

TEST_F(CliTrain, ReportListsEveryFileWithNpyShapes) {
  const Result r = run("train --task patterns --encoding learned --out run" + kTiny);
  ASSERT_EQ(r.code, 0) << r.err;
  const fs::path d = dir_ / "run";
  const nlohmann::json report = nlohmann::json::parse(slurp(d / "report.json"));
  EXPECT_EQ(report.at("command"), "train");
  std::set<std::string> on_disk, listed;
  for (const auto& e : fs::recursive_directory_iterator(d))
    if (e.is_regular_file() && e.path().filename() != "report.json")
      on_disk.insert(e.path().lexically_relative(d).generic_string());
  for (const auto& [name, entry] : report.at("files").items()) {
    listed.insert(name);
    EXPECT_EQ(entry.at("bytes").get<std::uintmax_t>(), fs::file_size(d / name)) << name;
    if (fs::path(name).extension() != ".npy" || entry.at("dtype") != "float32") continue;
    const Tensor t = load_npy((d / name).string());  // the library's reader as the oracle
    EXPECT_EQ(entry.at("shape").get<std::vector<std::size_t>>(), std::vector<std::size_t>(t.shape().begin(), t.shape().end()))
        << name;
  }
  EXPECT_EQ(listed, on_disk);
  EXPECT_TRUE(listed.count("position/table.npy"));
  EXPECT_NE(report.at("files").at("position/table.npy").at("what").get<std::string>().find("learned encoding"),
            std::string::npos);
}

TEST_F(CliTrain, CompareWritesTheTables) {
  const Result r = run("compare --task relative_patterns --encodings none,alibi --seeds 2 --eval-lengths 64 --out cmp" + kTiny);
  ASSERT_EQ(r.code, 0) << r.err;
  const fs::path d = dir_ / "cmp";
  for (const char* f : {"results.md", "results.csv", "runs.csv", "lengths.png", "runs/none_seed0.csv", "runs/alibi_seed1.csv"})
    EXPECT_TRUE(fs::exists(d / f)) << f;
  const std::string csv = slurp(d / "results.csv");
  EXPECT_NE(csv.find("accuracy_32_mean,accuracy_32_sd,accuracy_64_mean"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\nalibi,2,0,"), std::string::npos) << csv;
  const std::string md = slurp(d / "results.md");
  EXPECT_NE(md.find("| alibi |"), std::string::npos) << md;
  EXPECT_NE(md.find("acc @64"), std::string::npos) << md;
}

}  // namespace
}  // namespace posenc

#endif  // POSENC_CLI_PATH
