// .npy reading and writing (format version 1.0/2.0/3.0, little-endian, C order).
#include "posenc/npy.hpp"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string_view>
#include <type_traits>
#include <filesystem>
#include <fstream>
#include <random>
#include <unistd.h>

#include "detail/check.hpp"

namespace posenc {

std::string shape_string(const Shape& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

namespace {

struct NpyHeader {
  char kind = 'f';        // f, i, u, b
  std::size_t bytes = 4;  // item size
  Shape shape;
  std::size_t count = 1;  // product of the shape (checked for overflow)
};

/// The text after "'key':" in the header dictionary.
std::string header_value(const char* fn, const std::string& header, const std::string& key, const std::string& path) {
  auto pos = header.find("'" + key + "'");
  if (pos == std::string::npos) pos = header.find("\"" + key + "\"");
  if (pos == std::string::npos) detail::fail(fn, "file '", path, "' has no '", key, "' in its header");
  pos = header.find(':', pos);
  if (pos == std::string::npos) detail::fail(fn, "file '", path, "' has a malformed header field '", key, "'");
  return header.substr(pos + 1);
}

/// A decimal number made only of digits that fits `limit`; false otherwise (no exceptions).
bool parse_size(std::string_view s, std::uint64_t limit, std::uint64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (limit - d) / 10) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

/// Reads and checks the header; `file_size` bounds every length it announces.
NpyHeader parse_header(const char* fn, std::istream& in, const std::string& path, std::uint64_t file_size) {
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0)
    detail::fail(fn, "file '", path, "' is not a .npy file (bad magic)");
  const int major = static_cast<unsigned char>(magic[6]);
  if (major < 1 || major > 3)
    detail::fail(fn, "file '", path, "' has unsupported format version ", major, " (need 1, 2 or 3)");
  std::size_t len = 0, prefix = 0;
  if (major == 1) {
    unsigned char b[2];
    if (!in.read(reinterpret_cast<char*>(b), 2)) detail::fail(fn, "file '", path, "' has a truncated header length");
    len = b[0] | (b[1] << 8);
    prefix = 10;
  } else {
    unsigned char b[4];
    if (!in.read(reinterpret_cast<char*>(b), 4)) detail::fail(fn, "file '", path, "' has a truncated header length");
    len = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<std::size_t>(b[3]) << 24);
    prefix = 12;
  }
  // Never trust the length field beyond the file's own size.
  if (len > file_size - prefix)
    detail::fail(fn, "file '", path, "' has a truncated header: header length field says ", len,
                 " bytes but the file holds ", file_size - prefix, " after it");
  std::string header(len, '\0');
  if (!in.read(header.data(), static_cast<std::streamsize>(len)))
    detail::fail(fn, "file '", path, "' has a truncated header");

  NpyHeader h;
  std::string descr = header_value(fn, header, "descr", path);
  const auto q1 = descr.find_first_of("'\"");
  const auto q2 = q1 == std::string::npos ? std::string::npos : descr.find(descr[q1], q1 + 1);
  if (q2 == std::string::npos) detail::fail(fn, "file '", path, "' has a malformed header field 'descr'");
  descr = descr.substr(q1 + 1, q2 - q1 - 1);  // e.g. <f4
  if (descr.size() >= 3 && descr[0] == '>' && descr != ">i1" && descr != ">u1" && descr != ">b1")
    detail::fail(fn, "file '", path, "' has big-endian dtype '", descr, "' (need little-endian)");
  std::uint64_t item = 0;
  if (descr.size() < 3 || (descr[0] != '<' && descr[0] != '|' && descr[0] != '=' && descr[0] != '>') ||
      std::string("fiub").find(descr[1]) == std::string::npos ||
      !parse_size(std::string_view(descr).substr(2), 16, item) || (item != 1 && item != 2 && item != 4 && item != 8))
    detail::fail(fn, "file '", path, "' has non-numeric or unsupported dtype '", descr,
                 "' (need f4, f8, i1-i8, u1-u8 or b1, little-endian)");
  h.kind = descr[1];
  h.bytes = static_cast<std::size_t>(item);

  const std::string order = header_value(fn, header, "fortran_order", path);
  const auto word = order.find_first_not_of(" ");
  if (word != std::string::npos && order.compare(word, 4, "True") == 0)
    detail::fail(fn, "file '", path, "' is in Fortran order; save it with C order");
  if (word == std::string::npos || order.compare(word, 5, "False") != 0)
    detail::fail(fn, "file '", path, "' has a malformed header field 'fortran_order' (need True or False)");

  const std::string shape = header_value(fn, header, "shape", path);
  const auto p1 = shape.find('(');
  const auto p2 = shape.find(')');
  if (p1 == std::string::npos || p2 == std::string::npos || p2 < p1 ||
      shape.find_first_not_of(" ") != p1)
    detail::fail(fn, "file '", path, "' has a malformed header field 'shape' (need a tuple such as (2, 3))");
  const std::string dims = shape.substr(p1 + 1, p2 - p1 - 1);
  std::size_t at = 0;
  // The product runs over the non-zero dimensions: an empty array with a huge other dimension is
  // rejected too, since its strides (signed, as in every strided library) would overflow. NumPy
  // is stricter still (it includes the item size), so no file it writes is refused here.
  constexpr std::uint64_t max_count = std::numeric_limits<std::int64_t>::max();
  std::uint64_t count = 1;
  bool overflow = false, zero = false;
  while (at < dims.size()) {
    const auto comma = dims.find(',', at);
    std::string tok = dims.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    const auto b = tok.find_first_not_of(" "), e = tok.find_last_not_of(" ");
    tok = b == std::string::npos ? "" : tok.substr(b, e - b + 1);
    if (tok.empty()) {
      if (comma == std::string::npos) break;  // "(3,)"
      detail::fail(fn, "file '", path, "' has a malformed header field 'shape': empty dimension in '(", dims, ")'");
    }
    std::uint64_t d = 0;
    if (!parse_size(tok, std::numeric_limits<std::int64_t>::max(), d))
      detail::fail(fn, "file '", path, "' has an invalid dimension '", tok, "' in header field 'shape' (need an integer >= 0)");
    h.shape.push_back(static_cast<std::size_t>(d));
    if (d == 0) zero = true;
    else if (count > max_count / d) overflow = true;
    else count *= d;
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  if (zero && !overflow) count = 0;
  // The data must fit in what the file holds after the header.
  const std::uint64_t avail = file_size - prefix - len;
  if (overflow || (h.bytes != 0 && count > avail / h.bytes) || (h.bytes == 0 && count != 0))
    detail::fail(fn, "file '", path, "' is truncated or has a bad header field 'shape' ", shape_string(h.shape),
                 ": ", overflow ? std::string("the product of the non-zero dimensions overflows int64") : detail::cat(count, " items of ", h.bytes, " bytes"),
                 " but the file holds ", avail, " bytes of data");
  h.count = static_cast<std::size_t>(count);
  return h;
}

/// Opens the file and reads its header (file size known before anything is allocated).
NpyHeader open_npy(const char* fn, std::ifstream& in, const std::string& path) {
  in.open(path, std::ios::binary);
  if (!in) detail::fail(fn, "cannot open file '", path, "'");
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(0, std::ios::beg);
  if (size < 0 || !in) detail::fail(fn, "cannot read file '", path, "' (not a regular file?)");
  if (size < 10) detail::fail(fn, "file '", path, "' is not a .npy file (bad magic: only ", size, " bytes)");
  return parse_header(fn, in, path, static_cast<std::uint64_t>(size));
}

/// Calls f(tag) with a value of the stored C++ type.
template <class F>
void dispatch(const char* fn, const std::string& path, const NpyHeader& h, F&& f) {
  const char k = h.kind;
  const std::size_t b = h.bytes;
  if (k == 'f' && b == 4) f(float{});
  else if (k == 'f' && b == 8) f(double{});
  else if (k == 'i' && b == 1) f(std::int8_t{});
  else if (k == 'i' && b == 2) f(std::int16_t{});
  else if (k == 'i' && b == 4) f(std::int32_t{});
  else if (k == 'i' && b == 8) f(std::int64_t{});
  else if ((k == 'u' || k == 'b') && b == 1) f(std::uint8_t{});
  else if (k == 'u' && b == 2) f(std::uint16_t{});
  else if (k == 'u' && b == 4) f(std::uint32_t{});
  else if (k == 'u' && b == 8) f(std::uint64_t{});
  else detail::fail(fn, "file '", path, "' has unsupported dtype kind '", k, "' size ", b);
}

}  // namespace

NpyInfo npy_info(const std::string& path) {
  std::ifstream in;
  const NpyHeader h = open_npy("npy_info", in, path);
  const char* kind = h.kind == 'f' ? "float" : h.kind == 'i' ? "int" : h.kind == 'u' ? "uint" : "bool";
  return {h.kind == 'b' ? std::string("bool") : kind + std::to_string(8 * h.bytes), h.shape};
}

namespace {

std::vector<char> read_data(const char* fn, std::ifstream& in, const std::string& path, const NpyHeader& h) {
  // Bounded by the file's size (parse_header), so this cannot ask for more than the file holds.
  std::vector<char> raw(h.count * h.bytes);
  if (!in.read(raw.data(), static_cast<std::streamsize>(raw.size())))
    detail::fail(fn, "file '", path, "' is truncated: expected ", h.count, " items of ", h.bytes, " bytes");
  return raw;
}

template <class Out>
xt::xarray<Out> load_as(const char* fn, const std::string& path, bool require_finite) {
  std::ifstream in;
  const NpyHeader h = open_npy(fn, in, path);
  dispatch(fn, path, h, [](auto) {});  // unsupported dtypes fail before reading the data
  const std::vector<char> raw = read_data(fn, in, path, h);
  xt::xarray<Out> out = xt::xarray<Out>::from_shape(h.shape);
  dispatch(fn, path, h, [&](auto tag) {
    using T = decltype(tag);
    for (std::size_t i = 0; i < h.count; ++i) {
      T v;
      std::memcpy(&v, raw.data() + i * sizeof(T), sizeof(T));
      if constexpr (std::is_floating_point_v<T>) {
        if (require_finite && !std::isfinite(v))
          detail::fail(fn, "file '", path, "' holds a non-finite value ", v, " at flat index ", i,
                       " (finite values required)");
        // A double beyond float's range becomes +-inf (the conversion itself would be undefined).
        if constexpr (std::is_same_v<Out, float> && std::is_same_v<T, double>) {
          if (std::isfinite(v) && std::abs(v) > static_cast<double>(std::numeric_limits<float>::max())) {
            if (require_finite)
              detail::fail(fn, "file '", path, "' holds ", v, " at flat index ", i, ", outside the float32 range");
            out.data()[i] = v > 0 ? std::numeric_limits<float>::infinity() : -std::numeric_limits<float>::infinity();
            continue;
          }
        }
      }
      out.data()[i] = static_cast<Out>(v);
    }
  });
  return out;
}

template <class T>
void save_as(const std::string& path, const xt::xarray<T>& t, const char* descr) {
  std::string header = "{'descr': '";
  header += descr;
  header += "', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < t.dimension(); ++i) {
    header += std::to_string(t.shape()[i]);
    if (t.dimension() == 1 || i + 1 < t.dimension()) header += ",";
    if (i + 1 < t.dimension()) header += " ";
  }
  header += "), }";
  // pad so that magic(6)+version(2)+len(2)+header is a multiple of 64, ending in '\n'
  std::size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string bytes = "\x93NUMPY";
  bytes += '\x01';
  bytes += '\x00';
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>((header.size() >> 8) & 0xff);
  bytes += header;
  xt::xarray<T> contiguous = t;  // ensures row-major storage
  bytes.append(reinterpret_cast<const char*>(contiguous.data()), contiguous.size() * sizeof(T));
  write_file_atomic(path, bytes);
}

}  // namespace

