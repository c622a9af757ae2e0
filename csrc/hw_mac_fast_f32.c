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
 * of each stays sequential.
 *
 * Cache blocking (as in GotoBLAS-style GEMMs, but never reassociating): the
 * k range is cut into blocks of KC steps and the rows into blocks of MC; the
 * registers of every output are stored to `out` (and max |acc| / events to
 * their arrays) between k blocks and reloaded, which is exact, so each
 * output still sees acc <- round(acc + a*b) for k = 0, 1, ..., K-1 in order.
 * A KC-step slice of a 16-column panel of b (16 KiB) stays in L1 across the
 * MC rows of a block, the KC-step slice of all of b in L2. */
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
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

#ifdef HWI_X86
/* round toward zero in MXCSR for the duration of a kernel; returns the old value */
static unsigned mxcsr_rz(void)
{
    unsigned old = _mm_getcsr();
    _mm_setcsr(old | 0x6000u);
    return old;
}
#endif

#ifdef HWI_SIMD
static int have_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif

int hw_mac_simd(void)
{
#ifdef HWI_SIMD
    __builtin_cpu_init();
    return have_avx2() && __builtin_cpu_supports("f16c");
#else
    return 0;
#endif
}

/* One call of a kernel: rows [0, m) of a block of A (row r at a + r * lda),
 * k steps kk = 0..kc-1 of every panel of b (panel p at b + p * pst, step kk
 * at + kk * PW), registers loaded from init (first k block) or from out /
 * mx / ev (later ones), fin added and bail written after the last. */
typedef struct blk {
    const float *a, *b, *init, *fin;
    int64_t lda, pst, kc, m, n, ldo; /* ldo: row stride of out / mx / ev / bail */
    int first, last;
    float *out, *mx;
    int32_t *ev;
    uint8_t *bail;
    int fmt, mode; /* narrow registers: 0 binary16 / 1 bfloat16; see narrow_add */
} blk;

/* 16 floats of a row of out (cols valid, the rest zero) */
static inline const float *row16(const float *src, int cols, float *tmp)
{
    int q;
    if (cols == PW) return src;
    for (q = 0; q < PW; q++) tmp[q] = q < cols ? src[q] : 0.0f;
    return tmp;
}

/* ---- binary32: portable ---------------------------------------------- */
static void f32_portable(const blk *B)
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
static void f32_run6(const blk *B)
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
static void f32_run3(const blk *B)
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
static void narrow_run(const blk *B)
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

/* ---- the blocked driver --------------------------------------------------
 * Operands: float values (code size 0) or codes decoded through a lookup
 * table, A [m x k] and b [k x n] row-major.  Per call (one thread's rows):
 * for each block of NC columns and KC steps, that slice of b is decoded into
 * panels of 16 columns (L2-resident, reused by every row), and each block of
 * MC rows of A into a row-major buffer (L1/L2), then the kernel runs. */
#ifndef KC
#define KC 1024
#endif
#ifndef MC
#define MC 24 /* a multiple of the kernels' row blocks (6, 3, 1) */
#endif
#define NC 1024 /* a multiple of 64: init / fin are read in groups of 64 columns */
/* row stride of the A buffer: one cache line more than KC, so that the rows
 * of a 6-row tile do not all map to the same L1 set (4 KiB apart) */
#define LDA (KC + 16)

typedef struct operand {
    const void *p;
    int cs;
    const float *lut;
    int64_t lut_n;
    const int32_t *dec; /* arithmetic decode (hwi_dec_row_f32) instead of the lut */
} operand;

/* cols values of one row (codes through the table, or floats copied) to
 * out[(c / 16) * ps + c % 16]; -1 bad code, 1 non-finite value, 0 */
static int put_row(const operand *X, int64_t off, int64_t cols, float *out, int64_t ps)
{
    if (X->cs && X->dec)
        return hwi_dec_row_f32((const char *)X->p + (size_t)off * (size_t)X->cs, X->cs, cols,
                               X->dec, out, ps);
    if (X->cs)
        return hwi_lut_row_f32((const char *)X->p + (size_t)off * (size_t)X->cs, X->cs, cols,
                               X->lut, X->lut_n, out, ps);
    {
        const float *src = (const float *)X->p + off;
        int64_t c;
        int bad = 0;
        for (c = 0; c < cols; c++) {
            out[(c >> 4) * ps + (c & 15)] = src[c];
            bad |= (hwi_f32_bits(src[c]) & 0x7F800000u) == 0x7F800000u;
        }
        return bad;
    }
}

static int op_check(const operand *X, int64_t need)
{
    if (X->cs == 0 || X->cs == HW_MAC_PACKED) return 1;
    if (X->dec) return hwi_dec_valid(X->dec, X->cs);
    return hwi_valid_code_size(X->cs) && X->lut_n >= 1 && (!need || X->lut);
}

