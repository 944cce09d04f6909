// The training loop (posenc/trainer.hpp): a short run reaches a stated accuracy, runs are
// bit-identical for a seed, learned tables that are too short, a non-finite loss, LM training.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "posenc/trainer.hpp"
#include "support/helpers.hpp"

namespace posenc::train {
namespace {

namespace fs = std::filesystem;

/// A small model: 1 layer, d_model 32, 4 heads, no dropout (seconds on one core).
ModelConfig small_config(const Task& task, const std::string& kind, std::uint64_t seed = 0) {
  ModelConfig c = task_model_config(task, kind, seed);
  c.layers = 1;
  c.d_model = 32;
  c.heads = 4;
  c.dropout = 0.0;
  return c;
}

Task small_task(const std::string& name, std::int64_t train = 1000) {
  TaskOptions o;
  o.train_samples = train;
  o.validation_samples = 300;
  o.length_samples = 60;
  if (name == "relative_patterns") o.eval_lengths = {64};
  if (name == "markov") o.eval_lengths = {64};
  return make_task(name, o);
}

TrainOptions small_options(std::int64_t epochs) {
  TrainOptions o;
  o.epochs = epochs;
  o.adamw.lr = 3e-3;
  o.threads = 1;
  return o;
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

TEST(Trainer, LearnedAbsoluteLearnsThePatternsTask) {
  // Stated target: >= 0.9 validation accuracy on `patterns` (chance 1/3) within 6 short epochs.
  const Task task = small_task("patterns");
  TransformerClassifier model(small_config(task, "learned"));
  int calls = 0, epoch_ends = 0;
  TrainOptions o = small_options(6);
  o.progress = [&](const Progress& p) {
    ++calls;
    if (p.epoch_end) {
      ++epoch_ends;
      ASSERT_NE(p.metrics, nullptr);
      EXPECT_EQ(p.metrics->epoch, p.epoch);
    }
  };
  const TrainResult r = fit(model, task, o);
  ASSERT_EQ(r.history.size(), 6u);
  EXPECT_EQ(epoch_ends, 6);
  EXPECT_EQ(calls, 6 * (32 + 1));  // ceil(1000 / 32) steps per epoch, plus the epoch end
  EXPECT_GE(r.best_val_accuracy, 0.9);
  EXPECT_LT(r.history.back().train_loss, r.history.front().train_loss);
  EXPECT_GT(r.parameter_count, 0);
  ASSERT_EQ(r.best_lengths.size(), 1u);
  // The model holds the best epoch's parameters.
  EXPECT_DOUBLE_EQ(evaluate(model, task.validation).accuracy, r.best_val_accuracy);
}

TEST(Trainer, SameSeedIsBitIdentical) {
  const Task task = small_task("patterns", 200);
  auto once = [&](std::uint64_t seed) {
    ModelConfig c = small_config(task, "relative_bias", seed);
    c.dropout = 0.1;
    TransformerClassifier model(c);
    TrainOptions o = small_options(2);
    o.seed = seed;
    const TrainResult r = fit(model, task, o);
    std::vector<Tensor> params;
    for (const auto& p : model.parameters()) params.push_back(*p.value);
    return std::make_pair(r, params);
  };
  const auto a = once(5), b = once(5), c = once(6);
  for (std::size_t e = 0; e < 2; ++e) {
    EXPECT_EQ(a.first.history[e].train_loss, b.first.history[e].train_loss);
    EXPECT_EQ(a.first.history[e].val_loss, b.first.history[e].val_loss);
  }
  double diff = 0;
  for (std::size_t k = 0; k < a.second.size(); ++k) {
    EXPECT_EQ(test::max_abs_diff(a.second[k], b.second[k]), 0.0) << k;
    diff = std::max(diff, test::max_abs_diff(a.second[k], c.second[k]));
  }
  EXPECT_GT(diff, 0.0);
}

TEST(Trainer, LearnedTableTooShort) {
  const Task task = small_task("relative_patterns", 100);
  ModelConfig c = small_config(task, "learned");
  c.position.max_len = 16;
  TransformerClassifier model(c);
  test::expect_invalid([&] { fit(model, task, small_options(1)); },
                       {"fit", "length 32", "max_len = 16", "--max-len"});
  // Longer evaluation lengths than the table: skipped, NaN, with a note naming the table size.
  TransformerClassifier fits(small_config(task, "learned"));
  const TrainResult r = fit(fits, task, small_options(1));
  ASSERT_EQ(r.best_lengths.size(), 2u);
  EXPECT_EQ(r.best_lengths[1].length, 64);
  EXPECT_TRUE(std::isnan(r.best_lengths[1].accuracy));
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_NE(r.notes[0].find("max_len = 32"), std::string::npos) << r.notes[0];
  // A relative encoding measures every length.
  TransformerClassifier rel(small_config(task, "alibi"));
  const TrainResult rr = fit(rel, task, small_options(1));
  EXPECT_TRUE(std::isfinite(rr.best_lengths[1].accuracy));
  EXPECT_TRUE(std::isfinite(rr.history[0].lengths[0].accuracy));
}

TEST(Trainer, NonFiniteLossNamesTheStepAndKeepsTheCheckpoint) {
  const Task task = small_task("patterns", 64);
  const fs::path dir = fs::temp_directory_path() / "posenc_trainer_nonfinite";
  fs::remove_all(dir);
  TrainOptions o = small_options(1);
  o.checkpoint_dir = dir.string();
  TransformerClassifier good(small_config(task, "learned"));
  fit(good, task, o);
  ASSERT_TRUE(fs::exists(dir / "config.json"));
  const std::string before = slurp(dir / "position.table.npy");
  ASSERT_FALSE(before.empty());
  TransformerClassifier bad(small_config(task, "learned", 1));
  o.adamw.lr = 1e30;
  o.schedule = ScheduleKind::constant;
  try {
    fit(bad, task, o);
    FAIL() << "no error for lr 1e30";
  } catch (const NonFiniteLoss& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("at step " + std::to_string(e.step())), std::string::npos) << msg;
    EXPECT_NE(msg.find("non-finite"), std::string::npos) << msg;
    EXPECT_GE(e.step(), 2);
  }
  EXPECT_EQ(slurp(dir / "position.table.npy"), before);  // the last good checkpoint is kept
  EXPECT_EQ(TransformerClassifier::load(dir.string()).config().seed, 0u);
  fs::remove_all(dir);
}

TEST(Trainer, LanguageModelOnMarkov) {
  // A small language (vocabulary 8: 64 contexts) so that a few seconds of training learn it.
  TaskOptions to;
  to.vocab = 8;
  to.train_samples = 800;
  to.validation_samples = 200;
  to.length_samples = 50;
  to.eval_lengths = {64};
  const Task task = make_task("markov", to);
  TransformerLM model(small_config(task, "rope"));
  TrainOptions o = small_options(5);
  o.adamw.lr = 1e-2;
  const TrainResult r = fit(model, task, o);  // about 1.55 nats (floor 1.14)
  EXPECT_LT(r.best_val_loss, std::log(8.0) - 0.3) << "uniform guess " << std::log(8.0);
  EXPECT_GT(r.best_val_loss, markov_entropy(8, 32) - 0.05);
  ASSERT_EQ(r.best_lengths.size(), 2u);
  EXPECT_TRUE(std::isfinite(r.best_lengths[1].loss));
}

TEST(Trainer, Errors) {
  const Task task = small_task("patterns", 64);
  TransformerClassifier model(small_config(task, "none"));
  TrainOptions o = small_options(0);
  test::expect_invalid([&] { fit(model, task, o); }, {"fit", "'epochs'", "0"});
  o = small_options(1);
  o.threads = 0;
  test::expect_invalid([&] { fit(model, task, o); }, {"fit", "'threads'", "0"});
  o = small_options(1);
  o.eval_batch_tokens = -1;
  test::expect_invalid([&] { fit(model, task, o); }, {"fit", "'eval_batch_tokens'", ">= 0", "-1"});
  TransformerLM lm(small_config(task, "none"));
  test::expect_invalid([&] { fit(lm, task, small_options(1)); }, {"fit", "classification task"});
  ModelConfig c = small_config(task, "none");
  c.classes = 5;
  TransformerClassifier five(c);
  test::expect_invalid([&] { fit(five, task, small_options(1)); }, {"fit", "3 classes", "classes = 5"});
}

}  // namespace
}  // namespace posenc::train
