/* hw_mac_fast_int.c -- fast paths of integer accumulators.
 * hw_mac_i16_wrap: modular sums (a wrapping register of <= 32 bits only needs
 * the sum modulo 2^32; any order gives it, so pairs of products are added
 * with one multiply-add instruction).  hw_mac_i32_steps: the register
 * stepped product by product (wrap or saturate), vectorised across columns,
 * with the statistics of hw_mac_gemm. */
#include "hw_internal.h"
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HWI_X86 1
#endif

#define PW 16

static int have_avx2(void)
{
#ifdef HWI_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
#else
    return 0;
#endif
}

/* ---- modular sums ----------------------------------------------------- */
static void wrap_portable(const int16_t *a, const int16_t *bp, int32_t *out, int64_t m,
                          int64_t n, int64_t k)
{
    int64_t kp = (k + 1) & ~(int64_t)1, i, j, kk;
    for (i = 0; i < m; i++)
        for (j = 0; j < n; j++) {
            const int16_t *bc = bp + (j / PW) * kp * PW + (j % PW) * 2;
            uint32_t s = 0;
            for (kk = 0; kk < k; kk++)
                s += (uint32_t)((int32_t)a[i * k + kk] * (int32_t)bc[(kk / 2) * 2 * PW + (kk & 1)]);
            out[i * n + j] = (int32_t)s;
        }
}

#ifdef HWI_X86
#define WMADD(r, pr)                                                                         \
    do {                                                                                     \
        __m256i av_ = _mm256_set1_epi32(pr);                                                  \
        c##r##0 = _mm256_add_epi32(c##r##0, _mm256_madd_epi16(av_, b0));                      \
        c##r##1 = _mm256_add_epi32(c##r##1, _mm256_madd_epi16(av_, b1));                      \
    } while (0)

static inline int32_t pair_at(const int16_t *x, int64_t kk)
{
    int32_t v;
    memcpy(&v, x + kk, 4);
    return v;
}

__attribute__((target("avx2")))
static void wrap_store(__m256i c0, __m256i c1, int32_t *orow, int cols)
{
    int32_t t[PW];
    int q;
    _mm256_storeu_si256((__m256i *)t, c0);
    _mm256_storeu_si256((__m256i *)(t + 8), c1);
    for (q = 0; q < cols; q++) orow[q] = t[q];
}

/* blocks of 4 rows x 16 columns; pairs of k per multiply-add */
__attribute__((target("avx2")))
static void wrap_avx2(const int16_t *a, const int16_t *bp, int32_t *out, int64_t m, int64_t n,
                      int64_t k)
{
    int64_t kp = (k + 1) & ~(int64_t)1, i0, p, kk;
    for (i0 = 0; i0 < m; i0 += 4) {
        int rows = (int)(m - i0 < 4 ? m - i0 : 4), r;
        const int16_t *a0 = a + i0 * k, *a1 = a + (i0 + (rows > 1)) * k;
        const int16_t *a2 = a + (i0 + (rows > 2) * 2) * k, *a3 = a + (i0 + (rows > 3) * 3) * k;
        for (p = 0; p * PW < n; p++) {
            const int16_t *b = bp + p * kp * PW;
            int cols = (int)(n - p * PW < PW ? n - p * PW : PW);
            __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00,
                    c21 = c00, c30 = c00, c31 = c00, b0, b1;
            for (kk = 0; kk + 1 < k; kk += 2) {
                b0 = _mm256_loadu_si256((const __m256i *)(b + kk * PW));
                b1 = _mm256_loadu_si256((const __m256i *)(b + kk * PW + 16));
                WMADD(0, pair_at(a0, kk)); WMADD(1, pair_at(a1, kk));
                WMADD(2, pair_at(a2, kk)); WMADD(3, pair_at(a3, kk));
            }
            if (k & 1) { /* the last term's partner in b is zero padding */
                b0 = _mm256_loadu_si256((const __m256i *)(b + (k - 1) * PW));
                b1 = _mm256_loadu_si256((const __m256i *)(b + (k - 1) * PW + 16));
                WMADD(0, (int32_t)(uint16_t)a0[k - 1]); WMADD(1, (int32_t)(uint16_t)a1[k - 1]);
                WMADD(2, (int32_t)(uint16_t)a2[k - 1]); WMADD(3, (int32_t)(uint16_t)a3[k - 1]);
            }
            for (r = 0; r < rows; r++) {
                __m256i x0 = r == 0 ? c00 : r == 1 ? c10 : r == 2 ? c20 : c30;
                __m256i x1 = r == 0 ? c01 : r == 1 ? c11 : r == 2 ? c21 : c31;
                wrap_store(x0, x1, out + (i0 + r) * n + p * PW, cols);
            }
        }
    }
}
#endif

