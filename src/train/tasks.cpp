// Seeded synthetic tasks (posenc/tasks.hpp): patterns, relative_patterns, markov.
#include "posenc/tasks.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "train/common.hpp"
#include "train/task_registry.hpp"

namespace posenc::train {

using detail::fail;

namespace {

using Rng = detail::TaskStream;

// Streams of the splits (derive_seed(options.seed, stream)).
constexpr std::uint64_t kTrainStream = 1, kValidationStream = 2, kLengthStream = 100;

constexpr std::int64_t kDefaultLength = 32, kPatternVocab = 20, kMarkovVocab = 32, kMarkovChoices = 4;
constexpr std::array<double, kMarkovChoices> kMarkovProbs = {0.55, 0.25, 0.15, 0.05};

struct Resolved {
  std::int64_t length, vocab;
  std::vector<std::int64_t> eval_lengths;
};

Resolved resolve(const char* fn, const std::string& name, const TaskOptions& o) {
  Resolved r;
  r.length = o.length == 0 ? kDefaultLength : o.length;
  r.vocab = o.vocab != 0 ? o.vocab : (name == "markov" ? kMarkovVocab : kPatternVocab);
  if (o.eval_lengths.empty()) {
    if (name == "relative_patterns") r.eval_lengths = {64, 128, 256, 512};
    if (name == "markov") r.eval_lengths = {64, 128, 256};
  } else if (!(o.eval_lengths.size() == 1 && o.eval_lengths[0] == 0)) {
    r.eval_lengths = o.eval_lengths;
  }
  if (o.train_samples < 1) fail(fn, "parameter 'train_samples' must be >= 1, got ", o.train_samples);
  if (o.validation_samples < 1) fail(fn, "parameter 'validation_samples' must be >= 1, got ", o.validation_samples);
  if (o.length_samples < 1) fail(fn, "parameter 'length_samples' must be >= 1, got ", o.length_samples);
  const std::int64_t min_length = name == "patterns" ? 21 : (name == "markov" ? 3 : 6);
  if (r.length < min_length || r.length > 65536)
    fail(fn, "parameter 'length' of task '", name, "' must be in [", min_length, ", 65536], got ", r.length);
  const std::int64_t min_vocab = name == "markov" ? kMarkovChoices : 10;
  if (r.vocab < min_vocab || r.vocab > 1000000)
    fail(fn, "parameter 'vocab' of task '", name, "' must be in [", min_vocab, ", 1000000], got ", r.vocab);
  if (name == "patterns" && !r.eval_lengths.empty())
    fail(fn, "task 'patterns' has fixed positions and no longer evaluation lengths; got eval_lengths[0] = ",
         r.eval_lengths[0]);
  std::sort(r.eval_lengths.begin(), r.eval_lengths.end());
  for (std::size_t i = 0; i < r.eval_lengths.size(); ++i) {
    const std::int64_t l = r.eval_lengths[i];
    if (l <= r.length || l > 65536 || (i > 0 && l == r.eval_lengths[i - 1]))
      fail(fn, "parameter 'eval_lengths' must be distinct lengths in (length = ", r.length, ", 65536], got ", l);
  }
  return r;
}

// ---------------------------------------------------------------------- patterns

bool holds(const ITensor& t, std::size_t s, std::int64_t start, const Pattern& p) {
  return t(s, static_cast<std::size_t>(start)) == p.first_value &&
         t(s, static_cast<std::size_t>(start + p.distance())) == p.second_value;
}

/// One `patterns` sample in row s: uniform background, the class's pattern, no other class's.
void fixed_sample(ITensor& t, std::size_t s, std::int64_t label, std::int64_t vocab, Rng& rng) {
  const auto& pats = class_patterns();
  const std::size_t n = t.shape()[1];
  for (std::size_t i = 0; i < n; ++i) t(s, i) = rng.below(vocab);
  const Pattern& own = pats[static_cast<std::size_t>(label)];
  t(s, static_cast<std::size_t>(own.first_position)) = own.first_value;
  t(s, static_cast<std::size_t>(own.second_position)) = own.second_value;
  for (std::size_t c = 0; c < pats.size(); ++c) {
    if (static_cast<std::int64_t>(c) == label) continue;
    // The six pattern positions are distinct: the other class's positions are background.
    while (holds(t, s, pats[c].first_position, pats[c]))
      t(s, static_cast<std::size_t>(pats[c].second_position)) = rng.below(vocab);
  }
}

/// One `relative_patterns` sample in row s: the class's pattern at a random start, no other occurrence.
void relative_sample(ITensor& t, std::size_t s, std::int64_t label, std::int64_t vocab, Rng& rng) {
  const auto& pats = class_patterns();
  const auto n = static_cast<std::int64_t>(t.shape()[1]);
  for (std::int64_t i = 0; i < n; ++i) t(s, static_cast<std::size_t>(i)) = rng.below(vocab);
  const Pattern& own = pats[static_cast<std::size_t>(label)];
  const std::int64_t start = rng.below(n - own.distance());
  const std::int64_t a = start, b = start + own.distance();
  t(s, static_cast<std::size_t>(a)) = own.first_value;
  t(s, static_cast<std::size_t>(b)) = own.second_value;
  for (bool clean = false; !clean;) {
    clean = true;
    for (std::size_t c = 0; c < pats.size(); ++c) {
      const std::int64_t d = pats[c].distance();
      for (std::int64_t i = 0; i + d < n; ++i) {
        if (!holds(t, s, i, pats[c]) || (static_cast<std::int64_t>(c) == label && i == start)) continue;
        // Redraw a background token of the occurrence (at most one of its two is planted).
        const std::int64_t redraw = (i + d == a || i + d == b) ? i : i + d;
        t(s, static_cast<std::size_t>(redraw)) = rng.below(vocab);
        clean = false;
      }
    }
  }
}

Dataset pattern_split(bool relative, std::int64_t samples, std::int64_t length, std::int64_t vocab,
                      std::uint64_t seed) {
  Rng rng(seed);
  Dataset d;
  d.tokens = ITensor::from_shape({static_cast<std::size_t>(samples), static_cast<std::size_t>(length)});
  d.labels = ITensor::from_shape({static_cast<std::size_t>(samples)});
  for (std::size_t s = 0; s < static_cast<std::size_t>(samples); ++s) {
    const std::int64_t label = rng.below(3);
    d.labels(s) = label;
    if (relative) relative_sample(d.tokens, s, label, vocab, rng);
    else fixed_sample(d.tokens, s, label, vocab, rng);
  }
  return d;
}

// ---------------------------------------------------------------------- markov

/// The language: for each context a * V + b, kMarkovChoices distinct next tokens.
std::vector<std::int64_t> markov_table(std::int64_t vocab, std::uint64_t language_seed) {
  Rng rng(detail::derive_seed(language_seed, 7));
  std::vector<std::int64_t> table(static_cast<std::size_t>(vocab * vocab * kMarkovChoices));
  for (std::size_t c = 0; c < static_cast<std::size_t>(vocab * vocab); ++c) {
    auto* next = &table[c * kMarkovChoices];
    for (std::int64_t k = 0; k < kMarkovChoices; ++k) {
      std::int64_t v;
      do v = rng.below(vocab);
      while (std::find(next, next + k, v) != next + k);
      next[k] = v;
    }
  }
  return table;
}

Dataset markov_split(const std::vector<std::int64_t>& table, std::int64_t samples, std::int64_t length,
                     std::int64_t vocab, std::uint64_t seed) {
  Rng rng(seed);
  Dataset d;
  d.tokens = ITensor::from_shape({static_cast<std::size_t>(samples), static_cast<std::size_t>(length)});
  for (std::size_t s = 0; s < static_cast<std::size_t>(samples); ++s) {
    d.tokens(s, 0) = rng.below(vocab);
    d.tokens(s, 1) = rng.below(vocab);
    for (std::size_t i = 2; i < static_cast<std::size_t>(length); ++i) {
      const std::int64_t ctx = d.tokens(s, i - 2) * vocab + d.tokens(s, i - 1);
      double u = rng.uniform();
      std::int64_t k = 0;
      while (k + 1 < kMarkovChoices && u >= kMarkovProbs[static_cast<std::size_t>(k)])
        u -= kMarkovProbs[static_cast<std::size_t>(k++)];
      d.tokens(s, i) = table[static_cast<std::size_t>(ctx * kMarkovChoices + k)];
    }
  }
  return d;
}

}  // namespace

const std::vector<Pattern>& class_patterns() {
  static const std::vector<Pattern> p = {{3, 5, 7, 8}, {5, 3, 10, 9}, {15, 7, 20, 4}};
  return p;
}

namespace {

/// Rows of t picked by `rows` (leading axis); t unset or with a leading 1 (shared) is returned as is.
template <class T>
T take_rows(const T& t, const std::vector<std::size_t>& rows) {
  if (!is_set(t) || t.shape()[0] == 1) return t;
  Shape shape(t.shape().begin(), t.shape().end());
  const std::size_t per = t.size() / shape[0];
  for (auto r : rows)
    if (r >= shape[0]) fail("select_rows", "parameter 'rows' holds ", r, " but the dataset has ", shape[0], " samples");
  shape[0] = rows.size();
  T out = T::from_shape(shape);
  for (std::size_t r = 0; r < rows.size(); ++r) std::copy_n(t.data() + rows[r] * per, per, out.data() + r * per);
  return out;
}

}  // namespace

Dataset select_rows(const Dataset& d, const std::vector<std::size_t>& rows) {
  Dataset b;
  b.tokens = take_rows(d.tokens, rows);
  b.features = take_rows(d.features, rows);
  b.labels = take_rows(d.labels, rows);
  b.targets = take_rows(d.targets, rows);
  if (!d.lengths.empty())
    for (auto r : rows) b.lengths.push_back(d.lengths.at(r));
  b.where = d.where;
  b.where.positions = take_rows(d.where.positions, rows);
  b.where.hops = take_rows(d.where.hops, rows);
  b.where.degrees = take_rows(d.where.degrees, rows);
  b.where.features = take_rows(d.where.features, rows);
  return b;
}

const detail::TaskEntries& detail::modality_tasks() {
  static const TaskEntries entries = [] {
    TaskEntries e;
    add_image_tasks(e);
    add_graph_tasks(e);
    add_sphere_tasks(e);
    add_tabular_tasks(e);
    return e;
  }();
  return entries;
}

std::vector<std::string> task_names() {
  std::vector<std::string> names{"patterns", "relative_patterns", "markov"};
  for (const auto& e : detail::modality_tasks()) names.push_back(e.name);
  return names;
}

std::string task_summary(const std::string& name) {
  if (name == "patterns")
    return "3 classes, each two values at two fixed positions (5@3 8@7 | 3@5 9@10 | 7@15 4@20), length 32, "
           "vocabulary 20";
  if (name == "relative_patterns")
    return "the same value pairs at distances 4, 5, 5 at random positions; train at 32, evaluate at 64..512";
  if (name == "markov") return "causal LM on a seeded order-2 Markov language (vocabulary 32); train at 32, evaluate to 256";
  for (const auto& e : detail::modality_tasks())
    if (e.name == name) return e.summary;
  return "";
}

Task make_task(const std::string& name, const TaskOptions& o) {
  const char* fn = "make_task";
  const auto names = task_names();
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    const std::string near = detail::closest(name, names);
    std::string known;
    for (const auto& k : names) known += (known.empty() ? "" : ", ") + k;
    fail(fn, "unknown task '", name, "'", near.empty() ? "" : "; did you mean '" + near + "'?", " (", known, ")");
  }
  for (const auto& e : detail::modality_tasks())
    if (e.name == name) {
      Task t = e.make(o);
      t.name = name;
      return t;
    }
  const Resolved r = resolve(fn, name, o);
  Task t;
  t.name = name;
  t.vocab = r.vocab;
  t.length = r.length;
  const std::uint64_t train_seed = detail::derive_seed(o.seed, kTrainStream);
  const std::uint64_t val_seed = detail::derive_seed(o.seed, kValidationStream);
  if (name == "markov") {
    t.language_model = true;
    const auto table = markov_table(r.vocab, o.language_seed);
    t.train = markov_split(table, o.train_samples, r.length, r.vocab, train_seed);
    t.validation = markov_split(table, o.validation_samples, r.length, r.vocab, val_seed);
    for (std::size_t i = 0; i < r.eval_lengths.size(); ++i)
      t.lengths.push_back({r.eval_lengths[i], markov_split(table, o.length_samples, r.eval_lengths[i], r.vocab,
                                                           detail::derive_seed(o.seed, kLengthStream + i))});
    return t;
  }
  const bool relative = name == "relative_patterns";
  t.classes = 3;
  t.train = pattern_split(relative, o.train_samples, r.length, r.vocab, train_seed);
  t.validation = pattern_split(relative, o.validation_samples, r.length, r.vocab, val_seed);
  for (std::size_t i = 0; i < r.eval_lengths.size(); ++i)
    t.lengths.push_back({r.eval_lengths[i], pattern_split(relative, o.length_samples, r.eval_lengths[i], r.vocab,
                                                          detail::derive_seed(o.seed, kLengthStream + i))});
  return t;
}

