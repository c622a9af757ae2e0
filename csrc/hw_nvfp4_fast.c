/* hw_nvfp4_fast.c -- hw_nvfp4_quantize_fast(): NVFP4 quantization in
 * binary32 arithmetic (HW_NVFP4_FLOAT32) through the branch-light kernel of
 * hw_encode_fast.c, bit-identical to hw_nvfp4_quantize_general() (hw_nvfp4.c).
 *
 * In binary32 arithmetic an element's code is the E2M1 rounding of the
 * binary32 quotient q = fl32(fl32(V) / d) with d = fl32(s * ts) fixed per
 * block, so the kernel computes q with the same two IEEE operations (a
 * vectorised divide gives the correctly rounded quotient, as the scalar one
 * does) and rounds q's bit pattern exactly as hw_encode_fast rounds a float32
 * array into E2M1.  Blocks follow each other in memory and are taken in
 * chunks of whole blocks (up to NVF_CHUNK elements):
 *   1. per block: the scale code from the largest |fl32(V)| bit pattern
 *      (NaN / Inf: 0x7F) through hwi_nvfp4_scale32, the general path's own
 *      routine, or the caller's code; the block's d fills a per-element array;
 *   2. one vectorised pass writes every code and ORs the flag summary;
 *   3. marked elements (a non-finite q, the t == -1 tininess case) go through
 *      hwi_nvfp4_elem_code, the general path's element routine.
 * A chunk holding a NaN-scale block is done block by block by the general
 * routine; a NaN element under a caller's scale or an invalid caller scale
 * code (errors) make the kernel answer HW_E_MODE ("not handled"):
 * hw_nvfp4_quantize (hw_dispatch.c) then reruns hw_nvfp4_quantize_general().
 */
#include "hw_block_util.h"
#include "hw_fast_elem.h"

enum { NVF_CHUNK = 1024 };

typedef struct nvf_ctx {
    uint8_t *out;
    uint8_t *scales;
    const void *in;
    size_t nrows, ncols, bs, nb;
    int32_t scales_in, in_kind;
    double ts;
    hw_format e2m1, e4m3;
    hw_opts os, rne_sat;
    fast_params p;
} nvf_ctx;

typedef struct nvf_buf {
    float d[NVF_CHUNK];     /* each element's divisor fl32(s * ts)      */
    uint32_t mk[NVF_CHUNK]; /* marks: bit 0 bad, bit 1 t == -1 inexact */
} nvf_buf;

/* largest |fl32(V)| bit pattern of a block (NaN above Inf) */
static HWI_ALWAYS_INLINE uint32_t nvf_amax(const void *in, const int is64, size_t len)
{
    uint32_t m = 0;
    size_t j;
    for (j = 0; j < len; j++) {
        float v = is64 ? (float)((const double *)in)[j] : ((const float *)in)[j];
        uint32_t a = hwi_f32_bits(v) & 0x7FFFFFFFu;
        m = m > a ? m : a;
    }
    return m;
}

/* One block's scale code (computed and stored, or read); fills the block's
 * divisors.  Returns 0 for a NaN-scale block, -1 for an invalid caller code. */
static HWI_ALWAYS_INLINE int nvf_scale(const nvf_ctx *c, const int is64, size_t sidx,
                                       size_t start, size_t len, float *d)
{
    uint64_t sc;
    float dv;
    size_t j;
    if (c->scales_in) {
        sc = c->scales[sidx];
        if (sc == 0 || sc > 0x7F) return -1;
    } else {
        const void *x = (const char *)c->in + start * (is64 ? 8u : 4u);
        uint32_t a = len == 16 ? nvf_amax(x, is64, 16) : nvf_amax(x, is64, len);
        float amax;
        if (a >= 0x7F800000u) {
            sc = 0x7F;
        } else {
            memcpy(&amax, &a, 4);
            sc = hwi_nvfp4_scale32(amax, c->ts, &c->e4m3, &c->rne_sat);
        }
        c->scales[sidx] = (uint8_t)sc;
    }
    if (sc == 0x7F) return 0;
    dv = (float)hwi_nvfp4_scale_value(sc) * (float)c->ts;
    for (j = 0; j < len; j++) d[j] = dv;
    return 1;
}

