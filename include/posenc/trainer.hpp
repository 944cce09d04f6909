// posenc/trainer.hpp — the training loop over a Task (posenc/tasks.hpp) for a
// TransformerClassifier or a TransformerLM (posenc/model.hpp) with AdamW, a learning-rate
// schedule and global-norm clipping (posenc/optim.hpp).
//
// Per epoch: the training samples are shuffled (Fisher-Yates from a SplitMix64 stream of
// options.seed and the epoch) and cut into batches of options.batch (the last one smaller);
// each step is zero_grad -> forward (training mode) -> cross_entropy -> backward ->
// clip_grad_norm(options.clip) -> set_lr(schedule(step)) -> AdamW step. After the epoch the
// model is evaluated (eval mode, no dropout) on the validation set and, every
// options.length_eval_every epochs and after the last one, on the task's longer evaluation sets.
//
// Metrics: classification — mean cross-entropy and accuracy; language modelling — mean
// next-token cross-entropy and next-token accuracy over every target of the split. train_loss
// and train_accuracy are the means over the epoch's batches as trained (dropout on).
//
// Best checkpoint: the epoch with the highest validation accuracy (classification) or the
// lowest validation loss (LM; ties keep the earlier epoch). With options.checkpoint_dir set, it
// is saved there (save_checkpoint: staged, replaced atomically) whenever it improves; at the end
// the model holds the best epoch's parameters (restore_best) and the longer evaluation sets are
// measured on it (TrainResult::best_lengths).
//
// A non-finite loss or gradient norm stops training with NonFiniteLoss naming the step (1-based
// global step, epoch and batch); the parameters are left as they were before that step's update
// and the checkpoint directory keeps the last good (best so far) checkpoint.
//
// Lengths a model cannot take: a learned absolute table with max_len rows cannot encode longer
// inputs (an error naming the table size when the training length does not fit); a longer
// evaluation set that does not fit is skipped and its metrics are NaN (TrainResult::notes says why).
//
// Determinism: the same model seed, task, options and thread count give bit-identical results.
// options.threads sets the model's attention threads and OpenBLAS's threads during fit.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "posenc/model.hpp"
#include "posenc/optim.hpp"
#include "posenc/tasks.hpp"

namespace posenc::train {

/// Loss and accuracy on one evaluation set (NaN when it was not measured).
struct LengthMetrics {
  std::int64_t length = 0;  ///< N of the evaluation set
  ///@{
  /// Mean cross-entropy (nats) and accuracy in [0, 1] over every target of the set (argmax = target).
  double loss = 0, accuracy = 0;
  ///@}
};

/// The metrics of one epoch (TrainResult::history).
struct EpochMetrics {
  std::int64_t epoch = 0;  ///< 1-based
  ///@{
  /// Training loss and accuracy (means over the epoch's batches, dropout on), then validation loss and
  /// accuracy (eval mode), as at the top.
  double train_loss = 0, train_accuracy = 0, val_loss = 0, val_accuracy = 0;
  ///@}
  double seconds = 0;      ///< wall time of the epoch (training and evaluation)
  double lr = 0;           ///< learning rate of the epoch's last step
  std::vector<LengthMetrics> lengths;  ///< the task's longer evaluation sets (NaN when not measured this epoch)
};

/// What the progress callback sees: after every step, and once more at the end of each epoch
/// (epoch_end, with `metrics` set).
struct Progress {
  ///@{
  /// Epoch (1-based) of epochs; step within the epoch (1-based) of steps, the steps per epoch.
  std::int64_t epoch = 0, epochs = 0, step = 0, steps = 0;
  ///@}
  ///@{
  /// Step over the whole fit (1-based) of total_steps = steps * epochs.
  std::int64_t global_step = 0, total_steps = 0;
  ///@}
  ///@{
  /// Training loss and accuracy: running means over the epoch so far (the epoch's at epoch_end).
  double loss = 0, accuracy = 0;
  ///@}
  ///@{
  /// Seconds: since fit started; estimated to the end (from the mean time per step, or per epoch at epoch_end).
  double elapsed = 0, remaining = 0;
  ///@}
  bool epoch_end = false;                 ///< true for the call after the epoch's evaluation
  const EpochMetrics* metrics = nullptr;  ///< at epoch_end the epoch's metrics (valid during the call), else null
};

/// Options of fit. fit throws std::invalid_argument for epochs or batch < 1, threads outside [1, 256],
/// warmup_fraction outside [0, 1], a non-finite clip, an lr that is not finite and >= 0,
/// length_eval_every < 0 or eval_batch_tokens < 0.
struct TrainOptions {
  std::int64_t epochs = 20;        ///< [20]
  std::int64_t batch = 32;         ///< [32]
  AdamWOptions adamw;              ///< lr 1e-3, weight decay 0.01 (PyTorch's defaults)
  ScheduleKind schedule = ScheduleKind::warmup_cosine;  ///< learning-rate schedule over all steps [warmup_cosine]
  double warmup_fraction = 0.05;   ///< warm-up steps as a fraction of all steps [0.05]
  double min_lr_ratio = 0.0;       ///< cosine floor [0]
  double clip = 1.0;               ///< global-norm clipping (<= 0: off) [1]
  std::uint64_t seed = 0;          ///< shuffling seed
  int threads = 1;                 ///< attention and OpenBLAS threads during fit (>= 1)
  std::int64_t length_eval_every = 1;  ///< evaluate the longer lengths every k epochs (0: only the best, at the end)
  /// Evaluation batch: max(1, this / length) sequences; 0: the tokens of one training batch
  /// (batch x the task's length), so evaluation fits in the memory the training steps already
  /// touched [0]. Metrics agree to rounding for any value; larger batches touch fresh memory (the
  /// small ViT's cold epoch, 1 thread: 512 tokens (the default there) 0.30-0.34 s, 1024 tokens
  /// 0.33-0.38 s, 4096 tokens slower still; 6 alternating runs each).
  std::int64_t eval_batch_tokens = 0;
  std::string checkpoint_dir;      ///< empty: no checkpoint files
  bool restore_best = true;        ///< leave the best epoch's parameters in the model
  std::function<void(const Progress&)> progress;  ///< called after every step and each epoch (empty: none)
};

/// What fit returns.
struct TrainResult {
  std::vector<EpochMetrics> history;  ///< one entry per epoch, in order
  std::int64_t best_epoch = 0;        ///< 1-based epoch of the best checkpoint (rule at the top)
  ///@{
  /// Validation loss and accuracy of the best epoch.
  double best_val_loss = 0, best_val_accuracy = 0;
  ///@}
  std::vector<LengthMetrics> best_lengths;  ///< the best model at the validation length, then each longer length
  double seconds = 0;                       ///< the whole fit
  std::int64_t parameter_count = 0;         ///< trainable scalars of the model
  std::vector<std::string> notes;           ///< e.g. lengths skipped and why
};

/// Thrown when a loss or gradient norm is not finite (what() names the step).
class NonFiniteLoss : public std::runtime_error {
 public:
  /// `message` becomes what(); `step` is the 1-based global step.
  NonFiniteLoss(const std::string& message, std::int64_t step) : std::runtime_error(message), step_(step) {}
  /// The 1-based global step whose loss or gradient norm was not finite.
  std::int64_t step() const { return step_; }

