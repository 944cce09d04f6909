// Micro benchmark of Tab-PET end to end (Google Benchmark).
//
//   TP1  read a 100,000 x 64 numeric CSV, preprocess, Spearman graph, Laplacian PE (automatic k)
//   TP2  the reading alone (read_table_csv)
//   TP3  the rest alone (tabpet on the table read once)
//
// The table is $POSENC_BENCH_TABLE (bench/compare_tabular.py writes it so both sides read the same
// file), else one generated here into the temporary directory. Threads: the argument (1, 2).
#include <benchmark/benchmark.h>

#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

#include "posenc/tabular.hpp"

namespace {

using namespace posenc;

std::string table_path() {
  if (const char* p = std::getenv("POSENC_BENCH_TABLE")) return p;
  static const std::string path = [] {
    const auto p = (std::filesystem::temp_directory_path() / "posenc_bench_table.csv").string();
    std::FILE* f = std::fopen(p.c_str(), "w");
    std::mt19937_64 rng(0);
    std::normal_distribution<double> normal;
    for (int c = 0; c < 64; ++c) std::fprintf(f, c ? ",x%d" : "x%d", c);
    std::fprintf(f, "\n");
    for (int r = 0; r < 100000; ++r) {
      double base[8];
      for (double& b : base) b = normal(rng);
      for (int c = 0; c < 64; ++c) std::fprintf(f, c ? ",%.17g" : "%.17g", c < 32 ? base[c % 8] + 0.5 * normal(rng) : normal(rng));
      std::fprintf(f, "\n");
    }
    std::fclose(f);
    return p;
  }();
  return path;
}

void TP1_TabPetSpearmanEndToEnd(benchmark::State& st) {
  omp_set_num_threads(static_cast<int>(st.range(0)));
  const std::string path = table_path();
  for (auto _ : st) {
    const TabPet r = tabpet(read_table_csv(path));
    benchmark::DoNotOptimize(r.pe.columns_pe.data());
  }
}

void TP2_ReadTableCsv(benchmark::State& st) {
  omp_set_num_threads(static_cast<int>(st.range(0)));
  const std::string path = table_path();
  for (auto _ : st) {
    const Table t = read_table_csv(path);
    benchmark::DoNotOptimize(t.values.data());
  }
}

void TP3_TabPetSpearmanFromTable(benchmark::State& st) {
  omp_set_num_threads(static_cast<int>(st.range(0)));
  const Table table = read_table_csv(table_path());
  for (auto _ : st) {
    const TabPet r = tabpet(table);
    benchmark::DoNotOptimize(r.pe.columns_pe.data());
  }
}

}  // namespace

BENCHMARK(TP1_TabPetSpearmanEndToEnd)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(TP2_ReadTableCsv)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(TP3_TabPetSpearmanFromTable)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
