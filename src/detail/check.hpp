// Private helpers for the error style of posenc: every caller error names the
// function, the parameter and the offending value.
#pragma once

#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>

namespace posenc::detail {

template <class... Parts>
std::string cat(const Parts&... parts) {
  std::ostringstream os;
  os.precision(17);
  (os << ... << parts);
  return os.str();
}

/// throw std::invalid_argument("fn: parameter 'name' ... ")
template <class... Parts>
[[noreturn]] void fail(const char* fn, const Parts&... parts) {
  throw std::invalid_argument(cat(fn, ": ", parts...));
}

template <class T>
void require_positive(const char* fn, const char* name, T value) {
  if (!(value > T(0)) || (std::is_floating_point_v<T> && !std::isfinite(static_cast<double>(value))))
    fail(fn, "parameter '", name, "' must be positive and finite, got ", value);
}

inline void require_finite(const char* fn, const char* name, double value) {
  if (!std::isfinite(value)) fail(fn, "parameter '", name, "' must be finite, got ", value);
}

}  // namespace posenc::detail
