/* hw_decode_fast.c -- fast decoders, bit-identical to hw_decode_general().
 *
 * hw_decode_lut(): for small formats the caller (hwsim/_native.py) builds a
 * table once with hw_decode over every code and caches it; decoding is then
 * one load and one store per element.  Entries are copied as 8-byte
 * patterns, so the output is hw_decode's bit for bit.  The range check is
 * folded into an OR; the first offending element is located only on error.
 *
 * hw_decode_fast(): builds the float64 bit pattern of every normal code or
 * zero with integer operations (sign << 63 | (e - bias + 1023) << 52 |
 * m << (52 - M)) in a loop free of data-dependent branches, or, for the
 * bfloat16 family, widens the float32 pattern code << (23 - M); subnormal,
 * Inf / NaN (generic loop) and out-of-range codes are marked and redone one
 * by one by hwi_decode_elems(), the general path's element loop (hw_decode.c).  Blocks of DEC_BLOCK elements, AVX2 copy of
 * the loops picked at run time.
 */
#include "hw_internal.h"

#if defined(__GNUC__)
#define HWI_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define HWI_ALWAYS_INLINE inline
#endif

static HWI_ALWAYS_INLINE int lut_loop(double *out, const void *in, const int cs, size_t n,
                                      const double *lut, size_t len)
{
    size_t i;
    int bad = 0;
    for (i = 0; i < n; i++) {
        uint64_t c, v;
        switch (cs) {
        case 1: c = ((const uint8_t *)in)[i]; break;
        case 2: c = ((const uint16_t *)in)[i]; break;
        case 4: c = ((const uint32_t *)in)[i]; break;
        default: c = ((const uint64_t *)in)[i]; break;
        }
        bad |= c >= len;
        c = c < len ? c : 0;
        memcpy(&v, lut + c, 8);
        memcpy(out + i, &v, 8);
    }
    return bad;
}

int hw_decode_lut(double *out, const void *in, int code_size, size_t n,
                  const double *lut, size_t lut_len, hw_result *res)
{
    int bad;
    size_t i;
    if (res) { res->flags = 0; res->err_index = -1; }
    if (!res || !hwi_valid_code_size(code_size) || !lut || lut_len == 0) return HW_E_SIZE;
    if (n && (!out || !in)) return HW_E_SIZE;
    switch (code_size) {
    case 1: bad = lut_loop(out, in, 1, n, lut, lut_len); break;
    case 2: bad = lut_loop(out, in, 2, n, lut, lut_len); break;
    case 4: bad = lut_loop(out, in, 4, n, lut, lut_len); break;
    default: bad = lut_loop(out, in, 8, n, lut, lut_len); break;
    }
    if (!bad) return HW_OK;
    for (i = 0; i < n; i++) {
        if (hwi_load_code(in, code_size, i) >= lut_len) {
            res->err_index = (int64_t)i;
            break;
        }
    }
    return HW_E_CODE;
}

enum { DEC_BLOCK = 1024 };

/* per-element marks of a block (nonzero: redo with the general path), full
 * width so that the SIMD loops need not narrow them */
typedef union dec_marks {
    uint32_t m32[DEC_BLOCK]; /* flat (bfloat16 family) loop */
    uint64_t m64[DEC_BLOCK]; /* generic loop                */
} dec_marks;

/* per-call constants of the arithmetic decoder */
typedef struct dec_params {
    uint64_t maxc;     /* largest finite magnitude code                    */
    int32_t bits;      /* total width (codes >= 2^bits are invalid)        */
    uint64_t man_mask; /* 2^M - 1                                          */
    uint64_t ebias;    /* 1023 - bias, added to the exponent field         */
    int32_t M, shift;  /* mantissa bits; 52 - M                            */
    int32_t sbit;      /* position of the sign bit (bits - 1), 0: unsigned */
    int32_t mag_bits;  /* exp_bits + man_bits                              */
    int32_t negzero;   /* the sign-set zero code is -0 (not NaN)           */
} dec_params;

