// Micro benchmarks of the foundation workloads (Google Benchmark).
//
//   W1  sinusoid table 8192 x 1024
//   W2  RoPE applied to q and k [32 heads, 4096 tokens, 128] (cos/sin table prepared once)
//   W2T W2's cos/sin table [4096, 64 pairs] from the positions (fresh, or into a reused table)
//   W3  ALiBi causal attention [8 heads, 2048 tokens, 64]
//   W3N W3 without the bias (plain causal attention): what ALiBi's bias costs on top
//   W4  T5-bias attention [12 heads, 1024 tokens, 64]
// and the yardsticks measured in the same run: a memory copy of W2's bytes, BLAS
// (OpenBLAS) sgemm and oneDNN's sgemm (the one under the attention core's tiles
// and the layers: the stronger yardstick). Every workload takes the thread count as its argument (1, 2).
// Counters: W2 and Copy report bytes moved per second; W3, W4 and Sgemm report
// useful GFLOP/s (W3: 4 d per visible (i, j) pair; W4: 4 d N^2 per head).
// Backward (issue: gradients): W3B / W4B time attention_backward after a forward
// that kept its log-sum-exp; "/inputs" asks for dq, dk, dv only, "/all" adds the
// slopes (W3) or the bucket table (W4). W3F / W4F are the forwards with stats.
// Run: build/bench/posenc_bench  (bench/compare.py puts PyTorch beside it;
// bench/compare_backward.py does the same for the backward).
#include <benchmark/benchmark.h>

#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <span>
#include <vector>

#include "detail/gemm.hpp"
#include "posenc/attention.hpp"
#include "posenc/gradients.hpp"
#include "posenc/relative.hpp"
#include "posenc/rotary.hpp"
#include "posenc/sinusoid.hpp"
#include "posenc/text.hpp"

extern "C" void openblas_set_num_threads(int) __attribute__((weak));

