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
 * MC rows of a block, the KC-step slice of all of b in L2.
 *
 * This file: the entry points, the blocked driver and the threads; the
 * register kernels are in hw_mac_f32_kern.c. */
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include "hw_mac_f32_kern.h"
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HWI_X86 1
#else
#include <fenv.h>
#endif

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

static int have_avx512vldq(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512dq");
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
    void (*kern)(const blk *) = hwi_f32_portable;
    if (m < 0 || n < 0 || k < 0 || k > ((int64_t)1 << 40) || !nonfinite ||
        (m && n && (!out || (k && (!a || !b)))) || a_code_size < 0 ||
        !op_check(&A, m && n && k) || !op_check(&Bo, m && n && k))
        return HW_E_SIZE;
    if (rounding != HW_ROUND_RNE && rounding != HW_ROUND_RTZ) return HW_E_MODE;
    if (!env_ok()) return HW_E_MODE;
#ifdef HWI_SIMD
    if (have_avx2())
        kern = have_avx512vldq() ? hwi_f32_run6z : !max_abs ? hwi_f32_run6 : hwi_f32_run3;
#endif
    if (kern == hwi_f32_portable && rounding != HW_ROUND_RNE) return HW_E_MODE;
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
        return run_rounded(have_avx512vldq() ? hwi_narrow_run_x : hwi_narrow_run, B, &A, &Bo, m, n, k, threads,
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
