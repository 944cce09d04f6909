// Shared parts of `posenc train` and `posenc compare`: option checks, the task, model and
// trainer settings, metrics files and the progress printer.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli.hpp"
#include "train_cmd.hpp"

namespace posenc::cli {

using namespace posenc::train;
using json = nlohmann::json;

namespace {

std::string list_text(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

void unknown(const std::string& command, const std::string& option, const std::string& value,
             const std::vector<std::string>& names) {
  const std::string near = closest(value, names);
  bad(command + ": unknown " + option + " '" + value + "'" + (near.empty() ? "" : "; did you mean '" + near + "'?") +
      " (" + list_text(names) + ")");
}

/// Parses a comma-separated list of integers given to `option` (named in the error).
std::vector<std::int64_t> parse_lengths(const std::string& option, const std::string& text) {
  std::vector<std::int64_t> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      std::size_t used = 0;
      out.push_back(std::stoll(item, &used));
      if (used != item.size()) throw std::invalid_argument("");
    } catch (const std::exception&) {
      bad(option + " must be comma-separated integers, got '" + text + "'");
    }
  }
  return out;
}

std::string num(double v) {
  if (!std::isfinite(v)) return "nan";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const auto t = static_cast<long>(std::lround(s));
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, t / 60 % 60);
  else std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  return buf;
}

}  // namespace

void check_task_name(const std::string& command, const std::string& task) {
  const auto names = task_names();
  if (std::find(names.begin(), names.end(), task) == names.end()) unknown(command, "--task", task, names);
}

void check_encoding_name(const std::string& command, const std::string& encoding) {
  auto names = position_kinds();
  names.push_back("none");  // the library's alias of nope
  // A combined kind "a+b" names each of its parts (make_position_module).
  std::size_t from = 0;
  for (std::size_t plus = 0; plus != std::string::npos; from = plus + 1) {
    plus = encoding.find('+', from);
    const std::string part = encoding.substr(from, plus == std::string::npos ? std::string::npos : plus - from);
    if (std::find(names.begin(), names.end(), part) == names.end()) unknown(command, "--encoding", part, names);
  }
}

void check_settings(const std::string& command, const TrainSettings& s) {
  check_task_name(command, s.task);
  auto positive = [&](const char* option, std::int64_t v, std::int64_t hi) {
    if (v < 1 || v > hi)
      bad(command + ": " + option + " must be in [1, " + std::to_string(hi) + "], got " + std::to_string(v));
  };
  positive("--epochs", s.epochs, 100000);
  positive("--layers", s.layers, 64);
  positive("--d-model", s.d_model, 4096);
  positive("--heads", s.heads, 256);
  positive("--batch", s.batch, 65536);
  positive("--train-samples", s.train_samples, 10000000);
  positive("--val-samples", s.validation_samples, 10000000);
  positive("--length-samples", s.length_samples, 10000000);
  if (s.d_model % s.heads != 0)
    bad(command + ": --heads " + std::to_string(s.heads) + " must divide --d-model " + std::to_string(s.d_model));
  if (!(s.dropout >= 0 && s.dropout < 1)) bad(command + ": --dropout must be in [0, 1), got " + num(s.dropout));
  if (!std::isfinite(s.lr) || s.lr <= 0) bad(command + ": --lr must be positive and finite, got " + num(s.lr));
  if (!std::isfinite(s.weight_decay) || s.weight_decay < 0)
    bad(command + ": --weight-decay must be >= 0 and finite, got " + num(s.weight_decay));
  if (!std::isfinite(s.clip)) bad(command + ": --clip must be finite, got " + num(s.clip));
  if (!(s.warmup >= 0 && s.warmup <= 1)) bad(command + ": --warmup must be in [0, 1], got " + num(s.warmup));
  if (s.threads < 1 || s.threads > 256)
    bad(command + ": --threads must be in [1, 256], got " + std::to_string(s.threads));
  if (s.max_len < 0 || s.max_len > 1000000) bad(command + ": --max-len must be in [0, 1000000], got " + std::to_string(s.max_len));
  if (s.vocab < 0) bad(command + ": --vocab must be >= 0 (0: the task's), got " + std::to_string(s.vocab));
  if (s.eval_every < 0) bad(command + ": --eval-every must be >= 0, got " + std::to_string(s.eval_every));
  if (s.eval_batch_tokens < 0)
    bad(command + ": --eval-batch-tokens must be >= 0 (0: one training batch), got " + std::to_string(s.eval_batch_tokens));
  schedule_kind(s.schedule);  // throws with the closest name
  if (!s.eval_lengths.empty()) parse_lengths("--eval-lengths", s.eval_lengths);
  if (!s.image_eval_grids.empty()) parse_lengths("--eval-grids", s.image_eval_grids);
}

