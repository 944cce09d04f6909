// Backward passes of the learnable text builders of posenc/text.hpp (learned
// absolute table, learnable ALiBi slopes, T5 buckets, the learnable relative
// bias), and the learnable relative bias and slope-given ALiBi forwards.
//
// Each backward maps the EncodingGrad of the builder's own Encoding (the parts
// in the order the builder fills them) to the gradients of its parameters.
// Sums run in double; results are float like the parameters.
#include <cmath>
#include <string>
#include <vector>

#include "detail/bias_part.hpp"
#include "detail/check.hpp"
#include "detail/grad_parts.hpp"
#include "posenc/gradients.hpp"
#include "posenc/text.hpp"

namespace posenc {

namespace {

using detail::first_bias_grad;
using detail::part_grad;
using detail::part_shape;

void check_relative_bias_args(const char* fn, const Tensor& weight, std::int64_t k) {
  if (k < 1) detail::fail(fn, "parameter 'max_distance' must be >= 1, got ", k);
  const auto rows = static_cast<std::size_t>(2 * k + 1);
  if (weight.dimension() != 2 || weight.shape()[0] != rows || weight.shape()[1] == 0)
    detail::fail(fn, "parameter 'weight' must be [2 * max_distance + 1 = ", rows, ", heads], got ",
                 shape_string(weight));
  for (float v : weight)
    if (!std::isfinite(v)) detail::fail(fn, "parameter 'weight' holds a non-finite value ", v);
}

}  // namespace

// ------------------------------------------------------------------ learned absolute

Tensor learned_absolute_backward(const Tensor& table, const DTensor& positions, const EncodingGrad& grad) {
  const char* fn = "learned_absolute_backward";
  const Encoding e = learned_absolute(table, positions);  // validates the table and the positions
  const Tensor g = part_grad(fn, "input_add", grad.input_add, part_shape(e.input_add));
  const std::size_t dim = table.shape()[1];
  std::vector<double> acc(table.size(), 0.0);
  for (std::size_t r = 0; r < positions.size(); ++r) {
    const auto row = static_cast<std::size_t>(positions.data()[r]);
    const float* src = g.data() + r * dim;
    double* dst = acc.data() + row * dim;
    for (std::size_t c = 0; c < dim; ++c) dst[c] += src[c];
  }
  Tensor out = Tensor::from_shape(part_shape(table));
  for (std::size_t t = 0; t < acc.size(); ++t) out.data()[t] = static_cast<float>(acc[t]);
  return out;
}

// ------------------------------------------------------------------ learnable ALiBi slopes

Encoding alibi(const DTensor& qp, const DTensor& kp, const Tensor& slopes, const AlibiOptions& options) {
  const char* fn = "alibi";
  if (slopes.dimension() != 1 || slopes.size() == 0)
    detail::fail(fn, "parameter 'slopes' must be a non-empty [H] vector, got ", shape_string(slopes));
  for (float v : slopes)
    if (!std::isfinite(v)) detail::fail(fn, "parameter 'slopes' holds a non-finite value ", v);
  const auto heads = static_cast<std::int64_t>(slopes.size());
  if (options.heads != 0 && options.heads != heads)
    detail::fail(fn, "parameter 'heads' = ", options.heads, " does not match the ", heads, " given slopes");
  // Same relation as the geometric ALiBi; only the slopes are replaced.
  AlibiOptions o = options;
  o.heads = heads;
  o.max_bias = 8.0;
  Encoding e = alibi(qp, kp, o);
  e.biases[0].slopes = slopes;
  return e;
}

Tensor alibi_backward(const EncodingGrad& grad) {
  const char* fn = "alibi_backward";
  const BiasGrad& b = first_bias_grad(fn, grad);
  if (!is_set(b.slopes))
    detail::fail(fn, "parameter 'grad': part biases[0].slopes is missing (request biases for a slope bias)");
  if (b.slopes.dimension() != 1)
    detail::fail(fn, "parameter 'grad': part biases[0].slopes must be [H], got ", shape_string(b.slopes));
  return b.slopes;
}

// ------------------------------------------------------------------ T5

Tensor t5_bias_backward(const DTensor& qp, const DTensor& kp, const Tensor& table, const T5Options& options,
                        const EncodingGrad& grad) {
  const char* fn = "t5_bias_backward";
  const Encoding e = t5_bias(qp, kp, table, options);  // validates the arguments
  return part_grad(fn, "biases[0].table", first_bias_grad(fn, grad).table, part_shape(e.biases[0].table));
}

// ------------------------------------------------------------------ learnable relative bias

Tensor relative_bias_init(std::int64_t max_distance, std::int64_t heads, double std, std::uint64_t seed) {
  const char* fn = "relative_bias_init";
  if (max_distance < 1) detail::fail(fn, "parameter 'max_distance' must be >= 1, got ", max_distance);
  if (heads <= 0) detail::fail(fn, "parameter 'heads' must be positive, got ", heads);
  if (!(std >= 0) || !std::isfinite(std)) detail::fail(fn, "parameter 'std' must be finite and >= 0, got ", std);
  // The same seeded N(0, std^2) generator as the learned absolute table, on [2K + 1, H].
  return learned_table_init(2 * max_distance + 1, heads, std, seed);
}

Encoding relative_bias(const DTensor& qp, const DTensor& kp, const Tensor& weight, std::int64_t max_distance) {
  check_relative_bias_args("relative_bias", weight, max_distance);
  const std::size_t rows = weight.shape()[0], heads = weight.shape()[1];
  Tensor table = Tensor::from_shape({heads, rows});
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t h = 0; h < heads; ++h) table(h, r) = weight(r, h);
  return detail::bias_part("relative_bias", BiasKind::table,
                           Relation::offset(qp, kp, +1, -max_distance, max_distance, /*clip=*/true), std::move(table));
}

Tensor relative_bias_backward(const DTensor& qp, const DTensor& kp, const Tensor& weight, std::int64_t max_distance,
                              const EncodingGrad& grad) {
  const char* fn = "relative_bias_backward";
  check_relative_bias_args(fn, weight, max_distance);
  const Encoding e = relative_bias(qp, kp, weight, max_distance);  // validates the positions
  const Tensor g = part_grad(fn, "biases[0].table", first_bias_grad(fn, grad).table, part_shape(e.biases[0].table));
  const std::size_t rows = weight.shape()[0], heads = weight.shape()[1];
  Tensor out = Tensor::from_shape({rows, heads});
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t h = 0; h < heads; ++h) out(r, h) = g(h, r);
  return out;
}

}  // namespace posenc
