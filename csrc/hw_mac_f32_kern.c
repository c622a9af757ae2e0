/* hw_mac_f32_kern.c -- the register kernels behind hw_mac_fast_f32.c (whose
 * head comment gives the arithmetic): binary32 rne with fused multiply-adds
 * (portable and AVX2 + FMA), and binary16 / bfloat16 registers emulated in
 * binary32 (AVX2 + FMA + F16C).  Each call runs the k steps of one cache
 * block over rows [0, m) and every column panel; registers are loaded from
 * init or out and stored back, which is exact. */
#include <math.h>
#include "hw_mac_f32_kern.h"
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

/* 16 floats of a row of out (cols valid, the rest zero) */
static inline const float *row16(const float *src, int cols, float *tmp)
{
    int q;
    if (cols == PW) return src;
    for (q = 0; q < PW; q++) tmp[q] = q < cols ? src[q] : 0.0f;
    return tmp;
}

/* ---- binary32: portable ---------------------------------------------- */
void hwi_f32_portable(const blk *B)
{
    int64_t i, j, kk;
    for (i = 0; i < B->m; i++) {
        for (j = 0; j < B->n; j++) {
            const float *bc = B->b + (j / PW) * B->pst + (j % PW);
            const float *ar = B->a + i * B->lda;
            float *o = B->out + i * B->ldo + j, *mo = B->mx ? B->mx + i * B->ldo + j : NULL;
            float acc, mv;
            if (B->first) {
                acc = B->init ? B->init[j] : 0.0f;
                mv = fabsf(acc);
            } else {
                acc = *o;
                mv = mo ? *mo : 0.0f;
            }
            for (kk = 0; kk < B->kc; kk++) {
                float p = ar[kk] * bc[kk * PW]; /* exact */
                acc = acc + p;
                if (fabsf(acc) > mv) mv = fabsf(acc);
            }
            if (B->last && B->fin) {
                acc = acc + B->fin[j];
                if (fabsf(acc) > mv) mv = fabsf(acc);
            }
            *o = acc;
            if (mo) *mo = mv;
        }
    }
}

#ifdef HWI_SIMD
/* Blocks of 6 rows x 16 columns (3 x 16 when tracking max |acc|) over the k
 * steps, registers in named variables (arrays would live on the stack). */
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
/* 16 columns of row r of a stored array (out or mx) into x0, x1 */
#define F32_ROW(x0, x1, arr, r)                                                              \
    do {                                                                                     \
        float t_[PW];                                                                        \
        const float *s_ = row16((arr) + (i0 + (r)) * B->ldo + p * PW, cols, t_);               \
        x0 = _mm256_loadu_ps(s_);                                                            \
        x1 = _mm256_loadu_ps(s_ + 8);                                                        \
    } while (0)
/* the registers of row r: from init / zero in the first k block, else from
 * out (rows beyond the block: zero); F32_LOADM also max |acc| (from mx) */