/* codes of m elements from in + i0 and the chunk's summary (and marks) */
static HWI_ALWAYS_INLINE fast_acc nvf_pass(const nvf_ctx *c, size_t i0, size_t m,
                                           const float *restrict d, const int mode,
                                           const int is64, const int marks,
                                           uint32_t *restrict mk)
{
    const fast_params q = c->p;
    uint8_t *restrict out = c->out + i0;
    const float *restrict in32 = is64 ? NULL : (const float *)c->in + i0;
    const double *restrict in64 = is64 ? (const double *)c->in + i0 : NULL;
    const int32_t lim = q.tiny_lim, tb = (int32_t)q.tb;
    uint32_t bad = 0, nz = 0, uf = 0, edge = 0, ovf = 0;
    fast_acc r;
    size_t i;
    for (i = 0; i < m; i++) {
        float v = is64 ? (float)in64[i] : in32[i];
        float qv = v / d[i];
        uint32_t b, z, o, e, code;
        int32_t t;
        code = fast_one32(hwi_f32_bits(qv), &q, tb, mode, 0, &b, &z, &o, &t);
        out[i] = (uint8_t)code;
        e = z & ((uint32_t)t >> 31) & ~((uint32_t)(t + 1) >> 31); /* t == -1 */
        bad |= b; nz |= z; ovf |= o; edge |= e;
        uf |= z & ((uint32_t)(t - lim) >> 31);
        if (marks) mk[i] = b | (e << 1);
    }
    r.bad = bad != 0; r.nz = nz != 0; r.ovf = ovf != 0; r.uf = uf != 0; r.edge = edge != 0;
    return r;
}

/* Redo the marked elements of the chunk starting at block (r, b), i0, with
 * the general element routine.  Returns 0, or 1 on a NaN element. */
static int nvf_fixup(const nvf_ctx *c, size_t r, size_t b, size_t i0, size_t m,
                     const uint32_t *mk, uint32_t *flags)
{
    size_t j = 0;
    while (j < m) {
        size_t len = c->ncols - b * c->bs < c->bs ? c->ncols - b * c->bs : c->bs, k;
        double s = hwi_nvfp4_scale_value(c->scales[r * c->nb + b]);
        for (k = j; k < j + len; k++) {
            uint32_t fl = 0;
            uint64_t code;
            if (!(mk[k] & 1) && !((mk[k] & 2) && !(*flags & HW_FLAG_UNDERFLOW))) continue;
            code = hwi_nvfp4_elem_code(hwi_load_in(c->in, c->in_kind, i0 + k), s, c->ts,
                                       HW_NVFP4_FLOAT32, &c->e2m1, &c->os, 0, &fl);
            if (fl & HWI_ERR_NAN) return 1;
            c->out[i0 + k] = (uint8_t)code;
            *flags |= fl;
        }
        j += len;
        if (++b == c->nb) { b = 0; r++; }
    }
    return 0;
}

/* A chunk holding a NaN-scale block: block by block with the general routine. */
static int nvf_chunk_general(const nvf_ctx *c, size_t r, size_t b, size_t m, uint32_t *flags)
{
    size_t j = 0;
    while (j < m) {
        size_t start = r * c->ncols + b * c->bs;
        size_t len = c->ncols - b * c->bs < c->bs ? c->ncols - b * c->bs : c->bs;
        int64_t err;
        if (hwi_nvfp4_block_elems(c->out, c->in, c->in_kind, start, len,
                                  c->scales[r * c->nb + b], c->ts, HW_NVFP4_FLOAT32, &c->e2m1,
                                  &c->os, flags, &err) != HW_OK)
            return 1;
        j += len;
        if (++b == c->nb) { b = 0; r++; }
    }
    return 0;
}

/* The whole array in chunks; 0 (res->flags set) or 1 (rerun the general path). */
static HWI_ALWAYS_INLINE int nvf_run(const nvf_ctx *c, const int mode, const int is64,
                                     hw_result *res)
{
    nvf_buf buf;
    uint32_t flags = 0;
    size_t r = 0, b = 0;
    while (r < c->nrows) {
        size_t r0 = r, b0 = b, i0 = r * c->ncols + b * c->bs, m = 0;
        int dirty = 0;
        fast_acc acc;
        while (r < c->nrows) { /* whole blocks, at least one */
            size_t len = c->ncols - b * c->bs < c->bs ? c->ncols - b * c->bs : c->bs;
            int ok;
            if (m + len > NVF_CHUNK) break;
            ok = nvf_scale(c, is64, r * c->nb + b, i0 + m, len, buf.d + m);
            if (ok < 0) return 1;
            dirty |= !ok;
            m += len;
            if (++b == c->nb) { b = 0; r++; }
        }
        if (dirty) {
            if (nvf_chunk_general(c, r0, b0, m, &flags)) return 1;
            continue;
        }
        acc = nvf_pass(c, i0, m, buf.d, mode, is64, 0, buf.mk);
        flags |= (acc.nz ? HW_FLAG_INEXACT : 0u) | (acc.uf ? HW_FLAG_UNDERFLOW : 0u) |
                 (acc.ovf ? HW_FLAG_OVERFLOW | HW_FLAG_INEXACT : 0u);
        if (acc.bad || (acc.edge && c->p.after && !(flags & HW_FLAG_UNDERFLOW))) {
            nvf_pass(c, i0, m, buf.d, mode, is64, 1, buf.mk);
            if (nvf_fixup(c, r0, b0, i0, m, buf.mk, &flags)) return 1;
        }
    }
    res->flags = flags;
    return 0;
}

