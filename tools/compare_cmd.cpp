// `posenc compare`: every listed encoding over seeds 0 .. S-1 on one task; results.md,
// results.csv, runs.csv, one metrics CSV per run and a picture of the metric against length.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "cli.hpp"
#include "dir_report.hpp"
#include "staging.hpp"
#include "train_cmd.hpp"

namespace posenc::cli {

using namespace posenc::train;

namespace {

struct Run {
  std::string encoding;
  std::uint64_t seed = 0;
  TrainResult result;
  std::string failure;  ///< non-empty: the run stopped (non-finite loss)
};

struct Stat {
  double mean = NAN, sd = NAN;
  int n = 0;
};

Stat stat(const std::vector<double>& v) {
  Stat s;
  double sum = 0;
  for (double x : v)
    if (std::isfinite(x)) sum += x, ++s.n;
  if (s.n == 0) return s;
  s.mean = sum / s.n;
  double ss = 0;
  for (double x : v)
    if (std::isfinite(x)) ss += (x - s.mean) * (x - s.mean);
  s.sd = s.n > 1 ? std::sqrt(ss / (s.n - 1)) : 0.0;
  return s;
}

/// A loss in results.md / runs.csv: 4 (runs.csv: 6) significant digits, so that small regression
/// errors (1e-5) do not print as zero.
std::string sig(double v, int digits) {
  if (!std::isfinite(v)) return "nan";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

std::string fmt(double v, int digits) {
  if (!std::isfinite(v)) return "nan";
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(digits);
  os << v;
  return os.str();
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

/// The headline metric of a run at evaluation index k (0: the validation length).
double metric(const Run& r, std::size_t k, bool lm) {
  if (!r.failure.empty() || k >= r.result.best_lengths.size()) return NAN;
  return lm ? r.result.best_lengths[k].loss : r.result.best_lengths[k].accuracy;
}

/// The lengths picture's two reference lines (orange, green) and what they are: the entropy floor and
/// log(vocab) for a language model, 0 and the largest mean loss for regression, chance and 1 otherwise.
struct ReferenceLines {
  double floor = 0, top = 1;
  std::string floor_text, top_text;
};

ReferenceLines reference_lines(const Task& task, double largest) {
  if (task.language_model)
    return {markov_entropy(task.vocab, task.length), std::log(static_cast<double>(task.vocab)), "the entropy floor",
            "log(vocab)"};
  if (task.regression) return {0.0, largest, "0", "the largest mean loss"};
  const double chance = 1.0 / static_cast<double>(std::max<std::int64_t>(task.classes, 1));
  return {chance, 1.0, "chance (1/" + std::to_string(task.classes) + ")", "1.0"};
}

template <class Model>
Run train_run(const CompareArgs& a, const Task& task, const std::string& enc, std::uint64_t seed) {
  Run run{enc, seed, {}, {}};
  Model model(build_config(a.s, task, enc, seed));
  TrainOptions o = build_options(a.s, seed);
  o.progress = progress_printer(enc + " seed " + std::to_string(seed));
  try {
    run.result = fit(model, task, o);
  } catch (const NonFiniteLoss& e) {
    run.failure = e.what();
    std::cout << enc << " seed " << seed << ": " << e.what() << std::endl;
  }
  return run;
}

std::vector<std::int64_t> lengths_of(const Task& task) {
  std::vector<std::int64_t> l = {task.length};
  for (const auto& s : task.lengths) l.push_back(s.length);
  return l;
}

std::string results_csv(const std::vector<std::string>& encs, const std::vector<Run>& runs, const Task& task) {
  const bool lm = task.language_model || task.regression;  // the loss is the headline
  const auto lengths = lengths_of(task);
  std::ostringstream os;
  os << "encoding,seeds,failed,parameters,best_val_accuracy_mean,best_val_accuracy_sd,best_val_loss_mean,"
        "best_val_loss_sd,seconds_mean";
  for (auto l : lengths) os << "," << (lm ? "loss_" : "accuracy_") << l << "_mean," << (lm ? "loss_" : "accuracy_") << l << "_sd";
  os << "\n";
  for (const auto& e : encs) {
    std::vector<double> acc, loss, secs;
    std::int64_t params = 0;
    int n = 0, failed = 0;
    for (const auto& r : runs) {
      if (r.encoding != e) continue;
      ++n;
      if (!r.failure.empty()) {
        ++failed;
        continue;
      }
      acc.push_back(r.result.best_val_accuracy);
      loss.push_back(r.result.best_val_loss);
      secs.push_back(r.result.seconds);
      params = r.result.parameter_count;
    }
    const Stat sa = stat(acc), sl = stat(loss), st = stat(secs);
    os << e << "," << n << "," << failed << "," << params << "," << fmt(sa.mean, 4) << "," << fmt(sa.sd, 4) << ","
       << sig(sl.mean, 6) << "," << sig(sl.sd, 6) << "," << fmt(st.mean, 1);
    for (std::size_t k = 0; k < lengths.size(); ++k) {
      std::vector<double> v;
      for (const auto& r : runs)
        if (r.encoding == e) v.push_back(metric(r, k, lm));
      const Stat s = stat(v);
      os << "," << (lm ? sig(s.mean, 6) : fmt(s.mean, 4)) << "," << (lm ? sig(s.sd, 6) : fmt(s.sd, 4));
    }
    os << "\n";
  }
  return os.str();
}

std::string runs_csv(const std::vector<Run>& runs, const Task& task) {
  const auto lengths = lengths_of(task);
  std::ostringstream os;
  os << "encoding,seed,parameters,best_epoch,best_val_accuracy,best_val_loss,seconds";
  for (auto l : lengths) os << ",loss_" << l << ",accuracy_" << l;
  os << ",failure\n";
  for (const auto& r : runs) {
    const auto& t = r.result;
    os << r.encoding << "," << r.seed << "," << t.parameter_count << "," << t.best_epoch << ","
       << fmt(t.best_val_accuracy, 4) << "," << sig(t.best_val_loss, 6) << "," << fmt(t.seconds, 1);
    for (std::size_t k = 0; k < lengths.size(); ++k)
      os << "," << (k < t.best_lengths.size() ? sig(t.best_lengths[k].loss, 6) + "," + fmt(t.best_lengths[k].accuracy, 4)
                                                : std::string("nan,nan"));
    std::string f = r.failure;
    for (auto& c : f)
      if (c == ',' || c == '\n') c = ';';
    os << "," << f << "\n";
  }
  return os.str();
}

std::string results_md(const CompareArgs& a, const std::vector<std::string>& encs, const std::vector<Run>& runs,
                       const Task& task, double seconds) {
  const bool lm = task.language_model || task.regression;  // the loss is the headline
  const auto lengths = lengths_of(task);
  std::ostringstream os;
  os << "# posenc compare: " << task.name << "\n\n" << task_summary(task.name) << ".\n\n"
     << "Model: " << a.s.layers << " layers, d_model " << a.s.d_model << ", " << a.s.heads << " heads, dropout "
     << a.s.dropout << "; AdamW lr " << a.s.lr << ", " << a.s.schedule << ", batch " << a.s.batch << ", "
     << a.s.epochs << " epochs; " << task.train.size() << " training and " << task.validation.size()
     << " validation samples (data seed " << a.s.data_seed << "); seeds 0.." << a.seeds - 1 << "; " << a.s.threads
     << " thread(s); whole comparison " << fmt(seconds / 60.0, 1) << " min.\n\n"
     << (task.regression ? "Best validation loss (mean-squared error, mean ± sd over seeds; lower is better) and the "
                           "loss of that model at each evaluation set"
         : lm ? "Best validation loss (nats, mean ± sd over seeds; lower is better) and the loss of that model at "
                "each evaluation length"
            : "Best validation accuracy (mean ± sd over seeds) and the accuracy of that model at each evaluation "
              "length")
     << "; nan: the model cannot take the length (learned table), or every run failed.\n\n";
  os << "| encoding | " << (lm ? "best val loss" : "best val accuracy") << " | parameters | seconds / run |";
  for (std::size_t k = 1; k < lengths.size(); ++k) os << " " << (lm ? "loss" : "acc") << " @" << lengths[k] << " |";
  os << "\n|---|---|---|---|";
  for (std::size_t k = 1; k < lengths.size(); ++k) os << "---|";
  os << "\n";
  for (const auto& e : encs) {
    std::vector<std::vector<double>> v(lengths.size());
    std::vector<double> secs;
    std::int64_t params = 0;
    for (const auto& r : runs) {
      if (r.encoding != e) continue;
      for (std::size_t k = 0; k < lengths.size(); ++k) v[k].push_back(metric(r, k, lm));
      if (r.failure.empty()) secs.push_back(r.result.seconds), params = r.result.parameter_count;
    }
    // Losses with significant digits (a regression's MSE can be 1e-5), accuracies with 3 decimals.
    auto num = [&](double x) { return lm ? sig(x, 4) : fmt(x, 3); };
    const Stat s0 = stat(v[0]);
    os << "| " << e << " | " << num(s0.mean) << " ± " << num(s0.sd) << " | " << params << " | "
       << fmt(stat(secs).mean, 0) << " |";
    for (std::size_t k = 1; k < lengths.size(); ++k) {
      const Stat s = stat(v[k]);
      os << " " << num(s.mean) << " ± " << num(s.sd) << " |";
    }
    os << "\n";
  }
  for (const auto& r : runs)
    if (!r.failure.empty()) os << "\nFailed: " << r.encoding << " seed " << r.seed << ": " << r.failure << "\n";
  const ReferenceLines ref = reference_lines(task, 1.0);
  if (lengths.size() == 1)
    os << "\nlengths.png (one evaluation length): blue: the " << (lm ? "loss" : "accuracy")
       << " of each encoding in the table's order (x); orange: " << ref.floor_text << "; green: " << ref.top_text
       << ".\n";
  else {
    os << "\nlengths.png: one panel per encoding, titled with its name, in the table's order (four per row); blue: "
       << (lm ? "mean loss" : "mean accuracy") << "; orange: " << ref.floor_text << "; green: " << ref.top_text
       << "; x: evaluation lengths";
    for (auto l : lengths) os << " " << l;
    os << ".\n";
  }
  return os.str();
}

plot::Image lengths_picture(const std::vector<std::string>& encs, const std::vector<Run>& runs, const Task& task) {
  const bool lm = task.language_model || task.regression;  // the loss is the headline
  const std::size_t nl = lengths_of(task).size();
  if (nl == 1) {  // one length: the metric per encoding, in the table's order (x)
    std::vector<double> mean;
    for (const auto& e : encs) {
      std::vector<double> v;
      for (const auto& r : runs)
        if (r.encoding == e) v.push_back(metric(r, 0, lm));
      mean.push_back(std::isfinite(stat(v).mean) ? stat(v).mean : 0.0);
    }
    if (mean.size() == 1) mean.push_back(mean[0]);
    const ReferenceLines ref = reference_lines(task, *std::max_element(mean.begin(), mean.end()));
    return plot::line_chart(
        {mean, std::vector<double>(mean.size(), ref.floor), std::vector<double>(mean.size(), ref.top)}, 480, 240);
  }
  std::vector<plot::Image> rows, row;
  for (const auto& e : encs) {
    std::vector<double> mean;
    for (std::size_t k = 0; k < nl; ++k) {
      std::vector<double> v;
      for (const auto& r : runs)
        if (r.encoding == e) v.push_back(metric(r, k, lm));
      const double m = stat(v).mean;
      if (!std::isfinite(m)) break;  // the rest cannot be measured
      mean.push_back(m);
    }
    if (mean.empty()) mean.push_back(0.0);
    const ReferenceLines ref = reference_lines(task, *std::max_element(mean.begin(), mean.end()));
    row.push_back(plot::titled(
        plot::line_chart({mean, std::vector<double>(nl, ref.floor), std::vector<double>(nl, ref.top)}, 200, 120), e,
        11));
    if (row.size() == 4) rows.push_back(plot::hstack(row, 8)), row.clear();
  }
  if (!row.empty()) rows.push_back(plot::hstack(row, 8));
  return vstack(rows, 8);
}

}  // namespace

int cmd_compare(const CompareArgs& a) {
  if (a.s.list_tasks) return print_tasks_and_kinds(), 0;
  require_out("compare", a.out);
  keep_freed_memory();
  check_settings("compare", a.s);
  const auto encs = split(a.encodings);
  if (encs.empty()) bad("compare: --encodings must list at least one encoding, got '" + a.encodings + "'");
  for (const auto& e : encs) {
    try {
      check_encoding_name("compare", e);
    } catch (const std::invalid_argument& x) {
      std::string msg = x.what();
      bad(msg.replace(msg.find("--encoding"), 10, "encoding in --encodings"));
    }
  }
  if (a.seeds < 1 || a.seeds > 100) bad("compare: --seeds must be in [1, 100], got " + std::to_string(a.seeds));
  output_directory(a.out, "compare: --out", a.s.force);  // before any work
  const auto t0 = std::chrono::steady_clock::now();
  const Task task = build_task(a.s);
  Staging out(a.out, "compare: --out", a.s.force);
  std::vector<Run> runs;
  for (const auto& e : encs)
    for (std::int64_t s = 0; s < a.seeds; ++s) {
      const auto seed = static_cast<std::uint64_t>(s);
      runs.push_back(task.language_model       ? train_run<TransformerLM>(a, task, e, seed)
                     : task.input_features > 0 ? train_run<FeatureTransformer>(a, task, e, seed)
                                               : train_run<TransformerClassifier>(a, task, e, seed));
      if (runs.back().failure.empty())
        out.write_text("runs/" + e + "_seed" + std::to_string(s) + ".csv", metrics_csv(runs.back().result));
    }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  out.write_text("results.csv", results_csv(encs, runs, task));
  out.write_text("runs.csv", runs_csv(runs, task));
  out.write_text("results.md", results_md(a, encs, runs, task, seconds));
  plot::write_png(out.file("lengths.png").string(), lengths_picture(encs, runs, task));
  write_directory_report(out, "compare");
  out.commit();
  std::cout << "compare: " << encs.size() << " encodings x " << a.seeds << " seeds on " << task.name << " in "
            << fmt(seconds / 60.0, 1) << " min -> " << out.target().string() << "\n";
  return 0;
}

}  // namespace posenc::cli
