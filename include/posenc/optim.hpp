// posenc/optim.hpp — training parameters, the AdamW optimiser, learning-rate
// schedules and gradient clipping (the training component above the core).
//
// A Parameter names a float tensor and its gradient (same shape), both owned
// by a layer or a position module (posenc/model.hpp lists them with
// parameters()); the pointers stay valid while the model is not moved.
// Gradients accumulate across backward calls until zero_grad().
//
// AdamW (Loshchilov & Hutter 2019, arXiv 1711.05101) exactly as
// torch.optim.AdamW (PyTorch 1.13 _single_tensor_adamw, amsgrad off), per
// element in float with double scalars, step t = 1, 2, ...:
//
//   p   <- p (1 - lr wd)                          decoupled weight decay (before the update)
//   m   <- beta1 m + (1 - beta1) g
//   v   <- beta2 v + (1 - beta2) g^2
//   p   <- p - (lr / (1 - beta1^t)) m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
//
// Defaults as PyTorch: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0.01.
// A Parameter with decay = false skips the first line (a second parameter group
// with weight_decay 0 in PyTorch terms).
//
// Schedules (multipliers of the base learning rate at optimiser step s = 0, 1, ...,
// as torch.optim.lr_scheduler.LambdaLR evaluates them; HF transformers
// get_cosine_schedule_with_warmup):
//   constant:        1
//   warmup_cosine:   s / W for s < W;  else max(0, r + (1 - r) 0.5 (1 + cos(pi min(1, (s - W) / max(1, T - W)))))
//                    with W warm-up steps, T total steps and r = min_ratio (0 in HF).
//
// Global-norm clipping as torch.nn.utils.clip_grad_norm_ (norm_type 2):
//   n = sqrt(sum over every gradient element g^2)     (accumulated in double)
//   c = max_norm / (n + 1e-6);  if c < 1, every gradient is multiplied by c;  returns n.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "posenc/tensor.hpp"

namespace posenc::train {

/// A trainable tensor and its gradient (same shape), owned elsewhere.
struct Parameter {
  std::string name;       ///< dotted name, e.g. "blocks.0.attn.w_q"; the checkpoint file stem
  Tensor* value = nullptr;  ///< the tensor the optimiser updates (not owned)
  Tensor* grad = nullptr;   ///< its gradient, the value's shape (not owned)
  bool decay = true;      ///< AdamW applies weight decay
};

/// Set every gradient to zero (reshaped to its value's shape first if it differs; null entries skipped).
void zero_grad(const std::vector<Parameter>& params);

/// Hyperparameters of AdamW (PyTorch's defaults; formulas at the top).
struct AdamWOptions {
  double lr = 1e-3;           ///< base learning rate [1e-3]
  double beta1 = 0.9;         ///< [0.9]
  double beta2 = 0.999;       ///< [0.999]
  double eps = 1e-8;          ///< [1e-8]
  double weight_decay = 0.01; ///< [0.01], decoupled
};

/// torch.optim.AdamW over a fixed list of parameters (formulas above).
class AdamW {
 public:
  /// Throws std::invalid_argument for a negative lr / eps / weight_decay, betas outside [0, 1),
  /// a null tensor, or a gradient whose shape differs from its value's.
  explicit AdamW(std::vector<Parameter> params, const AdamWOptions& options = {});

  /// One update of every parameter from its current gradient, at the current lr (t = steps() after the
  /// increment). A value or gradient whose shape changed since construction throws std::invalid_argument.
  void step();
  /// Zero every gradient.
  void zero_grad() const;

  /// The current learning rate (options().lr).
  double lr() const { return options_.lr; }
  /// Set the learning rate of the next steps (schedules call it between steps); it must be finite and >= 0
  /// (else std::invalid_argument).
  void set_lr(double lr);
  /// The number of step() calls so far: t of the last update (0 before the first).
  std::int64_t steps() const { return step_; }
  /// The hyperparameters, lr the current one.
  const AdamWOptions& options() const { return options_; }
  /// The parameters being optimised, in construction order.
  const std::vector<Parameter>& parameters() const { return params_; }

  /// Save the moments (`<name>.exp_avg.npy`, `<name>.exp_avg_sq.npy` per parameter) and adamw.json (step, lr,
  /// beta1, beta2, eps, weight_decay) into an existing directory (else std::invalid_argument), for resuming.
  void save_state(const std::string& directory) const;
  /// Load what save_state wrote: every parameter's moments (present, its value's shape), the step count and
  /// the options. A missing file, a shape mismatch or invalid adamw.json throws std::invalid_argument.
  void load_state(const std::string& directory);

 private:
  std::vector<Parameter> params_;
  AdamWOptions options_;
  std::vector<Tensor> exp_avg_, exp_avg_sq_;
  std::int64_t step_ = 0;
};

/// Learning-rate schedule: constant, or linear warm-up then cosine decay (formulas at the top).
enum class ScheduleKind { constant, warmup_cosine };

/// Learning rate at optimiser step s (0-based: the lr used by the (s+1)-th step()).
struct LrSchedule {
  ScheduleKind kind = ScheduleKind::constant;  ///< the schedule [constant]
  double base_lr = 1e-3;          ///< the learning rate the multiplier scales [1e-3]
  std::int64_t warmup_steps = 0;  ///< W
  std::int64_t total_steps = 0;   ///< T >= W (warmup_cosine); after T the rate stays at r base_lr
  double min_ratio = 0.0;         ///< r: floor of the cosine as a fraction of base_lr [0]

  /// The multiplier of base_lr at step s >= 0 (formulas at the top). Throws std::invalid_argument for
  /// s < 0 and, for warmup_cosine, W < 0, T < W or r outside [0, 1].
  double multiplier(std::int64_t step) const;
  /// base_lr * multiplier(step).
  double lr(std::int64_t step) const { return base_lr * multiplier(step); }
};

/// "constant" or "warmup_cosine" (also "cosine"); an unknown name throws with the closest suggestion.
ScheduleKind schedule_kind(const std::string& name);

/// Global 2-norm clipping (torch.nn.utils.clip_grad_norm_); returns the norm before clipping.
/// max_norm <= 0 only measures. A non-finite norm throws std::runtime_error (nothing is scaled).
double clip_grad_norm(const std::vector<Parameter>& params, double max_norm);

}  // namespace posenc::train