int hw_mac_i16_wrap(const int16_t *a, const int16_t *bp, int32_t *out, int64_t m, int64_t n,
                    int64_t k)
{
    if (m < 0 || n < 0 || k < 0 || (m && n && (!out || (k && (!a || !bp))))) return HW_E_SIZE;
#ifdef HWI_X86
    if (have_avx2()) {
        wrap_avx2(a, bp, out, m, n, k);
        return HW_OK;
    }
#endif
    wrap_portable(a, bp, out, m, n, k);
    return HW_OK;
}

/* ---- stepped registers with statistics ------------------------------- */
#define SR 4   /* rows per block */
#define SC 64  /* columns per block */

typedef struct stepper {
    int32_t acc[SR][SC], ev[SR][SC], pre[SR][SC], pmax[SR][SC], pmin[SR][SC];
    int64_t smax[SR][SC], smin[SR][SC];
} stepper;

/* one add into the register: s = acc + x, exact in int32 by the preconditions
 * (in int64 when the register has 32 bits) */
#define STEP(SAT, STATS, WIDE)                                                               \
    do {                                                                                     \
        int64_t s_ = WIDE ? (int64_t)acc[r][q] + x : (int64_t)(acc[r][q] + x);               \
        int32_t v_;                                                                          \
        if (SAT) v_ = (int32_t)(s_ < lo ? lo : (s_ > hi ? hi : s_));                         \
        else v_ = (int32_t)((uint32_t)(uint64_t)s_ << sh) >> sh;                             \
        acc[r][q] = v_;                                                                      \
        if (STATS) {                                                                         \
            ev[r][q] += v_ != s_;                                                            \
            smax[r][q] = s_ > smax[r][q] ? s_ : smax[r][q];                                  \
            smin[r][q] = s_ < smin[r][q] ? s_ : smin[r][q];                                  \
            pre[r][q] += x;                                                                  \
            pmax[r][q] = pre[r][q] > pmax[r][q] ? pre[r][q] : pmax[r][q];                    \
            pmin[r][q] = pre[r][q] < pmin[r][q] ? pre[r][q] : pmin[r][q];                    \
        }                                                                                    \
    } while (0)

static inline int32_t width32(int32_t v)
{
    uint32_t t = (uint32_t)(v < 0 ? ~v : v);
    return t ? 33 - __builtin_clz(t) : 1;
}

