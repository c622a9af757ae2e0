/* hw_mac_dot.c -- integer registers fed by 8-bit dot products (AVX-512 VNNI
 * vpdpbusd: 4 products u8 x s8 summed into each int32 lane per instruction).
 *
 * Operands (hwsim.h, hw_mac_dot_wrap):
 *   a  uint8 [m][kp], kp = 4 * ceil(k / 4): a' = a value + off (0..255), the
 *      columns k..kp-1 zero;
 *   bp int8 [ceil(n / 16)][kp / 4][16][4]: bp[p][c][l][t] = the b value at
 *      row 4c + t, column 16p + l (zero padded);
 * so sum_t a'[4c + t] * b[4c + t] = sum_t a*b + off * sum_t b.
 *
 * hw_mac_dot_wrap (any grouping: a modular sum does not depend on it): the
 * exact sum modulo 2^32 of a'*b, plus cadd[j] (the caller's bias - off *
 * sum_k b[k][j], modulo 2^32), then the low `bits` bits sign-extended.
 *
 * hw_mac_dot_steps (IntAccumulator(bits, fan_in) with fan_in a multiple of
 * 4, docs/semantics.md): the register adds the exact sum of each group of
 * fan_in products, wrap or saturate after each add, starting at init[j] (or
 * 0), then + fin[j].  Statistics as hw_mac_i32_steps, per group add: events,
 * max |sum before overflow|, signed width of the exact partial sums.
 * Speculation (as hw_mac_vnni.c): the exact partial sums S_g = init + the
 * first g group sums are stepped in int32 lanes -- the group sum of a'*b
 * (vpdpbusd, fan_in / 4 of them) plus the group's correction -off * sum b
 * (a per-column vector, precomputed) -- with their running max and min.
 * When |init| + k * max|a| * max|b| + |fin| < 2^31, S_g is exact; an output
 * whose S_g all lie in the register's range had no event and its results are
 * these sums.  The other outputs of a 4-row x 32-column tile are stepped again
 * exactly (dot_step_one).  Without the precondition or the CPU, every output
 * takes the exact loop. */
#include "hw_internal.h"
#include <stdlib.h>
#include <string.h>

#define PW 16
#define CH 64 /* bytes of one 4-deep chunk of a panel: 16 lanes x 4 */

static inline int32_t sext_bits(uint32_t s, int32_t bits)
{
    uint32_t m, u;
    if (bits >= 32) return (int32_t)s;
    m = ((uint32_t)1 << bits) - 1;
    u = s & m;
    return (u >> (bits - 1)) ? (int32_t)(int64_t)((int64_t)u - ((int64_t)1 << bits)) : (int32_t)u;
}

static inline int8_t bval(const int8_t *bp, int64_t kc, int64_t j, int64_t kk)
{
    return bp[((j / PW) * kc + kk / 4) * CH + (j % PW) * 4 + (kk & 3)];
}

/* ---- modular sums ----------------------------------------------------- */
static void dwrap_portable(const uint8_t *a, const int8_t *bp, const int32_t *cadd,
                           int32_t *out, int64_t m, int64_t n, int64_t k, int32_t bits)
{
    const int64_t kc = (k + 3) / 4, kp = 4 * kc;
    int64_t i, j, kk;
    for (i = 0; i < m; i++)
        for (j = 0; j < n; j++) {
            uint32_t s = cadd ? (uint32_t)cadd[j] : 0;
            for (kk = 0; kk < k; kk++)
                s += (uint32_t)((int32_t)a[i * kp + kk] * (int32_t)bval(bp, kc, j, kk));
            out[i * n + j] = sext_bits(s, bits);
        }
}

/* ---- the exact stepped register (one output) -------------------------- */
typedef struct {
    const uint8_t *a;
    const int8_t *bp;
    const int32_t *init, *fin, *cor;
    int32_t *out;
    int64_t *events, *width;
    double *max_abs;
    int64_t m, n, k, kc;
    int32_t off, gsize, bits, sat;
} dot_args;

