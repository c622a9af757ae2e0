/* hw_mx_fast.c -- hw_mx_quantize_fast(): OCP MX quantization with float
 * elements through the branch-light kernel of hw_encode_fast.c, bit-identical
 * to hw_mx_quantize_general() (hw_block.c).
 *
 * The shared exponent se of a block is a power of two, so an element's
 * V / 2^se differs from V only in its exponent: in the kernel's terms
 * (hw_fast_elem.h) t = max(ex, 1) + tb becomes max(ex, 1) + (tb - se), and
 * everything else -- the kept significand, carries, overflow to the
 * saturation code, INEXACT / UNDERFLOW / OVERFLOW -- is computed as for a
 * plain array.  An input subnormal is redone by the general routine when its
 * t >= 0 (a large negative se can lift it into the element's normal range,
 * where its missing hidden bit would be misread).
 *
 * The chunked block driver is hw_block_fast.h's (shared with NVFP4); the
 * hooks here give its MX parts:
 *   - scale: se from the largest |x| bit pattern (NaN / Inf: NaN scale; the
 *     exponent of a float's bit pattern is floor(log2|x|) exactly), or from
 *     the caller's scale; the block's tb - se fills a per-element array;
 *   - pass: one vectorised pass over the chunk, as hw_encode_fast's first pass;
 *   - elem / block: hwi_mx_elem_code / hwi_mx_block_elems, the general path's
 *     element and block routines (hw_block.c), for marked elements (NaN / Inf
 *     inputs, such subnormals, the t == -1 tininess case) and for chunks
 *     holding a NaN-scale block.
 * A NaN element under a caller's scale (an error) makes the kernel answer
 * HW_E_MODE ("not handled"): hw_mx_quantize (hw_dispatch.c) then reruns
 * hw_mx_quantize_general(), so that err_index and the flags reported with it
 * are the general path's.
 */
#include "hw_block_fast.h"

enum { MXF_CHUNK = 1024 };

/* the whole call: arguments, element set-up, kernel constants */
typedef struct mxf_ctx {
    blkf_geom g;
    int32_t emax_elem;
    hwi_mx_elem el;
    hw_opts os;
} mxf_ctx;

/* per-chunk scratch: each element's tb - se, then the marks of the second
 * pass (bit 0: bad, bit 1: inexact with t == -1) */
typedef struct mxf_buf {
    union { int32_t t32[MXF_CHUNK]; int64_t t64[MXF_CHUNK]; } tb;
    union { uint32_t m32[MXF_CHUNK]; uint64_t m64[MXF_CHUNK]; } mk;
} mxf_buf;

/* largest |x| bit pattern of a float32 / float64 block (NaN above Inf) */
static HWI_ALWAYS_INLINE uint32_t amax32(const float *x, size_t len)
{
    uint32_t m = 0;
    size_t j;
    for (j = 0; j < len; j++) {
        uint32_t a = hwi_f32_bits(x[j]) & 0x7FFFFFFFu;
        m = m > a ? m : a;
    }
    return m;
}

static HWI_ALWAYS_INLINE uint64_t amax64(const double *x, size_t len)
{
    int64_t m = 0; /* patterns below 2^63: signed compares suffice */
    size_t j;
    for (j = 0; j < len; j++) {
        int64_t a = (int64_t)(hwi_f64_bits(x[j]) & 0x7FFFFFFFFFFFFFFFull);
        m = m > a ? m : a;
    }
    return (uint64_t)m;
}

/* Shared exponent from the largest |x| pattern, as mx_block_exp (hw_block.c)
 * computes it: 0 for the NaN scale, else 1 and *se. */
static int se_from_amax(uint64_t amax, int is64, int32_t emax_elem, int32_t *se)
{
    int32_t E;
    if (amax >= (is64 ? 0x7FF0000000000000ull : 0x7F800000ull)) return 0;
    if (amax == 0) { *se = -127; return 1; }
    if (is64) E = amax >> 52 ? (int32_t)(amax >> 52) - 1023 : hwi_msb64(amax) - 1074;
    else E = amax >> 23 ? (int32_t)(amax >> 23) - 127 : hwi_msb64(amax) - 149;
    *se = E - emax_elem;
    if (*se > 127) return 0;
    if (*se < -127) *se = -127;
    return 1;
}

/* One block's scale (computed and stored, or read); fills the block's tb - se.
 * Returns 0 for a NaN-scale block. */
