// list, encode, apply and attend: every encoding comes from the catalogue (posenc/catalogue.hpp).
#include "encoding_cmds.hpp"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <sstream>

#include "checks.hpp"
#include "grads.hpp"
#include "jobs.hpp"
#include "posenc/npy.hpp"
#include "posenc/rotary.hpp"

namespace posenc::cli {

namespace {

namespace cat = catalogue;

std::string type_text(const cat::FieldInfo& f) {
  if (f.type != cat::FieldType::choice) return cat::type_name(f.type);
  std::string s;
  for (const auto& c : f.choices) s += (s.empty() ? "" : "|") + c;
  return s;
}

// Tensors read from files must be finite: NaN or inf would flow silently into every output.
Tensor load_finite(const std::string& command, const std::string& path, const char* what) {
  require_input_file(command + ": " + what, path);
  Tensor t = load_npy(path);
  for (std::size_t i = 0; i < t.size(); ++i)
    if (!std::isfinite(t.data()[i]))
      bad(command + ": " + what + " '" + path + "' holds a non-finite value at flat index " + std::to_string(i));
  return t;
}

}  // namespace

const std::vector<std::string>& attend_options() {
  static const std::vector<std::string> o = {"q", "k", "v", "out", "encoding", "causal", "key_lengths", "scale",
                                             "threads", "weights", "reference", "grad_output", "grads", "force"};
  return o;
}

std::string entry_help(const std::string& command, const std::string& name) {
  const cat::EntryInfo& e = cat::describe(name);
  const bool attend = command == "attend";
  auto own = [&](const std::string& f) {
    return attend && std::find(attend_options().begin(), attend_options().end(), f) != attend_options().end() &&
           f != "causal";
  };
  std::ostringstream os;
  os << e.name << " - " << e.summary << "\n  fills:  " << e.parts << "\n  source: " << e.source << "\n";
  for (const auto& in : e.inputs) os << "  input:  " << in << "\n";
  os << "\nParameters of posenc " << command << (attend ? " --encoding " : " ") << e.name
     << " (--NAME VALUE or --NAME=VALUE; '-' and '_' alike; booleans also bare --NAME):\n";
  std::string group;
  for (const auto& f : e.fields) {
    if (attend && (f.name == "tokens" || f.name == "query_tokens")) continue;  // from --q and --k
    if (f.group != group) os << " " << (group = f.group) << ":\n";
    os << "  " << (own(f.name) ? "--encoding-" + f.name : flag_of(f.name)) << "  " << type_text(f)
       << "  default " << f.default_text;
    if (f.struct_default) os << " (the option struct's: " << *f.struct_default << ")";
    os << "\n      " << f.help << "\n";
  }
  if (e.field("patch_frequency") && e.field("patch_time"))
    os << "  --patch N  integer: sets both --patch-frequency and --patch-time (AST's square patch)\n";
  if (e.field("points"))
    os << "  --lat-column NAME, --lon-column NAME  CSV columns of --points FILE.csv (default lat/latitude, lon/longitude)\n"
       << "  --radians  boolean, default false: --points values are radians (default degrees)\n"
       << "      points are (longitude, latitude): a .npy [N, 2] holds longitude in column 0, latitude in column 1\n";
  for (const auto& t : e.tables)
    os << "  table " << t.array << " " << t.shape << ": " << t.initialiser << "; load with " << flag_of(t.field)
       << (t.part.empty() ? " (input-side)" : "") << "\n";
  if (attend) {
    os << "\nattend: tokens and query_tokens come from --q and --k; heads, head_dim, dim and value_dim default to "
          "the tensors' sizes.\n";
    if (e.field("causal"))
      os << "attend: --causal X sets both the mask and this encoding's causal field; without --causal both follow "
            "the field (default " << e.field("causal")->default_text << "); --encoding-causal sets the field alone.\n";
  }
  return os.str();
}

int cmd_list(bool verbose) {
  for (const auto& e : cat::entries()) {
    std::cout << e.name << "  —  " << e.summary << "\n    fills: " << e.parts << "\n    source: " << e.source << "\n";
    for (const auto& f : e.fields) {
      std::cout << "    --" << f.name << " " << f.default_text;
      if (verbose) std::cout << "  (" << type_text(f) << ") " << f.help;
      std::cout << "\n";
    }
    if (verbose) std::cout << "    grads: " << grads_note(e) << "\n";
  }
  return 0;
}

int cmd_encode(const std::string& name, const std::string& out_dir, bool force, const std::vector<std::string>& extras) {
  output_directory(out_dir, "encode: --out", force);  // before any work
  const cat::EntryInfo& e = cat::describe(name);
  Job job = build_job("encode", e.name, parse_extras("encode " + e.name, extras, e, "", {"out", "force"}), {});
  check_job_outputs("encode", job);
  Staging out(out_dir, "encode: --out", force);
  write_job("encode", out, "", job);
  out.commit();
  std::cout << summary_line(job) << " -> " << out.target().string() << "\n";
  return 0;
}

int cmd_apply(const std::string& name, const std::string& input, const std::string& output, const std::string& side,
              const std::vector<std::string>& extras) {
  OutputFiles files("apply");
  files.add("--out", output);
  const Tensor x = load_finite("apply", input, "--input");
  if (x.dimension() < 2) bad("apply: input '" + input + "' must have at least 2 axes [..., tokens, dim], got " + shape_string(x));
  const std::size_t n = x.shape()[x.dimension() - 2], d = x.shape()[x.dimension() - 1];
  const cat::EntryInfo& e = cat::describe(name);
  const auto given = parse_extras("apply " + e.name, extras, e, "", {"input", "out", "side"});
  if (given.count("tokens")) bad("apply: 'tokens' comes from the input's shape; do not pass it");
  Job job = build_job("apply", e.name, given,
                      {{"dim", std::to_string(d)}, {"head_dim", std::to_string(d)}, {"tokens", std::to_string(n)}},
                      given.count("query_tokens") ? std::optional<std::size_t>{} : std::optional<std::size_t>{n}, n);
  check_job_outputs("apply", job);
  const Encoding& enc = job.built.encoding;
  Tensor y;
  if (!enc.rotation.empty()) {
    RotarySide s;
    if (side == "query") s = RotarySide::query;
    else if (side == "key") s = RotarySide::key;
    else bad("apply: --side must be query or key, got '" + side + "'");
    y = apply_rotary(x, enc.rotation, s);
  } else if (is_set(enc.input_add) || is_set(enc.input_concat)) {
    y = apply_input(enc, x);
  } else {
    bad("apply: encoding '" + e.name + "' has no input-side part or rotation to apply; use 'posenc attend'");
  }
  require_finite_output("apply " + e.name, output, Array(y), given_text(job));
  save_npy(files.temporary("--out").string(), y);
  files.commit();
  std::cout << e.name << ": applied to " << shape_string(x) << " -> " << output << " " << shape_string(y) << "\n";
  return 0;
}

}  // namespace posenc::cli
