// The command line's own checks (see checks.hpp).
#include "checks.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <new>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "posenc/npy.hpp"

namespace fs = std::filesystem;

namespace posenc::cli {

void check_threads(const std::string& command, int threads) {
  if (threads < 0 || threads > kMaxThreads)
    bad(command + ": --threads must be in [0, " + std::to_string(kMaxThreads) + "] (0 = all hardware threads), got " +
        std::to_string(threads));
}

// ---------------------------------------------------------------- memory

long double memory_budget() {
  if (const char* env = std::getenv("POSENC_MEMORY_BUDGET"); env && *env) {
    char* end = nullptr;
    long double v = std::strtold(env, &end);
    const std::string unit(end);
    const std::string units = "KMGT";
    if (unit.size() == 1 && units.find(unit[0]) != std::string::npos)
      v *= std::pow(1024.0L, static_cast<long double>(units.find(unit[0]) + 1));
    else if (!unit.empty())
      v = -1;
    if (!(v > 0) || !std::isfinite(v))
      bad("POSENC_MEMORY_BUDGET must be a positive number of bytes (suffix K, M, G or T allowed), got '" +
          std::string(env) + "'");
    return v;
  }
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return 64.0L * (1ull << 30);  // unknown: assume 64 GiB
  return static_cast<long double>(pages) * static_cast<long double>(page);
}

std::string bytes_text(long double bytes) {
  std::ostringstream os;
  if (bytes < 1e18L) os << static_cast<unsigned long long>(bytes) << " bytes";
  else os << std::scientific << static_cast<double>(bytes) << " bytes";
  os << std::fixed;
  os.precision(1);
  os << " (" << static_cast<double>(bytes / (1024.0L * 1024.0L * 1024.0L)) << " GiB)";
  return os.str();
}

namespace {

/// The largest number written in an option's value ("text:1000000000000" -> 1e12).
double typed_value(const std::string& v) {
  double best = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(v[i])) || (i > 0 && std::isdigit(static_cast<unsigned char>(v[i - 1]))))
      continue;
    best = std::max(best, std::strtod(v.c_str() + i, nullptr));
  }
  return best;
}

std::string describe_need(const SizeNeed& n) {
  std::vector<std::pair<std::string, std::string>> opts = n.options;
  std::stable_sort(opts.begin(), opts.end(),
                   [](const auto& a, const auto& b) { return typed_value(a.second) > typed_value(b.second); });
  opts.erase(std::unique(opts.begin(), opts.end()), opts.end());
  std::string s;
  for (std::size_t i = 0; i < opts.size(); ++i) {
    if (i == 1) s += " (with ";
    else if (i > 1) s += ", ";
    s += "--" + opts[i].first + " " + opts[i].second;
  }
  if (opts.size() > 1) s += ")";
  return s;
}

}  // namespace

void require_budget(const std::string& command, const std::vector<SizeNeed>& needs) {
  const long double budget = memory_budget();
  long double total = 0;
  const SizeNeed* largest = nullptr;
  for (const auto& n : needs) {
    if (!std::isfinite(n.bytes) || n.bytes < 0) continue;
    total += n.bytes;
    if (!largest || n.bytes > largest->bytes) largest = &n;
  }
  if (!largest || total <= budget) return;
  std::string msg = command + ": " + describe_need(*largest) + " would need " + bytes_text(largest->bytes) + " for " +
                    largest->what;
  if (largest->bytes <= budget) msg += " (" + bytes_text(total) + " in all)";
  bad(msg + ", more than the memory budget of " + bytes_text(budget) +
      "; choose smaller sizes (the budget is this machine's memory, or $POSENC_MEMORY_BUDGET)");
}

void limit_address_space() {
#if defined(__SANITIZE_ADDRESS__)
  return;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer) || __has_feature(thread_sanitizer)
  return;
#endif
#endif
  long double limit = 0;
  try {
    limit = memory_budget() + 8.0L * (1ull << 30);
  } catch (const std::exception&) {
    return;  // reported by the first size check
  }
  rlimit r{};
  if (::getrlimit(RLIMIT_AS, &r) != 0) return;
  const rlim_t want = limit >= 1.8e19L ? RLIM_INFINITY : static_cast<rlim_t>(limit);
  if (r.rlim_cur != RLIM_INFINITY && r.rlim_cur <= want) return;
  r.rlim_cur = std::min(want, r.rlim_max);
  ::setrlimit(RLIMIT_AS, &r);
}

// ---------------------------------------------------------------- files and values