static int blocked(void (*kern)(const blk *), blk B, const operand *A, const operand *Bo,
                   int64_t m, int64_t n, int64_t k, int64_t *nonfinite, float *abuf_ext)
{
    float *abuf, *bbuf = NULL;
    int64_t j0, k0, i0, r, nc_max = n < NC ? n : NC;
    int rc = HW_OK, got = 0, packed = Bo->cs < 0;
    if (nonfinite) *nonfinite = 0;
    if (m == 0 || n == 0) return HW_OK;
    abuf = abuf_ext ? abuf_ext : (float *)malloc(sizeof(float) * MC * LDA);
    if (!packed)
        bbuf = (float *)malloc(sizeof(float) * (size_t)(KC * ((nc_max + PW - 1) / PW) * PW));
    if (!abuf || (!packed && !bbuf)) {
        if (!abuf_ext) free(abuf);
        free(bbuf);
        return HW_E_NOMEM;
    }
    B.ldo = n;
    for (j0 = 0; j0 < n && !got; j0 += NC) {
        int64_t nc = n - j0 < NC ? n - j0 : NC, tail = nc % PW, lastp = (nc / PW) * PW;
        k0 = 0;
        do {
            int64_t kc = k - k0 < KC ? k - k0 : KC;
            blk S = B;
            if (packed) { /* panels of all k rows, decoded by the caller */
                S.pst = k * PW;
                S.b = (const float *)Bo->p + ((j0 / PW) * k + k0) * PW;
            } else {
                for (r = 0; r < kc && !got; r++) { /* b[k0 .. k0+kc, j0 .. j0+nc] -> panels */
                    got = put_row(Bo, (k0 + r) * n + j0, nc, bbuf + r * PW, kc * PW);
                    if (tail)
                        memset(bbuf + lastp * kc + r * PW + tail, 0, sizeof(float) * (PW - tail));
                }
                S.pst = kc * PW;
                S.b = bbuf;
            }
            S.n = nc;
            S.kc = kc;
            S.first = k0 == 0;
            S.last = k0 + kc == k;
            S.init = B.init ? B.init + j0 : NULL;
            S.fin = B.fin ? B.fin + j0 : NULL;
            for (i0 = 0; i0 < m && !got; i0 += MC) {
                S.m = m - i0 < MC ? m - i0 : MC;
                for (r = 0; r < S.m && !got; r++)
                    got = put_row(A, (i0 + r) * k + k0, kc, abuf + r * LDA, 16);
                if (got) break;
                S.a = abuf;
                S.lda = LDA;
                S.out = B.out + i0 * n + j0;
                S.mx = B.mx ? B.mx + i0 * n + j0 : NULL;
                S.ev = B.ev ? B.ev + i0 * n + j0 : NULL;
                S.bail = B.bail ? B.bail + i0 * n + j0 : NULL;
                kern(&S);
            }
            k0 += kc;
        } while (k0 < k && !got);
    }
    if (!abuf_ext) free(abuf);
    free(bbuf);
    if (got < 0) rc = HW_E_CODE;
    else if (got > 0 && nonfinite) *nonfinite = 1;
    return rc;
}

/* ---- threads ---------------------------------------------------------
 * threads > 1: b is decoded once into shared panels (row ranges claimed by
 * the threads in turn), then the threads claim blocks of rows of A in turn.
 * Outputs are independent and each is computed by one thread in k order, so
 * the result never depends on the thread count or on who took which rows.
 * A thread waits only for b rows already claimed (all are claimed before
 * anyone waits), so there is no deadlock; a failed pthread_create just means
 * fewer threads. */
#define PACK_ROWS 64
#define MAX_THREADS 64

typedef struct mt_shared {
    void (*kern)(const blk *);
    blk B;
    const operand *A, *Bsrc;
    operand P;     /* the packed b */
    float *bp;
    int64_t m, n, k, rows_per_claim;
    int64_t next_pack, packed_rows, next_row; /* __atomic counters */
    int rc, nonfinite, bad_pack;            /* __atomic */
    unsigned csr;                           /* the caller's MXCSR (x86): rounding, no FTZ / DAZ */
} mt_shared;

static void mt_fail(int *slot, int rc) { __atomic_store_n(slot, rc, __ATOMIC_RELAXED); }

