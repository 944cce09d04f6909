// Encodings made of one position-position bias (ALiBi with learnable slopes, the
// Swin/BEiT and geodesic bucket tables, the learnable relative bias), and the check of
// learnable slopes.
#pragma once

#include <cmath>
#include <string>
#include <utility>

#include "detail/check.hpp"
#include "posenc/encoding.hpp"

namespace posenc::detail {

/// An encoding named `name` whose only part is the bias of `kind` over `relation`; a slope bias
/// takes `values` as its slopes [H], a table bias as its table [H|1, R].
inline Encoding bias_part(const std::string& name, BiasKind kind, Relation relation, Tensor values) {
  Bias b;
  b.kind = kind;
  b.relation = std::move(relation);
  (kind == BiasKind::slope ? b.slopes : b.table) = std::move(values);
  Encoding e;
  e.name = name;
  e.biases.push_back(std::move(b));
  return e;
}

/// Learnable slopes: [H], H > 0, every value finite.
inline void check_slopes(const char* fn, const Tensor& slopes) {
  if (slopes.dimension() != 1 || slopes.size() == 0)
    fail(fn, "parameter 'slopes' must be [H] with H > 0, got ", shape_string(slopes));
  for (float v : slopes)
    if (!std::isfinite(v)) fail(fn, "parameter 'slopes' holds a non-finite value ", v);
}

}  // namespace posenc::detail
