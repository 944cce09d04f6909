// Test helpers for the command line: a fresh directory per test and one way to run a shell
// command line in it, capturing the exit code, stdout and stderr.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace posenc::test {

struct CliRun {
  int code;
  std::string out, err;
};

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

/// `<temp>/<prefix><suite>_<test>`, emptied and created; characters other than letters, digits,
/// '-' and '_' become '_' (a parameterised test's name holds '/', which would nest directories).
inline std::filesystem::path fresh_test_dir(const std::string& prefix) {
  namespace fs = std::filesystem;
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  // The process id keeps two builds' test runs on one machine out of each other's directories.
  std::string name = prefix + info->test_suite_name() + "_" + info->name() + "_" + std::to_string(::getpid());
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
  const fs::path dir = fs::temp_directory_path() / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

/// Run `script` (shell) in `dir` with no standard input; stdout and stderr go through hidden files
/// in `dir` that are removed afterwards.
inline CliRun run_in(const std::filesystem::path& dir, const std::string& script) {
  const std::string out = (dir / ".stdout").string(), err = (dir / ".stderr").string();
  std::string cmd = "cd '";  // appended: GCC 12 warns falsely (-Wrestrict) on "literal" + std::string
  cmd += dir.string();
  cmd += "' && { " + script + " ; } >'" + out + "' 2>'" + err + "' </dev/null";
  const int status = std::system(cmd.c_str());
  CliRun r{WEXITSTATUS(status), slurp(out), slurp(err)};
  std::filesystem::remove(out);
  std::filesystem::remove(err);
  return r;
}

}  // namespace posenc::test
