// The streaming softmax's exponential kernels (src/detail/vmath.hpp) against std::exp in double
// and against each other: exp_shift_sum_rows (a block of rows in one call) must give what
// exp_shift_sum gives row by row; and the fixed-order float sum (src/detail/lane_sum.hpp) of the
// value histograms' constant runs. Compiled with the library's instruction set (CMakeLists.txt),
// so that the AVX-512 form is the one tested where the library uses it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <random>
#include <vector>

#include "detail/lane_sum.hpp"
#include "detail/vmath.hpp"

namespace {

using posenc::detail::exp_shift_sum;
using posenc::detail::exp_shift_sum_rows;

// Distance in units in the last place between two finite floats of the same sign.
long ulp_distance(float a, float b) {
  std::int32_t ia = 0, ib = 0;
  std::memcpy(&ia, &a, sizeof ia);
  std::memcpy(&ib, &b, sizeof ib);
  return std::labs(static_cast<long>(ia) - static_cast<long>(ib));
}

// Rows of scores as the softmax sees them: spread over [-100, 8] so that some fall below the
// cut-off (shift - 87), a few -inf (masked keys), the shift each row's maximum.
struct Rows {
  std::size_t rows, n, stride;
  std::vector<float> x, shift;
};

Rows make_rows(std::size_t rows, std::size_t n, std::size_t stride, unsigned seed) {
  Rows r{rows, n, stride, std::vector<float>(rows * stride), std::vector<float>(rows)};
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> value(-100.0f, 8.0f);
  std::uniform_int_distribution<int> pick(0, 9);
  for (std::size_t i = 0; i < rows; ++i) {
    float top = -std::numeric_limits<float>::infinity();
    for (std::size_t j = 0; j < stride; ++j) {
      float v = value(rng);
      if (j < n && pick(rng) == 0) v = -std::numeric_limits<float>::infinity();
      if (j >= n) v = 1234.5f + static_cast<float>(j);  // beyond n: must stay as it is
      r.x[i * stride + j] = v;
      if (j < n) top = std::max(top, v);
    }
    r.shift[i] = std::isfinite(top) ? top : 0.0f;
  }
  return r;
}

TEST(VectorMath, ExpShiftSumRowsMatchesExpInDouble) {
  for (std::size_t n : {1u, 7u, 15u, 16u, 17u, 31u, 100u, 256u, 300u}) {
    for (std::size_t pad : {0u, 3u, 16u}) {
      const Rows in = make_rows(5, n, n + pad, static_cast<unsigned>(n * 31 + pad));
      std::vector<float> x = in.x, sums(in.rows, -1.0f);
      exp_shift_sum_rows(x.data(), in.rows, n, in.stride, in.shift.data(), sums.data());
      for (std::size_t i = 0; i < in.rows; ++i) {
        double want_sum = 0.0;
        for (std::size_t j = 0; j < in.stride; ++j) {
          const float before = in.x[i * in.stride + j], got = x[i * in.stride + j];
          if (j >= n) {
            EXPECT_EQ(got, before) << "n " << n << " row " << i << " column " << j << " written";
            continue;
          }
          // The argument as the kernel forms it (x - shift rounded to float, as every float
          // softmax does); the exponential itself is what is checked.
          const float arg = before - in.shift[i];
          if (!(arg >= -87.0)) {  // -inf, or below the documented cut-off
            EXPECT_EQ(got, 0.0f) << "n " << n << " argument " << arg;
            continue;
          }
          const float want = static_cast<float>(std::exp(double(arg)));
          EXPECT_LE(ulp_distance(got, want), 2) << "n " << n << " argument " << arg << ": " << got
                                                << " vs " << want;
          want_sum += double(got);
        }
        EXPECT_NEAR(sums[i], want_sum, 1e-6 * want_sum + 1e-30) << "n " << n << " row " << i;
      }
    }
  }
}

TEST(VectorMath, ExpShiftSumRowsAgreesWithOneCallPerRow) {
  for (std::size_t n : {5u, 16u, 33u, 128u, 257u}) {
    const Rows in = make_rows(9, n, n + 7, static_cast<unsigned>(n));
    std::vector<float> batched = in.x, single = in.x, sums(in.rows);
    exp_shift_sum_rows(batched.data(), in.rows, n, in.stride, in.shift.data(), sums.data());
    for (std::size_t i = 0; i < in.rows; ++i) {
      const float sum = exp_shift_sum(single.data() + i * in.stride, n, in.shift[i]);
      EXPECT_NEAR(sums[i], sum, 2e-7f * sum) << "n " << n << " row " << i;
      for (std::size_t j = 0; j < n; ++j) {
        const float a = batched[i * in.stride + j], b = single[i * in.stride + j];
        if (a == 0.0f || b == 0.0f) {
          EXPECT_EQ(a, b) << "n " << n << " row " << i << " column " << j;
        } else {
          EXPECT_LE(ulp_distance(a, b), 1) << "n " << n << " row " << i << " column " << j;
        }
      }
    }
  }
}

TEST(VectorMath, ExpShiftSumRowsEdgeValues) {
  const float inf = std::numeric_limits<float>::infinity();
  // Arguments (x - shift): e^0 = 1 exactly, e^-87 kept (the cut-off is inclusive), just below it
  // and -inf give 0.
  std::vector<float> x = {0.0f, -87.0f, std::nextafter(-87.0f, -inf), -inf, -1.0f, -0.5f};
  const float shift = 0.5f;  // the row's maximum (its x is 0.5); exact in every sum below
  for (float& v : x) v = v == -inf ? v : v + shift;
  float sum = -1.0f;
  exp_shift_sum_rows(x.data(), 1, x.size(), x.size(), &shift, &sum);
  EXPECT_EQ(x[0], 1.0f);
  EXPECT_GT(x[1], 0.0f);
  EXPECT_LE(ulp_distance(x[1], static_cast<float>(std::exp(-87.0))), 2);
  EXPECT_EQ(x[2], 0.0f);
  EXPECT_EQ(x[3], 0.0f);
  EXPECT_LE(ulp_distance(x[4], static_cast<float>(std::exp(-1.0))), 2);
  EXPECT_LE(ulp_distance(x[5], static_cast<float>(std::exp(-0.5))), 2);
  EXPECT_NEAR(sum, x[0] + x[1] + x[4] + x[5], 1e-6f);
  // No rows: nothing written.
  exp_shift_sum_rows(x.data(), 0, 4, 4, &shift, &sum);
  EXPECT_EQ(x[0], 1.0f);
}

}  // namespace

