// The fuzz targets' entry points (see targets.hpp).
#include "targets.hpp"

#include <unistd.h>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "posenc/graph.hpp"
#include "posenc/npy.hpp"
#include "posenc/tabular.hpp"

namespace posenc::fuzz {

namespace {

/// The bytes as a file with the given extension (one per process and extension, rewritten each run).
std::string as_file(const std::uint8_t* data, std::size_t size, const char* ext) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
  const std::string path = (dir / ("posenc-fuzz-" + std::to_string(::getpid()) + ext)).string();
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  f.close();
  return path;
}

/// Runs `body`; the library's documented rejections (std::invalid_argument, std::runtime_error
/// and other std::exception) are fine, anything else escapes and is a finding.
template <class F>
int guarded(const std::string& path, F&& body) {
  try {
    body();
  } catch (const std::bad_alloc&) {
    std::remove(path.c_str());
    throw;  // an input that makes a reader allocate past its own size is a finding
  } catch (const std::exception&) {
  }
  std::remove(path.c_str());
  return 0;
}

}  // namespace

int npy(const std::uint8_t* data, std::size_t size) {
  const std::string path = as_file(data, size, ".npy");
  guarded(path, [&] { (void)load_npy(path); });
  guarded(path, [&] { (void)load_npy_double(path); });
  return guarded(path, [&] { (void)load_npy_int(path); });
}

int table(const std::uint8_t* data, std::size_t size) {
  const std::string path = as_file(data, size, ".csv");
  return guarded(path, [&] {
    const Table t = read_table_csv(path);
    if (t.rows <= 64 && t.columns.size() <= 8) (void)tabpet(t);  // small inputs: the pipeline stays fast
  });
}

int edges(const std::uint8_t* data, std::size_t size) {
  const std::string path = as_file(data, size, ".csv");
  guarded(path, [&] { (void)read_edge_list_csv(path); });
  return guarded(path, [&] { (void)read_edge_list_csv(path, {.directed = true, .header = "no"}); });
}

int graphml(const std::uint8_t* data, std::size_t size) {
  const std::string path = as_file(data, size, ".graphml");
  return guarded(path, [&] { (void)read_graphml(path); });
}

int dot(const std::uint8_t* data, std::size_t size) {
  const std::string path = as_file(data, size, ".dot");
  return guarded(path, [&] { (void)read_dot(path); });
}

const std::vector<Target>& targets() {
  static const std::vector<Target> t = {{"npy", npy}, {"table", table}, {"edges", edges}, {"graphml", graphml}, {"dot", dot}};
  return t;
}

}  // namespace posenc::fuzz