static HWI_ALWAYS_INLINE int mxf_scale(const mxf_ctx *c, const int is64, size_t sidx,
                                       size_t start, size_t len, size_t off, mxf_buf *buf)
{
    int32_t se = 0;
    int ok;
    size_t j;
    if (c->g.scales_in) {
        ok = c->g.scales[sidx] != 0xFF;
        se = (int32_t)c->g.scales[sidx] - 127;
    } else {
        uint64_t a;
        if (is64) a = len == 32 ? amax64((const double *)c->g.in + start, 32)
                                : amax64((const double *)c->g.in + start, len);
        else a = len == 32 ? amax32((const float *)c->g.in + start, 32)
                           : amax32((const float *)c->g.in + start, len);
        ok = se_from_amax(a, is64, c->emax_elem, &se);
        c->g.scales[sidx] = ok ? (uint8_t)(se + 127) : 0xFF;
    }
    if (is64) for (j = 0; j < len; j++) buf->tb.t64[off + j] = c->g.p.tb - se;
    else for (j = 0; j < len; j++) buf->tb.t32[off + j] = (int32_t)c->g.p.tb - se;
    return ok;
}

/* The codes of m elements from in + i0 with per-element tb (tbv: int32 for
 * float32 input, int64 for float64), and the chunk's summary; with marks,
 * also each element's mark in mkv (uint32 / uint64). */
static HWI_ALWAYS_INLINE fast_acc mxf_pass(const mxf_ctx *c, size_t i0, size_t m,
                                           const void *restrict tbv, const int mode,
                                           const int is64, const int marks,
                                           void *restrict mkv)
{
    const fast_params q = c->g.p; /* private copy: stores to out cannot alias it */
    uint8_t *restrict out = c->g.out + i0;
    fast_acc r;
    size_t i;
    if (!is64) {
        const float *restrict in = (const float *)c->g.in + i0;
        const int32_t *restrict tb = (const int32_t *)tbv;
        uint32_t *restrict mk = (uint32_t *)mkv;
        const int32_t lim = q.tiny_lim;
        uint32_t bad = 0, nz = 0, uf = 0, edge = 0, ovf = 0;
        for (i = 0; i < m; i++) {
            uint32_t b, z, v, e, code;
            int32_t t;
            code = fast_one32(hwi_f32_bits(in[i]), &q, tb[i], mode, 1, &b, &z, &v, &t);
            out[i] = (uint8_t)code;
            e = z & ((uint32_t)t >> 31) & ~((uint32_t)(t + 1) >> 31); /* t == -1 */
            bad |= b; nz |= z; ovf |= v; edge |= e;
            uf |= z & ((uint32_t)(t - lim) >> 31);
            if (marks) mk[i] = b | (e << 1);
        }
        r.bad = bad != 0; r.nz = nz != 0; r.ovf = ovf != 0; r.uf = uf != 0; r.edge = edge != 0;
    } else {
        const double *restrict in = (const double *)c->g.in + i0;
        const int64_t *restrict tb = (const int64_t *)tbv;
        uint64_t *restrict mk = (uint64_t *)mkv;
        const int64_t lim = q.tiny_lim;
        uint64_t bad = 0, nz = 0, uf = 0, edge = 0, ovf = 0;
        for (i = 0; i < m; i++) {
            uint64_t b, z, v, e, code;
            int64_t t;
            code = fast_one64(hwi_f64_bits(in[i]), &q, tb[i], mode, 1, &b, &z, &v, &t);
            out[i] = (uint8_t)code;
            e = z & ((uint64_t)t >> 63) & ~((uint64_t)(t + 1) >> 63); /* t == -1 */
            bad |= b; nz |= z; ovf |= v; edge |= e;
            uf |= z & ((uint64_t)(t - lim) >> 63);
            if (marks) mk[i] = b | (e << 1);
        }
        r.bad = bad != 0; r.nz = nz != 0; r.ovf = ovf != 0; r.uf = uf != 0; r.edge = edge != 0;
    }
    return r;
}

/* the driver's hooks (hw_block_fast.h) */
static HWI_ALWAYS_INLINE int mxh_scale(const void *ctx, int is64, size_t sidx, size_t start,
                                       size_t len, size_t off, void *buf)
{
    return mxf_scale((const mxf_ctx *)ctx, is64, sidx, start, len, off, (mxf_buf *)buf);
}

static HWI_ALWAYS_INLINE fast_acc mxh_pass(const void *ctx, size_t i0, size_t m, void *buf,
                                           int mode, int is64, int marks)
{
    mxf_buf *B = (mxf_buf *)buf;
    return mxf_pass((const mxf_ctx *)ctx, i0, m, &B->tb, mode, is64, marks, &B->mk);
}

static HWI_ALWAYS_INLINE int mxh_mark(const void *buf, size_t j, int is64)
{
    const mxf_buf *B = (const mxf_buf *)buf;
    return is64 ? (int)B->mk.m64[j] : (int)B->mk.m32[j];
}

static uint64_t mxh_elem(const void *ctx, const void *buf, size_t sidx, size_t j, size_t i,
                         int is64, uint32_t *fl)
{
    const mxf_ctx *c = (const mxf_ctx *)ctx;
    const mxf_buf *B = (const mxf_buf *)buf;
    int32_t se = (int32_t)(is64 ? c->g.p.tb - B->tb.t64[j] : c->g.p.tb - B->tb.t32[j]);
    return hwi_mx_elem_code(hwi_load_in(c->g.in, c->g.in_kind, i), se, &c->el, &c->os, 0, fl);
}

