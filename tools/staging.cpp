// Output staging and the signal handlers that remove it (see staging.hpp).
#include "staging.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace fs = std::filesystem;

namespace posenc::cli {

namespace {

[[noreturn]] void fail(const std::string& msg) { throw std::invalid_argument(msg); }

// ---------------------------------------------------------------- cleanup on signals
//
// The handler may only use async-signal-safe calls: the paths live in fixed buffers written
// before the slot is published, and removal walks directories with openat/getdents64/unlinkat.
// The handler runs on whichever thread took the signal while the others may go on writing into
// the staging directory, so it first renames the directory away (to PATH.removing): writes into it
// by path then fail instead of recreating entries behind the removal (Staging::file never
// recreates the staging directory itself). A single-file temporary first opened after the handler
// ran is not covered; register_cleanup is called from the main thread only.

constexpr int kSlots = 16;
constexpr std::size_t kPathMax = 4096;
constexpr char kDoomedSuffix[] = ".removing";
struct Slot {
  std::atomic<bool> used{false};
  char path[kPathMax];
  char doomed[kPathMax];  // path + kDoomedSuffix
};
std::array<Slot, kSlots> g_slots;

int register_cleanup(const fs::path& p) {
  const std::string s = fs::absolute(p).string();
  if (s.size() + sizeof kDoomedSuffix > kPathMax) return -1;
  for (int i = 0; i < kSlots; ++i) {
    bool expected = false;
    if (g_slots[i].used.load()) continue;
    std::memcpy(g_slots[i].path, s.c_str(), s.size() + 1);
    std::memcpy(g_slots[i].doomed, s.c_str(), s.size());
    std::memcpy(g_slots[i].doomed + s.size(), kDoomedSuffix, sizeof kDoomedSuffix);
    if (g_slots[i].used.compare_exchange_strong(expected, true)) return i;
  }
  return -1;  // more than kSlots outputs at once: the destructors still clean up on errors
}

void unregister_cleanup(int slot) {
  if (slot >= 0) g_slots[slot].used.store(false);
}

struct LinuxDirent64 {
  std::uint64_t d_ino;
  std::int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[1];
};

bool is_dot(const char* n) { return n[0] == '.' && (n[1] == 0 || (n[1] == '.' && n[2] == 0)); }

// Async-signal-safe recursive removal of `name` under the directory `parent_fd`.
void remove_tree_at(int parent_fd, const char* name, int depth) {
  if (::unlinkat(parent_fd, name, 0) == 0 || errno == ENOENT || depth > 16) return;
  for (int pass = 0; pass < 3; ++pass) {
    const int fd = ::openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return;
    alignas(8) char buf[2048];
    for (;;) {
      const long n = ::syscall(SYS_getdents64, fd, buf, sizeof buf);
      if (n <= 0) break;
      for (long off = 0; off < n;) {
        const auto* d = reinterpret_cast<const LinuxDirent64*>(buf + off);
        off += d->d_reclen;
        if (!is_dot(d->d_name)) remove_tree_at(fd, d->d_name, depth + 1);
      }
    }
    ::close(fd);
    if (::unlinkat(parent_fd, name, AT_REMOVEDIR) == 0 || errno == ENOENT) return;
  }
}

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGXFSZ, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
struct sigaction g_previous[64];

extern "C" void on_fatal_signal(int sig, siginfo_t* info, void*) {
  const int saved = errno;
  for (auto& s : g_slots) {
    if (!s.used.load()) continue;
    const char* victim = ::rename(s.path, s.doomed) == 0 ? s.doomed : s.path;
    remove_tree_at(AT_FDCWD, victim, 0);
  }
  errno = saved;
  // Die of the same signal through the previous disposition (the default, or a sanitizer's). A
  // fault raised by the kernel (si_code > 0: SIGSEGV, SIGBUS, SIGFPE, SIGILL) recurs when the
  // faulting instruction runs again, so the previous handler sees the real fault address.
  ::sigaction(sig, &g_previous[sig], nullptr);
  const bool fault = sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL;
  if (!(fault && info != nullptr && info->si_code > 0)) ::raise(sig);
}

// ---------------------------------------------------------------- paths

std::string strip_slashes(std::string s) {
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

fs::path parent_of(const fs::path& p) { return p.has_parent_path() ? p.parent_path() : fs::path("."); }

std::string hidden_name(const fs::path& target, const char* kind) {
  std::string name = ".";  // appended piecewise: GCC 12 warns falsely (-Wrestrict) on chained operator+
  name += target.filename().string();
  name += kind;
  name += std::to_string(::getpid());
  return name;
}

// Staging left by processes that died of SIGKILL (or a power cut): `.NAME.tmp-PID` and
// `.NAME.old-PID` siblings (or either with the handler's `.removing`) whose PID no longer runs.
void remove_dead_staging(const fs::path& parent, const fs::path& target) {
  std::error_code ec;
  std::string stem = ".";  // appended, not "." + ...: GCC 12 warns falsely (-Wrestrict) on operator+
  stem += target.filename().string();
  for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string n = it->path().filename().string();
    if (n.rfind(stem, 0) != 0) continue;
    const std::string rest = n.substr(stem.size());
    if (rest.rfind(".tmp-", 0) != 0 && rest.rfind(".old-", 0) != 0) continue;
    std::string pid = rest.substr(5);
    if (pid.size() > sizeof kDoomedSuffix - 1 && pid.ends_with(kDoomedSuffix))  // a handler cut short
      pid.resize(pid.size() - (sizeof kDoomedSuffix - 1));
    if (pid.empty() || pid.size() > 9 || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    if (::kill(static_cast<pid_t>(std::stol(pid)), 0) == -1 && errno == ESRCH) fs::remove_all(it->path(), ec);
  }
}

bool is_empty_directory(const fs::path& p) {
  std::error_code ec;
  return fs::is_empty(p, ec) && !ec;
}

fs::path normal_absolute(const fs::path& p) { return fs::absolute(p).lexically_normal(); }

}  // namespace

void install_cleanup_handlers() {
  for (int sig : kSignals) {
    struct sigaction sa {};
    sa.sa_sigaction = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
    ::sigaction(sig, &sa, &g_previous[sig]);
    // A signal the parent ignores stays ignored (nohup, background jobs of a non-interactive shell).
    if (g_previous[sig].sa_handler == SIG_IGN && !(g_previous[sig].sa_flags & SA_SIGINFO))
      ::sigaction(sig, &g_previous[sig], nullptr);
  }
}

fs::path output_directory(const std::string& value, const std::string& what, bool force) {
  const std::string d = strip_slashes(value);
  if (d.empty()) fail(what + " is empty; give the directory to write (e.g. out/)");
  const fs::path p(d);
  const std::string last = p.filename().string();
  if (d == "/" || last == "." || last == "..")
    fail(what + " '" + value + "' must name a directory to create or replace, not '" + last + "' or '/'");
  const fs::path parent = parent_of(p);
  std::error_code ec;
  if (!fs::is_directory(parent, ec))
    fail(what + " '" + value + "': the parent directory '" + parent.string() + "' does not exist (create it first)");
  if (fs::exists(p, ec) && !fs::is_directory(p, ec))
    fail(what + " '" + value + "' exists and is not a directory; choose another name");
  if (fs::is_directory(p, ec) && !is_empty_directory(p) && !force)
    fail(what + " '" + value + "' is not empty; pass --force to replace its contents, or choose a new directory");
  return p;
}

// ---------------------------------------------------------------- Staging

Staging::Staging(const std::string& value, const std::string& what, bool force)
    : target_(output_directory(value, what, force)), what_(what), force_(force) {
  const fs::path parent = parent_of(target_);
  remove_dead_staging(parent, target_);
  staging_ = parent / hidden_name(target_, ".tmp-");
  slot_ = register_cleanup(staging_);  // before it exists: a signal right after creation finds it
  try {
    fs::remove_all(staging_);
    fs::create_directory(staging_);
  } catch (...) {
    unregister_cleanup(slot_);
    throw;
  }
}

Staging::~Staging() {
  std::error_code ec;
  if (!committed_) fs::remove_all(staging_, ec);
  unregister_cleanup(slot_);
}

fs::path Staging::file(const std::string& relative) {
  const std::string key = fs::path(relative).lexically_normal().string();
  if (!files_.insert(key).second)
    fail(what_ + " '" + target_.string() + "': two outputs of this run are both named '" + key + "'");
  // Only the directories below the staging directory are created, never the staging directory
  // itself: once a signal handler has renamed it away, a write into it fails instead of
  // recreating it.
  fs::path dir = staging_;
  for (const auto& part : fs::path(relative).parent_path()) {
    dir /= part;
    fs::create_directory(dir);
  }
  return staging_ / relative;
}

void Staging::write_text(const std::string& relative, const std::string& text) {
  std::ofstream f(file(relative));
  f << text;
  f.close();
  if (!f) fail(what_ + " '" + target_.string() + "': cannot write '" + relative + "'");
}

void Staging::commit() {
  std::error_code ec;
  if (fs::is_directory(target_, ec) && !is_empty_directory(target_)) {
    if (!force_)  // appeared while we worked
      fail(what_ + " '" + target_.string() + "' is not empty; pass --force to replace its contents");
    const fs::path old = parent_of(target_) / hidden_name(target_, ".old-");
    fs::remove_all(old, ec);
    fs::rename(target_, old);
    try {
      fs::rename(staging_, target_);
    } catch (...) {
      fs::rename(old, target_, ec);
      throw;
    }
    committed_ = true;
    unregister_cleanup(slot_);
    slot_ = -1;
    fs::remove_all(old, ec);
    return;
  }
  fs::rename(staging_, target_);  // replaces a missing or empty directory in one step
  committed_ = true;
  unregister_cleanup(slot_);
  slot_ = -1;
}

// ---------------------------------------------------------------- OutputFiles

OutputFiles::~OutputFiles() {
  std::error_code ec;
  for (auto& [option, e] : entries_) {
    if (!committed_ && !e.temp.empty()) fs::remove(e.temp, ec);
    unregister_cleanup(e.slot);
  }
}

void OutputFiles::claim_directory(const std::string& option, const path& dir) {
  const std::string key = normal_absolute(dir).string();
  if (auto it = claimed_.find(key); it != claimed_.end())
    fail(command_ + ": " + option + " and " + it->second + " name the same path '" + dir.string() + "'");
  claimed_[key] = option;
}

void OutputFiles::add(const std::string& option, const std::string& value) {
  const std::string what = command_ + ": " + option + " '" + value + "'";
  if (value.empty()) fail(command_ + ": " + option + " is empty; give a file name such as out.npy");
  const fs::path p(value);
  if (value.back() == '/' || p.filename() == "." || p.filename() == "..")
    fail(what + " names a directory; give a file name such as out.npy");
  std::error_code ec;
  if (fs::is_directory(p, ec)) fail(what + " is a directory; give a file name such as out.npy");
  const fs::path parent = parent_of(p);
  if (!fs::is_directory(parent, ec))
    fail(what + ": the directory '" + parent.string() + "' does not exist (create it first)");
  claim_directory(option, p);
  entries_[option].target = p;
}

fs::path OutputFiles::temporary(const std::string& option) {
  Entry& e = entries_.at(option);
  if (e.temp.empty()) {
    e.temp = parent_of(e.target) / hidden_name(e.target, ".tmp-");
    e.slot = register_cleanup(e.temp);
  }
  return e.temp;
}

void OutputFiles::commit() {
  for (auto& [option, e] : entries_)
    if (!e.temp.empty() && !fs::exists(e.temp)) fail(command_ + ": " + option + " was not written");
  for (auto& [option, e] : entries_)
    if (!e.temp.empty()) fs::rename(e.temp, e.target);
  committed_ = true;
}

}  // namespace posenc::cli
