/* hw_mac_fast_f32.c -- fast paths of sequential floating accumulators:
 * binary32 rne with products exact in binary32 (fused multiply-add: the
 * product is exact, so fma(a, b, acc) = round(acc + a*b)), and binary16 /
 * bfloat16 registers emulated with binary32 arithmetic: s = acc + p and its
 * exact error e (TwoSum) give round-to-odd(acc + p) at 24 bits, which rounds
 * correctly to any precision <= 22 bits; F16C / bit arithmetic then rounds it
 * into the register (a binary32 register rounded toward zero is s stepped
 * toward zero when e has the opposite sign).  AVX2 + FMA + F16C kernels with runtime dispatch; a
 * portable loop for binary32 elsewhere.  Outputs are independent: the k order
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
/* One block of R rows x 16 columns over all k; TRACK: also max |acc|. */
__attribute__((target("avx2,fma"), always_inline))
static inline void f32_block(const float *const *ar, const float *b, int64_t k, __m256 *c,
                             __m256 *mv, const int R, const int TRACK)
{
    const __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    int64_t kk;
    int r;
    for (kk = 0; kk < k; kk++) {
        __m256 b0 = _mm256_loadu_ps(b + kk * PW), b1 = _mm256_loadu_ps(b + kk * PW + 8);
#pragma GCC unroll 8
        for (r = 0; r < R; r++) {
            __m256 av = _mm256_broadcast_ss(ar[r] + kk);
            c[2 * r] = _mm256_fmadd_ps(av, b0, c[2 * r]);
            c[2 * r + 1] = _mm256_fmadd_ps(av, b1, c[2 * r + 1]);
            if (TRACK) {
                mv[2 * r] = _mm256_max_ps(_mm256_and_ps(c[2 * r], absm), mv[2 * r]);
                mv[2 * r + 1] = _mm256_max_ps(_mm256_and_ps(c[2 * r + 1], absm), mv[2 * r + 1]);
            }
        }
    }
}

__attribute__((target("avx2,fma")))
static void f32_run(const float *a, const float *bp, const float *init, const float *fin,
                    float *out, float *mx, int64_t m, int64_t n, int64_t k, const int R,
                    const int TRACK)
{
    const __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    int64_t i0, p;
    for (i0 = 0; i0 < m; i0 += R) {
        int rows = (int)(m - i0 < R ? m - i0 : R), r, h;
        const float *ar[8];
        for (r = 0; r < R; r++) ar[r] = a + (i0 + (r < rows ? r : 0)) * k;
        for (p = 0; p * PW < n; p++) {
            __m256 c[16], mv[16];
            float tc[PW], tm[PW];
            int cols = (int)(n - p * PW < PW ? n - p * PW : PW), q;
            for (h = 0; h < 2 * R; h++) {
                c[h] = init ? _mm256_loadu_ps(init + p * PW + (h & 1) * 8) : _mm256_setzero_ps();
                mv[h] = _mm256_and_ps(c[h], absm);
            }
            if (R == 6) f32_block(ar, bp + p * k * PW, k, c, mv, 6, TRACK);
            else f32_block(ar, bp + p * k * PW, k, c, mv, 3, TRACK);
            for (r = 0; r < rows; r++) {
                for (h = 0; h < 2; h++) {
                    __m256 v = c[2 * r + h];
                    if (fin) {
                        v = _mm256_add_ps(v, _mm256_loadu_ps(fin + p * PW + h * 8));
                        mv[2 * r + h] = _mm256_max_ps(_mm256_and_ps(v, absm), mv[2 * r + h]);
                    }
                    _mm256_storeu_ps(tc + 8 * h, v);
                    _mm256_storeu_ps(tm + 8 * h, mv[2 * r + h]);
                }
                for (q = 0; q < cols; q++) {
                    out[(i0 + r) * n + p * PW + q] = tc[q];
                    if (mx) mx[(i0 + r) * n + p * PW + q] = tm[q];
                }
            }
        }
    }
}
#endif

