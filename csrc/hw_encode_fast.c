/* hw_encode_fast.c -- hw_encode_fast(): a branch-light encoder for the common
 * case, bit-identical to hw_encode_general().
 *
 * Scope: float32 / float64 input, a FloatFormat with subnormals (not e8m0)
 * and fewer mantissa bits than the input, bias <= the input's, rounding RNE
 * RNA RTZ RUP RDN RTO, any overflow policy and tininess, no FTZ / DAZ, no
 * per-element flags.
 *
 * Idea.  For a finite input with biased exponent ex (ex1 = max(ex, 1)) and
 * significand sig (hidden bit included when ex > 0), let
 *     t = E - emin = ex1 - (in_bias + 1) + bias,    eb = max(t, 0).
 * The quantum of the result is 2^(E - M) for t >= 0 and 2^(emin - M) below, so
 * the kept significand is K = round(sig >> s) with s = (W - M) + eb - t
 * (W: input mantissa width), and the code magnitude is (eb << M) + K: a carry
 * of K into the next binade (or from the subnormal into the normal range)
 * lands on the right code by itself.  A code above max_code is an overflow:
 * it takes the code hwi_overflow_code() gave at set-up for its sign (flags
 * OVERFLOW | INEXACT).  "Bad" elements are redone by hw_encode_general() one
 * at a time: NaN / Inf inputs (except in the bfloat16 kernel, see
 * fast_flat32), overflow under 'error', negative inputs into an unsigned
 * format, and input subnormals when the target's bias equals the input's.
 * Flags: INEXACT when bits were dropped; UNDERFLOW when also tiny (t < 0
 * before rounding; after rounding t < -1 is tiny, and t == -1 is asked of
 * the general path until some element has raised UNDERFLOW).
 *
 * Everything is written with adds, shifts and masks, without data-dependent
 * branches, so that GCC vectorises the loop (AVX2 where the CPU has it).  The
 * array is processed in blocks: the loop writes every code and ORs the
 * block's summary; only a block with bad elements (or an undecided tininess
 * case) is run again with per-element marks and then fixed up.  The
 * rounding-mode, code-size and input-kind switches are resolved outside the
 * loops: each (kind, size, mode) gets its own inlined copy of the loop.
 */
#include "hw_internal.h"

#if defined(__GNUC__)
#define HWI_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define HWI_ALWAYS_INLINE inline
#endif

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define HWI_HAVE_AVX2_CLONE 1
#endif

enum { FAST_BLOCK = 512 };

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

/* per-element marks of a block (bit 0: bad, bit 1: inexact with t == -1),
 * full width: narrowing them to bytes would slow the SIMD loop */
typedef union fast_marks {
    uint32_t m32[FAST_BLOCK]; /* float32 kernels */
    uint64_t m64[FAST_BLOCK]; /* float64 kernel  */
} fast_marks;

/* what the first pass learns about a block */
typedef struct fast_acc {
    int bad;  /* some element must be redone by the general path           */
    int nz;   /* some (good) element is inexact                            */
    int uf;   /* some (good) element is inexact and surely tiny            */
    int edge; /* some (good) element is inexact with t == -1               */
    int ovf;  /* some (good) element overflowed                             */
} fast_acc;

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
 * *bad (1: redo with the general path), *nz (inexact, 0 when bad) and *t. */
