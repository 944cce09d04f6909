// Private helpers for the error style of posenc: every caller error names the
// function, the parameter and the offending value.
#pragma once

#include <unistd.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>

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

/// A caller's output buffer (the *_into functions) must hold exactly rows x cols elements.
inline void require_out_size(const char* fn, std::size_t have, std::size_t rows, std::size_t cols) {
  if (have != rows * cols)
    fail(fn, "parameter 'out' must hold rows x cols = ", rows, " x ", cols, " = ", rows * cols, " floats, got ", have);
}

/// Where a table writer puts its [rows, cols] floats: the caller's buffer *out (size checked,
/// naming fn), or, when out is null, `fresh`, allocated here with that shape.
template <class T>
float* table_target(const char* fn, std::span<float>* out, T& fresh, std::size_t rows, std::size_t cols) {
  if (out) {
    require_out_size(fn, out->size(), rows, cols);
    return out->data();
  }
  fresh = T::from_shape(std::array<std::size_t, 2>{rows, cols});
  return fresh.data();
}

/// Bytes as "N bytes (x.y GiB)" for messages (scientific notation when huge).
inline std::string bytes_text(long double bytes) {
  std::ostringstream os;
  const long double gib = bytes / (1024.0L * 1024.0L * 1024.0L);
  if (bytes < 1e18L) os << static_cast<unsigned long long>(bytes) << " bytes";
  else os << static_cast<double>(bytes) << " bytes";
  os << " (";
  if (gib < 1e6L) os << std::fixed;
  os.precision(1);
  os << static_cast<double>(gib) << " GiB)";
  return os.str();
}

/// The machine's physical memory in bytes (the limit of require_allocation); 0 when unknown.
inline std::uint64_t physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return 0;
  return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page);
}

/// Before allocating `count` items of `bytes_per_item` bytes for `what`: throws
/// std::invalid_argument naming the function, `what`, the count and the bytes it would need when
/// that is more than the machine's physical memory (or overflows). `what` reads as a noun phrase,
/// e.g. "node count" or "x.csv:3: node id 10^18 gives a node count".
inline void require_allocation(const char* fn, const std::string& what, long double count, long double bytes_per_item) {
  if (!(count >= 0)) fail(fn, what, " ", count, " must be >= 0");
  const long double bytes = count * bytes_per_item;
  const std::uint64_t limit = physical_memory_bytes();
  if (limit != 0 && bytes > static_cast<long double>(limit)) {
    std::ostringstream c;
    c.precision(20);
    c << count;
    fail(fn, what, " ", c.str(), " would need ", bytes_text(bytes), ", more than this machine's memory (",
         bytes_text(static_cast<long double>(limit)), ")");
  }
}

/// Every element of a tensor (anything with data() and size()) finite, else std::invalid_argument
/// "fn: parameter 'name' must hold finite values, got nan at flat index i".
template <class T>
void require_finite_tensor(const char* fn, const char* name, const T& tensor) {
  const auto* p = tensor.data();
  for (std::size_t i = 0, n = tensor.size(); i < n; ++i)
    if (!std::isfinite(static_cast<double>(p[i])))
      fail(fn, "parameter '", name, "' must hold finite values, got ", static_cast<double>(p[i]), " at flat index ", i);
}

}  // namespace posenc::detail
