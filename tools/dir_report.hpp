// report.json for the commands that write many files of several kinds (train, compare, demo).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "staging.hpp"

namespace posenc::cli {

/// Writes `report.json` into `out` (call it last, before commit()): {"command", "files"} plus
/// the members of `extra`. "files" maps every file already staged (relative path, '/'-separated,
/// sorted) to {"bytes", "what"}; a .npy also gets "shape" and "dtype" read from its header. "what"
/// comes from the file's name and folder (metrics, checkpoint parameter, learned encoding
/// parameter, picture, ...).
void write_directory_report(Staging& out, const std::string& command, const nlohmann::json& extra = {});

}  // namespace posenc::cli