int hw_mac_f32_seq(const float *a, const float *bp, const float *init, const float *fin,
                   float *out, float *max_abs, int64_t m, int64_t n, int64_t k)
{
    if (m < 0 || n < 0 || k < 0 || (m && n && (!out || (k && (!a || !bp))))) return HW_E_SIZE;
    if (!env_ok()) return HW_E_MODE;
#ifdef HWI_X86
    if (have_avx2()) {
        if (max_abs) f32_run(a, bp, init, fin, out, max_abs, m, n, k, 3, 1);
        else f32_run(a, bp, init, fin, out, NULL, m, n, k, 6, 0);
        return HW_OK;
    }
#endif
    f32_portable(a, bp, init, fin, out, max_abs, m, n, k);
    return HW_OK;
}

/* ---- binary16 / bfloat16 registers ------------------------------------ */
#ifdef HWI_X86
/* acc <- round(acc + p) into the register format, with statistics */
__attribute__((target("avx2,fma,f16c"), always_inline))
static inline __m256 narrow_add(__m256 acc, __m256 p, const int FMT, const int RTZ,
                                __m256i *ev, __m256 *mv, __m256 thr)
{
    const __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    const __m256i one = _mm256_set1_epi32(1);
    __m256 s = _mm256_add_ps(acc, p);
    __m256 bb = _mm256_sub_ps(s, acc);
    __m256 e = _mm256_add_ps(_mm256_sub_ps(acc, _mm256_sub_ps(s, bb)), _mm256_sub_ps(p, bb));
    __m256i si = _mm256_castps_si256(s), ei = _mm256_castps_si256(e);
    __m256i nz = _mm256_castps_si256(_mm256_cmp_ps(e, _mm256_setzero_ps(), _CMP_NEQ_UQ));
    __m256i opp = _mm256_srai_epi32(_mm256_xor_si256(si, ei), 31);
    __m256 ro, r;
    si = _mm256_add_epi32(si, _mm256_and_si256(opp, nz)); /* truncate toward zero */
    if (FMT == 2) {                                        /* binary32, rtz: done */
        r = _mm256_castsi256_ps(si);
        *mv = _mm256_max_ps(_mm256_and_ps(r, absm), *mv);
        return r;
    }
    si = _mm256_or_si256(si, _mm256_and_si256(nz, one));  /* odd when inexact */
    ro = _mm256_castsi256_ps(si);
    *ev = _mm256_sub_epi32(*ev, _mm256_castps_si256(
                                    _mm256_cmp_ps(_mm256_and_ps(ro, absm), thr, _CMP_GE_OQ)));
    if (FMT == 0) {
        __m128i h = RTZ ? _mm256_cvtps_ph(ro, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC)
                        : _mm256_cvtps_ph(ro, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        r = _mm256_cvtph_ps(h);
    } else {
        const __m256i hi = _mm256_set1_epi32((int)0xFFFF0000u);
        if (!RTZ) {
            __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(si, 16), one);
            si = _mm256_add_epi32(si, _mm256_add_epi32(_mm256_set1_epi32(0x7FFF), lsb));
        }
        r = _mm256_castsi256_ps(_mm256_and_si256(si, hi));
    }
    *mv = _mm256_max_ps(_mm256_and_ps(r, absm), *mv);
    return r;
}

#define NR 2 /* rows per block of the narrow kernel */