static void dot_step_one(const dot_args *d, int64_t i, int64_t j)
{
    const int64_t kp = 4 * d->kc;
    hwi_istep s;
    int64_t k0, kk;
    hwi_istep_init(&s, d->init ? d->init[j] : 0);
    for (k0 = 0; k0 < d->k; k0 += d->gsize) {
        int64_t x = 0;
        for (kk = k0; kk < k0 + d->gsize && kk < d->k; kk++)
            x += (int64_t)((int32_t)d->a[i * kp + kk] - d->off) * bval(d->bp, d->kc, j, kk);
        hwi_istep_add(&s, x, d->bits, d->sat);
    }
    if (d->fin) hwi_istep_add(&s, d->fin[j], d->bits, d->sat);
    d->out[i * d->n + j] = (int32_t)s.acc;
    if (d->events) d->events[i * d->n + j] = s.ev;
    if (d->max_abs) d->max_abs[i * d->n + j] = (double)s.mx;
    if (d->width) d->width[i * d->n + j] = hwi_istep_width(&s);
}

static void dsteps_portable(const dot_args *d)
{
    int64_t i, j;
    for (i = 0; i < d->m; i++)
        for (j = 0; j < d->n; j++) dot_step_one(d, i, j);
}

/* |init| + k * max|a| * max|b| + |fin| < 2^31: every S_g fits int32 */
static int spec_ok(const dot_args *d)
{
    const int64_t na = d->m * 4 * d->kc, nb = (d->n + PW - 1) / PW * d->kc * CH;
    int64_t i, amax, bmax, room = INT32_MAX, ib = 0, fb = 0;
    uint8_t amin_c = 255, amax_c = 0; /* byte-typed: the loops vectorise */
    int8_t bmin_c = 127, bmax_c = -128;
    for (i = 0; i < na; i++) {
        amin_c = d->a[i] < amin_c ? d->a[i] : amin_c;
        amax_c = d->a[i] > amax_c ? d->a[i] : amax_c;
    }
    for (i = 0; i < nb; i++) {
        bmin_c = d->bp[i] < bmin_c ? d->bp[i] : bmin_c;
        bmax_c = d->bp[i] > bmax_c ? d->bp[i] : bmax_c;
    }
    amax = d->off - amin_c > amax_c - d->off ? d->off - amin_c : amax_c - d->off;
    bmax = -(int64_t)bmin_c > bmax_c ? -(int64_t)bmin_c : bmax_c;
    for (i = 0; i < d->n; i++) {
        int64_t x = d->init ? d->init[i] : 0, y = d->fin ? d->fin[i] : 0;
        if ((x < 0 ? -x : x) > ib) ib = x < 0 ? -x : x;
        if ((y < 0 ? -y : y) > fb) fb = y < 0 ? -y : y;
    }
    room -= ib + fb;
    return room >= 0 && (amax * bmax == 0 || d->k <= room / (amax * bmax));
}

#ifdef HWI_SIMD
#include <immintrin.h>

static int have_vnni512(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512vnni");
}

