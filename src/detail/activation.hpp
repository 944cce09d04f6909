// Scalar activations of the text builders' MLPs and log-ratio tables (continuous MLP,
// learned Fourier, DA-Transformer), with the derivatives their backward passes need.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "posenc/relative.hpp"

namespace posenc::detail {

/// y = W x + b for one vector with double accumulation; W [out, in] row-major (the MLPs' layers).
inline void affine(const float* w, const float* b, const double* x, std::size_t in, std::size_t out, double* y) {
  for (std::size_t o = 0; o < out; ++o) {
    double acc = b[o];
    for (std::size_t i = 0; i < in; ++i) acc += static_cast<double>(w[o * in + i]) * x[i];
    y[o] = acc;
  }
}

/// The exact GELU x Phi(x).
inline double gelu(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }

/// d/dx of the exact GELU x Phi(x): Phi(x) + x phi(x).
inline double gelu_grad(double x) {
  constexpr double inv_sqrt_2pi = 0.39894228040143267794;
  return 0.5 * (1.0 + std::erf(x / std::sqrt(2.0))) + x * inv_sqrt_2pi * std::exp(-0.5 * x * x);
}

/// ln(1 + e^x) without overflow.
inline double softplus(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x))); }

/// The logistic function, d softplus / dx.
inline double sigmoid(double x) { return x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x)); }

inline double activate(Activation a, double x) {
  switch (a) {
    case Activation::relu: return std::max(x, 0.0);
    case Activation::tanh: return std::tanh(x);
    default: return gelu(x);
  }
}

inline double activate_grad(Activation a, double x) {
  switch (a) {
    case Activation::relu: return x > 0 ? 1.0 : 0.0;
    case Activation::tanh: {
      const double t = std::tanh(x);
      return 1.0 - t * t;
    }
    default: return gelu_grad(x);
  }
}

}  // namespace posenc::detail
