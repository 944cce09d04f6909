// Building one catalogue entry from the command line (see jobs.hpp).
#include "jobs.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "checks.hpp"
#include "posenc/npy.hpp"

namespace posenc::cli {

namespace {

namespace cat = catalogue;

bool is_boolean_literal(const std::string& s) {
  const std::string n = normalise(s);
  for (const char* b : {"true", "false", "1", "0", "yes", "no", "on", "off"})
    if (n == b) return true;
  return false;
}

/// Options the command line takes for an entry besides its fields: name -> is boolean.
std::map<std::string, bool> command_options(const cat::EntryInfo& e) {
  if (e.field("patch_frequency") && e.field("patch_time")) return {{"patch", false}};  // the old spelling of both
  if (!e.field("points")) return {};
  return {{"lat_column", false}, {"lon_column", false}, {"radians", true}};
}

/// "--rope-type" for a mistyped name, from the catalogue's suggestion rule (hints included).
[[noreturn]] void unknown_option(const std::string& who, const cat::EntryInfo& e, const std::string& typed,
                                 const std::vector<std::string>& own = {}) {
  std::string guess = cat::suggest_field(e, typed);
  if (guess.empty()) {
    std::vector<std::string> extra = own;
    for (const auto& [n, b] : command_options(e)) extra.push_back(n);
    guess = closest(normalise(typed), extra);
  }
  bad(who + ": unknown option '--" + typed + "'" + (guess.empty() ? "" : "; did you mean '" + flag_of(guess) + "'?") +
      " (posenc encode " + e.name + " --help lists them)");
}

}  // namespace

std::map<std::string, std::string> parse_extras(const std::string& who, const std::vector<std::string>& extras,
                                                const cat::EntryInfo& entry, const std::string& prefix,
                                                const std::vector<std::string>& own) {
  const auto extra = command_options(entry);
  std::map<std::string, std::string> out;
  for (std::size_t i = 0; i < extras.size(); ++i) {
    const std::string& a = extras[i];
    if (a.rfind("--", 0) != 0 || a.size() == 2)
      bad(who + ": unexpected argument '" + a + "' (options are --NAME VALUE; posenc encode " + entry.name + " --help)");
    std::string typed = a.substr(2), value;
    const auto eq = typed.find('=');
    if (eq != std::string::npos) value = typed.substr(eq + 1), typed = typed.substr(0, eq);
    std::string name = normalise(typed);
    if (!prefix.empty() && name.rfind(prefix + "_", 0) == 0 && entry.field(name.substr(prefix.size() + 1)))
      name = name.substr(prefix.size() + 1);
    const cat::FieldInfo* f = entry.field(name);
    const auto x = extra.find(name);
    if (!f && x == extra.end()) unknown_option(who, entry, typed, own);
    const bool boolean = f ? f->type == cat::FieldType::boolean : x->second;
    if (eq == std::string::npos) {
      const bool next = i + 1 < extras.size() && extras[i + 1].rfind("--", 0) != 0;
      if (next) value = extras[++i];
      else if (boolean) value = "true";
      else bad(who + ": option '--" + typed + "' needs a value (" +
               (f ? cat::type_name(f->type) : std::string("a name")) + ")");
    }
    if (out.count(name)) bad(who + ": option '" + flag_of(name) + "' given twice");
    out[name] = value;
  }
  return out;
}

namespace {

/// A 'tokens' / 'query_tokens' option that must be >= 1, reported as the user typed it.
void require_positive_count(const std::string& who, const std::map<std::string, std::string>& given,
                            const std::string& name) {
  const auto it = given.find(name);
  if (it == given.end()) return;
  const std::string& s = it->second;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != 0 || errno == ERANGE) return;  // the catalogue reports the type
  if (v < 1) bad(who + ": parameter '" + name + "' must be >= 1, got " + s);
}

std::string shape_text(const Array& a) {
  return std::visit([](const auto& t) { return shape_string(t); }, a);
}

/// Sphere points: a CSV is read here (named columns, degrees or radians); a .npy goes through the
/// field's own parsing. Both are then checked for the (lon, lat) order.
std::optional<DTensor> points_of(const std::string& who, std::map<std::string, std::string>& text) {
  const auto radians_text = text.count("radians") ? text["radians"] : "false";
  const std::string lat = text.count("lat_column") ? text["lat_column"] : "",
                    lon = text.count("lon_column") ? text["lon_column"] : "";
  const bool from_option = text.erase("lat_column") + text.erase("lon_column") + text.erase("radians") > 0;
  const auto it = text.find("points");
  if (it == text.end()) {
    if (from_option) bad(who + ": --lat-column, --lon-column and --radians describe --points FILE.csv; give --points");
    return std::nullopt;
  }
  const std::string r = normalise(radians_text);
  if (!is_boolean_literal(r)) bad(who + ": option '--radians' expects true|false|1|0|yes|no|on|off, got '" + radians_text + "'");
  const bool radians = r == "true" || r == "1" || r == "yes" || r == "on";
  const std::string path = it->second;
  text.erase(it);
  return read_points(who, path, lat, lon, radians);
}

}  // namespace

