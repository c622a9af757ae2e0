/* hw_mac_fast_f32.c -- fast paths of sequential floating accumulators:
 * binary32 rne with products exact in binary32 (fused multiply-add: the
 * product is exact, so fma(a, b, acc) = round(acc + a*b)), and binary16 /
 * bfloat16 registers emulated with binary32 arithmetic: s = acc + p and its
 * exact error e (TwoSum) give round-to-odd(acc + p) at 24 bits, which rounds
 * correctly to any precision <= 22 bits; F16C / bit arithmetic then rounds it
 * into the register.  Shortcuts where double rounding is provably innocuous:
 * rne when every addend has at most p (register precision) bits (24 >= 2p +
 * 2, Figueroa 1995), and rtz with the binary32 add itself rounding toward
 * zero (MXCSR, restored afterwards): truncating twice truncates once.
 * AVX2 + FMA + F16C kernels with runtime dispatch; a portable loop for
 * binary32 rne elsewhere.  Outputs are independent: the k order
 * of each stays sequential. */
#include <math.h>
#include "hw_internal.h"
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HWI_X86 1
#else
#include <fenv.h>
#endif

#define PW 16 /* columns per packed panel of b */

/* the floating-point environment is IEEE default: rne, no FTZ / DAZ */
static int env_ok(void)
{
#ifdef HWI_X86
    return (_mm_getcsr() & 0xE040u) == 0;
#else
    return fegetround() == FE_TONEAREST;
#endif
}

