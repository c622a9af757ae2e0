/* hw_mac_fast_int.c -- fast paths of integer accumulators.
 * hw_mac_i16_wrap: modular sums (a wrapping register of <= 32 bits only needs
 * the sum modulo 2^32; any order gives it, so pairs of products are added
 * with one multiply-add instruction).  hw_mac_i32_steps: the register
 * stepped product by product (wrap or saturate), vectorised across columns,
 * with the statistics of hw_mac_gemm. */
#include "hw_internal.h"
#include <stdlib.h>
#ifdef HWI_SIMD
#include <immintrin.h>
#endif

#define PW 16

#ifdef HWI_SIMD
static int have_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}
#endif

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

#ifdef HWI_SIMD
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
#ifdef HWI_SIMD
    if (have_avx2()) {
        wrap_avx2(a, bp, out, m, n, k);
        return HW_OK;
    }
#endif
    wrap_portable(a, bp, out, m, n, k);
    return HW_OK;
}

/* ---- stepped registers with statistics ------------------------------- */
/* Portable reference loop (b packed like the float kernels: panels of 16). */
static void steps_portable(const int32_t *a, const int32_t *bp, const int32_t *init,
                           const int32_t *fin, int32_t *out, int32_t *events, int64_t *max_abs,
                           int32_t *width, int64_t m, int64_t n, int64_t k, int32_t bits, int sat)
{
    int64_t i, j, kk;
    for (i = 0; i < m; i++)
        for (j = 0; j < n; j++) {
            const int32_t *bc = bp + (j / PW) * k * PW + (j % PW);
            hwi_istep s;
            hwi_istep_init(&s, init ? init[j] : 0);
            for (kk = 0; kk < k; kk++) hwi_istep_add(&s, (int64_t)a[i * k + kk] * bc[kk * PW], bits, sat);
            if (fin) hwi_istep_add(&s, fin[j], bits, sat);
            out[i * n + j] = (int32_t)s.acc;
            if (events) events[i * n + j] = s.ev;
            if (max_abs) max_abs[i * n + j] = s.mx;
            if (width) width[i * n + j] = hwi_istep_width(&s);
        }
}

#ifdef HWI_SIMD
/* One row x 32 columns (two panels, four vectors) per block.  Register of
 * `bits` <= 31: s = acc + x never overflows int32 (precondition); 32 bits
 * (WIDE): s wraps in int32 and a signed-overflow test recovers the event and
 * |exact s| (as an unsigned 32-bit magnitude). */
#define SDECL(i)                                                                             \
    __m256i c##i = init ? _mm256_loadu_si256((const __m256i *)(init + cb + 8 * (i)))          \
                        : _mm256_setzero_si256();                                             \
    __m256i ev##i = _mm256_setzero_si256(), hi##i = c##i, lo##i = c##i, pr##i = c##i,          \
            ph##i = c##i, pl##i = c##i, mg##i = _mm256_abs_epi32(c##i)
