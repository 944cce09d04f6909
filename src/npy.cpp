// .npy reading and writing (format version 1.0/2.0/3.0, little-endian, C order).
#include "posenc/npy.hpp"

#include <cstdio>
#include <cstring>
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
};

std::string header_value(const std::string& header, const std::string& key, const std::string& path) {
  auto pos = header.find("'" + key + "'");
  if (pos == std::string::npos) detail::fail("load_npy", "file '", path, "' has no '", key, "' in its header");
  pos = header.find(':', pos);
  return header.substr(pos + 1);
}

NpyHeader parse_header(std::istream& in, const std::string& path) {
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0)
    detail::fail("load_npy", "file '", path, "' is not a .npy file (bad magic)");
  const int major = static_cast<unsigned char>(magic[6]);
  std::size_t len = 0;
  if (major == 1) {
    unsigned char b[2];
    in.read(reinterpret_cast<char*>(b), 2);
    len = b[0] | (b[1] << 8);
  } else {
    unsigned char b[4];
    in.read(reinterpret_cast<char*>(b), 4);
    len = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<std::size_t>(b[3]) << 24);
  }
  std::string header(len, '\0');
  if (!in.read(header.data(), static_cast<std::streamsize>(len)))
    detail::fail("load_npy", "file '", path, "' has a truncated header");

  NpyHeader h;
  std::string descr = header_value(header, "descr", path);
  auto q1 = descr.find('\'');
  auto q2 = descr.find('\'', q1 + 1);
  descr = descr.substr(q1 + 1, q2 - q1 - 1);  // e.g. <f4
  if (descr.size() < 3 || (descr[0] != '<' && descr[0] != '|' && descr[0] != '='))
    detail::fail("load_npy", "file '", path, "' has unsupported dtype '", descr, "' (need little-endian)");
  h.kind = descr[1];
  h.bytes = std::stoul(descr.substr(2));
  if (std::string("fiub").find(h.kind) == std::string::npos)
    detail::fail("load_npy", "file '", path, "' has non-numeric dtype '", descr, "'");

  std::string order = header_value(header, "fortran_order", path);
  if (order.find("True") < order.find(','))
    detail::fail("load_npy", "file '", path, "' is in Fortran order; save it with C order");

  std::string shape = header_value(header, "shape", path);
  auto p1 = shape.find('(');
  auto p2 = shape.find(')');
  std::string dims = shape.substr(p1 + 1, p2 - p1 - 1);
  std::size_t at = 0;
  while (at < dims.size()) {
    auto comma = dims.find(',', at);
    std::string tok = dims.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    tok.erase(0, tok.find_first_not_of(" "));
    if (!tok.empty() && tok.find_first_not_of(" ") != std::string::npos) h.shape.push_back(std::stoul(tok));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  return h;
}

template <class Out>
xt::xarray<Out> load_as(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) detail::fail("load_npy", "cannot open file '", path, "'");
  NpyHeader h = parse_header(in, path);
  std::size_t n = 1;
  for (auto d : h.shape) n *= d;
  std::vector<char> raw(n * h.bytes);
  if (!in.read(raw.data(), static_cast<std::streamsize>(raw.size())))
    detail::fail("load_npy", "file '", path, "' is truncated: expected ", n, " items of ", h.bytes, " bytes");
  xt::xarray<Out> out = xt::xarray<Out>::from_shape(h.shape);
  auto convert = [&](auto tag) {
    using T = decltype(tag);
    for (std::size_t i = 0; i < n; ++i) {
      T v;
      std::memcpy(&v, raw.data() + i * sizeof(T), sizeof(T));
      out.data()[i] = static_cast<Out>(v);
    }
  };
  const char k = h.kind;
  const std::size_t b = h.bytes;
  if (k == 'f' && b == 4) convert(float{});
  else if (k == 'f' && b == 8) convert(double{});
  else if (k == 'i' && b == 1) convert(std::int8_t{});
  else if (k == 'i' && b == 2) convert(std::int16_t{});
  else if (k == 'i' && b == 4) convert(std::int32_t{});
  else if (k == 'i' && b == 8) convert(std::int64_t{});
  else if ((k == 'u' || k == 'b') && b == 1) convert(std::uint8_t{});
  else if (k == 'u' && b == 2) convert(std::uint16_t{});
  else if (k == 'u' && b == 4) convert(std::uint32_t{});
  else if (k == 'u' && b == 8) convert(std::uint64_t{});
  else detail::fail("load_npy", "file '", path, "' has unsupported dtype kind '", k, "' size ", b);
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

Tensor load_npy(const std::string& path) { return load_as<float>(path); }
DTensor load_npy_double(const std::string& path) { return load_as<double>(path); }
ITensor load_npy_int(const std::string& path) {
  DTensor d = load_as<double>(path);
  ITensor out = ITensor::from_shape(d.shape());
  for (std::size_t i = 0; i < d.size(); ++i) {
    double v = d.data()[i];
    if (v != std::floor(v)) detail::fail("load_npy_int", "file '", path, "' holds non-integer value ", v, " at flat index ", i);
    out.data()[i] = static_cast<std::int64_t>(v);
  }
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
