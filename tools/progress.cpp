// The progress line of the long file commands (tools/progress.hpp).
#include "progress.hpp"

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <sstream>

namespace posenc::cli {

namespace {

std::string seconds(double s) {
  std::ostringstream os;
  os.precision(s < 10 ? 2 : 0);
  os << std::fixed << s << " s";
  return os.str();
}

}  // namespace

Progress::Progress(std::string command) : Progress(std::move(command), ::isatty(STDERR_FILENO) == 1) {}
Progress::Progress(std::string command, bool enabled) : command_(std::move(command)), enabled_(enabled) {}
Progress::~Progress() { clear(); }

std::string Progress::line(const std::string& command, std::size_t index, std::size_t total, const std::string& label,
                           double elapsed) {
  std::string s = command + ": [" + std::to_string(index + 1) + "/" + std::to_string(total) + "] " + label;
  if (index == 0) return s;
  s += ", " + seconds(elapsed) + " elapsed";
  const double left = elapsed / static_cast<double>(index) * static_cast<double>(total - index);
  return s + ", about " + seconds(left) + " left";
}

void Progress::step(std::size_t index, std::size_t total, const std::string& label) {
  if (!enabled_) return;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::string s = line(command_, index, total, label, elapsed);
  if (s.size() > 100) s = s.substr(0, 97) + "...";
  const std::size_t pad = width_ > s.size() ? width_ - s.size() : 0;
  width_ = s.size();
  std::cerr << "\r" << s << std::string(pad, ' ') << std::flush;
}

void Progress::clear() {
  if (!enabled_ || width_ == 0) return;
  std::cerr << "\r" << std::string(width_, ' ') << "\r" << std::flush;
  width_ = 0;
}

}  // namespace posenc::cli