static HWI_ALWAYS_INLINE int nvf_modes(const nvf_ctx *c, const int is64, hw_result *res)
{
    switch (c->os.rounding) {
    case HW_ROUND_RNE: return nvf_run(c, HW_ROUND_RNE, is64, res);
    case HW_ROUND_RNA: return nvf_run(c, HW_ROUND_RNA, is64, res);
    case HW_ROUND_RTZ: return nvf_run(c, HW_ROUND_RTZ, is64, res);
    case HW_ROUND_RUP: return nvf_run(c, HW_ROUND_RUP, is64, res);
    case HW_ROUND_RDN: return nvf_run(c, HW_ROUND_RDN, is64, res);
    default: return nvf_run(c, HW_ROUND_RTO, is64, res);
    }
}

static int nvf_f32(const nvf_ctx *c, hw_result *res) { return nvf_modes(c, 0, res); }
static int nvf_f64(const nvf_ctx *c, hw_result *res) { return nvf_modes(c, 1, res); }
#ifdef HWI_HAVE_AVX2_CLONE
__attribute__((target("avx2"))) static int nvf_f32x(const nvf_ctx *c, hw_result *res)
{
    return nvf_modes(c, 0, res);
}
__attribute__((target("avx2"))) static int nvf_f64x(const nvf_ctx *c, hw_result *res)
{
    return nvf_modes(c, 1, res);
}
#endif

/* Whether the fast kernel covers the call, and its set-up (else 0). */
static int nvf_setup(nvf_ctx *c, int in_kind, size_t nrows, size_t ncols, size_t block_size,
                     double ts, int32_t arith, const hw_opts *o)
{
    const hw_format *f = &c->e2m1;
    uint32_t fl = 0;
    if (!o || arith != HW_NVFP4_FLOAT32) return 0;
    if (in_kind != HW_IN_F32 && in_kind != HW_IN_F64) return 0;
    if (o->rounding < HW_ROUND_RNE || o->rounding > HW_ROUND_RTO) return 0;
    if (o->tininess != HW_TININESS_AFTER && o->tininess != HW_TININESS_BEFORE) return 0;
    if (block_size == 0 || block_size > NVF_CHUNK || nrows == 0 || ncols == 0) return 0;
    if (hwi_nvfp4_setup(&c->e2m1, &c->e4m3, ts, o, &c->os, &c->rne_sat) != HW_OK) return 0;
    c->nrows = nrows;
    c->ncols = ncols;
    c->bs = block_size;
    c->nb = (ncols + block_size - 1) / block_size;
    c->in_kind = in_kind;
    c->ts = ts;
    memset(&c->p, 0, sizeof c->p);
    c->p.maxc = f->max_code;
    c->p.sign_bit = f->sign_bit;
    c->p.tb = (int64_t)f->bias - 128;
    c->p.s0 = 23 - f->man_bits;
    c->p.M = f->man_bits;
    c->p.negzero = f->has_negzero;
    c->p.is_signed = f->is_signed;
    c->p.tiny_lim = o->tininess == HW_TININESS_BEFORE ? 0 : -1;
    c->p.after = o->tininess == HW_TININESS_AFTER;
    c->p.sub_bad = 0; /* E2M1's bias is below float32's: q's subnormals are tiny */
    c->p.one = 1;
    c->p.nan_code = f->nan_code;
    c->p.ovf_pos = hwi_overflow_code(0, f, &c->os, &fl);
    c->p.ovf_neg = hwi_overflow_code(1, f, &c->os, &fl);
    return (fl & HWI_ERR_MASK) == 0;
}

int hw_nvfp4_quantize_fast(uint8_t *elem_out, uint8_t *scales, int32_t scales_in,
                           const void *in, int in_kind, size_t nrows, size_t ncols,
                           size_t block_size, double tensor_scale, int32_t arith,
                           const hw_opts *o, hw_result *res)
{
    nvf_ctx c;
    int redo;
    if (res) { res->flags = 0; res->err_index = -1; }
    if (!res || !elem_out || !scales || !in) return HW_E_MODE;
    if (!nvf_setup(&c, in_kind, nrows, ncols, block_size, tensor_scale, arith, o))
        return HW_E_MODE;
    c.out = elem_out;
    c.scales = scales;
    c.scales_in = scales_in;
    c.in = in;
#ifdef HWI_HAVE_AVX2_CLONE
    if ((__builtin_cpu_init(), __builtin_cpu_supports("avx2")))
        redo = in_kind == HW_IN_F64 ? nvf_f64x(&c, res) : nvf_f32x(&c, res);
    else
#endif
        redo = in_kind == HW_IN_F64 ? nvf_f64(&c, res) : nvf_f32(&c, res);
    return redo ? HW_E_MODE : HW_OK; /* an error: the dispatcher reruns the general loop */
}
