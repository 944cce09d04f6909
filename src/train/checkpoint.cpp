// Checkpoints: parameters as .npy plus config.json, written through a staging directory
// (posenc/model.hpp).
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "posenc/model.hpp"
#include "posenc/npy.hpp"
#include "train/common.hpp"

namespace posenc::train {

using detail::fail;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

/// Files go into a hidden sibling directory, which replaces the target when everything is written.
class StagedDirectory {
 public:
  explicit StagedDirectory(const std::string& target, const char* fn) : target_(target) {
    if (target_.filename().empty()) target_ = target_.parent_path();
    const fs::path parent = target_.has_parent_path() ? target_.parent_path() : fs::path(".");
    if (!fs::is_directory(parent))
      fail(fn, "parameter 'directory' = '", target, "': parent '", parent.string(), "' does not exist");
    if (fs::exists(target_) && !fs::is_directory(target_))
      fail(fn, "parameter 'directory' = '", target, "' exists and is not a directory");
    std::random_device rd;
    std::string name = ".";
    name += target_.filename().string();
    name += ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(rd());
    staging_ = parent / name;
    fs::create_directories(staging_);
  }
  ~StagedDirectory() {
    std::error_code ec;
    if (!committed_) fs::remove_all(staging_, ec);
  }
  StagedDirectory(const StagedDirectory&) = delete;
  StagedDirectory& operator=(const StagedDirectory&) = delete;
  std::string file(const std::string& name) const { return (staging_ / name).string(); }
  void commit() {
    std::error_code ec;
    fs::path old;
    if (fs::exists(target_)) {
      old = target_;
      old += ".old-" + std::to_string(::getpid());
      fs::rename(target_, old);
    }
    fs::rename(staging_, target_);
    committed_ = true;
    if (!old.empty()) fs::remove_all(old, ec);
  }

 private:
  fs::path target_, staging_;
  bool committed_ = false;
};

const char* pooling_name(Pooling p) { return p == Pooling::cls ? "cls" : p == Pooling::none ? "none" : "mean"; }
const char* input_name(InputKind k) { return k == InputKind::per_feature ? "per_feature" : "linear"; }
const char* activation_name(FfnActivation a) { return a == FfnActivation::relu ? "relu" : "gelu"; }

json to_json(const ModelConfig& c) {
  const PositionConfig& p = c.position;
  return {{"vocab", c.vocab}, {"d_model", c.d_model}, {"heads", c.heads}, {"layers", c.layers},
          {"ff_multiplier", c.ff_multiplier}, {"dropout", c.dropout}, {"pre_ln", c.pre_ln},
          {"activation", activation_name(c.activation)}, {"pooling", pooling_name(c.pooling)},
          {"classes", c.classes}, {"seed", c.seed}, {"threads", c.threads},
          {"input_features", c.input_features}, {"input", input_name(c.input)}, {"grid_height", c.grid_height},
          {"grid_width", c.grid_width}, {"position_features", c.position_features}, {"tokens", c.tokens},
          {"categorical", c.categorical},
          {"position",
           {{"kind", p.kind}, {"per_layer", p.per_layer}, {"max_len", p.max_len}, {"max_distance", p.max_distance},
            {"num_buckets", p.num_buckets}, {"bucket_max_distance", p.bucket_max_distance},
            {"rope_base", p.rope_base}, {"learnable_slopes", p.learnable_slopes}, {"per_head", p.per_head},
            {"hidden", p.hidden}, {"fourier_dim", p.fourier_dim}, {"gamma", p.gamma}, {"init_std", p.init_std},
            // ---- images
            {"rope_mixed_theta", p.rope_mixed_theta},
            // ---- graphs
            {"graph_max_hops", p.graph_max_hops}, {"graph_max_degree", p.graph_max_degree},
            {"graph_lap_k", p.graph_lap_k}, {"graph_rw_steps", p.graph_rw_steps},
            // ---- sphere
            {"sphere_degree", p.sphere_degree}, {"sphere2vec_min_radius", p.sphere2vec_min_radius},
            {"sphere2vec_max_radius", p.sphere2vec_max_radius},
            // ---- tables
            {"tabpet_alpha", p.tabpet_alpha},
           }}};
}

template <class T>
void read(const json& j, const char* key, T& out) {
  if (j.contains(key)) out = j.at(key).get<T>();
}

ModelConfig from_json(const json& j) {
  ModelConfig c;
  read(j, "vocab", c.vocab);
  read(j, "d_model", c.d_model);
  read(j, "heads", c.heads);
  read(j, "layers", c.layers);
  read(j, "ff_multiplier", c.ff_multiplier);
  read(j, "dropout", c.dropout);
  read(j, "pre_ln", c.pre_ln);
  read(j, "classes", c.classes);
  read(j, "seed", c.seed);
  read(j, "threads", c.threads);
  read(j, "input_features", c.input_features);
  read(j, "grid_height", c.grid_height);
  read(j, "grid_width", c.grid_width);
  read(j, "position_features", c.position_features);
  read(j, "tokens", c.tokens);
  read(j, "categorical", c.categorical);
  std::string s;
  read(j, "input", s);
  if (!s.empty() && s != "linear" && s != "per_feature")
    fail("config_from_json", "parameter 'input' = '", s, "' must be linear or per_feature");
  c.input = s == "per_feature" ? InputKind::per_feature : InputKind::linear;
  s.clear();
  read(j, "activation", s);
  if (!s.empty() && s != "gelu" && s != "relu")
    fail("config_from_json", "parameter 'activation' = '", s, "' must be gelu or relu");
  c.activation = s == "relu" ? FfnActivation::relu : FfnActivation::gelu;
  s.clear();
  read(j, "pooling", s);
  if (!s.empty() && s != "mean" && s != "cls" && s != "none")
    fail("config_from_json", "parameter 'pooling' = '", s, "' must be mean, cls or none");
  c.pooling = s == "cls" ? Pooling::cls : s == "none" ? Pooling::none : Pooling::mean;
  if (j.contains("position")) {
    const json& p = j.at("position");
    PositionConfig& o = c.position;
    read(p, "kind", o.kind);
    read(p, "per_layer", o.per_layer);
    read(p, "max_len", o.max_len);
    read(p, "max_distance", o.max_distance);
    read(p, "num_buckets", o.num_buckets);
    read(p, "bucket_max_distance", o.bucket_max_distance);
    read(p, "rope_base", o.rope_base);
    read(p, "learnable_slopes", o.learnable_slopes);
    read(p, "per_head", o.per_head);
    read(p, "hidden", o.hidden);
    read(p, "fourier_dim", o.fourier_dim);
    read(p, "gamma", o.gamma);
    read(p, "init_std", o.init_std);
    // ---- images
    read(p, "rope_mixed_theta", o.rope_mixed_theta);
    // ---- graphs
    read(p, "graph_max_hops", o.graph_max_hops);
    read(p, "graph_max_degree", o.graph_max_degree);
    read(p, "graph_lap_k", o.graph_lap_k);
    read(p, "graph_rw_steps", o.graph_rw_steps);
    // ---- sphere
    read(p, "sphere_degree", o.sphere_degree);
    read(p, "sphere2vec_min_radius", o.sphere2vec_min_radius);
    read(p, "sphere2vec_max_radius", o.sphere2vec_max_radius);
    // ---- tables
    read(p, "tabpet_alpha", o.tabpet_alpha);
  }
  return c;
}

}  // namespace

