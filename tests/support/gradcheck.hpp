// Finite-difference gradient checks of whole models (the trainable layers of posenc/model.hpp):
// central differences in float with Richardson extrapolation against the analytic gradients.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "posenc/model.hpp"
#include "posenc/optim.hpp"

namespace posenc::test {

/// The small trunk of the finite-difference tests: d_model 8, 2 heads, 2 layers, FFN 2 d_model,
/// no dropout; every other field of `c` is kept.
inline train::ModelConfig tiny_trunk(train::ModelConfig c = {}) {
  c.d_model = 8;
  c.heads = 2;
  c.layers = 2;
  c.ff_multiplier = 2;
  c.dropout = 0.0;
  return c;
}

/// Central differences at h and h/2 combined by Richardson extrapolation (truncation O(h^4)).
inline double fd(const std::function<double()>& loss, float& p, double h) {
  auto central = [&](double step) {
    const float saved = p;
    const float up = static_cast<float>(saved + step), down = static_cast<float>(saved - step);
    p = up;
    const double lu = loss();
    p = down;
    const double ld = loss();
    p = saved;
    return (lu - ld) / (static_cast<double>(up) - static_cast<double>(down));
  };
  return (4 * central(h / 2) - central(h)) / 3;
}

/// `params`' gradients must hold d loss / d param from one backward already; `loss` evaluates the loss
/// without a backward. Every parameter tensor, `samples` spread entries each:
/// |fd - analytic| <= rel max(|an|, 0.1 max|grad of the tensor|) + 3e-5 (the 3e-5 floor is the float
/// forward's rounding noise, ~1e-7 in the loss, over the 3e-2 step). Returns the worst ratio to the tolerance.
inline double check_gradients(const std::vector<train::Parameter>& params, const std::function<double()>& loss,
                              const std::string& what, std::size_t samples = 3, double rel = 2e-3) {
  std::vector<Tensor> saved;
  for (const auto& p : params) saved.push_back(*p.grad);
  double worst = 0;
  for (std::size_t k = 0; k < params.size(); ++k) {
    const Tensor& an = saved[k];
    double scale = 0;
    for (auto v : an) scale = std::max(scale, std::abs(static_cast<double>(v)));
    const std::size_t n = params[k].value->size();
    for (std::size_t s = 0; s < std::min(samples, n); ++s) {
      const std::size_t idx = (s * n) / samples + (s * 7) % std::max<std::size_t>(n / samples, 1);
      const double num = fd(loss, params[k].value->data()[idx], 3e-2);
      const double a = an.data()[idx];
      const double tol = rel * std::max(std::abs(a), 0.1 * scale) + 3e-5;
      worst = std::max(worst, std::abs(num - a) / tol);
      EXPECT_NEAR(num, a, tol) << what << ": " << params[k].name << " flat index " << idx;
    }
  }
  std::printf("[ gradient ] %-28s %3zu tensors, worst |fd - analytic| / tolerance = %.3f\n", what.c_str(),
              params.size(), worst);
  return worst;
}

}  // namespace posenc::test
