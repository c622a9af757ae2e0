/* hw_block_fast.h -- the block driver shared by the fast MX (hw_mx_fast.c) and
 * NVFP4 (hw_nvfp4_fast.c) kernels.  Internal, never exposed to cffi.
 *
 * The blocks of an nrows x ncols array follow each other in memory, so the
 * driver takes them in chunks of whole blocks (at most `chunk` elements):
 *   1. per block, the kind's scale hook computes (or reads) the scale and fills
 *      the chunk buffer for its elements; a NaN-scale block makes the whole
 *      chunk go block by block through the kind's general block routine;
 *   2. the kind's pass hook writes every code of the chunk and returns the
 *      flag summary (hw_fast_elem.h);
 *   3. a chunk with marked elements (bad, or the t == -1 tininess case while
 *      no element has raised UNDERFLOW) is passed again with marks, and those
 *      elements go through the kind's element hook (the general element
 *      routine).
 * Any hook may ask for the whole call to be redone by the general loop (a NaN
 * element under a caller's scale, an invalid caller scale): the driver then
 * returns 1 and the kernel answers HW_E_MODE.  The hooks are static inline
 * functions passed as constants, so each kernel compiles to straight code. */
#ifndef HW_BLOCK_FAST_H
#define HW_BLOCK_FAST_H

#include "hw_block_util.h"
#include "hw_fast_elem.h"

/* the call's array geometry and kernel constants (first member of a kind's context) */
typedef struct blkf_geom {
    uint8_t *out;
    uint8_t *scales;
    const void *in;
    size_t nrows, ncols, bs, nb;
    int32_t scales_in, in_kind;
    fast_params p;
} blkf_geom;

typedef struct blkf_hooks {
    /* block sidx at element start (len elements, offset off in the chunk): the
     * scale, and the chunk buffer; 1, 0 for a NaN-scale block, -1 to redo */
    int (*scale)(const void *ctx, int is64, size_t sidx, size_t start, size_t len, size_t off,
                 void *buf);
    /* codes of m elements from i0 and the summary; with marks, the marks too */
    fast_acc (*pass)(const void *ctx, size_t i0, size_t m, void *buf, int mode, int is64,
                     int marks);
    /* the mark of element j of the chunk */
    int (*mark)(const void *buf, size_t j, int is64);
    /* element i (j in the chunk, block sidx) by the general element routine;
     * HWI_ERR_NAN in *fl asks for a redo */
    uint64_t (*elem)(const void *ctx, const void *buf, size_t sidx, size_t j, size_t i,
                     int is64, uint32_t *fl);
    /* one block by the general block routine; nonzero asks for a redo */
    int (*block)(const void *ctx, size_t sidx, size_t start, size_t len, uint32_t *flags);
} blkf_hooks;

static inline size_t blkf_len(const blkf_geom *g, size_t b)
{
    return g->ncols - b * g->bs < g->bs ? g->ncols - b * g->bs : g->bs;
}

/* the blocks of a chunk from block (r, b), m elements, by the general block routine */
static HWI_ALWAYS_INLINE int blkf_chunk_general(const blkf_geom *g, const void *ctx,
                                                const blkf_hooks *h, size_t r, size_t b,
                                                size_t m, uint32_t *flags)
{
    size_t j = 0;
    while (j < m) {
        size_t len = blkf_len(g, b);
        if (h->block(ctx, r * g->nb + b, r * g->ncols + b * g->bs, len, flags)) return 1;
        j += len;
        if (++b == g->nb) { b = 0; r++; }
    }
    return 0;
}

/* the marked elements of a chunk from block (r, b) at i0, m elements */
static HWI_ALWAYS_INLINE int blkf_fixup(const blkf_geom *g, const void *ctx, const blkf_hooks *h,
                                        size_t r, size_t b, size_t i0, size_t m,
                                        const void *buf, const int is64, uint32_t *flags)
{
    size_t j = 0, k;
    while (j < m) {
        size_t len = blkf_len(g, b), sidx = r * g->nb + b;
        for (k = j; k < j + len; k++) {
            int mark = h->mark(buf, k, is64);
            uint32_t fl = 0;
            uint64_t code;
            if (!(mark & 1) && !((mark & 2) && !(*flags & HW_FLAG_UNDERFLOW))) continue;
            code = h->elem(ctx, buf, sidx, k, i0 + k, is64, &fl);
            if (fl & HWI_ERR_NAN) return 1;
            g->out[i0 + k] = (uint8_t)code;
            *flags |= fl;
        }
        j += len;
        if (++b == g->nb) { b = 0; r++; }
    }
    return 0;
}

