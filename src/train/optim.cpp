// AdamW, learning-rate schedules and gradient clipping (posenc/optim.hpp).
#include "posenc/optim.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "posenc/npy.hpp"
#include "train/common.hpp"

namespace posenc::train {

using detail::fail;
using detail::shape_of;

void zero_grad(const std::vector<Parameter>& params) {
  for (const auto& p : params) {
    if (!p.value || !p.grad) continue;
    if (shape_of(*p.grad) != shape_of(*p.value)) *p.grad = Tensor::from_shape(shape_of(*p.value));
    p.grad->fill(0.0f);
  }
}

// ====================================================================== AdamW

AdamW::AdamW(std::vector<Parameter> params, const AdamWOptions& o) : params_(std::move(params)), options_(o) {
  const char* fn = "AdamW";
  if (!(o.lr >= 0.0)) fail(fn, "parameter 'lr' must be non-negative, got ", o.lr);
  if (!(o.eps >= 0.0)) fail(fn, "parameter 'eps' must be non-negative, got ", o.eps);
  if (!(o.beta1 >= 0.0 && o.beta1 < 1.0)) fail(fn, "parameter 'beta1' must be in [0, 1), got ", o.beta1);
  if (!(o.beta2 >= 0.0 && o.beta2 < 1.0)) fail(fn, "parameter 'beta2' must be in [0, 1), got ", o.beta2);
  if (!(o.weight_decay >= 0.0)) fail(fn, "parameter 'weight_decay' must be non-negative, got ", o.weight_decay);
  for (const auto& p : params_) {
    if (!p.value || !p.grad) fail(fn, "parameter '", p.name, "' has no value or gradient tensor");
    if (shape_of(*p.grad) != shape_of(*p.value))
      fail(fn, "parameter '", p.name, "' has gradient ", shape_string(*p.grad), " for value ", shape_string(*p.value));
    Tensor z = Tensor::from_shape(shape_of(*p.value));
    z.fill(0.0f);
    exp_avg_.push_back(z);
    exp_avg_sq_.push_back(z);
  }
}

void AdamW::set_lr(double lr) {
  if (!(lr >= 0.0) || !std::isfinite(lr)) fail("AdamW::set_lr", "parameter 'lr' must be finite and >= 0, got ", lr);
  options_.lr = lr;
}

void AdamW::step() {
  ++step_;
  const double lr = options_.lr, b1 = options_.beta1, b2 = options_.beta2;
  const double bias1 = 1.0 - std::pow(b1, static_cast<double>(step_));
  const double bias2 = 1.0 - std::pow(b2, static_cast<double>(step_));
  const float step_size = static_cast<float>(lr / bias1);
  const float bias2_sqrt = static_cast<float>(std::sqrt(bias2));
  const float eps = static_cast<float>(options_.eps);
  const float fb1 = static_cast<float>(b1), fb2 = static_cast<float>(b2);
  const float one_b1 = static_cast<float>(1.0 - b1), one_b2 = static_cast<float>(1.0 - b2);
  for (std::size_t k = 0; k < params_.size(); ++k) {
    const Parameter& p = params_[k];
    if (shape_of(*p.grad) != shape_of(*p.value) || shape_of(exp_avg_[k]) != shape_of(*p.value))
      fail("AdamW::step", "parameter '", p.name, "' changed shape to ", shape_string(*p.value));
    const float decay = static_cast<float>(1.0 - lr * options_.weight_decay);
    const bool do_decay = p.decay && options_.weight_decay != 0.0;
    float* w = p.value->data();
    const float* g = p.grad->data();
    float* m = exp_avg_[k].data();
    float* v = exp_avg_sq_[k].data();
    const auto n = static_cast<std::ptrdiff_t>(p.value->size());
#pragma omp parallel for schedule(static) if (n > 65536)
    for (std::ptrdiff_t i = 0; i < n; ++i) {
      if (do_decay) w[i] *= decay;
      m[i] = m[i] * fb1 + g[i] * one_b1;
      v[i] = v[i] * fb2 + (g[i] * g[i]) * one_b2;
      const float denom = std::sqrt(v[i]) / bias2_sqrt + eps;
      w[i] += -step_size * (m[i] / denom);
    }
  }
}

void AdamW::zero_grad() const { train::zero_grad(params_); }

void AdamW::save_state(const std::string& dir) const {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) fail("AdamW::save_state", "parameter 'directory' = '", dir, "' is not a directory");
  for (std::size_t k = 0; k < params_.size(); ++k) {
    save_npy((fs::path(dir) / (params_[k].name + ".exp_avg.npy")).string(), exp_avg_[k]);
    save_npy((fs::path(dir) / (params_[k].name + ".exp_avg_sq.npy")).string(), exp_avg_sq_[k]);
  }
  const nlohmann::json j = {{"step", step_}, {"lr", options_.lr}, {"beta1", options_.beta1},
                            {"beta2", options_.beta2}, {"eps", options_.eps},
                            {"weight_decay", options_.weight_decay}};
  write_file_atomic((fs::path(dir) / "adamw.json").string(), j.dump(2) + "\n");
}