__attribute__((target("avx2,fma,f16c")))
static void narrow_run(const float *a, const float *bp, const float *init, const float *fin,
                       float *out, float *mx, int32_t *events, uint8_t *bail, int64_t m,
                       int64_t n, int64_t k, const int FMT, const int RTZ)
{
    const __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    /* overflow thresholds on the round-to-odd value (exactly representable):
     * binary16: rne 65520, rtz 65536; bfloat16: rne 2^128 - 2^119 (0x7F7F8000), rtz Inf */
    const float thr_f = FMT == 0 ? (RTZ ? 65536.0f : 65520.0f)
                                 : (FMT == 2 || RTZ ? INFINITY : 3.3961775e38f);
    const __m256 thr = _mm256_set1_ps(thr_f);
    int64_t i0, p, kk;
    for (i0 = 0; i0 < m; i0 += NR) {
        int rows = (int)(m - i0 < NR ? m - i0 : NR), r, h, q;
        const float *ar[NR];
        for (r = 0; r < NR; r++) ar[r] = a + (i0 + (r < rows ? r : 0)) * k;
        for (p = 0; p * PW < n; p++) {
            __m256 c[2 * NR], mv[2 * NR];
            __m256i ev[2 * NR];
            const float *b = bp + p * k * PW;
            int cols = (int)(n - p * PW < PW ? n - p * PW : PW);
            float tc[PW], tm[PW];
            int32_t te[PW];
            for (h = 0; h < 2 * NR; h++) {
                c[h] = init ? _mm256_loadu_ps(init + p * PW + (h & 1) * 8) : _mm256_setzero_ps();
                mv[h] = _mm256_and_ps(c[h], absm);
                ev[h] = _mm256_setzero_si256();
            }
            for (kk = 0; kk < k; kk++) {
                __m256 b0 = _mm256_loadu_ps(b + kk * PW), b1 = _mm256_loadu_ps(b + kk * PW + 8);
                for (r = 0; r < NR; r++) {
                    __m256 av = _mm256_broadcast_ss(ar[r] + kk);
                    c[2 * r] = narrow_add(c[2 * r], _mm256_mul_ps(av, b0), FMT, RTZ,
                                          &ev[2 * r], &mv[2 * r], thr);
                    c[2 * r + 1] = narrow_add(c[2 * r + 1], _mm256_mul_ps(av, b1), FMT, RTZ,
                                              &ev[2 * r + 1], &mv[2 * r + 1], thr);
                }
            }
            for (r = 0; r < rows; r++) {
                for (h = 0; h < 2; h++) {
                    __m256 v = c[2 * r + h];
                    if (fin)
                        v = narrow_add(v, _mm256_loadu_ps(fin + p * PW + h * 8), FMT, RTZ,
                                       &ev[2 * r + h], &mv[2 * r + h], thr);
                    _mm256_storeu_ps(tc + 8 * h, v);
                    _mm256_storeu_ps(tm + 8 * h, mv[2 * r + h]);
                    _mm256_storeu_si256((__m256i *)(te + 8 * h), ev[2 * r + h]);
                }
                for (q = 0; q < cols; q++) {
                    int64_t o = (i0 + r) * n + p * PW + q;
                    out[o] = tc[q];
                    bail[o] = !isfinite(tc[q]);
                    if (mx) mx[o] = tm[q];
                    if (events) events[o] = te[q];
                }
            }
        }
    }
}
#endif

int hw_mac_narrow_seq(const float *a, const float *bp, const float *init, const float *fin,
                      float *out, float *max_abs, int32_t *events, uint8_t *bail,
                      int64_t m, int64_t n, int64_t k, int32_t fmt, int32_t rounding)
{
    if (m < 0 || n < 0 || k < 0 || (m && n && (!out || !bail || (k && (!a || !bp)))))
        return HW_E_SIZE;
    if (fmt < 0 || fmt > 2 || (rounding != HW_ROUND_RNE && rounding != HW_ROUND_RTZ) ||
        (fmt == 2 && rounding != HW_ROUND_RTZ))
        return HW_E_MODE;
    if (!env_ok()) return HW_E_MODE;
#ifdef HWI_X86
    __builtin_cpu_init();
    if (have_avx2() && __builtin_cpu_supports("f16c")) {
        const int rtz = rounding == HW_ROUND_RTZ;
        if (fmt == 0 && rtz) narrow_run(a, bp, init, fin, out, max_abs, events, bail, m, n, k, 0, 1);
        else if (fmt == 0) narrow_run(a, bp, init, fin, out, max_abs, events, bail, m, n, k, 0, 0);
        else if (fmt == 2) narrow_run(a, bp, init, fin, out, max_abs, events, bail, m, n, k, 2, 1);
        else if (rtz) narrow_run(a, bp, init, fin, out, max_abs, events, bail, m, n, k, 1, 1);
        else narrow_run(a, bp, init, fin, out, max_abs, events, bail, m, n, k, 1, 0);
        return HW_OK;
    }
#endif
    return HW_E_MODE;
}