static void *mt_worker(void *arg)
{
    mt_shared *S = (mt_shared *)arg;
    const int64_t n = S->n, k = S->k;
    float *abuf;
#ifdef HWI_X86
    _mm_setcsr(S->csr); /* the floating-point environment is per thread */
#endif
    for (;;) { /* stage 1: rows of b into the shared panels */
        int64_t r0 = __atomic_fetch_add(&S->next_pack, PACK_ROWS, __ATOMIC_RELAXED), r;
        int64_t r1 = r0 + PACK_ROWS < k ? r0 + PACK_ROWS : k;
        int bad = 0;
        if (r0 >= k) break;
        for (r = r0; r < r1 && !bad; r++) {
            bad = put_row(S->Bsrc, r * n, n, S->bp + r * PW, k * PW);
            if (n % PW)
                memset(S->bp + (n / PW) * k * PW + r * PW + n % PW, 0,
                       sizeof(float) * (size_t)(PW - n % PW));
        }
        if (bad) __atomic_store_n(&S->bad_pack, bad < 0 ? -1 : 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&S->packed_rows, r1 - r0, __ATOMIC_RELEASE);
    }
    while (__atomic_load_n(&S->packed_rows, __ATOMIC_ACQUIRE) < k) sched_yield();
    if (__atomic_load_n(&S->bad_pack, __ATOMIC_RELAXED)) return NULL;
    abuf = (float *)malloc(sizeof(float) * MC * LDA);
    if (!abuf) {
        mt_fail(&S->rc, HW_E_NOMEM);
        return NULL;
    }
    for (;;) { /* stage 2: blocks of rows */
        int64_t i0 = __atomic_fetch_add(&S->next_row, S->rows_per_claim, __ATOMIC_RELAXED);
        int64_t rows = S->m - i0 < S->rows_per_claim ? S->m - i0 : S->rows_per_claim, nf = 0;
        blk B = S->B;
        operand A = *S->A;
        int rc;
        if (i0 >= S->m || __atomic_load_n(&S->rc, __ATOMIC_RELAXED) ||
            __atomic_load_n(&S->nonfinite, __ATOMIC_RELAXED))
            break;
        A.p = (const char *)A.p + (size_t)(i0 * k) * (size_t)(A.cs ? A.cs : (int)sizeof(float));
        B.out += i0 * n;
        if (B.mx) B.mx += i0 * n;
        if (B.ev) B.ev += i0 * n;
        if (B.bail) B.bail += i0 * n;
        rc = blocked(S->kern, B, &A, &S->P, rows, n, k, &nf, abuf);
        if (rc != HW_OK) mt_fail(&S->rc, rc);
        if (nf) __atomic_store_n(&S->nonfinite, 1, __ATOMIC_RELAXED);
    }
    free(abuf);
    return NULL;
}

static int run_threads(void (*kern)(const blk *), blk B, const operand *A, const operand *Bo,
                       int64_t m, int64_t n, int64_t k, int threads, int64_t *nonfinite)
{
    mt_shared S;
    pthread_t th[MAX_THREADS];
    int started = 0, t;
    int64_t npan = (n + PW - 1) / PW;
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    if (threads <= 1 || m < 2 * 6 || (double)m * n * k < (double)(1 << 18) ||
        npan > ((int64_t)1 << 40) / (k > 0 ? k : 1))
        return blocked(kern, B, A, Bo, m, n, k, nonfinite, NULL);
    memset(&S, 0, sizeof(S));
    S.kern = kern;
    S.B = B;
    S.A = A;
    S.Bsrc = Bo;
    S.m = m;
    S.n = n;
    S.k = k;
#ifdef HWI_X86
    S.csr = _mm_getcsr();
#endif
    /* about four claims per thread, whole 6-row tiles */
    S.rows_per_claim = ((m + 4 * threads - 1) / (4 * threads) + 5) / 6 * 6;
    if (Bo->cs == HW_MAC_PACKED) { /* already decoded by the caller */
        S.P = *Bo;
        S.next_pack = S.packed_rows = k;
    } else {
        S.bp = (float *)malloc(sizeof(float) * (size_t)(npan * PW * k));
        if (!S.bp) return HW_E_NOMEM;
        S.P.p = S.bp;
        S.P.cs = HW_MAC_PACKED;
    }
    for (t = 1; t < threads; t++) {
        if (pthread_create(&th[started], NULL, mt_worker, &S) != 0) break;
        started++;
    }
    mt_worker(&S);
    for (t = 0; t < started; t++) pthread_join(th[t], NULL);
    free(S.bp);
    if (S.bad_pack < 0) return HW_E_CODE;
    *nonfinite = S.bad_pack > 0 || S.nonfinite;
    return S.rc;
}

/* run the threads with binary32 adds rounding toward zero (rtz; x86 MXCSR,
 * restored afterwards) or to nearest */
static int run_rounded(void (*kern)(const blk *), blk B, const operand *A, const operand *Bo,
                       int64_t m, int64_t n, int64_t k, int threads, int rtz,
                       int64_t *nonfinite)
{
#ifdef HWI_X86
    if (rtz) {
        unsigned old = mxcsr_rz();
        int rc = run_threads(kern, B, A, Bo, m, n, k, threads, nonfinite);
        _mm_setcsr(old);
        return rc;
    }
#endif
    (void)rtz;
    return run_threads(kern, B, A, Bo, m, n, k, threads, nonfinite);
}

