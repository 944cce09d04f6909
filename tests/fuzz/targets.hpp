// The fuzz targets' entry points, shared by the libFuzzer programs (fuzz_main.cpp, built with
// clang when POSENC_FUZZ=ON) and by the regression test that replays tests/fuzz/regressions/
// with any compiler (test_fuzz_regressions.cpp). Each entry point feeds the bytes to one reader
// through a temporary file; a clean std::exception is the expected way to reject bad input, so
// only crashes, sanitizer reports, hangs and other exception types count as findings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace posenc::fuzz {

using Entry = int (*)(const std::uint8_t* data, std::size_t size);

int npy(const std::uint8_t* data, std::size_t size);      ///< load_npy, load_npy_double and load_npy_int
int table(const std::uint8_t* data, std::size_t size);    ///< read_table_csv, then tabpet on small tables
int edges(const std::uint8_t* data, std::size_t size);    ///< read_edge_list_csv (auto header, both directions)
int graphml(const std::uint8_t* data, std::size_t size);  ///< read_graphml
int dot(const std::uint8_t* data, std::size_t size);      ///< read_dot

/// name ("npy", "table", "edges", "graphml", "dot") -> entry point.
struct Target {
  const char* name;
  Entry entry;
};
const std::vector<Target>& targets();

}  // namespace posenc::fuzz
