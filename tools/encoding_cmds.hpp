// The commands that build one catalogue entry: list, encode, apply, attend (tools/encoding_cmds.cpp),
// and the per-entry help (`posenc encode NAME --help`, `posenc attend --encoding NAME --help`).
#pragma once

#include <string>
#include <vector>

namespace posenc::cli {

int cmd_list(bool verbose);
int cmd_encode(const std::string& name, const std::string& out_dir, bool force, const std::vector<std::string>& extras);
int cmd_apply(const std::string& name, const std::string& input, const std::string& output, const std::string& side,
              const std::vector<std::string>& extras);

struct AttendArgs {
  std::string q, k, v, out, weights, encoding = "nope", key_lengths, grad_output, grads;
  bool causal = false, causal_given = false, reference = false, force = false;
  double scale = 0;
  int threads = 0;
};
int cmd_attend(const AttendArgs& a, const std::vector<std::string>& extras);

/// attend's own option names (normalised): an encoding field of the same name is given as
/// --encoding-NAME (Transformer-XL's, TENER's and DA-Transformer's table v: --encoding-v).
const std::vector<std::string>& attend_options();

/// One entry's parameters as `command` takes them: name, type, default (from the option struct),
/// help, grouped; the loadable tables; attend's --encoding-NAME spellings and the causal rule.
std::string entry_help(const std::string& command, const std::string& name);

}  // namespace posenc::cli
