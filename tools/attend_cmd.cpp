// posenc attend: the shared attention core on Q, K, V with one catalogue entry's Encoding, and
// optionally its backward (--grad-output, --grads).
//
// The causal rule: `--causal [X]` sets the mask and, for an entry with its own causal field
// (ALiBi), that field too; without --causal both follow the field's value (ALiBi: true), and
// entries without the field get no mask. `--encoding-causal X` sets the field alone, so
// symmetric ALiBi is `--causal false` and a causal mask over symmetric ALiBi is
// `--causal --encoding-causal false`.
#include <chrono>
#include <cmath>
#include <iostream>
#include <optional>
#include <sstream>

#include "checks.hpp"
#include "encoding_cmds.hpp"
#include "grads.hpp"
#include "jobs.hpp"
#include "posenc/attention.hpp"
#include "posenc/npy.hpp"

namespace posenc::cli {

namespace {

Tensor load_input(const std::string& path, const char* what) {
  require_input_file(std::string("attend: ") + what, path);
  Tensor t = load_npy(path);
  for (std::size_t i = 0; i < t.size(); ++i)
    if (!std::isfinite(t.data()[i]))
      bad(std::string("attend: ") + what + " '" + path + "' holds a non-finite value at flat index " + std::to_string(i));
  return t;
}

std::vector<std::int64_t> key_lengths(const std::string& text) {
  std::vector<std::int64_t> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    char* end = nullptr;
    const long long v = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end != 0) bad("attend: --key-lengths must be comma-separated integers, got '" + text + "'");
    out.push_back(v);
  }
  return out;
}

void check_sizes(const AttendArgs& a, const Tensor& q, const Tensor& k, const Tensor& v) {
  const long double b = q.shape()[0], h = q.shape()[1], nq = q.shape()[2], nk = k.shape()[2];
  const std::string shapes = "--q " + shape_string(q) + " and --k " + shape_string(k);
  std::vector<SizeNeed> needs = {{"the output [B, H, Nq, dv] float32", 4 * b * h * nq * v.shape()[v.dimension() - 1], {{"q", a.q}}}};
  if (!a.weights.empty())
    needs.push_back({"--weights [B, H, Nq, Nk] float32 (" + shapes + ")", 4 * b * h * nq * nk, {{"weights", a.weights}}});
  if (a.reference)
    needs.push_back({"the reference's scores [B, H, Nq, Nk] float64 (" + shapes + ")", 8 * b * h * nq * nk, {{"reference", "true"}}});
  require_budget("attend", needs);
}

struct Inputs {
  Tensor q, k, v, d_out;
};

Inputs load_inputs(const AttendArgs& a, bool with_grads) {
  Inputs in{load_input(a.q, "--q"), load_input(a.k, "--k"), load_input(a.v, "--v"), {}};
  if (in.q.dimension() != 4) bad("attend: --q must be [B, H, Nq, d], got " + shape_string(in.q));
  if (in.k.dimension() != 4) bad("attend: --k must be [B, Hk, Nk, d], got " + shape_string(in.k));
  if (in.v.dimension() < 1 || (with_grads && in.v.dimension() != 4))
    bad("attend: --v must be [B, Hk, Nk, dv], got " + shape_string(in.v));
  check_sizes(a, in.q, in.k, in.v);
  if (with_grads) {
    in.d_out = load_input(a.grad_output, "--grad-output");
    const Shape want{in.q.shape()[0], in.q.shape()[1], in.q.shape()[2], in.v.shape()[3]};
    if (Shape(in.d_out.shape().begin(), in.d_out.shape().end()) != want)
      bad("attend: --grad-output '" + a.grad_output + "' must have the output's shape [B, H, Nq, dv] = " +
          shape_string(want) + ", got " + shape_string(in.d_out));
  }
  return in;
}