std::int64_t patterns_label(const ITensor& tokens, std::size_t sample) {
  std::int64_t found = -1;
  const auto& pats = class_patterns();
  for (std::size_t c = 0; c < pats.size(); ++c)
    if (holds(tokens, sample, pats[c].first_position, pats[c])) found = found == -1 ? static_cast<std::int64_t>(c) : -2;
  return found;
}

std::vector<std::pair<std::int64_t, std::int64_t>> find_relative_patterns(const ITensor& tokens, std::size_t sample) {
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  const auto n = static_cast<std::int64_t>(tokens.shape()[1]);
  const auto& pats = class_patterns();
  for (std::size_t c = 0; c < pats.size(); ++c)
    for (std::int64_t i = 0; i + pats[c].distance() < n; ++i)
      if (holds(tokens, sample, i, pats[c])) out.emplace_back(static_cast<std::int64_t>(c), i);
  return out;
}

double markov_entropy(std::int64_t vocab, std::int64_t length) {
  if (vocab < 1 || length < 2) fail("markov_entropy", "parameters 'vocab' = ", vocab, " and 'length' = ", length,
                                    " must be >= 1 and >= 2");
  double h = 0;
  for (double p : kMarkovProbs) h -= p * std::log(p);
  return (std::log(static_cast<double>(vocab)) + static_cast<double>(length - 2) * h) / static_cast<double>(length - 1);
}

}  // namespace posenc::train
