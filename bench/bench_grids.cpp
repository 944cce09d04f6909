// Micro benchmarks of the grid and sphere workloads (Google Benchmark).
//
//   G1  2D sin-cos table, 64 x 64 grid, D = 768 (MAE layout), [4096, 768] float
//   G2  real spherical harmonics L = 10 (100 features) on 1,000,000 points, [1e6, 100] float:
//       G2_SphericalHarmonics a fresh tensor each iteration (as spherical_harmonics returns it),
//       G2_SphericalHarmonicsInto into one reused, already touched buffer (spherical_harmonics_into,
//       what sphericart's compute_array does). POSENC_G2_POINTS=file.npy ([N, 2] float64 lon, lat
//       degrees) replaces the generated points (bench/compare_grids.py passes sphericart's).
//
// Each takes the thread count as its argument (1, 2); other outputs are fresh tensors
// each iteration, as a caller would get them. Run: build/bench/posenc_bench_grids
// (bench/compare_grids.py puts NumPy and SciPy beside it).
#include <benchmark/benchmark.h>

#include <omp.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <span>
#include <vector>

#include "posenc/image.hpp"
#include "posenc/npy.hpp"
#include "posenc/sphere.hpp"

namespace {

using namespace posenc;

void threads(const benchmark::State& st) { omp_set_num_threads(static_cast<int>(st.range(0))); }

void G1_SinCos2d(benchmark::State& st) {
  threads(st);
  for (auto _ : st) benchmark::DoNotOptimize(sincos_2d_table({.height = 64, .width = 64, .dim = 768}).data());
  st.SetBytesProcessed(st.iterations() * 4096LL * 768 * 4);
}

DTensor sphere_points(std::size_t n, std::uint64_t seed) {
  // Uniform on the sphere: lon ~ U(-180, 180), sin(lat) ~ U(-1, 1).
  DTensor p = DTensor::from_shape({n, 2});
  std::mt19937_64 g(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  for (std::size_t i = 0; i < n; ++i) {
    p(i, 0) = 180.0 * u(g);
    p(i, 1) = std::asin(u(g)) * 180.0 / M_PI;
  }
  return p;
}

const DTensor& g2_points() {
  static const DTensor p = [] {
    const char* file = std::getenv("POSENC_G2_POINTS");
    return file && *file ? load_npy_double(file) : sphere_points(1000000, 1);
  }();
  return p;
}

void G2_SphericalHarmonics(benchmark::State& st) {
  threads(st);
  const DTensor& p = g2_points();
  for (auto _ : st) benchmark::DoNotOptimize(spherical_harmonics(p, {.degree = 10}).data());
  st.SetItemsProcessed(st.iterations() * static_cast<std::int64_t>(p.shape()[0]));
}

void G2_SphericalHarmonicsInto(benchmark::State& st) {
  threads(st);
  const DTensor& p = g2_points();
  std::vector<float> out(p.shape()[0] * 100, 0.0f);  // touched once, reused every iteration
  for (auto _ : st) {
    spherical_harmonics_into(p, std::span<float>(out), {.degree = 10});
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  st.SetItemsProcessed(st.iterations() * static_cast<std::int64_t>(p.shape()[0]));
}

}  // namespace

BENCHMARK(G1_SinCos2d)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(G2_SphericalHarmonics)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(G2_SphericalHarmonicsInto)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