 private:
  std::int64_t step_;
};

/// Train a classifier on a classification task (checks: task.classes == config.classes,
/// task.vocab <= config.vocab, the training length fits a learned table, non-empty splits; a failed check
/// or invalid options throw std::invalid_argument). A non-finite loss or gradient norm throws NonFiniteLoss.
TrainResult fit(TransformerClassifier& model, const Task& task, const TrainOptions& options);
/// Train a feature transformer on a feature task (images, graphs, sphere, tables): cross-entropy on labels or,
/// for regression tasks, mean-squared error on targets (accuracy NaN; the best epoch has the lowest
/// validation loss). Checks as above, with task.input_features == config.input_features.
TrainResult fit(FeatureTransformer& model, const Task& task, const TrainOptions& options);
/// Train a language model on a language-modelling task (the same checks and errors, without classes).
TrainResult fit(TransformerLM& model, const Task& task, const TrainOptions& options);

/// Loss and accuracy of a classifier on a dataset (eval mode; restores the training flag), in batches of
/// max(1, batch_tokens / N) sequences; batch_tokens < 1 throws std::invalid_argument.
LengthMetrics evaluate(TransformerClassifier& model, const Dataset& data, std::int64_t batch_tokens = 4096);
/// The same for a feature transformer: cross-entropy and accuracy, or (targets set) mean-squared error and NaN.
LengthMetrics evaluate(FeatureTransformer& model, const Dataset& data, std::int64_t batch_tokens = 4096);
/// The same for a language model: next-token loss and accuracy over every target (TransformerLM::next_token_targets).
LengthMetrics evaluate(TransformerLM& model, const Dataset& data, std::int64_t batch_tokens = 4096);

/// The ModelConfig of the seeds' study for a task and encoding: 3 layers, d_model 128, 8 heads,
/// FFN 4x, dropout 0.1, pre-LN, mean pooling; vocab and classes from the task; learned and
/// continuous_mlp tables sized to the training length (max_len = task.length). Feature tasks also
/// set input_features, input, pooling, the patch grid, position_features and tokens from the task.
ModelConfig task_model_config(const Task& task, const std::string& encoding, std::uint64_t seed);

/// Number of trainable scalars.
std::int64_t parameter_count(const std::vector<Parameter>& params);

/// The longest input a model's position module accepts (learned: max_len, +1 reserved for a
/// class token), or -1 when unbounded.
std::int64_t max_input_length(const ModelConfig& config);

}  // namespace posenc::train