static HWI_ALWAYS_INLINE int dec_pass(double *out, const void *in, const int cs, size_t i0,
                                      size_t i1, const dec_params *p, uint64_t *mark)
{
    const dec_params q = *p;
    const uint64_t magm = (q.mag_bits >= 64) ? ~0ull : ((1ull << q.mag_bits) - 1);
    const uint64_t signed_fmt = q.sbit ? 1u : 0u, negzero = q.negzero ? 1u : 0u;
    uint64_t bad = 0;
    size_t i;
    for (i = i0; i < i1; i++) {
        uint64_t c, mag, e, m, sign, b, zero, bits;
        switch (cs) {
        case 1: c = ((const uint8_t *)in)[i]; break;
        case 2: c = ((const uint16_t *)in)[i]; break;
        case 4: c = ((const uint32_t *)in)[i]; break;
        default: c = ((const uint64_t *)in)[i]; break;
        }
        mag = c & magm;
        sign = (c >> q.sbit) & signed_fmt;
        e = mag >> q.M;
        m = mag & q.man_mask;
        zero = ((mag + 0x7FFFFFFFFFFFFFFFull) >> 63) ^ 1u; /* mag == 0 */
        /* out of range, Inf/NaN (mag > maxc), subnormal (e == 0, m != 0),
         * sign-set zero of a format without -0 (its NaN) */
        b = (((c >> q.bits) + 0x7FFFFFFFFFFFFFFFull) >> 63) | ((q.maxc - mag) >> 63) |
            ((((e + 0x7FFFFFFFFFFFFFFFull) >> 63) ^ 1u) & (zero ^ 1u)) |
            (zero & sign & (negzero ^ 1u));
        bits = (sign << 63) | ((((e + q.ebias) << 52) | (m << q.shift)) & (0u - (zero ^ 1u)));
        memcpy(out + i, &bits, 8);
        mark[i - i0] = b;
        bad |= b;
    }
    return bad != 0;
}

/* The bfloat16 family (IEEE, 8 exponent bits, bias 127, signed, M <= 23):
 * code << (23 - M) is the float32 pattern of the value, and widening a
 * float32 normal, zero or Inf to double is exact whatever the FPU's DAZ / FTZ
 * mode.  Subnormal and NaN codes are marked for the general path. */
static HWI_ALWAYS_INLINE int dec_flat_pass(double *out, const void *in, const int cs,
                                           size_t i0, size_t i1, const dec_params *p,
                                           uint32_t *mark)
{
    const uint32_t shift = (uint32_t)(23 - p->M), top = (uint32_t)(p->bits - 1);
    uint32_t bad = 0;
    size_t i;
    for (i = i0; i < i1; i++) {
        uint32_t c = cs == 2 ? ((const uint16_t *)in)[i] : ((const uint32_t *)in)[i];
        uint32_t u = c << shift, a = u & 0x7FFFFFFFu, b;
        float x;
        /* out of range; subnormal (a - 1 < 0x7FFFFF); NaN (a > 0x7F800000) */
        b = ((c >> top >> 1) + 0x7FFFFFFFu) >> 31 |
            ((((a - 1u) - 0x007FFFFFu) >> 31) & (((a - 1u) >> 31) ^ 1u)) |
            ((0x7F800000u - a) >> 31);
        memcpy(&x, &u, 4);
        out[i] = (double)x;
        mark[i - i0] = b;
        bad |= b;
    }
    return bad != 0;
}

/* dec_flat_pass without marks: the OR of the codes (out of range) and the
 * largest |pattern| (NaN) and smallest |pattern| - 1 (wrapping: subnormal
 * when below 0x7FFFFF, zeros drop out) are reduced instead of tested per
 * element.  Returns 1 when every value written is final; else 0 and the
 * caller runs dec_flat_pass on the block. */
static HWI_ALWAYS_INLINE int dec_flat_clean(double *out, const void *in, const int cs,
                                            size_t i0, size_t i1, const dec_params *p)
{
    const uint32_t shift = (uint32_t)(23 - p->M), top = (uint32_t)(p->bits - 1);
    uint32_t acc_or = 0, acc_max = 0, acc_min = 0xFFFFFFFFu;
    size_t i;
    for (i = i0; i < i1; i++) {
        uint32_t c = cs == 2 ? ((const uint16_t *)in)[i] : ((const uint32_t *)in)[i];
        uint32_t u = c << shift, a = u & 0x7FFFFFFFu, m1 = a - 1u;
        float x;
        memcpy(&x, &u, 4);
        out[i] = (double)x;
        acc_or |= c;
        acc_max = acc_max > a ? acc_max : a;
        acc_min = acc_min < m1 ? acc_min : m1;
    }
    return (acc_or >> top >> 1) == 0 && acc_max <= 0x7F800000u && acc_min >= 0x007FFFFFu;
}

