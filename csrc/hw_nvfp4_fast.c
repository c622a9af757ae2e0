/* hw_nvfp4_fast.c -- hw_nvfp4_quantize_fast(): NVFP4 quantization in
 * binary32 arithmetic (HW_NVFP4_FLOAT32) through the branch-light kernel of
 * hw_encode_fast.c, bit-identical to hw_nvfp4_quantize_general() (hw_nvfp4.c).
 *
 * In binary32 arithmetic an element's code is the E2M1 rounding of the
 * binary32 quotient q = fl32(fl32(V) / d) with d = fl32(s * ts) fixed per
 * block, so the kernel computes q with the same two IEEE operations (a
 * vectorised divide gives the correctly rounded quotient, as the scalar one
 * does) and rounds q's bit pattern exactly as hw_encode_fast rounds a float32
 * array into E2M1.  The chunked block driver is hw_block_fast.h's (shared
 * with MX); the hooks here give its NVFP4 parts:
 *   - scale: the scale code from the largest |fl32(V)| bit pattern (NaN / Inf:
 *     0x7F) through hwi_nvfp4_scale32, the general path's own routine, or the
 *     caller's code; the block's d fills a per-element array;
 *   - pass: one vectorised pass writes every code and ORs the flag summary;
 *   - elem / block: hwi_nvfp4_elem_code / hwi_nvfp4_block_elems, the general
 *     path's routines (hw_nvfp4.c), for marked elements (a non-finite q, the
 *     t == -1 tininess case) and for chunks holding a NaN-scale block.
 * A NaN element under a caller's scale or an invalid caller scale code
 * (errors) make the kernel answer HW_E_MODE ("not handled"):
 * hw_nvfp4_quantize (hw_dispatch.c) then reruns hw_nvfp4_quantize_general().
 */
#include "hw_block_fast.h"

enum { NVF_CHUNK = 1024 };

typedef struct nvf_ctx {
    blkf_geom g;
    double ts;
    hw_format e2m1, e4m3;
    hw_opts os, rne_sat;
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
    if (c->g.scales_in) {
        sc = c->g.scales[sidx];
        if (sc == 0 || sc > 0x7F) return -1;
    } else {
        const void *x = (const char *)c->g.in + start * (is64 ? 8u : 4u);
        uint32_t a = len == 16 ? nvf_amax(x, is64, 16) : nvf_amax(x, is64, len);
        float amax;
        if (a >= 0x7F800000u) {
            sc = 0x7F;
        } else {
            memcpy(&amax, &a, 4);
            sc = hwi_nvfp4_scale32(amax, c->ts, &c->e4m3, &c->rne_sat);
        }
        c->g.scales[sidx] = (uint8_t)sc;
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
    const fast_params q = c->g.p;
    uint8_t *restrict out = c->g.out + i0;
    const float *restrict in32 = is64 ? NULL : (const float *)c->g.in + i0;
    const double *restrict in64 = is64 ? (const double *)c->g.in + i0 : NULL;
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

/* the driver's hooks (hw_block_fast.h) */
static HWI_ALWAYS_INLINE int nvh_scale(const void *ctx, int is64, size_t sidx, size_t start,
                                       size_t len, size_t off, void *buf)
{
    return nvf_scale((const nvf_ctx *)ctx, is64, sidx, start, len, ((nvf_buf *)buf)->d + off);
}

static HWI_ALWAYS_INLINE fast_acc nvh_pass(const void *ctx, size_t i0, size_t m, void *buf,
                                           int mode, int is64, int marks)
{
    nvf_buf *B = (nvf_buf *)buf;
    return nvf_pass((const nvf_ctx *)ctx, i0, m, B->d, mode, is64, marks, B->mk);
}

static HWI_ALWAYS_INLINE int nvh_mark(const void *buf, size_t j, int is64)
{
    return (int)((const nvf_buf *)buf)->mk[j];
}

static uint64_t nvh_elem(const void *ctx, const void *buf, size_t sidx, size_t j, size_t i,
                         int is64, uint32_t *fl)
{
    const nvf_ctx *c = (const nvf_ctx *)ctx;
    return hwi_nvfp4_elem_code(hwi_load_in(c->g.in, c->g.in_kind, i),
                               hwi_nvfp4_scale_value(c->g.scales[sidx]), c->ts,
                               HW_NVFP4_FLOAT32, &c->e2m1, &c->os, 0, fl);
}

static int nvh_block(const void *ctx, size_t sidx, size_t start, size_t len, uint32_t *flags)
{
    const nvf_ctx *c = (const nvf_ctx *)ctx;
    int64_t err;
    return hwi_nvfp4_block_elems(c->g.out, c->g.in, c->g.in_kind, start, len,
                                 c->g.scales[sidx], c->ts, HW_NVFP4_FLOAT32, &c->e2m1, &c->os,
                                 flags, &err) != HW_OK;
}

static const blkf_hooks nvf_hooks = {nvh_scale, nvh_pass, nvh_mark, nvh_elem, nvh_block};

static HWI_ALWAYS_INLINE int nvf_modes(const nvf_ctx *c, const int is64, hw_result *res)
{
    nvf_buf buf;
    return blkf_modes(&c->g, c, &nvf_hooks, &buf, NVF_CHUNK, c->os.rounding, is64, res);
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
    if (!o || arith != HW_NVFP4_FLOAT32) return 0;
    if (in_kind != HW_IN_F32 && in_kind != HW_IN_F64) return 0;
    if (o->rounding < HW_ROUND_RNE || o->rounding > HW_ROUND_RTO) return 0;
    if (o->tininess != HW_TININESS_AFTER && o->tininess != HW_TININESS_BEFORE) return 0;
    if (block_size == 0 || block_size > NVF_CHUNK || nrows == 0 || ncols == 0) return 0;
    if (hwi_nvfp4_setup(&c->e2m1, &c->e4m3, ts, o, &c->os, &c->rne_sat) != HW_OK) return 0;
    c->g.nrows = nrows;
    c->g.ncols = ncols;
    c->g.bs = block_size;
    c->g.nb = (ncols + block_size - 1) / block_size;
    c->g.in_kind = in_kind;
    c->ts = ts;
    /* E2M1's bias is below float32's: q's subnormals are tiny (sub_bad 0) */
    return blkf_params(&c->g.p, f, &c->os, 0);
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
    c.g.out = elem_out;
    c.g.scales = scales;
    c.g.scales_in = scales_in;
    c.g.in = in;
#ifdef HWI_HAVE_AVX2_CLONE
    if ((__builtin_cpu_init(), __builtin_cpu_supports("avx2")))
        redo = in_kind == HW_IN_F64 ? nvf_f64x(&c, res) : nvf_f32x(&c, res);
    else
#endif
        redo = in_kind == HW_IN_F64 ? nvf_f64(&c, res) : nvf_f32(&c, res);
    return redo ? HW_E_MODE : HW_OK; /* an error: the dispatcher reruns the general loop */
}
