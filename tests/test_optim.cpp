// The optimiser component (posenc/optim.hpp).
//
//   OptimTorch     AdamW steps, the warm-up + cosine schedule and clip_grad_norm_ against numbers
//                  from PyTorch 1.13 (tests/data/gen_train_torch.py -> tests/data/train/).
//   OptimAdamW     hand cases, resuming from saved state, errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

#include "posenc/npy.hpp"
#include "posenc/optim.hpp"
#include "support/helpers.hpp"

namespace posenc {
namespace {

using test::expect_invalid;
using test::make;
using train::AdamW;
using train::AdamWOptions;
using train::LrSchedule;
using train::Parameter;
using train::ScheduleKind;

std::string data(const std::string& file) { return std::string(POSENC_TEST_DATA) + "/train/" + file; }

/// Row `s` of a stacked [S, ...] tensor, reshaped to `shape`.
Tensor row(const Tensor& stacked, std::size_t s, const Shape& shape) {
  Tensor t = Tensor::from_shape(shape);
  std::copy_n(stacked.data() + s * t.size(), t.size(), t.data());
  return t;
}

/// max |a - b| / (1 + |b|) over the elements.
double max_rel(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    m = std::max(m, std::abs(static_cast<double>(a.data()[i]) - b.data()[i]) / (1.0 + std::abs(b.data()[i])));
  return m;
}

TEST(OptimTorch, AdamWWithCosineScheduleMatchesTorch) {
  Tensor p1 = load_npy(data("adamw/init1.npy")), p2 = load_npy(data("adamw/init2.npy"));
  const Tensor g1 = load_npy(data("adamw/grads1.npy")), g2 = load_npy(data("adamw/grads2.npy"));
  const Tensor a1 = load_npy(data("adamw/after1.npy")), a2 = load_npy(data("adamw/after2.npy"));
  const DTensor lrs = load_npy_double(data("adamw/lrs.npy"));
  Tensor d1 = p1, d2 = p2;
  AdamW opt({{"p1", &p1, &d1}, {"p2", &p2, &d2}},
            AdamWOptions{.lr = 0.01, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.05});
  const LrSchedule sched{.kind = ScheduleKind::warmup_cosine, .base_lr = 0.01, .warmup_steps = 2, .total_steps = 6};
  double worst = 0;
  for (std::size_t s = 0; s < lrs.size(); ++s) {
    EXPECT_NEAR(sched.lr(static_cast<std::int64_t>(s)), lrs(s), 1e-15) << "step " << s;
    opt.set_lr(sched.lr(static_cast<std::int64_t>(s)));
    d1 = row(g1, s, {3, 4});
    d2 = row(g2, s, {5});
    opt.step();
    worst = std::max({worst, max_rel(p1, row(a1, s, {3, 4})), max_rel(p2, row(a2, s, {5}))});
  }
  EXPECT_EQ(opt.steps(), 6);
  // float32 arithmetic on both sides; the operation order differs by at most an ulp or two.
  EXPECT_LT(worst, 2e-7) << "max relative difference to torch.optim.AdamW";
  std::printf("[ torch ] AdamW 6 steps: max |p - p_torch| / (1 + |p_torch|) = %.2e\n", worst);
}

TEST(OptimTorch, ClipGradNormMatchesTorch) {
  Tensor a = load_npy(data("clip/grad_a.npy")), b = load_npy(data("clip/grad_b.npy"));
  Tensor va = a, vb = b;
  const std::vector<Parameter> params{{"a", &va, &a}, {"b", &vb, &b}};
  const double norm = train::clip_grad_norm(params, 1.0);
  EXPECT_NEAR(norm, load_npy_double(data("clip/norm.npy"))(0), 1e-6);
  EXPECT_LT(test::max_abs_diff(a, load_npy(data("clip/clipped_a.npy"))), 1e-7);
  EXPECT_LT(test::max_abs_diff(b, load_npy(data("clip/clipped_b.npy"))), 1e-7);
  // Below the threshold nothing changes.
  const Tensor before = a;
  train::clip_grad_norm(params, 10.0);
  EXPECT_EQ(test::max_abs_diff(a, before), 0.0);
}

TEST(OptimAdamW, FirstStepIsSignOfGradientTimesLr) {
  // Step 1 without decay: m^ = g, v^ = g^2, update = lr g / (|g| + eps) ~ lr sign(g).
  Tensor p = make({3}, {1.0f, -2.0f, 0.5f}), g = make({3}, {0.3f, -4.0f, 1e-3f});
  AdamW opt({{"p", &p, &g}}, AdamWOptions{.lr = 0.1, .weight_decay = 0.0});
  opt.step();
  EXPECT_NEAR(p(0), 0.9, 1e-6);
  EXPECT_NEAR(p(1), -1.9, 1e-6);
  EXPECT_NEAR(p(2), 0.4, 1e-5);
}

TEST(OptimAdamW, DecoupledDecayWithZeroGradient) {
  Tensor p = make({2}, {2.0f, -1.0f}), g = make({2}, {0.0f, 0.0f});
  AdamW opt({{"p", &p, &g}}, AdamWOptions{.lr = 0.1, .weight_decay = 0.5});
  opt.step();  // p (1 - 0.05), the Adam update is 0 / (0 + eps) = 0
  EXPECT_FLOAT_EQ(p(0), 1.9f);
  EXPECT_FLOAT_EQ(p(1), -0.95f);
  Tensor q = make({1}, {2.0f}), gq = make({1}, {0.0f});
  AdamW no_decay({{"q", &q, &gq, /*decay=*/false}}, AdamWOptions{.lr = 0.1, .weight_decay = 0.5});
  no_decay.step();
  EXPECT_FLOAT_EQ(q(0), 2.0f);
}

TEST(OptimAdamW, ResumingFromSavedStateMatchesAnUninterruptedRun) {
  auto grad_at = [](int s) { return make({2, 2}, {0.1f * s, -0.2f, 0.3f, 0.05f * s * s}); };
  Tensor pa = make({2, 2}, {1, 2, 3, 4}), ga = pa;
  AdamW a({{"w", &pa, &ga}});
  for (int s = 1; s <= 5; ++s) ga = grad_at(s), a.step();

  Tensor pb = make({2, 2}, {1, 2, 3, 4}), gb = pb;
  const auto dir = std::filesystem::temp_directory_path() / ("posenc_adamw_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    AdamW b({{"w", &pb, &gb}});
    for (int s = 1; s <= 2; ++s) gb = grad_at(s), b.step();
    b.save_state(dir.string());
  }
  AdamW c({{"w", &pb, &gb}});
  c.load_state(dir.string());
  EXPECT_EQ(c.steps(), 2);
  for (int s = 3; s <= 5; ++s) gb = grad_at(s), c.step();
  std::filesystem::remove_all(dir);
  EXPECT_EQ(test::max_abs_diff(pa, pb), 0.0);
}

TEST(OptimSchedule, ConstantAndCosineShapes) {
  const LrSchedule c{.base_lr = 0.5};
  EXPECT_EQ(c.lr(0), 0.5);
  EXPECT_EQ(c.lr(1000), 0.5);
  const LrSchedule s{.kind = ScheduleKind::warmup_cosine, .base_lr = 1.0, .warmup_steps = 4, .total_steps = 12,
                     .min_ratio = 0.1};
  EXPECT_DOUBLE_EQ(s.lr(0), 0.0);
  EXPECT_DOUBLE_EQ(s.lr(2), 0.5);
  EXPECT_DOUBLE_EQ(s.lr(4), 1.0);
  EXPECT_NEAR(s.lr(8), 0.1 + 0.9 * 0.5, 1e-15);
  EXPECT_NEAR(s.lr(12), 0.1, 1e-15);
  EXPECT_NEAR(s.lr(100), 0.1, 1e-15);  // stays at the floor after the end
  EXPECT_EQ(train::schedule_kind("cosine"), ScheduleKind::warmup_cosine);
}

TEST(OptimErrors, NameFunctionParameterAndValue) {
  Tensor p = make({2}, {1, 2}), g = make({3}, {0, 0, 0});
  expect_invalid([&] { AdamW({{"p", &p, &g}}); }, {"AdamW", "'p'", "[3]", "[2]"});
  Tensor g2 = p;
  expect_invalid([&] { AdamW({{"p", &p, &g2}}, AdamWOptions{.lr = -1}); }, {"AdamW", "'lr'", "-1"});
  expect_invalid([&] { AdamW({{"p", &p, &g2}}, AdamWOptions{.beta1 = 1.0}); }, {"AdamW", "'beta1'", "1"});
  expect_invalid([] { train::schedule_kind("cosin"); }, {"schedule_kind", "'cosin'", "did you mean 'cosine'"});
  const LrSchedule bad{.kind = ScheduleKind::warmup_cosine, .warmup_steps = 10, .total_steps = 5};
  expect_invalid([&] { bad.lr(0); }, {"LrSchedule", "'total_steps' = 5", "warmup_steps = 10"});
  Tensor nan_grad = make({2}, {NAN, 0});
  EXPECT_THROW(train::clip_grad_norm({{"p", &p, &nan_grad}}, 1.0), std::runtime_error);
}

}  // namespace
}  // namespace posenc