static HWI_ALWAYS_INLINE int dec_run(double *out, const void *in, const int cs,
                                     const int flat, size_t n, const hw_format *f,
                                     const dec_params *p, hw_result *res)
{
    dec_marks mk;
    size_t i0, j;
    for (i0 = 0; i0 < n; i0 += DEC_BLOCK) {
        size_t i1 = n - i0 < DEC_BLOCK ? n : i0 + DEC_BLOCK;
        if (flat && dec_flat_clean(out, in, cs, i0, i1, p)) continue;
        if (flat ? !dec_flat_pass(out, in, cs, i0, i1, p, mk.m32)
                 : !dec_pass(out, in, cs, i0, i1, p, mk.m64))
            continue;
        for (j = 0; j < i1 - i0; j++) {
            hw_result r;
            int st;
            if (flat ? !mk.m32[j] : !mk.m64[j]) continue;
            st = hwi_decode_elems(out + i0 + j, (const char *)in + (i0 + j) * (size_t)cs, cs, 1,
                                  f, 0, &r);
            if (st != HW_OK) {
                res->err_index = (int64_t)(i0 + j);
                return st;
            }
        }
    }
    return HW_OK;
}

/* dec_run with constant code size and layout, so each case compiles to its own loop;
 * inlined into dec_base and dec_avx2, the same source built for each target */
static HWI_ALWAYS_INLINE int dec_sizes(double *out, const void *in, int cs, int flat, size_t n,
                                       const hw_format *f, const dec_params *p, hw_result *res)
{
    if (flat) return cs == 2 ? dec_run(out, in, 2, 1, n, f, p, res)
                             : dec_run(out, in, 4, 1, n, f, p, res);
    switch (cs) {
    case 1: return dec_run(out, in, 1, 0, n, f, p, res);
    case 2: return dec_run(out, in, 2, 0, n, f, p, res);
    case 4: return dec_run(out, in, 4, 0, n, f, p, res);
    default: return dec_run(out, in, 8, 0, n, f, p, res);
    }
}

static int dec_base(double *out, const void *in, int cs, int flat, size_t n, const hw_format *f,
                    const dec_params *p, hw_result *res)
{
    return dec_sizes(out, in, cs, flat, n, f, p, res);
}

#ifdef HWI_SIMD
__attribute__((target("avx2"))) static int dec_avx2(double *out, const void *in, int cs,
                                                    int flat, size_t n, const hw_format *f,
                                                    const dec_params *p, hw_result *res)
{
    return dec_sizes(out, in, cs, flat, n, f, p, res);
}
#define HWI_HAVE_DEC_AVX2 1
#endif

int hw_decode_fast(double *out, const void *in, int code_size, size_t n, const hw_format *f,
                   const hw_opts *o, hw_result *res)
{
    dec_params p;
    int flat;
    if (res) { res->flags = 0; res->err_index = -1; }
    if (!f || !res || !hwi_valid_code_size(code_size)) return HW_E_MODE;
    if (n && (!out || !in)) return HW_E_MODE;
    if ((o && o->daz) || f->specials == HW_SPECIALS_E8M0 || !f->subnormals) return HW_E_MODE;
    if (f->bias > 1023 || f->bits > 63 || f->emax > 1023) return HW_E_MODE;
    p.maxc = f->max_code;
    p.bits = f->bits;
    p.M = f->man_bits;
    p.shift = 52 - f->man_bits;
    p.man_mask = (1ull << f->man_bits) - 1;
    p.ebias = (uint64_t)(int64_t)(1023 - f->bias);
    p.sbit = f->is_signed ? f->bits - 1 : 0;
    p.mag_bits = f->exp_bits + f->man_bits;
    p.negzero = f->has_negzero || !f->is_signed;
    flat = f->specials == HW_SPECIALS_IEEE && f->exp_bits == 8 && f->bias == 127 &&
           f->is_signed && f->man_bits <= 23 && (code_size == 2 || code_size == 4);
#ifdef HWI_HAVE_DEC_AVX2
    if ((__builtin_cpu_init(), __builtin_cpu_supports("avx2")))
        return dec_avx2(out, in, code_size, flat, n, f, &p, res);
#endif
    return dec_base(out, in, code_size, flat, n, f, &p, res);
}
