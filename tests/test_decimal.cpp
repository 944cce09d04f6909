// The fast decimal reader (src/detail/decimal.hpp) against std::from_chars and glibc's strtod
// (both correctly rounded): the same value bits, end and error on random numbers in many notations,
// on ties between two doubles, and on every shape the short path hands to std::from_chars. Where the
// short path does not run (no AVX-512 VBMI) the reader is std::from_chars itself.
#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

#include "detail/decimal.hpp"

namespace posenc {
namespace {

std::uint64_t bits(double x) {
  std::uint64_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

// Compares from_chars_double with std::from_chars and strtod on s; returns whether the short path
// took it.
bool agrees(const std::string& s) {
  const char* b = s.data();
  const char* e = b + s.size();
  double fast = 12345.0, ref = 12345.0;
  const auto rf = detail::from_chars_double(b, e, fast);
  const auto rr = std::from_chars(b, e, ref);
  EXPECT_EQ(rf.ptr - b, rr.ptr - b) << "'" << s << "'";
  EXPECT_EQ(rf.ec, rr.ec) << "'" << s << "'";
  if (rr.ec == std::errc()) {
    EXPECT_EQ(bits(fast), bits(ref)) << "'" << s << "': " << fast << " vs " << ref;
    const std::string head(b, rr.ptr);
    if (!head.empty() && head.front() != '+') {
      EXPECT_EQ(bits(fast), bits(std::strtod(head.c_str(), nullptr))) << "'" << s << "'";
    }
  }
  double tmp;
  return detail::decimal_short_path(b, e, tmp) != nullptr;
}

std::string printf_string(const char* fmt, int prec, double x) {
  char buf[512];
  std::snprintf(buf, sizeof buf, fmt, prec, x);
  return buf;
}

TEST(Decimal, RandomDoublesInEveryNotation) {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> normal;
  std::uniform_int_distribution<int> scale(-30, 30);
  std::size_t shortcut = 0, total = 0;
  for (int i = 0; i < 200000; ++i) {
    const double x = normal(rng) * std::pow(10.0, scale(rng));
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, x);  // shortest round trip
    std::vector<std::string> forms = {std::string(buf, r.ptr), printf_string("%.*g", 17, x),
                                      printf_string("%.*g", 16, x), printf_string("%.*e", 18, x),
                                      printf_string("%.*f", 6, x), printf_string("%.*E", 3, x)};
    for (const auto& s : forms) {
      shortcut += agrees(s);
      ++total;
    }
  }
  // The benchmark's shape (17 significant digits, small exponents) must take the short path.
  if (detail::decimal_short_path_enabled()) {
    EXPECT_GT(shortcut, total / 2);
  }
}

TEST(Decimal, RandomDigitStrings) {
  std::mt19937_64 rng(12);
  std::uniform_int_distribution<int> len(1, 24), digit(0, 9), exp10(-45, 45), coin(0, 3);
  for (int i = 0; i < 300000; ++i) {
    std::string s = coin(rng) == 0 ? "-" : "";
    const int n = len(rng), dot = std::uniform_int_distribution<int>(-1, n)(rng);
    const bool zeros = coin(rng) == 0;  // many leading or trailing zeros
    for (int k = 0; k < n; ++k) {
      if (k == dot) s += '.';
      s += static_cast<char>('0' + (zeros && (k < n / 3 || k > 2 * n / 3) ? 0 : digit(rng)));
    }
    if (dot == n) s += '.';
    if (coin(rng) != 0) {
      s += coin(rng) ? 'e' : 'E';
      const int sign = coin(rng);
      if (sign == 0) s += '+';
      if (sign == 1) s += '-';
      s += std::to_string(std::abs(exp10(rng)));
    }
    if (coin(rng) == 0) s += ",1.5";  // a following field
    agrees(s);
  }
}

TEST(Decimal, TiesRoundToEven) {
  // Exact midpoints between two doubles: (2m + 1) 2^(e - 1) for 53-bit m, written out in full; the
  // short path must round them to the even neighbour (integers: the product path; fractions with
  // few digits: the reciprocal's product cannot tell, so the exact division, remainder zero).
  std::mt19937_64 rng(13);
  std::size_t shortcut = 0, total = 0;
  for (int i = 0; i < 40000; ++i) {
    const std::uint64_t m = (std::uint64_t{1} << 52) | (rng() & ((std::uint64_t{1} << 52) - 1));
    const int e = std::uniform_int_distribution<int>(-12, 10)(rng);
    const long double mid = std::ldexp(static_cast<long double>(2 * m + 1), e - 1);  // exact (64-bit mantissa)
    char buf[128];
    std::snprintf(buf, sizeof buf, "%.*Lf", e < 1 ? 1 - e : 0, mid);
    shortcut += agrees(buf);
    ++total;
    const double lo = std::ldexp(static_cast<double>(m), e), hi = std::nextafter(lo, INFINITY);
    double v;
    detail::from_chars_double(buf, buf + std::strlen(buf), v);
    EXPECT_EQ(v, (m & 1) ? hi : lo) << buf;
  }
  if (detail::decimal_short_path_enabled()) {
    EXPECT_GT(shortcut, total / 4);
  }
  for (const char* s : {"9007199254740993", "9007199254740995", "1125899906842624.125", "1125899906842624.375",
                        "18014398509481985", "4503599627370496.5", "-4503599627370497.5"})
    EXPECT_EQ(agrees(s), detail::decimal_short_path_enabled()) << s;  // hand-picked ties on the short path
}

TEST(Decimal, NearTiesOnEitherSide) {
  // Midpoints between two doubles printed to 17-19 significant digits: just above or just below
  // the tie, where the reciprocal's product often cannot tell the side (then the exact division).
  std::mt19937_64 rng(14);
  std::uniform_int_distribution<int> binade(-60, 40);
  for (int i = 0; i < 100000; ++i) {
    const double d = std::ldexp(1.0 + static_cast<double>(rng() >> 12) * 0x1p-52, binade(rng));
    const long double mid = (static_cast<long double>(d) + std::nextafter(d, INFINITY)) / 2;  // exact
    for (int digits = 17; digits <= 19; ++digits) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.*Le", digits - 1, mid);
      agrees(buf);
    }
  }
}

TEST(Decimal, NumbersEndingAtAnUnmappedPage) {
  // The short path loads 32 bytes under a mask: nothing at or past `last` may be read.
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  void* map = ::mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(map, MAP_FAILED);
  char* mem = static_cast<char*>(map);
  ASSERT_EQ(::mprotect(mem + page, page, PROT_NONE), 0);
  for (const char* text : {"1", "-0.5399528312492061", "0.28129870107661537", "123456789012345678901234567890123",
                           "1e5", "1.", ".5", "-", "", "9999999999999999999.5"}) {
    const std::size_t n = std::strlen(text);
    char* at = mem + page - n;
    std::memcpy(at, text, n);
    double a = 0, b = 0;
    const auto ra = detail::from_chars_double(at, at + n, a), rb = std::from_chars(at, at + n, b);
    EXPECT_EQ(ra.ptr, rb.ptr) << text;
    EXPECT_EQ(ra.ec, rb.ec) << text;
    EXPECT_EQ(bits(a), bits(b)) << text;
  }
  ::munmap(map, 2 * page);
}

TEST(Decimal, ShapesLeftToFromChars) {
  // Not the short shape, or past its limits: the answer is std::from_chars's, end and error included.
  for (const char* s : {"", "-", ".", "-.", "+1", "e5", "1e", "1e+", "1e-", "1ex", "1.5e99999", "inf", "-inf",
                        "nan", "infinity", "0x1p3", "1e400", "1e-400", "4.9406564584124654e-324", "2.2250738585072011e-308",
                        "1.7976931348623157e308", "1.7976931348623159e308", "12345678901234567890", "0.12345678901234567890123",
                        "1e28", "1e-28", "123456789e-35", "--1", "- 1", "1..2", "1.2.3", "1e5.5", " 1", "1 ", "00000000000000000000001",
                        "0.000000000000000000000000000001", "100000000000000000000000e-23", "-0", "-0.0e5", "0e999999", ".5", "5.",
                        "-.5e-3", "12345678.87654321", "1234567890123456789", "9999999999999999999", "99999999999999999999"})
    agrees(s);
  // Where the build has it, the short path claims the plain shapes (so the comparisons above test
  // it, not only from_chars).
  for (const char* s : {"0", "-0.5399528312492061", "0.28129870107661537", "1e27", "1e-27", "-1.5E+3", "5.", ".5",
                        "9999999999999999999", "00000000000000000000001", "-0.0e5", "0000012345.678e-3"})
    EXPECT_EQ(agrees(s), detail::decimal_short_path_enabled()) << s;
  for (const char* s : {"1e28", "1e-28", "99999999999999999999", "1e", "inf", "1e12345"}) EXPECT_FALSE(agrees(s)) << s;
}

TEST(Decimal, DelimitedRunsStopAtTheFirstFieldThatIsNotABareNumber) {
  // read_delimited against the fields read one by one: field c counts when the short path takes it
  // whole (ending at its delimiter, or at the line's end for the n-th field), and the run stops at
  // the first field that does not; values bit-equal to std::from_chars.
  const std::vector<std::string> pool = {"1", "-0.5399528312492061", "0.28129870107661537", "1e5", "-1.5E+3", ".5",
                                         "5.", "-0", "+1", " 1", "1 ", "", "inf", "abc", "1e400", "1.2.3", "1e28",
                                         "12345678901234567890", "2\r", "1e", "1-2", "0x10"};
  std::mt19937_64 rng(5);
  std::uniform_int_distribution<std::size_t> pick(0, pool.size() - 1), bare(0, 7), width(1, 9);
  for (int trial = 0; trial < 4000; ++trial) {
    const std::size_t fields = width(rng), n = std::min<std::size_t>(fields + trial % 3, 9) - trial % 2;
    if (n == 0) continue;
    std::vector<std::string> row;
    for (std::size_t c = 0; c < fields; ++c) {
      row.push_back(rng() % 4 ? pool[bare(rng)] : pool[pick(rng)]);
    }
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) line += (c ? "," : "") + row[c];
    const char* first = line.data();
    const char* last = first + line.size();
    std::vector<double> out(2 * n, -7.0);
    const char* next = nullptr;
    const std::size_t got = detail::read_delimited(first, last, ',', n, out.data(), 2, next);
    std::size_t want = 0, at = 0;
    if (detail::decimal_short_path_enabled()) {
      for (; want < n && want < row.size(); ++want) {
        const char* b = first + at;
        const char* e = b + row[want].size();
        double v = 0;
        const char* end = detail::decimal_short_path(b, last, v);
        const bool closes = want + 1 < n ? e != last && *e == ',' : e == last;
        if (end != e || !closes) break;
        double ref = 0;
        const auto rr = std::from_chars(b, e, ref);
        ASSERT_EQ(rr.ptr, e) << line;
        EXPECT_EQ(bits(out[2 * want]), bits(ref)) << line << " field " << want;
        at += row[want].size() + (want + 1 < n);
      }
    }
    ASSERT_EQ(got, want) << "'" << line << "' n " << n;
    EXPECT_EQ(next - first, static_cast<std::ptrdiff_t>(at)) << "'" << line << "' n " << n;
    for (std::size_t c = got; c < n; ++c) EXPECT_EQ(out[2 * c], -7.0) << line;  // nothing past the run
    for (std::size_t c = 0; c < n; ++c) EXPECT_EQ(out[2 * c + 1], -7.0) << line;  // only every stride-th
  }
}

}  // namespace
}  // namespace posenc