/* The whole array in chunks; 0 (res->flags set) or 1 (redo with the general loop). */
static HWI_ALWAYS_INLINE int blkf_run(const blkf_geom *g, const void *ctx, const blkf_hooks *h,
                                      void *buf, const size_t chunk, const int mode,
                                      const int is64, hw_result *res)
{
    uint32_t flags = 0;
    size_t r = 0, b = 0;
    while (r < g->nrows) {
        size_t r0 = r, b0 = b, i0 = r * g->ncols + b * g->bs, m = 0;
        int dirty = 0;
        fast_acc acc;
        while (r < g->nrows) { /* whole blocks, at least one */
            size_t len = blkf_len(g, b);
            int ok;
            if (m + len > chunk) break;
            ok = h->scale(ctx, is64, r * g->nb + b, i0 + m, len, m, buf);
            if (ok < 0) return 1;
            dirty |= !ok;
            m += len;
            if (++b == g->nb) { b = 0; r++; }
        }
        if (dirty) {
            if (blkf_chunk_general(g, ctx, h, r0, b0, m, &flags)) return 1;
            continue;
        }
        acc = h->pass(ctx, i0, m, buf, mode, is64, 0);
        flags |= (acc.nz ? HW_FLAG_INEXACT : 0u) | (acc.uf ? HW_FLAG_UNDERFLOW : 0u) |
                 (acc.ovf ? HW_FLAG_OVERFLOW | HW_FLAG_INEXACT : 0u);
        if (acc.bad || (acc.edge && g->p.after && !(flags & HW_FLAG_UNDERFLOW))) {
            h->pass(ctx, i0, m, buf, mode, is64, 1);
            if (blkf_fixup(g, ctx, h, r0, b0, i0, m, buf, is64, &flags)) return 1;
        }
    }
    res->flags = flags;
    return 0;
}

/* The kernel constants of element format f for float32 (is64 0) or float64
 * input under options o; 0 when an overflow would be an error. */
static inline int blkf_params(fast_params *p, const hw_format *f, const hw_opts *o, int is64)
{
    uint32_t fl = 0;
    memset(p, 0, sizeof *p);
    p->maxc = f->max_code;
    p->sign_bit = f->sign_bit;
    p->tb = (int64_t)f->bias - (is64 ? 1024 : 128);
    p->s0 = (is64 ? 52 : 23) - f->man_bits;
    p->M = f->man_bits;
    p->negzero = f->has_negzero;
    p->is_signed = f->is_signed;
    p->tiny_lim = o->tininess == HW_TININESS_BEFORE ? 0 : -1;
    p->after = o->tininess == HW_TININESS_AFTER;
    p->one = 1;
    p->nan_code = f->nan_code;
    p->ovf_pos = hwi_overflow_code(0, f, o, &fl);
    p->ovf_neg = hwi_overflow_code(1, f, o, &fl);
    return (fl & HWI_ERR_MASK) == 0;
}

/* blkf_run with the rounding mode a compile-time constant (one copy each) */
static HWI_ALWAYS_INLINE int blkf_modes(const blkf_geom *g, const void *ctx, const blkf_hooks *h,
                                        void *buf, const size_t chunk, int rounding,
                                        const int is64, hw_result *res)
{
    switch (rounding) {
    case HW_ROUND_RNE: return blkf_run(g, ctx, h, buf, chunk, HW_ROUND_RNE, is64, res);
    case HW_ROUND_RNA: return blkf_run(g, ctx, h, buf, chunk, HW_ROUND_RNA, is64, res);
    case HW_ROUND_RTZ: return blkf_run(g, ctx, h, buf, chunk, HW_ROUND_RTZ, is64, res);
    case HW_ROUND_RUP: return blkf_run(g, ctx, h, buf, chunk, HW_ROUND_RUP, is64, res);
    case HW_ROUND_RDN: return blkf_run(g, ctx, h, buf, chunk, HW_ROUND_RDN, is64, res);
    default: return blkf_run(g, ctx, h, buf, chunk, HW_ROUND_RTO, is64, res);
    }
}

#endif /* HW_BLOCK_FAST_H */
