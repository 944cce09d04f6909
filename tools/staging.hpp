// Output staging for the command line: nothing a run writes is visible until the whole run has
// succeeded (docs/reliability.md, "Nothing left behind").
//
// - A directory output (--out DIR or DIR/) is written into a hidden sibling `.DIR.tmp-PID/` and
//   moved into place by commit() with one rename. An existing non-empty DIR is refused unless the
//   command was given --force; then its contents are replaced as a whole (no stale files remain).
// - Single-file outputs (apply --out, attend --out / --weights) are written to hidden temporaries
//   next to their targets and renamed by commit() once every one of them has been written.
// - Two outputs of one run with the same name are an error before anything is written.
// - SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGXFSZ and the crash signals (SIGSEGV, SIGBUS,
//   SIGFPE, SIGILL, SIGABRT) remove every staging directory and temporary of the run before the
//   process dies of the signal; SIGKILL cannot be caught, so the next run in the same parent
//   directory removes the staging left by dead processes.
#pragma once

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace posenc::cli {

/// Install the signal handlers that remove staged outputs (once, at the start of main).
void install_cleanup_handlers();

/// "DIR" or "DIR/" as the directory to write, checked before any work: not empty, not '.', '..'
/// or '/', its parent exists, it is not a file, and it is empty or `force` is set. `what` names
/// the option in messages, e.g. "encode: --out".
std::filesystem::path output_directory(const std::string& value, const std::string& what, bool force);

class Staging {
 public:
  using path = std::filesystem::path;
  /// Checks `value` with output_directory() and creates the hidden staging directory.
  Staging(const std::string& value, const std::string& what, bool force);
  ~Staging();
  Staging(const Staging&) = delete;
  Staging& operator=(const Staging&) = delete;

  /// Where to write `relative` (its parents created); a name already used in this run throws.
  path file(const std::string& relative);
  /// `text` written to `relative` (through file()); a failed write throws naming the file and
  /// the target, e.g. "train: --out 'runs/a': cannot write 'metrics.csv'".
  void write_text(const std::string& relative, const std::string& text);
  /// Move everything into place: the staging directory becomes the target in one rename (with
  /// --force an existing target is moved aside first and removed afterwards).
  void commit();
  const path& target() const { return target_; }

 private:
  path target_, staging_;
  std::string what_;
  bool force_ = false, committed_ = false;
  std::set<std::string> files_;
  int slot_ = -1;
};

/// Single-file outputs of one run, named by option ("--out", "--weights").
class OutputFiles {
 public:
  using path = std::filesystem::path;
  explicit OutputFiles(std::string command) : command_(std::move(command)) {}
  ~OutputFiles();
  OutputFiles(const OutputFiles&) = delete;
  OutputFiles& operator=(const OutputFiles&) = delete;

  /// Check an output file before any work: a name, not a directory, its parent exists, and no
  /// other output of the run (file or directory in `claimed`) has the same path.
  void add(const std::string& option, const std::string& value);
  /// Claim a directory output (e.g. --grads) so that a file output cannot collide with it.
  void claim_directory(const std::string& option, const path& dir);
  /// The temporary to write for `option` (registered for removal on failure and on signals).
  path temporary(const std::string& option);
  /// Rename every temporary written onto its target.
  void commit();

 private:
  struct Entry {
    path target, temp;
    int slot = -1;
  };
  std::string command_;
  std::map<std::string, Entry> entries_;
  std::map<std::string, std::string> claimed_;  ///< normalised absolute path -> option
  bool committed_ = false;
};

}  // namespace posenc::cli
