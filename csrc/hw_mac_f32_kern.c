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

/* 6 x 16 tiles with max |acc| on AVX-512F/DQ: one 512-bit register per row
 * of 16 outputs, a's element broadcast inside the fused multiply-add, and
 * vrangeps (imm 0x0B: the larger magnitude, sign cleared) folding |acc| into
 * the running maximum in one instruction: 6 FMAs + 6 vrangeps + 1 load per
 * step (the AVX2 form needs 12 + 12 + 8, which the front end cannot issue
 * in the 6 cycles the FMAs take).  Tail columns by masked loads / stores. */
#define Z_LOAD(r)                                                                            \
    do {                                                                                     \
        if (B->first || (r) >= rows) {                                                       \
            c##r = B->first && B->init ? _mm512_maskz_loadu_ps(cm, B->init + p * PW) : zz;    \
            m##r = _mm512_abs_ps(c##r);                                                      \
        } else {                                                                             \
            c##r = _mm512_maskz_loadu_ps(cm, B->out + (i0 + (r)) * B->ldo + p * PW);          \
            m##r = STATS ? _mm512_maskz_loadu_ps(cm, B->mx + (i0 + (r)) * B->ldo + p * PW) : zz; \
        }                                                                                    \
    } while (0)
#define Z_STEP(r)                                                                            \
    do {                                                                                     \
        c##r = _mm512_fmadd_ps(_mm512_set1_ps(a##r[kk]), bz, c##r);                          \
        if (STATS) m##r = _mm512_range_ps(c##r, m##r, 0x0B);                                 \
    } while (0)
#define Z_PUT(r)                                                                             \
    do {                                                                                     \
        if ((r) < rows) {                                                                    \
            if (B->last && B->fin) {                                                         \
                c##r = _mm512_add_ps(c##r, _mm512_maskz_loadu_ps(cm, B->fin + p * PW));      \
                m##r = _mm512_range_ps(c##r, m##r, 0x0B);                                    \
            }                                                                                \
            _mm512_mask_storeu_ps(B->out + (i0 + (r)) * B->ldo + p * PW, cm, c##r);           \
            if (STATS)                                                                       \
                _mm512_mask_storeu_ps(B->mx + (i0 + (r)) * B->ldo + p * PW, cm, m##r);        \
        }                                                                                    \
    } while (0)
__attribute__((target("avx512f,avx512dq,fma"), always_inline))
static inline void f32_body6z(const blk *B, const int STATS)
{
    const __m512 zz = _mm512_setzero_ps();
    int64_t i0, p, kk;
    for (p = 0; p * PW < B->n; p++) {
        const float *b = B->b + p * B->pst;
        int cols = (int)(B->n - p * PW < PW ? B->n - p * PW : PW);
        const __mmask16 cm = (__mmask16)((1u << cols) - 1u);
        for (i0 = 0; i0 < B->m; i0 += 6) {
            int rows = (int)(B->m - i0 < 6 ? B->m - i0 : 6);
            const float *a0 = A_ROW(0), *a1 = A_ROW(1), *a2 = A_ROW(2), *a3 = A_ROW(3),
                        *a4 = A_ROW(4), *a5 = A_ROW(5);
            __m512 c0, c1, c2, c3, c4, c5, m0, m1, m2, m3, m4, m5;
            Z_LOAD(0); Z_LOAD(1); Z_LOAD(2); Z_LOAD(3); Z_LOAD(4); Z_LOAD(5);
            for (kk = 0; kk < B->kc; kk++) {
                const __m512 bz = _mm512_loadu_ps(b + kk * PW);
                Z_STEP(0); Z_STEP(1); Z_STEP(2); Z_STEP(3); Z_STEP(4); Z_STEP(5);
            }
            Z_PUT(0); Z_PUT(1); Z_PUT(2); Z_PUT(3); Z_PUT(4); Z_PUT(5);
        }
    }
}

__attribute__((target("avx512f,avx512dq,fma")))
void hwi_f32_run6z(const blk *B)
{
    if (B->mx) f32_body6z(B, 1);
    else f32_body6z(B, 0);
}

/* ---- binary16 / bfloat16 registers ------------------------------------ */
#define NB_TARGET "avx2,fma,f16c"
#define NB_SUFFIX
#define NB_RANGE 0
#include "hw_mac_narrow_body.h"
#undef NB_TARGET
#undef NB_SUFFIX
#undef NB_RANGE
#define NB_TARGET "avx2,fma,f16c,avx512f,avx512vl,avx512dq"
#define NB_SUFFIX _x
#define NB_RANGE 1
#include "hw_mac_narrow_body.h"
#undef NB_TARGET
#undef NB_SUFFIX
#undef NB_RANGE
#endif
