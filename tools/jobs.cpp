// Building one encoding from the command line (see jobs.hpp).
#include "jobs.hpp"

#include <cmath>
#include <limits>

#include "checks.hpp"
#include "posenc/npy.hpp"

namespace posenc::cli {

std::map<std::string, std::string> parse_extras(const std::vector<std::string>& extras) {
  std::map<std::string, std::string> out;
  for (std::size_t i = 0; i < extras.size(); ++i) {
    const std::string& a = extras[i];
    if (a.rfind("--", 0) != 0) bad("unexpected argument '" + a + "' (parameters are --NAME VALUE)");
    std::string name = a.substr(2), value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else if (i + 1 < extras.size() && (extras[i + 1].rfind("--", 0) != 0)) {
      value = extras[++i];
    } else {
      value = "true";
    }
    name = normalise(name);
    if (out.count(name)) bad("parameter '" + name + "' given twice");
    out[name] = value;
  }
  return out;
}

namespace {

/// An integer parameter that must be >= 1, reported as the user typed it.
std::size_t positive(const Params& p, const std::string& who, const std::string& name) {
  const std::int64_t v = p.integer(name);
  if (v < 1) bad(who + ": parameter '" + name + "' must be >= 1, got " + p.str(name));
  return static_cast<std::size_t>(v);
}

std::string shape_text(const Array& a) {
  return std::visit([](const auto& t) { return shape_string(t); }, a);
}

nlohmann::json shape_json(const Array& a) {
  return std::visit([](const auto& t) { return nlohmann::json(std::vector<std::size_t>(t.shape().begin(), t.shape().end())); }, a);
}

const char* dtype_of(const Array& a) {
  if (std::holds_alternative<Tensor>(a)) return "float32";
  if (std::holds_alternative<DTensor>(a)) return "float64";
  return "int64";
}

}  // namespace

Job build_job(const std::string& command, const std::string& name, const std::map<std::string, std::string>& given,
              const std::map<std::string, std::string>& implied, std::optional<std::size_t> n_query,
              std::optional<std::size_t> n_key) {
  const EncodingSpec& spec = find_encoding(name);
  check_params(spec, given);
  Params p(spec.name, spec.params, given);
  for (const auto& [k, v] : implied) p.imply(k, v);
  const std::string who = command + " " + spec.name;
  check_parameter_files(command, spec, p);
  long double nq = std::numeric_limits<long double>::quiet_NaN(), nk = nq;
  if (!spec.token_count) {
    nk = n_key ? static_cast<long double>(*n_key) : static_cast<long double>(positive(p, who, "tokens"));
    nq = n_query ? static_cast<long double>(*n_query)
                 : (p.has("query_tokens") ? static_cast<long double>(positive(p, who, "query_tokens")) : nk);
  }
  require_budget(who, encoding_sizes(spec, p, nq, nk, n_key ? "(from the input)" : ""));
  const double offset = p.has("offset") ? p.num("offset") : 0.0;
  if (!spec.token_count && offset + static_cast<double>(nk) > 9007199254740992.0)
    bad(who + ": parameter 'offset' " + p.str("offset") +
        " puts positions beyond 2^53 = 9007199254740992, where float64 no longer holds every integer");
  std::size_t k = 0, q = 0;
  if (spec.token_count) {
    k = spec.token_count(p);
    if (n_key && *n_key != k)
      bad(who + ": the grid has " + std::to_string(k) + " tokens (prefix_tokens + height * width) but the input has " +
          std::to_string(*n_key));
    q = n_query ? *n_query : k;
  } else {
    k = static_cast<std::size_t>(nk);
    q = static_cast<std::size_t>(nq);
  }
  Context c = Context::make(q, k, offset);
  Built b = spec.build(p, c);
  return {&spec, std::move(p), std::move(c), std::move(b)};
}

std::string given_text(const Params& p) {
  std::string s;
  for (const auto& [k, v] : p.given()) s += (s.empty() ? "--" : ", --") + k + " " + v;
  return s.empty() ? "the defaults" : s;
}

void check_job_outputs(const std::string& command, const Job& job) {
  const std::string who = command + " " + job.spec->name, hint = given_text(job.params);
  for (const auto& [stem, a] : job.built.arrays) require_finite_output(who, stem + ".npy", a, hint);
  for (const auto& [key, v] : job.built.scalars.items())
    if (v.is_number_float() && !std::isfinite(v.get<double>()))
      bad(who + ": the value '" + key + "' is not finite; check " + hint);
  if (job.built.encoding.scale && !std::isfinite(*job.built.encoding.scale))
    bad(who + ": the logit scale is not finite; check " + hint);
}

nlohmann::json describe(const Job& job) {
  nlohmann::json j;
  j["encoding"] = job.spec->name;
  j["source"] = job.spec->source;
  j["parts"] = job.spec->parts;
  j["parameters"] = job.params.to_json();
  j["query_tokens"] = job.context.n_query;
  j["key_tokens"] = job.context.n_key;
  j["offset"] = job.context.offset;
  nlohmann::json arrays = nlohmann::json::object();
  for (const auto& [stem, a] : job.built.arrays) arrays[stem + ".npy"] = {{"shape", shape_json(a)}, {"dtype", dtype_of(a)}};
  j["arrays"] = arrays;
  j["scalars"] = job.built.scalars;
  if (job.built.encoding.scale) j["scalars"]["logit_scale"] = *job.built.encoding.scale;
  return j;
}

std::string summary_line(const Job& job) {
  std::string s = job.spec->name + ":";
  for (const auto& [stem, a] : job.built.arrays) s += " " + stem + " " + shape_text(a);
  if (job.built.arrays.empty()) s += " (fills nothing)";
  if (job.built.scalars.contains("attention_factor"))
    s += " attention_factor " + job.built.scalars["attention_factor"].dump();
  return s;
}

void write_job(const std::string& command, Staging& out, const std::string& prefix, const Job& job) {
  check_job_outputs(command, job);
  for (const auto& [stem, a] : job.built.arrays)
    std::visit([&](const auto& t) { save_npy(out.file(prefix + stem + ".npy").string(), t); }, a);
  write_file_atomic(out.file(prefix + "encoding.json").string(), describe(job).dump(2) + "\n");
}

}  // namespace posenc::cli
