// The command line's own checks (docs/reliability.md): sizes against a memory budget before
// anything is allocated, finite parameters, tables and outputs, thread counts, input files, and
// the one-line message every exception becomes.
#pragma once

#include <cstdint>
#include <exception>
#include <map>
#include <string>
#include <vector>

#include "cli.hpp"

namespace posenc::cli {

/// --threads accepts 0 (all hardware threads) .. kMaxThreads.
inline constexpr int kMaxThreads = 256;
/// `command: --threads N must be in [0, 256]` unless 0 <= threads <= kMaxThreads.
void check_threads(const std::string& command, int threads);

/// Bytes one run may allocate: $POSENC_MEMORY_BUDGET (bytes; suffixes K, M, G, T) if set, else
/// the machine's physical memory.
long double memory_budget();
std::string bytes_text(long double bytes);

/// One allocation a run will make: what it is, its bytes, and the options its size comes from
/// (named in the message as --NAME VALUE, the largest value first).
struct SizeNeed {
  std::string what;
  long double bytes = 0;
  std::vector<std::pair<std::string, std::string>> options;  ///< name -> value as the user typed it
};
/// Throws std::invalid_argument "command: --NAME VALUE (with --A a, ...) would need N bytes (x GiB)
/// for WHAT, more than the memory budget ..." when one need, or all of them together, exceed
/// memory_budget(). Needs whose bytes are not a number (an unparsable option) are skipped: the
/// builder then reports the option itself.
void require_budget(const std::string& command, const std::vector<SizeNeed>& needs);

/// The allocations an entry's builder makes for these values (tools/budget.cpp): `values` are the
/// resolved field values (defaults < implied < given), `given` the options as typed (for the
/// message); `nq`, `nk` the token counts (from the values or the inputs), `tokens_from` says which.
std::vector<SizeNeed> encoding_sizes(const std::string& entry, const catalogue::Values& values,
                                     const std::map<std::string, std::string>& given, long double nq, long double nk,
                                     const std::string& tokens_from);

/// Every option of `given` naming .npy files (tables, lists, points, a directory of them) must be a
/// readable file whose values are all finite; `command` and the entry name lead the message.
void check_parameter_files(const std::string& command, const std::string& entry,
                           const std::map<std::string, std::string>& given);
/// Every float value of `a` finite, else "command: output 'file' holds VALUE at flat index I ...".
void require_finite_output(const std::string& command, const std::string& file, const Array& a, const std::string& hint);
/// `path` names an existing regular file (not a directory) for option `what` ("graph: input").
void require_input_file(const std::string& what, const std::string& path);

/// The one line for an exception that reached main: "posenc COMMAND: ..." with the library's
/// message, a filesystem error's paths and reason, or what to do after running out of memory.
std::string error_line(const std::string& command, const std::exception_ptr& e);

/// Safety net under the checks above: caps the address space at the memory budget plus 8 GiB of
/// slack, so that a size the checks missed ends in std::bad_alloc (one line) instead of the
/// kernel's out-of-memory killer. Skipped under AddressSanitizer (it reserves terabytes).
void limit_address_space();

}  // namespace posenc::cli
