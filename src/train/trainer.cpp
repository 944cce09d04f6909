// The training loop (posenc/trainer.hpp).
#include "posenc/trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include <omp.h>

#include "detail/gemm.hpp"
#include "train/common.hpp"

extern "C" int openblas_get_num_threads(void) __attribute__((weak));
extern "C" void openblas_set_num_threads(int) __attribute__((weak));

namespace posenc::train {

using detail::fail;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

/// OpenMP's and OpenBLAS's threads for the duration of a fit (restored afterwards): the layers'
/// parallel loops would otherwise use every core (and spin) whatever options.threads says.
class BlasThreads {
 public:
  explicit BlasThreads(int threads) : omp_saved_(omp_get_max_threads()) {
    omp_set_num_threads(threads);
    if (openblas_get_num_threads && openblas_set_num_threads) {
      saved_ = openblas_get_num_threads();
      openblas_set_num_threads(threads);
    }
  }
  ~BlasThreads() {
    omp_set_num_threads(omp_saved_);
    if (saved_ > 0) openblas_set_num_threads(saved_);
  }
  BlasThreads(const BlasThreads&) = delete;
  BlasThreads& operator=(const BlasThreads&) = delete;

 private:
  int omp_saved_ = 1, saved_ = 0;
};

/// Rows [from, from + count) of `order` (empty: 0, 1, ...) gathered from a dataset.
Dataset gather(const Dataset& d, const std::vector<std::size_t>& order, std::size_t from, std::size_t count) {
  std::vector<std::size_t> rows(count);
  for (std::size_t r = 0; r < count; ++r) rows[r] = order.empty() ? from + r : order[from + r];
  return select_rows(d, rows);
}

/// Loss (mean), gradient, correct predictions and targets of one batch.
struct BatchResult {
  Loss loss;
  double correct = 0, count = 0;
};

double count_correct(const Tensor& logits, const ITensor& targets) {
  const std::size_t classes = logits.shape()[logits.dimension() - 1];
  double correct = 0;
  for (std::size_t m = 0; m < targets.size(); ++m) {
    if (targets.data()[m] < 0) continue;
    const float* z = logits.data() + m * classes;
    const auto best = static_cast<std::int64_t>(std::max_element(z, z + classes) - z);
    correct += best == targets.data()[m] ? 1 : 0;
  }
  return correct;
}

BatchResult run_batch(TransformerClassifier& model, const Dataset& b) {
  const Tensor logits = model.forward(b.tokens);
  BatchResult r{cross_entropy(logits, b.labels), count_correct(logits, b.labels), static_cast<double>(b.size())};
  return r;
}

BatchResult run_batch(TransformerLM& model, const Dataset& b) {
  const Tensor logits = model.forward(b.tokens);
  const ITensor targets = TransformerLM::next_token_targets(b.tokens);
  BatchResult r{cross_entropy(logits, targets), count_correct(logits, targets), 0};
  for (auto t : targets) r.count += t >= 0 ? 1 : 0;
  return r;
}

BatchResult run_batch(FeatureTransformer& model, const Dataset& b) {
  const Tensor out = model.forward(b.features, b.lengths, b.where);
  if (is_set(b.targets)) {  // per-token outputs [B, N, K]: padded tokens are not errors
    const bool per_token = out.dimension() == 3 && !b.lengths.empty();
    return BatchResult{per_token ? mse(out, b.targets, b.lengths) : mse(out, b.targets), kNaN,
                       static_cast<double>(b.size())};
  }
  BatchResult r{cross_entropy(out, b.labels), count_correct(out, b.labels), 0};
  for (auto t : b.labels) r.count += t >= 0 ? 1 : 0;
  return r;
}

template <class Model>
LengthMetrics evaluate_any(Model& model, const Dataset& data, std::int64_t batch_tokens) {
  if (batch_tokens < 1) fail("evaluate", "parameter 'batch_tokens' must be >= 1, got ", batch_tokens);
  const bool was = model.training();
  model.set_training(false);
  const std::size_t batch = std::max<std::size_t>(1, static_cast<std::size_t>(batch_tokens / std::max<std::int64_t>(1, data.length())));
  double loss = 0, correct = 0, count = 0;
  for (std::size_t from = 0; from < data.size(); from += batch) {
    const BatchResult r = run_batch(model, gather(data, {}, from, std::min(batch, data.size() - from)));
    loss += r.loss.value * r.count;
    correct += r.correct;
    count += r.count;
  }
  model.set_training(was);
  return LengthMetrics{data.length(), count > 0 ? loss / count : kNaN, count > 0 ? correct / count : kNaN};
}

void check_options(const char* fn, const TrainOptions& o) {
  if (o.epochs < 1) fail(fn, "parameter 'epochs' must be >= 1, got ", o.epochs);
  if (o.batch < 1) fail(fn, "parameter 'batch' must be >= 1, got ", o.batch);
  if (o.threads < 1 || o.threads > 256) fail(fn, "parameter 'threads' must be in [1, 256], got ", o.threads);
  if (!(o.warmup_fraction >= 0 && o.warmup_fraction <= 1))
    fail(fn, "parameter 'warmup_fraction' must be in [0, 1], got ", o.warmup_fraction);
  if (!std::isfinite(o.clip)) fail(fn, "parameter 'clip' must be finite, got ", o.clip);
  if (!std::isfinite(o.adamw.lr) || o.adamw.lr < 0) fail(fn, "parameter 'lr' must be finite and >= 0, got ", o.adamw.lr);
  if (o.length_eval_every < 0) fail(fn, "parameter 'length_eval_every' must be >= 0, got ", o.length_eval_every);
  if (o.eval_batch_tokens < 0) fail(fn, "parameter 'eval_batch_tokens' must be >= 0, got ", o.eval_batch_tokens);
}

/// The model a task needs ("TransformerLM", "TransformerClassifier" or "FeatureTransformer").
const char* model_for(const Task& task) {
  return task.language_model ? "TransformerLM" : task.input_features > 0 ? "FeatureTransformer" : "TransformerClassifier";
}

template <class Model>
void check_task(const char* fn, Model& model, const Task& task, const char* model_name) {
  const ModelConfig& c = model.config();
  const bool lm = std::string(model_name) == "TransformerLM";
  if (std::string(model_for(task)) != model_name)
    fail(fn, "task '", task.name, "' is a ",
         task.language_model ? "language-modelling" : task.input_features > 0 ? "feature" : "classification",
         " task: train a ", model_for(task), ", not a ", model_name);
  if (task.train.size() == 0 || task.validation.size() == 0)
    fail(fn, "task '", task.name, "' has an empty training or validation split");
  if (task.input_features > 0 && task.input_features != c.input_features)
    fail(fn, "task '", task.name, "' has ", task.input_features, " input features but the model has input_features = ",
         c.input_features);
  if (task.input_features == 0 && task.vocab > c.vocab)
    fail(fn, "task '", task.name, "' has vocab ", task.vocab, " > the model's vocab ", c.vocab);
  if (!lm && task.classes != c.classes)
    fail(fn, "task '", task.name, "' has ", task.classes, task.regression ? " targets" : " classes",
         " but the model has classes = ", c.classes);
  const std::int64_t limit = max_input_length(c);
  if (limit >= 0 && task.length > limit)
    fail(fn, "task '", task.name, "' trains at length ", task.length, " but the learned position table has max_len = ",
         c.position.max_len, " rows", c.pooling == Pooling::cls && !lm ? " (one for the class token)" : "",
         "; raise position.max_len (--max-len) to at least ", task.length + (c.pooling == Pooling::cls && !lm ? 1 : 0));
}

/// Tokens per evaluation batch: the option, or one training batch's tokens when it is 0.
std::int64_t eval_tokens(const TrainOptions& o, const Task& task) {
  return o.eval_batch_tokens > 0 ? o.eval_batch_tokens : o.batch * std::max<std::int64_t>(1, task.length);
}

/// Measure the longer evaluation sets (NaN where the model cannot take the length).
template <class Model>
std::vector<LengthMetrics> measure_lengths(Model& model, const Task& task, const TrainOptions& o,
                                           std::vector<std::string>* notes) {
  std::vector<LengthMetrics> out;
  const std::int64_t limit = max_input_length(model.config());
  for (const auto& ls : task.lengths) {
    if (limit >= 0 && ls.length > limit) {
      out.push_back({ls.length, kNaN, kNaN});
      if (notes)
        notes->push_back("length " + std::to_string(ls.length) + " skipped: the learned position table has max_len = " +
                         std::to_string(model.config().position.max_len) + " rows");
      continue;
    }
    out.push_back(evaluate_any(model, ls.data, eval_tokens(o, task)));
  }
  return out;
}

std::vector<Tensor> snapshot(const std::vector<Parameter>& params) {
  std::vector<Tensor> out;
  out.reserve(params.size());
  for (const auto& p : params) out.push_back(*p.value);
  return out;
}

std::vector<std::size_t> shuffled(std::size_t n, std::uint64_t seed) {
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  std::uint64_t state = seed;
  for (std::size_t i = n; i > 1; --i) {
    state = detail::derive_seed(state, i);
    std::swap(order[i - 1], order[state % i]);  // bias < i / 2^64: negligible
  }
  return order;
}

struct Loop {
  std::int64_t steps = 0, total = 0;
  Clock::time_point t0;
};

/// One epoch of training steps; fills train_loss, train_accuracy and lr.
template <class Model>
void train_epoch(Model& model, AdamW& opt, const LrSchedule& schedule, const Task& task, const TrainOptions& o,
                 const Loop& loop, EpochMetrics& m) {
  const std::size_t samples = task.train.size(), batch = static_cast<std::size_t>(o.batch);
  const auto order = shuffled(samples, detail::derive_seed(o.seed, 1000 + static_cast<std::uint64_t>(m.epoch)));
  const auto& params = opt.parameters();
  double loss = 0, correct = 0, count = 0;
  model.set_training(true);
  for (std::int64_t s = 0; s < loop.steps; ++s) {
    const std::size_t from = static_cast<std::size_t>(s) * batch;
    const Dataset b = gather(task.train, order, from, std::min(batch, samples - from));
    const std::int64_t global = (m.epoch - 1) * loop.steps + s + 1;
    const std::string where = " at step " + std::to_string(global) + " (epoch " + std::to_string(m.epoch) +
                              ", batch " + std::to_string(s + 1) + " of " + std::to_string(loop.steps) + ")";
    opt.zero_grad();
    const BatchResult r = run_batch(model, b);
    if (!std::isfinite(r.loss.value))
      throw NonFiniteLoss("fit: non-finite training loss (" + std::to_string(r.loss.value) + ")" + where +
                              "; lower the learning rate (lr = " + std::to_string(o.adamw.lr) + ")",
                          global);
    model.backward(r.loss.grad);
    try {
      clip_grad_norm(params, o.clip);
    } catch (const std::runtime_error&) {
      throw NonFiniteLoss("fit: non-finite gradient norm" + where + "; lower the learning rate (lr = " +
                              std::to_string(o.adamw.lr) + ")",
                          global);
    }
    m.lr = schedule.lr(opt.steps());
    opt.set_lr(m.lr);
    opt.step();
    loss += r.loss.value * r.count;
    correct += r.correct;
    count += r.count;
    if (o.progress) {
      Progress p{.epoch = m.epoch, .epochs = o.epochs, .step = s + 1, .steps = loop.steps, .global_step = global,
                 .total_steps = loop.total, .loss = loss / count, .accuracy = correct / count, .elapsed = since(loop.t0)};
      p.remaining = p.elapsed / static_cast<double>(global) * static_cast<double>(loop.total - global);
      o.progress(p);
    }
  }
  m.train_loss = loss / count;
  m.train_accuracy = correct / count;
}

template <class Model>
TrainResult fit_any(Model& model, const Task& task, const TrainOptions& o, const char* model_name) {
  const char* fn = "fit";
  check_options(fn, o);
  check_task(fn, model, task, model_name);
  const bool lower_is_better = task.language_model || task.regression;
  BlasThreads blas(o.threads);
  posenc::detail::prepare_sgemm();  // the products' one-time kernel generation, not inside the first epoch
  TrainResult result;
  const auto params = model.parameters();
  result.parameter_count = parameter_count(params);
  AdamW opt(params, o.adamw);
  Loop loop{.steps = static_cast<std::int64_t>((task.train.size() + static_cast<std::size_t>(o.batch) - 1) /
                                               static_cast<std::size_t>(o.batch)),
            .total = 0, .t0 = Clock::now()};
  loop.total = loop.steps * o.epochs;
  const LrSchedule schedule{.kind = o.schedule, .base_lr = o.adamw.lr,
                            .warmup_steps = static_cast<std::int64_t>(std::llround(o.warmup_fraction * static_cast<double>(loop.total))),
                            .total_steps = loop.total, .min_ratio = o.min_lr_ratio};
  std::vector<Tensor> best;
  for (std::int64_t epoch = 1; epoch <= o.epochs; ++epoch) {
    const auto te = Clock::now();
    EpochMetrics m;
    m.epoch = epoch;
    train_epoch(model, opt, schedule, task, o, loop, m);
    const LengthMetrics v = evaluate_any(model, task.validation, eval_tokens(o, task));
    m.val_loss = v.loss;
    m.val_accuracy = v.accuracy;
    const bool lengths_now = o.length_eval_every > 0 && (epoch % o.length_eval_every == 0 || epoch == o.epochs);
    if (lengths_now) m.lengths = measure_lengths(model, task, o, nullptr);
    else
      for (const auto& ls : task.lengths) m.lengths.push_back({ls.length, kNaN, kNaN});
    const bool better = result.best_epoch == 0 ||
                        (lower_is_better ? m.val_loss < result.best_val_loss : m.val_accuracy > result.best_val_accuracy);
    if (better) {
      result.best_epoch = epoch;
      result.best_val_loss = m.val_loss;
      result.best_val_accuracy = m.val_accuracy;
      best = snapshot(params);
      if (!o.checkpoint_dir.empty()) model.save(o.checkpoint_dir);
    }
    m.seconds = since(te);
    result.history.push_back(m);
    if (o.progress) {
      const auto& last = result.history.back();
      Progress p{.epoch = epoch, .epochs = o.epochs, .step = loop.steps, .steps = loop.steps,
                 .global_step = epoch * loop.steps, .total_steps = loop.total, .loss = last.train_loss,
                 .accuracy = last.train_accuracy, .elapsed = since(loop.t0), .epoch_end = true, .metrics = &last};
      p.remaining = p.elapsed / static_cast<double>(epoch) * static_cast<double>(o.epochs - epoch);
      o.progress(p);
    }
  }
  if (o.restore_best)
    for (std::size_t i = 0; i < params.size(); ++i) *params[i].value = best[i];
  result.best_lengths.push_back({task.length, result.best_val_loss, result.best_val_accuracy});
  for (const auto& l : measure_lengths(model, task, o, &result.notes)) result.best_lengths.push_back(l);
  result.seconds = since(loop.t0);
  return result;
}

}  // namespace

