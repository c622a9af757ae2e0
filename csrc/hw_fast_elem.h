/* hw_fast_elem.h -- the per-element arithmetic of the branch-light encoders:
 * hw_encode_fast.c (plain arrays) and hw_mx_fast.c (MX blocks).  See
 * hw_encode_fast.c for the method.  Never exposed to cffi. */
#ifndef HW_FAST_ELEM_H
#define HW_FAST_ELEM_H

#include "hw_internal.h"

#if defined(__GNUC__)
#define HWI_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define HWI_ALWAYS_INLINE inline
#endif

#ifdef HWI_SIMD
#define HWI_HAVE_AVX2_CLONE 1
#endif

/* input kinds of the kernels */
enum { KIND_F32 = 0, KIND_F64 = 1, KIND_F32_FLAT = 2, KIND_F32_FLAT_S = 3 };

/* per-call constants of the fast kernel; 64-bit fields for float64 input
 * (the float32 kernel narrows them to 32-bit lanes, which hold every
 * intermediate value there: codes < 2^31, shifts <= 25) */
typedef struct fast_params {
    uint64_t maxc;      /* largest finite code magnitude                   */
    uint64_t sign_bit;  /* sign bit of the code (0 if unsigned)            */
    int64_t tb;         /* t = max(ex, 1) + tb                             */
    int64_t s0;         /* W - M: the shift for a normal result            */
    int32_t M;          /* mantissa bits of the target                     */
    int32_t negzero;    /* target has -0                                   */
    int32_t is_signed;  /* target has a sign bit                           */
    int32_t tiny_lim;   /* t < tiny_lim (with inexact) raises UNDERFLOW    */
    int32_t after;      /* tininess after rounding: t == -1 is undecided   */
    int32_t ovf_bad;    /* overflow must go to the general path (ERROR)    */
    int32_t sub_bad;    /* bias == input bias: input subnormals lie below  */
                        /* emin but get t = 0; the general path takes them */
    uint64_t ovf_pos;   /* code of a positive finite overflow              */
    uint64_t ovf_neg;   /* code of a negative finite overflow              */
    uint64_t nan_code;  /* KIND_F32_FLAT_S: the format's NaN code          */
    uint64_t one;       /* 1; GCC 12 vectorises "one << s" with 64-bit     */
                        /* lanes, but not the constant "1ull << s"         */
} fast_params;

/* The kept significand K = round(sig / 2^s) in each mode, with mask = 2^s - 1
 * and sign in {0, 1}, written with adds and shifts only (no comparisons), so
 * that it vectorises: adding mask/2 + lsb before the shift is round-half-even,
 * mask/2 + 1 half-away, mask (for the right sign) toward +-Inf; round to odd
 * ORs "any bit dropped" = (rem + mask) >> s into the LSB. */
#define FAST_ROUND(mode, K, sig, s, mask, sign)                                      \
    switch (mode) {                                                                  \
    case HW_ROUND_RNE: K = (sig + (mask >> 1) + ((sig >> s) & 1)) >> s; break;       \
    case HW_ROUND_RNA: K = (sig + (mask >> 1) + 1) >> s; break;                      \
    case HW_ROUND_RUP: K = (sig + (mask & (sign - 1))) >> s; break;                  \
    case HW_ROUND_RDN: K = (sig + (mask & (0 - sign))) >> s; break;                  \
    case HW_ROUND_RTO: K = (sig >> s) | (((sig & mask) + mask) >> s); break;         \
    default: K = sig >> s; break; /* RTZ */                                          \
    }

/* One float32 element (bits u), 32-bit arithmetic only: every quantity is
 * below 2^31, so "x < y" is the top bit of x - y.  Returns the code; sets
 * *bad (1: redo with the general path), *nz (inexact, 0 when bad) and *t.
 * tb: p->tb for a plain array; an MX block passes p->tb - shared_exp (the
 * value divided by 2^shared_exp only moves t).  sub_t (compile-time): an
 * input subnormal is bad when its t >= 0 (there its missing hidden bit would
 * be misread, or its tininess missed) instead of when p->sub_bad is set;
 * with tb = p->tb both rules agree, since t = 1 + tb >= 0 iff bias = 127. */