Job build_job(const std::string& command, const std::string& name, const std::map<std::string, std::string>& given,
              const std::map<std::string, std::string>& implied, std::optional<std::size_t> n_query,
              std::optional<std::size_t> n_key) {
  Job job;
  job.entry = &cat::describe(name);
  const cat::EntryInfo& e = *job.entry;
  const std::string who = command + " " + e.name;
  job.given = given;
  std::map<std::string, std::string> text = given;
  for (const auto& [k, v] : text)
    if (!e.field(k) && !command_options(e).count(k)) unknown_option(who, e, k);
  check_parameter_files(command, e.name, given);
  require_positive_count(who, given, "tokens");
  require_positive_count(who, given, "query_tokens");
  if (auto p = text.find("patch"); p != text.end()) {  // --patch N: AST's square patch, both sides
    for (const char* side : {"patch_frequency", "patch_time"})
      if (given.count(side)) bad(who + ": give --patch or " + flag_of(side) + ", not both");
    text["patch_frequency"] = text["patch_time"] = p->second;
    text.erase("patch");
  }
  const std::optional<DTensor> points = points_of(who, text);
  job.values = cat::parse(e.name, text);
  if (points) job.values["points"] = *points;
  std::map<std::string, std::string> implied_here;
  for (const auto& [k, v] : implied)
    if (e.field(k) && !given.count(k)) implied_here[k] = v;
  job.context.implied = cat::parse(e.name, implied_here);
  for (const auto& f : e.fields)
    if (f.default_value) job.resolved[f.name] = *f.default_value;
  for (const auto& [k, v] : job.context.implied) job.resolved[k] = v;
  for (const auto& [k, v] : job.values) job.resolved[k] = v;

  const bool text_positions = e.field("tokens") != nullptr;
  long double nq = std::numeric_limits<long double>::quiet_NaN(), nk = nq;
  if (text_positions) {
    nk = static_cast<long double>(std::get<std::int64_t>(job.resolved.at("tokens")));
    const auto q = job.resolved.find("query_tokens");
    nq = q == job.resolved.end() ? nk : static_cast<long double>(std::get<std::int64_t>(q->second));
  }
  if (auto off = job.resolved.find("offset"); text_positions && off != job.resolved.end() &&
                                               std::get<double>(off->second) + nk > 9007199254740992.0L)
    bad(who + ": parameter 'offset' " + (given.count("offset") ? given.at("offset") : cat::value_text(off->second)) +
        " puts positions beyond 2^53 = 9007199254740992, where float64 no longer holds every integer");
  require_budget(who, encoding_sizes(e.name, job.resolved, given, nq, nk, n_key ? "(from the input)" : ""));
  job.built = cat::build(e.name, job.values, job.context);
  if (n_key && job.built.tokens != *n_key)
    bad(who + ": the " + (text_positions ? "encoding" : "grid") + " has " + std::to_string(job.built.tokens) +
        " tokens (" + (e.inputs.empty() ? "its positions" : e.inputs[0]) + ") but the input has " +
        std::to_string(*n_key));
  if (n_query && job.built.query_tokens != *n_query)
    bad(who + ": the encoding has " + std::to_string(job.built.query_tokens) + " query tokens but the queries have " +
        std::to_string(*n_query) + (text_positions ? "" : " (grid, sphere and graph entries are for self-attention: "
                                                         "give as many queries as keys)"));
  return job;
}

std::string given_text(const Job& job) {
  std::string s;
  for (const auto& [k, v] : job.given) s += (s.empty() ? "" : ", ") + flag_of(k) + " " + v;
  return s.empty() ? "the defaults" : s;
}

void check_job_outputs(const std::string& command, const Job& job) {
  const std::string who = command + " " + job.entry->name, hint = given_text(job);
  for (const auto& [stem, a] : job.built.arrays) require_finite_output(who, stem + ".npy", a, hint);
  for (const auto& [key, v] : job.built.metadata)
    if (const auto* d = std::get_if<double>(&v); d && !std::isfinite(*d))
      bad(who + ": the value '" + key + "' is not finite; check " + hint);
  if (job.built.encoding.scale && !std::isfinite(*job.built.encoding.scale))
    bad(who + ": the logit scale is not finite; check " + hint);
}

std::string summary_line(const Job& job) {
  std::string s = job.entry->name + ":";
  for (const auto& [stem, a] : job.built.arrays) s += " " + stem + " " + shape_text(a);
  if (job.built.arrays.empty()) s += " (fills nothing)";
  for (const auto& [key, v] : job.built.metadata)
    if (key == "attention_factor") s += " attention_factor " + cat::value_text(v);
  return s;
}

}  // namespace posenc::cli