static int have_avx2(void)
{
#ifdef HWI_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

/* ---- binary32: portable ---------------------------------------------- */
static void f32_portable(const float *a, const float *bp, const float *init, const float *fin,
                         float *out, float *mx, int64_t m, int64_t n, int64_t k)
{
    int64_t i, j, kk;
    for (i = 0; i < m; i++) {
        for (j = 0; j < n; j++) {
            const float *bc = bp + (j / PW) * k * PW + (j % PW);
            const float *ar = a + i * k;
            float acc = init ? init[j] : 0.0f, mv = init ? fabsf(acc) : 0.0f;
            for (kk = 0; kk < k; kk++) {
                float p = ar[kk] * bc[kk * PW]; /* exact */
                acc = acc + p;
                if (fabsf(acc) > mv) mv = fabsf(acc);
            }
            if (fin) {
                acc = acc + fin[j];
                if (fabsf(acc) > mv) mv = fabsf(acc);
            }
            out[i * n + j] = acc;
            if (mx) mx[i * n + j] = mv;
        }
    }
}

#ifdef HWI_X86
/* Blocks of 6 rows x 16 columns (3 x 16 when tracking max |acc|) over all k,
 * accumulators in named registers (arrays would live on the stack). */
#define F32_LD(r, h) (init ? _mm256_loadu_ps(init + p * PW + 8 * (h)) : _mm256_setzero_ps())
#define F32_FMA(r)                                                                           \
    do {                                                                                     \
        __m256 av_ = _mm256_broadcast_ss(a##r + kk);                                          \
        c##r##0 = _mm256_fmadd_ps(av_, b0, c##r##0);                                          \
        c##r##1 = _mm256_fmadd_ps(av_, b1, c##r##1);                                          \
    } while (0)
#define F32_MAX(r)                                                                           \
    do {                                                                                     \
        m##r##0 = _mm256_max_ps(_mm256_and_ps(c##r##0, absm), m##r##0);                       \
        m##r##1 = _mm256_max_ps(_mm256_and_ps(c##r##1, absm), m##r##1);                       \
    } while (0)

/* write one row of a block: + fin, max, store the valid columns */
__attribute__((target("avx2,fma")))
static void f32_store(__m256 c0, __m256 c1, __m256 m0, __m256 m1, const float *fin, int64_t p,
                      float *orow, float *mrow, int cols)
{
    const __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    float tc[PW], tm[PW];
    int q;
    if (fin) {
        c0 = _mm256_add_ps(c0, _mm256_loadu_ps(fin + p * PW));
        c1 = _mm256_add_ps(c1, _mm256_loadu_ps(fin + p * PW + 8));
        m0 = _mm256_max_ps(_mm256_and_ps(c0, absm), m0);
        m1 = _mm256_max_ps(_mm256_and_ps(c1, absm), m1);
    }
    _mm256_storeu_ps(tc, c0);
    _mm256_storeu_ps(tc + 8, c1);
    _mm256_storeu_ps(tm, m0);
    _mm256_storeu_ps(tm + 8, m1);
    for (q = 0; q < cols; q++) {
        orow[q] = tc[q];
        if (mrow) mrow[q] = tm[q];
    }
}

__attribute__((target("avx2,fma")))
static void f32_run6(const float *a, const float *bp, const float *init, const float *fin,
                     float *out, int64_t m, int64_t n, int64_t k)
{
    const __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    int64_t i0, p, kk;
    for (i0 = 0; i0 < m; i0 += 6) {
        int rows = (int)(m - i0 < 6 ? m - i0 : 6), r;
        const float *a0 = a + i0 * k;
        const float *a1 = a + (i0 + (rows > 1)) * k, *a2 = a + (i0 + (rows > 2) * 2) * k;
        const float *a3 = a + (i0 + (rows > 3) * 3) * k, *a4 = a + (i0 + (rows > 4) * 4) * k;
        const float *a5 = a + (i0 + (rows > 5) * 5) * k;
        for (p = 0; p * PW < n; p++) {
            const float *b = bp + p * k * PW;
            int cols = (int)(n - p * PW < PW ? n - p * PW : PW);
            __m256 c00 = F32_LD(0, 0), c01 = F32_LD(0, 1), c10 = c00, c11 = c01, c20 = c00,
                   c21 = c01, c30 = c00, c31 = c01, c40 = c00, c41 = c01, c50 = c00, c51 = c01;
            __m256 z = _mm256_setzero_ps();
            for (kk = 0; kk < k; kk++) {
                __m256 b0 = _mm256_loadu_ps(b + kk * PW), b1 = _mm256_loadu_ps(b + kk * PW + 8);
                F32_FMA(0); F32_FMA(1); F32_FMA(2); F32_FMA(3); F32_FMA(4); F32_FMA(5);
            }
            for (r = 0; r < rows; r++) {
                __m256 x0 = r == 0 ? c00 : r == 1 ? c10 : r == 2 ? c20 : r == 3 ? c30 : r == 4 ? c40 : c50;
                __m256 x1 = r == 0 ? c01 : r == 1 ? c11 : r == 2 ? c21 : r == 3 ? c31 : r == 4 ? c41 : c51;
                f32_store(x0, x1, z, z, fin, p, out + (i0 + r) * n + p * PW, NULL, cols);
            }
            (void)absm;
        }
    }
}

__attribute__((target("avx2,fma")))
static void f32_run3(const float *a, const float *bp, const float *init, const float *fin,
                     float *out, float *mx, int64_t m, int64_t n, int64_t k)
{
    const __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    int64_t i0, p, kk;
    for (i0 = 0; i0 < m; i0 += 3) {
        int rows = (int)(m - i0 < 3 ? m - i0 : 3), r;
        const float *a0 = a + i0 * k;
        const float *a1 = a + (i0 + (rows > 1)) * k, *a2 = a + (i0 + (rows > 2) * 2) * k;
        for (p = 0; p * PW < n; p++) {
            const float *b = bp + p * k * PW;
            int cols = (int)(n - p * PW < PW ? n - p * PW : PW);
            __m256 c00 = F32_LD(0, 0), c01 = F32_LD(0, 1), c10 = c00, c11 = c01, c20 = c00,
                   c21 = c01;
            __m256 m00 = _mm256_and_ps(c00, absm), m01 = _mm256_and_ps(c01, absm);
            __m256 m10 = m00, m11 = m01, m20 = m00, m21 = m01;
            for (kk = 0; kk < k; kk++) {
                __m256 b0 = _mm256_loadu_ps(b + kk * PW), b1 = _mm256_loadu_ps(b + kk * PW + 8);
                F32_FMA(0); F32_MAX(0); F32_FMA(1); F32_MAX(1); F32_FMA(2); F32_MAX(2);
            }
            for (r = 0; r < rows; r++) {
                __m256 x0 = r == 0 ? c00 : r == 1 ? c10 : c20, x1 = r == 0 ? c01 : r == 1 ? c11 : c21;
                __m256 y0 = r == 0 ? m00 : r == 1 ? m10 : m20, y1 = r == 0 ? m01 : r == 1 ? m11 : m21;
                f32_store(x0, x1, y0, y1, fin, p, out + (i0 + r) * n + p * PW,
                          mx + (i0 + r) * n + p * PW, cols);
            }
        }
    }
}
#endif

#ifdef HWI_X86
/* round toward zero in MXCSR for the duration of a kernel; returns the old value */
static unsigned mxcsr_rz(void)
{
    unsigned old = _mm_getcsr();
    _mm_setcsr(old | 0x6000u);
    return old;
}
#endif

int hw_mac_f32_seq(const float *a, const float *bp, const float *init, const float *fin,
                   float *out, float *max_abs, int64_t m, int64_t n, int64_t k, int32_t rounding)
{
    if (m < 0 || n < 0 || k < 0 || (m && n && (!out || (k && (!a || !bp))))) return HW_E_SIZE;
    if (rounding != HW_ROUND_RNE && rounding != HW_ROUND_RTZ) return HW_E_MODE;
    if (!env_ok()) return HW_E_MODE;
#ifdef HWI_X86
    if (have_avx2()) {
        unsigned old = rounding == HW_ROUND_RTZ ? mxcsr_rz() : 0;
        if (max_abs) f32_run3(a, bp, init, fin, out, max_abs, m, n, k);
        else f32_run6(a, bp, init, fin, out, m, n, k);
        if (rounding == HW_ROUND_RTZ) _mm_setcsr(old);
        return HW_OK;
    }
#endif
    if (rounding != HW_ROUND_RNE) return HW_E_MODE;
    f32_portable(a, bp, init, fin, out, max_abs, m, n, k);
    return HW_OK;
}

/* ---- binary16 / bfloat16 registers ------------------------------------ */
#ifdef HWI_X86
/* acc <- round(acc + p) into the register format (FMT 0 binary16, 1 bfloat16).
 * MODE 0: rne, every addend has <= p significant bits: s = fl32(acc + p) is
 *         rounded again (double rounding is innocuous: 24 >= 2p + 2);
 * MODE 1: rtz, MXCSR rounds toward zero: s = trunc24(acc + p), truncated again;
 * MODE 2: rne, any exact binary32 products: round-to-odd(acc + p) from s and
 *         its exact TwoSum error, rounded again.
 * STATS: overflow events (thr: where rounding exceeds the largest finite) and
 * max |register|. */
__attribute__((target("avx2,fma,f16c"), always_inline))
static inline __m256 narrow_add(__m256 acc, __m256 p, const int FMT, const int MODE,
                                const int STATS, __m256i *ev, __m256 *mv, __m256 thr)
{
    const __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    const __m256i one = _mm256_set1_epi32(1);
    __m256 s = _mm256_add_ps(acc, p), r;
    __m256i si = _mm256_castps_si256(s);
    if (MODE == 2) {
        __m256 bb = _mm256_sub_ps(s, acc);
        __m256 e = _mm256_add_ps(_mm256_sub_ps(acc, _mm256_sub_ps(s, bb)), _mm256_sub_ps(p, bb));
        __m256i ei = _mm256_castps_si256(e);
        __m256i nz = _mm256_castps_si256(_mm256_cmp_ps(e, _mm256_setzero_ps(), _CMP_NEQ_UQ));
        __m256i opp = _mm256_srai_epi32(_mm256_xor_si256(si, ei), 31);
        si = _mm256_add_epi32(si, _mm256_and_si256(opp, nz)); /* truncate toward zero */
        si = _mm256_or_si256(si, _mm256_and_si256(nz, one));  /* odd when inexact */
        s = _mm256_castsi256_ps(si);
    }
    if (STATS)
        *ev = _mm256_sub_epi32(*ev, _mm256_castps_si256(
                                        _mm256_cmp_ps(_mm256_and_ps(s, absm), thr, _CMP_GE_OQ)));
    if (FMT == 0) {
        __m128i h = MODE == 1 ? _mm256_cvtps_ph(s, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC)
                              : _mm256_cvtps_ph(s, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        r = _mm256_cvtph_ps(h);
    } else {
        const __m256i hi = _mm256_set1_epi32((int)0xFFFF0000u);
        if (MODE != 1) {
            __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(si, 16), one);
            si = _mm256_add_epi32(si, _mm256_add_epi32(_mm256_set1_epi32(0x7FFF), lsb));
        }
        r = _mm256_castsi256_ps(_mm256_and_si256(si, hi));
    }
    if (STATS) *mv = _mm256_max_ps(_mm256_and_ps(r, absm), *mv);
    return r;
}

/* one row x 64 columns (four panels: eight independent dependency chains) at a
 * time, registers held in named variables */
#define NLOAD(i)                                                                             \
    __m256 c##i = init ? _mm256_loadu_ps(init + cb + 8 * (i)) : _mm256_setzero_ps();           \
    __m256 m##i = _mm256_and_ps(c##i, absm);                                                  \
    __m256i e##i = _mm256_setzero_si256()
#define NSTEP(i, bptr, off)                                                                  \
    c##i = narrow_add(c##i, _mm256_mul_ps(av, _mm256_loadu_ps((bptr) + kk * PW + (off))),     \
                      FMT, MODE, STATS, &e##i, &m##i, thr)
#define NFIN(i)                                                                              \
    do {                                                                                     \
        if (fin) c##i = narrow_add(c##i, _mm256_loadu_ps(fin + cb + 8 * (i)), FMT, MODE, 1,    \
                                   &e##i, &m##i, thr);                                        \
        _mm256_storeu_ps(tc + 8 * (i), c##i);                                                 \
        _mm256_storeu_ps(tm + 8 * (i), m##i);                                                 \
        _mm256_storeu_si256((__m256i *)(te + 8 * (i)), e##i);                                 \
    } while (0)

__attribute__((target("avx2,fma,f16c"), always_inline))
static inline void narrow_body(const float *a, const float *bp, const float *init,
                               const float *fin, float *out, float *mx, int32_t *events,
                               uint8_t *bail, int64_t m, int64_t n, int64_t k, const int FMT,
                               const int MODE, const int STATS)
{
    const __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    /* overflow thresholds (exactly representable in binary32): binary16 rne
     * 65520, rtz 65536; bfloat16 rne 2^128 - 2^119; bfloat16 rtz: never here
     * (binary32 rtz saturates; the caller checks max |register|) */
    const float thr_f = FMT == 0 ? (MODE == 1 ? 65536.0f : 65520.0f)
                                 : (MODE == 1 ? INFINITY : 3.3961775e38f);
    const __m256 thr = _mm256_set1_ps(thr_f);
    const int64_t npan = (n + PW - 1) / PW;
    int64_t i, p, kk;
    for (i = 0; i < m; i++) {
        const float *ar = a + i * k;
        for (p = 0; p < npan; p += 4) {
            const int64_t cb = p * PW;
            const int np4 = npan - p < 4 ? (int)(npan - p) : 4;
            const float *q0 = bp + p * k * PW;
            const float *q1 = bp + (np4 > 1 ? p + 1 : p) * k * PW;
            const float *q2 = bp + (np4 > 2 ? p + 2 : p) * k * PW;
            const float *q3 = bp + (np4 > 3 ? p + 3 : p) * k * PW;
            int cols = (int)(n - cb < 4 * PW ? n - cb : 4 * PW), q;
            float tc[4 * PW], tm[4 * PW];
            int32_t te[4 * PW];
            NLOAD(0); NLOAD(1); NLOAD(2); NLOAD(3); NLOAD(4); NLOAD(5); NLOAD(6); NLOAD(7);
            for (kk = 0; kk < k; kk++) {
                __m256 av = _mm256_broadcast_ss(ar + kk);
                NSTEP(0, q0, 0); NSTEP(1, q0, 8); NSTEP(2, q1, 0); NSTEP(3, q1, 8);
                NSTEP(4, q2, 0); NSTEP(5, q2, 8); NSTEP(6, q3, 0); NSTEP(7, q3, 8);
            }
            NFIN(0); NFIN(1); NFIN(2); NFIN(3); NFIN(4); NFIN(5); NFIN(6); NFIN(7);
            for (q = 0; q < cols; q++) {
                int64_t o = i * n + cb + q;
                out[o] = tc[q];
                bail[o] = !isfinite(tc[q]);
                if (mx) mx[o] = tm[q];
                if (events) events[o] = te[q];
            }
        }
    }
}

#define NARROW_ARGS a, bp, init, fin, out, mx, events, bail, m, n, k
#define NARROW_CASE(F, M)                                                                    \
    do {                                                                                     \
        if (stats) narrow_body(NARROW_ARGS, F, M, 1);                                        \
        else narrow_body(NARROW_ARGS, F, M, 0);                                              \
    } while (0)
__attribute__((target("avx2,fma,f16c")))
static void narrow_run(const float *a, const float *bp, const float *init, const float *fin,
                       float *out, float *mx, int32_t *events, uint8_t *bail, int64_t m,
                       int64_t n, int64_t k, int fmt, int mode)
{
    int stats = mx || events;
    if (fmt == 0 && mode == 0) NARROW_CASE(0, 0);
    else if (fmt == 0 && mode == 1) NARROW_CASE(0, 1);
    else if (fmt == 0) NARROW_CASE(0, 2);
    else if (mode == 0) NARROW_CASE(1, 0);
    else if (mode == 1) NARROW_CASE(1, 1);
    else NARROW_CASE(1, 2);
}
#endif

int hw_mac_narrow_seq(const float *a, const float *bp, const float *init, const float *fin,
                      float *out, float *max_abs, int32_t *events, uint8_t *bail,
                      int64_t m, int64_t n, int64_t k, int32_t fmt, int32_t rounding,
                      int32_t short_products)
{
    if (m < 0 || n < 0 || k < 0 || (m && n && (!out || !bail || (k && (!a || !bp)))))
        return HW_E_SIZE;
    if ((fmt != 0 && fmt != 1) || (rounding != HW_ROUND_RNE && rounding != HW_ROUND_RTZ))
        return HW_E_MODE;
    if (!env_ok()) return HW_E_MODE;
#ifdef HWI_X86
    __builtin_cpu_init();
    if (have_avx2() && __builtin_cpu_supports("f16c")) {
        if (rounding == HW_ROUND_RTZ) {
            unsigned old = mxcsr_rz();
            narrow_run(a, bp, init, fin, out, max_abs, events, bail, m, n, k, fmt, 1);
            _mm_setcsr(old);
        } else {
            narrow_run(a, bp, init, fin, out, max_abs, events, bail, m, n, k, fmt,
                       short_products ? 0 : 2);
        }
        return HW_OK;
    }
#endif
    return HW_E_MODE;
}
