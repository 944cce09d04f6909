// The reference forward in double, without the final rounding to float: the
// function the gradient tests differentiate by finite differences.
#pragma once

#include <vector>

#include "posenc/attention.hpp"

namespace posenc::detail {

/// attention_reference's output [B, H, Nq, dv] in double (row-major), and the
/// per-row log-sum-exp [B, H, Nq] when lse is given.
std::vector<double> attention_reference_f64(const Tensor& q, const Tensor& k, const Tensor& v, const Encoding& e,
                                            const AttentionOptions& opts, std::vector<double>* lse = nullptr);

}  // namespace posenc::detail
