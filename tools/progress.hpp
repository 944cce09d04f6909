// One updating progress line on stderr for the long file commands (graph, tabular): shown only
// when stderr is a terminal, so redirected output and logs stay quiet.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace posenc::cli {

class Progress {
 public:
  /// `command` leads the line ("graph"); `enabled` defaults to isatty(stderr).
  explicit Progress(std::string command);
  Progress(std::string command, bool enabled);
  ~Progress();  ///< clears the line
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  /// Starting step `index` (0-based) of `total`, called `label`: "graph: [2/5] lap:k=8, 3.1 s
  /// elapsed, about 4 s left", the time left extrapolated from the steps done (absent before the
  /// first one ends).
  void step(std::size_t index, std::size_t total, const std::string& label);
  void clear();  ///< erase the line (before printing anything else on stderr)
  bool enabled() const { return enabled_; }

  /// The line step() prints (for tests): elapsed seconds and the steps done so far.
  static std::string line(const std::string& command, std::size_t index, std::size_t total, const std::string& label,
                          double elapsed);

 private:
  std::string command_;
  bool enabled_ = false;
  std::size_t width_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace posenc::cli