#define SSTEP(i, x)                                                                          \
    do {                                                                                     \
        __m256i x_ = (x), s_ = _mm256_add_epi32(c##i, x_), v_;                                \
        if (!WIDE) {                                                                         \
            v_ = SAT ? _mm256_min_epi32(_mm256_max_epi32(s_, vlo), vhi)                      \
                     : _mm256_sra_epi32(_mm256_sll_epi32(s_, shc), shc);                      \
            if (STATS) {                                                                     \
                ev##i = _mm256_sub_epi32(ev##i, _mm256_cmpeq_epi32(v_, s_));                  \
                hi##i = _mm256_max_epi32(hi##i, s_);                                          \
                lo##i = _mm256_min_epi32(lo##i, s_);                                          \
            }                                                                                \
        } else {                                                                             \
            __m256i ov_ = _mm256_and_si256(_mm256_xor_si256(c##i, s_), _mm256_xor_si256(x_, s_)); \
            ov_ = _mm256_srai_epi32(ov_, 31); /* all ones where the int32 add overflowed */  \
            v_ = SAT ? _mm256_blendv_epi8(s_, _mm256_xor_si256(_mm256_srai_epi32(x_, 31), vhi), ov_) \
                     : s_;                                                                   \
            if (STATS) {                                                                     \
                __m256i m_ = _mm256_abs_epi32(s_);                                            \
                m_ = _mm256_blendv_epi8(m_, _mm256_sub_epi32(_mm256_setzero_si256(), m_), ov_); \
                ev##i = _mm256_sub_epi32(ev##i, ov_);                                         \
                mg##i = _mm256_max_epu32(mg##i, m_);                                          \
            }                                                                                \
        }                                                                                    \
        if (STATS) {                                                                         \
            pr##i = _mm256_add_epi32(pr##i, x_);                                              \
            ph##i = _mm256_max_epi32(ph##i, pr##i);                                           \
            pl##i = _mm256_min_epi32(pl##i, pr##i);                                           \
        }                                                                                    \
        c##i = v_;                                                                           \
    } while (0)
#define SSTORE(i)                                                                            \
    do {                                                                                     \
        _mm256_storeu_si256((__m256i *)(t_c + 8 * (i)), c##i);                                \
        _mm256_storeu_si256((__m256i *)(t_e + 8 * (i)), ev##i);                               \
        _mm256_storeu_si256((__m256i *)(t_h + 8 * (i)), hi##i);                               \
        _mm256_storeu_si256((__m256i *)(t_l + 8 * (i)), lo##i);                               \
        _mm256_storeu_si256((__m256i *)(t_ph + 8 * (i)), ph##i);                              \
        _mm256_storeu_si256((__m256i *)(t_pl + 8 * (i)), pl##i);                              \
        _mm256_storeu_si256((__m256i *)(t_m + 8 * (i)), mg##i);                               \
    } while (0)

static inline int32_t width32(int32_t v)
{
    uint32_t t = (uint32_t)(v < 0 ? ~v : v);
    return t ? 33 - __builtin_clz(t) : 1;
}

__attribute__((target("avx2"), always_inline))
static inline void steps_body(const int32_t *a, const int32_t *bp, const int32_t *init,
                              const int32_t *fin, int32_t *out, int32_t *events,
                              int64_t *max_abs, int32_t *width, int64_t m, int64_t n, int64_t k,
                              int32_t bits, const int SAT, const int STATS, const int WIDE)
{
    const __m256i vhi = _mm256_set1_epi32((int32_t)((1u << (bits - 1)) - 1));
    const __m256i vlo = _mm256_set1_epi32(-(int32_t)((1u << (bits - 1)) - 1) - 1);
    const __m128i shc = _mm_cvtsi32_si128(32 - bits);
    const int64_t npan = (n + PW - 1) / PW;
    int64_t i, p, kk;
    for (i = 0; i < m; i++) {
        const int32_t *ar = a + i * k;
        for (p = 0; p < npan; p += 2) {
            const int64_t cb = p * PW;
            const int32_t *q0 = bp + p * k * PW, *q1 = bp + (p + 1 < npan ? p + 1 : p) * k * PW;
            int cols = (int)(n - cb < 2 * PW ? n - cb : 2 * PW), q;
            int32_t t_c[32], t_e[32], t_h[32], t_l[32], t_ph[32], t_pl[32];
            uint32_t t_m[32];
            SDECL(0); SDECL(1); SDECL(2); SDECL(3);
            for (kk = 0; kk < k; kk++) {
                __m256i av = _mm256_set1_epi32(ar[kk]);
                SSTEP(0, _mm256_mullo_epi32(av, _mm256_loadu_si256((const __m256i *)(q0 + kk * PW))));
                SSTEP(1, _mm256_mullo_epi32(av, _mm256_loadu_si256((const __m256i *)(q0 + kk * PW + 8))));
                SSTEP(2, _mm256_mullo_epi32(av, _mm256_loadu_si256((const __m256i *)(q1 + kk * PW))));
                SSTEP(3, _mm256_mullo_epi32(av, _mm256_loadu_si256((const __m256i *)(q1 + kk * PW + 8))));
            }
            if (fin) {
                SSTEP(0, _mm256_loadu_si256((const __m256i *)(fin + cb)));
                SSTEP(1, _mm256_loadu_si256((const __m256i *)(fin + cb + 8)));
                SSTEP(2, _mm256_loadu_si256((const __m256i *)(fin + cb + 16)));
                SSTEP(3, _mm256_loadu_si256((const __m256i *)(fin + cb + 24)));
            }
            SSTORE(0); SSTORE(1); SSTORE(2); SSTORE(3);
            for (q = 0; q < cols; q++) {
                int64_t o = i * n + cb + q;
                out[o] = t_c[q];
                if (!STATS) continue;
                if (events) events[o] = WIDE ? t_e[q] : (int32_t)(k + (fin != NULL)) - t_e[q];
                if (max_abs) {
                    int64_t h = t_h[q], l = t_l[q];
                    max_abs[o] = WIDE ? (int64_t)t_m[q] : (h > -l ? h : -l);
                }
                if (width) {
                    int32_t w1 = width32(t_ph[q]), w2 = width32(t_pl[q]);
                    width[o] = w1 > w2 ? w1 : w2;
                }
            }
        }
    }
}

#define STEPS_ARGS a, bp, init, fin, out, events, max_abs, width, m, n, k, bits
__attribute__((target("avx2")))
static void steps_avx2(const int32_t *a, const int32_t *bp, const int32_t *init,
                       const int32_t *fin, int32_t *out, int32_t *events, int64_t *max_abs,
                       int32_t *width, int64_t m, int64_t n, int64_t k, int32_t bits, int sat,
                       int stats)
{
    int wide = bits == 32;
    if (wide) {
        if (sat) { if (stats) steps_body(STEPS_ARGS, 1, 1, 1); else steps_body(STEPS_ARGS, 1, 0, 1); }
        else { if (stats) steps_body(STEPS_ARGS, 0, 1, 1); else steps_body(STEPS_ARGS, 0, 0, 1); }
    } else if (sat) {
        if (stats) steps_body(STEPS_ARGS, 1, 1, 0); else steps_body(STEPS_ARGS, 1, 0, 0);
    } else {
        if (stats) steps_body(STEPS_ARGS, 0, 1, 0); else steps_body(STEPS_ARGS, 0, 0, 0);
    }
}
#endif

int hw_mac_i32_steps(const int32_t *a, const int32_t *bp, const int32_t *init,
                     const int32_t *fin, int32_t *out, int32_t *events, int64_t *max_abs,
                     int32_t *width, int64_t m, int64_t n, int64_t k, int32_t bits,
                     int32_t saturate)
{
    if (m < 0 || n < 0 || k < 0 || bits < 2 || bits > 32) return HW_E_SIZE;
    if (m && n && (!out || (k && (!a || !bp)))) return HW_E_SIZE;
#ifdef HWI_SIMD
    if (have_avx2()) {
        const int st = events || max_abs || width;
        const int64_t npair = (n + 2 * PW - 1) / (2 * PW);
        uint8_t *bad = m > 0 && n > 0 ? (uint8_t *)malloc((size_t)(m * npair)) : NULL;
        if (bad && hwi_i32_steps_vnni(a, bp, init, fin, out, events, max_abs, width, m, n, k,
                                      bits, bad)) {
            int64_t i, q; /* 32-column blocks with an output that left the register's
                           * range: stepped exactly (one row, one block: m = 1, n <= 32) */
            for (i = 0; i < m; i++)
                for (q = 0; q < npair; q++) {
                    const int64_t cb = q * 2 * PW, o = i * n + cb;
                    if (!bad[i * npair + q]) continue;
                    steps_avx2(a + i * k, bp + cb * k, init ? init + cb : NULL,
                               fin ? fin + cb : NULL, out + o, events ? events + o : NULL,
                               max_abs ? max_abs + o : NULL, width ? width + o : NULL, 1,
                               n - cb < 2 * PW ? n - cb : 2 * PW, k, bits, saturate != 0, st);
                }
        } else
            steps_avx2(a, bp, init, fin, out, events, max_abs, width, m, n, k, bits,
                       saturate != 0, st);
        free(bad);
        return HW_OK;
    }
#endif
    steps_portable(a, bp, init, fin, out, events, max_abs, width, m, n, k, bits, saturate != 0);
    return HW_OK;
}

int hw_mac_i32_steps_portable(const int32_t *a, const int32_t *bp, const int32_t *init,
                              const int32_t *fin, int32_t *out, int32_t *events,
                              int64_t *max_abs, int32_t *width, int64_t m, int64_t n, int64_t k,
                              int32_t bits, int32_t saturate)
{
    if (m < 0 || n < 0 || k < 0 || bits < 2 || bits > 32) return HW_E_SIZE;
    if (m && n && (!out || (k && (!a || !bp)))) return HW_E_SIZE;
    steps_portable(a, bp, init, fin, out, events, max_abs, width, m, n, k, bits, saturate != 0);
    return HW_OK;
}