Task build_task(const TrainSettings& s) {
  TaskOptions o;
  o.seed = s.data_seed;
  o.train_samples = s.train_samples;
  o.validation_samples = s.validation_samples;
  o.length_samples = s.length_samples;
  o.vocab = s.vocab;
  if (!s.eval_lengths.empty()) o.eval_lengths = parse_lengths("--eval-lengths", s.eval_lengths);
  // ---- images
  o.image_patch = s.image_patch;
  o.image_grid = s.image_grid;
  if (!s.image_eval_grids.empty()) o.image_eval_grids = parse_lengths("--eval-grids", s.image_eval_grids);
  o.image_pooling = s.image_pooling == "cls" ? Pooling::cls : Pooling::mean;
  // ---- graphs
  o.graph_min_nodes = s.graph_min_nodes;
  o.graph_max_nodes = s.graph_max_nodes;
  o.graph_lap_k = s.graph_lap_k;
  o.graph_rw_steps = s.graph_rw_steps;
  o.graph_pooling = s.graph_pooling == "cls" ? Pooling::cls : Pooling::mean;
  // ---- sphere
  o.field_seed = s.field_seed;
  o.field_degree = s.field_degree;
  // ---- tables
  o.tabpet_graph = s.tabpet_graph;
  o.tabpet_k = s.tabpet_k;
  o.split_seed = s.split_seed;
  o.table_categorical = s.table_categorical;
  o.table_csv = s.table_csv;
  o.table_target = s.table_target;
  return make_task(s.task, o);
}

ModelConfig build_config(const TrainSettings& s, const Task& task, const std::string& encoding, std::uint64_t seed) {
  ModelConfig c = task_model_config(task, encoding, seed);
  c.layers = s.layers;
  c.d_model = s.d_model;
  c.heads = s.heads;
  c.dropout = s.dropout;
  c.threads = s.threads;
  if (s.max_len > 0) c.position.max_len = s.max_len;
  // ---- graphs
  c.position.graph_max_hops = s.graph_max_hops;
  c.position.graph_lap_k = s.graph_lap_k;
  c.position.graph_rw_steps = s.graph_rw_steps;
  // ---- sphere
  c.position.sphere_degree = s.sphere_degree;
  // ---- tables
  c.position.tabpet_alpha = s.tabpet_alpha;
  return c;
}

TrainOptions build_options(const TrainSettings& s, std::uint64_t seed) {
  TrainOptions o;
  o.epochs = s.epochs;
  o.batch = s.batch;
  o.adamw.lr = s.lr;
  o.adamw.weight_decay = s.weight_decay;
  o.schedule = schedule_kind(s.schedule);
  o.warmup_fraction = s.warmup;
  o.clip = s.clip;
  o.seed = seed;
  o.threads = s.threads;
  o.length_eval_every = s.eval_every;
  o.eval_batch_tokens = s.eval_batch_tokens;
  return o;
}

std::string metrics_csv(const TrainResult& r) {
  std::ostringstream os;
  os << "epoch,train_loss,train_accuracy,val_loss,val_accuracy,seconds,lr";
  if (!r.history.empty())
    for (const auto& l : r.history[0].lengths) os << ",loss_" << l.length << ",accuracy_" << l.length;
  os << "\n";
  for (const auto& m : r.history) {
    os << m.epoch << "," << num(m.train_loss) << "," << num(m.train_accuracy) << "," << num(m.val_loss) << ","
       << num(m.val_accuracy) << "," << num(m.seconds) << "," << num(m.lr);
    for (const auto& l : m.lengths) os << "," << num(l.loss) << "," << num(l.accuracy);
    os << "\n";
  }
  return os.str();
}