static inline int32_t load4(const uint8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

#define RW 8 /* rows per block of the modular kernel */

__attribute__((target("avx512f,avx512bw,avx512vnni")))
static void dwrap_vnni(const uint8_t *a, const int8_t *bp, const int32_t *cadd, int32_t *out,
                       int64_t m, int64_t n, int64_t k, int32_t bits)
{
    const int64_t kc = (k + 3) / 4, kp = 4 * kc, npan = (n + PW - 1) / PW;
    int32_t t[2 * PW];
    int64_t i0, p, c;
    for (i0 = 0; i0 < m; i0 += RW) {
        const int rows = (int)(m - i0 < RW ? m - i0 : RW);
        const uint8_t *ar[RW];
        int r, q;
        for (r = 0; r < RW; r++) ar[r] = a + (i0 + (r < rows ? r : 0)) * kp;
        for (p = 0; p < npan; p += 2) {
            const int8_t *q0 = bp + p * kc * CH, *q1 = bp + (p + 1 < npan ? p + 1 : p) * kc * CH;
            const int64_t cb = p * PW;
            const int cols = (int)(n - cb < 2 * PW ? n - cb : 2 * PW);
            __m512i c0[RW], c1[RW];
#pragma GCC unroll 8
            for (r = 0; r < RW; r++) c0[r] = c1[r] = _mm512_setzero_si512();
            for (c = 0; c < kc; c++) {
                const __m512i b0 = _mm512_loadu_si512(q0 + c * CH);
                const __m512i b1 = _mm512_loadu_si512(q1 + c * CH);
#pragma GCC unroll 8
                for (r = 0; r < RW; r++) {
                    const __m512i av = _mm512_set1_epi32(load4(ar[r] + 4 * c));
                    c0[r] = _mm512_dpbusd_epi32(c0[r], av, b0);
                    c1[r] = _mm512_dpbusd_epi32(c1[r], av, b1);
                }
            }
            for (r = 0; r < rows; r++) {
                int32_t *orow = out + (i0 + r) * n + cb;
                _mm512_storeu_si512(t, c0[r]);
                _mm512_storeu_si512(t + PW, c1[r]);
                for (q = 0; q < cols; q++)
                    orow[q] = sext_bits((uint32_t)t[q] + (cadd ? (uint32_t)cadd[cb + q] : 0u), bits);
            }
        }
    }
}

#define TGT "avx512f,avx512bw,avx512cd,avx512vnni"

/* 16 int32 lanes (km: the valid ones) stored as int64 / as binary64 (exact) */
__attribute__((target(TGT), always_inline))
static inline void store_i64(int64_t *dst, __mmask16 km, __m512i v)
{
    _mm512_mask_storeu_epi64(dst, (__mmask8)km, _mm512_cvtepi32_epi64(_mm512_castsi512_si256(v)));
    _mm512_mask_storeu_epi64(dst + 8, (__mmask8)(km >> 8),
                             _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(v, 1)));
}

__attribute__((target(TGT), always_inline))
static inline void store_f64(double *dst, __mmask16 km, __m512i v)
{
    _mm512_mask_storeu_pd(dst, (__mmask8)km, _mm512_cvtepi32_pd(_mm512_castsi512_si256(v)));
    _mm512_mask_storeu_pd(dst + 8, (__mmask8)(km >> 8),
                          _mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(v, 1)));
}

/* one vector's results (cols lanes of output o) from S / max / min; returns
 * 1 when an output left the register's range [rlo, rhi] */
__attribute__((target(TGT), always_inline))
static inline int dot_emit(const dot_args *d, int64_t o, int cols, __m512i s, __m512i h,
                           __m512i l, __m512i vlo, __m512i vhi)
{
    const __mmask16 km = cols >= PW ? (__mmask16)0xFFFF : (__mmask16)((1u << cols) - 1);
    _mm512_mask_storeu_epi32(d->out + o, km, s);
    if (d->events) {
        _mm512_mask_storeu_epi64(d->events + o, (__mmask8)km, _mm512_setzero_si512());
        _mm512_mask_storeu_epi64(d->events + o + 8, (__mmask8)(km >> 8), _mm512_setzero_si512());
    }
    if (d->max_abs) /* |S| <= 2^31 - 1 (the precondition) */
        store_f64(d->max_abs + o, km,
                  _mm512_max_epi32(h, _mm512_sub_epi32(_mm512_setzero_si512(), l)));
    if (d->width) { /* 33 - clz(v < 0 ? ~v : v), 1 for 0 and -1 */
        const __m512i th = _mm512_xor_si512(h, _mm512_srai_epi32(h, 31));
        const __m512i tl = _mm512_xor_si512(l, _mm512_srai_epi32(l, 31));
        store_i64(d->width + o, km, _mm512_sub_epi32(_mm512_set1_epi32(33),
                                                    _mm512_lzcnt_epi32(_mm512_max_epu32(th, tl))));
    }
    return (_mm512_mask_cmpgt_epi32_mask(km, h, vhi) | _mm512_mask_cmplt_epi32_mask(km, l, vlo)) != 0;
}

/* Exact re-step of one row x 16 columns (panel p) of a tile whose speculation
 * failed, for registers of <= 31 bits and fan_in <= 16384: s = acc + group sum
 * fits int32 (|acc| <= 2^30, |group sum| <= fan_in * 255 * 128 < 2^29, |fin| <
 * 2^30).  Writes out, events and max_abs; the width of the exact partial sums
 * is the speculative pass's (they are the S_g it tracked, exact by spec_ok). */