static HWI_ALWAYS_INLINE uint32_t fast_one32(uint32_t u, const fast_params *p, int32_t tb,
                                             const int mode, const int sub_t,
                                             uint32_t *bad, uint32_t *nz, uint32_t *ov,
                                             int32_t *t_out)
{
    const uint32_t maxc = (uint32_t)p->maxc, sbit = (uint32_t)p->sign_bit;
    const uint32_t opos = (uint32_t)p->ovf_pos, oneg = (uint32_t)p->ovf_neg;
    const uint32_t ovf_bad = p->ovf_bad ? 1u : 0u, sub_bad = p->sub_bad ? 1u : 0u;
    const int32_t s0 = (int32_t)p->s0;
    const uint32_t unsig = p->is_signed ? 0u : 1u, negzero = p->negzero ? 1u : 0u;
    uint32_t a = u & 0x7FFFFFFFu, sign = u >> 31;
    uint32_t ex = a >> 23;
    uint32_t exnz = (ex + 0xFFu) >> 8; /* ex != 0 */
    uint32_t sig = (a & 0x7FFFFFu) | (exnz << 23);
    int32_t t = (int32_t)ex + (int32_t)(1u - exnz) + tb;
    int32_t eb = t > 0 ? t : 0;
    int32_t s = s0 + eb - t;
    uint32_t mask, K, code, b, z, o, om, nonzero;
    s = s < 25 ? s : 25; /* sig < 2^24: any s >= 25 rounds like 25 */
    mask = (1u << s) - 1;
    FAST_ROUND(mode, K, sig, s, mask, sign)
    /* sub_t: a zero input may have t > 0 (an MX block of tiny values): keep
     * its exponent field 0 (input subnormals with t >= 0 are bad anyway) */
    code = (((uint32_t)eb & (sub_t ? 0u - exnz : ~0u)) << p->M) + K;
    o = (maxc - code) >> 31; /* code > maxc: overflow (for finite input) */
    /* Inf/NaN (a >= 0x7F800000), overflow under ERROR, negative into unsigned */
    b = ((a + 0x00800000u) >> 31) | (o & ovf_bad) |
        (((0u - (sign & unsig)) & (a + 0x7FFFFFFFu)) >> 31) |
        ((sub_t ? ((uint32_t)t >> 31) ^ 1u : sub_bad) & (1u - exnz) & ((sig + 0x7FFFFFFFu) >> 31));
    z = (((sig & mask) + mask) >> s) & (b ^ 1u);
    *bad = b;
    *nz = z;
    *ov = o & (b ^ 1u);
    *t_out = t;
    /* sign bit unless the result is zero in a format without -0 */
    nonzero = ((code + 0x7FFFFFFFu) >> 31) | negzero;
    code |= sbit & (0u - (sign & nonzero));
    om = 0u - o;
    return (code & ~om) | ((opos ^ ((opos ^ oneg) & (0u - sign))) & om);
}

/* fast_one32 when the target's bias equals float32's (bfloat16, tf32...):
 * then no result is subnormal (input subnormals go to the general path), the
 * shift is s0 for every element and the code is the rounded a >> s0 itself
 * (exponent and mantissa fields line up).  Same outputs as fast_one32.
 *
 * KIND_F32_FLAT_S, the bfloat16 case: IEEE specials with Inf and NaN, signed,
 * overflow 'special'.  Then the general path maps +-Inf to +-Inf and NaN to
 * the NaN code, raising no flag: the rounded pattern of an Inf input is
 * already the Inf code, a NaN input takes p->nan_code.  A finite overflow
 * rounds (in the modes that round away from zero: the others cannot leave
 * the finite range from a float32 below 2^128) to exactly the Inf pattern,
 * which is what 'special' gives.  The other tests drop out at compile time. */
