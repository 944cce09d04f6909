// attend --grads: the core's backward, the entry's backward through the catalogue
// (catalogue::backward: each learnable builder's vector-Jacobian product), and the files it writes.
#include "grads.hpp"

#include <cmath>
#include <filesystem>

#include "posenc/npy.hpp"

namespace posenc::cli {

namespace {

namespace cat = catalogue;

const char* kInputSideNote =
    "input-side parameters (input_add / input_concat) are added to the token embeddings, which attend never sees: "
    "--grads writes dq, dk, dv only";

/// "the table [heads, num_buckets] (--table t.npy)" or "... (--table not given: the initialised values)".
std::string of(const Job& job, const std::string& field) {
  std::string what = field;
  for (const auto& t : job.entry->tables)
    if (t.field == field) what = t.array + " " + t.shape;
  if (auto it = job.given.find(field); it != job.given.end()) return what + " (" + flag_of(field) + " " + it->second + ")";
  return what + " (" + flag_of(field) + " not given: the initialised / default values)";
}

bool all_input_side(const cat::EntryInfo& e) {
  for (const auto& t : e.tables)
    if (!t.part.empty()) return false;
  return true;
}

nlohmann::json file_entry(const Tensor& t, const std::string& what) {
  return {{"shape", std::vector<std::size_t>(t.shape().begin(), t.shape().end())}, {"dtype", "float32"}, {"of", what}};
}

}  // namespace

std::string grads_note(const cat::EntryInfo& e) {
  if (e.backward) {
    std::string files;
    for (const auto& t : e.tables)
      if (!t.part.empty()) files += (files.empty() ? "" : ", ") + t.field + ".npy";
    return files + " (attend --grads; only the tables the options use)";
  }
  if (e.tables.empty()) return "none (no learnable parameter); --grads writes dq, dk, dv only";
  std::string tables;
  for (const auto& t : e.tables) tables += (tables.empty() ? "" : ", ") + t.field;
  if (all_input_side(e))
    return "none through attend: its learned parameters (" + tables + ") are input-side, which attend does not apply; "
           "--grads writes dq, dk, dv only";
  return "none: no backward mapping for its tables (" + tables + ") yet; --grads writes dq, dk, dv only";
}

AttendGrads attend_backward(const Job& job, const Tensor& q, const Tensor& k, const Tensor& v,
                            const AttentionOptions& options, const Tensor& out, const AttentionStats& stats,
                            const Tensor& d_out, bool reference) {
  const Encoding& e = job.built.encoding;
  const GradRequest request = job.entry->backward ? GradRequest::all(e) : GradRequest{};
  AttendGrads g;
  g.core = reference ? attention_backward_reference(q, k, v, e, options, out, stats, d_out, request)
                     : attention_backward(q, k, v, e, options, out, stats, d_out, request);
  if (job.entry->backward)
    for (auto& [field, grad] : cat::backward(job.entry->name, job.values, job.built, g.core.encoding, job.context))
      g.parameters.push_back({field, std::move(grad), of(job, field)});
  for (const auto& pg : g.parameters)
    for (std::size_t i = 0; i < pg.grad.size(); ++i)
      if (!std::isfinite(pg.grad.data()[i]))
        bad("attend --grads: the gradient of '" + pg.file + "' is not finite at flat index " + std::to_string(i));
  return g;
}

void write_grads(Staging& dir, const Job& job, const AttendGrads& grads, const nlohmann::json& inputs) {
  nlohmann::json files = nlohmann::json::object();
  const std::pair<const char*, const Tensor*> core[] = {{"q", &grads.core.dq}, {"k", &grads.core.dk}, {"v", &grads.core.dv}};
  for (const auto& [name, t] : core) {
    const std::string file = std::string("d") + name + ".npy";
    save_npy(dir.file(file).string(), *t);
    files[file] = file_entry(*t, std::string(name) + " (--" + name + " " + inputs.value(name, std::string()) + ")");
  }
  nlohmann::json learnable = nlohmann::json::array();
  for (const auto& pg : grads.parameters) {
    const std::string file = pg.file + ".npy";
    save_npy(dir.file(file).string(), pg.grad);
    files[file] = file_entry(pg.grad, pg.of);
    learnable.push_back(pg.file);
  }
  nlohmann::json j;
  j["encoding"] = job.entry->name;
  j["loss"] = "L = sum(grad_output * out); every file is dL/d(its input), float32";
  j["inputs"] = inputs;
  j["files"] = files;
  j["parameters"] = learnable;
  if (!job.entry->backward)
    j["note"] = job.entry->tables.empty()      ? std::string("the encoding has no learnable parameter")
                : all_input_side(*job.entry) ? std::string(kInputSideNote)
                                             : grads_note(*job.entry);
  write_file_atomic(dir.file("grads.json").string(), j.dump(2) + "\n");
}

std::string grads_directory(const std::string& value, bool force) {
  return output_directory(value, "attend: --grads", force).string();
}

}  // namespace posenc::cli
