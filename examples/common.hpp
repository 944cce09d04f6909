// Helpers shared by the example programs: seeded random token embeddings and a
// one-line report of what an encoding filled and what the layer returned.
#pragma once

#include <iostream>
#include <random>
#include <string>

#include "posenc/posenc.hpp"

namespace example {

/// x [1, tokens, dim] ~ N(0, scale^2), seeded: the same inputs on every run.
inline posenc::Tensor random_tokens(std::int64_t tokens, std::int64_t dim, std::uint64_t seed, double scale = 1.0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, scale);
  posenc::Tensor x = posenc::Tensor::from_shape({1, static_cast<std::size_t>(tokens), static_cast<std::size_t>(dim)});
  for (auto& v : x) v = static_cast<float>(normal(rng));
  return x;
}

/// "name: fills input_add rotation bias; layer [1, N, D] -> [1, N, D]".
inline void report(const std::string& name, const posenc::Encoding& e, const posenc::Tensor& x,
                   const posenc::Tensor& y) {
  std::cout << name << ": fills" << (posenc::is_set(e.input_add) ? " input_add" : "")
            << (posenc::is_set(e.input_concat) ? " input_concat" : "") << (!e.rotation.empty() ? " rotation" : "")
            << (e.biases.empty() ? "" : " bias") << (e.empty() ? " nothing" : "") << "; layer "
            << posenc::shape_string(x) << " -> " << posenc::shape_string(y) << "\n";
}

}  // namespace example
