// The study's driver as run (docs/experiments-tabular.md): the runs of run_study.sh's `posenc compare` calls
// (same model, options and seeds), written as compare's runs.csv, for when the command line cannot be rebuilt.
// Build: c++ -O2 -fopenmp -std=c++20 -Iinclude -Isrc study_driver.cpp build/libposenc.a -lopenblas -lboost_graph -lgomp
// Run:   study_driver OUT DATASET CONFIG GRAPH ALPHA EPOCHS   (CONFIG: none or <graph>_a<alpha>)
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include "posenc/tasks.hpp"
#include "posenc/trainer.hpp"
using namespace posenc::train;
int main(int argc, char** argv) {
  // driver OUT DATASET CONFIG GRAPH ALPHA EPOCHS
  std::string out = argv[1], data = argv[2], cfg = argv[3], graph = argv[4];
  double alpha = std::atof(argv[5]);
  int epochs = std::atoi(argv[6]);
  TaskOptions o;
  o.tabpet_graph = graph;
  const Task task = make_task("table_" + data, o);
  std::filesystem::create_directories(out + "/" + data + "/" + cfg);
  std::ofstream f(out + "/" + data + "/" + cfg + "/runs.csv");
  f << "encoding,seed,parameters,best_epoch,best_val_accuracy,best_val_loss,seconds,loss_v,accuracy_v,loss_t,accuracy_t,failure\n";
  const std::string enc = cfg == "none" ? "none" : "tabpet";
  for (int seed = 0; seed < 5; ++seed) {
    ModelConfig c = task_model_config(task, enc, seed);
    c.layers = 2; c.d_model = 32; c.heads = 4; c.dropout = 0.1; c.position.tabpet_alpha = alpha;
    TrainOptions t;
    t.epochs = epochs; t.batch = 32; t.adamw.lr = 1e-3; t.adamw.weight_decay = 1e-5; t.seed = seed; t.length_eval_every = 0;
    FeatureTransformer m(c);
    const TrainResult r = fit(m, task, t);
    char buf[512];
    std::snprintf(buf, sizeof buf, "%s,%d,%lld,%lld,%.4f,%.4f,%.1f,%.4f,%.4f,%.4f,%.4f,\n", enc.c_str(), seed,
                  (long long)r.parameter_count, (long long)r.best_epoch, r.best_val_accuracy, r.best_val_loss, r.seconds,
                  r.best_lengths[0].loss, r.best_lengths[0].accuracy, r.best_lengths[1].loss, r.best_lengths[1].accuracy);
    f << buf;
    std::cout << data << " " << cfg << " seed " << seed << ": " << buf << std::flush;
  }
}