#define F32_LOAD(r)                                                                          \
    do {                                                                                     \
        if (B->first || r >= rows) {                                                         \
            c##r##0 = B->first && B->init ? _mm256_loadu_ps(B->init + p * PW) : z;            \
            c##r##1 = B->first && B->init ? _mm256_loadu_ps(B->init + p * PW + 8) : z;        \
        } else {                                                                             \
            F32_ROW(c##r##0, c##r##1, B->out, r);                                            \
        }                                                                                    \
    } while (0)
#define F32_LOADM(r)                                                                         \
    do {                                                                                     \
        F32_LOAD(r);                                                                         \
        if (B->first || r >= rows) {                                                         \
            m##r##0 = _mm256_and_ps(c##r##0, absm);                                          \
            m##r##1 = _mm256_and_ps(c##r##1, absm);                                          \
        } else {                                                                             \
            F32_ROW(m##r##0, m##r##1, B->mx, r);                                             \
        }                                                                                    \
    } while (0)

/* row r of the tile at i0 in the A block (rows past the block repeat row 0;
 * their registers are never stored), and storing row r's registers */
#define A_ROW(r) (B->a + (i0 + (rows > (r)) * (r)) * B->lda)
#define F32_PUT(r, y0, y1)                                                                   \
    do {                                                                                     \
        if ((r) < rows) f32_store(B, c##r##0, c##r##1, y0, y1, p, i0 + (r), cols);           \
    } while (0)

/* write one row of a block: + fin (last k block), max, store the valid columns */
__attribute__((target("avx2,fma")))
static void f32_store(const blk *B, __m256 c0, __m256 c1, __m256 m0, __m256 m1, int64_t p,
                      int64_t i, int cols)
{
    const __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    float tc[PW], tm[PW];
    float *orow = B->out + i * B->ldo + p * PW;
    float *mrow = B->mx ? B->mx + i * B->ldo + p * PW : NULL;
    int q;
    if (B->last && B->fin) {
        c0 = _mm256_add_ps(c0, _mm256_loadu_ps(B->fin + p * PW));
        c1 = _mm256_add_ps(c1, _mm256_loadu_ps(B->fin + p * PW + 8));
        m0 = _mm256_max_ps(_mm256_and_ps(c0, absm), m0);
        m1 = _mm256_max_ps(_mm256_and_ps(c1, absm), m1);
    }
    if (cols == PW) {
        _mm256_storeu_ps(orow, c0);
        _mm256_storeu_ps(orow + 8, c1);
        if (mrow) {
            _mm256_storeu_ps(mrow, m0);
            _mm256_storeu_ps(mrow + 8, m1);
        }
        return;
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
void hwi_f32_run6(const blk *B)
{
    const __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    const __m256 z = _mm256_setzero_ps();
    int64_t i0, p, kk;
    for (p = 0; p * PW < B->n; p++) { /* the panel's k slice stays in L1 over the rows */
        const float *b = B->b + p * B->pst;
        int cols = (int)(B->n - p * PW < PW ? B->n - p * PW : PW);
        for (i0 = 0; i0 < B->m; i0 += 6) {
            int rows = (int)(B->m - i0 < 6 ? B->m - i0 : 6);
            const float *a0 = A_ROW(0), *a1 = A_ROW(1), *a2 = A_ROW(2), *a3 = A_ROW(3),
                        *a4 = A_ROW(4), *a5 = A_ROW(5);
            __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
            F32_LOAD(0); F32_LOAD(1); F32_LOAD(2); F32_LOAD(3); F32_LOAD(4); F32_LOAD(5);
            for (kk = 0; kk < B->kc; kk++) {
                __m256 b0 = _mm256_loadu_ps(b + kk * PW), b1 = _mm256_loadu_ps(b + kk * PW + 8);
                F32_FMA(0); F32_FMA(1); F32_FMA(2); F32_FMA(3); F32_FMA(4); F32_FMA(5);
            }
            F32_PUT(0, z, z); F32_PUT(1, z, z); F32_PUT(2, z, z);
            F32_PUT(3, z, z); F32_PUT(4, z, z); F32_PUT(5, z, z);
        }
    }
    (void)absm;
}

__attribute__((target("avx2,fma")))
void hwi_f32_run3(const blk *B)
{
    const __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    const __m256 z = _mm256_setzero_ps();
    int64_t i0, p, kk;
    for (p = 0; p * PW < B->n; p++) {
        const float *b = B->b + p * B->pst;
        int cols = (int)(B->n - p * PW < PW ? B->n - p * PW : PW);
        for (i0 = 0; i0 < B->m; i0 += 3) {
            int rows = (int)(B->m - i0 < 3 ? B->m - i0 : 3);
            const float *a0 = A_ROW(0), *a1 = A_ROW(1), *a2 = A_ROW(2);
            __m256 c00, c01, c10, c11, c20, c21, m00, m01, m10, m11, m20, m21;
            F32_LOADM(0); F32_LOADM(1); F32_LOADM(2);
            for (kk = 0; kk < B->kc; kk++) {
                __m256 b0 = _mm256_loadu_ps(b + kk * PW), b1 = _mm256_loadu_ps(b + kk * PW + 8);
                F32_FMA(0); F32_MAX(0); F32_FMA(1); F32_MAX(1); F32_FMA(2); F32_MAX(2);
            }
            F32_PUT(0, m00, m01); F32_PUT(1, m10, m11); F32_PUT(2, m20, m21);
        }
    }
}

/* 6 x 16 tiles with max |acc| on AVX-512VL/DQ: vrangeps (imm 0x0B: the larger
 * magnitude, sign cleared) folds |acc| into the running maximum in one
 * instruction, and the 32 ymm registers hold 6 rows of registers and maxima */
#define F32_RMAX(r)                                                                          \
    do {                                                                                     \
        m##r##0 = _mm256_range_ps(c##r##0, m##r##0, 0x0B);                                    \
        m##r##1 = _mm256_range_ps(c##r##1, m##r##1, 0x0B);                                    \
    } while (0)
__attribute__((target("avx2,fma,avx512f,avx512vl,avx512dq")))
void hwi_f32_run6m(const blk *B)
{
    const __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    const __m256 z = _mm256_setzero_ps();
    int64_t i0, p, kk;
    for (p = 0; p * PW < B->n; p++) {
        const float *b = B->b + p * B->pst;
        int cols = (int)(B->n - p * PW < PW ? B->n - p * PW : PW);
        for (i0 = 0; i0 < B->m; i0 += 6) {
            int rows = (int)(B->m - i0 < 6 ? B->m - i0 : 6);
            const float *a0 = A_ROW(0), *a1 = A_ROW(1), *a2 = A_ROW(2), *a3 = A_ROW(3),
                        *a4 = A_ROW(4), *a5 = A_ROW(5);
            __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
            __m256 m00, m01, m10, m11, m20, m21, m30, m31, m40, m41, m50, m51;
            F32_LOADM(0); F32_LOADM(1); F32_LOADM(2); F32_LOADM(3); F32_LOADM(4); F32_LOADM(5);
            for (kk = 0; kk < B->kc; kk++) {
                __m256 b0 = _mm256_loadu_ps(b + kk * PW), b1 = _mm256_loadu_ps(b + kk * PW + 8);
                F32_FMA(0); F32_RMAX(0); F32_FMA(1); F32_RMAX(1); F32_FMA(2); F32_RMAX(2);
                F32_FMA(3); F32_RMAX(3); F32_FMA(4); F32_RMAX(4); F32_FMA(5); F32_RMAX(5);
            }
            F32_PUT(0, m00, m01); F32_PUT(1, m10, m11); F32_PUT(2, m20, m21);
            F32_PUT(3, m30, m31); F32_PUT(4, m40, m41); F32_PUT(5, m50, m51);
        }
    }
}


/* ---- binary16 / bfloat16 registers ------------------------------------ */
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
 * time, registers held in named variables; tc / tm / te stage the 64 columns
 * of out / mx / ev (the valid `cols` of them) between k blocks */
#define NLOAD(i)                                                                             \
    __m256 c##i = B->first ? (B->init ? _mm256_loadu_ps(B->init + cb + 8 * (i))               \
                                      : _mm256_setzero_ps())                                  \
                           : _mm256_loadu_ps(tc + 8 * (i));                                   \
    __m256 m##i = B->first || !STATS ? _mm256_and_ps(c##i, absm) : _mm256_loadu_ps(tm + 8 * (i)); \
    __m256i e##i = B->first || !STATS ? _mm256_setzero_si256()                               \
                                      : _mm256_loadu_si256((const __m256i *)(te + 8 * (i)))
#define NSTEP(i, bptr, off)                                                                  \
    c##i = narrow_add(c##i, _mm256_mul_ps(av, _mm256_loadu_ps((bptr) + kk * PW + (off))),     \
                      FMT, MODE, STATS, &e##i, &m##i, thr)
#define NFIN(i)                                                                              \
    do {                                                                                     \
        if (B->last && B->fin)                                                               \
            c##i = narrow_add(c##i, _mm256_loadu_ps(B->fin + cb + 8 * (i)), FMT, MODE, 1,      \
                              &e##i, &m##i, thr);                                             \
        _mm256_storeu_ps(tc + 8 * (i), c##i);                                                 \
        _mm256_storeu_ps(tm + 8 * (i), m##i);                                                 \
        _mm256_storeu_si256((__m256i *)(te + 8 * (i)), e##i);                                 \
    } while (0)

__attribute__((target("avx2,fma,f16c"), always_inline))
static inline void narrow_body(const blk *B, const int FMT, const int MODE, const int STATS)
{
    const __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    /* overflow thresholds (exactly representable in binary32): binary16 rne
     * 65520, rtz 65536; bfloat16 rne 2^128 - 2^119; bfloat16 rtz: never here
     * (binary32 rtz saturates; the caller checks max |register|) */
    const float thr_f = FMT == 0 ? (MODE == 1 ? 65536.0f : 65520.0f)
                                 : (MODE == 1 ? INFINITY : 3.3961775e38f);
    const __m256 thr = _mm256_set1_ps(thr_f);
    const int64_t n = B->n, npan = (n + PW - 1) / PW;
    int64_t i, p, kk;
    for (p = 0; p < npan; p += 4) {
        const int64_t cb = p * PW;
        const int np4 = npan - p < 4 ? (int)(npan - p) : 4;
        const float *q0 = B->b + p * B->pst;
        const float *q1 = B->b + (np4 > 1 ? p + 1 : p) * B->pst;
        const float *q2 = B->b + (np4 > 2 ? p + 2 : p) * B->pst;
        const float *q3 = B->b + (np4 > 3 ? p + 3 : p) * B->pst;
        int cols = (int)(n - cb < 4 * PW ? n - cb : 4 * PW), q;
        for (i = 0; i < B->m; i++) {
            const float *ar = B->a + i * B->lda;
            float tc[4 * PW], tm[4 * PW];
            int32_t te[4 * PW];
            if (!B->first) {
                for (q = 0; q < 4 * PW; q++) {
                    int64_t o = i * B->ldo + cb + q;
                    tc[q] = q < cols ? B->out[o] : 0.0f;
                    tm[q] = q < cols && B->mx ? B->mx[o] : 0.0f;
                    te[q] = q < cols && B->ev ? B->ev[o] : 0;
                }
            }
            {
                NLOAD(0); NLOAD(1); NLOAD(2); NLOAD(3); NLOAD(4); NLOAD(5); NLOAD(6); NLOAD(7);
                for (kk = 0; kk < B->kc; kk++) {
                    __m256 av = _mm256_broadcast_ss(ar + kk);
                    NSTEP(0, q0, 0); NSTEP(1, q0, 8); NSTEP(2, q1, 0); NSTEP(3, q1, 8);
                    NSTEP(4, q2, 0); NSTEP(5, q2, 8); NSTEP(6, q3, 0); NSTEP(7, q3, 8);
                }
                NFIN(0); NFIN(1); NFIN(2); NFIN(3); NFIN(4); NFIN(5); NFIN(6); NFIN(7);
            }
            for (q = 0; q < cols; q++) {
                int64_t o = i * B->ldo + cb + q;
                B->out[o] = tc[q];
                if (B->last) B->bail[o] = !isfinite(tc[q]);
                if (B->mx) B->mx[o] = tm[q];
                if (B->ev) B->ev[o] = te[q];
            }
        }
    }
}

#define NARROW_CASE(F, M)                                                                    \
    do {                                                                                     \
        if (stats) narrow_body(B, F, M, 1);                                                  \
        else narrow_body(B, F, M, 0);                                                        \
    } while (0)
__attribute__((target("avx2,fma,f16c")))
void hwi_narrow_run(const blk *B)
{
    int stats = B->mx || B->ev, fmt = B->fmt, mode = B->mode;
    if (fmt == 0 && mode == 0) NARROW_CASE(0, 0);
    else if (fmt == 0 && mode == 1) NARROW_CASE(0, 1);
    else if (fmt == 0) NARROW_CASE(0, 2);
    else if (mode == 0) NARROW_CASE(1, 0);
    else if (mode == 1) NARROW_CASE(1, 1);
    else NARROW_CASE(1, 2);
}
#endif
