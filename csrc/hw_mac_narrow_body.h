/* hw_mac_narrow_body.h -- the binary16 / bfloat16 register kernel of
 * hw_mac_f32_kern.c, included there twice: with NB_RANGE 0 (AVX2 + FMA +
 * F16C: max |register| as an and + max) and NB_RANGE 1 (plus AVX-512VL/DQ:
 * vrangeps, one instruction).  Defines hwi_narrow_run<NB_SUFFIX>.  Internal. */
#define NB_CAT2(a, b) a##b
#define NB_CAT(a, b) NB_CAT2(a, b)
#define NB_ADD NB_CAT(narrow_add, NB_SUFFIX)
#define NB_BODY NB_CAT(narrow_body, NB_SUFFIX)

/* acc <- round(acc + p) into the register format (FMT 0 binary16, 1 bfloat16).
 * MODE 0: rne, every addend has <= p significant bits: s = fl32(acc + p) is
 *         rounded again (double rounding is innocuous: 24 >= 2p + 2);
 * MODE 1: rtz, MXCSR rounds toward zero: s = trunc24(acc + p), truncated again;
 * MODE 2: rne, any exact binary32 products: round-to-odd(acc + p) from s and
 *         its exact TwoSum error, rounded again.
 * STATS 1: max |register|; STATS 2: also overflow events (thr: where rounding
 * exceeds the largest finite). */
__attribute__((target(NB_TARGET), always_inline))
static inline __m256 NB_ADD(__m256 acc, __m256 p, const int FMT, const int MODE,
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
    if (STATS == 2)
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
#if NB_RANGE
    /* vrangeps imm 0x0B: the larger magnitude, sign cleared (NaN: never here,
     * the operands are finite and a register that reached Inf stays Inf) */
    if (STATS) *mv = _mm256_range_ps(r, *mv, 0x0B);
#else
    if (STATS) *mv = _mm256_max_ps(_mm256_and_ps(r, absm), *mv);
#endif
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
    __m256i e##i = B->first || STATS < 2 ? _mm256_setzero_si256()                             \
                                         : _mm256_loadu_si256((const __m256i *)(te + 8 * (i)))
#define NSTEP(i, bptr, off)                                                                  \
    c##i = NB_ADD(c##i, _mm256_mul_ps(av, _mm256_loadu_ps((bptr) + kk * PW + (off))), FMT,     \
                  MODE, STATS, &e##i, &m##i, thr)
#define NFIN(i)                                                                              \
    do {                                                                                     \
        if (B->last && B->fin)                                                               \
            c##i = NB_ADD(c##i, _mm256_loadu_ps(B->fin + cb + 8 * (i)), FMT, MODE,            \
                          STATS, &e##i, &m##i, thr);                                        \
        _mm256_storeu_ps(tc + 8 * (i), c##i);                                                 \
        _mm256_storeu_ps(tm + 8 * (i), m##i);                                                 \
        _mm256_storeu_si256((__m256i *)(te + 8 * (i)), e##i);                                 \
    } while (0)

__attribute__((target(NB_TARGET), always_inline))
static inline void NB_BODY(const blk *B, const int FMT, const int MODE, const int STATS)
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
        if (B->ev) NB_BODY(B, F, M, 2);                                                      \
        else if (B->mx) NB_BODY(B, F, M, 1);                                                 \
        else NB_BODY(B, F, M, 0);                                                            \
    } while (0)
__attribute__((target(NB_TARGET)))
void NB_CAT(hwi_narrow_run, NB_SUFFIX)(const blk *B)
{
    int fmt = B->fmt, mode = B->mode;
    if (fmt == 0 && mode == 0) NARROW_CASE(0, 0);
    else if (fmt == 0 && mode == 1) NARROW_CASE(0, 1);
    else if (fmt == 0) NARROW_CASE(0, 2);
    else if (mode == 0) NARROW_CASE(1, 0);
    else if (mode == 1) NARROW_CASE(1, 1);
    else NARROW_CASE(1, 2);
}

#undef NARROW_CASE
#undef NLOAD
#undef NSTEP
#undef NFIN
#undef NB_ADD
#undef NB_BODY
#undef NB_CAT
#undef NB_CAT2