namespace {

using namespace posenc;

Tensor random(Shape s, std::uint64_t seed) {
  Tensor t = Tensor::from_shape(s);
  std::mt19937_64 g(seed);
  std::normal_distribution<float> d(0, 1);
  for (auto& v : t) v = d(g);
  return t;
}

void threads(const benchmark::State& st) { omp_set_num_threads(static_cast<int>(st.range(0))); }

void W1_Sinusoid(benchmark::State& st) {
  threads(st);
  for (auto _ : st) benchmark::DoNotOptimize(sinusoid_table(8192, SinusoidOptions{.dim = 1024}).data());
  st.SetBytesProcessed(st.iterations() * 8192LL * 1024 * 4);
}

// W1 into a reused buffer (sinusoid_table_into): no allocation, no first touch. The buffer is a
// std::vector (glibc's large blocks start 16 bytes past a page, so rows do not start on 64-byte
// lines); W1_SinusoidIntoAligned: the same buffer 64-byte aligned (as PyTorch allocates).
void sinusoid_into(benchmark::State& st, bool aligned) {
  threads(st);
  std::vector<float> buffer(8192LL * 1024 + 16);
  const std::size_t skew = reinterpret_cast<std::uintptr_t>(buffer.data()) % 64 / sizeof(float);
  const std::span<float> out(buffer.data() + (aligned && skew ? 16 - skew : 0), 8192LL * 1024);
  for (auto _ : st) {
    sinusoid_table_into(8192, SinusoidOptions{.dim = 1024}, out);
    benchmark::DoNotOptimize(out.data());
  }
  st.SetBytesProcessed(st.iterations() * 8192LL * 1024 * 4);
}
void W1_SinusoidInto(benchmark::State& st) { sinusoid_into(st, false); }
void W1_SinusoidIntoAligned(benchmark::State& st) { sinusoid_into(st, true); }

// The write floor for W1: the same bytes stored into the same reused buffer (OpenMP halves).
void Write_W1Bytes(benchmark::State& st) {
  threads(st);
  std::vector<float> out(8192LL * 1024);
  const auto n = static_cast<std::ptrdiff_t>(out.size());
  for (auto _ : st) {
#pragma omp parallel for schedule(static)
    for (std::ptrdiff_t i = 0; i < n; ++i) out[static_cast<std::size_t>(i)] = 0.5f;
    benchmark::DoNotOptimize(out.data());
  }
  st.SetBytesProcessed(st.iterations() * 8192LL * 1024 * 4);
}

void W2_RopeApply(benchmark::State& st) {
  // In place on q and k, the cos/sin tables prepared once (as a KV-cache layer would).
  threads(st);
  Tensor q = random({1, 32, 4096, 128}, 1), k = random({1, 32, 4096, 128}, 2);
  const Encoding e = rope(text_positions(4096), RopeOptions{.head_dim = 128});
  const RotaryTable tq = rotary_table(e.rotation, RotarySide::query);
  const RotaryTable tk = rotary_table(e.rotation, RotarySide::key);
  for (auto _ : st) {
    apply_rotary_inplace(q, tq);
    apply_rotary_inplace(k, tk);
    benchmark::DoNotOptimize(q.data());
    benchmark::DoNotOptimize(k.data());
  }
  st.SetBytesProcessed(st.iterations() * 2LL * 2 * q.size() * 4);  // read + write, q and k
}

void W2_RopeApplyNewTensors(benchmark::State& st) {
  // Allocating outputs and building the table from the angles on every call.
  threads(st);
  const Tensor q = random({1, 32, 4096, 128}, 1), k = random({1, 32, 4096, 128}, 2);
  const Encoding e = rope(text_positions(4096), RopeOptions{.head_dim = 128});
  for (auto _ : st) {
    const RotaryTable t = rotary_table(e.rotation, RotarySide::query);  // self-attention: one table
    Tensor qr = apply_rotary(q, t);
    Tensor kr = apply_rotary(k, t);
    benchmark::DoNotOptimize(qr.data());
    benchmark::DoNotOptimize(kr.data());
  }
  st.SetBytesProcessed(st.iterations() * 2LL * 2 * q.size() * 4);
}

// W2T: W2's cos/sin table ([4096 tokens, 64 pairs] each), built from the positions on every call
// (rope() angles in double, then rotary_table): what a model does per forward pass.
void W2T_RopeTable(benchmark::State& st) {
  threads(st);
  const DTensor pos = text_positions(4096);
  for (auto _ : st) {
    const Encoding e = rope(pos, RopeOptions{.head_dim = 128});
    const RotaryTable t = rotary_table(e.rotation, RotarySide::query);
    benchmark::DoNotOptimize(t.cos.data());
  }
  st.SetBytesProcessed(st.iterations() * 2LL * 4096 * 64 * 4);
}

// W2T into a reused table (rotary_table_into), the rotation's angles prepared: sin/cos and stores.
void W2T_RopeTableInto(benchmark::State& st) {
  threads(st);
  const Encoding e = rope(text_positions(4096), RopeOptions{.head_dim = 128});
  RotaryTable t;
  for (auto _ : st) {
    rotary_table_into(e.rotation, RotarySide::query, t);
    benchmark::DoNotOptimize(t.cos.data());
  }
  st.SetBytesProcessed(st.iterations() * 2LL * 4096 * 64 * 4);
}

// The write floor for W2T: the same bytes (cos and sin) stored into the same reused buffers.
void Write_W2TBytes(benchmark::State& st) {
  threads(st);
  std::vector<float> c(4096 * 64), s(4096 * 64);
  const auto n = static_cast<std::ptrdiff_t>(c.size());
  for (auto _ : st) {
#pragma omp parallel for schedule(static)
    for (std::ptrdiff_t i = 0; i < n; ++i) {
      c[static_cast<std::size_t>(i)] = 0.5f;
      s[static_cast<std::size_t>(i)] = 0.25f;
    }
    benchmark::DoNotOptimize(c.data());
    benchmark::DoNotOptimize(s.data());
  }
  st.SetBytesProcessed(st.iterations() * 2LL * 4096 * 64 * 4);
}

void Copy_W2Bytes(benchmark::State& st) {
  // memcpy of q and k into preallocated buffers: the bandwidth yardstick for W2.
  threads(st);
  const Tensor q = random({1, 32, 4096, 128}, 1), k = random({1, 32, 4096, 128}, 2);
  Tensor qc = q, kc = k;
  const std::size_t n = q.size();
  for (auto _ : st) {
#pragma omp parallel for schedule(static)
    for (std::ptrdiff_t c = 0; c < 64; ++c) {
      const std::size_t a = n * c / 64, b = n * (c + 1) / 64;
      std::memcpy(qc.data() + a, q.data() + a, (b - a) * 4);
      std::memcpy(kc.data() + a, k.data() + a, (b - a) * 4);
    }
    benchmark::DoNotOptimize(qc.data());
    benchmark::DoNotOptimize(kc.data());
  }
  st.SetBytesProcessed(st.iterations() * 2LL * 2 * q.size() * 4);
}

void W3_AlibiCausal(benchmark::State& st) {
  threads(st);
  const std::size_t h = 8, n = 2048, d = 64;
  const Tensor q = random({1, h, n, d}, 3), k = random({1, h, n, d}, 4), v = random({1, h, n, d}, 5);
  const Encoding e = alibi(text_positions(n), AlibiOptions{.heads = 8});
  AttentionOptions o;
  o.mask.causal = true;
  o.threads = static_cast<int>(st.range(0));
  for (auto _ : st) benchmark::DoNotOptimize(attention(q, k, v, e, o).data());
  const double flops = 4.0 * d * h * n * (n + 1) / 2;
  st.counters["GFLOPs"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void W3N_PlainCausal(benchmark::State& st) {
  threads(st);
  const std::size_t h = 8, n = 2048, d = 64;
  const Tensor q = random({1, h, n, d}, 3), k = random({1, h, n, d}, 4), v = random({1, h, n, d}, 5);
  AttentionOptions o;
  o.mask.causal = true;
  o.threads = static_cast<int>(st.range(0));
  for (auto _ : st) benchmark::DoNotOptimize(attention(q, k, v, Encoding{}, o).data());
  const double flops = 4.0 * d * h * n * (n + 1) / 2;
  st.counters["GFLOPs"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void W4_T5Bias(benchmark::State& st) {
  threads(st);
  const std::size_t h = 12, n = 1024, d = 64;
  const Tensor q = random({1, h, n, d}, 6), k = random({1, h, n, d}, 7), v = random({1, h, n, d}, 8);
  const Encoding e = t5_bias(text_positions(n), t5_table_init(12, 32, 1.0, 9), T5Options{});
  AttentionOptions o;
  o.threads = static_cast<int>(st.range(0));
  for (auto _ : st) benchmark::DoNotOptimize(attention(q, k, v, e, o).data());
  const double flops = 4.0 * d * h * n * n;
  st.counters["GFLOPs"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// Issue 3 workloads: [12 heads, 2048 tokens, 64], useful GFLOP/s as for W4 (TXL causal: half the pairs).
void W5_Shaw(benchmark::State& st) {
  threads(st);
  const std::size_t h = 12, n = 2048, d = 64;
  const Tensor q = random({1, h, n, d}, 12), k = random({1, h, n, d}, 13), v = random({1, h, n, d}, 14);
  const DTensor pos = text_positions(n);
  const ShawOptions so{.clip = 16};
  const Encoding e = shaw(pos, pos, shaw_init(so, 1, d, d, 0.02, 15), so);
  AttentionOptions o;
  o.threads = static_cast<int>(st.range(0));
  for (auto _ : st) benchmark::DoNotOptimize(attention(q, k, v, e, o).data());
  st.counters["GFLOPs"] = benchmark::Counter(4.0 * d * h * n * n * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void W6_TransformerXL(benchmark::State& st) {
  threads(st);
  const std::size_t h = 12, n = 2048, d = 64;
  const Tensor q = random({1, h, n, d}, 16), k = random({1, h, n, d}, 17), v = random({1, h, n, d}, 18);
  const DTensor pos = text_positions(n);
  const TransformerXLOptions to{.d_model = 768, .heads = 12, .head_dim = 64};
  const Encoding e = transformer_xl(pos, pos, transformer_xl_init(to, 0.02, 19), to);
  AttentionOptions o;
  o.mask.causal = true;
  o.threads = static_cast<int>(st.range(0));
  for (auto _ : st) benchmark::DoNotOptimize(attention(q, k, v, e, o).data());
  st.counters["GFLOPs"] =
      benchmark::Counter(4.0 * d * h * n * (n + 1) / 2 * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void W7_DaTransformer(benchmark::State& st) {
  threads(st);
  const std::size_t h = 12, n = 2048, d = 64;
  const Tensor q = random({1, h, n, d}, 20), k = random({1, h, n, d}, 21), v = random({1, h, n, d}, 22);
  const DTensor pos = text_positions(n);
  const Encoding e = da_transformer(pos, pos, da_init(12, 23));
  AttentionOptions o;
  o.threads = static_cast<int>(st.range(0));
  for (auto _ : st) benchmark::DoNotOptimize(attention(q, k, v, e, o).data());
  st.counters["GFLOPs"] = benchmark::Counter(4.0 * d * h * n * n * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}


// ------------------------------------------------------------------ backward
struct BackwardSetup {
  Tensor q, k, v, d_out;
  Encoding e;
  AttentionOptions o;
};

BackwardSetup w3_setup(int threads) {
  const std::size_t h = 8, n = 2048, d = 64;
  BackwardSetup s{random({1, h, n, d}, 3), random({1, h, n, d}, 4), random({1, h, n, d}, 5), random({1, h, n, d}, 16),
                  alibi(text_positions(n), AlibiOptions{.heads = 8}), {}};
  s.o.mask.causal = true;
  s.o.threads = threads;
  return s;
}

BackwardSetup w4_setup(int threads) {
  const std::size_t h = 12, n = 1024, d = 64;
  BackwardSetup s{random({1, h, n, d}, 6), random({1, h, n, d}, 7), random({1, h, n, d}, 8), random({1, h, n, d}, 17),
                  t5_bias(text_positions(n), t5_table_init(12, 32, 1.0, 9), T5Options{}), {}};
  s.o.threads = threads;
  return s;
}

// range(0) = threads, range(1) = 0: forward with stats, 1: backward dq/dk/dv, 2: backward with the tables.
void run_backward(benchmark::State& st, const BackwardSetup& s, double flops) {
  AttentionStats stats;
  const Tensor out = attention(s.q, s.k, s.v, s.e, s.o, &stats);
  const GradRequest req = st.range(1) == 2 ? GradRequest::all(s.e) : GradRequest{};
  for (auto _ : st) {
    if (st.range(1) == 0)
      benchmark::DoNotOptimize(attention(s.q, s.k, s.v, s.e, s.o, &stats).data());
    else
      benchmark::DoNotOptimize(attention_backward(s.q, s.k, s.v, s.e, s.o, out, stats, s.d_out, req).dq.data());
  }
  // useful work: forward 4 d per visible pair; backward 2.5x that (FlashAttention-2's count: 5 products of 2d)
  const double scale = st.range(1) == 0 ? 1.0 : 2.5;
  st.counters["GFLOPs"] = benchmark::Counter(scale * flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void W3B_AlibiCausal(benchmark::State& st) {
  threads(st);
  const auto s = w3_setup(static_cast<int>(st.range(0)));
  run_backward(st, s, 4.0 * 64 * 8 * 2048.0 * 2049 / 2);
}

void W4B_T5Bias(benchmark::State& st) {
  threads(st);
  const auto s = w4_setup(static_cast<int>(st.range(0)));
  run_backward(st, s, 4.0 * 64 * 12 * 1024.0 * 1024);
}

void Sgemm(benchmark::State& st) {
  const int t = static_cast<int>(st.range(0));
  if (openblas_set_num_threads) openblas_set_num_threads(t);
  const int m = 1024;
  const Tensor a = random({1024, 1024}, 10), b = random({1024, 1024}, 11);
  Tensor c = Tensor::from_shape({1024, 1024});
  for (auto _ : st) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, m, m, 1.0f, a.data(), m, b.data(), m, 0.0f, c.data(), m);
    benchmark::DoNotOptimize(c.data());
  }
  st.counters["GFLOPs"] = benchmark::Counter(2.0 * m * m * m * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  if (openblas_set_num_threads) openblas_set_num_threads(1);
}

// oneDNN's sgemm on the same operands: one product spread over t OpenMP threads by oneDNN.
void SgemmOneDnn(benchmark::State& st) {
  const int t = static_cast<int>(st.range(0));
  const int saved = omp_get_max_threads();
  omp_set_num_threads(t);
  const int m = 1024;
  const Tensor a = random({1024, 1024}, 10), b = random({1024, 1024}, 11);
  Tensor c = Tensor::from_shape({1024, 1024});
  for (auto _ : st) {
    if (dnnl_sgemm('N', 'T', m, m, m, 1.0f, a.data(), m, b.data(), m, 0.0f, c.data(), m) != dnnl_success)
      st.SkipWithError("dnnl_sgemm failed");
    benchmark::DoNotOptimize(c.data());
  }
  st.counters["GFLOPs"] = benchmark::Counter(2.0 * m * m * m * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  omp_set_num_threads(saved);
}

// One small product on one thread, as the attention core's tiles of short sequences make them:
// shape s (0: 17x16x17 NN, a ViT's P V; 1: 32x16x32 NN; 2: 32x16x32 TN; 3: 32x32x16 NT, a text
// model's Q K^T; 4: 64^3 NN; 5: 128x64x128 NN) through path p (0: posenc's serial_sgemm, which
// sends these to libxsmm; 1: oneDNN's dnnl_sgemm; 2: OpenBLAS's cblas_sgemm). Operands stay in cache.
void SmallProduct(benchmark::State& st) {
  struct Shape3 {
    bool ta, tb;
    std::size_t m, n, k;
  };
  static constexpr Shape3 shapes[] = {{false, false, 17, 16, 17}, {false, false, 32, 16, 32}, {true, false, 32, 16, 32},
                                      {false, true, 32, 32, 16},  {false, false, 64, 64, 64}, {false, false, 128, 64, 128}};
  const Shape3 s = shapes[st.range(0)];
  const std::size_t lda = s.ta ? s.m : s.k, ldb = s.tb ? s.k : s.n;
  const Tensor a = random({s.m * s.k}, 12), b = random({s.k * s.n}, 13);
  Tensor c = Tensor::from_shape({s.m * s.n});
  const auto i = [](std::size_t x) { return static_cast<int>(x); };
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  for (auto _ : st) {
    if (st.range(1) == 0)
      posenc::detail::serial_sgemm(s.ta, s.tb, s.m, s.n, s.k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, c.data(), s.n);
    else if (st.range(1) == 1)
      dnnl_sgemm(s.ta ? 'T' : 'N', s.tb ? 'T' : 'N', i(s.m), i(s.n), i(s.k), 1.0f, a.data(), i(lda), b.data(), i(ldb),
                 0.0f, c.data(), i(s.n));
    else
      cblas_sgemm(CblasRowMajor, s.ta ? CblasTrans : CblasNoTrans, s.tb ? CblasTrans : CblasNoTrans, i(s.m), i(s.n),
                  i(s.k), 1.0f, a.data(), i(lda), b.data(), i(ldb), 0.0f, c.data(), i(s.n));
    benchmark::DoNotOptimize(c.data());
  }
  st.counters["GFLOPs"] =
      benchmark::Counter(2.0 * static_cast<double>(s.m * s.n * s.k) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  omp_set_num_threads(saved);
}

BENCHMARK(W1_Sinusoid)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(W1_SinusoidInto)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(W1_SinusoidIntoAligned)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(Write_W1Bytes)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(W2_RopeApply)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(W2_RopeApplyNewTensors)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(W2T_RopeTable)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(W2T_RopeTableInto)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(Write_W2TBytes)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(Copy_W2Bytes)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(W3_AlibiCausal)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(W3N_PlainCausal)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(W4_T5Bias)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(W5_Shaw)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(W6_TransformerXL)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(W7_DaTransformer)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(SgemmOneDnn)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(W3B_AlibiCausal)->ArgsProduct({{1, 2}, {0, 1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(W4B_T5Bias)->ArgsProduct({{1, 2}, {0, 1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(Sgemm)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(SmallProduct)->ArgsProduct({{0, 1, 2, 3, 4, 5}, {0, 1, 2}})->Unit(benchmark::kNanosecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