#define OPERANDS                                                                             \
    operand A = {a, a_code_size, a_lut, a_lut_n, a_dec}, Bo = {b, b_code_size, b_lut, b_lut_n, b_dec}

int hw_mac_f32_seq(const void *a, int32_t a_code_size, const float *a_lut, int64_t a_lut_n,
                   const int32_t *a_dec, const void *b, int32_t b_code_size,
                   const float *b_lut, int64_t b_lut_n, const int32_t *b_dec,
                   const float *init, const float *fin, float *out, float *max_abs,
                   int64_t m, int64_t n, int64_t k, int32_t rounding, int32_t threads,
                   int64_t *nonfinite)
{
    OPERANDS;
    blk B = {0};
    void (*kern)(const blk *) = f32_portable;
    if (m < 0 || n < 0 || k < 0 || k > ((int64_t)1 << 40) || !nonfinite ||
        (m && n && (!out || (k && (!a || !b)))) || a_code_size < 0 ||
        !op_check(&A, m && n && k) || !op_check(&Bo, m && n && k))
        return HW_E_SIZE;
    if (rounding != HW_ROUND_RNE && rounding != HW_ROUND_RTZ) return HW_E_MODE;
    if (!env_ok()) return HW_E_MODE;
#ifdef HWI_SIMD
    if (have_avx2()) kern = max_abs ? f32_run3 : f32_run6;
#endif
    if (kern == f32_portable && rounding != HW_ROUND_RNE) return HW_E_MODE;
    B.init = init;
    B.fin = fin;
    B.out = out;
    B.mx = max_abs;
    return run_rounded(kern, B, &A, &Bo, m, n, k, threads, rounding == HW_ROUND_RTZ,
                       nonfinite);
}

int hw_mac_narrow_seq(const void *a, int32_t a_code_size, const float *a_lut,
                      int64_t a_lut_n, const int32_t *a_dec, const void *b, int32_t b_code_size,
                      const float *b_lut, int64_t b_lut_n, const int32_t *b_dec,
                      const float *init, const float *fin, float *out, float *max_abs,
                      int32_t *events, uint8_t *bail, int64_t m, int64_t n, int64_t k,
                      int32_t fmt, int32_t rounding, int32_t short_products, int32_t threads,
                      int64_t *nonfinite)
{
    OPERANDS;
    if (m < 0 || n < 0 || k < 0 || k > ((int64_t)1 << 40) || !nonfinite ||
        (m && n && (!out || !bail || (k && (!a || !b)))) || a_code_size < 0 ||
        !op_check(&A, m && n && k) || !op_check(&Bo, m && n && k))
        return HW_E_SIZE;
    if ((fmt != 0 && fmt != 1) || (rounding != HW_ROUND_RNE && rounding != HW_ROUND_RTZ))
        return HW_E_MODE;
    if (!env_ok()) return HW_E_MODE;
#ifdef HWI_SIMD
    if (hw_mac_simd()) {
        blk B = {0};
        B.init = init;
        B.fin = fin;
        B.out = out;
        B.mx = max_abs;
        B.ev = events;
        B.bail = bail;
        B.fmt = fmt;
        B.mode = rounding == HW_ROUND_RTZ ? 1 : short_products ? 0 : 2;
        return run_rounded(narrow_run, B, &A, &Bo, m, n, k, threads,
                           rounding == HW_ROUND_RTZ, nonfinite);
    }
#endif
    return HW_E_MODE;
}

int hw_mac_pack_f32(const void *b, int32_t code_size, const float *lut, int64_t lut_n,
                    const int32_t *dec, int64_t k, int64_t n, int64_t panel_rows, float *out,
                    int64_t *nonfinite)
{
    operand Bo = {b, code_size, lut, lut_n, dec};
    int64_t r, tail = n % PW, last = (n / PW) * panel_rows * PW;
    if (k < 0 || n < 0 || panel_rows < k || panel_rows > ((int64_t)1 << 40) || !nonfinite ||
        code_size < 0 || (k && n && (!b || !out)) || !op_check(&Bo, k && n))
        return HW_E_SIZE;
    *nonfinite = 0;
    for (r = 0; r < k && n; r++) {
        int got = put_row(&Bo, r * n, n, out + r * PW, panel_rows * PW);
        if (got < 0) return HW_E_CODE;
        if (got) *nonfinite = 1;
        if (tail) memset(out + last + r * PW + tail, 0, sizeof(float) * (size_t)(PW - tail));
    }
    return HW_OK;
}
