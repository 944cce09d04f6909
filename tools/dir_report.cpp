// report.json listing every staged file (tools/dir_report.hpp).
#include "dir_report.hpp"

#include "posenc/npy.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <vector>

namespace posenc::cli {

namespace fs = std::filesystem;

namespace {

/// {"shape", "dtype"} from a .npy header (posenc::npy_info); {} when it is not a valid .npy.
nlohmann::json npy_header(const fs::path& p) {
  try {
    const NpyInfo info = npy_info(p.string());
    return {{"dtype", info.dtype}, {"shape", info.shape}};
  } catch (const std::invalid_argument&) {
    return {};
  }
}

/// What a file is, from its folder and name.
std::string what(const std::string& rel) {
  const std::string top = rel.substr(0, rel.find('/'));
  const std::string ext = fs::path(rel).extension().string();
  const std::string stem = fs::path(rel).stem().string();
  if (top == "checkpoint")
    return ext == ".npy" ? "model parameter '" + stem + "' (checkpoint: load to resume or evaluate)"
                         : "checkpoint configuration and optimiser state";
  if (top == "position") return "learned encoding parameter '" + stem + "' (the table files posenc encode reads)";
  if (top == "runs") return "per-epoch metrics of one run (encoding, seed)";
  if (ext == ".png") return "picture (PNG)";
  if (ext == ".svg") return "picture (SVG, the same drawing)";
  if (stem == "metrics") return "per-epoch metrics: epoch, train_loss, train_accuracy, val_loss, val_accuracy, ...";
  if (stem == "results") return "per encoding: best validation metric (mean, spread over seeds), parameters, time";
  if (stem == "runs") return "one row per (encoding, seed) run";
  if (ext == ".npy") return "array '" + stem + "'";
  if (stem == "encoding" || stem == "report") return "metadata";
  return "text";
}

}  // namespace

void write_directory_report(Staging& out, const std::string& command, const nlohmann::json& extra) {
  const fs::path root = out.file("report.json");
  const fs::path dir = root.parent_path();
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && e.path() != root) files.push_back(e.path().lexically_relative(dir).generic_string());
  std::sort(files.begin(), files.end());
  nlohmann::json report = extra.is_object() ? extra : nlohmann::json::object();
  report["command"] = command;
  nlohmann::json listing = nlohmann::json::object();
  for (const auto& rel : files) {
    nlohmann::json entry = {{"bytes", fs::file_size(dir / rel)}, {"what", what(rel)}};
    if (fs::path(rel).extension() == ".npy") entry.update(npy_header(dir / rel));
    listing[rel] = entry;
  }
  report["files"] = listing;
  std::ofstream f(root);
  f << report.dump(2) << "\n";
  if (!f) throw std::runtime_error(command + ": cannot write report.json in " + out.target().string());
}

}  // namespace posenc::cli
