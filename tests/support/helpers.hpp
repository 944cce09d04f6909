// Test helpers: seeded random tensors, comparisons and error-message checks.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "posenc/encoding.hpp"
#include "posenc/tensor.hpp"

namespace posenc::test {

inline Tensor random_tensor(Shape shape, std::uint64_t seed, double scale = 1.0) {
  Tensor t = Tensor::from_shape(shape);
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> dist(0.0, scale);
  for (auto& v : t) v = static_cast<float>(dist(gen));
  return t;
}

/// max |a - b| over all elements; shapes must agree.
template <class EA, class EB>
double max_abs_diff(const EA& ea, const EB& eb) {
  const xt::xarray<double> a = ea;
  const xt::xarray<double> b = eb;
  EXPECT_EQ(a.shape().size(), b.shape().size());
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    m = std::max(m, std::abs(static_cast<double>(a.data()[i]) - static_cast<double>(b.data()[i])));
  return m;
}

/// Expect std::invalid_argument whose message contains every fragment.
inline void expect_invalid(const std::function<void()>& fn, std::initializer_list<std::string> fragments) {
  try {
    fn();
    ADD_FAILURE() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    for (const auto& f : fragments) EXPECT_NE(msg.find(f), std::string::npos) << "message: " << msg << "\nmissing: " << f;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected std::invalid_argument, got: " << e.what();
  }
}

/// A tensor of the given shape from row-major values.
inline Tensor make(Shape shape, std::vector<float> values) {
  Tensor t = Tensor::from_shape(shape);
  std::copy(values.begin(), values.end(), t.begin());
  return t;
}

/// Positions [1, n, 1] starting at `offset`.
inline DTensor positions(std::size_t n, double offset = 0) {
  DTensor p = DTensor::from_shape({1, n, 1});
  for (std::size_t i = 0; i < n; ++i) p.data()[i] = offset + static_cast<double>(i);
  return p;
}

/// An encoding with one dense bias [1, H, nq, nk] whose entries come from value(h, i, j): the
/// oracle the per-tile biases of the core are compared with.
template <class F>
Encoding dense_bias_encoding(std::size_t heads, std::size_t nq, std::size_t nk, F value) {
  Encoding e;
  e.biases.push_back({});
  e.biases[0].kind = BiasKind::dense;
  e.biases[0].dense = Tensor::from_shape({1, heads, nq, nk});
  for (std::size_t h = 0; h < heads; ++h)
    for (std::size_t i = 0; i < nq; ++i)
      for (std::size_t j = 0; j < nk; ++j) e.biases[0].dense(0, h, i, j) = static_cast<float>(value(h, i, j));
  return e;
}

}  // namespace posenc::test
