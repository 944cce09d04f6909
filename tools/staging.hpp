// Output staging for the command line: files are written under a hidden sibling
// directory and renamed into place by commit(), so a failed run leaves nothing behind.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace posenc::cli {

class Staging {
 public:
  using path = std::filesystem::path;
  explicit Staging(path target) : target_(std::move(target)) {
    namespace fs = std::filesystem;
    const path parent = target_.has_parent_path() ? target_.parent_path() : path(".");
    if (!fs::is_directory(parent))
      throw std::invalid_argument("output directory's parent '" + parent.string() + "' does not exist");
    if (fs::exists(target_) && !fs::is_directory(target_))
      throw std::invalid_argument("output '" + target_.string() + "' exists and is not a directory");
    // Appended piecewise: GCC 12 warns falsely (-Wrestrict) on chained string operator+.
    std::string name = ".";
    name += target_.filename().string();
    name += ".tmp-";
    name += std::to_string(::getpid());
    staging_ = parent / name;
    fs::remove_all(staging_);
    fs::create_directories(staging_);
  }
  ~Staging() {
    std::error_code ec;
    if (!committed_) std::filesystem::remove_all(staging_, ec);
  }
  Staging(const Staging&) = delete;
  Staging& operator=(const Staging&) = delete;

  /// Where to write `relative` (created parents); it moves into place on commit().
  path file(const std::string& relative) {
    const path p = staging_ / relative;
    std::filesystem::create_directories(p.parent_path());
    files_.push_back(relative);
    return p;
  }
  void commit() {
    namespace fs = std::filesystem;
    for (const auto& rel : files_) {
      const path dst = target_ / rel;
      fs::create_directories(dst.parent_path());
      fs::rename(staging_ / rel, dst);
    }
    committed_ = true;
    std::error_code ec;
    fs::remove_all(staging_, ec);
  }

 private:
  path target_, staging_;
  std::vector<std::string> files_;
  bool committed_ = false;
};

}  // namespace posenc::cli
