// Memory runs: one attention call per process, reporting wall time and peak
// resident set size (VmHWM from /proc/self/status; getrusage's ru_maxrss is
// not used because it can report the parent's high-water mark when the process
// is started from a large parent such as the Python comparison script). The
// figure includes q, k, v and the output.
//
//   posenc_bench_memory [method] [tokens] [heads] [dim] [threads]
//   method: alibi (causal; default, 32768 tokens, 8 heads, dim 64), shaw, transformer_xl (causal), da_transformer,
//           alibi_backward (forward keeping the log-sum-exp, then attention_backward for q, k, v and the slopes;
//           the figure then also holds d_out, dq, dk and dv)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>

#include "posenc/attention.hpp"
#include "posenc/gradients.hpp"
#include "posenc/relative.hpp"
#include "posenc/text.hpp"

int main(int argc, char** argv) {
  using namespace posenc;
  const std::string method = argc > 1 ? argv[1] : "alibi";
  const std::size_t n = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 32768;
  const std::size_t h = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 8;
  const std::size_t d = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 64;
  const int threads = argc > 5 ? std::atoi(argv[5]) : 0;
  std::mt19937_64 g(1);
  std::normal_distribution<float> dist(0, 1);
  auto random = [&](Shape s) {
    Tensor t = Tensor::from_shape(s);
    for (auto& v : t) v = dist(g);
    return t;
  };
  const Tensor q = random({1, h, n, d}), k = random({1, h, n, d}), v = random({1, h, n, d});
  const DTensor pos = text_positions(static_cast<std::int64_t>(n));
  const auto heads = static_cast<std::int64_t>(h), dim = static_cast<std::int64_t>(d);
  AttentionOptions o;
  o.threads = threads;
  Encoding e;
  const bool backward = method == "alibi_backward";
  if (method == "alibi" || backward) {
    e = alibi(pos, AlibiOptions{.heads = heads});
    o.mask.causal = true;
  } else if (method == "shaw") {
    const ShawOptions so{.clip = 16};
    e = shaw(pos, pos, shaw_init(so, 1, dim, dim, 0.02, 2), so);
  } else if (method == "transformer_xl") {
    const TransformerXLOptions to{.d_model = heads * dim, .heads = heads, .head_dim = dim};
    e = transformer_xl(pos, pos, transformer_xl_init(to, 0.02, 3), to);
    o.mask.causal = true;
  } else if (method == "da_transformer") {
    e = da_transformer(pos, pos, da_init(heads, 4));
  } else {
    std::fprintf(stderr, "posenc_bench_memory: unknown method '%s' (alibi, alibi_backward, shaw, transformer_xl, da_transformer)\n",
                 method.c_str());
    return 2;
  }
  const auto t0 = std::chrono::steady_clock::now();
  AttentionStats stats;
  const Tensor out = attention(q, k, v, e, o, backward ? &stats : nullptr);
  double grad_check = 0;
  if (backward) {
    const Tensor d_out = random({1, h, n, d});
    const AttentionGrads g = attention_backward(q, k, v, e, o, out, stats, d_out, GradRequest::all(e));
    for (std::size_t i = 0; i < g.dq.size(); i += 4099) grad_check += g.dq.data()[i] + g.dk.data()[i] + g.dv.data()[i];
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double peak_mib = 0;
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) peak_mib = std::strtod(line.c_str() + 6, nullptr) / 1024.0;  // kB
  double check = 0;
  for (std::size_t i = 0; i < out.size(); i += 4099) check += out.data()[i];
  std::printf("memory: %s attention tokens=%zu heads=%zu dim=%zu time=%.3f s peak_rss=%.1f MiB checksum=%.4f%s\n",
              method.c_str(), n, h, d, s, peak_mib, check + grad_check, backward ? " (forward + backward)" : "");
  return 0;
}