std::string metrics_json(const TrainSettings& s, const std::string& encoding, const Task& task, const ModelConfig& c,
                         const TrainResult& r) {
  auto finite = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
  json history = json::array();
  for (const auto& m : r.history) {
    json lengths = json::array();
    for (const auto& l : m.lengths) lengths.push_back({{"length", l.length}, {"loss", finite(l.loss)}, {"accuracy", finite(l.accuracy)}});
    history.push_back({{"epoch", m.epoch}, {"train_loss", finite(m.train_loss)}, {"train_accuracy", finite(m.train_accuracy)},
                       {"val_loss", finite(m.val_loss)}, {"val_accuracy", finite(m.val_accuracy)},
                       {"seconds", m.seconds}, {"lr", m.lr}, {"lengths", lengths}});
  }
  json best_lengths = json::array();
  for (const auto& l : r.best_lengths)
    best_lengths.push_back({{"length", l.length}, {"loss", finite(l.loss)}, {"accuracy", finite(l.accuracy)}});
  json j = {{"task", task.name}, {"encoding", encoding}, {"language_model", task.language_model},
            {"length", task.length}, {"vocab", task.vocab}, {"classes", task.classes},
            {"train_samples", task.train.size()}, {"validation_samples", task.validation.size()},
            {"data_seed", s.data_seed}, {"model", json::parse(config_to_json(c))},
            {"training", {{"epochs", s.epochs}, {"batch", s.batch}, {"lr", s.lr}, {"weight_decay", s.weight_decay},
                          {"schedule", s.schedule}, {"warmup", s.warmup}, {"clip", s.clip}, {"threads", s.threads}}},
            {"parameters", r.parameter_count}, {"seconds", r.seconds}, {"best_epoch", r.best_epoch},
            {"best_val_loss", finite(r.best_val_loss)}, {"best_val_accuracy", finite(r.best_val_accuracy)},
            {"best_lengths", best_lengths}, {"notes", r.notes}, {"history", history}};
  return j.dump(2) + "\n";
}

std::function<void(const Progress&)> progress_printer(const std::string& label) {
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  return [tty, label](const Progress& p) {
    if (tty && !p.epoch_end) {
      if (p.step % 4 != 0 && p.step != p.steps) return;
      const int width = 20, done = static_cast<int>(width * p.step / std::max<std::int64_t>(1, p.steps));
      std::fprintf(stderr, "\r%s epoch %lld/%lld [%s%s] step %lld/%lld loss %.4f acc %.3f  left %s   ", label.c_str(),
                   static_cast<long long>(p.epoch), static_cast<long long>(p.epochs), std::string(done, '#').c_str(),
                   std::string(width - done, '.').c_str(), static_cast<long long>(p.step),
                   static_cast<long long>(p.steps), p.loss, p.accuracy, duration(p.remaining).c_str());
      std::fflush(stderr);
      return;
    }
    if (!p.epoch_end || !p.metrics) return;
    if (tty) std::fprintf(stderr, "\r%*s\r", 100, "");
    const auto& m = *p.metrics;
    std::ostringstream os;
    os << label << " epoch " << m.epoch << "/" << p.epochs << " train_loss " << num(m.train_loss) << " train_acc "
       << num(m.train_accuracy) << " val_loss " << num(m.val_loss) << " val_acc " << num(m.val_accuracy);
    for (const auto& l : m.lengths)
      if (std::isfinite(l.accuracy)) os << " acc@" << l.length << " " << num(l.accuracy);
    os << " " << num(m.seconds) << " s, left " << duration(p.remaining);
    std::cout << os.str() << std::endl;
  };
}

}  // namespace posenc::cli
