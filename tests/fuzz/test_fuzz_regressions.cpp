// Replays every committed fuzz finding (tests/fuzz/regressions/<target>/*) and the seed corpora
// (tests/fuzz/corpus/<target>/*) through the fuzz targets' entry points, with any compiler: an
// input that once crashed a reader must now be rejected with a clean exception or read.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "targets.hpp"

namespace posenc::fuzz {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> files_under(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().filename().string()[0] != '.') out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::size_t replay(const char* kind) {
  std::size_t n = 0;
  for (const auto& t : targets()) {
    for (const auto& f : files_under(fs::path(POSENC_FUZZ_DIR) / kind / t.name)) {
      SCOPED_TRACE(f.string());
      std::ifstream in(f, std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      EXPECT_NO_THROW(t.entry(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
      ++n;
    }
  }
  ::testing::Test::RecordProperty("inputs", static_cast<int>(n));
  return n;
}

TEST(FuzzRegressions, EveryCommittedFindingIsHandled) { replay("regressions"); }

TEST(FuzzRegressions, EverySeedIsHandled) { EXPECT_GT(replay("corpus"), 0u) << "the seed corpora are missing"; }

}  // namespace
}  // namespace posenc::fuzz