__attribute__((target(TGT)))
static void dot_exact_vec(const dot_args *d, const int32_t *cor, int64_t gch, int64_t i,
                          int64_t p, int cols)
{
    const int64_t kc = d->kc, ng = (kc + gch - 1) / gch, cb = p * PW, o = i * d->n + cb;
    const uint8_t *ar = d->a + i * 4 * kc;
    const int8_t *q = d->bp + p * kc * CH;
    const int32_t rhi = (int32_t)(((uint32_t)1 << (d->bits - 1)) - 1);
    const __m512i vhi = _mm512_set1_epi32(rhi), vlo = _mm512_set1_epi32(-rhi - 1);
    const __m128i sh = _mm_cvtsi32_si128(32 - d->bits);
    const __mmask16 km = cols >= PW ? (__mmask16)0xFFFF : (__mmask16)((1u << cols) - 1);
    __m512i acc = d->init ? _mm512_loadu_si512(d->init + cb) : _mm512_setzero_si512();
    __m512i ev = _mm512_setzero_si512(), mx = _mm512_abs_epi32(acc);
    int64_t g0, gi, c;
    for (g0 = 0, gi = 0; g0 <= kc; g0 += gch, gi++) {
        __m512i x = _mm512_setzero_si512(), s_, v;
        if (g0 == kc) {
            if (!d->fin) break;
            x = _mm512_loadu_si512(d->fin + cb);
        } else {
            const int64_t ge = g0 + gch < kc ? g0 + gch : kc;
            for (c = g0; c < ge; c++)
                x = _mm512_dpbusd_epi32(x, _mm512_set1_epi32(load4(ar + 4 * c)),
                                        _mm512_loadu_si512(q + c * CH));
            if (cor) x = _mm512_add_epi32(x, _mm512_loadu_si512(cor + (p * ng + gi) * PW));
        }
        s_ = _mm512_add_epi32(acc, x);
        v = d->sat ? _mm512_min_epi32(_mm512_max_epi32(s_, vlo), vhi)
                   : _mm512_sra_epi32(_mm512_sll_epi32(s_, sh), sh);
        ev = _mm512_mask_sub_epi32(ev, _mm512_cmpneq_epi32_mask(v, s_), ev,
                                   _mm512_set1_epi32(-1));
        mx = _mm512_max_epi32(mx, _mm512_abs_epi32(s_));
        acc = v;
        if (g0 + gch > kc && g0 < kc) g0 = kc - gch; /* next: fin */
    }
    _mm512_mask_storeu_epi32(d->out + o, km, acc);
    if (d->events) store_i64(d->events + o, km, ev);
    if (d->max_abs) store_f64(d->max_abs + o, km, mx); /* |s| < 2^31 */
}

/* the outputs of a failed vector stepped again exactly */
__attribute__((target(TGT)))
static void dot_redo(const dot_args *d, const int32_t *cor, int64_t gch, int64_t i, int64_t p,
                     int cols)
{
    int q;
    if (d->bits <= 31 && d->gsize <= 16384) {
        dot_exact_vec(d, cor, gch, i, p, cols);
        return;
    }
    for (q = 0; q < cols; q++) dot_step_one(d, i, p * PW + q);
}

/* The stepped kernel's tile: RS rows x 2 panels, three registers per vector
 * (S, max, min).  HASCOR: add the group correction; GCH: chunks of 4 per
 * group (0: run time, d_gch). */
#define T_DECL(r)                                                                            \
    __m512i s##r##0 = ci0, s##r##1 = ci1, h##r##0 = ci0, h##r##1 = ci1, l##r##0 = ci0,       \
            l##r##1 = ci1