void require_input_file(const std::string& what, const std::string& path) {
  std::error_code ec;
  if (path.empty()) bad(what + " is empty; give a file");
  const auto st = fs::status(path, ec);
  if (!fs::exists(st)) bad(what + " '" + path + "' does not exist");
  if (fs::is_directory(st)) bad(what + " '" + path + "' is a directory, not a file");
  if (!fs::is_regular_file(st)) bad(what + " '" + path + "' is not a regular file");
  if (!std::ifstream(path, std::ios::binary).good()) bad(what + " '" + path + "' cannot be read (permissions?)");
}

namespace {

bool is_npy_path(const std::string& s) { return s.size() > 4 && s.compare(s.size() - 4, 4, ".npy") == 0; }

/// The .npy files a parameter value names: "a.npy", "a.npy,b.npy", or a directory of them
/// (continuous_mlp and learned_fourier --weights DIR).
std::vector<std::string> parameter_files(const std::string& value) {
  std::vector<std::string> paths;
  std::error_code ec;
  if (fs::is_directory(value, ec)) {
    for (fs::directory_iterator it(value, ec), end; !ec && it != end; it.increment(ec))
      if (is_npy_path(it->path().string())) paths.push_back(it->path().string());
    std::sort(paths.begin(), paths.end());
    return paths;
  }
  std::stringstream ss(value);
  for (std::string item; std::getline(ss, item, ',');) paths.push_back(item);
  if (paths.empty() || !std::all_of(paths.begin(), paths.end(), is_npy_path)) return {};
  return paths;
}

}  // namespace

void check_parameter_files(const std::string& command, const std::string& entry,
                           const std::map<std::string, std::string>& given) {
  for (const auto& [name, value] : given) {
    for (const auto& path : parameter_files(value)) {
      const std::string what = command + " " + entry + ": " + flag_of(name);
      require_input_file(what, path);
      const DTensor t = load_npy_double(path);
      for (std::size_t i = 0; i < t.size(); ++i)
        if (!std::isfinite(t.data()[i])) {
          std::ostringstream v;
          v << t.data()[i];
          bad(what + " '" + path + "' holds " + v.str() + " at flat index " + std::to_string(i) +
              "; every loaded table must be finite");
        }
    }
  }
}

void require_finite_output(const std::string& command, const std::string& file, const Array& a, const std::string& hint) {
  std::visit(
      [&](const auto& t) {
        using V = std::decay_t<decltype(*t.data())>;
        if constexpr (std::is_floating_point_v<V>) {
          for (std::size_t i = 0; i < t.size(); ++i)
            if (!std::isfinite(t.data()[i])) {
              std::ostringstream v;
              v << t.data()[i];
              bad(command + ": output '" + file + "' would hold " + v.str() + " at flat index " + std::to_string(i) +
                  " (float32 overflow or an undefined value)" + (hint.empty() ? "" : "; check " + hint) +
                  "; nothing was written");
            }
        }
      },
      a);
}

// ---------------------------------------------------------------- the one line

std::string error_line(const std::string& command, const std::exception_ptr& e) {
  const std::string who = "posenc " + command + ": ";
  std::string msg;
  try {
    std::rethrow_exception(e);
  } catch (const std::bad_array_new_length&) {
    msg = who + "a size is too large to allocate; choose smaller sizes (tokens, dims, grid, degree, graph size)";
  } catch (const std::bad_alloc&) {
    msg = who + "out of memory: an output or intermediate is larger than this machine can hold; "
                "choose smaller sizes (tokens, dims, grid, degree, graph size)";
  } catch (const std::length_error& x) {
    msg = who + "a size is too large to allocate (" + x.what() + "); choose smaller sizes";
  } catch (const fs::filesystem_error& x) {
    const std::string reason = x.code().message();
    msg = who + "cannot access '" + x.path1().string() + "'" +
          (x.path2().empty() ? "" : " (with '" + x.path2().string() + "')") + ": " + reason +
          "; check the path, its permissions and the free disk space";
  } catch (const std::exception& x) {
    msg = x.what();
    if (msg.rfind("sto", 0) == 0 && msg.size() <= 6)  // a bare std::stoul & co. from a parser
      msg = command + ": a number in the input or the options is malformed or out of range (std::" + msg +
            "); check the input file and the numeric options";
    if (msg.rfind(command + ":", 0) == 0 || msg.rfind(command + " ", 0) == 0) msg = "posenc " + msg;
    else msg = who + msg;
  } catch (...) {
    msg = who + "unknown error";
  }
  for (auto& c : msg)
    if (c == '\n' || c == '\r') c = ' ';
  return msg;
}

}  // namespace posenc::cli
