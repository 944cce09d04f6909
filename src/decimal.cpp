// The fast decimal reader (detail/decimal.hpp): the short path and its fallback.
#include "detail/decimal.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <system_error>

namespace posenc::detail {

// The short path needs AVX-512 with byte permutes (VBMI: Intel Ice Lake and later, AMD Zen 4 and
// later). Its functions are compiled for those instructions whatever the build's flags and run only
// where the CPU has them (checked once), so sanitizer and fuzzing builds exercise it too; elsewhere
// std::from_chars does all the work (a scalar short path measured slower than libstdc++'s
// from_chars, which already uses the fast_float algorithm).
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define POSENC_DECIMAL_SHORT_PATH 1
#include <immintrin.h>
#define POSENC_DECIMAL_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi,bmi,bmi2,lzcnt,popcnt")))
// The short path's steps are inlined into it, and it is one call per number (measured: with its
// steps as calls, or all of it inlined into the loop over a row's fields, reading was 30-50 % slower).
#define POSENC_DECIMAL_INLINE POSENC_DECIMAL_TARGET inline __attribute__((always_inline))
#else
#define POSENC_DECIMAL_SHORT_PATH 0
#endif

namespace {

#if POSENC_DECIMAL_SHORT_PATH

__extension__ using u128 = unsigned __int128;  // GCC and Clang on 64-bit targets

constexpr int kMaxPow5 = 27;  // 5^27 < 2^63

constexpr std::array<std::uint64_t, kMaxPow5 + 1> kPow5 = [] {
  std::array<std::uint64_t, kMaxPow5 + 1> p{};
  p[0] = 1;
  for (int i = 1; i <= kMaxPow5; ++i) p[i] = p[i - 1] * 5;
  return p;
}();

/// 2^e as a double, for e in the normal range.
POSENC_DECIMAL_INLINE double pow2(int e) { return std::bit_cast<double>(static_cast<std::uint64_t>(e + 1023) << 52); }

/// (x + a fraction below one when `sticky`) * 2^e rounded to the nearest double, ties to even. x > 0;
/// when sticky, x must have at least 55 bits (the rounding bit and one below it are x's own). The
/// result must lie in the normal range (the callers' exponents keep it there).
POSENC_DECIMAL_INLINE double round_scaled(u128 x, bool sticky, int e) {
  const auto hi = static_cast<std::uint64_t>(x >> 64), lo = static_cast<std::uint64_t>(x);
  const int bits = hi ? 128 - std::countl_zero(hi) : 64 - std::countl_zero(lo);
  if (bits <= 53) return static_cast<double>(lo) * pow2(e);
  const int shift = bits - 53;
  auto mant = static_cast<std::uint64_t>(x >> shift);
  const u128 rest = x & ((static_cast<u128>(1) << shift) - 1);
  const u128 half = static_cast<u128>(1) << (shift - 1);
  // Branch-free (the decision is a coin toss on real data); 2^53 is still exact.
  mant += static_cast<std::uint64_t>((rest > half) | ((rest == half) & (sticky | static_cast<bool>(mant & 1))));
  return static_cast<double>(mant) * pow2(e + shift);
}

/// floor((hi 2^64 + lo) / d) and the remainder; the quotient must fit 64 bits (hi < d).
POSENC_DECIMAL_TARGET std::uint64_t divide(std::uint64_t hi, std::uint64_t lo, std::uint64_t d, std::uint64_t& rem) {
  std::uint64_t q;
  asm("divq %4" : "=a"(q), "=d"(rem) : "a"(lo), "d"(hi), "rm"(d) : "cc");
  return q;
}

/// w 10^q for w > 0, -kMaxPow5 <= q < 0, rounded once: w 2^s / 5^-q by an exact division.
POSENC_DECIMAL_TARGET double divide_exactly(std::uint64_t w, int q) {
  const std::uint64_t d = kPow5[-q];
  const int s = std::max(0, 56 + (64 - std::countl_zero(d)) - (64 - std::countl_zero(w)));
  // w 2^s >= 2^(55 + bits(d)) > d 2^55 (and < 2^57 d): the quotient has 55 to 57 bits, or up to 64
  // when s is 0 (w much larger than d).
  const std::uint64_t hi = s == 0 ? 0 : s >= 64 ? w << (s - 64) : w >> (64 - s);
  const std::uint64_t lo = s >= 64 ? 0 : w << s;
  std::uint64_t rem;
  const std::uint64_t quot = divide(hi, lo, d, rem);
  return round_scaled(quot, rem != 0, q - s);
}

/// For k = 1 .. kMaxPow5: r = ceil(2^u / 5^k) with u = 63 + bits(5^k), so 2^63 < 2^u / 5^k < 2^64 - 3
/// (5^k is odd and above 2^(bits - 1), so the quotient is no integer and ceil stays below 2^64).
struct Reciprocal {
  std::uint64_t r;
  int u;
};
constexpr std::array<Reciprocal, kMaxPow5 + 1> kReciprocal5 = [] {
  std::array<Reciprocal, kMaxPow5 + 1> t{};
  for (int k = 1; k <= kMaxPow5; ++k) {
    const std::uint64_t d = kPow5[k];
    const int u = 63 + (64 - std::countl_zero(d));
    const u128 num = static_cast<u128>(1) << u, r = num / d + (num % d != 0);
    if (r >> 64 || r >> 63 == 0) throw "kReciprocal5: out of range";  // not a constant expression then
    t[k] = {static_cast<std::uint64_t>(r), u};
  }
  return t;
}();

/// w 10^q for w > 0, |q| <= kMaxPow5, rounded once. For q < 0 one 64 x 64-bit product by the
/// reciprocal decides the rounding: with wn = w 2^lz (top bit set) and hi the product's high word,
/// the true V = wn 2^u / 5^k / 2^64 lies in (hi - 1, hi + 1) (the reciprocal is rounded up and never
/// exact, and the product loses less than one unit). With `low` hi's bits below the 53 kept and
/// `half` the halfway point among them: low < half puts V below the halfway point (V < hi + 1), low
/// > half above it (V > hi - 1), so only low == half (1 in 2^10 or 2^11 of inputs) needs the exact
/// division.
POSENC_DECIMAL_INLINE double scale(std::uint64_t w, int q) {
  if (q >= 0) return round_scaled(static_cast<u128>(w) * kPow5[q], false, q);
  const int k = -q, lz = std::countl_zero(w);
  const auto hi = static_cast<std::uint64_t>((static_cast<u128>(w << lz) * kReciprocal5[k].r) >> 64);
  const int shift = 11 - std::countl_zero(hi);  // hi >= 2^62: 63 or 64 bits, 53 kept
  const std::uint64_t half = std::uint64_t{1} << (shift - 1), low = hi & ((half << 1) - 1);
  if (low == half) return divide_exactly(w, q);  // V within one unit of the halfway point: either side
  const std::uint64_t mant = (hi >> shift) + static_cast<std::uint64_t>(low > half);
  return static_cast<double>(mant) * pow2(shift + 64 - lz - kReciprocal5[k].u - k);
}

/// A decimal mantissa: the value w 10^q.
struct Mantissa {
  std::uint64_t w = 0;  // the significand, at most 19 significant digits
  int q = 0;            // the decimal exponent of its last digit
};

/// Reads [digits][.digits] (at least one digit) from p, moving p to its end; false when the input is
/// not of that shape or has more than 19 significant digits (p and m are then unspecified).
/// Without branches on the digits: the 32 bytes from p in one register, the span of digits and one
/// '.' from the masks, the digits right-aligned into 24 lanes by one byte permutation (VPERMB)
/// stepping over the '.', and combined by multiply-adds into three 8-digit groups.
POSENC_DECIMAL_INLINE bool mantissa(const char*& p, const char* last, Mantissa& m) {
  const std::ptrdiff_t avail = last - p;
  const __mmask32 in = avail >= 32 ? ~__mmask32{0} : (__mmask32{1} << avail) - 1;  // masked bytes never fault
  const __m256i v = _mm256_maskz_loadu_epi8(in, p);
  const __m256i d = _mm256_sub_epi8(v, _mm256_set1_epi8('0'));
  const __mmask32 dig = _mm256_cmplt_epu8_mask(d, _mm256_set1_epi8(10)) & in;
  const __mmask32 dot = _mm256_cmpeq_epi8_mask(v, _mm256_set1_epi8('.')) & in;
  const std::uint32_t body = dig | dot;
  if (body == ~std::uint32_t{0}) return false;  // 32 or more: not the short shape
  const int len = std::countr_zero(~body);
  const std::uint32_t span = (std::uint32_t{1} << len) - 1, digs = dig & span, dots = dot & span;
  const int n = std::popcount(digs);
  if (n == 0 || n > 24 || std::popcount(dots) > 1) return false;  // from_chars stops at a second '.'
  // Lane i of r takes the (i - (24 - n))-th digit, stepping over the '.': the n digits end at
  // lane 23, zeros before them.
  const int point = dots ? std::countr_zero(dots) : 32;
  const __m256i iota = _mm256_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
                                        21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31);
  const __m256i j = _mm256_add_epi8(iota, _mm256_set1_epi8(static_cast<char>(n - 24)));
  const __mmask32 past = _mm256_cmpge_epi8_mask(j, _mm256_set1_epi8(static_cast<char>(point)));
  const __m256i idx = _mm256_mask_add_epi8(j, past, j, _mm256_set1_epi8(1));
  const __mmask32 lanes = (__mmask32{1} << 24) - (__mmask32{1} << (24 - n));
  const __m256i r = _mm256_maskz_permutexvar_epi8(lanes, idx, d);
  const std::uint32_t nonzero = _mm256_test_epi8_mask(r, r);
  if (nonzero && 24 - std::countr_zero(nonzero) > 19) return false;
  const __m256i two = _mm256_maddubs_epi16(r, _mm256_set1_epi16(0x010A));     // 10 a + b per 16 bits
  const __m256i four = _mm256_madd_epi16(two, _mm256_set1_epi32(0x00010064));  // 100 ab + cd per 32 bits
  // Per 128-bit half, four 4-digit groups as 16 bits, then 10^4 x + y per 32 bits: eight digits.
  const __m256i eight = _mm256_madd_epi16(_mm256_packus_epi32(four, four), _mm256_set1_epi32(0x00012710));
  const auto g0 = static_cast<std::uint64_t>(_mm256_extract_epi32(eight, 0));
  const auto g1 = static_cast<std::uint64_t>(_mm256_extract_epi32(eight, 1));
  const auto g2 = static_cast<std::uint64_t>(_mm256_extract_epi32(eight, 4));
  m.w = (g0 * 100000000 + g1) * 100000000 + g2;
  m.q = dots ? point + 1 - len : 0;
  p += len;
  return true;
}

/// The short path: the end of the number with its value in `out`, or nullptr when the input is not
/// of the short shape (nothing is then claimed about it).
__attribute__((noinline)) POSENC_DECIMAL_TARGET const char* short_path(const char* first, const char* last, double& out) {
  const char* p = first;
  const bool neg = p < last && *p == '-';
  p += neg;
  Mantissa m;
  if (!mantissa(p, last, m)) return nullptr;
  if (p < last && (*p == 'e' || *p == 'E')) {
    const char* e = p + 1;
    const bool eneg = e < last && *e == '-';
    e += (e < last && (*e == '-' || *e == '+'));
    int x = 0, n = 0;
    for (; e < last && static_cast<unsigned>(*e - '0') < 10; ++e, ++n) {
      if (n == 4) return nullptr;
      x = x * 10 + (*e - '0');
    }
    if (n == 0) return nullptr;
    m.q += eneg ? -x : x;
    p = e;
  }
  if (m.w == 0) {
    out = neg ? -0.0 : 0.0;
    return p;
  }
  if (m.q < -kMaxPow5 || m.q > kMaxPow5) return nullptr;
  // The sign by its bit (a branch on it would be a coin toss on real data).
  out = std::bit_cast<double>(std::bit_cast<std::uint64_t>(scale(m.w, m.q)) | (static_cast<std::uint64_t>(neg) << 63));
  return p;
}

/// read_delimited's loop: one short-path call per field.
POSENC_DECIMAL_TARGET std::size_t delimited(const char* p, const char* last, char delim, std::size_t n, double* out,
                                            std::size_t stride, const char*& next) {
  std::size_t c = 0;
  for (; c < n; ++c) {
    double v;
    const char* e = short_path(p, last, v);
    if (e == nullptr || (c + 1 < n ? e == last || *e != delim : e != last)) break;
    out[c * stride] = v;
    p = e + (c + 1 < n);
  }
  next = p;
  return c;
}

#endif  // POSENC_DECIMAL_SHORT_PATH

}  // namespace

