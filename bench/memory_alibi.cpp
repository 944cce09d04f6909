// Memory run: ALiBi causal attention at 32768 tokens, 8 heads, dim 64, batch 1.
// Prints the wall time and the peak resident set size (getrusage ru_maxrss),
// which includes q, k, v and the output (4 x 64 MiB). A materialised
// [8, 32768, 32768] float bias alone would need 32 GiB.
// Usage: posenc_bench_memory [tokens] [threads]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "posenc/attention.hpp"
#include "posenc/text.hpp"

int main(int argc, char** argv) {
  using namespace posenc;
  const std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 32768;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 0;
  const std::size_t h = 8, d = 64;
  std::mt19937_64 g(1);
  std::normal_distribution<float> dist(0, 1);
  auto random = [&](Shape s) {
    Tensor t = Tensor::from_shape(s);
    for (auto& v : t) v = dist(g);
    return t;
  };
  const Tensor q = random({1, h, n, d}), k = random({1, h, n, d}), v = random({1, h, n, d});
  const Encoding e = alibi(text_positions(static_cast<std::int64_t>(n)), AlibiOptions{.heads = 8});
  AttentionOptions o;
  o.mask.causal = true;
  o.threads = threads;
  const auto t0 = std::chrono::steady_clock::now();
  const Tensor out = attention(q, k, v, e, o);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  double check = 0;
  for (std::size_t i = 0; i < out.size(); i += 4099) check += out.data()[i];
  std::printf("memory: alibi causal attention tokens=%zu heads=%zu dim=%zu time=%.2f s peak_rss=%.1f MiB checksum=%.4f\n",
              n, h, d, s, static_cast<double>(ru.ru_maxrss) / 1024.0, check);
  return 0;
}