__attribute__((always_inline))
static inline void steps_body(const int32_t *restrict a, const int32_t *restrict b,
                              const int32_t *init, const int32_t *fin, int32_t *out,
                              int32_t *events, int64_t *max_abs, int32_t *width, int64_t m,
                              int64_t n, int64_t k, int32_t bits, const int SAT,
                              const int STATS, const int WIDE, stepper *restrict st)
{
    const int32_t hi = (int32_t)((1u << (bits - 1)) - 1), lo = -hi - 1;
    const int sh = 32 - bits; /* 0 for 32-bit registers: the wrap is the int32 cast */
    int32_t (*restrict acc)[SC] = st->acc, (*restrict ev)[SC] = st->ev;
    int64_t (*restrict smax)[SC] = st->smax, (*restrict smin)[SC] = st->smin;
    int32_t (*restrict pre)[SC] = st->pre, (*restrict pmax)[SC] = st->pmax;
    int32_t (*restrict pmin)[SC] = st->pmin;
    int64_t i0, j0, kk;
    int r, q;
    for (i0 = 0; i0 < m; i0 += SR) {
        int rows = (int)(m - i0 < SR ? m - i0 : SR);
        for (j0 = 0; j0 < n; j0 += SC) {
            int cols = (int)(n - j0 < SC ? n - j0 : SC);
            for (r = 0; r < SR; r++)
                for (q = 0; q < SC; q++) {
                    int32_t v0 = (init && q < cols) ? init[j0 + q] : 0;
                    acc[r][q] = pre[r][q] = v0;
                    smax[r][q] = smin[r][q] = pmax[r][q] = pmin[r][q] = v0;
                    ev[r][q] = 0;
                }
            for (kk = 0; kk < k; kk++) {
                const int32_t *restrict brow = b + kk * n + j0;
                for (r = 0; r < SR; r++) {
                    int32_t av = a[(i0 + (r < rows ? r : 0)) * k + kk];
                    if (cols == SC) {
                        for (q = 0; q < SC; q++) { int32_t x = av * brow[q]; STEP(SAT, STATS, WIDE); }
                    } else {
                        for (q = 0; q < cols; q++) { int32_t x = av * brow[q]; STEP(SAT, STATS, WIDE); }
                    }
                }
            }
            for (r = 0; r < rows; r++)
                for (q = 0; q < cols; q++) {
                    int64_t o = (i0 + r) * n + j0 + q;
                    if (fin) { int32_t x = fin[j0 + q]; STEP(SAT, STATS, WIDE); }
                    out[o] = acc[r][q];
                    if (!STATS) continue;
                    if (events) events[o] = ev[r][q];
                    if (max_abs) max_abs[o] = smax[r][q] > -smin[r][q] ? smax[r][q] : -smin[r][q];
                    if (width) {
                        int32_t w1 = width32(pmax[r][q]), w2 = width32(pmin[r][q]);
                        width[o] = w1 > w2 ? w1 : w2;
                    }
                }
        }
    }
}

#define STEPS_ARGS a, b, init, fin, out, events, max_abs, width, m, n, k, bits
#define STEPS_DISPATCH                                                                       \
    do {                                                                                     \
        if (bits == 32 && sat) steps_body(STEPS_ARGS, 1, stats, 1, st);                      \
        else if (bits == 32) steps_body(STEPS_ARGS, 0, stats, 1, st);                        \
        else if (sat && stats) steps_body(STEPS_ARGS, 1, 1, 0, st);                          \
        else if (sat) steps_body(STEPS_ARGS, 1, 0, 0, st);                                   \
        else if (stats) steps_body(STEPS_ARGS, 0, 1, 0, st);                                 \
        else steps_body(STEPS_ARGS, 0, 0, 0, st);                                            \
    } while (0)

#ifdef HWI_X86
__attribute__((target("avx2")))
static void steps_avx2(const int32_t *a, const int32_t *b, const int32_t *init,
                       const int32_t *fin, int32_t *out, int32_t *events, int64_t *max_abs,
                       int32_t *width, int64_t m, int64_t n, int64_t k, int32_t bits, int sat,
                       int stats, stepper *st)
{
    STEPS_DISPATCH;
}
#endif

static void steps_portable(const int32_t *a, const int32_t *b, const int32_t *init,
                           const int32_t *fin, int32_t *out, int32_t *events, int64_t *max_abs,
                           int32_t *width, int64_t m, int64_t n, int64_t k, int32_t bits,
                           int sat, int stats, stepper *st)
{
    STEPS_DISPATCH;
}

int hw_mac_i32_steps(const int32_t *a, const int32_t *b, const int32_t *init,
                     const int32_t *fin, int32_t *out, int32_t *events, int64_t *max_abs,
                     int32_t *width, int64_t m, int64_t n, int64_t k, int32_t bits,
                     int32_t saturate)
{
    stepper st;
    int stats = events || max_abs || width;
    if (m < 0 || n < 0 || k < 0 || bits < 2 || bits > 32) return HW_E_SIZE;
    if (m && n && (!out || (k && (!a || !b)))) return HW_E_SIZE;
#ifdef HWI_X86
    if (have_avx2()) {
        steps_avx2(a, b, init, fin, out, events, max_abs, width, m, n, k, bits, saturate != 0,
                   stats, &st);
        return HW_OK;
    }
#endif
    steps_portable(a, b, init, fin, out, events, max_abs, width, m, n, k, bits, saturate != 0,
                   stats, &st);
    return HW_OK;
}