namespace {

// lane_sum_floats promises a fixed order: lane j (j < 16) sums x[j], x[j + 16], ... over the whole
// groups of 16, lanes j and j + 8 are added, then the eight in pairs (0 4)(2 6)(1 5)(3 7), then the
// tail. Rebuilt here one scalar at a time, it must agree to the bit; and with a sum in double
// within float rounding.
float lane_sum_oracle(const float* x, std::size_t n) {
  float lane[16] = {};
  std::size_t c = 0;
  for (; c + 16 <= n; c += 16)
    for (std::size_t j = 0; j < 16; ++j) lane[j] += x[c + j];
  float tail = 0;
  for (; c < n; ++c) tail += x[c];
  float s[8];
  for (std::size_t j = 0; j < 8; ++j) s[j] = lane[j] + lane[j + 8];
  return (((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]))) + tail;
}

TEST(VectorMath, LaneSumFloatsInItsDocumentedOrder) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> value(-1.0f, 3.0f);
  for (std::size_t n : {0u, 1u, 7u, 15u, 16u, 17u, 31u, 32u, 100u, 223u, 256u, 1000u}) {
    std::vector<float> x(n + 3);
    for (float& v : x) v = value(rng);
    for (std::size_t off : {0u, 1u, 3u}) {  // unaligned starts
      const float got = posenc::detail::lane_sum_floats(x.data() + off, n - std::min(n, off));
      const std::size_t m = n - std::min(n, off);
      EXPECT_EQ(got, lane_sum_oracle(x.data() + off, m)) << "n " << m;
      double want = 0, mag = 0;
      for (std::size_t c = 0; c < m; ++c) want += x[off + c], mag += std::fabs(x[off + c]);
      EXPECT_NEAR(got, want, 1e-6 * mag + 1e-30) << "n " << m;
    }
  }
}

}  // namespace