static HWI_ALWAYS_INLINE uint32_t fast_one32(uint32_t u, const fast_params *p, const int mode,
                                             uint32_t *bad, uint32_t *nz, uint32_t *ov,
                                             int32_t *t_out)
{
    const uint32_t maxc = (uint32_t)p->maxc, sbit = (uint32_t)p->sign_bit;
    const uint32_t opos = (uint32_t)p->ovf_pos, oneg = (uint32_t)p->ovf_neg;
    const uint32_t ovf_bad = p->ovf_bad ? 1u : 0u, sub_bad = p->sub_bad ? 1u : 0u;
    const int32_t tb = (int32_t)p->tb, s0 = (int32_t)p->s0;
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
    code = ((uint32_t)eb << p->M) + K;
    o = (maxc - code) >> 31; /* code > maxc: overflow (for finite input) */
    /* Inf/NaN (a >= 0x7F800000), overflow under ERROR, negative into unsigned */
    b = ((a + 0x00800000u) >> 31) | (o & ovf_bad) |
        (((0u - (sign & unsig)) & (a + 0x7FFFFFFFu)) >> 31) |
        (sub_bad & (1u - exnz) & ((sig + 0x7FFFFFFFu) >> 31));
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

/* One float64 element (bits u), 64-bit arithmetic (quantities below 2^63). */
static HWI_ALWAYS_INLINE uint64_t fast_one64(uint64_t u, const fast_params *p, const int mode,
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
    uint64_t tu = ex + (1u - exnz) + (uint64_t)p->tb;
    uint64_t tneg = 0u - (tu >> 63);
    uint64_t eb = tu & ~tneg;
    uint64_t s = (uint64_t)p->s0 + (eb - tu);
    uint64_t d = s - 54u;
    int64_t t = (int64_t)tu;
    uint64_t mask, K, code, b, z, o, om, nonzero;
    s = 54u + (d & (0u - (d >> 63))); /* sig < 2^53: any s >= 54 rounds like 54 */
    mask = (p->one << s) - 1;
    FAST_ROUND(mode, K, sig, s, mask, sign)
    code = ((uint64_t)eb << p->M) + K;
    o = (p->maxc - code) >> 63;
    b = ((a + 0x0010000000000000ull) >> 63) | (o & ovf_bad) |
        (((0u - (sign & unsig)) & (a + 0x7FFFFFFFFFFFFFFFull)) >> 63) |
        (sub_bad & (1u - exnz) & ((sig + 0x7FFFFFFFFFFFFFFFull) >> 63));
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

/* First pass over [i0, i1): write every code, OR the block's summary.  Free of
 * data-dependent branches so that the compiler can vectorise it. */
static HWI_ALWAYS_INLINE fast_acc first_pass(void *out, const void *in, size_t i0, size_t i1,
                                             const fast_params *p, const int mode,
                                             const int cs, const int kind, const int marks,
                                             fast_marks *mk)
{
    fast_acc r;
    size_t i;
    const fast_params q = *p; /* private copy: stores to out cannot alias it */
    if (kind != KIND_F64) {
        uint32_t bad = 0, nz = 0, uf = 0, edge = 0, ovf = 0;
        const int32_t lim = q.tiny_lim;
        for (i = i0; i < i1; i++) {
            uint32_t u, b, z, c, v, e;
            int32_t t;
            u = hwi_f32_bits(((const float *)in)[i]);
            if (kind == KIND_F32_FLAT || kind == KIND_F32_FLAT_S)
                c = fast_flat32(u, &q, mode, kind, &b, &z, &v, &t);
            else c = fast_one32(u, &q, mode, &b, &z, &v, &t);
            if (cs == 1) ((uint8_t *)out)[i] = (uint8_t)c;
            else if (cs == 2) ((uint16_t *)out)[i] = (uint16_t)c;
            else ((uint32_t *)out)[i] = c;
            bad |= b; nz |= z; ovf |= v;
            e = 0;
            if (kind == KIND_F32) { /* the flat kernels never give tiny results */
                e = z & ((uint32_t)t >> 31) & ~((uint32_t)(t + 1) >> 31); /* t == -1 */
                edge |= e;
                uf |= z & ((uint32_t)(t - lim) >> 31);
            }
            if (marks) mk->m32[i - i0] = b | (e << 1);
        }
        r.bad = bad != 0; r.nz = nz != 0; r.ovf = ovf != 0;
        r.uf = uf != 0; r.edge = edge != 0;
    } else {
        uint64_t bad = 0, nz = 0, uf = 0, edge = 0, ovf = 0;
        const int64_t lim = q.tiny_lim;
        for (i = i0; i < i1; i++) {
            uint64_t u, b, z, c, v, e;
            int64_t t;
            u = hwi_f64_bits(((const double *)in)[i]);
            c = fast_one64(u, &q, mode, &b, &z, &v, &t);
            if (cs == 1) ((uint8_t *)out)[i] = (uint8_t)c;
            else if (cs == 2) ((uint16_t *)out)[i] = (uint16_t)c;
            else if (cs == 4) ((uint32_t *)out)[i] = (uint32_t)c;
            else ((uint64_t *)out)[i] = c;
            e = z & ((uint64_t)t >> 63) & ~((uint64_t)(t + 1) >> 63); /* t == -1 */
            bad |= b; nz |= z; ovf |= v; edge |= e;
            uf |= z & ((uint64_t)(t - lim) >> 63);
            if (marks) mk->m64[i - i0] = b | (e << 1);
        }
        r.bad = bad != 0; r.nz = nz != 0; r.ovf = ovf != 0;
        r.uf = uf != 0; r.edge = edge != 0;
    }
    return r;
}

/* Redo element i with the general path; returns its status, ORs its flags. */
static int general_one(void *out, int cs, const void *in, int is64, size_t i,
                       const hw_format *f, const hw_opts *o, uint32_t *flags)
{
    hw_result r;
    int st = hw_encode_general((char *)out + i * (size_t)cs, cs,
                               (const char *)in + i * (is64 ? 8u : 4u),
                               is64 ? HW_IN_F64 : HW_IN_F32, 1, f, o, NULL, NULL, &r);
    *flags |= r.flags;
    return st;
}

/* The second pass over block [i0, i1), guided by the first pass's marks (bit 0:
 * bad, bit 1: inexact with t == -1): redo those elements with the general path
 * (the t == -1 ones only while no element has raised UNDERFLOW).  *flags holds
 * the OR over everything before i0 plus the block's first pass. */
static int fixup_block(void *out, int cs, const void *in, int is64, size_t i0, size_t i1,
                       const hw_format *f, const hw_opts *o, const fast_marks *mk,
                       uint32_t before, uint32_t *flags, hw_result *res)
{
    size_t j, m = i1 - i0;
    for (j = 0; j < m; j++) {
        size_t i = i0 + j;
        int st, m = is64 ? (int)mk->m64[j] : (int)mk->m32[j];
        if (!(m & 1) && !((m & 2) && !(*flags & HW_FLAG_UNDERFLOW))) continue;
        st = general_one(out, cs, in, is64, i, f, o, flags);
        if (st != HW_OK) {
            /* flags of the elements before i only, as the general loop reports */
            hw_result r;
            r.flags = 0;
            if (i > i0)
                hw_encode_general((char *)out + i0 * (size_t)cs, cs,
                                  (const char *)in + i0 * (is64 ? 8u : 4u),
                                  is64 ? HW_IN_F64 : HW_IN_F32, i - i0, f, o, NULL, NULL, &r);
            res->flags = before | r.flags;
            res->err_index = (int64_t)i;
            return st;
        }
    }
    return HW_OK;
}

static HWI_ALWAYS_INLINE int run_blocks(void *out, const void *in, size_t n, const hw_format *f,
                                        const hw_opts *o, const fast_params *p,
                                        const int mode, const int cs, const int kind,
                                        hw_result *res)
{
    const int is64 = kind == KIND_F64;
    size_t i0;
    uint32_t flags = 0;
    fast_marks mk;
    for (i0 = 0; i0 < n; i0 += FAST_BLOCK) {
        size_t i1 = n - i0 < FAST_BLOCK ? n : i0 + FAST_BLOCK;
        uint32_t before = flags;
        fast_acc acc = first_pass(out, in, i0, i1, p, mode, cs, kind, 0, &mk);
        flags |= (acc.nz ? HW_FLAG_INEXACT : 0u) | (acc.uf ? HW_FLAG_UNDERFLOW : 0u) |
                 (acc.ovf ? HW_FLAG_OVERFLOW | HW_FLAG_INEXACT : 0u);
        if (acc.bad || (acc.edge && p->after && !(flags & HW_FLAG_UNDERFLOW))) {
            int st;
            /* again, now marking the elements (cheap for a small block) */
            first_pass(out, in, i0, i1, p, mode, cs, kind, 1, &mk);
            st = fixup_block(out, cs, in, is64, i0, i1, f, o, &mk, before, &flags, res);
            if (st != HW_OK) return st;
        }
    }
    res->flags = flags;
    return HW_OK;
}

/* one instance per rounding mode for a given (size, kind) */
static HWI_ALWAYS_INLINE int run_modes(void *out, const void *in, size_t n, const hw_format *f,
                                       const hw_opts *o, const fast_params *p, const int cs,
                                       const int kind, hw_result *res)
{
    switch (o->rounding) {
    case HW_ROUND_RNE: return run_blocks(out, in, n, f, o, p, HW_ROUND_RNE, cs, kind, res);
    case HW_ROUND_RNA: return run_blocks(out, in, n, f, o, p, HW_ROUND_RNA, cs, kind, res);
    case HW_ROUND_RTZ: return run_blocks(out, in, n, f, o, p, HW_ROUND_RTZ, cs, kind, res);
    case HW_ROUND_RUP: return run_blocks(out, in, n, f, o, p, HW_ROUND_RUP, cs, kind, res);
    case HW_ROUND_RDN: return run_blocks(out, in, n, f, o, p, HW_ROUND_RDN, cs, kind, res);
    default: return run_blocks(out, in, n, f, o, p, HW_ROUND_RTO, cs, kind, res);
    }
}

/* One function per (input kind, code size) and instruction set: GCC 12
 * allocates registers worse in one function holding every instance of the
 * loop, so each instance set gets its own function.  The AVX2 copies are the
 * same C compiled for AVX2 (integer SIMD only: both give the same bits). */
typedef int (*fast_fn)(void *out, const void *in, size_t n, const hw_format *f,
                       const hw_opts *o, const fast_params *p, hw_result *res);

#define FAST_ARGS void *out, const void *in, size_t n, const hw_format *f, const hw_opts *o, \
                  const fast_params *p, hw_result *res
static int f32_1(FAST_ARGS) { return run_modes(out, in, n, f, o, p, 1, KIND_F32, res); }
static int f32_2(FAST_ARGS) { return run_modes(out, in, n, f, o, p, 2, KIND_F32, res); }
static int f32_4(FAST_ARGS) { return run_modes(out, in, n, f, o, p, 4, KIND_F32, res); }
static int flat_1(FAST_ARGS) { return run_modes(out, in, n, f, o, p, 1, KIND_F32_FLAT, res); }
static int flat_2(FAST_ARGS) { return run_modes(out, in, n, f, o, p, 2, KIND_F32_FLAT, res); }
static int flat_4(FAST_ARGS) { return run_modes(out, in, n, f, o, p, 4, KIND_F32_FLAT, res); }
static int flats_2(FAST_ARGS) { return run_modes(out, in, n, f, o, p, 2, KIND_F32_FLAT_S, res); }
static int f64_1(FAST_ARGS) { return run_modes(out, in, n, f, o, p, 1, KIND_F64, res); }
static int f64_2(FAST_ARGS) { return run_modes(out, in, n, f, o, p, 2, KIND_F64, res); }
static int f64_4(FAST_ARGS) { return run_modes(out, in, n, f, o, p, 4, KIND_F64, res); }
static int f64_8(FAST_ARGS) { return run_modes(out, in, n, f, o, p, 8, KIND_F64, res); }
#ifdef HWI_HAVE_AVX2_CLONE
#define HWI_AVX2 __attribute__((target("avx2")))
HWI_AVX2 static int f32_1x(FAST_ARGS) { return run_modes(out, in, n, f, o, p, 1, KIND_F32, res); }
HWI_AVX2 static int f32_2x(FAST_ARGS) { return run_modes(out, in, n, f, o, p, 2, KIND_F32, res); }
HWI_AVX2 static int f32_4x(FAST_ARGS) { return run_modes(out, in, n, f, o, p, 4, KIND_F32, res); }
HWI_AVX2 static int flat_1x(FAST_ARGS)
{
    return run_modes(out, in, n, f, o, p, 1, KIND_F32_FLAT, res);
}
HWI_AVX2 static int flat_2x(FAST_ARGS)
{
    return run_modes(out, in, n, f, o, p, 2, KIND_F32_FLAT, res);
}
HWI_AVX2 static int flat_4x(FAST_ARGS)
{
    return run_modes(out, in, n, f, o, p, 4, KIND_F32_FLAT, res);
}
HWI_AVX2 static int flats_2x(FAST_ARGS)
{
    return run_modes(out, in, n, f, o, p, 2, KIND_F32_FLAT_S, res);
}
HWI_AVX2 static int f64_1x(FAST_ARGS) { return run_modes(out, in, n, f, o, p, 1, KIND_F64, res); }
HWI_AVX2 static int f64_2x(FAST_ARGS) { return run_modes(out, in, n, f, o, p, 2, KIND_F64, res); }
HWI_AVX2 static int f64_4x(FAST_ARGS) { return run_modes(out, in, n, f, o, p, 4, KIND_F64, res); }
HWI_AVX2 static int f64_8x(FAST_ARGS) { return run_modes(out, in, n, f, o, p, 8, KIND_F64, res); }
#endif
#undef FAST_ARGS

/* The kernel for this call: kind (float32, float32 at bias 127, float64),
 * code size, and AVX2 when the CPU has it. */
static fast_fn pick_kernel(int is64, int flat, int cs)
{
#ifdef HWI_HAVE_AVX2_CLONE
    if ((__builtin_cpu_init(), __builtin_cpu_supports("avx2"))) {
        if (is64) return cs == 1 ? f64_1x : cs == 2 ? f64_2x : cs == 4 ? f64_4x : f64_8x;
        if (flat == 2 && cs == 2) return flats_2x;
        if (flat) return cs == 1 ? flat_1x : cs == 2 ? flat_2x : flat_4x;
        return cs == 1 ? f32_1x : cs == 2 ? f32_2x : f32_4x;
    }
#endif
    if (is64) return cs == 1 ? f64_1 : cs == 2 ? f64_2 : cs == 4 ? f64_4 : f64_8;
    if (flat == 2 && cs == 2) return flats_2;
    if (flat) return cs == 1 ? flat_1 : cs == 2 ? flat_2 : flat_4;
    return cs == 1 ? f32_1 : cs == 2 ? f32_2 : f32_4;
}

/* Whether the fast kernel covers this call (else hw_encode_general does). */
static int fast_eligible(int code_size, int in_kind, size_t n, const void *out,
                         const void *in, const hw_format *f, const hw_opts *o,
                         const uint8_t *elem_flags, const hw_result *res)
{
    int W = in_kind == HW_IN_F64 ? 52 : 23;
    int32_t in_bias = in_kind == HW_IN_F64 ? 1023 : 127;
    if (!f || !o || !res || elem_flags) return 0;
    if (in_kind != HW_IN_F64 && in_kind != HW_IN_F32) return 0;
    if (!hwi_valid_code_size(code_size) || code_size * 8 < f->bits) return 0;
    if (in_kind == HW_IN_F32 && code_size == 8) return 0;
    if (n && (!out || !in)) return 0;
    if (o->rounding < HW_ROUND_RNE || o->rounding > HW_ROUND_RTO) return 0;
    if (o->overflow < HW_OVF_SATURATE || o->overflow > HW_OVF_ERROR) return 0;
    if (o->overflow == HW_OVF_SPECIAL && !f->has_inf && !f->has_nan) return 0;
    if (o->tininess != HW_TININESS_AFTER && o->tininess != HW_TININESS_BEFORE) return 0;
    if (o->ftz || o->daz) return 0;
    if (f->specials == HW_SPECIALS_E8M0 || !f->subnormals || !f->has_zero) return 0;
    if (f->man_bits >= W) return 0;
    /* input subnormals are read as normals with a leading zero: the target's
     * emin must not lie below the input's */
    if (f->bias > in_bias) return 0;
    if (f->emin != 1 - f->bias) return 0;
    return 1;
}

int hw_encode_fast(void *out, int code_size, const void *in, int in_kind, size_t n,
                   const hw_format *f, const hw_opts *o, const uint32_t *rand,
                   uint8_t *elem_flags, hw_result *res)
{
    fast_params p;
    int is64 = in_kind == HW_IN_F64, flat;
    if (res) { res->flags = 0; res->err_index = -1; }
    if (!fast_eligible(code_size, in_kind, n, out, in, f, o, elem_flags, res)) return HW_E_MODE;
    p.maxc = f->max_code;
    p.sign_bit = f->sign_bit;
    p.tb = (int64_t)f->bias - (is64 ? 1024 : 128);
    p.s0 = (is64 ? 52 : 23) - f->man_bits;
    p.M = f->man_bits;
    p.negzero = f->has_negzero;
    p.is_signed = f->is_signed;
    p.tiny_lim = o->tininess == HW_TININESS_BEFORE ? 0 : -1;
    p.after = o->tininess == HW_TININESS_AFTER;
    p.sub_bad = f->bias == (is64 ? 1023 : 127);
    p.one = 1;
    p.nan_code = f->nan_code;
    {
        /* the general routine decides what an overflow gives, once per sign */
        uint32_t fl = 0;
        p.ovf_pos = hwi_overflow_code(0, f, o, &fl);
        p.ovf_neg = hwi_overflow_code(1, f, o, &fl);
        p.ovf_bad = (fl & HWI_ERR_MASK) != 0;
    }
    /* flat: 1 bias 127; 2 also the bfloat16 case of fast_flat32 */
    flat = !is64 && p.sub_bad;
    if (flat && f->specials == HW_SPECIALS_IEEE && f->has_inf && f->has_nan && f->is_signed &&
        f->exp_bits == 8 && o->overflow == HW_OVF_SPECIAL)
        flat = 2;
    return pick_kernel(is64, flat, code_size)(out, in, n, f, o, &p, res);
}