std::string config_to_json(const ModelConfig& config) { return to_json(config).dump(2); }

ModelConfig config_from_json(const std::string& text) {
  try {
    return from_json(json::parse(text));
  } catch (const json::exception& e) {
    fail("config_from_json", "parameter 'json' is not a valid model config: ", e.what());
  }
}

void save_checkpoint(const std::string& directory, const std::string& model, const ModelConfig& config,
                     const std::vector<Parameter>& params) {
  const char* fn = "save_checkpoint";
  StagedDirectory stage(directory, fn);
  json names = json::array();
  for (const auto& p : params) {
    if (!p.value) fail(fn, "parameter '", p.name, "' has no tensor");
    save_npy(stage.file(p.name + ".npy"), *p.value);
    names.push_back(p.name);
  }
  const json doc = {{"format", "posenc-checkpoint"}, {"version", 1}, {"model", model},
                    {"config", to_json(config)}, {"parameters", names}};
  write_file_atomic(stage.file("config.json"), doc.dump(2) + "\n");
  stage.commit();
}

ModelConfig load_checkpoint_config(const std::string& directory, std::string& model) {
  const char* fn = "load_checkpoint_config";
  const fs::path path = fs::path(directory) / "config.json";
  std::ifstream in(path);
  if (!in) fail(fn, "parameter 'directory' = '", directory, "' has no readable config.json");
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    const json doc = json::parse(ss.str());
    model = doc.at("model").get<std::string>();
    return from_json(doc.at("config"));
  } catch (const json::exception& e) {
    fail(fn, "'", path.string(), "' is not a posenc checkpoint config: ", e.what());
  }
}

void load_checkpoint_parameters(const std::string& directory, const std::vector<Parameter>& params) {
  const char* fn = "load_checkpoint_parameters";
  for (const auto& p : params) {
    const fs::path path = fs::path(directory) / (p.name + ".npy");
    if (!fs::exists(path)) fail(fn, "checkpoint '", directory, "' lacks parameter '", p.name, "' (", path.string(), ")");
    Tensor t = load_npy(path.string());
    if (detail::shape_of(t) != detail::shape_of(*p.value))
      fail(fn, "parameter '", p.name, "' in '", path.string(), "' has shape ", shape_string(t), ", the model expects ",
           shape_string(*p.value));
    *p.value = std::move(t);
  }
}

void export_position_parameters(const TransformerTrunk& trunk, const std::string& directory) {
  const char* fn = "export_position_parameters";
  StagedDirectory stage(directory, fn);
  if (trunk.position_modules() == 1) {
    trunk.position(0).export_parameters(stage.file(""));
  } else {
    for (std::size_t l = 0; l < trunk.position_modules(); ++l) {
      const std::string sub = stage.file("layer" + std::to_string(l));
      fs::create_directories(sub);
      trunk.position(l).export_parameters(sub);
    }
  }
  stage.commit();
}

}  // namespace posenc::train
