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
 * OVERFLOW | INEXACT).  "Bad" elements are redone by hwi_encode_elems() one
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
#include "hw_fast_elem.h"

enum { FAST_BLOCK = 512 };

/* per-element marks of a block (bit 0: bad, bit 1: inexact with t == -1),
 * full width: narrowing them to bytes would slow the SIMD loop */
typedef union fast_marks {
    uint32_t m32[FAST_BLOCK]; /* float32 kernels */
    uint64_t m64[FAST_BLOCK]; /* float64 kernel  */
} fast_marks;

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
            else c = fast_one32(u, &q, (int32_t)q.tb, mode, 0, &b, &z, &v, &t);
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
            c = fast_one64(u, &q, q.tb, mode, 0, &b, &z, &v, &t);
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

/* The bfloat16 case (KIND_F32_FLAT_S, 2-byte codes) in one lean pass: every
 * code as fast_flat32 would give it for a zero, +-Inf or a float32 normal
 * that cannot overflow (|x| <= max finite), with three reductions in place of
 * the per-element tests: the OR of |x|'s bits (INEXACT: any dropped bit), the
 * largest |x| and the smallest |x| - 1 (wrapping, so zeros drop out), where
 * an Inf enters as a zero (its rounded pattern is the Inf code in every mode,
 * and 'special' maps Inf to Inf without a flag).  Returns 1 when every
 * element of [i0, i1) is such a value: the codes are then final and INEXACT
 * is the only flag; else 0 and the caller redoes the block with first_pass.
 * The sign goes in unchanged: u >> s moves bit 31 onto the code's sign bit
 * 8 + M. */
static HWI_ALWAYS_INLINE int flat_s_clean(uint16_t *out, const float *in, size_t i0, size_t i1,
                                          const fast_params *p, const int mode, int *inexact)
{
    const uint32_t s = (uint32_t)p->s0, mask = (1u << s) - 1, sbit = (uint32_t)p->sign_bit;
    const uint32_t lim = (uint32_t)p->maxc << s;
    uint32_t acc_or = 0, acc_max = 0, acc_min = 0xFFFFFFFFu;
    size_t i;
    for (i = i0; i < i1; i++) {
        uint32_t u = hwi_f32_bits(in[i]), a = u & 0x7FFFFFFFu, sign = u >> 31, K, r, m1;
        FAST_ROUND(mode, K, a, s, mask, sign)
        out[i] = (uint16_t)(K | ((u >> s) & sbit));
        r = a & ~(0u - (uint32_t)(a == 0x7F800000u)); /* +-Inf counts as a zero */
        m1 = r - 1u;
        acc_or |= r;
        acc_max = acc_max > r ? acc_max : r;
        acc_min = acc_min < m1 ? acc_min : m1;
    }
    *inexact = (acc_or & mask) != 0;
    return acc_max <= lim && acc_min >= 0x007FFFFFu;
}

/* Redo element i with the general path; returns its status, ORs its flags. */
static int general_one(void *out, int cs, const void *in, int is64, size_t i,
                       const hw_format *f, const hw_opts *o, uint32_t *flags)
{
    hw_result r;
    int st = hwi_encode_elems((char *)out + i * (size_t)cs, cs,
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
                hwi_encode_elems((char *)out + i0 * (size_t)cs, cs,
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
        fast_acc acc;
        if (kind == KIND_F32_FLAT_S && cs == 2) {
            int nz;
            if (flat_s_clean((uint16_t *)out, (const float *)in, i0, i1, p, mode, &nz)) {
                flags |= nz ? HW_FLAG_INEXACT : 0u;
                continue;
            }
        }
        acc = first_pass(out, in, i0, i1, p, mode, cs, kind, 0, &mk);
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
