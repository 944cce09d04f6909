// 512-bit auto-vectorisation for chosen loops.
//
// GCC 12's tuning for the CPUs of the machines we build on (Intel, "rocketlake"; AMD Zen 4/5)
// keeps auto-vectorised loops at 256 bits even where AVX-512 is enabled. Functions defined between
// POSENC_WIDE_SIMD_BEGIN and POSENC_WIDE_SIMD_END are vectorised 512 bits wide. A loop is
// vectorised with the options of the function it ends up in, so a helper meant to be called from
// elsewhere is marked POSENC_WIDE_KERNEL (kept out of line). No effect without AVX-512 or on clang.
#pragma once

#if defined(__AVX512F__) && defined(__GNUC__) && !defined(__clang__)
#define POSENC_WIDE_SIMD_BEGIN _Pragma("GCC push_options") _Pragma("GCC target(\"prefer-vector-width=512\")")
#define POSENC_WIDE_SIMD_END _Pragma("GCC pop_options")
#define POSENC_WIDE_KERNEL [[gnu::noinline]]
#else
#define POSENC_WIDE_SIMD_BEGIN
#define POSENC_WIDE_SIMD_END
#define POSENC_WIDE_KERNEL
#endif
