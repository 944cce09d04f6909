// One encoding built from the command line through the catalogue (posenc/catalogue.hpp): the
// options after CLI11 parsed by the entry's field types, checked (files, sizes, token counts),
// the entry built, and its arrays written into a staging directory with encoding.json and
// report.json.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "staging.hpp"

namespace posenc::cli {

/// The options CLI11 left over (the entry's fields) as name -> text, names normalised:
/// `--name value`, `--name=value`, and for a boolean field a bare `--name` (true) or
/// `--name true|false|1|0|yes|no|on|off`. Command-only options are accepted too (`extra`: the
/// sphere points' lat_column, lon_column, radians). `prefix` (attend: "encoding") also accepts
/// `--PREFIX-NAME` for a field NAME that the command itself takes (attend's --v vs the table v).
/// Unknown names throw with the closest field as `--name` (the catalogue's suggest_field, hints
/// included), else the closest of the command's `own` options.
std::map<std::string, std::string> parse_extras(const std::string& who, const std::vector<std::string>& extras,
                                                const catalogue::EntryInfo& entry, const std::string& prefix = "",
                                                const std::vector<std::string>& own = {});

struct Job {
  const catalogue::EntryInfo* entry = nullptr;
  std::map<std::string, std::string> given;  ///< the options as typed (normalised names)
  catalogue::Values values;                  ///< given, parsed by the fields' types
  catalogue::Context context;                ///< implied by the inputs (tokens, heads, dims)
  catalogue::Values resolved;                ///< defaults < implied < given: everything the build used
  catalogue::Built built;
};

/// Build entry `name` for `command` (encode, apply, attend, demo). `implied`: values the inputs
/// give (text; only the entry's fields are used); `n_query` / `n_key`: token counts of input
/// tensors, checked against the built encoding. Before the build: parameter files exist and are
/// finite, 'tokens' / 'query_tokens' are >= 1 as typed, sphere points are read (CSV or .npy,
/// (lon, lat)) and checked, and the builder's allocations fit the memory budget.
Job build_job(const std::string& command, const std::string& name, const std::map<std::string, std::string>& given,
              const std::map<std::string, std::string>& implied, std::optional<std::size_t> n_query = {},
              std::optional<std::size_t> n_key = {});

/// Every array and scalar of the job is finite (else an error naming the file and the given options).
void check_job_outputs(const std::string& command, const Job& job);
/// "--a 1, --b 2": the options the user gave, for messages ("the defaults" if none).
std::string given_text(const Job& job);

nlohmann::json describe(const Job& job);
std::string summary_line(const Job& job);
/// Writes prefix + stem.npy for each array, prefix + encoding.json (the entry, its values and
/// arrays) and prefix + report.json (every file written: shape, dtype, what its axes are).
void write_job(const std::string& command, Staging& out, const std::string& prefix, const Job& job);

/// Sphere points from `--points FILE` (tools/points.cpp): a .npy [N, 2] in (lon, lat) degrees
/// order, or a CSV with named latitude and longitude columns (`lat_column`, `lon_column`, default
/// lat / lon, also latitude / longitude), degrees unless `radians`. Returns [N, 2] (lon, lat)
/// degrees; latitudes outside [-90, 90] or longitudes outside [-360, 360] are an error that says
/// the order (and that the columns look swapped when they do).
DTensor read_points(const std::string& who, const std::string& path, const std::string& lat_column,
                    const std::string& lon_column, bool radians);

/// `posenc demo DIR [--force]` (tools/demo_cmd.cpp).
int cmd_demo(const std::string& dir, bool force);

}  // namespace posenc::cli
