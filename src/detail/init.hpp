// Shared pieces of the encoding builders: seeded truncated-normal tables (timm's trunc_normal_
// at +-2 std, by rejection) and wrapping a [N, D] table as an input-side part [1, N, D].
#pragma once

#include <cmath>
#include <random>
#include <string>

#include "detail/check.hpp"
#include "posenc/encoding.hpp"

namespace posenc::detail {

/// Largest std accepted: draws up to +-2 std must stay inside float32's range.
inline constexpr double kMaxTruncNormalStd = 1e37;

/// Fills t with N(0, std^2) draws rejected outside +-2 std, from a mt19937_64 seeded with `seed`.
/// `std` must be positive, finite and at most kMaxTruncNormalStd (a negative, zero or NaN std
/// would make the rejection loop run forever): otherwise std::invalid_argument naming `fn` and
/// parameter 'std'. Each draw is accepted with probability 0.954, so the loop ends.
inline void fill_trunc_normal(Tensor& t, double std, std::uint64_t seed, const char* fn = "fill_trunc_normal") {
  if (!(std > 0) || !(std <= kMaxTruncNormalStd))
    fail(fn, "parameter 'std' must be positive, finite and <= ", kMaxTruncNormalStd, ", got ", std);
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> d(0.0, std);
  for (auto& v : t) {
    double x;
    do x = d(gen);
    while (std::abs(x) > 2 * std);
    v = static_cast<float>(x);
  }
}

/// An encoding whose input_add (or, with concat, input_concat) is the table [N, D] as [1, N, D].
inline Encoding table_part(const std::string& name, Tensor table, bool concat = false) {
  Encoding e;
  e.name = name;
  table.reshape({1, table.shape()[0], table.shape()[1]});
  (concat ? e.input_concat : e.input_add) = std::move(table);
  return e;
}

}  // namespace posenc::detail