static int mxh_block(const void *ctx, size_t sidx, size_t start, size_t len, uint32_t *flags)
{
    const mxf_ctx *c = (const mxf_ctx *)ctx;
    int64_t err;
    return hwi_mx_block_elems(c->g.out, 1, c->g.in, c->g.in_kind, start, len,
                              c->g.scales[sidx] != 0xFF, (int32_t)c->g.scales[sidx] - 127,
                              &c->el, &c->os, flags, &err) != HW_OK;
}

static const blkf_hooks mxf_hooks = {mxh_scale, mxh_pass, mxh_mark, mxh_elem, mxh_block};

static HWI_ALWAYS_INLINE int mxf_modes(const mxf_ctx *c, const int is64, hw_result *res)
{
    mxf_buf buf;
    return blkf_modes(&c->g, c, &mxf_hooks, &buf, MXF_CHUNK, c->os.rounding, is64, res);
}

/* one function per input kind and instruction set (AVX2: same C, same bits) */
static int mxf_f32(const mxf_ctx *c, hw_result *res) { return mxf_modes(c, 0, res); }
static int mxf_f64(const mxf_ctx *c, hw_result *res) { return mxf_modes(c, 1, res); }
#ifdef HWI_HAVE_AVX2_CLONE
__attribute__((target("avx2"))) static int mxf_f32x(const mxf_ctx *c, hw_result *res)
{
    return mxf_modes(c, 0, res);
}
__attribute__((target("avx2"))) static int mxf_f64x(const mxf_ctx *c, hw_result *res)
{
    return mxf_modes(c, 1, res);
}
#endif

/* Whether the fast kernel covers the call, and its set-up (else 0). */
static int mxf_setup(mxf_ctx *c, int elem_size, int in_kind, size_t nrows, size_t ncols,
                     size_t block_size, const hw_format *f, int32_t emax_elem,
                     const hw_opts *o)
{
    int is64 = in_kind == HW_IN_F64;
    if (!o || !f || elem_size != 1 || f->bits > 8) return 0;
    if (in_kind != HW_IN_F32 && in_kind != HW_IN_F64) return 0;
    if (o->rounding < HW_ROUND_RNE || o->rounding > HW_ROUND_RTO) return 0;
    if (o->tininess != HW_TININESS_AFTER && o->tininess != HW_TININESS_BEFORE) return 0;
    if (block_size == 0 || block_size > MXF_CHUNK || nrows == 0 || ncols == 0) return 0;
    if (f->specials == HW_SPECIALS_E8M0 || !f->subnormals || !f->has_zero) return 0;
    if (f->man_bits >= 23 || f->bias > 127 || f->bias < -127 || f->emin != 1 - f->bias) return 0;
    if (hwi_mx_setup(elem_size, f, emax_elem, 0, 0, 0, o, &c->el, &c->os) != HW_OK) return 0;
    c->g.nrows = nrows;
    c->g.ncols = ncols;
    c->g.bs = block_size;
    c->g.nb = (ncols + block_size - 1) / block_size;
    c->g.in_kind = in_kind;
    c->emax_elem = emax_elem;
    return blkf_params(&c->g.p, f, &c->os, is64); /* saturation never errs */
}

int hw_mx_quantize_fast(void *elem_out, int elem_size, uint8_t *scales, int32_t scales_in,
                        const void *in, int in_kind, size_t nrows, size_t ncols,
                        size_t block_size, const hw_format *elem, int32_t emax_elem,
                        int32_t int_bits, int32_t int_frac_bits, int64_t int_min,
                        const hw_opts *o, hw_result *res)
{
    mxf_ctx c;
    int redo;
    if (res) { res->flags = 0; res->err_index = -1; }
    if (!res || !elem_out || !scales || !in) return HW_E_MODE;
    if (!mxf_setup(&c, elem_size, in_kind, nrows, ncols, block_size, elem, emax_elem, o))
        return HW_E_MODE;
    c.g.out = (uint8_t *)elem_out;
    c.g.scales = scales;
    c.g.scales_in = scales_in;
    c.g.in = in;
#ifdef HWI_HAVE_AVX2_CLONE
    if ((__builtin_cpu_init(), __builtin_cpu_supports("avx2")))
        redo = in_kind == HW_IN_F64 ? mxf_f64x(&c, res) : mxf_f32x(&c, res);
    else
#endif
        redo = in_kind == HW_IN_F64 ? mxf_f64(&c, res) : mxf_f32(&c, res);
    return redo ? HW_E_MODE : HW_OK; /* an error: the dispatcher reruns the general loop */
}