void AdamW::load_state(const std::string& dir) {
  namespace fs = std::filesystem;
  const char* fn = "AdamW::load_state";
  std::ifstream in(fs::path(dir) / "adamw.json");
  if (!in) fail(fn, "parameter 'directory' = '", dir, "' has no readable adamw.json");
  std::stringstream ss;
  ss << in.rdbuf();
  std::vector<Tensor> m, v;
  for (std::size_t k = 0; k < params_.size(); ++k) {
    for (int which = 0; which < 2; ++which) {
      const fs::path path = fs::path(dir) / (params_[k].name + (which ? ".exp_avg_sq.npy" : ".exp_avg.npy"));
      if (!fs::exists(path)) fail(fn, "state for parameter '", params_[k].name, "' is missing (", path.string(), ")");
      Tensor t = load_npy(path.string());
      if (shape_of(t) != shape_of(*params_[k].value))
        fail(fn, "state '", path.string(), "' has shape ", shape_string(t), ", parameter '", params_[k].name,
             "' is ", shape_string(*params_[k].value));
      (which ? v : m).push_back(std::move(t));
    }
  }
  try {
    const auto j = nlohmann::json::parse(ss.str());
    step_ = j.at("step").get<std::int64_t>();
    options_.lr = j.at("lr").get<double>();
    options_.beta1 = j.at("beta1").get<double>();
    options_.beta2 = j.at("beta2").get<double>();
    options_.eps = j.at("eps").get<double>();
    options_.weight_decay = j.at("weight_decay").get<double>();
  } catch (const nlohmann::json::exception& e) {
    fail(fn, "adamw.json in '", dir, "' is not valid: ", e.what());
  }
  exp_avg_ = std::move(m);
  exp_avg_sq_ = std::move(v);
}

// ====================================================================== schedules

double LrSchedule::multiplier(std::int64_t step) const {
  const char* fn = "LrSchedule::multiplier";
  if (step < 0) fail(fn, "parameter 'step' must be non-negative, got ", step);
  if (kind == ScheduleKind::constant) return 1.0;
  if (warmup_steps < 0) fail(fn, "parameter 'warmup_steps' must be non-negative, got ", warmup_steps);
  if (total_steps < warmup_steps)
    fail(fn, "parameter 'total_steps' = ", total_steps, " is below warmup_steps = ", warmup_steps);
  if (!(min_ratio >= 0.0 && min_ratio <= 1.0)) fail(fn, "parameter 'min_ratio' must be in [0, 1], got ", min_ratio);
  if (step < warmup_steps) return static_cast<double>(step) / static_cast<double>(std::max<std::int64_t>(1, warmup_steps));
  const double progress = std::min(1.0, static_cast<double>(step - warmup_steps) /
                                            static_cast<double>(std::max<std::int64_t>(1, total_steps - warmup_steps)));
  const double cosine = 0.5 * (1.0 + std::cos(M_PI * progress));
  return std::max(0.0, min_ratio + (1.0 - min_ratio) * cosine);
}

ScheduleKind schedule_kind(const std::string& name) {
  if (name == "constant") return ScheduleKind::constant;
  if (name == "warmup_cosine" || name == "cosine") return ScheduleKind::warmup_cosine;
  const std::string near = detail::closest(name, {"constant", "warmup_cosine", "cosine"});
  if (near.empty()) fail("schedule_kind", "parameter 'schedule' = '", name, "' must be constant or warmup_cosine");
  fail("schedule_kind", "parameter 'schedule' = '", name, "' is unknown; did you mean '", near, "'?");
}

// ====================================================================== clipping

double clip_grad_norm(const std::vector<Parameter>& params, double max_norm) {
  double sq = 0.0;
  for (const auto& p : params) {
    if (!p.grad) continue;
    const float* g = p.grad->data();
    sq += detail::lane_sum(p.grad->size(), [g](std::size_t i) { return static_cast<double>(g[i]) * g[i]; });
  }
  const double norm = std::sqrt(sq);
  if (!std::isfinite(norm))
    throw std::runtime_error("clip_grad_norm: the gradient norm is not finite (" + std::to_string(norm) + ")");
  if (max_norm > 0.0) {
    const double coef = max_norm / (norm + 1e-6);
    if (coef < 1.0) {
      const auto c = static_cast<float>(coef);
      for (const auto& p : params)
        if (p.grad)
          for (auto& g : *p.grad) g *= c;
    }
  }
  return norm;
}

}  // namespace posenc::train