Tensor load_npy(const std::string& path, bool require_finite) { return load_as<float>("load_npy", path, require_finite); }
DTensor load_npy_double(const std::string& path, bool require_finite) {
  return load_as<double>("load_npy_double", path, require_finite);
}
ITensor load_npy_int(const std::string& path) {
  const char* fn = "load_npy_int";
  std::ifstream in;
  const NpyHeader h = open_npy(fn, in, path);
  dispatch(fn, path, h, [](auto) {});
  const std::vector<char> raw = read_data(fn, in, path, h);
  ITensor out = ITensor::from_shape(h.shape);
  constexpr double kTwo63 = 9223372036854775808.0;  // 2^63
  dispatch(fn, path, h, [&](auto tag) {
    using T = decltype(tag);
    for (std::size_t i = 0; i < h.count; ++i) {
      T v;
      std::memcpy(&v, raw.data() + i * sizeof(T), sizeof(T));
      if constexpr (std::is_floating_point_v<T>) {
        const double d = static_cast<double>(v);
        if (!std::isfinite(d) || d != std::floor(d) || d < -kTwo63 || d >= kTwo63)
          detail::fail(fn, "file '", path, "' holds ", d, " at flat index ", i,
                       ", not an integer in the int64 range");
        out.data()[i] = static_cast<std::int64_t>(d);
      } else if constexpr (std::is_same_v<T, std::uint64_t>) {
        if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
          detail::fail(fn, "file '", path, "' holds ", v, " at flat index ", i, ", outside the int64 range");
        out.data()[i] = static_cast<std::int64_t>(v);
      } else {
        out.data()[i] = static_cast<std::int64_t>(v);
      }
    }
  });
  return out;
}

void save_npy(const std::string& path, const Tensor& t) { save_as(path, t, "<f4"); }
void save_npy(const std::string& path, const DTensor& t) { save_as(path, t, "<f8"); }
void save_npy(const std::string& path, const ITensor& t) { save_as(path, t, "<i8"); }

void write_file_atomic(const std::string& path, const std::string& contents) {
  namespace fs = std::filesystem;
  fs::path target(path);
  fs::path dir = target.parent_path();
  if (!dir.empty() && !fs::is_directory(dir))
    detail::fail("write_file_atomic", "directory '", dir.string(), "' of output '", path, "' does not exist");
  std::random_device rd;
  fs::path tmp = target;
  tmp += ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(rd());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) detail::fail("write_file_atomic", "cannot create '", tmp.string(), "'");
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    out.flush();
    if (!out) {
      out.close();
      std::error_code ec;
      fs::remove(tmp, ec);
      throw std::runtime_error("write_file_atomic: writing '" + path + "' failed (disk full?)");
    }
  }
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw std::runtime_error("write_file_atomic: cannot rename temporary to '" + path + "'");
  }
}

}  // namespace posenc
