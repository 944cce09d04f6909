// Sinusoidal tables: hand values, layouts and exponent conventions, odd
// dimensions, packed positions, and precision at position 10^6.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <vector>

#include <omp.h>

#include "posenc/sinusoid.hpp"
#include "support/helpers.hpp"

namespace posenc {
namespace {

using test::expect_invalid;

TEST(Sinusoid, HandValuesPaperInterleaved) {
  // d = 4: w = (1, 10^-2); PE(p) = (sin p, cos p, sin p/100, cos p/100).
  const Tensor t = sinusoid_table(3, SinusoidOptions{.dim = 4});
  for (int p = 0; p < 3; ++p) {
    EXPECT_NEAR(t(p, 0), std::sin(p), 1e-7);
    EXPECT_NEAR(t(p, 1), std::cos(p), 1e-7);
    EXPECT_NEAR(t(p, 2), std::sin(p / 100.0), 1e-7);
    EXPECT_NEAR(t(p, 3), std::cos(p / 100.0), 1e-7);
  }
}

TEST(Sinusoid, BlockedAndT2tExponent) {
  // t2t/fairseq: w_k = exp(-k ln(1e4)/(m-1)); d = 6, m = 3: w = (1, 1e-2, 1e-4), layout [s s s | c c c].
  const Tensor t = sinusoid_table(
      5, SinusoidOptions{.dim = 6, .layout = SinusoidLayout::blocked, .exponent = SinusoidExponent::t2t}, 2.0);
  const double w[] = {1, 1e-2, 1e-4};
  for (int r = 0; r < 5; ++r)
    for (int k = 0; k < 3; ++k) {
      EXPECT_NEAR(t(r, k), std::sin((r + 2) * w[k]), 1e-7);
      EXPECT_NEAR(t(r, 3 + k), std::cos((r + 2) * w[k]), 1e-7);
    }
  // d <= 3: the reference divides by m - 1 = 0; t2t guards with max(m - 1, 1): finite values.
  const Tensor small = sinusoid_table(4, SinusoidOptions{.dim = 3, .layout = SinusoidLayout::blocked,
                                                         .exponent = SinusoidExponent::t2t});
  for (float v : small) EXPECT_TRUE(std::isfinite(v));
  EXPECT_EQ(small(2, 2), 0.0f);  // odd d: zero last column
}

TEST(Sinusoid, OddDimensions) {
  // Interleaved, d = 5: computed as d = 6 and the last channel dropped.
  const Tensor t = sinusoid_table(4, SinusoidOptions{.dim = 5});
  const Tensor six = sinusoid_table(4, SinusoidOptions{.dim = 6});
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 5; ++c) EXPECT_EQ(t(r, c), six(r, c));
  // Compat: a zero channel instead, frequencies from d = 5 (w_k = 1e4^(-2k/5)).
  const Tensor z = sinusoid_table(4, SinusoidOptions{.dim = 5, .odd_zero_channel = true});
  EXPECT_EQ(z(3, 4), 0.0f);
  EXPECT_NEAR(z(3, 2), std::sin(3 * std::pow(1e4, -2.0 / 5)), 1e-7);
}

TEST(Sinusoid, ArbitraryPositionsAgreeWithTheRecurrence) {
  // Positions that reset (packed documents) and jump use direct evaluation; runs use angle addition.
  DTensor p = DTensor::from_shape({2, 200, 1});
  for (std::size_t i = 0; i < 200; ++i) {
    p(0, i, 0) = static_cast<double>(i % 70);
    p(1, i, 0) = 0.5 * static_cast<double>(i) + 3;
  }
  const SinusoidOptions o{.dim = 64};
  const Tensor t = sinusoid_table(p, o);
  const auto w = sinusoid_frequencies(o);
  for (std::size_t b = 0; b < 2; ++b)
    for (std::size_t i = 0; i < 200; ++i)
      for (std::size_t k = 0; k < 32; ++k) {
        EXPECT_NEAR(t(b, i, 2 * k), std::sin(p(b, i, 0) * w[k]), 2e-7);
        EXPECT_NEAR(t(b, i, 2 * k + 1), std::cos(p(b, i, 0) * w[k]), 2e-7);
      }
}

// The caller-buffer variants write the same bits as the fresh tables, over whatever the buffer
// held, and a reused buffer gives the same result again.
TEST(Sinusoid, IntoWritesTheFreshTableBits) {
  const SinusoidOptions cases[] = {
      {.dim = 8},
      {.dim = 7},
      {.dim = 7, .odd_zero_channel = true},
      {.dim = 6, .base = 500.0, .layout = SinusoidLayout::blocked, .exponent = SinusoidExponent::t2t},
  };
  DTensor pos = DTensor::from_shape({2, 70, 1});  // two rows of 70: a run of integers and scattered values
  for (std::size_t i = 0; i < 70; ++i) {
    pos(0, i, 0) = 3.0 + static_cast<double>(i);
    pos(1, i, 0) = 0.37 * static_cast<double>(i * i) - 5.0;
  }
  for (const SinusoidOptions& o : cases) {
    const Tensor fresh = sinusoid_table(pos, o);
    std::vector<float> buf(fresh.size(), std::numeric_limits<float>::quiet_NaN());
    for (int round = 0; round < 2; ++round) {
      sinusoid_table_into(pos, o, buf);
      ASSERT_EQ(std::memcmp(buf.data(), fresh.data(), buf.size() * sizeof(float)), 0) << "d " << o.dim;
    }
    const Tensor run = sinusoid_table(130, o, 12.5);
    std::vector<float> run_buf(run.size(), -1.0f);
    sinusoid_table_into(130, o, run_buf, 12.5);
    EXPECT_EQ(std::memcmp(run_buf.data(), run.data(), run_buf.size() * sizeof(float)), 0) << "d " << o.dim;
  }
}

TEST(Sinusoid, IntoLargeTablesStreamTheFreshTableBits) {
  // Tables of 8 MiB and more go into a caller's buffer that starts on a 64-byte line by
  // non-temporal stores, into any other by ordinary ones. Several skews of the buffer, both
  // layouts, a partial last chunk, rows that are not successors (direct evaluation inside a
  // chunk): the fresh table's bits (ordinary stores), nothing written outside the buffer, 1 and
  // 2 threads alike.
  struct Case {
    SinusoidOptions o;
    std::size_t rows;
  };
  const Case cases[] = {{{.dim = 512}, 4200}, {{.dim = 256, .layout = SinusoidLayout::blocked}, 8300}};
  for (const Case& k : cases) {
    DTensor pos = DTensor::from_shape({2, k.rows / 2, 1});
    for (std::size_t i = 0; i < k.rows / 2; ++i) {
      pos(0, i, 0) = static_cast<double>(i) + (i >= 700 ? 31.0 : 0.0);  // a jump inside the 11th chunk
      pos(1, i, 0) = 0.5 * static_cast<double>(i);                     // no successors: every row direct
    }
    const Tensor fresh = sinusoid_table(pos, k.o);
    const Tensor run = sinusoid_table(static_cast<std::int64_t>(k.rows), k.o, 7.0);
    ASSERT_GE(fresh.size() * sizeof(float), std::size_t{8} << 20);
    const std::size_t n = fresh.size();
    std::vector<float> buffer(n + 64);
    const std::size_t base = (64 - reinterpret_cast<std::uintptr_t>(buffer.data()) % 64) % 64 / sizeof(float);
    for (const std::size_t skew : {0, 1, 5, 8, 15})
      for (const int threads : {1, 2}) {
        std::fill(buffer.begin(), buffer.end(), -3.0f);
        const std::span<float> out(buffer.data() + base + skew, n);
        const int before = omp_get_max_threads();
        omp_set_num_threads(threads);
        sinusoid_table_into(pos, k.o, out);
        omp_set_num_threads(before);
        ASSERT_EQ(std::memcmp(out.data(), fresh.data(), n * sizeof(float)), 0)
            << "d " << k.o.dim << " skew " << skew << " threads " << threads;
        for (std::size_t i = 0; i < base + skew; ++i) ASSERT_EQ(buffer[i], -3.0f) << "before the buffer, skew " << skew;
        for (std::size_t i = base + skew + n; i < buffer.size(); ++i)
          ASSERT_EQ(buffer[i], -3.0f) << "after the buffer, skew " << skew;
        sinusoid_table_into(static_cast<std::int64_t>(k.rows), k.o, out, 7.0);
        ASSERT_EQ(std::memcmp(out.data(), run.data(), n * sizeof(float)), 0) << "run, d " << k.o.dim << " skew " << skew;
      }
  }
}

TEST(Sinusoid, IntoRejectsABufferOfAnotherSize) {
  std::vector<float> buf(4 * 8 - 1);
  expect_invalid([&] { sinusoid_table_into(4, SinusoidOptions{.dim = 8}, buf); },
                 {"sinusoid_table_into", "'out'", "4 x 8 = 32", "got 31"});
  expect_invalid([&] { sinusoid_table_into(0, SinusoidOptions{.dim = 8}, buf); },
                 {"sinusoid_table_into", "'tokens'", "0"});
  expect_invalid([&] { sinusoid_table_into(4, SinusoidOptions{.dim = 0}, buf); },
                 {"sinusoid_table_into", "'dim'", "0"});
  DTensor pos = DTensor::from_shape({1, 2, 1});
  pos(0, 0, 0) = 0.0;
  pos(0, 1, 0) = std::numeric_limits<double>::infinity();
  std::vector<float> ok(2 * 8);
  expect_invalid([&] { sinusoid_table_into(pos, SinusoidOptions{.dim = 8}, ok); },
                 {"sinusoid_table_into", "'positions'", "inf"});
}

TEST(Sinusoid, PrecisionAtOneMillion) {
  // 1000 rows from 10^6 against a direct double evaluation: within one fp32 ulp of the value plus
  // the uncertainty that rounding the double angle itself carries (2 ulp of the angle).
  const int d = 256;
  const Tensor t = sinusoid_table(1000, SinusoidOptions{.dim = d}, 1e6);
  auto ulp_f = [](double v) { const float a = std::abs(static_cast<float>(v)); return std::nextafter(a, 2.0f) - a; };
  for (int r = 0; r < 1000; r += 37)
    for (int k = 0; k < d / 2; ++k) {
      const double angle = (1e6 + r) * std::pow(10000.0, -2.0 * k / d);
      const double tol_angle = 2 * (std::nextafter(angle, 1e300) - angle);
      const double s = std::sin(angle), c = std::cos(angle);
      EXPECT_LE(std::abs(t(r, 2 * k) - s), ulp_f(s) + tol_angle) << r << " " << k;
      EXPECT_LE(std::abs(t(r, 2 * k + 1) - c), ulp_f(c) + tol_angle) << r << " " << k;
      // The fp32 value itself cannot be improved on: it is within one fp32 ulp of the double value.
    }
}

// Every value of wide tables (the register-blocked kernel for whole blocks of 64 frequencies, the
// row kernel for the rest) against a direct double evaluation, in every layout and odd-d rule:
// runs that break inside a 64-row chunk, repeats, fractional and negative positions, a partial
// last chunk, and angles of 3e6, past the medium-range reduction (another reduction path). Bound: one fp32 ulp of the
// value plus 2 ulp of the angle (what rounding the angle itself carries) plus 1e-12 for the
// recurrence. Then 1 and 3 threads bit-identical.
TEST(Sinusoid, WideTablesAgreeWithDirectEvaluation) {
  const SinusoidOptions cases[] = {
      {.dim = 128},
      {.dim = 129},
      {.dim = 129, .odd_zero_channel = true},
      {.dim = 200, .base = 500.0},
      {.dim = 130, .layout = SinusoidLayout::blocked},
      {.dim = 257, .layout = SinusoidLayout::blocked, .exponent = SinusoidExponent::t2t},
  };
  DTensor pos = DTensor::from_shape({2, 150, 1});
  for (std::size_t i = 0; i < 150; ++i) {
    // Row 0: a run from -20 that jumps at 10, repeats at 75 and restarts at 100 (inside chunks).
    const double x = static_cast<double>(i) - 20.0;
    pos(0, i, 0) = i < 10 ? x : i < 75 ? x + 1000.0 : i < 100 ? 1054.0 : static_cast<double>(i - 100);
    pos(1, i, 0) = i < 40 ? 0.25 * static_cast<double>(i) : 3.0e6 + static_cast<double>(i);  // angles > 1.6e6
  }
  auto ulp_f = [](double v) { const float a = std::abs(static_cast<float>(v)); return std::nextafter(a, 2.0f) - a; };
  for (const SinusoidOptions& o : cases) {
    const Tensor t = sinusoid_table(pos, o);
    const auto w = sinusoid_frequencies(o);
    const std::size_t d = static_cast<std::size_t>(o.dim), m = w.size();
    const bool interleaved = o.layout == SinusoidLayout::interleaved;
    for (std::size_t b = 0; b < 2; ++b)
      for (std::size_t i = 0; i < 150; ++i) {
        std::vector<double> expect(d, 0.0), tol(d, 0.0);  // odd d: dropped cosine or zero channel
        for (std::size_t k = 0; k < m; ++k) {
          const double a = pos(b, i, 0) * w[k];
          const double tol_angle = 2 * (std::nextafter(std::abs(a), 1e300) - std::abs(a)) + 1e-12;
          const std::size_t si = interleaved ? 2 * k : k, ci = interleaved ? 2 * k + 1 : m + k;
          if (si < d) expect[si] = std::sin(a), tol[si] = ulp_f(expect[si]) + tol_angle;
          if (ci < d) expect[ci] = std::cos(a), tol[ci] = ulp_f(expect[ci]) + tol_angle;
        }
        for (std::size_t j = 0; j < d; ++j)
          ASSERT_LE(std::abs(t(b, i, j) - expect[j]), tol[j])
              << "d " << d << " batch " << b << " row " << i << " channel " << j;
      }
    const int before = omp_get_max_threads();
    omp_set_num_threads(1);
    const Tensor one = sinusoid_table(pos, o);
    omp_set_num_threads(3);
    const Tensor three = sinusoid_table(pos, o);
    omp_set_num_threads(before);
    EXPECT_EQ(std::memcmp(one.data(), t.data(), t.size() * sizeof(float)), 0) << "d " << d;
    EXPECT_EQ(std::memcmp(three.data(), t.data(), t.size() * sizeof(float)), 0) << "d " << d;
  }
}

TEST(Sinusoid, BadInput) {
  expect_invalid([] { sinusoid_table(4, SinusoidOptions{.dim = 0}); }, {"sinusoid_table", "'dim'", "0"});
  expect_invalid([] { sinusoid_table(4, SinusoidOptions{.dim = 4, .base = -2}); }, {"'base'", "-2"});
  expect_invalid([] { sinusoid_table(4, SinusoidOptions{.dim = 4, .base = NAN}); }, {"'base'", "nan"});
  expect_invalid([] { sinusoid_table(0, SinusoidOptions{.dim = 4}); }, {"'tokens'", "0"});
}

}  // namespace
}  // namespace posenc