/// The entry built for these tensors; the causal rule of the file comment.
Job attend_job(const AttendArgs& a, const Inputs& in, const std::vector<std::string>& extras, AttentionOptions& o) {
  const catalogue::EntryInfo& e = catalogue::describe(a.encoding);
  auto given = parse_extras("attend " + e.name, extras, e, "encoding", attend_options());
  if (given.count("tokens") || given.count("query_tokens"))
    bad("attend: token counts come from --q and --k; do not pass 'tokens' or 'query_tokens'");
  const bool has_causal = e.field("causal") != nullptr;
  if (has_causal && a.causal_given && !given.count("causal")) given["causal"] = a.causal ? "true" : "false";
  const std::size_t dv = in.v.dimension() == 4 ? in.v.shape()[3] : in.q.shape()[3];
  Job job = build_job("attend", e.name, given,
                      {{"heads", std::to_string(in.q.shape()[1])}, {"head_dim", std::to_string(in.q.shape()[3])},
                       {"dim", std::to_string(in.q.shape()[3])}, {"value_dim", std::to_string(dv)},
                       {"tokens", std::to_string(in.k.shape()[2])}, {"query_tokens", std::to_string(in.q.shape()[2])}},
                      in.q.shape()[2], in.k.shape()[2]);
  check_job_outputs("attend", job);
  o.mask.causal = a.causal_given ? a.causal : has_causal && std::get<bool>(job.resolved.at("causal"));
  return job;
}

}  // namespace

int cmd_attend(const AttendArgs& a, const std::vector<std::string>& extras) {
  check_threads("attend", a.threads);
  if (a.grad_output.empty() != a.grads.empty())
    bad(a.grads.empty() ? "attend: --grad-output '" + a.grad_output + "' needs --grads DIR (where the gradients go)"
                        : "attend: --grads '" + a.grads + "' needs --grad-output dO.npy (the loss gradient of --out)");
  const bool with_grads = !a.grads.empty();
  // Every output is checked before any work: names, parents, collisions.
  OutputFiles files("attend");
  files.add("--out", a.out);
  if (!a.weights.empty()) files.add("--weights", a.weights);
  const std::string grads_dir = with_grads ? grads_directory(a.grads, a.force) : std::string();
  if (with_grads) files.claim_directory("--grads", grads_dir);
  const Inputs in = load_inputs(a, with_grads);
  AttentionOptions o;
  const Job job = attend_job(a, in, extras, o);
  const std::string& name = job.entry->name;
  if (!std::isfinite(a.scale)) bad("attend: --scale must be finite, got " + std::to_string(a.scale));
  if (a.scale != 0) o.scale = a.scale;
  o.threads = a.threads;
  if (!a.key_lengths.empty()) o.mask.key_lengths = key_lengths(a.key_lengths);
  const auto t0 = std::chrono::steady_clock::now();
  AttentionStats stats;
  AttentionStats* keep = with_grads ? &stats : nullptr;
  const Encoding& enc = job.built.encoding;
  const Tensor out = a.reference ? attention_reference(in.q, in.k, in.v, enc, o, keep) : attention(in.q, in.k, in.v, enc, o, keep);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const std::string hint = "the inputs and " + given_text(job);
  require_finite_output("attend " + name, a.out, Array(out), hint);
  // The backward runs and every gradient is staged before anything is written, so a failure leaves
  // neither --out nor the --grads directory behind.
  std::optional<Staging> staged;
  std::string grads_line;
  if (with_grads) {
    const auto t1 = std::chrono::steady_clock::now();
    const AttendGrads g = attend_backward(job, in.q, in.k, in.v, o, out, stats, in.d_out, a.reference);
    const double bms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t1).count();
    staged.emplace(grads_dir, "attend: --grads", a.force);
    write_grads(*staged, job, g, {{"q", a.q}, {"k", a.k}, {"v", a.v}, {"grad_output", a.grad_output}, {"out", a.out}});
    grads_line = "; grads -> " + grads_dir + ": dq dk dv";
    for (const auto& pg : g.parameters) grads_line += " " + pg.file;
    grads_line += " in " + std::to_string(std::lround(bms)) + " ms";
  }
  if (!a.weights.empty()) {
    const Tensor w = attention_weights(in.q, in.k, enc, o);
    require_finite_output("attend " + name, a.weights, Array(w), hint);
    save_npy(files.temporary("--weights").string(), w);
  }
  save_npy(files.temporary("--out").string(), out);
  if (staged) staged->commit();
  files.commit();
  std::cout << "attend: " << name << " " << shape_string(in.q) << " x " << shape_string(in.k) << " -> " << a.out << " "
            << shape_string(out) << (o.mask.causal ? " causal" : "") << " in " << std::lround(ms) << " ms" << grads_line
            << "\n";
  return 0;
}

}  // namespace posenc::cli