#define T_DP(r, c)                                                                           \
    do {                                                                                     \
        const __m512i av_ = _mm512_set1_epi32(load4(a##r + 4 * (c)));                        \
        s##r##0 = _mm512_dpbusd_epi32(s##r##0, av_, b0);                                      \
        s##r##1 = _mm512_dpbusd_epi32(s##r##1, av_, b1);                                      \
    } while (0)
#define T_ADD(r, x0, x1)                                                                     \
    do {                                                                                     \
        s##r##0 = _mm512_add_epi32(s##r##0, x0);                                              \
        s##r##1 = _mm512_add_epi32(s##r##1, x1);                                              \
    } while (0)
#define T_MM(r)                                                                              \
    HWI_MAXMIN2(h##r##0, h##r##1, l##r##0, l##r##1, s##r##0, s##r##1)
#define T_OUT(r)                                                                             \
    do {                                                                                     \
        if (r < rows) {                                                                      \
            const int64_t o_ = (i0 + r) * d->n + cb;                                         \
            const int c0_ = cols < PW ? cols : PW;                                           \
            if (dot_emit(d, o_, c0_, s##r##0, h##r##0, l##r##0, vlo, vhi))                   \
                dot_redo(d, cor, GCH, i0 + r, p, c0_);                                       \
            if (cols > PW &&                                                                 \
                dot_emit(d, o_ + PW, cols - PW, s##r##1, h##r##1, l##r##1, vlo, vhi))        \
                dot_redo(d, cor, GCH, i0 + r, p1, cols - PW);                                \
        }                                                                                    \
    } while (0)
#define T_ALL(X) X(0); X(1); X(2); X(3)
#define T_STEP1(c)                                                                           \
    do {                                                                                     \
        const __m512i b0 = _mm512_loadu_si512(q0 + (c) * CH);                                 \
        const __m512i b1 = _mm512_loadu_si512(q1 + (c) * CH);                                 \
        T_DP(0, c); T_DP(1, c); T_DP(2, c); T_DP(3, c);                                      \
        if (HASCOR) {                                                                        \
            const __m512i x0 = _mm512_loadu_si512(k0 + (c) * PW);                             \
            const __m512i x1 = _mm512_loadu_si512(k1 + (c) * PW);                             \
            T_ADD(0, x0, x1); T_ADD(1, x0, x1); T_ADD(2, x0, x1); T_ADD(3, x0, x1);          \
        }                                                                                    \
        T_ALL(T_MM);                                                                         \
    } while (0)

/* cor: [npan][ng][16] group corrections -off * sum b (HASCOR) */
__attribute__((target(TGT), always_inline))
static inline void dsteps_tile(const dot_args *d, const int32_t *cor, const int HASCOR,
                               const int64_t GCH, int64_t i0, int64_t p)
{
    const int64_t kc = d->kc, kp = 4 * kc, npan = (d->n + PW - 1) / PW;
    const int64_t ng = (kc + GCH - 1) / GCH;
    const int rows = (int)(d->m - i0 < 4 ? d->m - i0 : 4);
    const uint8_t *a0 = d->a + i0 * kp, *a1 = d->a + (i0 + (rows > 1)) * kp;
    const uint8_t *a2 = d->a + (i0 + (rows > 2) * 2) * kp, *a3 = d->a + (i0 + (rows > 3) * 3) * kp;
    const int64_t p1 = p + 1 < npan ? p + 1 : p, cb = p * PW;
    const int8_t *q0 = d->bp + p * kc * CH, *q1 = d->bp + p1 * kc * CH;
    const int32_t *k0 = HASCOR ? cor + p * ng * PW : NULL, *k1 = HASCOR ? cor + p1 * ng * PW : NULL;
    const int cols = (int)(d->n - cb < 2 * PW ? d->n - cb : 2 * PW);
    /* init / fin are padded to groups of 32 columns */
    const __m512i ci0 = d->init ? _mm512_loadu_si512(d->init + cb) : _mm512_setzero_si512();
    const __m512i ci1 = d->init ? _mm512_loadu_si512(d->init + cb + PW) : _mm512_setzero_si512();
    const int32_t rhi = (int32_t)(((uint32_t)1 << (d->bits - 1)) - 1);
    __m512i vhi, vlo;
    int64_t c, g0, gi;
    T_DECL(0); T_DECL(1); T_DECL(2); T_DECL(3);
    if (GCH == 1) { /* one chunk per group; two per iteration: GCC then keeps the 24
                      * registers in place instead of copying them around vpdpbusd */
        for (c = 0; c + 2 <= kc; c += 2) {
            T_STEP1(c);
            T_STEP1(c + 1);
        }
        if (c < kc) T_STEP1(c);
    } else {
        for (g0 = 0, gi = 0; g0 < kc; g0 += GCH, gi++) {
            const int64_t ge = g0 + GCH < kc ? g0 + GCH : kc;
            for (c = g0; c < ge; c++) {
                const __m512i b0 = _mm512_loadu_si512(q0 + c * CH);
                const __m512i b1 = _mm512_loadu_si512(q1 + c * CH);
                T_DP(0, c); T_DP(1, c); T_DP(2, c); T_DP(3, c);
            }
            if (HASCOR) {
                const __m512i x0 = _mm512_loadu_si512(k0 + gi * PW);
                const __m512i x1 = _mm512_loadu_si512(k1 + gi * PW);
                T_ADD(0, x0, x1); T_ADD(1, x0, x1); T_ADD(2, x0, x1); T_ADD(3, x0, x1);
            }
            T_ALL(T_MM);
        }
    }
    if (d->fin) {
        const __m512i f0 = _mm512_loadu_si512(d->fin + cb);
        const __m512i f1 = _mm512_loadu_si512(d->fin + cb + PW);
        T_ADD(0, f0, f1); T_ADD(1, f0, f1); T_ADD(2, f0, f1); T_ADD(3, f0, f1);
        T_ALL(T_MM);
    }
    vhi = _mm512_set1_epi32(rhi); /* set here: not live (2 registers) across the loop */
    vlo = _mm512_set1_epi32(-rhi - 1);
    T_ALL(T_OUT);
}

#define DSTEPS_FN(name, HASCOR, GCH)                                                         \
    __attribute__((target(TGT)))                                                             \
    static void name(const dot_args *d, const int32_t *cor, int64_t gch)                     \
    {                                                                                        \
        const int64_t npan = (d->n + PW - 1) / PW;                                           \
        int64_t i0, p;                                                                       \
        (void)gch;                                                                           \
        for (i0 = 0; i0 < d->m; i0 += 4)                                                     \
            for (p = 0; p < npan; p += 2) dsteps_tile(d, cor, HASCOR, GCH, i0, p);           \
    }
DSTEPS_FN(dsteps_v1, 0, 1)
DSTEPS_FN(dsteps_v1c, 1, 1)
DSTEPS_FN(dsteps_v2, 0, 2) /* fan_in 8 and 16: the group loop unrolled at compile time */
DSTEPS_FN(dsteps_v2c, 1, 2)
DSTEPS_FN(dsteps_v4, 0, 4)
DSTEPS_FN(dsteps_v4c, 1, 4)
DSTEPS_FN(dsteps_vg, 0, gch)
DSTEPS_FN(dsteps_vgc, 1, gch)

/* the per-group corrections -off * sum b (wrapping int32 arithmetic) */
static int32_t *group_cor(const dot_args *d, int64_t gch)
{
    const int64_t npan = (d->n + PW - 1) / PW, ng = (d->kc + gch - 1) / gch;
    uint32_t *cor = (uint32_t *)calloc((size_t)(npan * ng * PW), sizeof(uint32_t));
    int64_t p, c, l, t;
    if (!cor) return NULL;
    for (p = 0; p < npan; p++)
        for (c = 0; c < d->kc; c++)
            for (l = 0; l < PW; l++) {
                int32_t s = 0;
                for (t = 0; t < 4; t++) s += d->bp[(p * d->kc + c) * CH + l * 4 + t];
                cor[(p * ng + c / gch) * PW + l] -= (uint32_t)(d->off * s); /* mod 2^32 */
            }
    return (int32_t *)cor;
}
#endif

int hw_mac_dot_vnni(void)
{
#ifdef HWI_SIMD
    return have_vnni512();
#else
    return 0;
#endif
}

static int dwrap_checked(const uint8_t *a, const int8_t *bp, const int32_t *cadd, int32_t *out,
                         int64_t m, int64_t n, int64_t k, int32_t bits, int portable)
{
    if (m < 0 || n < 0 || k < 0 || bits < 2 || bits > 32) return HW_E_SIZE;
    if (m && n && (!out || (k && (!a || !bp)))) return HW_E_SIZE;
#ifdef HWI_SIMD
    if (!portable && have_vnni512() && m && n) {
        dwrap_vnni(a, bp, cadd, out, m, n, k, bits);
        return HW_OK;
    }
#endif
    (void)portable;
    dwrap_portable(a, bp, cadd, out, m, n, k, bits);
    return HW_OK;
}

int hw_mac_dot_wrap(const uint8_t *a, const int8_t *bp, const int32_t *cadd, int32_t *out,
                    int64_t m, int64_t n, int64_t k, int32_t bits)
{
    return dwrap_checked(a, bp, cadd, out, m, n, k, bits, 0);
}

int hw_mac_dot_wrap_portable(const uint8_t *a, const int8_t *bp, const int32_t *cadd,
                             int32_t *out, int64_t m, int64_t n, int64_t k, int32_t bits)
{
    return dwrap_checked(a, bp, cadd, out, m, n, k, bits, 1);
}

static int dsteps_checked(const dot_args *d, int portable)
{
    if (d->m < 0 || d->n < 0 || d->k < 0 || d->bits < 2 || d->bits > 32 || d->off < 0 ||
        d->off > 255 || d->gsize < 4 || d->gsize % 4)
        return HW_E_SIZE;
    if (d->m && d->n && (!d->out || (d->k && (!d->a || !d->bp)))) return HW_E_SIZE;
    if (!d->m || !d->n) return HW_OK;
#ifdef HWI_SIMD
    if (!portable && d->k && have_vnni512() && spec_ok(d)) {
        const int64_t gch = d->gsize / 4;
        int32_t *own = NULL;
        const int32_t *cor = d->off ? d->cor : NULL;
        if (d->off && !cor) {
            cor = own = group_cor(d, gch);
            if (!own) return HW_E_NOMEM;
        }
        if (gch == 1) (cor ? dsteps_v1c : dsteps_v1)(d, cor, 1);
        else if (gch == 2) (cor ? dsteps_v2c : dsteps_v2)(d, cor, 2);
        else if (gch == 4) (cor ? dsteps_v4c : dsteps_v4)(d, cor, 4);
        else (cor ? dsteps_vgc : dsteps_vg)(d, cor, gch);
        free(own);
        return HW_OK;
    }
#endif
    (void)portable;
    (void)spec_ok;
    dsteps_portable(d);
    return HW_OK;
}

static dot_args dot_make(const uint8_t *a, const int8_t *bp, int32_t off, const int32_t *cor,
                         const int32_t *init,
                         const int32_t *fin, int32_t *out, int64_t *events, double *max_abs,
                         int64_t *width, int64_t m, int64_t n, int64_t k, int32_t fan_in,
                         int32_t bits, int32_t saturate)
{
    dot_args d;
    d.a = a; d.bp = bp; d.cor = cor; d.init = init; d.fin = fin; d.out = out; d.events = events;
    d.width = width; d.max_abs = max_abs; d.m = m; d.n = n; d.k = k; d.kc = (k + 3) / 4;
    d.off = off; d.gsize = fan_in; d.bits = bits; d.sat = saturate != 0;
    return d;
}

int hw_mac_dot_steps(const uint8_t *a, const int8_t *bp, int32_t off, const int32_t *cor,
                     const int32_t *init,
                     const int32_t *fin, int32_t *out, int64_t *events, double *max_abs,
                     int64_t *width, int64_t m, int64_t n, int64_t k, int32_t fan_in,
                     int32_t bits, int32_t saturate)
{
    dot_args d = dot_make(a, bp, off, cor, init, fin, out, events, max_abs, width, m, n, k, fan_in,
                          bits, saturate);
    return dsteps_checked(&d, 0);
}

int hw_mac_dot_steps_portable(const uint8_t *a, const int8_t *bp, int32_t off,
                              const int32_t *cor, const int32_t *init, const int32_t *fin, int32_t *out,
                              int64_t *events, double *max_abs, int64_t *width, int64_t m,
                              int64_t n, int64_t k, int32_t fan_in, int32_t bits,
                              int32_t saturate)
{
    dot_args d = dot_make(a, bp, off, cor, init, fin, out, events, max_abs, width, m, n, k, fan_in,
                          bits, saturate);
    return dsteps_checked(&d, 1);
}
