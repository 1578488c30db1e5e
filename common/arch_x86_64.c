/* The x86-64 fast paths (see arch.h).  CMake compiles this file on x86-64 and
 * arch_generic.c elsewhere.
 *
 * CRC-64/XZ by carry-less multiplication (PCLMULQDQ), four 128-bit lanes folded 64 bytes
 * at a time; the tail goes back to the table code.
 *
 * In the reflected representation a 64-bit word's bit i is the coefficient of x^(63-i),
 * and a carry-less product comes out multiplied by x; so folding a 128-bit lane (lo, hi)
 * forward by D bits multiplies lo by x^(D+64-1) mod P and hi by x^(D-1) mod P. */
#include <immintrin.h>
#include <string.h>

#include "arch.h"

__attribute__((target("pclmul,sse4.1"))) static __m128i fold(__m128i acc, __m128i k, __m128i data)
{
    __m128i lo = _mm_clmulepi64_si128(acc, k, 0x00); /* acc.lo * k.lo */
    __m128i hi = _mm_clmulepi64_si128(acc, k, 0x11); /* acc.hi * k.hi */
    return _mm_xor_si128(_mm_xor_si128(lo, hi), data);
}

__attribute__((target("pclmul,sse4.1"))) static size_t crc64_clmul(uint64_t *raw,
                                                                     const unsigned char *p,
                                                                     size_t len)
{
    size_t blocks = len / 64;
    if (blocks < 2)
        return 0;
    const struct tvp_crc64_fold *k = tvp_crc64_fold_constants();
    __m128i k512 = _mm_set_epi64x((long long)k->x511, (long long)k->x575);
    __m128i k128 = _mm_set_epi64x((long long)k->x127, (long long)k->x191);
    __m128i a[4];
    for (int i = 0; i < 4; i++)
        a[i] = _mm_loadu_si128((const __m128i *)(p + 16 * i));
    a[0] = _mm_xor_si128(a[0], _mm_set_epi64x(0, (long long)*raw)); /* the register goes in front */
    for (size_t b = 1; b < blocks; b++) {
        const unsigned char *q = p + 64 * b;
        for (int i = 0; i < 4; i++)
            a[i] = fold(a[i], k512, _mm_loadu_si128((const __m128i *)(q + 16 * i)));
    }
    __m128i acc = fold(fold(fold(a[0], k128, a[1]), k128, a[2]), k128, a[3]);
    unsigned char last[16];
    _mm_storeu_si128((__m128i *)last, acc);
    *raw = tvp_crc64_table(0, last, 16); /* the 16 bytes left as a message of their own */
    return 64 * blocks;
}

size_t tvp_crc64_fast(uint64_t *raw, const unsigned char *p, size_t len)
{
    return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1")
               ? crc64_clmul(raw, p, len)
               : 0;
}

/* SSE2 is part of x86-64 itself: no check needed. */
const char *tvp_skip_none_of4(const char *p, const char *e, char a, char b, char c, char d)
{
    const __m128i va = _mm_set1_epi8(a), vb = _mm_set1_epi8(b);
    const __m128i vc = _mm_set1_epi8(c), vd = _mm_set1_epi8(d);
    while (e - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(x, vb)),
                                 _mm_or_si128(_mm_cmpeq_epi8(x, vc), _mm_cmpeq_epi8(x, vd)));
        unsigned bits = (unsigned)_mm_movemask_epi8(m);
        if (bits)
            return p + __builtin_ctz(bits);
        p += 16;
    }
    return p;
}
