// Checks shared by the builders' backward passes (the *_backward.cpp files of the
// modalities): reading a part of an EncodingGrad, with the shape the builder's own
// Encoding gave it, and turning double accumulators into float gradients.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "detail/check.hpp"
#include "posenc/gradients.hpp"

namespace posenc::detail {

/// The shape of t as a Shape.
inline Shape part_shape(const Tensor& t) { return Shape(t.shape().begin(), t.shape().end()); }

/// The gradient of a part of shape `part`: `g` itself when the shapes agree, or `g` summed over
/// the axes where the part has size 1 (a part shared by batch rows or heads). Throws when `g` is
/// missing or has another shape.
inline Tensor part_grad(const char* fn, const std::string& what, const Tensor& g, const Shape& part) {
  if (!is_set(g))
    fail(fn, "parameter 'grad': part ", what, " is missing (expected shape ", shape_string(part), ")");
  bool ok = g.dimension() == part.size();
  for (std::size_t a = 0; ok && a < part.size(); ++a) ok = g.shape()[a] == part[a] || part[a] == 1;
  if (!ok) fail(fn, "parameter 'grad': part ", what, " has shape ", shape_string(g), ", expected ", shape_string(part));
  return reduce_to_shape(g, part);
}

/// The i-th entry of a part list of the gradient (grad.<list>[i]), or a throw naming it.
template <class T>
const T& part_entry(const char* fn, const char* list, const std::vector<T>& parts, std::size_t i = 0) {
  if (parts.size() <= i)
    fail(fn, "parameter 'grad': part ", list, "[", i, "] is missing (grad.", list, " has ", parts.size(), " entries)");
  return parts[i];
}

/// grad.biases[0], the first bias gradient (text builders: later biases may follow).
inline const BiasGrad& first_bias_grad(const char* fn, const EncodingGrad& grad) {
  if (grad.biases.empty()) fail(fn, "parameter 'grad': part biases[0] is missing (grad.biases is empty)");
  return grad.biases[0];
}

/// The one bias gradient of a single-bias encoding.
inline const BiasGrad& single_bias_grad(const char* fn, const EncodingGrad& grad) {
  if (grad.biases.size() != 1)
    fail(fn, "parameter 'grad' must hold exactly the encoding's one bias gradient, got ", grad.biases.size(),
         " (request biases in the backward)");
  return grad.biases[0];
}

/// The slope gradient [H] of a single-bias encoding with H = `heads` learnable slopes.
inline const Tensor& slope_grad(const char* fn, const EncodingGrad& grad, std::size_t heads) {
  const Tensor& g = single_bias_grad(fn, grad).slopes;
  if (!is_set(g)) fail(fn, "parameter 'grad' has no slope gradient (grad.biases[0].slopes is empty)");
  if (g.dimension() != 1 || g.size() != heads)
    fail(fn, "parameter 'grad': slope gradient must be [", heads, "], got ", shape_string(g));
  return g;
}

/// The bias-table gradient of a single-bias encoding as d table: of the table's shape [H|1, R],
/// or per head [H, R] for a shared table [1, R] (then summed over the heads).
inline Tensor table_grad(const char* fn, const EncodingGrad& grad, const Tensor& table) {
  const Tensor& g = single_bias_grad(fn, grad).table;
  if (!is_set(g)) fail(fn, "parameter 'grad' has no bias table gradient (grad.biases[0].table is empty)");
  const Shape want = part_shape(table), got = part_shape(g);
  if (got == want) return g;
  if (g.dimension() == 2 && want.size() == 2 && want[0] == 1 && got[1] == want[1]) return reduce_to_shape(g, want);
  fail(fn, "parameter 'grad': bias table gradient must be ", shape_string(want), " like the table, got ",
       shape_string(got));
}

/// grad.input_add of an encoding whose input_add is [1, rows, d].
inline const Tensor& input_add_grad(const char* fn, const EncodingGrad& grad, std::size_t rows, std::size_t d) {
  const Tensor& g = grad.input_add;
  if (!is_set(g)) fail(fn, "parameter 'grad' has no input_add gradient (grad.input_add is empty)");
  const Shape want{1, rows, d};
  if (part_shape(g) != want)
    fail(fn, "parameter 'grad': grad.input_add must be ", shape_string(want), ", got ", shape_string(g));
  return g;
}

/// A double accumulator as a float gradient of the given shape.
inline Tensor float_grad(const std::vector<double>& acc, const Shape& shape) {
  Tensor out = Tensor::from_shape(shape);
  std::transform(acc.begin(), acc.end(), out.data(), [](double x) { return static_cast<float>(x); });
  return out;
}

}  // namespace posenc::detail
