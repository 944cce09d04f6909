// The seeded synthetic tasks (posenc/tasks.hpp): hand checks of the patterns, no accidental
// patterns, determinism, the Markov language, errors.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "posenc/tasks.hpp"
#include "support/helpers.hpp"

namespace posenc::train {
namespace {

TaskOptions small(std::uint64_t seed = 0) {
  TaskOptions o;
  o.seed = seed;
  o.train_samples = 600;
  o.validation_samples = 200;
  o.length_samples = 40;
  return o;
}

TEST(Tasks, PatternsHandCheck) {
  const Task t = make_task("patterns", small());
  EXPECT_FALSE(t.language_model);
  EXPECT_EQ(t.length, 32);
  EXPECT_EQ(t.vocab, 20);
  EXPECT_EQ(t.classes, 3);
  EXPECT_TRUE(t.lengths.empty());
  ASSERT_EQ(t.train.size(), 600u);
  ASSERT_EQ(t.validation.size(), 200u);
  // The study's patterns, written out by hand.
  const std::int64_t pos[3][2] = {{3, 7}, {5, 10}, {15, 20}}, val[3][2] = {{5, 8}, {3, 9}, {7, 4}};
  std::set<std::int64_t> background;
  int per_class[3] = {0, 0, 0};
  for (const Dataset* d : {&t.train, &t.validation})
    for (std::size_t s = 0; s < d->size(); ++s) {
      const std::int64_t c = d->labels(s);
      ASSERT_TRUE(c >= 0 && c < 3);
      ++per_class[c];
      EXPECT_EQ(d->tokens(s, pos[c][0]), val[c][0]) << s;
      EXPECT_EQ(d->tokens(s, pos[c][1]), val[c][1]) << s;
      for (int o = 0; o < 3; ++o) {  // no other class's pattern at its positions
        if (o == c) continue;
        EXPECT_FALSE(d->tokens(s, pos[o][0]) == val[o][0] && d->tokens(s, pos[o][1]) == val[o][1]) << s;
      }
      EXPECT_EQ(patterns_label(d->tokens, s), c);
      for (std::size_t i = 0; i < 32; ++i) {
        ASSERT_TRUE(d->tokens(s, i) >= 0 && d->tokens(s, i) < 20);
        if (i == 0) background.insert(d->tokens(s, i));  // position 0 is background for every class
      }
    }
  EXPECT_EQ(background.size(), 20u);  // uniform over the whole vocabulary
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(per_class[c] / 800.0, 1.0 / 3.0, 0.06);
}

TEST(Tasks, PatternsDefaultSizesAndDeterminism) {
  const Task a = make_task("patterns"), b = make_task("patterns");
  EXPECT_EQ(a.train.size(), 5000u);
  EXPECT_EQ(a.validation.size(), 1000u);
  EXPECT_TRUE(a.train.tokens == b.train.tokens);
  EXPECT_TRUE(a.validation.labels == b.validation.labels);
  TaskOptions o;
  o.seed = 1;
  const Task c = make_task("patterns", o);
  EXPECT_FALSE(a.train.tokens == c.train.tokens);
  // Train and validation come from different streams.
  std::size_t same = 0;
  for (std::size_t i = 0; i < 1000 * 32; ++i) same += a.train.tokens.data()[i] == a.validation.tokens.data()[i];
  EXPECT_LT(same, 1000u * 32u / 4u);
}

TEST(Tasks, RelativePatternsHoldExactlyThePlantedPattern) {
  const Task t = make_task("relative_patterns", small(3));
  ASSERT_EQ(t.lengths.size(), 4u);
  const std::int64_t want[4] = {64, 128, 256, 512};
  std::set<std::int64_t> starts;
  for (std::size_t k = 0; k < 4; ++k) {
    EXPECT_EQ(t.lengths[k].length, want[k]);
    EXPECT_EQ(t.lengths[k].data.size(), 40u);
  }
  std::vector<const Dataset*> sets = {&t.train, &t.validation};
  for (const auto& l : t.lengths) sets.push_back(&l.data);
  for (const Dataset* d : sets)
    for (std::size_t s = 0; s < d->size(); ++s) {
      const auto found = find_relative_patterns(d->tokens, s);
      ASSERT_EQ(found.size(), 1u) << "length " << d->length() << " sample " << s;
      EXPECT_EQ(found[0].first, d->labels(s));
      const Pattern& p = class_patterns()[static_cast<std::size_t>(found[0].first)];
      EXPECT_EQ(d->tokens(s, found[0].second), p.first_value);
      EXPECT_EQ(d->tokens(s, found[0].second + p.distance()), p.second_value);
      if (d->length() == 32) starts.insert(found[0].second);
    }
  EXPECT_GT(starts.size(), 20u);  // random absolute positions
  EXPECT_EQ(class_patterns()[0].distance(), 4);
  EXPECT_EQ(class_patterns()[1].distance(), 5);
  EXPECT_EQ(class_patterns()[2].distance(), 5);
}

TEST(Tasks, MarkovLanguage) {
  TaskOptions o = small();
  o.eval_lengths = {64};
  const Task t = make_task("markov", o);
  EXPECT_TRUE(t.language_model);
  EXPECT_EQ(t.vocab, 32);
  ASSERT_EQ(t.lengths.size(), 1u);
  EXPECT_EQ(t.lengths[0].data.length(), 64);
  EXPECT_EQ(t.train.labels.dimension(), 0u);
  // Every context has at most 4 next tokens, the same in every split (one language).
  std::vector<std::set<std::int64_t>> next(32 * 32);
  for (const Dataset* d : {&t.train, &t.validation, &t.lengths[0].data})
    for (std::size_t s = 0; s < d->size(); ++s)
      for (std::size_t i = 2; i < static_cast<std::size_t>(d->length()); ++i)
        next[static_cast<std::size_t>(d->tokens(s, i - 2) * 32 + d->tokens(s, i - 1))].insert(d->tokens(s, i));
  for (const auto& n : next) EXPECT_LE(n.size(), 4u);
  const double h = -(0.55 * std::log(0.55) + 0.25 * std::log(0.25) + 0.15 * std::log(0.15) + 0.05 * std::log(0.05));
  EXPECT_NEAR(markov_entropy(32, 32), (std::log(32.0) + 30 * h) / 31, 1e-12);
  EXPECT_TRUE(make_task("markov", o).train.tokens == t.train.tokens);
  o.language_seed = 99;
  EXPECT_FALSE(make_task("markov", o).train.tokens == t.train.tokens);
}

TEST(Tasks, Errors) {
  test::expect_invalid([] { make_task("paterns"); }, {"make_task", "unknown task 'paterns'", "did you mean 'patterns'"});
  test::expect_invalid([] { make_task("relative-patterns"); }, {"did you mean 'relative_patterns'"});
  TaskOptions o;
  o.length = 16;
  test::expect_invalid([&] { make_task("patterns", o); }, {"make_task", "'length'", "16"});
  o = TaskOptions{};
  o.eval_lengths = {64};
  test::expect_invalid([&] { make_task("patterns", o); }, {"make_task", "fixed positions", "64"});
  o = TaskOptions{};
  o.eval_lengths = {16};
  test::expect_invalid([&] { make_task("relative_patterns", o); }, {"'eval_lengths'", "16"});
  o = TaskOptions{};
  o.train_samples = 0;
  test::expect_invalid([&] { make_task("markov", o); }, {"'train_samples'", "0"});
}

}  // namespace
}  // namespace posenc::train