#if POSENC_DECIMAL_SHORT_PATH
bool decimal_short_path_enabled() {
  // (Every CPU with AVX-512 VBMI also has BMI1 and LZCNT, which the target options enable too.)
  static const bool enabled = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                              __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vbmi") &&
                              __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("popcnt");
  return enabled;
}
const char* decimal_short_path(const char* first, const char* last, double& out) {
  return decimal_short_path_enabled() ? short_path(first, last, out) : nullptr;
}
std::size_t read_delimited(const char* first, const char* last, char delim, std::size_t n, double* out,
                           std::size_t stride, const char*& next) {
  if (!decimal_short_path_enabled()) {
    next = first;
    return 0;
  }
  return delimited(first, last, delim, n, out, stride, next);
}
#else
bool decimal_short_path_enabled() { return false; }
const char* decimal_short_path(const char*, const char*, double&) { return nullptr; }
std::size_t read_delimited(const char* first, const char*, char, std::size_t, double*, std::size_t,
                           const char*& next) {
  next = first;
  return 0;
}
#endif

std::from_chars_result from_chars_double(const char* first, const char* last, double& out) {
  if (const char* end = decimal_short_path(first, last, out)) return {end, std::errc()};
  return std::from_chars(first, last, out);
}

}  // namespace posenc::detail
