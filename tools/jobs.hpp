// One encoding built from the command line: parameters parsed and checked (sizes, finite values,
// parameter files), the builder run, and its arrays written into a staging directory.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "registry.hpp"
#include "staging.hpp"

namespace posenc::cli {

/// --name value pairs left over by CLI11 (encoding parameters).
std::map<std::string, std::string> parse_extras(const std::vector<std::string>& extras);

struct Job {
  const EncodingSpec* spec;
  Params params;
  Context context;
  Built built;
};

/// Build an encoding for `command` (encode, apply, attend, demo). `n_query` / `n_key`: token
/// counts taken from input tensors. Before the builder runs: parameter files exist and are
/// finite, 'tokens' / 'query_tokens' are >= 1 as typed, positions stay exact (offset + tokens <=
/// 2^53), and the builder's allocations fit the memory budget.
Job build_job(const std::string& command, const std::string& name, const std::map<std::string, std::string>& given,
              const std::map<std::string, std::string>& implied, std::optional<std::size_t> n_query = {},
              std::optional<std::size_t> n_key = {});

/// Every array and scalar of the job is finite (else an error naming the file and the given options).
void check_job_outputs(const std::string& command, const Job& job);
/// "--a 1 --b 2": the parameters the user gave, for messages.
std::string given_text(const Params& p);

nlohmann::json describe(const Job& job);
std::string summary_line(const Job& job);
/// Writes prefix + stem.npy for each array and prefix + encoding.json (after check_job_outputs).
void write_job(const std::string& command, Staging& out, const std::string& prefix, const Job& job);

/// `posenc demo DIR [--force]` (tools/demo_cmd.cpp).
int cmd_demo(const std::string& dir, bool force);

}  // namespace posenc::cli
