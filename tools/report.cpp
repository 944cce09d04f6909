// What `posenc encode` writes besides the arrays: encoding.json (the entry, the values it was
// built with, its scalars) and report.json (every file written, its shape, dtype and what each
// axis holds). Axis names come from the array's stem (the same stems across entries) and, for
// learnable tables, from the catalogue's TableInfo::shape; nothing here is written per method.
#include <filesystem>

#include "jobs.hpp"
#include "posenc/npy.hpp"

namespace posenc::cli {

namespace {

namespace cat = catalogue;

nlohmann::json shape_json(const Array& a) {
  return std::visit([](const auto& t) { return nlohmann::json(std::vector<std::size_t>(t.shape().begin(), t.shape().end())); }, a);
}

const char* dtype_of(const Array& a) {
  if (std::holds_alternative<Tensor>(a)) return "float32";
  if (std::holds_alternative<DTensor>(a)) return "float64";
  return "int64";
}

std::size_t rank_of(const Array& a) {
  return std::visit([](const auto& t) { return t.dimension(); }, a);
}

/// The positions the rows of a per-token array follow, from the entry's first input.
std::string token_rows(const cat::EntryInfo& e) {
  if (e.field("tokens")) return "tokens (positions offset .. offset + tokens - 1; the last query_tokens are the queries)";
  return e.inputs.empty() ? "tokens" : "tokens: " + e.inputs[0];
}

/// What each axis of array `stem` holds.
std::vector<std::string> axes_of(const cat::EntryInfo& e, const std::string& stem, const Array& a) {
  const std::size_t r = rank_of(a);
  for (const auto& t : e.tables)
    if (t.array == stem) return {"the table " + t.shape + " (" + t.initialiser + ", or --" + t.field + ")"};
  if (stem == "input_add" || stem == "input_concat")
    return {token_rows(e), std::string("features (") + (stem == "input_add" ? "added to" : "concatenated to") +
                               " the token embeddings)"};
  if (stem == "relation")
    return {"query tokens i", "key tokens j", "(value: the relation rho(i, j) the part's table or slope reads)"};
  if (stem == "angles" && r == 3) return {"heads", token_rows(e), "rotated pairs (angle in radians)"};
  if (stem == "angles") return {token_rows(e), "rotated pairs (angle in radians)"};
  if (stem == "inv_freq") return {"rotated pairs (inverse frequency per pair)"};
  if (stem == "positions") return {token_rows(e), "position axes (e.g. t, row, column)"};
  if (stem == "points") return {"points", "(longitude, latitude) in degrees"};
  if (stem == "position_ids") return {"axes (t, h, w)", "tokens of the segments"};
  std::vector<std::string> out(r, "");
  if (r == 1) out[0] = "entries of " + stem;
  else if (r == 2 && e.field("heads") && stem.find("table") != std::string::npos) out = {"heads", "rows"};
  else
    for (std::size_t i = 0; i < r; ++i) out[i] = "axis " + std::to_string(i) + " of " + stem;
  return out;
}

}  // namespace

nlohmann::json describe(const Job& job) {
  const cat::EntryInfo& e = *job.entry;
  nlohmann::json j;
  j["encoding"] = e.name;
  j["summary"] = e.summary;
  j["source"] = e.source;
  j["parts"] = e.parts;
  nlohmann::json values = nlohmann::json::object(), given = nlohmann::json::object();
  for (const auto& [k, v] : job.resolved) values[k] = cat::value_text(v);
  for (const auto& [k, v] : job.given) given[k] = v;
  j["parameters"] = values;
  j["given"] = given;
  j["query_tokens"] = job.built.query_tokens;
  j["key_tokens"] = job.built.tokens;
  if (auto it = job.resolved.find("offset"); it != job.resolved.end()) j["offset"] = std::get<double>(it->second);
  nlohmann::json arrays = nlohmann::json::object();
  for (const auto& [stem, a] : job.built.arrays) arrays[stem + ".npy"] = {{"shape", shape_json(a)}, {"dtype", dtype_of(a)}};
  j["arrays"] = arrays;
  nlohmann::json scalars = nlohmann::json::object();
  for (const auto& [k, v] : job.built.metadata) {
    if (const auto* b = std::get_if<bool>(&v)) scalars[k] = *b;
    else if (const auto* i = std::get_if<std::int64_t>(&v)) scalars[k] = *i;
    else if (const auto* d = std::get_if<double>(&v)) scalars[k] = *d;
    else scalars[k] = cat::value_text(v);
  }
  if (job.built.encoding.scale) scalars["logit_scale"] = *job.built.encoding.scale;
  j["scalars"] = scalars;
  return j;
}

void write_job(const std::string& command, Staging& out, const std::string& prefix, const Job& job) {
  check_job_outputs(command, job);
  nlohmann::json files = nlohmann::json::object();
  for (const auto& [stem, a] : job.built.arrays) {
    // (clang 14 cannot capture a structured binding: stem is passed by an init-capture)
    std::visit([&, s = stem](const auto& t) { save_npy(out.file(prefix + s + ".npy").string(), t); }, a);
    files[stem + ".npy"] = {{"shape", shape_json(a)}, {"dtype", dtype_of(a)}, {"axes", axes_of(*job.entry, stem, a)}};
  }
  files["encoding.json"] = {{"what", "the entry, the values it was built with (parameters), the options given, scalars"}};
  write_file_atomic(out.file(prefix + "encoding.json").string(), describe(job).dump(2) + "\n");
  nlohmann::json report;
  report["command"] = command;
  report["encoding"] = job.entry->name;
  report["given"] = given_text(job);
  report["files"] = files;
  report["note"] = "row-major .npy arrays; 'axes' names what each axis indexes, outermost first";
  write_file_atomic(out.file(prefix + "report.json").string(), report.dump(2) + "\n");
}

}  // namespace posenc::cli