static HWI_ALWAYS_INLINE uint32_t fast_flat32(uint32_t u, const fast_params *p, const int mode,
                                              const int kind, uint32_t *bad, uint32_t *nz,
                                              uint32_t *ov, int32_t *t_out)
{
    const int simple = kind == KIND_F32_FLAT_S;
    const uint32_t maxc = (uint32_t)p->maxc, sbit = (uint32_t)p->sign_bit;
    const uint32_t opos = (uint32_t)p->ovf_pos, oneg = (uint32_t)p->ovf_neg;
    const uint32_t ovf_bad = p->ovf_bad ? 1u : 0u, nanc = (uint32_t)p->nan_code;
    const uint32_t unsig = p->is_signed ? 0u : 1u, negzero = p->negzero ? 1u : 0u;
    const uint32_t s = (uint32_t)p->s0, mask = (1u << s) - 1;
    uint32_t a = u & 0x7FFFFFFFu, sign = u >> 31;
    uint32_t K, code, b, z, o, om, nonzero, fin = 1u, nan = 0u;
    FAST_ROUND(mode, K, a, s, mask, sign) /* a + mask < 2^32 */
    code = K;
    /* input subnormal: a - 1 < 0x7FFFFF */
    b = (((a - 1u) - 0x007FFFFFu) >> 31) & (((a - 1u) >> 31) ^ 1u);
    if (simple) {
        fin = ((a + 0x00800000u) >> 31) ^ 1u; /* not Inf / NaN */
        nan = (0x7F800000u - a) >> 31;        /* a > 0x7F800000 */
    } else {
        /* Inf / NaN, negative into unsigned */
        b |= ((a + 0x00800000u) >> 31) | (((0u - (sign & unsig)) & (a + 0x7FFFFFFFu)) >> 31);
    }
    o = ((maxc - code) >> 31) & fin;
    if (!simple) b |= o & ovf_bad;
    z = (((a & mask) + mask) >> s) & (b ^ 1u) & fin;
    *bad = b;
    *nz = z;
    *ov = o & (b ^ 1u);
    *t_out = 0; /* never tiny */
    nonzero = simple ? 1u : ((code + 0x7FFFFFFFu) >> 31) | negzero;
    code |= sbit & (0u - (sign & nonzero));
    if (simple) /* overflow 'special': the rounded pattern is already +-Inf */
        return code ^ ((code ^ nanc) & (0u - nan));
    om = 0u - o;
    return (code & ~om) | ((opos ^ ((opos ^ oneg) & (0u - sign))) & om);
}

/* One float64 element (bits u), 64-bit arithmetic (quantities below 2^63);
 * tb and sub_t as in fast_one32. */
static HWI_ALWAYS_INLINE uint64_t fast_one64(uint64_t u, const fast_params *p, int64_t tb,
                                             const int mode, const int sub_t,
                                             uint64_t *bad, uint64_t *nz, uint64_t *ov,
                                             int64_t *t_out)
{
    const uint64_t ovf_bad = p->ovf_bad ? 1u : 0u, sub_bad = p->sub_bad ? 1u : 0u;
    const uint64_t unsig = p->is_signed ? 0u : 1u, negzero = p->negzero ? 1u : 0u;
    uint64_t a = u & 0x7FFFFFFFFFFFFFFFull, sign = u >> 63;
    uint64_t ex = a >> 52;
    uint64_t exnz = (ex + 0x7FFu) >> 11; /* ex != 0 */
    uint64_t sig = (a & 0xFFFFFFFFFFFFFull) | (exnz << 52);
    /* t, eb = max(t, 0) and s = min(s0 + eb - t, 54) in unsigned arithmetic
     * (|t| < 2^13), without 64-bit min/max, which AVX2 lacks */
    uint64_t tu = ex + (1u - exnz) + (uint64_t)tb;
    uint64_t tneg = 0u - (tu >> 63);
    uint64_t eb = tu & ~tneg;
    uint64_t s = (uint64_t)p->s0 + (eb - tu);
    uint64_t d = s - 54u;
    int64_t t = (int64_t)tu;
    uint64_t mask, K, code, b, z, o, om, nonzero;
    s = 54u + (d & (0u - (d >> 63))); /* sig < 2^53: any s >= 54 rounds like 54 */
    mask = (p->one << s) - 1;
    FAST_ROUND(mode, K, sig, s, mask, sign)
    code = ((eb & (sub_t ? 0u - exnz : ~0ull)) << p->M) + K; /* see fast_one32 */
    o = (p->maxc - code) >> 63;
    b = ((a + 0x0010000000000000ull) >> 63) | (o & ovf_bad) |
        (((0u - (sign & unsig)) & (a + 0x7FFFFFFFFFFFFFFFull)) >> 63) |
        ((sub_t ? (tu >> 63) ^ 1u : sub_bad) & (1u - exnz) &
         ((sig + 0x7FFFFFFFFFFFFFFFull) >> 63));
    z = (((sig & mask) + mask) >> s) & (b ^ 1u);
    *bad = b;
    *nz = z;
    *ov = o & (b ^ 1u);
    *t_out = t;
    nonzero = ((code + 0x7FFFFFFFFFFFFFFFull) >> 63) | negzero;
    code |= p->sign_bit & (0u - (sign & nonzero));
    om = 0u - o;
    return (code & ~om) | ((p->ovf_pos ^ ((p->ovf_pos ^ p->ovf_neg) & (0u - sign))) & om);
}

/* what the first pass learns about a block (or chunk) */
typedef struct fast_acc {
    int bad;  /* some element must be redone by the general path           */
    int nz;   /* some (good) element is inexact                            */
    int uf;   /* some (good) element is inexact and surely tiny            */
    int edge; /* some (good) element is inexact with t == -1               */
    int ovf;  /* some (good) element overflowed                             */
} fast_acc;

#endif