std::int64_t parameter_count(const std::vector<Parameter>& params) {
  std::int64_t n = 0;
  for (const auto& p : params) n += static_cast<std::int64_t>(p.value->size());
  return n;
}

std::int64_t max_input_length(const ModelConfig& c) {
  if (c.position.kind != "learned") return -1;
  return c.position.max_len - (c.pooling == Pooling::cls ? 1 : 0);
}

ModelConfig task_model_config(const Task& task, const std::string& encoding, std::uint64_t seed) {
  ModelConfig c;
  c.vocab = task.vocab;
  c.classes = task.language_model ? 2 : task.classes;
  if (task.input_features > 0) {
    c.input_features = task.input_features;
    c.input = task.input;
    c.categorical = task.categorical;
    c.pooling = task.pooling;
    c.grid_height = task.grid_height;
    c.grid_width = task.grid_width;
    c.position_features = task.position_features;
    c.tokens = task.length;
  }
  c.position.kind = encoding;
  c.position.max_len = task.length;
  c.seed = seed;
  c.threads = 1;
  return c;
}

LengthMetrics evaluate(TransformerClassifier& model, const Dataset& data, std::int64_t batch_tokens) {
  return evaluate_any(model, data, batch_tokens);
}
LengthMetrics evaluate(TransformerLM& model, const Dataset& data, std::int64_t batch_tokens) {
  return evaluate_any(model, data, batch_tokens);
}

LengthMetrics evaluate(FeatureTransformer& model, const Dataset& data, std::int64_t batch_tokens) {
  return evaluate_any(model, data, batch_tokens);
}

TrainResult fit(TransformerClassifier& model, const Task& task, const TrainOptions& options) {
  return fit_any(model, task, options, "TransformerClassifier");
}
TrainResult fit(TransformerLM& model, const Task& task, const TrainOptions& options) {
  return fit_any(model, task, options, "TransformerLM");
}
TrainResult fit(FeatureTransformer& model, const Task& task, const TrainOptions& options) {
  return fit_any(model, task, options, "FeatureTransformer");
}

}  // namespace posenc::train
